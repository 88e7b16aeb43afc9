"""fit/evaluate/predict end to end: learning, Keras's seed snippets, log keys and aggregation."""

import warnings

import numpy as np
import pytest

import nbtrain as keras
from nbtrain.callbacks import Callback, EarlyStopping
from nbtrain.datasets import make_moons, make_regression_curve
from nbtrain.layers import Dense, Dropout, Input
from nbtrain.models import Sequential
from nbtrain.optimizers import RMSprop


def mlp(n_in, n_out, activation, hidden=16):
    return Sequential([Dense(hidden, activation="tanh", input_shape=(n_in,)), Dense(n_out, activation=activation)])


def test_seed_mnist_mlp_example_runs_unchanged(rng):
    x_train = rng.random((256, 784), dtype=np.float32)
    y_train = rng.integers(0, 10, 256)
    x_test, y_test = x_train[:64], keras.utils.to_categorical(y_train[:64], 10)
    y_train = keras.utils.to_categorical(y_train, 10)
    model = Sequential()
    model.add(Dense(512, activation='relu', input_shape=(784,)))
    model.add(Dropout(0.2))
    model.add(Dense(512, activation='relu'))
    model.add(Dropout(0.2))
    model.add(Dense(10, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer=RMSprop(), metrics=['accuracy'])
    history = model.fit(x_train, y_train, batch_size=128, epochs=2, verbose=0, validation_data=(x_test, y_test))
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 2 and all(isinstance(f, float) for f in v) for v in history.history.values())
    assert model.history is history and history.epoch == [0, 1]
    assert history.params["steps"] == 2 and history.params["epochs"] == 2


def test_moons_binary_classification_reaches_95_percent():
    x, y = make_moons(400, noise=0.1, seed=0)
    model = Sequential([Input(shape=(2,)), Dense(16, activation="relu"), Dense(16, activation="relu"),
                        Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=150, batch_size=32, verbose=0)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy >= 0.95, accuracy


def test_xor_with_integer_labels_and_sparse_crossentropy():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 25, np.float32)
    y = np.array([0, 1, 1, 0] * 25)
    model = Sequential([Dense(8, activation="tanh", input_shape=(2,)), Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=60, batch_size=20, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] == 1.0


def test_linear_regression_reaches_near_zero_loss():
    x, y = make_regression_curve(200, noise=0.0, kind="linear", seed=0)
    model = Sequential([Dense(1, input_shape=(1,))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=60, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 1e-4
    kernel, bias = model.get_weights()
    np.testing.assert_allclose([kernel.item(), bias.item()], [2.0, 1.0], atol=1e-2)
    assert isinstance(model.evaluate(x, y, verbose=0), list)


def test_one_hot_multiclass_with_validation_split():
    x, y = make_moons(300, seed=1)
    model = mlp(2, 2, "softmax")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["acc"])
    history = model.fit(x, keras.utils.to_categorical(y), epochs=3, validation_split=0.2, verbose=0)
    assert sorted(history.history) == ["acc", "loss", "val_acc", "val_loss"]


def test_epoch_loss_is_batch_size_weighted_mean_of_batch_losses():
    x = np.arange(10, dtype=np.float32).reshape(10, 1) / 10
    y = np.ones((10, 1), np.float32)
    seen = []

    class Recorder(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs["loss"])

    model = Sequential([Dense(1, input_shape=(1,), kernel_initializer="ones")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    history = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[Recorder()])
    batch_losses = [float(np.mean((x[i:i + 4] - 1) ** 2)) for i in (0, 4, 8)]
    expected = (4 * batch_losses[0] + 4 * batch_losses[1] + 2 * batch_losses[2]) / 10
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-6)
    np.testing.assert_allclose(seen[0], batch_losses[0], rtol=1e-6)  # running average after one batch


def test_validation_split_takes_the_last_samples_before_shuffling():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    seen = set()

    class Spy(Dense):
        def forward(self, inputs, training=False):
            if training:
                seen.update(inputs[:, 0].tolist())
            return super().forward(inputs, training)

    model = Sequential([Spy(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x, validation_split=0.3, epochs=3, batch_size=2, verbose=0)
    assert seen == set(range(7))


def test_validation_freq_and_initial_epoch():
    x, y = make_moons(40, seed=0)
    model = mlp(2, 1, "sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(x, y, epochs=3, validation_data=(x, y), validation_freq=2, verbose=0)
    assert len(history.history["loss"]) == 3 and len(history.history["val_loss"]) == 1
    history = model.fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    assert history.epoch == [2, 3]
    assert model.fit(x, y, epochs=0, verbose=0).history == {}


def test_class_weight_scales_the_loss_and_sample_weight_multiplies():
    x = np.zeros((4, 1), np.float32)
    y = np.array([0, 0, 1, 1])
    model = Sequential([Dense(2, activation="softmax", input_shape=(1,), kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    base = model.fit(x, y, epochs=1, verbose=0, shuffle=False).history["loss"][0]
    np.testing.assert_allclose(base, np.log(2), rtol=1e-6)
    weighted = model.fit(x, y, epochs=1, verbose=0, class_weight={0: 1.0, 1: 3.0}).history["loss"][0]
    np.testing.assert_allclose(weighted, np.log(2) * (1 + 1 + 3 + 3) / 4, rtol=1e-6)
    both = model.fit(x, y, epochs=1, verbose=0, class_weight={1: 3.0},
                     sample_weight=np.array([2, 1, 1, 1])).history["loss"][0]
    np.testing.assert_allclose(both, np.log(2) * (2 + 1 + 3 + 3) / 4, rtol=1e-6)


def test_sample_weight_zero_removes_samples_from_the_gradient():
    x = np.array([[1.0], [1.0]], np.float32)
    y = np.array([[1.0], [100.0]], np.float32)
    model = Sequential([Dense(1, input_shape=(1,), use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    model.fit(x, y, sample_weight=np.array([1.0, 0.0]), epochs=200, batch_size=2, verbose=0)
    np.testing.assert_allclose(model.get_weights()[0], [[1.0]], atol=1e-4)


def test_early_stopping_stops_and_restores_best_weights():
    x, y = make_moons(100, seed=0)
    model = mlp(2, 1, "sigmoid")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="binary_crossentropy")
    stop = EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=50, verbose=0, shuffle=False, callbacks=[stop])
    assert len(history.epoch) == 3 and stop.stopped_epoch == 2
    assert model.stop_reason == "stopped" and history.stop_reason == "stopped"


def test_predict_shapes_and_batches(rng):
    model = mlp(3, 4, "softmax")
    x = rng.random((70, 3)).astype(np.float32)
    out = model.predict(x, batch_size=16, verbose=0)
    assert out.shape == (70, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(out, model.predict_on_batch(x), rtol=1e-6)
    np.testing.assert_allclose(out, model(x), rtol=1e-6)
    assert model.predict(x, batch_size=16, steps=2, verbose=0).shape == (32, 4)


def test_predict_works_before_compile_and_evaluate_does_not(rng):
    model = mlp(3, 1, None)
    model.predict(rng.random((5, 3)), verbose=0)
    with pytest.raises(ValueError, match=r"must be compiled before evaluate\(\).*model.compile"):
        model.evaluate(rng.random((5, 3)), rng.random((5, 1)))


def test_on_batch_methods(rng):
    x, y = rng.random((8, 3)).astype(np.float32), rng.random((8, 1)).astype(np.float32)
    model = mlp(3, 1, None)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    before = model.test_on_batch(x, y)
    model.train_on_batch(x, y)
    after = model.test_on_batch(x, y, return_dict=True)
    assert after["loss"] < before[0] and set(after) == {"loss", "mae"}


def test_model_builds_lazily_from_first_data(rng):
    model = Sequential([Dense(4, activation="relu"), Dense(1)])
    assert not model.built
    model.compile(optimizer="adam", loss="mse")
    model.fit(rng.random((10, 6)), rng.random((10, 1)), verbose=0)
    assert model.built and model.input_shape == (None, 6) and model.layers[0].params["kernel"].shape == (6, 4)


def test_get_and_set_weights_in_keras_order(rng):
    model = mlp(3, 2, "softmax", hidden=5)
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 5), (5,), (5, 2), (2,)]
    fresh = mlp(3, 2, "softmax", hidden=5)
    fresh.set_weights(model.get_weights())
    x = rng.random((4, 3))
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="has 4 weight arrays but set_weights"):
        fresh.set_weights(model.get_weights()[:3])


def test_frozen_layer_does_not_change_and_changing_trainable_warns(rng):
    x, y = rng.random((16, 3)), rng.random((16, 1))
    model = mlp(3, 1, None)
    model.compile(optimizer="adam", loss="mse")
    model.layers[0].trainable = False
    frozen = model.layers[0].get_weights()
    with pytest.warns(UserWarning, match="trainable"):
        model.fit(x, y, epochs=2, verbose=0)
    for before, after in zip(frozen, model.layers[0].get_weights()):
        np.testing.assert_array_equal(before, after)


def test_fit_is_repeatable_with_a_seed():
    x, y = make_moons(64, seed=0)

    def run():
        keras.utils.set_random_seed(5)
        model = Sequential([Dense(8, activation="relu", input_shape=(2,)), Dropout(0.3), Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model.fit(x, y, epochs=3, batch_size=8, verbose=0).history["loss"]

    assert run() == run()


def test_fused_softmax_crossentropy_matches_unfused_gradients(rng):
    """The fused path (p - y on the logits) must give the same weights as going through softmax's Jacobian."""
    x = rng.random((16, 4)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 3, 16), 3)

    def train(final_layers):
        keras.utils.set_random_seed(0)
        model = Sequential([Dense(6, activation="tanh", input_shape=(4,))] + final_layers())
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="categorical_crossentropy")
        model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
        return model, model.get_weights()

    fused_model, fused = train(lambda: [Dense(3, activation="softmax")])
    plain_model, plain = train(lambda: [Dense(3), keras.layers.Activation("softmax"), Dropout(0.0)])
    assert fused_model._fusable == [True] and plain_model._fusable == [False]
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_steps_per_epoch_that_divides_the_batches_trains_every_epoch():
    # 4 batches, 2 per epoch: epoch 3 starts a new pass over the arrays instead of finding them used up
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(np.zeros((8, 2)), np.zeros(8), batch_size=2, steps_per_epoch=2, epochs=4, verbose=0)
    assert history.epoch == [0, 1, 2, 3] and model.stop_reason == "completed"
