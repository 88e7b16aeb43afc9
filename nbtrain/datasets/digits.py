"""Bundled 8x8 handwritten digits: 1797 images, no download needed.

This is the test set of the UCI "Optical Recognition of Handwritten Digits" data set (E. Alpaydin and
C. Kaynak, 1998), as shipped by scikit-learn in ``digits.csv.gz``. Each 32x32 bitmap of a handwritten digit
was divided into 4x4 blocks and the "on" pixels of each block counted, giving an 8x8 image of integers 0..16.
Source: https://archive.ics.uci.edu/ml/datasets/Optical+Recognition+of+Handwritten+Digits.
License: Creative Commons Attribution 4.0 International (CC BY 4.0); see ``nbtrain/datasets/data/README``.
"""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

from nbtrain.datasets._loading import check_test_split, shuffled_split

N_SAMPLES = 1797


def load_digits():
    """All 1797 digits in the file's order.

    Returns:
        ``(x, y)``: x uint8 images of shape ``(1797, 8, 8)`` with values 0..16 (not 0..255: divide by 16 to
        scale to [0, 1]); y uint8 labels 0..9 of shape ``(1797,)``.

    Example:
        >>> x, y = load_digits()
        >>> x.shape, int(x.max()), sorted(set(y.tolist())) == list(range(10))
        ((1797, 8, 8), 16, True)
    """
    with resources.files("nbtrain.datasets").joinpath("data/digits.csv.gz").open("rb") as raw:
        with gzip.open(raw, "rt") as text:
            table = np.loadtxt(text, delimiter=",", dtype=np.uint8)
    return table[:, :64].reshape(-1, 8, 8), table[:, 64].copy()


def load_data(test_split=0.2, seed=113):
    """The bundled digits shuffled and split Keras-style, as a small offline stand-in for MNIST.

    Args:
        test_split: fraction of the shuffled images put in the test set, in ``[0, 1)``.
        seed: seed of the shuffle; the same seed always gives the same split.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape ``(n, 8, 8)`` with values 0..16 and
        uint8 labels 0..9; with the defaults 1437 training and 360 test images.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()
        >>> x_train.shape, x_test.shape
        ((1437, 8, 8), (360, 8, 8))
    """
    check_test_split(test_split)
    x, y = load_digits()
    return shuffled_split(x, y, test_split, seed)
