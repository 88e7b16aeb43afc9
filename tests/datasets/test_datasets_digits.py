"""The bundled 8x8 digits: real data, shipped in the package, no network."""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pytest

from nbtrain.datasets import digits

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


def test_bundled_file_is_the_documented_one_with_its_license_note():
    data = resources.files("nbtrain.datasets").joinpath("data")
    assert hashlib.sha256(data.joinpath("digits.csv.gz").read_bytes()).hexdigest() == DIGITS_SHA256
    readme = data.joinpath("README").read_text()
    assert DIGITS_SHA256 in readme and "CC BY 4.0" in readme
    assert "CC BY 4.0" in digits.__doc__


def test_load_digits_shapes_values_and_label_counts():
    x, y = digits.load_digits()
    assert x.shape == (1797, 8, 8) and y.shape == (1797,)
    assert x.dtype == y.dtype == np.uint8
    assert int(x.min()) == 0 and int(x.max()) == 16
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # the first row of the file is a zero
    assert y[0] == 0 and x[0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]


def test_load_data_split_is_keras_style_and_deterministic():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert y_train.shape == (1437,) and y_test.shape == (360,)
    (x_again, y_again), _ = digits.load_data()
    np.testing.assert_array_equal(x_train, x_again)
    np.testing.assert_array_equal(y_train, y_again)
    (_, y_other), _ = digits.load_data(seed=0)
    assert not np.array_equal(y_train, y_other)


def test_split_is_a_permutation_of_all_digits():
    x, y = digits.load_digits()
    (x_train, y_train), (x_test, y_test) = digits.load_data(test_split=0.25, seed=7)
    assert len(x_train) == int(1797 * 0.75) and len(x_train) + len(x_test) == 1797
    order = np.arange(1797)
    np.random.RandomState(7).shuffle(order)
    np.testing.assert_array_equal(np.concatenate([x_train, x_test]), x[order])
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), y[order])


def test_test_split_is_validated():
    (x_train, _), (x_test, _) = digits.load_data(test_split=0)
    assert len(x_train) == 1797 and len(x_test) == 0
    with pytest.raises(ValueError, match="test_split"):
        digits.load_data(test_split=1)
