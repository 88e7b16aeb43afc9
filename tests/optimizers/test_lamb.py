"""Lamb: hand-computed steps, the trust ratio's edge cases, Keras trajectories, config."""

import numpy as np
import pytest
from keras_classes import cases_of, check_against_keras

import nbtrain
from nbtrain.optimizers import Lamb


def test_first_step_moves_by_learning_rate_times_the_weight_norm():
    w = np.array([3.0, 4.0])
    Lamb(learning_rate=0.1).apply([np.array([1.0, -1.0])], [w])
    # t = 1: the Adam direction is g / (|g| + eps) ~ (1, -1), norm sqrt(2); ratio = 5 / sqrt(2)
    direction = np.array([1.0, -1.0]) / (1.0 + 1e-7)
    expected = np.array([3.0, 4.0]) - 0.1 * 5.0 / np.linalg.norm(direction) * direction
    np.testing.assert_allclose(w, expected, rtol=1e-12)


def test_three_steps_by_hand(rng):
    w = rng.normal(size=(3, 4))
    grads = [rng.normal(size=(3, 4)) for _ in range(3)]
    ours = w.copy()
    opt = Lamb(learning_rate=0.05, beta_1=0.8, beta_2=0.95, epsilon=1e-4)
    for g in grads:
        opt.apply([g], [ours])
    ref, m, v = w.copy(), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = 0.8 * m + 0.2 * g
        v = 0.95 * v + 0.05 * g * g
        d = (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.95**t)) + 1e-4)
        ref -= 0.05 * np.linalg.norm(ref) / np.linalg.norm(d) * d
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_zero_weights_take_a_plain_adam_sized_step():
    w = np.zeros(3)
    Lamb(learning_rate=0.1).apply([np.array([1.0, -2.0, 0.5])], [w])
    np.testing.assert_allclose(w, -0.1 * np.sign([1.0, -2.0, 0.5]), rtol=1e-6)
    w = np.ones(2)
    Lamb(learning_rate=0.1).apply([np.zeros(2)], [w])
    np.testing.assert_array_equal(w, np.ones(2))


@pytest.mark.parametrize("name", cases_of("Lamb"))
def test_matches_keras(name):
    check_against_keras(name)


def test_registry_config_and_validation():
    assert type(nbtrain.optimizers.get("lamb")) is Lamb
    opt = Lamb(learning_rate=0.01, beta_1=0.8, epsilon=1e-6)
    assert nbtrain.optimizers.deserialize(nbtrain.optimizers.serialize(opt)).get_config() == opt.get_config()
    assert repr(opt) == "Lamb(learning_rate=0.01, beta_1=0.8, epsilon=1e-06)"
    with pytest.raises(ValueError, match="beta_1"):
        Lamb(beta_1=1.0)
