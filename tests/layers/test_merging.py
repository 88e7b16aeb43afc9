"""Dot and the functional merge shorthands: Keras shapes and values, cosine mode, gradients, errors, a model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gradcheck import assert_gradients_close, numerical_gradient

import nbtrain
from nbtrain.layers import (Average, Dot, Embedding, Flatten, Input, Maximum, Minimum, Multiply,
                            Subtract, average, dot, maximum, minimum, multiply, subtract)


@pytest.mark.parametrize("axes, first, second, expected", [
    (1, (None, 4), (None, 4), (None, 1)),                       # two vectors per sample
    (-1, (None, 4), (None, 4), (None, 1)),
    ((1, 2), (None, 3, 5), (None, 10, 3), (None, 5, 10)),       # the Keras docstring's shapes
    ((1, 2), (None, 20), (None, 30, 20), (None, 30)),           # Keras's batch_dot example
    (-1, (None, 3, 4), (None, 5, 4), (None, 3, 5)),
    ((2, 1), (None, 3, 4), (None, 4, 6), (None, 3, 6)),         # a batched matrix product
    ((-1, 1), (None, 2, 3, 6), (None, 6, 7), (None, 2, 3, 7)),
    (1, (None, 4), (None, 4, 5), (None, 5)),
])
def test_output_shape_matches_keras_and_forward(axes, first, second, expected, rng):
    layer = Dot(axes=axes)
    assert layer.compute_output_shape([first, second]) == expected
    a = rng.standard_normal((2,) + first[1:]).astype(np.float32)
    b = rng.standard_normal((2,) + second[1:]).astype(np.float32)
    out = layer([a, b])
    assert out.shape == (2,) + expected[1:] and out.dtype == np.float32
    assert Dot(axes=axes)([Input(shape=first[1:]), Input(shape=second[1:])]).shape == expected


def test_values_match_the_keras_docstring_example():
    x = np.arange(10, dtype=np.float32).reshape(1, 5, 2)
    y = np.arange(10, 20, dtype=np.float32).reshape(1, 2, 5)
    np.testing.assert_array_equal(Dot(axes=(1, 2))([x, y]), [[[260, 360], [320, 445]]])


@pytest.mark.parametrize("axes, first, second, subscripts", [
    (1, (3, 4), (3, 4), "nk,nk->n"),
    ((1, 2), (3, 4, 5), (3, 6, 4), "nkb,nck->nbc"),
    ((2, 1), (3, 2, 4), (3, 4, 5), "nak,nkc->nac"),
    ((-1, 2), (3, 2, 3, 4), (3, 5, 4, 2), "nabk,nckd->nabcd"),
])
def test_values_are_a_per_sample_contraction(axes, first, second, subscripts, rng):
    a, b = rng.standard_normal(first), rng.standard_normal(second)
    expected = np.einsum(subscripts, a, b)
    out = Dot(axes=axes)([a, b])
    np.testing.assert_allclose(out.reshape(expected.shape), expected, rtol=1e-12)


def test_normalize_gives_the_cosine_similarity_and_zero_for_a_zero_vector():
    a = np.array([[1.0, 0.0], [3.0, 4.0], [0.0, 0.0]], np.float32)
    b = np.array([[1.0, 1.0], [-3.0, -4.0], [1.0, 2.0]], np.float32)
    np.testing.assert_allclose(Dot(axes=1, normalize=True)([a, b]), [[np.sqrt(0.5)], [-1.0], [0.0]], rtol=1e-6)
    layer = Dot(axes=1, normalize=True)
    layer([a, b])
    grads = layer.backward(np.ones((3, 1), np.float32))
    assert all(np.isfinite(g).all() for g in grads)


def check_two_input_gradients(layer, a, b, rng):
    """Central differences for both inputs of a two-input layer, float64, random upstream gradient."""
    upstream = rng.standard_normal(layer([a, b]).shape)

    def scalar():
        return float(np.sum(layer.forward([a, b]) * upstream))

    layer.forward([a, b])
    grad_a, grad_b = layer.backward(upstream)
    assert_gradients_close(grad_a, numerical_gradient(scalar, a), f"{layer.name} first input")
    assert_gradients_close(grad_b, numerical_gradient(scalar, b), f"{layer.name} second input")


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("axes, first, second", [
    (1, (3, 4), (3, 4)),
    ((1, 2), (2, 3, 4), (2, 5, 3)),
    ((2, 1), (2, 3, 4), (2, 4, 2)),
    ((-1, 1), (2, 2, 3, 4), (2, 4, 3)),
    (1, (2, 4), (2, 4, 3)),
])
def test_gradients(axes, first, second, normalize, rng):
    check_two_input_gradients(Dot(axes=axes, normalize=normalize), rng.standard_normal(first),
                              rng.standard_normal(second), rng)


@pytest.mark.parametrize("make, inputs, message", [
    (lambda: Dot(axes="1"), None, "axes to be an int or a pair of ints"),
    (lambda: Dot(axes=(1, 2, 3)), None, "axes to be an int or a pair of ints"),
    (lambda: Dot(axes=0), [(None, 3), (None, 3)], "axis 0 is the batch axis"),
    (lambda: Dot(axes=3), [(None, 3), (None, 3)], "must be one of 1..1"),
    (lambda: Dot(axes=1), [(None, 3), (None, 4)], "must have the same size"),
    (lambda: Dot(axes=1), [(None, 3)], "exactly two tensors"),
    (lambda: Dot(axes=1), [(None, 3), (None, 3), (None, 3)], "exactly two tensors"),
])
def test_errors_say_what_was_expected(make, inputs, message):
    with pytest.raises(ValueError, match=message):
        layer = make()
        layer.build(inputs)


def test_data_that_do_not_fit_the_built_layer_get_a_clear_error():
    layer = Dot(axes=1)
    layer.build([(None, 3), (None, None)])
    with pytest.raises(ValueError, match="same size"):
        layer([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="same number of samples"):
        layer([np.zeros((2, 3)), np.zeros((5, 3))])


def test_a_matrix_factorization_model_learns_with_dot(rng):
    """The collaborative-filtering pattern: user and item embeddings, their dot product as the rating."""
    nbtrain.utils.set_random_seed(0)
    users, items = rng.integers(0, 20, 400), rng.integers(0, 30, 400)
    true_u, true_i = rng.standard_normal((20, 3)), rng.standard_normal((30, 3))
    ratings = np.sum(true_u[users] * true_i[items], axis=1).astype(np.float32)
    u_in, i_in = Input(shape=(1,)), Input(shape=(1,))
    u_vec = Flatten()(Embedding(20, 3)(u_in))
    i_vec = Flatten()(Embedding(30, 3)(i_in))
    model = nbtrain.Model([u_in, i_in], dot([u_vec, i_vec], axes=1))
    model.compile(optimizer=nbtrain.optimizers.Adam(0.05), loss="mse")
    history = model.fit([users[:, None], items[:, None]], ratings, epochs=40, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]


@pytest.mark.parametrize("function, layer_class", [
    (subtract, Subtract), (multiply, Multiply), (average, Average), (maximum, Maximum), (minimum, Minimum),
])
def test_functional_shorthands_build_the_layer(function, layer_class, rng):
    a, b = Input(shape=(3,)), Input(shape=(3,))
    model = nbtrain.Model([a, b], function([a, b], name="merged"))
    assert type(model.get_layer("merged")) is layer_class
    xs = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(2)]
    np.testing.assert_allclose(model.predict(xs, verbose=0), layer_class()(xs), rtol=1e-6)


def test_dot_matches_keras():
    """Outputs of keras.layers.Dot (Keras 3.15.1), stored by tests/fixtures/make_keras_layer_reference.py."""
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    cases = json.loads((fixtures / "keras_layer_reference.json").read_text())["dot"]
    with np.load(fixtures / "keras_layer_reference.npz") as data:
        for i, case in enumerate(cases):
            axes = case["axes"] if isinstance(case["axes"], int) else tuple(case["axes"])
            out = Dot(axes=axes, normalize=case["normalize"])([data[f"dot/{i}/x0"], data[f"dot/{i}/x1"]])
            np.testing.assert_allclose(out, data[f"dot/{i}/y"], rtol=1e-5, atol=1e-6, err_msg=str(case))
