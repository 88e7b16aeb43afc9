"""Data sets: Keras's downloadable sets, a bundled offline set, and seeded synthetic generators.

Downloaded (cached in ``~/.nbtrain/datasets``, or ``$NBTRAIN_HOME/datasets``; checksums as in Keras):
``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100``, ``imdb``, ``reuters``, ``boston_housing``, each with
``load_data()`` returning ``(x_train, y_train), (x_test, y_test)`` like ``keras.datasets``.

Bundled (works offline): ``digits``, the 8x8 handwritten digits (1797 images).

Synthetic (seeded): ``make_moons``, ``make_circles``, ``make_spirals``, ``make_blobs``,
``make_regression_curve``, ``make_mnist_like``, ``make_xor``.

Example:
    >>> from nbtrain import datasets
    >>> (x_train, y_train), (x_test, y_test) = datasets.digits.load_data()
    >>> x_train.shape
    (1437, 8, 8)
"""

from nbtrain.datasets import (boston_housing, cifar10, cifar100, digits, fashion_mnist, imdb, mnist,
                              reuters)
from nbtrain.datasets._download import ChecksumError, DownloadError, TextProgress, cache_dir, get_file
from nbtrain.datasets.synthetic import (make_blobs, make_circles, make_mnist_like, make_moons,
                                        make_regression_curve, make_spirals)
from nbtrain.datasets.xor import make_xor

__all__ = ["boston_housing", "cifar10", "cifar100", "digits", "fashion_mnist", "imdb", "mnist", "reuters",
           "ChecksumError", "DownloadError", "TextProgress", "cache_dir", "get_file",
           "make_blobs", "make_circles", "make_mnist_like", "make_moons", "make_regression_curve", "make_spirals",
           "make_xor"]
