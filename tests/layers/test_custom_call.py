"""Layers written the Keras way (issue 15): ``build`` with ``add_weight(shape=...)``, ``call`` with
``nbtrain.ops``, gradients from the tape; in Sequential and functional models, saved and loaded."""

import numpy as np
import pytest
from gradcheck import check_layer

import nbtrain as keras
from nbtrain import layers, ops


class Linear(keras.layers.Layer):
    """The first layer of Keras's "Making new layers and models via subclassing" guide."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return super().get_config() | {"units": self.units}


class Antirectifier(keras.layers.Layer):
    """The antirectifier of the keras.io example: no weights, twice the features."""

    def call(self, inputs):
        inputs = inputs - ops.mean(inputs, axis=-1, keepdims=True)
        return ops.concatenate([ops.relu(inputs), ops.relu(-inputs)], axis=-1)


class ScaledTanh(keras.layers.Layer):
    """A weight made in __init__ (no build), a training flag, and a non-trivial op."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

    def call(self, inputs, training=None):
        return ops.tanh(inputs * self.scale) * (2.0 if training else 1.0)


@pytest.mark.parametrize("make, shape", [(lambda: Linear(3), (4, 5)), (Antirectifier, (3, 4)),
                                         (ScaledTanh, (2, 3))])
def test_gradients_of_layers_written_with_ops(make, shape, rng):
    check_layer(make(), rng.standard_normal(shape), rng, training=True)


def test_the_weights_are_the_layers_own_arrays():
    layer = Linear(2)
    layer(np.ones((1, 3), np.float32))
    assert [w.shape for w in layer.get_weights()] == [(3, 2), (2,)]
    assert layer.w.path == f"{layer.name}/variable_0" and layer.w.trainable
    layer.set_weights([np.ones((3, 2)), np.full(2, 0.5)])
    np.testing.assert_array_equal(layer(np.ones((1, 3), np.float32)), [[3.5, 3.5]])


def test_a_model_mixing_custom_and_built_in_layers_trains_and_matches_the_built_in_dense():
    rng = np.random.default_rng(0)
    x = rng.random((64, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 2).astype("float32")
    histories = []
    for first in (Linear(8), layers.Dense(8)):
        model = keras.Sequential([keras.Input((4,)), first, Antirectifier(), layers.Dense(1, activation="sigmoid")])
        model.layers[0].set_weights([np.full((4, 8), 0.1, np.float32) * np.arange(8), np.zeros(8, np.float32)])
        model.layers[2].set_weights([np.full((16, 1), 0.05, np.float32), np.zeros(1, np.float32)])
        model.compile("sgd", "binary_crossentropy")
        histories.append(model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history["loss"])
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-5)


def test_shapes_are_inferred_and_the_model_saves_with_custom_objects(tmp_path):
    inputs = keras.Input((4,))
    features = Antirectifier()(Linear(6)(inputs))
    assert features.shape == (None, 12)
    model = keras.Model(inputs, layers.Dense(1)(features))
    model.compile("adam", "mse")
    x = np.random.default_rng(1).random((5, 4)).astype("float32")
    model.save(tmp_path / "custom.keras")
    loaded = keras.models.load_model(tmp_path / "custom.keras",
                                     custom_objects={"Linear": Linear, "Antirectifier": Antirectifier})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_numpy_inside_call_gets_an_error_naming_the_op():
    class UsesNumPy(keras.layers.Layer):
        def call(self, inputs):
            return np.tanh(inputs)

    model = keras.Sequential([keras.Input((3,)), UsesNumPy(), layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match=r"numpy.*tanh.*ops\.tanh"):
        model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)


def test_add_weight_spellings():
    layer = Linear(2)
    layer.build((None, 3))
    positional = layer.add_weight((2, 2), "ones", name="extra")     # Keras order: shape, initializer
    assert positional.shape == (2, 2) and np.all(positional.value == 1)
    with pytest.raises(ValueError, match="already has a weight named 'extra'"):
        layer.add_weight(shape=(1,), name="extra")
    with pytest.raises(TypeError, match="needs a shape"):
        layer.add_weight(name="nothing")


def test_a_layer_called_inside_another_layers_call_is_refused_clearly():
    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = layers.Dense(2)

        def call(self, inputs):
            return ops.relu(self.inner(inputs))

    model = keras.Sequential([keras.Input((3,)), Block()])
    with pytest.raises(NotImplementedError, match="does not support layers inside layers yet"):
        model.predict(np.ones((1, 3)), verbose=0)
