"""Adafactor: hand-computed steps (factored and unfactored), Keras trajectories, memory, config."""

import math

import numpy as np
import pytest
from keras_classes import cases_of, check_against_keras

import nbtrain
from nbtrain.optimizers import Adafactor


def _rms(x):
    return math.sqrt(float(np.mean(np.square(x))))


def test_first_step_on_a_vector_by_hand():
    g = np.array([1.0, 6.0, 7.0, 2.0])
    # t = 1: beta_2 = 1 - 1 ** -0.8 = 0, so v = g**2 + 1e-30 and u = g / |g| = sign(g), rms(u) = 1;
    # alpha = max(1e-3, rms(w)) * min(0.5, 1 / sqrt(1))
    expected = np.array([1.0, 2.0, 3.0, 4.0]) - _rms([1.0, 2.0, 3.0, 4.0]) * 0.5
    updated = np.array([1.0, 2.0, 3.0, 4.0])
    Adafactor(learning_rate=0.5).apply([g], [updated])
    np.testing.assert_allclose(updated, expected, rtol=1e-12)


def test_two_steps_on_a_matrix_by_hand():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(3, 4))
    grads = [rng.normal(size=(3, 4)) for _ in range(2)]
    opt = Adafactor(learning_rate=0.3, clip_threshold=0.8)
    ours = w.copy()
    for g in grads:
        opt.apply([g], [ours])
    ref, r, c = w.copy(), np.zeros(3), np.zeros(4)
    for t, g in enumerate(grads, start=1):
        beta = 1 - t ** -0.8
        square = g * g + 1e-30
        r = beta * r + (1 - beta) * square.mean(axis=1)
        c = beta * c + (1 - beta) * square.mean(axis=0)
        v = np.outer(r / r.mean(), c)
        u = g / np.sqrt(v)
        u /= max(1.0, _rms(u) / 0.8)
        ref -= max(1e-3, _rms(ref)) * min(0.3, 1 / math.sqrt(t)) * u
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


@pytest.mark.parametrize("name", cases_of("Adafactor"))
def test_matches_keras(name):
    check_against_keras(name)


def test_factored_variables_keep_only_row_and_column_averages():
    opt = Adafactor()
    variables = [np.zeros((50, 40), np.float32), np.zeros((2, 50, 40), np.float32), np.zeros(7, np.float32)]
    opt.build(variables)
    slots = opt._slots
    assert {k: v.shape for k, v in slots[0].items()} == {"row_average": (50,), "column_average": (40,),
                                                          "velocity": ()}
    assert slots[1]["row_average"].shape == (2, 50) and slots[1]["column_average"].shape == (2, 40)
    assert {k: v.shape for k, v in slots[2].items()} == {"row_average": (), "column_average": (), "velocity": (7,)}
    restored = Adafactor()
    restored.set_state(opt.get_state())
    assert restored._slots[0]["row_average"].shape == (50,)


def test_registry_config_and_validation():
    assert type(nbtrain.optimizers.get("adafactor")) is Adafactor
    opt = Adafactor(learning_rate=0.01, beta_2_decay=-0.5, epsilon_2=0.01, clip_threshold=2, relative_step=False)
    again = nbtrain.optimizers.deserialize(nbtrain.optimizers.serialize(opt))
    assert again.get_config() == opt.get_config()
    assert repr(opt) == ("Adafactor(learning_rate=0.01, beta_2_decay=-0.5, epsilon_2=0.01, clip_threshold=2.0, "
                         "relative_step=False)")
    with pytest.raises(ValueError, match="clip_threshold"):
        Adafactor(clip_threshold=0)
    with pytest.raises(ValueError, match="beta_2_decay"):
        Adafactor(beta_2_decay=0.5)
