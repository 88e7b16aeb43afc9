"""Keras 3.15.1's own optimizer goldens (reference §5.3 and keras/src/optimizers/*_test.py)."""

import numpy as np
import pytest

from nbtrain.optimizers import SGD, Adadelta, Adafactor, Adagrad, Adam, Adamax, AdamW, Ftrl, Lamb, Lion, Nadam, RMSprop

SINGLE_STEP = {
    SGD: [0.5, -1, -0.5, 3],
    Adam: [0.5, 1.5, 2.5, 3.5],
    Adamax: [0.5, 1.5, 2.5, 3.5],
    Lion: [0.5, 1.5, 2.5, 3.5],
    AdamW: [0.4980, 1.4960, 2.494, 3.492],
    RMSprop: [-0.5811, 0.4189, 1.4189, 2.4189],
    Adagrad: [0.5233, 1.5007, 2.5005, 3.5061],
    Adadelta: [0.9993, 1.9993, 2.9993, 3.9993],
    Nadam: [0.4686, 1.4686, 2.4686, 3.4686],
    Adafactor: [-0.3693, 0.6307, 1.6307, 2.6307],
    Ftrl: [0.2218, 1.3954, 2.3651, 2.8814],
    Lamb: [-0.3693, 0.6306, 1.6306, 2.6306],
}


@pytest.mark.parametrize("cls", list(SINGLE_STEP), ids=lambda c: c.__name__)
def test_single_step(cls):
    var = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    cls(learning_rate=0.5).apply_gradients(zip([np.array([1.0, 6.0, 7.0, 2.0], dtype=np.float32)], [var]))
    np.testing.assert_allclose(var, SINGLE_STEP[cls], rtol=1e-4, atol=1e-4)


def _golden_trajectory(optimizer):
    """x = ones(10); one step with g = 0.01, then steps with g = 0.1, 0.2, ..., 1.0; x after each of 5 steps."""
    x = np.ones(10, dtype=np.float32)
    first, grads = np.full(10, 0.01, dtype=np.float32), np.arange(0.1, 1.1, 0.1).astype(np.float32)
    optimizer.apply([first], [x])
    rows = [x.copy()]
    for _ in range(4):
        optimizer.apply([grads], [x])
        rows.append(x.copy())
    return np.array(rows)


UNIFORM_GOLDENS = [
    (lambda: Adam(amsgrad=True), [0.999, 0.9982, 0.9974, 0.9965, 0.9955]),
    (lambda: RMSprop(centered=True), [0.9967, 0.9933, 0.9908, 0.9885, 0.9864]),
    (lambda: Adadelta(learning_rate=1.0, rho=0.8, epsilon=1e-6), [0.9978, 0.9947, 0.9915, 0.9882, 0.9849]),
    (lambda: Lion(), [0.999, 0.998, 0.997, 0.996, 0.995]),
]


@pytest.mark.parametrize("make, column", UNIFORM_GOLDENS, ids=["adam_amsgrad", "rmsprop_centered", "adadelta", "lion"])
def test_golden_trajectories_same_for_every_entry(make, column):
    expected = np.repeat(np.array(column)[:, None], 10, axis=1)
    np.testing.assert_allclose(_golden_trajectory(make()), expected, rtol=5e-4, atol=5e-4)


def test_golden_sgd_nesterov_with_zero_momentum():
    rows = _golden_trajectory(SGD(nesterov=True))
    np.testing.assert_allclose(rows[0], np.full(10, 0.9999), rtol=5e-4, atol=5e-4)
    np.testing.assert_allclose(rows[1], 0.9999 - np.arange(0.1, 1.1, 0.1) / 100, rtol=5e-4, atol=5e-4)


# Full per-element tables from keras/src/optimizers/{adagrad,adamax,nadam,adamw}_test.py (v3.15.1).
PER_ELEMENT_GOLDENS = {
    "adagrad": (
        lambda: Adagrad(learning_rate=0.2, initial_accumulator_value=0.3, epsilon=1e-6),
        [
            [0.9963] * 10,
            [0.9604, 0.9278, 0.9003, 0.8784, 0.8615, 0.8487, 0.8388, 0.8313, 0.8255, 0.8209],
            [0.9251, 0.8629, 0.8137, 0.7768, 0.7497, 0.7298, 0.7151, 0.704, 0.6956, 0.6891],
            [0.8903, 0.8012, 0.7342, 0.6862, 0.6521, 0.6277, 0.6099, 0.5967, 0.5867, 0.579],
            [0.856, 0.7422, 0.6604, 0.6037, 0.5644, 0.5367, 0.5168, 0.5021, 0.491, 0.4825],
        ],
    ),
    "adamax": (
        lambda: Adamax(learning_rate=0.2, beta_1=0.85, beta_2=0.95, epsilon=1e-6),
        [
            [0.8] * 10,
            [0.6827, 0.6873, 0.6888, 0.6896, 0.6901, 0.6904, 0.6906, 0.6908, 0.6909, 0.691],
            [0.5333, 0.5407, 0.5431, 0.5444, 0.5451, 0.5456, 0.546, 0.5462, 0.5464, 0.5466],
            [0.368, 0.3773, 0.3804, 0.382, 0.3829, 0.3835, 0.384, 0.3843, 0.3846, 0.3848],
            [0.1933, 0.204, 0.2076, 0.2094, 0.2105, 0.2112, 0.2117, 0.2121, 0.2124, 0.2126],
        ],
    ),
    "nadam": (
        lambda: Nadam(learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5),
        [
            [0.4281] * 10,
            [-0.1738, -0.1731, -0.1726, -0.1723, -0.1721, -0.172, -0.1719, -0.1718, -0.1718, -0.1717],
            [-0.7115, -0.7103, -0.7096, -0.7092, -0.709, -0.7088, -0.7086, -0.7085, -0.7085, -0.7084],
            [-1.2335, -1.2322, -1.2313, -1.2309, -1.2306, -1.2304, -1.2302, -1.2301, -1.23, -1.2299],
            [-1.7492, -1.7478, -1.7469, -1.7464, -1.7461, -1.7459, -1.7457, -1.7456, -1.7455, -1.7454],
        ],
    ),
    "adamw": (
        lambda: AdamW(learning_rate=1.0, weight_decay=0.5, epsilon=2),
        [
            [0.4998] * 10,
            [0.2486, 0.2475, 0.2463, 0.2451, 0.244, 0.2428, 0.2417, 0.2405, 0.2394, 0.2382],
            [0.1223, 0.1198, 0.1174, 0.1149, 0.1124, 0.11, 0.1075, 0.1051, 0.1027, 0.1003],
            [0.0586, 0.0549, 0.0512, 0.0475, 0.0439, 0.0402, 0.0366, 0.033, 0.0294, 0.0258],
            [0.0263, 0.0215, 0.0167, 0.012, 0.0073, 0.0026, -0.0021, -0.0067, -0.0113, -0.0159],
        ],
    ),
}


@pytest.mark.parametrize("name", list(PER_ELEMENT_GOLDENS))
def test_golden_per_element_tables(name):
    make, golden = PER_ELEMENT_GOLDENS[name]
    np.testing.assert_allclose(_golden_trajectory(make()), np.array(golden), rtol=5e-4, atol=5e-4)


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion, Adafactor, Lamb],
                         ids=lambda c: c.__name__)
def test_weight_decay_golden_and_exclusions(cls):
    # Keras's test_weight_decay: zero gradients, learning_rate=1, weight_decay=0.004; var1 is decayed by
    # three optimizers in turn (2 * 0.996**3), the excluded variables stay at 2.
    zero = np.zeros((), dtype=np.float32)
    var1, var2, var3 = (np.array(2.0, dtype=np.float32) for _ in range(3))
    cls(learning_rate=1.0, weight_decay=0.004).apply([zero], [var1])

    by_name = cls(learning_rate=1.0, weight_decay=0.004)
    by_name.exclude_from_weight_decay(var_names=["exclude"])
    by_name.apply([zero, zero], [var1, var2], variable_names=["var1", "exclude"])

    by_list = cls(learning_rate=1.0, weight_decay=0.004)
    by_list.exclude_from_weight_decay(var_list=[var3])
    by_list.apply([zero, zero], [var1, var3])

    assert var1 == pytest.approx(1.9760959, abs=1e-6)
    assert var2 == pytest.approx(2.0, abs=1e-6)
    assert var3 == pytest.approx(2.0, abs=1e-6)


def test_adam_weight_decay_three_steps():
    var = np.array(2.0, dtype=np.float32)
    optimizer = Adam(learning_rate=1.0, weight_decay=0.004)
    for _ in range(3):
        optimizer.apply([np.zeros((), dtype=np.float32)], [var])
    assert var == pytest.approx(1.9760959, abs=1e-6)


# keras/src/optimizers/{adafactor,ftrl,lamb}_test.py (v3.15.1)

def test_adafactor_single_step_2d():
    var = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    Adafactor(learning_rate=0.5).apply([np.array([[1.0, 6.0], [7.0, 2.0]], dtype=np.float32)], [var])
    np.testing.assert_allclose(var, [[0.7007, -0.0081], [1.2492, 3.4407]], rtol=1e-4, atol=1e-4)


NEW_OPTIMIZER_GOLDENS = [
    (lambda: Adafactor(learning_rate=0.5, beta_2_decay=-0.65, epsilon_1=1e-15, epsilon_2=1e-4, clip_threshold=0.9,
                       relative_step=False),
     [[0.55] * 10,
      [0.3031, 0.3026, 0.3025, 0.3024, 0.3024, 0.3024, 0.3024, 0.3024, 0.3024, 0.3024],
      [0.1671, 0.1665, 0.1663, 0.1663, 0.1663, 0.1663, 0.1663, 0.1663, 0.1663, 0.1663],
      [0.0923, 0.0916, 0.0915, 0.0914, 0.0914, 0.0914, 0.0914, 0.0914, 0.0914, 0.0914],
      [0.0554, 0.0548, 0.0546, 0.0546, 0.0546, 0.0546, 0.0546, 0.0545, 0.0545, 0.0545]]),
    (lambda: Ftrl(learning_rate=0.05, learning_rate_power=-0.2, initial_accumulator_value=0.4,
                  l1_regularization_strength=0.05, l2_regularization_strength=0.15,
                  l2_shrinkage_regularization_strength=0.01, beta=0.3),
     [[0.0] * 10,
      [-0.0034, -0.0077, -0.0118, -0.0157, -0.0194, -0.023, -0.0263, -0.0294, -0.0325, -0.0354],
      [-0.0078, -0.0162, -0.0242, -0.0317, -0.0387, -0.0454, -0.0516, -0.0575, -0.0631, -0.0685],
      [-0.0121, -0.0246, -0.0363, -0.0472, -0.0573, -0.0668, -0.0757, -0.0842, -0.0922, -0.0999],
      [-0.0164, -0.0328, -0.0481, -0.0623, -0.0753, -0.0875, -0.099, -0.1098, -0.1201, -0.1299]]),
    (lambda: Lamb(), [[0.999] * 10, [0.9982] * 10, [0.9974] * 10, [0.9965] * 10, [0.9955] * 10]),
]


@pytest.mark.parametrize("make, golden", NEW_OPTIMIZER_GOLDENS, ids=["adafactor", "ftrl", "lamb"])
def test_new_optimizer_golden_trajectories(make, golden):
    np.testing.assert_allclose(_golden_trajectory(make()), np.array(golden), rtol=5e-4, atol=5e-4)

