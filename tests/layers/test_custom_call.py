"""Layers written the Keras way (issue 15): ``build`` with ``add_weight(shape=...)``, ``call`` with
``nbtrain.ops``, gradients from the tape; in Sequential and functional models, saved and loaded."""

import numpy as np
import pytest
from gradcheck import assert_gradients_close, check_layer, check_model_gradients, numerical_gradient

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


# ----- layers inside layers ----------------------------------------------------------------------------------


class Block(keras.layers.Layer):
    """Built-in layers (Dense with a regularizer, Dropout, BatchNormalization) and a layer of your own inside
    one: their weights are the block's, their gradients come through its call()."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units, activation="tanh", kernel_regularizer="l2", activity_regularizer="l1")
        self.norm = layers.BatchNormalization()
        self.drop = layers.Dropout(0.5)
        self.linears = [Linear(units), Linear(3)]

    def call(self, inputs, training=None):
        x = self.drop(self.norm(self.dense(inputs)))
        for linear in self.linears:
            x = ops.relu(linear(x))
        return x + inputs

    def get_config(self):
        return super().get_config() | {"units": self.units}


def test_a_layer_calling_layers_lists_their_weights_as_its_own():
    block = Block()
    block(np.ones((2, 3), np.float32))
    assert list(block._weights) == [
        "dense/kernel", "dense/bias", "norm/gamma", "norm/beta", "norm/moving_mean", "norm/moving_variance",
        "linears.0/variable_0", "linears.0/variable_1", "linears.1/variable_0", "linears.1/variable_1"]
    assert len(block.trainable_weights) == 8 and len(block.non_trainable_weights) == 2
    assert block.weights[0].value is block.dense._weights["kernel"]     # the same arrays: updates reach it
    assert len(block.losses) == 2       # the Dense kernel's L2 and activity L1 penalties, as Keras lists them
    block.trainable = False
    assert block.params == {} and not block.dense.trainable


def test_freezing_a_layer_inside_a_layer_stops_its_training():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 3)).astype("float32"), rng.standard_normal((32, 3)).astype("float32")
    block = Block()
    model = keras.Sequential([keras.Input((3,)), block])
    model.compile("adam", "mse")
    block.dense.trainable = False
    assert "dense/kernel" not in block.params and "linears.0/variable_0" in block.params
    frozen, trained = block.dense.get_weights()[0], block.linears[0].get_weights()[0]
    with pytest.warns(UserWarning, match="trainable"):      # changed after compile(), as for any layer
        model.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(block.dense.get_weights()[0], frozen)
    assert not np.array_equal(block.linears[0].get_weights()[0], trained)


def test_gradients_through_layers_inside_layers(rng):
    check_layer(Block(), rng.standard_normal((6, 3)), rng, training=False)


def test_gradients_through_nested_blocks_in_a_model(rng):
    class Stack(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.blocks = {"first": Block(), "second": Block()}

        def call(self, inputs):
            return self.blocks["second"](self.blocks["first"](inputs))

    model = keras.Sequential([keras.Input((3,)), layers.Dense(3), Stack(), layers.Dense(2)])
    check_model_gradients(model, [rng.standard_normal((5, 3))], rng)
    assert len(model.layers[1].trainable_weights) == 16


def test_the_training_mode_reaches_layers_inside_a_call():
    block = Block()
    x = np.ones((64, 3), np.float32)
    np.testing.assert_array_equal(block(x), block(x))   # a direct call: inference, no dropout
    outputs, _ = block._apply(x, True, False)      # as a model runs it when training
    assert not np.allclose(outputs, block(x))   # training: dropout and batch statistics


def test_a_block_of_layers_trains_saves_and_loads_with_custom_objects(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 3)).astype("float32")
    y = x @ rng.standard_normal((3, 1)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), Block(8), layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=30, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.5 * before
    model.save(tmp_path / "block.keras")
    loaded = keras.models.load_model(tmp_path / "block.keras", custom_objects={"Block": Block, "Linear": Linear})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


# ----- add_loss ------------------------------------------------------------------------------------------------


class ActivityRegularizationLayer(keras.layers.Layer):
    def __init__(self, rate=1e-2, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.sum(inputs))
        return inputs


def test_an_added_loss_counts_in_the_loss_as_in_keras():
    inputs = keras.Input((3,))
    outputs = ActivityRegularizationLayer()(layers.Dense(2, kernel_initializer="ones")(inputs))
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "mse")
    # Keras 3.15.1 (jax) gives 9.24: the mean squared error 9 plus 0.01 * the sum of the batch's outputs, 24.
    loss = model.evaluate(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32), batch_size=4, verbose=0)
    assert loss == pytest.approx(9.24, rel=1e-6)


def test_the_gradient_of_an_added_loss(rng):
    class Penalized(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2))

        def call(self, inputs):
            outputs = ops.tanh(ops.matmul(inputs, self.w))
            self.add_loss(ops.mean(ops.square(outputs)))
            self.add_loss([0.5 * ops.sum(self.w), 1.0])   # a list; a constant has no gradient
            return outputs

    model = keras.Sequential([keras.Input((3,)), layers.Dense(3), Penalized(), layers.Dense(2)])
    for layer in model.layers:
        layer.cast_weights(np.float64)
    xs = [rng.standard_normal((5, 3))]
    upstream = rng.standard_normal((5, 2))

    def scalar():
        return float(np.sum(model._forward(xs)[0] * upstream)) + model._added_loss

    scalar()
    model._backward([(upstream, False)])
    for layer in model.layers:
        for name, weight in layer.params.items():
            assert_gradients_close(layer.grads[name].copy(), numerical_gradient(scalar, weight),
                                   f"{layer.name}/{name}")


def test_layer_losses_hold_what_the_last_direct_call_added():
    layer = ActivityRegularizationLayer(0.5)
    assert layer.losses == []
    layer(np.ones((2, 2), np.float32))
    layer(np.ones((1, 2), np.float32))
    assert layer.losses == [pytest.approx(1.0)]
    with pytest.raises(RuntimeError, match="inside call"):
        layer.add_loss(1.0)


def test_a_model_compiled_without_a_loss_minimizes_what_its_layers_add():
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4), ActivityRegularizationLayer(), layers.Dense(2)])
    model.layers[0].set_weights([np.full((3, 4), 0.1, np.float32), np.ones(4, np.float32)])
    model.compile(optimizer="sgd")
    history = model.fit(rng.random((16, 3)), rng.random((16, 2)), epochs=3, verbose=0).history["loss"]
    assert history[-1] < history[0]
    assert model.layers[2].grads["kernel"].any() == False  # noqa: E712 -- no loss reaches the last layer


def test_model_add_loss_is_refused_as_in_keras_3():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(1)(inputs))
    with pytest.raises(NotImplementedError, match="add_loss"):
        model.add_loss(1.0)
