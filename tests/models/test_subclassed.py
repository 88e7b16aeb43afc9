"""Models written the Keras way (issue 15): layers made in __init__, connected in call(), traced into a graph
on first use, then trained, evaluated, nested and saved as functional models are."""

import warnings

import numpy as np
import pytest
from gradcheck import assert_gradients_close, numerical_gradient

import nbtrain as keras
from nbtrain import layers, ops


class MyModel(keras.Model):
    """The subclassed model of Keras's "Model class" guide, with dropout applied only in training."""

    def __init__(self, classes=5, **kwargs):
        super().__init__(**kwargs)
        self.classes = classes
        self.dense1 = layers.Dense(16, activation="relu")
        self.dropout = layers.Dropout(0.5, seed=1)
        self.dense2 = layers.Dense(classes, activation="softmax")

    def call(self, inputs, training=False):
        x = self.dense1(inputs)
        if training:
            x = self.dropout(x, training=training)
        return self.dense2(x)


class TwoTowers(keras.Model):
    """Two inputs as a list, joined by a Lambda written with ops."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.left, self.right = layers.Dense(4), layers.Dense(4)
        self.join = layers.Lambda(lambda pair: ops.concatenate(pair, axis=-1))
        self.head = layers.Dense(1)

    def call(self, inputs):
        left, right = inputs
        return self.head(self.join([self.left(left), self.right(right)]))


def data(rng, n=64):
    return rng.random((n, 8)).astype("float32"), rng.integers(0, 5, n)


def test_a_subclassed_model_trains_as_the_same_functional_model(rng):
    x, y = data(rng)
    model = MyModel()
    assert isinstance(model, MyModel) and not model.built
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no "trainable flag changed after compile()" warning
        history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert model.built and len(history.history["loss"]) == 3
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense", "Dropout", "Dense"]
    assert model.layers[1] is model.dense1
    inputs = keras.Input((8,))
    same = keras.Model(inputs, model.dense2(model.dense1(inputs)))      # inference skips dropout
    np.testing.assert_allclose(model.predict(x, verbose=0), same.predict(x, verbose=0), rtol=1e-6)


def test_list_inputs_a_lambda_and_build_before_data(rng):
    model = TwoTowers()
    model.build([(None, 3), (None, 2)])
    assert model.output_shape == (None, 1)
    model.compile("sgd", "mse")
    a, b, y = rng.random((20, 3)), rng.random((20, 2)), rng.random((20, 1))
    before = model.evaluate([a, b], y, verbose=0)
    model.fit([a, b], y, epochs=5, verbose=0)
    assert model.evaluate([a, b], y, verbose=0) < before


def test_a_subclassed_model_nested_in_a_functional_one_shares_its_layers(rng):
    inner = MyModel(classes=3)
    inputs = keras.Input((8,))
    outer = keras.Model(inputs, layers.Dense(1)(inner(inputs)))
    assert inner.built and outer.get_layer(inner.dense1.name) is inner.dense1
    assert outer.predict(rng.random((2, 8)), verbose=0).shape == (2, 1)


def test_weights_save_and_load_into_a_new_instance(rng, tmp_path):
    x, y = data(rng)
    model = MyModel()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    model.save_weights(tmp_path / "my.weights.h5")
    fresh = MyModel()
    fresh.build((None, 8))
    fresh.load_weights(tmp_path / "my.weights.h5")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_numpy_in_call_gets_an_error_naming_the_op():
    class UsesNumPy(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, inputs):
            return np.tanh(self.dense(inputs))

    model = UsesNumPy()
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match=r"numpy.*tanh.*ops\.tanh"):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)


def test_summary_before_the_model_is_built_says_how_to_build_it():
    with pytest.raises(ValueError, match=r"build\(input_shape\)"):
        MyModel().summary()


def test_save_writes_the_traced_graph_which_loads_as_a_functional_model(rng, tmp_path):
    x, _ = data(rng, 4)
    model = MyModel()
    model.build((None, 8))
    model.save(tmp_path / "my.keras")
    loaded = keras.models.load_model(tmp_path / "my.keras")
    assert type(loaded).__name__ == "Functional"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


class TextAndNumbers(keras.Model):
    """Inputs as a dict, read by key in call(), as the Keras tutorials with several named inputs do."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.text, self.numbers = layers.Dense(4, activation="relu"), layers.Dense(4)
        self.join, self.head = layers.Concatenate(), layers.Dense(1)

    def call(self, inputs):
        return self.head(self.join([self.text(inputs["text"]), self.numbers(inputs["numbers"])]))


def test_dict_inputs_name_the_inputs_and_reach_call_by_key(rng):
    x = {"text": rng.random((32, 5)).astype("float32"), "numbers": rng.random((32, 2)).astype("float32")}
    y = x["text"].sum(axis=1, keepdims=True) - x["numbers"][:, :1]
    model = TextAndNumbers()
    model.compile("adam", "mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    assert model.input_names == ["text", "numbers"]
    reordered = {"numbers": x["numbers"], "text": x["text"]}
    np.testing.assert_allclose(model.predict(reordered, verbose=0), model(x), rtol=1e-6)
    with pytest.raises(ValueError, match=r"missing \['numbers'\]"):
        model.predict({"text": x["text"]}, verbose=0)


def test_dict_inputs_by_build_and_two_instances(rng):
    first, second = TextAndNumbers(), TextAndNumbers()
    first.build({"text": (None, 5), "numbers": (None, 2)})
    second.build({"text": (None, 5), "numbers": (None, 2)})
    assert first.input_names == second.input_names == ["text", "numbers"]


class SwitchesOnTraining(keras.Model):
    """Python control flow on ``training``: one head when training, another in inference."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.body = layers.Dense(3, kernel_initializer="ones")
        self.train_head = layers.Dense(1, kernel_initializer="ones", use_bias=False)
        self.infer_head = layers.Dense(1, kernel_initializer="zeros", use_bias=False)

    def call(self, inputs, training=None):
        x = self.body(inputs)
        return self.train_head(x) if training else self.infer_head(x)


def test_python_control_flow_on_training_runs_the_inference_branch_in_evaluate_and_predict():
    model = SwitchesOnTraining()
    model.compile("sgd", "mse")
    x = np.ones((4, 2), "float32")
    model.fit(x, np.ones((4, 1)), epochs=2, verbose=0, validation_data=(x, np.full((4, 1), 3.0)))
    np.testing.assert_array_equal(model.predict(x, verbose=0), 0.0)     # the inference head, untrained
    assert model.evaluate(x, np.full((4, 1), 3.0), verbose=0) == pytest.approx(9.0)
    assert [layer.name for layer in model.layers[1:]] == [model.body.name, model.train_head.name,
                                                          model.infer_head.name]
    assert not model.infer_head.get_weights()[0].any()      # no loss reached it while training
    assert model.train_head.get_weights()[0].ravel().tolist() != [1.0, 1.0, 1.0]
    history = model.fit(x, np.ones((4, 1)), epochs=1, verbose=0, validation_data=(x, np.full((4, 1), 3.0)))
    assert history.history["val_loss"] == [pytest.approx(9.0)]


class ComputesWithOps(keras.Model):
    """ops on the tensors, a layer returning two tensors, add_loss and control flow on training in call():
    not a graph of layers, so call() runs as one layer on every batch."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(6, activation="tanh")
        self.split = layers.Lambda(lambda x: (x[:, :3], x[:, 3:]))
        self.head = layers.Dense(2)

    def call(self, inputs, training=False):
        first, second = self.split(self.hidden(inputs))
        self.add_loss(0.01 * ops.mean(ops.square(second)))
        joined = first * ops.sigmoid(second) + (0.5 if training else 0.0)
        return self.head(joined)


def test_a_call_computing_with_ops_runs_as_one_layer_and_gets_exact_gradients(rng):
    model = ComputesWithOps()
    model.build((None, 4))
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "_ModelCall"]
    assert len(model.trainable_weights) == 4 and model.count_params() == 6 * 4 + 6 + 3 * 2 + 2
    for layer in model.layers:
        layer.cast_weights(np.float64)
    xs, upstream = [rng.standard_normal((5, 4))], rng.standard_normal((5, 2))

    def scalar():
        return float(np.sum(model._forward(xs, training=True)[0] * upstream)) + model._added_loss

    scalar()
    model._backward([(upstream, False)])
    call_layer = model.layers[1]
    for name, weight in call_layer.params.items():
        assert_gradients_close(call_layer.grads[name].copy(), numerical_gradient(scalar, weight), name)


def test_a_call_run_as_one_layer_trains_in_each_mode_and_saves_its_weights(rng, tmp_path):
    x = rng.standard_normal((64, 4)).astype("float32")
    y = np.stack([x[:, 0] * x[:, 1], x[:, 2]], axis=1)
    model = ComputesWithOps()
    model.compile(keras.optimizers.Adam(0.02), "mse")
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    shifted = model.head(model.split(model.hidden(x))[0] * ops.sigmoid(model.split(model.hidden(x))[1]) + 0.5)
    np.testing.assert_allclose(model.predict(x, verbose=0) + 0, model(x), rtol=1e-6)     # inference: no + 0.5
    assert not np.allclose(model.predict(x, verbose=0), shifted)
    model.save_weights(tmp_path / "ops.weights.h5")
    fresh = ComputesWithOps()
    fresh.build((None, 4))
    fresh.load_weights(tmp_path / "ops.weights.h5")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="save_weights"):
        model.save(tmp_path / "ops.keras")


def test_model_add_loss_outside_call_is_refused():
    model = ComputesWithOps()
    with pytest.raises(NotImplementedError, match="inside call"):
        model.add_loss(1.0)


def test_dict_inputs_reach_a_call_run_as_one_layer(rng):
    class JoinsWithOps(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.text, self.numbers, self.head = layers.Dense(4), layers.Dense(4), layers.Dense(1)

        def call(self, inputs):
            joined = ops.concatenate([self.text(inputs["text"]), ops.tanh(self.numbers(inputs["numbers"]))], axis=-1)
            return self.head(joined)

    x = {"text": rng.random((32, 5)).astype("float32"), "numbers": rng.random((32, 2)).astype("float32")}
    model = JoinsWithOps()
    model.compile("adam", "mse")
    model.fit(x, rng.random((32, 1)), epochs=2, verbose=0)
    assert model.input_names == ["text", "numbers"] and type(model.layers[-1]).__name__ == "_ModelCall"
    reordered = {"numbers": x["numbers"], "text": x["text"]}
    np.testing.assert_allclose(model.predict(reordered, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
