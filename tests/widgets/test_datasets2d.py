import numpy as np
import pytest

from nbtrain.widgets.datasets2d import (CLASSIFICATION_SETS, DATASETS, EXTENT, FEATURES, REGRESSION_SETS,
                                        feature_code, input_features, make_2d_data, train_test_split)


@pytest.mark.parametrize("name", DATASETS)
def test_every_data_set_fills_the_square_with_the_right_labels(name):
    x, y = make_2d_data(name, samples=301, noise=0.2, seed=3)
    assert x.shape == (301, 2) and x.dtype == np.float32 and np.abs(x).max() <= EXTENT
    if name in CLASSIFICATION_SETS:
        assert set(np.unique(y)) == {0, 1} and abs(y.mean() - 0.5) < 0.05
    else:
        assert y.dtype == np.float32 and np.abs(y).max() <= 1.0 and y.std() > 0.1


def test_the_same_seed_gives_the_same_data_and_noise_moves_points():
    a, _ = make_2d_data("circles", samples=100, seed=1)
    b, _ = make_2d_data("circles", samples=100, seed=1)
    c, _ = make_2d_data("circles", samples=100, noise=0.3, seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_clean_circles_are_separable_by_radius():
    x, y = make_2d_data("circles", samples=400, seed=0)
    radius = np.hypot(x[:, 0], x[:, 1])
    assert radius[y == 1].max() < radius[y == 0].min()


def test_bad_names_and_arguments_say_what_is_allowed():
    with pytest.raises(ValueError, match="Did you mean 'spiral'"):
        make_2d_data("spirals")
    with pytest.raises(ValueError, match="noise must be a number from 0 to 1"):
        make_2d_data("xor", noise=2)
    with pytest.raises(ValueError, match="samples must be an integer"):
        make_2d_data("xor", samples=1.5)
    with pytest.raises(ValueError, match="Unknown input feature 'x3'"):
        input_features(np.zeros((2, 2)), ["x3"])
    with pytest.raises(ValueError, match="At least one input feature"):
        input_features(np.zeros((2, 2)), [])


def test_features_and_their_code_compute_the_same_numbers():
    rng = np.random.default_rng(0)
    x_train = rng.uniform(-6, 6, (50, 2)).astype(np.float32)
    names = list(FEATURES)
    expected = input_features(x_train, names)
    computed = eval(feature_code(names, "x_train"), {"np": np, "x_train": x_train})
    np.testing.assert_allclose(computed, expected, rtol=1e-6)
    assert expected.dtype == np.float32 and expected.shape == (50, len(FEATURES))


def test_train_test_split_keeps_every_point_once():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    xtr, ytr, xte, yte = train_test_split(x, y, 0.3, seed=0)
    assert len(xte) == 3 and sorted(np.concatenate([ytr, yte]).tolist()) == list(range(10))
    assert np.array_equal(xtr[:, 0] / 2, ytr)
    assert REGRESSION_SETS == ("plane", "curve")
