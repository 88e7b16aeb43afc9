"""Python operators on symbolic tensors beyond + - * (issue 16): comparisons, a / b, x ** 2, x[:, 0], ~mask ...
each a TensorOperator computing the nbtrain.ops function, as Keras's functional API allows."""

import numpy as np
import pytest
from gradcheck import check_model_gradients

import nbtrain
from nbtrain.layers import Add, Dense, Input, Rescaling, TensorOperator


def expressions(a, b):
    """Each operator, written on tensors (symbolic or NumPy: the same code gives the expected values)."""
    return {
        "a > 0.5": a > 0.5, "a >= b": a >= b, "a < 0": a < 0, "a <= 0.6": a <= 0.6, "a != b": a != b,
        "(a > 0.5) * a": (a > 0.5) * a, "~(a > 0)": ~(a > 0), "(a > 0) & (b > 0)": (a > 0) & (b > 0),
        "(a > 0) | (b > 0)": (a > 0) | (b > 0), "(a > 0) ^ (b > 0)": (a > 0) ^ (b > 0),
        "a / b": a / b, "1 / b": 1 / b, "a // 2": a // 2, "7 // b": 7 // b, "a % 2": a % 2, "a ** 2": a ** 2,
        "2 ** a": 2 ** a, "(abs(a) + 1) ** b": (abs(a) + 1) ** b, "abs(a)": abs(a), "round(a)": np.round(a) if isinstance(a, np.ndarray) else round(a), "a[:, :2]": a[:, :2],
        "a[..., 0]": a[..., 0], "a[:, None, 1:]": a[:, None, 1:], "a @ W": a @ np.arange(6.0).reshape(3, 2),
        "a + column": a + b[:, :1], "a * [1, 2, 3]": a * np.array([1.0, 2.0, 3.0]),
    }


def test_each_operator_computes_what_numpy_does():
    a, b = Input(shape=(3,)), Input(shape=(3,))
    symbolic = expressions(a, b)
    model = nbtrain.Model([a, b], list(symbolic.values()))
    x = np.array([[-1.5, 0.6, 2.0], [0.2, -0.3, 1.0]], np.float32)
    y = np.array([[1.0, 0.5, 4.0], [-2.0, 1.5, 0.5]], np.float32)
    expected = expressions(x, y)
    for name, tensor, output in zip(symbolic, symbolic.values(), model.predict([x, y], verbose=0)):
        np.testing.assert_allclose(output, expected[name], rtol=1e-6, err_msg=name)
        assert output.dtype == np.asarray(expected[name]).dtype or output.dtype == np.float32, name
        assert tensor.dtype == ("bool" if expected[name].dtype == bool else "float32"), name
        assert tensor.shape == (None,) + expected[name].shape[1:], name


def test_equality_is_identity_as_in_keras():
    a, b = Input(shape=(3,)), Input(shape=(3,))
    assert (a == a) is True and (a == b) is False and (a == 1) is False
    assert len({a: 1, b: 2}) == 2


def test_the_simple_cases_keep_their_keras_layers():
    a, b = Input(shape=(3,)), Input(shape=(3,))
    assert isinstance((a + b).layer, Add) and isinstance((a / 4).layer, Rescaling)
    assert isinstance((a / b).layer, TensorOperator) and (a > 0).layer.name.startswith("greater")


def test_gradients_flow_through_the_operators(rng):
    a, b = Input(shape=(3,)), Input(shape=(3,))
    h = Dense(3)(a)
    mixed = (h ** 2 / (abs(b) + 1)) * (b > 0) + h[:, 1:2] @ np.ones((1, 3)) - 1 / (h * h + 1) + (2.0 ** h) % 3
    model = nbtrain.Model([a, b], Dense(2)(mixed))
    check_model_gradients(model, [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))], rng)


def test_a_model_with_operators_trains_saves_and_loads(rng, tmp_path):
    inputs = Input(shape=(4,))
    gate = inputs > 0.0
    hidden = Dense(4, activation="tanh")(inputs)
    outputs = Dense(1)(hidden + gate * inputs / 2 + inputs[:, None, 0, ...][:, 0:1])
    model = nbtrain.Model(inputs, outputs)
    model.compile(nbtrain.optimizers.Adam(0.02), "mse")
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = np.maximum(x, 0).sum(axis=1, keepdims=True)
    history = model.fit(x, y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    model.save(tmp_path / "operators.keras")
    loaded = nbtrain.models.load_model(tmp_path / "operators.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make, message", [
    (lambda a: a[0], "batch axis"),
    (lambda a: a[:, [0, 1]], "integers, slices, None and ..."),
    (lambda a: a & a, r"logical: it takes boolean tensors"),
    (lambda a: a > "x", "a number or a NumPy array"),
    (lambda a: round(a, 2), "no number of digits"),
])
def test_unsupported_operands_get_a_clear_error(make, message):
    with pytest.raises(TypeError, match=message):
        make(Input(shape=(3,)))
