"""Ftrl: hand-computed steps, Keras trajectories, sparsity from L1, config."""

import numpy as np
import pytest
from keras_classes import cases_of, check_against_keras

import nbtrain
from nbtrain.optimizers import Ftrl


def _ftrl_reference(w, grads, lr, power=-0.5, initial=0.1, l1=0.0, l2=0.0, shrinkage=0.0, beta=0.0):
    """The FTRL-Proximal recurrence written out element by element, in float64."""
    w = np.array(w, dtype=np.float64)
    n, z = np.full(w.shape, initial), np.zeros(w.shape)
    p = -power
    for g in grads:
        for i in np.ndindex(w.shape):
            n_new = n[i] + g[i] ** 2
            z[i] += g[i] + 2 * shrinkage * w[i] - (n_new**p - n[i] ** p) / lr * w[i]
            denominator = n_new**p / lr + 2 * (l2 + beta / (2 * lr))
            w[i] = 0.0 if abs(z[i]) <= l1 else -(z[i] - np.sign(z[i]) * l1) / denominator
            n[i] = n_new
    return w


@pytest.mark.parametrize("options", [{}, {"l1_regularization_strength": 0.3, "l2_regularization_strength": 0.1},
                                     {"learning_rate_power": -0.7, "initial_accumulator_value": 0.5, "beta": 0.3,
                                      "l2_shrinkage_regularization_strength": 0.05}])
def test_three_steps_by_hand(options, rng):
    w = rng.normal(size=(3, 4))
    grads = [rng.normal(size=(3, 4)) for _ in range(3)]
    ours = w.copy()
    opt = Ftrl(learning_rate=0.2, **options)
    for g in grads:
        opt.apply([g], [ours])
    keys = {"learning_rate_power": "power", "initial_accumulator_value": "initial", "l1_regularization_strength": "l1",
            "l2_regularization_strength": "l2", "l2_shrinkage_regularization_strength": "shrinkage", "beta": "beta"}
    np.testing.assert_allclose(ours, _ftrl_reference(w, grads, 0.2, **{keys[k]: v for k, v in options.items()}),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", cases_of("Ftrl"))
def test_matches_keras(name):
    check_against_keras(name)


def test_l1_gives_exact_zeros():
    w = np.array([0.5, -0.5, 2.0])
    Ftrl(learning_rate=0.1, l1_regularization_strength=1.0).apply([np.array([0.01, -0.01, 5.0])], [w])
    assert w[0] == 0.0 and w[1] == 0.0 and w[2] != 0.0


def test_registry_config_and_validation():
    assert type(nbtrain.optimizers.get("Ftrl")) is Ftrl
    opt = Ftrl(learning_rate=0.05, l1_regularization_strength=0.01, beta=1)
    assert nbtrain.optimizers.deserialize(nbtrain.optimizers.serialize(opt)).get_config() == opt.get_config()
    assert opt.slot_initial_values() == {"accumulator": 0.1, "linear": 0.0}
    for argument, value in [("learning_rate_power", 0.5), ("initial_accumulator_value", -1),
                            ("l1_regularization_strength", -0.1), ("l2_regularization_strength", -0.1),
                            ("l2_shrinkage_regularization_strength", -0.1)]:
        with pytest.raises(ValueError, match=argument):
            Ftrl(**{argument: value})
