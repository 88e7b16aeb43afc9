"""Lambda: a function written with nbtrain.ops as a layer (issue 15), differentiated by the tape."""

import numpy as np
import pytest
from gradcheck import check_layer

import nbtrain as keras
from nbtrain import layers, ops


def euclidean_distance(pair):
    """The distance layer of Keras's Siamese-network examples."""
    a, b = pair
    return ops.sqrt(ops.maximum(ops.sum(ops.square(a - b), axis=1, keepdims=True), 1e-7))


def siamese():
    left, right = keras.Input((3,)), keras.Input((3,))
    embed = layers.Dense(4, activation="tanh")
    distance = layers.Lambda(euclidean_distance)([embed(left), embed(right)])
    return keras.Model([left, right], layers.Dense(1, activation="sigmoid")(distance))


def test_a_siamese_distance_trains_and_loads_with_its_function(tmp_path):
    model = siamese()
    assert model.output_shape == (None, 1)
    rng = np.random.default_rng(0)
    x1, x2 = rng.random((32, 3)), rng.random((32, 3))
    y = (np.abs(x1 - x2).sum(axis=1) < 1).astype("float32")
    model.compile("adam", "binary_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    model.fit([x1, x2], y, epochs=2, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))   # gradients reach Dense
    model.save(tmp_path / "siamese.keras")
    loaded = keras.models.load_model(tmp_path / "siamese.keras", custom_objects={"euclidean_distance": euclidean_distance})
    np.testing.assert_allclose(loaded.predict([x1, x2], verbose=0), model.predict([x1, x2], verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match=r"wraps the function 'euclidean_distance'.*custom_objects="):
        keras.models.load_model(tmp_path / "siamese.keras")


@pytest.mark.parametrize("function", [lambda x: ops.square(x) * 0.5, lambda x: ops.softmax(x * 2.0)])
def test_lambda_gradients(function, rng):
    check_layer(layers.Lambda(function), rng.standard_normal((3, 4)), rng)


def test_output_shape_given_inferred_or_computed():
    inputs = keras.Input((4, 2))
    assert layers.Lambda(lambda x: ops.reshape(x, (-1, 8)))(inputs).shape == (None, 8)
    assert layers.Lambda(lambda x: ops.reshape(x, (-1, 8)), output_shape=(8,))(inputs).shape == (None, 8)
    assert layers.Lambda(lambda x: x[:, 0], output_shape=lambda s: (s[0], s[2]))(inputs).shape == (None, 2)


def test_lambda_takes_arguments_and_refuses_a_non_function():
    scale = layers.Lambda(lambda x, factor: x * factor, arguments={"factor": 3.0})
    np.testing.assert_array_equal(scale(np.ones((1, 2), "float32")), [[3.0, 3.0]])
    with pytest.raises(TypeError, match="wraps a function"):
        layers.Lambda(3)
