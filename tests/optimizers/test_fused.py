"""Fused optimizer updates (Numba, the nbtrain[fast] extra): the same numbers as NumPy's, bit for bit, and only
where they apply."""

import subprocess
import sys

import numpy as np
import pytest

import nbtrain
from nbtrain.layers import Dense
from nbtrain.models import Sequential
from nbtrain.optimizers import SGD, Adam, AdamW, Lion, RMSprop, fused, schedules

needs_numba = pytest.mark.skipif(not fused.available(), reason='Numba is not installed (pip install "nbtrain[fast]")')

FUSED = {
    "rmsprop": lambda: RMSprop(),
    "rmsprop momentum": lambda: RMSprop(learning_rate=0.01, momentum=0.9, rho=0.8, epsilon=1e-3),
    "adam": lambda: Adam(),
    "adam amsgrad": lambda: Adam(learning_rate=0.01, amsgrad=True, beta_1=0.8, beta_2=0.95),
    "adamw": lambda: AdamW(weight_decay=0.01),
    "sgd": lambda: SGD(0.1),
    "sgd momentum": lambda: SGD(0.1, momentum=0.9),
    "sgd nesterov": lambda: SGD(learning_rate=schedules.ExponentialDecay(0.1, 2, 0.5), momentum=0.7, nesterov=True),
}


@pytest.fixture(autouse=True)
def restore_setting():
    yield
    fused.set_fused_updates("auto")


class RecordingLoops:
    """Stands in for the module of compiled loops and records which loops ran."""

    def __init__(self, loops):
        self._loops, self.ran = loops, []

    def __getattr__(self, name):
        loop = getattr(self._loops, name)

        def recorded(*args):
            self.ran.append(name)
            return loop(*args)
        return recorded


@pytest.fixture
def recording(monkeypatch):
    loops = RecordingLoops(fused.compiled())
    monkeypatch.setattr(fused, "compiled", lambda: loops)
    return loops


def train(make_optimizer, setting, steps=6, shapes=((240, 200), (200,)), dtype=np.float32, seed=3):
    """Weights and slots after ``steps`` updates from gradients that span magnitudes 1e-6 to 1e3, zeros included."""
    fused.set_fused_updates(setting)
    rng = np.random.default_rng(seed)
    variables = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    optimizer = make_optimizer()
    for _ in range(steps):
        grads = [(rng.standard_normal(v.shape) * 10.0 ** rng.integers(-6, 4)).astype(dtype) for v in variables]
        grads[0].reshape(-1)[::7] = 0
        optimizer.apply(grads, variables)
    return variables, [{name: slot.copy() for name, slot in slots.items()} for slots in optimizer._slots]


def assert_same_bits(first, second):
    (variables_a, slots_a), (variables_b, slots_b) = first, second
    for a, b in zip(variables_a, variables_b):
        np.testing.assert_array_equal(a, b, strict=True)
    for a, b in zip(slots_a, slots_b):
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name], strict=True, err_msg=name)


@needs_numba
@pytest.mark.parametrize("name", FUSED)
def test_fused_updates_equal_numpy_updates_bit_for_bit(name, recording):
    numpy_result = train(FUSED[name], False)
    assert recording.ran == []
    assert_same_bits(train(FUSED[name], "auto"), numpy_result)
    assert len(recording.ran) == 6  # the (240, 200) weights, every step; the bias is too small to be worth it


@needs_numba
def test_fit_with_fused_updates_trains_the_same_model(recording):
    def fit(setting):
        fused.set_fused_updates(setting)
        nbtrain.utils.set_random_seed(0)
        x = np.random.default_rng(1).standard_normal((256, 300)).astype(np.float32)
        y = (x[:, :2].sum(axis=1) > 0).astype(np.float32)
        model = Sequential([Dense(128, activation="relu", input_shape=(300,)), Dense(1, activation="sigmoid")])
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=64, epochs=3, verbose=0)
        return model.get_weights(), history.history

    numpy_weights, numpy_history = fit(False)
    fused_weights, fused_history = fit("auto")
    assert recording.ran == ["rmsprop"] * 12  # 4 batches x 3 epochs, the 300 x 128 kernel only
    assert fused_history == numpy_history
    for a, b in zip(fused_weights, numpy_weights):
        np.testing.assert_array_equal(a, b)


@needs_numba
@pytest.mark.parametrize("case", ["float64", "small", "transposed variable", "switched off", "centered", "no loop"])
def test_numpy_updates_run_where_no_loop_applies(case, recording):
    rng = np.random.default_rng(0)
    dtype = np.float64 if case == "float64" else np.float32
    variable = rng.standard_normal((100, 10) if case == "small" else (300, 200)).astype(dtype)
    gradient = rng.standard_normal(variable.shape).astype(dtype)
    if case == "transposed variable":  # updated in place through a view that is not C-contiguous
        variable = np.ascontiguousarray(variable.T).T
    optimizer = {"centered": RMSprop(centered=True), "no loop": Lion()}.get(case, RMSprop())
    expected = variable.copy(order="K")
    fused.set_fused_updates(False)
    type(optimizer)(**optimizer.get_config()).apply([gradient.copy()], [expected])
    fused.set_fused_updates(False if case == "switched off" else "auto")
    optimizer.apply([gradient], [variable])
    assert recording.ran == []
    assert variable.flags.f_contiguous == (case == "transposed variable")
    np.testing.assert_array_equal(variable, expected)


@needs_numba
def test_a_subclass_that_rewrites_update_step_never_runs_its_parents_loop(recording):
    class SignRMSprop(RMSprop):
        def update_step(self, gradient, variable, learning_rate, slots, scratch):
            variable -= learning_rate * np.sign(gradient)

    variable = np.zeros((300, 200), np.float32)
    SignRMSprop(learning_rate=0.5).apply([np.ones_like(variable)], [variable])
    assert recording.ran == []
    assert (variable == -0.5).all()


def test_without_numba_updates_are_numpy_and_fused_true_says_how_to_install(monkeypatch):
    monkeypatch.setattr(fused, "compiled", lambda: None)
    assert not fused.available()
    variable = np.ones((300, 200), np.float32)
    RMSprop(learning_rate=0.1).apply([np.ones_like(variable)], [variable])
    np.testing.assert_allclose(variable, 1 - 0.1 / np.sqrt(0.1 + 1e-7), rtol=1e-6)
    with pytest.raises(ImportError, match=r'pip install "nbtrain\[fast\]"'):
        nbtrain.config.set_fused_updates(True)
    assert nbtrain.config.fused_updates() == "auto"


@pytest.mark.parametrize("value", ["yes", 1, 0, None, 1.0])
def test_set_fused_updates_rejects_anything_but_auto_true_false(value):
    with pytest.raises(ValueError, match=r"takes 'auto', True or False, got"):
        nbtrain.config.set_fused_updates(value)


def test_importing_nbtrain_and_a_small_fit_leave_numba_unloaded():
    code = ("import sys, numpy as np, nbtrain; m = nbtrain.models.Sequential([nbtrain.layers.Dense(4)]); "
            "m.compile('adam', 'mse'); m.fit(np.ones((8, 3), 'float32'), np.ones((8, 4), 'float32'), verbose=0); "
            "print('numba' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
