"""Seeded synthetic generators: shapes, dtypes, labels and repeatability."""

from __future__ import annotations

import numpy as np
import pytest

from nbtrain import datasets


def test_make_xor_labels_follow_the_quadrants():
    x, y = datasets.make_xor(101, noise=0.0, seed=0)
    assert x.shape == (101, 2) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.int64))
    assert np.bincount(y).tolist() == [51, 50]  # corners used in turn: 26+25 and 25+25


def test_make_xor_is_seeded():
    a = datasets.make_xor(50, seed=3)
    b = datasets.make_xor(50, seed=3)
    c = datasets.make_xor(50, seed=4)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("make, kwargs, x_shape, n_labels", [
    (datasets.make_moons, {"n_samples": 60}, (60, 2), 2),
    (datasets.make_circles, {"n_samples": 60}, (60, 2), 2),
    (datasets.make_spirals, {"n_samples": 60, "n_classes": 3}, (60, 2), 3),
    (datasets.make_blobs, {"n_samples": 60, "centers": 4}, (60, 2), 4),
    (datasets.make_xor, {"n_samples": 60}, (60, 2), 2),
    (datasets.make_mnist_like, {"n_samples": 60}, (60, 28, 28), 10),
])
def test_classification_generators(make, kwargs, x_shape, n_labels):
    x, y = make(seed=1, **kwargs)
    x_again, y_again = make(seed=1, **kwargs)
    assert x.shape == x_shape and y.shape == (x_shape[0],)
    assert y.dtype == np.int64 and set(y.tolist()) <= set(range(n_labels))
    np.testing.assert_array_equal(x, x_again)
    np.testing.assert_array_equal(y, y_again)


def test_regression_curve():
    x, y = datasets.make_regression_curve(40, kind="linear", noise=0.0, seed=0)
    assert x.shape == y.shape == (40, 1) and x.dtype == y.dtype == np.float32
    np.testing.assert_allclose(y, 2 * x + 1, rtol=1e-6)
    with pytest.raises(ValueError, match="kind"):
        datasets.make_regression_curve(kind="wavy")
