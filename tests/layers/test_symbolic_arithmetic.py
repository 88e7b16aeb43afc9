"""Arithmetic on symbolic tensors in functional models (x + y, x * 2, x / 255, 1 - x ...), as in Keras."""

from __future__ import annotations

import numpy as np
import pytest

import nbtrain
from nbtrain.layers import Add, Dense, Input, Multiply, Rescaling, Subtract


def test_each_operator_computes_what_numpy_does(rng):
    a = Input(shape=(3,))
    b = Dense(3, name="b")(a)
    expressions = {
        "a + b": a + b, "a - b": a - b, "a * b": a * b, "a * 2": a * 2, "2 * a": 2 * a, "a / 4": a / 4,
        "a + 1": a + 1, "1 + a": 1 + a, "a - 1": a - 1, "1 - a": 1 - a, "-a": -a, "0.5 * (a + b)": 0.5 * (a + b),
    }
    model = nbtrain.Model(a, list(expressions.values()))
    x = rng.standard_normal((4, 3)).astype(np.float32)
    bx = model.get_layer("b")(x)
    expected = {
        "a + b": x + bx, "a - b": x - bx, "a * b": x * bx, "a * 2": x * 2, "2 * a": 2 * x, "a / 4": x / 4,
        "a + 1": x + 1, "1 + a": 1 + x, "a - 1": x - 1, "1 - a": 1 - x, "-a": -x, "0.5 * (a + b)": 0.5 * (x + bx),
    }
    for name, out in zip(expressions, model.predict(x, verbose=0)):
        np.testing.assert_allclose(out, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_operators_add_the_keras_layers():
    a, b = Input(shape=(2,)), Input(shape=(2,))
    assert isinstance((a + b).layer, Add) and isinstance((a - b).layer, Subtract)
    assert isinstance((a * b).layer, Multiply) and isinstance((a / 255).layer, Rescaling)
    assert (a / 255).layer.scale == pytest.approx(1 / 255)


def test_a_residual_block_written_with_plus_trains(rng):
    nbtrain.utils.set_random_seed(0)
    inputs = Input(shape=(4,))
    hidden = Dense(4, activation="tanh")(inputs)
    outputs = Dense(1)(inputs + hidden)
    model = nbtrain.Model(inputs, outputs)
    model.compile(optimizer=nbtrain.optimizers.Adam(0.05), loss="mse")
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    history = model.fit(x, y, epochs=30, verbose=0)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]


@pytest.mark.parametrize("make, error, message", [
    (lambda a: a + "1", TypeError, "another symbolic tensor, a number or a NumPy array"),
    (lambda a: a / 0, TypeError, "non-zero"),
    (lambda a: a + Input(shape=(3,)), ValueError, "same shape"),
])
def test_unsupported_arithmetic_gets_a_clear_error(make, error, message):
    with pytest.raises(error, match=message):
        make(Input(shape=(2,)))
