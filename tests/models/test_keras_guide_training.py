"""The custom losses, metrics and ``add_loss`` layers of Keras's guide "Training & evaluation with the built-in
methods", written here by us in its style with only the imports changed (``import nbtrain as keras``), each
checked against a computation by hand or the equivalent built-in."""

from __future__ import annotations

import numpy as np
import pytest

import nbtrain as keras
from nbtrain import layers, ops


@pytest.fixture
def digits():
    rng = np.random.default_rng(0)
    return rng.random((256, 784), dtype=np.float32), rng.integers(0, 10, 256)


def get_uncompiled_model(seed=1):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def custom_mean_squared_error(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


class CustomMSE(keras.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor


class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            values = ops.multiply(values, sample_weight)
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives.value

    def reset_state(self):
        self.true_positives.assign(0.0)


class ActivityRegularizationLayer(layers.Layer):
    def call(self, inputs):
        self.add_loss(ops.sum(inputs) * 0.1)
        return inputs  # Pass-through layer.


class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits, sample_weights=None):
        loss = self.loss_fn(targets, logits, sample_weights)
        self.add_loss(loss)
        return ops.softmax(logits)


def test_a_loss_function_trains_as_the_built_in_mse(digits):
    x_train, y_train = digits
    y_train_one_hot = ops.one_hot(y_train, num_classes=10)
    histories = []
    for loss in (custom_mean_squared_error, "mean_squared_error"):
        model = get_uncompiled_model()
        model.compile(optimizer=keras.optimizers.Adam(), loss=loss)
        histories.append(model.fit(x_train, y_train_one_hot, batch_size=64, epochs=2, verbose=0).history["loss"])
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-5)


def test_a_loss_subclass_adds_its_regularization_term(digits):
    x_train, y_train = digits
    y_one_hot = np.asarray(ops.one_hot(y_train, num_classes=10))
    model = get_uncompiled_model()
    model.compile(optimizer=keras.optimizers.Adam(), loss=CustomMSE())
    model.fit(x_train, y_one_hot, batch_size=64, epochs=1, verbose=0)
    p = model.predict(x_train, verbose=0)
    expected = np.mean(np.mean((y_one_hot - p) ** 2, axis=-1) + 0.1 * np.mean((0.5 - p) ** 2, axis=-1))
    assert model.evaluate(x_train, y_one_hot, batch_size=256, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_a_metric_subclass_counts_as_the_guide_writes_it(digits):
    x_train, y_train = digits
    model = get_uncompiled_model()
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[CategoricalTruePositives()])
    history = model.fit(x_train, y_train, batch_size=64, epochs=3, verbose=0)
    assert len(history.history["categorical_true_positives"]) == 3
    # The guide's update_state compares labels of shape (batch,) with predictions reshaped to (batch, 1): they
    # broadcast to (batch, batch), as on Keras, whose guide prints counts far above the number of samples.
    predicted = model.predict(x_train, verbose=0).argmax(axis=1).reshape(-1, 1)
    expected = sum(float((y_train[i:i + 64] == predicted[i:i + 64]).sum()) for i in range(0, 256, 64))
    logs = model.evaluate(x_train, y_train, batch_size=64, verbose=0, return_dict=True)
    assert logs["categorical_true_positives"] == expected


def test_a_layer_adding_a_loss_in_call_joins_the_training_loss(digits):
    x_train, y_train = digits
    keras.utils.set_random_seed(2)
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = ActivityRegularizationLayer()(x)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    first = model.fit(x_train, y_train, batch_size=64, epochs=3, verbose=0).history["loss"]
    assert first[-1] < first[0]
    activations = keras.Model(inputs, model.get_layer("dense_1").output).predict(x_train, verbose=0)
    crossentropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        y_train, model.predict(x_train, verbose=0))
    expected = crossentropy + 0.1 * activations.sum()
    assert model.evaluate(x_train, y_train, batch_size=256, verbose=0) == pytest.approx(expected, rel=1e-4)


def test_an_endpoint_layer_takes_targets_as_an_input_and_fit_needs_no_y():
    keras.utils.set_random_seed(3)
    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam")  # No loss argument!
    rng = np.random.default_rng(4)
    data = {"inputs": rng.random((3, 3)), "targets": rng.random((3, 10))}
    history = model.fit(data, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    dense = model.layers[2] if isinstance(model.layers[2], keras.layers.Dense) else model.get_layer(index=2)
    z = data["inputs"].astype(np.float32) @ dense.get_weights()[0] + dense.get_weights()[1]
    t = data["targets"]
    bce = np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))
    assert model.evaluate(data, verbose=0) == pytest.approx(bce, rel=1e-5)
    softmax = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict(data, verbose=0), softmax / softmax.sum(axis=1, keepdims=True),
                               rtol=1e-5)


def test_an_endpoint_layer_with_metrics_but_no_targets_is_refused():
    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    predictions = LogisticEndpoint()(targets, keras.layers.Dense(10)(inputs))
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam", metrics=["accuracy"])
    with pytest.raises(ValueError, match="no targets y"):
        model.fit({"inputs": np.zeros((3, 3)), "targets": np.zeros((3, 10))}, verbose=0)


def test_a_call_taking_several_tensors_gets_them_in_order_and_refuses_a_gap():
    class Weighted(keras.layers.Layer):
        def call(self, values, weights=None, offset=None):
            return values * weights + (0.0 if offset is None else offset)

    layer = Weighted()
    np.testing.assert_allclose(layer(np.ones((2, 3)), np.full((2, 3), 2.0)), np.full((2, 3), 2.0))
    np.testing.assert_allclose(layer(np.ones((2, 3)), weights=np.full((2, 3), 2.0), offset=np.ones((2, 3))),
                               np.full((2, 3), 3.0))
    with pytest.raises(TypeError, match="weights was not given"):
        Weighted()(np.ones((2, 3)), offset=np.ones((2, 3)))
