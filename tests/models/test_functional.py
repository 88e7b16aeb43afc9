"""Functional models: several inputs and outputs, merge layers, shared layers, loss weights and log names."""

import numpy as np
import pytest
from gradcheck import check_model_gradients as graph_gradient_check

import nbtrain as keras
from nbtrain import Input, Model
from nbtrain.layers import Add, Average, Concatenate, Dense, Maximum, Minimum, Multiply, Subtract
from nbtrain.models import Sequential


def two_headed():
    a, b = Input(shape=(3,), name="a"), Input(shape=(2,), name="b")
    hidden = Dense(8, activation="tanh", name="hidden")(Concatenate()([a, b]))
    price = Dense(1, name="price")(hidden)
    sold = Dense(1, activation="sigmoid", name="sold")(hidden)
    return Model(inputs=[a, b], outputs=[price, sold])


def data(rng, n=32):
    xa, xb = rng.random((n, 3), dtype=np.float32), rng.random((n, 2), dtype=np.float32)
    return [xa, xb], [xa.sum(1, keepdims=True), (xb[:, :1] > 0.5).astype(np.float32)]


def test_model_call_returns_a_functional_model_with_names():
    model = two_headed()
    assert type(model).__name__ == "Functional" and isinstance(model, Model)
    assert model.output_names == ["price", "sold"] and model.input_names == ["a", "b"]
    assert [layer.name for layer in model.layers][:2] == ["a", "b"]


def test_multi_output_logs_are_named_as_keras(rng):
    model = two_headed()
    model.compile(optimizer="adam", loss=["mse", "binary_crossentropy"], loss_weights=[0.7, 0.3],
                  metrics={"sold": ["accuracy"]})
    xs, ys = data(rng)
    history = model.fit(xs, ys, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
    assert sorted(history.history) == ["loss", "price_loss", "sold_accuracy", "sold_loss", "val_loss",
                                       "val_price_loss", "val_sold_accuracy", "val_sold_loss"]
    result = model.evaluate(xs, ys, verbose=0, return_dict=True)
    np.testing.assert_allclose(result["loss"], 0.7 * result["price_loss"] + 0.3 * result["sold_loss"], rtol=1e-5)


def test_dicts_for_losses_inputs_and_targets(rng):
    model = two_headed()
    model.compile(optimizer="sgd", loss={"price": "mse", "sold": "binary_crossentropy"},
                  loss_weights={"price": 2.0, "sold": 1.0})
    xs, ys = data(rng)
    as_dicts = model.evaluate({"a": xs[0], "b": xs[1]}, {"price": ys[0], "sold": ys[1]}, verbose=0,
                              return_dict=True)
    as_lists = model.evaluate(xs, ys, verbose=0, return_dict=True)
    assert as_dicts == as_lists
    np.testing.assert_allclose(as_lists["loss"], 2 * as_lists["price_loss"] + as_lists["sold_loss"], rtol=1e-5)
    with pytest.raises(ValueError, match="missing"):
        model.evaluate({"a": xs[0]}, ys, verbose=0)


def test_multi_output_predict_returns_a_list(rng):
    out = two_headed().predict(data(rng)[0], verbose=0)
    assert isinstance(out, list) and [o.shape for o in out] == [(32, 1), (32, 1)]


def test_loss_list_of_the_wrong_length_explains():
    model = two_headed()
    with pytest.raises(ValueError, match="lists 3 entries but the model has 2 outputs"):
        model.compile(optimizer="sgd", loss=["mse", "mse", "mse"])
    with pytest.raises(ValueError, match="not output names"):
        model.compile(optimizer="sgd", loss={"prize": "mse"})


def test_sequential_equals_the_same_functional_graph(rng):
    x, y = rng.random((16, 4), dtype=np.float32), rng.random((16, 2), dtype=np.float32)
    keras.utils.set_random_seed(3)
    seq = Sequential([Input(shape=(4,)), Dense(5, activation="relu"), Dense(2)])
    inputs = Input(shape=(4,))
    func = Model(inputs, Dense(2)(Dense(5, activation="relu")(inputs)))
    func.set_weights(seq.get_weights())
    for model in (seq, func):
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
        model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(seq.get_weights(), func.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_shared_layer_gradients_accumulate_over_every_use(rng):
    a, b = Input(shape=(3,)), Input(shape=(3,))
    shared = Dense(4, activation="tanh", name="shared")
    merged = Concatenate()([shared(a), shared(b)])
    model = Model([a, b], Dense(2, name="head")(merged))
    assert len([layer for layer in model.layers if layer.name == "shared"]) == 1
    graph_gradient_check(model, [rng.standard_normal((5, 3)), rng.standard_normal((5, 3))], rng)


@pytest.mark.parametrize("merge", [Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate])
def test_merge_layer_gradients(merge, rng):
    a, b = Input(shape=(3,)), Input(shape=(3,))
    model = Model([a, b], merge()([Dense(3, name="left")(a), Dense(3, name="right")(b)]))
    graph_gradient_check(model, [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))], rng)


def test_tensor_feeding_two_layers_sums_gradients_and_unused_output_gets_no_loss(rng):
    inputs = Input(shape=(3,))
    hidden = Dense(4, activation="tanh", name="trunk")(inputs)
    model = Model(inputs, [Dense(1, name="one")(hidden), Dense(2, name="two")(hidden)])
    graph_gradient_check(model, [rng.standard_normal((6, 3))], rng)
    model.compile(optimizer="sgd", loss=["mse", None])
    model.fit(rng.random((8, 3)), [rng.random((8, 1)), rng.random((8, 2))], verbose=0)
    assert np.all(model.get_layer("two").grads["kernel"] == 0)


def test_graph_errors():
    a, b = Input(shape=(3,), name="a"), Input(shape=(3,), name="b")
    out = Add()([a, b])
    with pytest.raises(ValueError, match="Graph disconnected.*'b'"):
        Model(a, out)
    with pytest.raises(TypeError, match="symbolic tensors"):
        Model(a, np.zeros(3))
    with pytest.raises(TypeError, match="Did you mean 'inputs'"):
        Model(input=a, outputs=out)
    with pytest.raises(ValueError, match="same shape"):
        Add()([Input(shape=(3,)), Input(shape=(4,))])


def test_functional_config_round_trip(rng):
    model = two_headed()
    pytest.importorskip("nbtrain.layers.serialization")
    clone = Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    xs = data(rng)[0]
    for a, b in zip(model.predict(xs, verbose=0), clone.predict(xs, verbose=0)):
        np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("metrics, expected", [
    ({"priority": ["mean_absolute_error"], "department": ["accuracy"]},
     ["loss", "priority_loss", "department_loss", "department_accuracy", "priority_mean_absolute_error"]),
    ([["mae", "mse"], ["accuracy"]],
     ["loss", "priority_loss", "department_loss", "department_accuracy", "priority_mae", "priority_mse"]),
])
def test_multi_output_evaluate_lists_values_in_keras_3_order(metrics, expected):
    # The orders Keras 3.15 (JAX backend) returned for this model and these compile() calls: the losses in
    # output order, then the metrics sorted by name; code that unpacks the list by position relies on it.
    from nbtrain.layers import Dense, Input
    from nbtrain.models import Model
    inputs = Input((4,), name="x")
    hidden = Dense(8)(inputs)
    model = Model(inputs, [Dense(1, name="priority")(hidden), Dense(3, activation="softmax", name="department")(hidden)])
    model.compile("rmsprop", loss={"priority": "mse", "department": "categorical_crossentropy"}, metrics=metrics)
    rng = np.random.default_rng(0)
    x, targets = rng.random((16, 4)), {"priority": rng.random((16, 1)), "department": np.eye(3)[rng.integers(0, 3, 16)]}
    as_dict = model.evaluate(x, targets, verbose=0, return_dict=True)
    assert model.metrics_names == expected
    assert model.evaluate(x, targets, verbose=0) == [as_dict[name] for name in expected]


# ----- layer.input / layer.output, model.input / model.output, nested functional models (issue 15 item 3) ----

def _small_functional():
    from nbtrain.layers import Dense, Input
    from nbtrain.models import Model
    inputs = Input((4,), name="x")
    hidden = Dense(8, activation="relu", name="hidden")(inputs)
    return Model(inputs, Dense(2, name="out")(hidden))


def test_layers_of_a_functional_model_know_their_tensors():
    model = _small_functional()
    hidden = model.get_layer("hidden")
    assert hidden.input is model.input and hidden.output.shape == (None, 8)
    assert model.layers[0].input is model.layers[0].output is model.input
    assert model.output.shape == (None, 2)
    from nbtrain.layers import Dense
    with pytest.raises(AttributeError, match="has not been called on symbolic tensors"):
        Dense(3).output


def test_a_feature_extractor_from_model_input_and_a_layer_output():
    from nbtrain.models import Model
    model = _small_functional()
    features = Model(inputs=model.input, outputs=model.get_layer("hidden").output)
    x = np.random.default_rng(0).random((3, 4))
    kernel, bias = model.get_layer("hidden").get_weights()
    np.testing.assert_allclose(features.predict(x, verbose=0), np.maximum(x @ kernel + bias, 0), rtol=1e-5)


def test_a_functional_model_called_on_new_tensors_shares_its_weights():
    from nbtrain.layers import Dense, Input
    from nbtrain.models import Model
    encoder_input = Input((6,))
    encoder = Model(encoder_input, Dense(2, name="code")(encoder_input))
    decoder_input = Input((2,))
    decoder = Model(decoder_input, Dense(6, name="reconstruction")(decoder_input))
    images = Input((6,))
    autoencoder = Model(images, decoder(encoder(images)))
    autoencoder.compile("adam", "mse")
    x = np.random.default_rng(0).random((64, 6)).astype("float32")
    autoencoder.fit(x, x, epochs=2, verbose=0)
    # training the autoencoder trained the encoder: they share the Dense layer
    assert autoencoder.get_layer("code") is encoder.get_layer("code")
    np.testing.assert_allclose(Model(images, encoder(images)).predict(x, verbose=0), encoder.predict(x, verbose=0))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 6\) but was called on a tensor of shape "
                                         r"\(None, 5\)"):
        encoder(Input((5,)))


def test_a_model_with_a_nested_functional_model_saves_and_loads(tmp_path):
    from nbtrain.layers import Dense, Input
    from nbtrain.models import Model, load_model
    inner = _small_functional()
    outer_input = Input((4,))
    outer = Model(outer_input, Dense(1)(inner(outer_input)))
    outer.compile("sgd", "mse")
    x = np.random.default_rng(1).random((5, 4))
    outer.save(tmp_path / "nested.keras")
    np.testing.assert_allclose(load_model(tmp_path / "nested.keras").predict(x, verbose=0), outer.predict(x, verbose=0),
                               rtol=1e-6)


# ----- Conv + MaxPooling run as one, as in Sequential (see tests/models/test_sequential.py) ---------------------


def _conv_pool_pair(build, input_shape):
    """The same functional network twice with the same weights: fused as Model runs it, and with fusion off."""
    def make():
        inputs = Input(input_shape)
        return Model(inputs, build(inputs))

    fused, unfused = make(), make()
    unfused.set_weights(fused.get_weights())
    unfused._pools_next = lambda index: False
    return fused, unfused


def _outputs_and_gradients(model, x, grad_outputs):
    outputs = model._forward([x], training=True)
    model._backward([(grad, False) for grad in grad_outputs])
    return outputs, {(i, name): g.copy() for i, layer in enumerate(model.layers) for name, g in layer.grads.items()}


def _assert_they_train_alike(fused, unfused, x, y, batch_size, epochs):
    """Both models, compiled alike and fitted on the same batches, log the same losses and end with the same
    weights, bit for bit."""
    losses = []
    for model in (fused, unfused):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        losses.append(model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=False).history["loss"])
    assert losses[0] == losses[1]
    for a, b in zip(fused.get_weights(), unfused.get_weights()):
        np.testing.assert_array_equal(a, b)


def _two_branches(inputs):
    from nbtrain.layers import Concatenate, Conv2D, Dense, Flatten, MaxPooling2D

    left = MaxPooling2D()(Conv2D(4, 3, activation="relu")(inputs))
    right = MaxPooling2D((2, 3))(Conv2D(3, 3)(inputs))
    return Dense(3)(Concatenate()([Flatten()(left), Flatten()(right)]))


def _chain(inputs):
    from nbtrain.layers import Conv2D, Dense, Flatten, MaxPooling2D

    x = MaxPooling2D()(Conv2D(4, 3, activation="relu")(inputs))
    x = MaxPooling2D()(Conv2D(3, 2, activation="relu")(x))
    return Dense(2)(Flatten()(x))


@pytest.mark.parametrize("build", [_chain, _two_branches], ids=["chain", "two branches"])
def test_functional_conv_and_pool_run_fused_and_give_the_same_outputs_and_gradients(build):
    rng = np.random.default_rng(0)
    fused, unfused = _conv_pool_pair(build, (13, 13, 1))
    assert fused._pool_candidates and any(fused._pools_next(i) for i in range(len(fused._nodes)))
    # small integers: many windows tie, and many pre-activations tie at relu's 0
    x = rng.integers(-2, 3, (5, 13, 13, 1)).astype(np.float32)
    grads = [rng.standard_normal((5,) + fused.output_shape[1:]).astype(np.float32)]
    out_fused, grads_fused = _outputs_and_gradients(fused, x, grads)
    out_unfused, grads_unfused = _outputs_and_gradients(unfused, x, grads)
    np.testing.assert_array_equal(out_fused[0], out_unfused[0])
    assert grads_fused.keys() == grads_unfused.keys() and grads_fused
    for key in grads_fused:
        np.testing.assert_array_equal(grads_fused[key], grads_unfused[key], err_msg=str(key))


def test_a_fused_functional_fit_trains_exactly_like_the_unfused_layers():
    rng = np.random.default_rng(1)
    fused, unfused = _conv_pool_pair(_chain, (13, 13, 1))
    x = rng.random((48, 13, 13, 1), dtype=np.float32)
    y = rng.integers(0, 2, 48)
    _assert_they_train_alike(fused, unfused, x, y, batch_size=16, epochs=2)


def test_functional_conv_and_pool_are_not_fused_where_the_conv_output_is_needed():
    from nbtrain.layers import Conv2D, Flatten, MaxPooling2D

    inputs = Input((8, 8, 1))
    conv = Conv2D(2, 3, activation="relu")(inputs)
    pooled = MaxPooling2D()(conv)
    read_twice = Model(inputs, [pooled, Flatten()(conv)])          # the conv output has a second reader
    returned = Model(inputs, [conv, pooled])                         # ... or is an output of the model
    shared_conv = Conv2D(2, 3, activation="relu")                    # ... or the conv is called twice
    twice = Model(inputs, Add()([MaxPooling2D()(shared_conv(inputs)), MaxPooling2D()(shared_conv(inputs))]))
    for model in (read_twice, returned, twice):
        assert not model._pool_candidates
    penalized = Model(inputs, MaxPooling2D()(Conv2D(2, 3, activation="relu", activity_regularizer="l2")(inputs)))
    (index,) = penalized._pool_candidates
    assert not penalized._pools_next(index)                          # the penalty reads the conv's output
    penalized.layers[1].activity_regularizer = None
    assert penalized._pools_next(index)


def test_a_pool_activity_penalty_still_counts_in_a_fused_functional_fit():
    from nbtrain import regularizers
    from nbtrain.layers import Conv2D, Dense, Flatten, MaxPooling2D

    def build(inputs):
        pooled = MaxPooling2D(activity_regularizer=regularizers.L2(0.5))(Conv2D(3, 3, activation="relu")(inputs))
        return Dense(2)(Flatten()(pooled))

    rng = np.random.default_rng(2)
    fused, unfused = _conv_pool_pair(build, (10, 10, 1))
    x = rng.random((8, 10, 10, 1), dtype=np.float32)
    y = rng.integers(0, 2, 8)
    assert fused._pool_candidates
    _assert_they_train_alike(fused, unfused, x, y, batch_size=4, epochs=1)
