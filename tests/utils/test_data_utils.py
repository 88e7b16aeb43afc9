import numpy as np
import pytest

from nbtrain.utils import normalize, to_categorical


def test_to_categorical_matches_keras():
    np.testing.assert_array_equal(to_categorical([0, 2, 1], 3), [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert to_categorical(np.array([[1], [0]])).shape == (2, 2)
    assert to_categorical([1, 0]).dtype == np.float32


def test_to_categorical_errors():
    with pytest.raises(ValueError, match="got label 5 but num_classes=3"):
        to_categorical([5], 3)
    with pytest.raises(ValueError, match="integer class labels"):
        to_categorical([0.5])


def test_normalize_unit_norm():
    np.testing.assert_allclose(normalize([[3.0, 4.0], [0.0, 0.0]]), [[0.6, 0.8], [0, 0]])
