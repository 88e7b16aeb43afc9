"""Regularizers and constraints on layers, through the training loop (Keras semantics)."""

import numpy as np
import pytest
from gradcheck import assert_gradients_close, numerical_gradient

import nbtrain as keras
from nbtrain import regularizers
from nbtrain.layers import Dense
from nbtrain.models import Sequential


def test_weight_penalties_are_part_of_loss_and_val_loss(rng):
    x, y = rng.random((16, 3), dtype=np.float32), rng.random((16, 1), dtype=np.float32)
    model = Sequential([Dense(1, input_shape=(3,), kernel_regularizer=regularizers.L2(0.1),
                              bias_regularizer="l1")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    kernel, bias = model.get_weights()
    mse = float(np.mean((x @ kernel + bias - y) ** 2))
    penalty = 0.1 * float(np.sum(kernel ** 2)) + 0.01 * float(np.sum(np.abs(bias)))
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), mse + penalty, rtol=1e-5)
    np.testing.assert_allclose(sum(model.losses), penalty, rtol=1e-6)
    history = model.fit(x, y, epochs=1, batch_size=16, validation_data=(x, y), verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][0], mse + penalty, rtol=1e-5)


def test_penalty_gradient_is_added_to_the_weight_gradient(rng):
    x, y = rng.random((8, 3), dtype=np.float32), rng.random((8, 2), dtype=np.float32)

    def gradients(regularizer):
        keras.utils.set_random_seed(0)
        model = Sequential([Dense(2, input_shape=(3,), kernel_regularizer=regularizer)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
        model.train_on_batch(x, y)
        return model.layers[0].grads["kernel"].copy(), model.layers[0].params["kernel"]

    plain, kernel = gradients(None)
    penalized, _ = gradients(regularizers.L1L2(l1=0.01, l2=0.1))
    np.testing.assert_allclose(penalized - plain, 0.01 * np.sign(kernel) + 0.2 * kernel, rtol=1e-5, atol=1e-7)


def test_activity_regularizer_gradient_flows_through_the_model(rng):
    model = Sequential([Dense(4, activation="tanh", input_shape=(3,), activity_regularizer=regularizers.L2(0.3)),
                        Dense(2)])
    for layer in model.layers:
        layer.cast_weights(np.float64)
    model._on_trainable_changed()
    x = rng.standard_normal((5, 3))
    upstream = rng.standard_normal((5, 2))

    def total():
        out = model._forward([x])[0]
        return float(np.sum(out * upstream)) + model._regularization_penalty()

    total()
    model._backward([(upstream, False)])
    for layer in model.layers:
        for name, weight in layer.params.items():
            assert_gradients_close(layer.grads[name].copy(), numerical_gradient(total, weight), f"{layer.name}/{name}")


def test_constraints_hold_after_every_update(rng):
    x, y = rng.standard_normal((32, 4)).astype(np.float32), rng.standard_normal((32, 3)).astype(np.float32)
    model = Sequential([Dense(3, input_shape=(4,), kernel_constraint="non_neg",
                              bias_constraint=keras.constraints.MaxNorm(0.5))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="mse")
    model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    kernel, bias = model.get_weights()
    assert kernel.min() >= 0 and np.linalg.norm(bias) <= 0.5 + 1e-6


def test_regularizers_survive_get_config():
    layer = Dense(2, kernel_regularizer=regularizers.L2(0.05), kernel_constraint="unit_norm",
                  activity_regularizer="l1")
    clone = Dense.from_config(layer.get_config())
    clone.build((None, 3))
    assert isinstance(clone.kernel_regularizer, regularizers.L2) and clone.kernel_regularizer.l2 == 0.05
    assert type(clone.kernel_constraint).__name__ == "UnitNorm"
    assert isinstance(clone.activity_regularizer, regularizers.L1)


def test_an_activity_penalty_is_divided_by_the_batch_size_as_in_keras_3():
    # Keras 3.15 (JAX) printed 4.482 for this model and data with batch_size 4 and with batch_size 2:
    # mse 3.735 + 0.1 * sum(output ** 2) / batch.
    from nbtrain.layers import Input
    x = np.arange(12, dtype="float32").reshape(4, 3) / 10
    y = np.zeros((4, 2), "float32")
    model = Sequential([Input((3,)), Dense(2, kernel_initializer="ones", activity_regularizer=regularizers.L2(0.1))])
    model.compile("sgd", "mse")
    assert model.evaluate(x, y, batch_size=4, verbose=0) == pytest.approx(4.482, abs=1e-5)
    assert model.evaluate(x, y, batch_size=2, verbose=0) == pytest.approx(4.482, abs=1e-5)


def test_a_direct_call_puts_its_activity_penalty_in_layer_losses():
    layer = Dense(2, kernel_initializer="ones", activity_regularizer=regularizers.L2(0.1))
    assert layer.losses == []
    layer(np.arange(12, dtype="float32").reshape(4, 3) / 10)
    assert layer.losses == pytest.approx([0.747], abs=1e-6)      # Keras 3.15: [0.7470000386238098]
