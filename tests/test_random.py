"""nbtrain.random: distributions, seeds as Keras uses them, and dropout's gradient."""

from __future__ import annotations

import numpy as np
import pytest

from nbtrain import ops, random
from nbtrain.utils import set_random_seed


def test_an_int_seed_repeats_and_a_seed_generator_advances():
    assert np.array_equal(random.normal((3,), seed=1), random.normal((3,), seed=1))
    seeds = random.SeedGenerator(5)
    first, second = random.uniform((3,), seed=seeds), random.uniform((3,), seed=seeds)
    assert not np.array_equal(first, second)
    again = random.SeedGenerator(5)
    assert np.array_equal(random.uniform((3,), seed=again), first)


def test_no_seed_follows_set_random_seed():
    set_random_seed(3)
    a = random.normal((4,))
    set_random_seed(3)
    assert np.array_equal(random.normal((4,)), a)


def test_distributions_have_their_moments_and_ranges():
    x = random.normal((20000,), mean=2.0, stddev=3.0, seed=0)
    assert x.dtype == np.float32 and abs(x.mean() - 2) < 0.1 and abs(x.std() - 3) < 0.1
    u = random.uniform((20000,), minval=-1, maxval=3, seed=0)
    assert u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.05
    t = random.truncated_normal((20000,), stddev=0.5, seed=0)
    assert np.abs(t).max() <= 1.0 and 0.4 < t.std() < 0.5
    r = random.randint((1000,), 2, 5, seed=0)
    assert r.dtype == np.int32 and set(r.tolist()) == {2, 3, 4}
    assert random.normal((2,), dtype="float64", seed=0).dtype == np.float64


def test_categorical_draws_classes_in_proportion():
    logits = np.log(np.array([[0.1, 0.9], [1.0, 1e-9]], np.float32))
    draws = random.categorical(logits, 2000, seed=0)
    assert draws.shape == (2, 2000) and abs(draws[0].mean() - 0.9) < 0.03 and draws[1].max() == 0


def test_dropout_scales_kept_values_and_passes_their_gradient():
    x = np.ones((100, 50), np.float32)
    y = random.dropout(x, 0.2, seed=0)
    assert set(np.unique(y).tolist()) == {0.0, 1.25} and abs((y == 0).mean() - 0.2) < 0.02
    column = random.dropout(x, 0.5, noise_shape=(1, 50), seed=0)
    assert (column == column[0]).all()
    with ops.GradientTape() as tape:
        t = tape.watch(x)
        out = ops.sum(random.dropout(t, 0.2, seed=0))
    np.testing.assert_array_equal(tape.gradient(out, t), y)


def test_shuffle_permutes_along_an_axis():
    x = np.arange(10.0).reshape(5, 2)
    shuffled = random.shuffle(x, seed=0)
    assert sorted(shuffled[:, 0].tolist()) == x[:, 0].tolist() and (shuffled[:, 1] - shuffled[:, 0] == 1).all()


@pytest.mark.parametrize("bad", [-1, 1.5, "seed"])
def test_bad_seeds_are_explained(bad):
    with pytest.raises(ValueError, match="seed"):
        random.normal((2,), seed=bad)
    with pytest.raises(ValueError, match="seed"):
        random.SeedGenerator(bad)


def test_bad_rates_and_dtypes_are_explained():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        random.dropout(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="floating-point"):
        random.normal((2,), dtype="int32")
