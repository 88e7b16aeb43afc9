"""Each optimizer against an independent float64 transcription of its update rule (reference §5.2).

The references below are deliberately naive: plain NumPy expressions, new arrays every step, written
straight from the formulas. Our in-place float32 implementations must follow them to rtol 1e-5.
"""

import math

import numpy as np
import pytest

from nbtrain.optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Lion, Nadam, RMSprop

STEPS = 6
SHAPES = [(3, 4), (4,)]


def reference_sgd(w, grads, learning_rate, momentum=0.0, nesterov=False):
    m = np.zeros_like(w)
    for g in grads:
        if momentum == 0:
            w = w - learning_rate * g
            continue
        m = momentum * m - learning_rate * g
        w = w + (momentum * m - learning_rate * g if nesterov else m)
    return w


def reference_rmsprop(w, grads, learning_rate, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    v, a, mom = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        v = rho * v + (1 - rho) * g**2
        if centered:
            a = rho * a + (1 - rho) * g
            denominator = v - a**2 + epsilon
        else:
            denominator = v + epsilon
        increment = learning_rate * g / np.sqrt(denominator)
        if momentum > 0:
            mom = momentum * mom + increment
            w = w - mom
        else:
            w = w - increment
    return w


def reference_adagrad(w, grads, learning_rate, initial_accumulator_value=0.1, epsilon=1e-7):
    acc = np.full_like(w, initial_accumulator_value)
    for g in grads:
        acc = acc + g**2
        w = w - learning_rate * g / np.sqrt(acc + epsilon)
    return w


def reference_adadelta(w, grads, learning_rate, rho=0.95, epsilon=1e-7):
    eg, ed = np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        eg = rho * eg + (1 - rho) * g**2
        d = -np.sqrt(ed + epsilon) * g / np.sqrt(eg + epsilon)
        ed = rho * ed + (1 - rho) * d**2
        w = w + learning_rate * d
    return w


def reference_adam(w, grads, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, weight_decay=None):
    m, v, v_max = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        if weight_decay:
            w = w - w * weight_decay * learning_rate
        alpha = learning_rate * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        m = m + (g - m) * (1 - beta_1)
        v = v + (g**2 - v) * (1 - beta_2)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            w = w - alpha * m / (np.sqrt(v_max) + epsilon)
        else:
            w = w - alpha * m / (np.sqrt(v) + epsilon)
    return w


def reference_adamax(w, grads, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m, u = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = m + (g - m) * (1 - beta_1)
        u = np.maximum(beta_2 * u, np.abs(g))
        w = w - learning_rate * m / ((1 - beta_1**t) * (u + epsilon))
    return w


def reference_nadam(w, grads, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m, v, u_product = np.zeros_like(w), np.zeros_like(w), 1.0
    for t, g in enumerate(grads, start=1):
        mu_t = beta_1 * (1 - 0.5 * 0.96**t)
        mu_t1 = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_product = u_product * mu_t
        m = m + (g - m) * (1 - beta_1)
        v = v + (g**2 - v) * (1 - beta_2)
        m_hat = mu_t1 * m / (1 - u_product * mu_t1) + (1 - mu_t) * g / (1 - u_product)
        v_hat = v / (1 - beta_2**t)
        w = w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
    return w


def reference_lion(w, grads, learning_rate, beta_1=0.9, beta_2=0.99):
    m = np.zeros_like(w)
    for g in grads:
        w = w - learning_rate * np.sign(beta_1 * m + (1 - beta_1) * g)
        m = beta_2 * m + (1 - beta_2) * g
    return w


CASES = {
    "sgd": (SGD, reference_sgd, {"learning_rate": 0.05}),
    "sgd_momentum": (SGD, reference_sgd, {"learning_rate": 0.05, "momentum": 0.8}),
    "sgd_nesterov": (SGD, reference_sgd, {"learning_rate": 0.05, "momentum": 0.7, "nesterov": True}),
    "rmsprop": (RMSprop, reference_rmsprop, {"learning_rate": 0.01, "rho": 0.8}),
    "rmsprop_centered_momentum": (
        RMSprop,
        reference_rmsprop,
        {"learning_rate": 0.01, "rho": 0.85, "momentum": 0.6, "centered": True, "epsilon": 1e-5},
    ),
    "adagrad": (Adagrad, reference_adagrad, {"learning_rate": 0.1, "initial_accumulator_value": 0.3, "epsilon": 1e-6}),
    "adadelta": (Adadelta, reference_adadelta, {"learning_rate": 1.0, "rho": 0.8, "epsilon": 1e-6}),
    "adam": (Adam, reference_adam, {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-6}),
    "adam_amsgrad": (Adam, reference_adam, {"learning_rate": 0.02, "beta_1": 0.85, "beta_2": 0.9, "amsgrad": True}),
    "adamw": (AdamW, reference_adam, {"learning_rate": 0.02, "weight_decay": 0.1, "beta_1": 0.8, "amsgrad": True}),
    "adamax": (Adamax, reference_adamax, {"learning_rate": 0.02, "beta_1": 0.85, "beta_2": 0.95}),
    "nadam": (Nadam, reference_nadam, {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.9, "epsilon": 1e-6}),
    "lion": (Lion, reference_lion, {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.95}),
}


def _random_problem(seed):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=shape) for shape in SHAPES]
    # gradients of varying scale and sign, so amsgrad's maximum and Adamax's norm both move
    grads = [[rng.normal(size=shape) * rng.uniform(0.1, 3.0) for shape in SHAPES] for _ in range(STEPS)]
    return weights, grads


@pytest.mark.parametrize("case", list(CASES))
def test_float32_trajectory_matches_float64_reference(case):
    cls, reference, kwargs = CASES[case]
    weights, grads = _random_problem(seed=len(case))
    variables = [w.astype(np.float32) for w in weights]
    optimizer = cls(**kwargs)
    for step_grads in grads:
        optimizer.apply([g.astype(np.float32) for g in step_grads], variables)
    for i, (w, v) in enumerate(zip(weights, variables)):
        expected = reference(w, [step[i] for step in grads], **kwargs)
        assert v.dtype == np.float32
        np.testing.assert_allclose(v, expected, rtol=1e-5, atol=1e-6, err_msg=f"{case}, variable {i}")


@pytest.mark.parametrize("case", list(CASES))
def test_float64_variables_stay_float64_and_match_closely(case):
    cls, reference, kwargs = CASES[case]
    weights, grads = _random_problem(seed=100 + len(case))
    variables = [w.copy() for w in weights]
    optimizer = cls(**kwargs)
    for step_grads in grads:
        optimizer.apply(step_grads, variables)
    for i, (w, v) in enumerate(zip(weights, variables)):
        assert v.dtype == np.float64
        assert all(s.dtype == np.float64 for s in optimizer._slots[i].values())
        np.testing.assert_allclose(v, reference(w, [step[i] for step in grads], **kwargs), rtol=1e-12, atol=1e-13)


def test_float64_gradients_for_float32_variables_are_cast():
    weights, grads = _random_problem(seed=7)
    variables = [w.astype(np.float32) for w in weights]
    optimizer = Adam(learning_rate=0.01)
    for step_grads in grads:
        optimizer.apply(step_grads, variables)  # float64 gradients
    assert all(v.dtype == np.float32 for v in variables)
    for i, (w, v) in enumerate(zip(weights, variables)):
        np.testing.assert_allclose(v, reference_adam(w, [s[i] for s in grads], 0.01), rtol=1e-5, atol=1e-6)


def test_sgd_momentum_worked_by_hand():
    # lr = 0.1, momentum = 0.9, w0 = 1, gradients 1, 0.5, -1, 2:
    #   step 1: m = 0.9*0      - 0.1*1    = -0.1     w = 1      - 0.1    = 0.9
    #   step 2: m = 0.9*-0.1   - 0.1*0.5  = -0.14    w = 0.9    - 0.14   = 0.76
    #   step 3: m = 0.9*-0.14  - 0.1*-1   = -0.026   w = 0.76   - 0.026  = 0.734
    #   step 4: m = 0.9*-0.026 - 0.1*2    = -0.2234  w = 0.734  - 0.2234 = 0.5106
    w = np.array([1.0], dtype=np.float32)
    optimizer = SGD(learning_rate=0.1, momentum=0.9)
    seen = []
    for g in (1.0, 0.5, -1.0, 2.0):
        optimizer.apply([np.array([g], dtype=np.float32)], [w])
        seen.append(float(w[0]))
    np.testing.assert_allclose(seen, [0.9, 0.76, 0.734, 0.5106], rtol=1e-6)


def test_sgd_nesterov_worked_by_hand():
    # Same run with nesterov: w += 0.9*m_new - 0.1*g
    #   step 1: m = -0.1   w = 1     + 0.9*-0.1   - 0.1  = 0.81
    #   step 2: m = -0.14  w = 0.81  + 0.9*-0.14  - 0.05 = 0.634
    #   step 3: m = -0.026 w = 0.634 + 0.9*-0.026 + 0.1  = 0.7106
    w = np.array([1.0], dtype=np.float32)
    optimizer = SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    seen = []
    for g in (1.0, 0.5, -1.0):
        optimizer.apply([np.array([g], dtype=np.float32)], [w])
        seen.append(float(w[0]))
    np.testing.assert_allclose(seen, [0.81, 0.634, 0.7106], rtol=1e-6)


def test_adam_worked_by_hand():
    # lr = 0.1, beta_1 = 0.9, beta_2 = 0.999, epsilon = 0 (so step 1 is exactly lr), w0 = 1, gradients 1, 0.5, -0.25.
    #   step 1: m = 0.1, v = 0.001, alpha = 0.1*sqrt(0.001)/0.1 = 0.0316228, sqrt(v) = 0.0316228
    #           update = alpha*m/sqrt(v) = 0.1                                   w = 0.9
    #   step 2: m = 0.1 + (0.5-0.1)*0.1 = 0.14, v = 0.001 + (0.25-0.001)*0.001 = 0.001249
    #           alpha = 0.1*sqrt(1-0.999**2)/(1-0.9**2) = 0.1*0.0447102/0.19 = 0.0235317
    #           update = 0.0235317*0.14/0.0353412 = 0.0932180                    w = 0.8067820
    #   step 3: m = 0.14 + (-0.25-0.14)*0.1 = 0.101, v = 0.001249 + (0.0625-0.001249)*0.001 = 0.001310251
    #           alpha = 0.1*sqrt(1-0.999**3)/(1-0.9**3) = 0.0202011, sqrt(v) = 0.0361974
    #           update = 0.0202011*0.101/0.0361974 = 0.0563661                   w = 0.7504159
    w = np.array([1.0], dtype=np.float32)
    optimizer = Adam(learning_rate=0.1, epsilon=0)
    seen = []
    for g in (1.0, 0.5, -0.25):
        optimizer.apply([np.array([g], dtype=np.float32)], [w])
        seen.append(float(w[0]))
    np.testing.assert_allclose(seen, [0.9, 0.8067820, 0.7504159], rtol=1e-6)
