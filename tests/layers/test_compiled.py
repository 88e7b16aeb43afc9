"""The recurrent layers' compiled loops (Numba, the nbtrain[fast] extra): the same bits as the NumPy steps, and only
where they pay."""

import numpy as np
import pytest

import nbtrain
from nbtrain.layers import LSTM, Bidirectional, Dense, Masking
from nbtrain.models import Sequential
from nbtrain.utils import compiled

needs_numba = pytest.mark.skipif(not compiled.available(),
                                 reason='Numba is not installed (pip install "nbtrain[fast]")')
STEPS, FEATURES, BATCH = 16, 8, 128   # with 64 units: 131,072 gate values per batch, the size from which it compiles


def sequences(mask_tail=False):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2 * BATCH, STEPS, FEATURES)).astype(np.float32)
    if mask_tail:
        x[::3, STEPS - 5:] = 0   # a third of the sequences are shorter: their steps are masked
    return x, x[:, :, 0].sum(axis=1, keepdims=True) / 4


MODELS = {
    "last state": lambda: [LSTM(64)],
    "masked": lambda: [Masking(0.0), LSTM(64)],
    "sequences out": lambda: [LSTM(64, return_sequences=True), LSTM(64)],
    "recurrent dropout": lambda: [LSTM(64, dropout=0.1, recurrent_dropout=0.2)],
    "bidirectional": lambda: [Bidirectional(LSTM(64))],
}


def train(name, setting):
    compiled.set_compiled_loops(setting)
    nbtrain.utils.set_random_seed(0)
    x, y = sequences(mask_tail=name == "masked")
    model = Sequential([nbtrain.Input((STEPS, FEATURES)), *MODELS[name](), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)
    return model.get_weights(), history.history


@needs_numba
@pytest.mark.parametrize("name", MODELS)
def test_lstm_steps_compiled_give_numpys_bits(name, compiled_loops_run):
    numpy_weights, numpy_history = train(name, False)
    assert compiled_loops_run == []
    weights, history = train(name, "auto")
    layers = 2 if name in ("sequences out", "bidirectional") else 1
    for loop in ("lstm_forward_gates", "lstm_backward_step"):   # every step of every batch (2 per epoch, 2 epochs)
        assert compiled_loops_run.count(loop) == layers * 4 * STEPS, loop
    assert len(compiled_loops_run) == 2 * layers * 4 * STEPS
    assert history == numpy_history
    for a, b in zip(weights, numpy_weights):
        np.testing.assert_array_equal(a, b, strict=True)


@needs_numba
@pytest.mark.parametrize("case", ["short batch", "float64", "relu cell"])
def test_numpy_steps_run_where_compiling_does_not_pay_or_apply(case, compiled_loops_run):
    batch = BATCH // 2 if case == "short batch" else BATCH   # 65,536 gate values: not worth compiling
    x = sequences()[0][:batch].astype(np.float64 if case == "float64" else np.float32)
    layer = LSTM(64, activation="relu") if case == "relu cell" else LSTM(64)
    layer.ensure_built(x.shape)
    layer.cast_weights(x.dtype)
    output = layer.forward(x, training=True)
    layer.backward(np.ones_like(output))
    assert compiled_loops_run == []
    assert layer.grads["kernel"].dtype == x.dtype and np.isfinite(layer.grads["kernel"]).all()


@needs_numba
def test_the_same_layer_compiles_once_the_batch_is_large_enough(compiled_loops_run):
    x = sequences()[0][:BATCH]
    layer = LSTM(64)
    layer.ensure_built(x.shape)
    layer.backward(np.ones_like(layer.forward(x, training=True)))   # 131,072 gate values: compiled
    assert compiled_loops_run == ["lstm_forward_gates"] * STEPS + ["lstm_backward_step"] * STEPS
