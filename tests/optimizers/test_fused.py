"""Fused optimizer updates (Numba, the nbtrain[fast] extra): the same numbers as NumPy's, bit for bit, and only
where they apply."""

import numpy as np
import pytest

import nbtrain
from nbtrain.layers import Dense
from nbtrain.models import Sequential
from nbtrain.optimizers import SGD, Adam, AdamW, Lion, RMSprop, schedules
from nbtrain.utils import compiled

needs_numba = pytest.mark.skipif(not compiled.available(),
                                 reason='Numba is not installed (pip install "nbtrain[fast]")')

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
    compiled.set_compiled_loops("auto")


def train(make_optimizer, setting, steps=10, shapes=((240, 200), (200,)), dtype=np.float32, seed=3):
    """Weights and slots after ``steps`` updates from gradients of magnitudes 1e-21 (their squares are subnormal)
    to 1e3, zeros included."""
    compiled.set_compiled_loops(setting)
    rng = np.random.default_rng(seed)
    variables = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    optimizer = make_optimizer()
    for _ in range(steps):
        grads = [(rng.standard_normal(v.shape) * 10.0 ** rng.integers(-21, 4)).astype(dtype) for v in variables]
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
def test_fused_updates_equal_numpy_updates_bit_for_bit(name, compiled_loops_run):
    numpy_result = train(FUSED[name], False)
    assert compiled_loops_run == []
    fused_result = train(FUSED[name], "auto")
    assert_same_bits(fused_result, numpy_result)
    updates = [loop for loop in compiled_loops_run if loop != "flush_subnormal"]
    assert len(updates) == 10  # the (240, 200) weights, every step; the bias is too small to be worth it
    assert compiled_loops_run.count("flush_subnormal") == len(fused_result[1][0])   # its slots, after step 8


@needs_numba
def test_fit_with_fused_updates_trains_the_same_model(compiled_loops_run):
    def fit(setting):
        compiled.set_compiled_loops(setting)
        nbtrain.utils.set_random_seed(0)
        x = np.random.default_rng(1).standard_normal((256, 300)).astype(np.float32)
        y = (x[:, :2].sum(axis=1) > 0).astype(np.float32)
        model = Sequential([Dense(128, activation="relu", input_shape=(300,)), Dense(1, activation="sigmoid")])
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=64, epochs=3, verbose=0)
        return model.get_weights(), history.history

    numpy_weights, numpy_history = fit(False)
    fused_weights, fused_history = fit("auto")
    # 4 batches x 3 epochs, the 300 x 128 kernel only, its velocity flushed after the 8th update
    assert compiled_loops_run == ["rmsprop"] * 8 + ["flush_subnormal"] + ["rmsprop"] * 4
    assert fused_history == numpy_history
    for a, b in zip(fused_weights, numpy_weights):
        np.testing.assert_array_equal(a, b)


@needs_numba
@pytest.mark.parametrize("case", ["float64", "small", "transposed variable", "switched off", "centered", "no loop"])
def test_numpy_updates_run_where_no_loop_applies(case, compiled_loops_run):
    rng = np.random.default_rng(0)
    dtype = np.float64 if case == "float64" else np.float32
    variable = rng.standard_normal((100, 10) if case == "small" else (300, 200)).astype(dtype)
    gradient = rng.standard_normal(variable.shape).astype(dtype)
    if case == "transposed variable":  # updated in place through a view that is not C-contiguous
        variable = np.ascontiguousarray(variable.T).T
    optimizer = {"centered": RMSprop(centered=True), "no loop": Lion()}.get(case, RMSprop())
    expected = variable.copy(order="K")
    compiled.set_compiled_loops(False)
    type(optimizer)(**optimizer.get_config()).apply([gradient.copy()], [expected])
    compiled.set_compiled_loops(False if case == "switched off" else "auto")
    optimizer.apply([gradient], [variable])
    assert compiled_loops_run == []
    assert variable.flags.f_contiguous == (case == "transposed variable")
    np.testing.assert_array_equal(variable, expected)


@needs_numba
def test_a_subclass_that_rewrites_update_step_never_runs_its_parents_loop(compiled_loops_run):
    class SignRMSprop(RMSprop):
        def update_step(self, gradient, variable, learning_rate, slots, scratch):
            variable -= learning_rate * np.sign(gradient)

    variable = np.zeros((300, 200), np.float32)
    SignRMSprop(learning_rate=0.5).apply([np.ones_like(variable)], [variable])
    assert compiled_loops_run == []
    assert (variable == -0.5).all()


def test_without_numba_updates_are_numpy(monkeypatch):
    monkeypatch.setattr(compiled, "available", lambda: False)
    variable = np.ones((300, 200), np.float32)
    RMSprop(learning_rate=0.1).apply([np.ones_like(variable)], [variable])
    np.testing.assert_allclose(variable, 1 - 0.1 / np.sqrt(0.1 + 1e-7), rtol=1e-6)


@needs_numba
def test_the_compiled_flush_zeroes_what_numpys_flush_zeroes(compiled_loops_run):
    from nbtrain.optimizers.optimizer import _flush_subnormal

    tiny = np.finfo(np.float32).tiny
    special = np.array([0.0, -0.0, tiny, -tiny, tiny / 2, -tiny / 3, 1e-45, np.inf, -np.inf, np.nan, 1.0, -2.5],
                       np.float32)
    values = np.random.default_rng(0).standard_normal(40_000).astype(np.float32) * np.float32(1e-37)
    values[:special.size] = special
    expected = values.copy()
    _flush_subnormal(expected, np.empty_like(expected))
    compiled.loops("nbtrain.optimizers._compiled").flush_subnormal(values)
    assert compiled_loops_run == ["flush_subnormal"]
    np.testing.assert_array_equal(values.view(np.uint32), expected.view(np.uint32))
    assert 0 < np.count_nonzero(values) < values.size - 1000   # normal values stay, subnormal ones went


@needs_numba
def test_every_eighth_update_flushes_large_slots_with_the_compiled_loop(compiled_loops_run):
    variable = np.ones((300, 200), np.float32)
    optimizer = RMSprop()
    for _ in range(8):
        optimizer.apply([np.zeros_like(variable)], [variable])
    assert compiled_loops_run == ["rmsprop"] * 8 + ["flush_subnormal"]
