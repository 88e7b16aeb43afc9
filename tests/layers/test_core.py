"""Behaviour of the core layers: shapes, Keras weight order, dropout statistics and clear errors."""

import numpy as np
import pytest

import nbtrain
from nbtrain.layers import (Activation, ActivityRegularization, Dense, Dropout, Flatten, Identity, Input, InputLayer,
                            Reshape)


def test_dense_computes_activation_of_affine_map():
    layer = Dense(2, activation="relu")
    layer.build((None, 3))
    kernel = np.array([[1, -1], [2, 0], [0, 1]], np.float32)
    layer.set_weights([kernel, np.array([0.5, -10], np.float32)])
    out = layer(np.array([[1, 1, 1]], np.float32))
    np.testing.assert_allclose(out, [[3.5, 0.0]])
    assert out.dtype == np.float32


def test_dense_weights_are_kernel_then_bias_float32():
    layer = Dense(4)
    layer.build((None, 3))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 4) and bias.shape == (4,)
    assert kernel.dtype == bias.dtype == np.float32
    limit = np.sqrt(6 / (3 + 4))
    assert np.abs(kernel).max() <= limit and np.all(bias == 0)


def test_dense_applies_to_last_axis():
    assert Dense(7)(np.zeros((2, 5, 3), np.float32)).shape == (2, 5, 7)
    assert Dense(7).compute_output_shape((None, 5, 3)) == (None, 5, 7)


def test_default_names_are_numbered_like_keras():
    assert [Dense(1).name, Dense(1).name, Dropout(0.1).name] == ["dense", "dense_1", "dropout"]


def test_dense_rejects_bad_units_and_keywords():
    with pytest.raises(ValueError, match="units to be a positive integer"):
        Dense(0)
    with pytest.raises(TypeError, match="Did you mean 'activation'"):
        Dense(3, activaton="relu")


def test_dense_error_suggests_flatten_for_images():
    layer = Dense(10)
    layer.build((None, 784))
    with pytest.raises(ValueError) as error:
        layer(np.zeros((32, 28, 28), np.float32))
    message = str(error.value)
    assert "expects inputs with 784 features (last axis) but got shape (32, 28, 28)" in message
    assert "Flatten()" in message


def test_set_weights_checks_count_and_shapes():
    layer = Dense(2)
    layer.build((None, 3))
    with pytest.raises(ValueError, match="expects 2 weights"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"has shape \(3, 2\) but set_weights\(\) received an array of shape \(2, 3\)"):
        layer.set_weights([np.zeros((2, 3)), np.zeros(2)])


def test_set_weights_copies_into_existing_arrays():
    layer = Dense(2)
    layer.build((None, 3))
    kernel = layer.params["kernel"]
    layer.set_weights([np.ones((3, 2)), np.zeros(2)])
    assert layer.params["kernel"] is kernel and np.all(kernel == 1)


def test_trainable_false_hides_params():
    layer = Dense(2)
    layer.build((None, 3))
    layer.trainable = False
    assert layer.params == {} and len(layer.non_trainable_weights) == 2


def test_dropout_scales_kept_units_and_drops_the_rate():
    layer = Dropout(0.25, seed=0)
    out = layer(np.ones((400, 100), np.float32), training=True)
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)


def test_dropout_is_identity_at_inference_and_zero_at_rate_one():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert Dropout(0.5)(x) is x
    assert np.all(Dropout(1.0)(x, training=True) == 0)


def test_dropout_seed_repeats_and_noise_shape_broadcasts():
    x = np.ones((4, 6), np.float32)
    a = Dropout(0.5, seed=7)(x, training=True)
    b = Dropout(0.5, seed=7)(x, training=True)
    np.testing.assert_array_equal(a, b)
    rows = Dropout(0.5, noise_shape=(None, 1), seed=1)(np.ones((50, 6), np.float32), training=True)
    assert all(len(set(row.tolist())) == 1 for row in rows)



@pytest.mark.parametrize("rate", [0.2, 0.5, 0.9999999, float(np.nextafter(np.float32(0.3), np.float32(1)))])
@pytest.mark.parametrize("shape", [(128, 512), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("half_word_buffered", [False, True])
def test_dropout_mask_is_the_float32_uniform_test_and_leaves_the_same_stream(rate, shape, half_word_buffered):
    # The fast mask reads the generator's raw words; it must keep exactly where rng.random(float32) >= rate
    # would, and leave the generator where those float draws would (odd sizes and a buffered half-word included).
    layer, reference = Dropout(rate, seed=11), np.random.default_rng(11)
    if half_word_buffered:
        layer._rng.random(1, dtype=np.float32), reference.random(1, dtype=np.float32)
    out = layer(np.ones(shape, np.float32), training=True)
    kept = reference.random(shape, dtype=np.float32) >= rate
    np.testing.assert_array_equal(out, np.where(kept, np.float32(1 / (1 - rate)), np.float32(0)))
    assert layer._rng.random(3, dtype=np.float32).tolist() == reference.random(3, dtype=np.float32).tolist()
    double = Dropout(rate, seed=11)(np.ones(shape), training=True)  # float64 inputs: the float32 scale, widened
    assert double.dtype == np.float64 and set(np.unique(double)) <= {0.0, float(np.float32(1 / (1 - rate)))}

def test_dropout_rate_is_validated():
    with pytest.raises(ValueError, match=r"rate to be a number in \[0, 1\], got 1.5"):
        Dropout(1.5)


def test_flatten_reshape_shapes():
    assert Flatten().compute_output_shape((None, 28, 28)) == (None, 784)
    assert Reshape((7, -1)).compute_output_shape((None, 28)) == (None, 7, 4)
    with pytest.raises(ValueError, match="cannot reshape samples of shape"):
        Reshape((5, 5)).compute_output_shape((None, 24))


def test_activation_layer_by_name_and_function():
    x = np.array([[-1.0, 0.0, 2.0]], np.float32)
    np.testing.assert_allclose(Activation("relu")(x), [[0, 0, 2]])
    np.testing.assert_allclose(Activation(nbtrain.activations.sigmoid)(x), 1 / (1 + np.exp(-x)), rtol=1e-6)


def test_input_declares_shape():
    tensor = Input(shape=(4,))
    assert tensor.shape == (None, 4)
    assert isinstance(tensor.layer, InputLayer)
    with pytest.raises(ValueError, match="needs the shape"):
        Input()


def test_identity_returns_its_input_and_keeps_the_mask():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(Identity()(x), x)
    mask = np.array([True, False])
    assert Identity().compute_mask(x, mask) is mask


def test_activity_regularization_adds_its_penalty_like_a_layer_activity_regularizer(rng):
    x, y = rng.random((8, 3), dtype=np.float32), rng.random((8, 2), dtype=np.float32)

    def loss_and_gradient(make_layers):
        nbtrain.utils.set_random_seed(0)          # before the layers exist: the same initial kernel each time
        model = nbtrain.Sequential([Input(shape=(3,)), *make_layers()])
        model.compile(optimizer=nbtrain.optimizers.SGD(learning_rate=0.0), loss="mse")
        loss = model.train_on_batch(x, y)
        return loss, model.layers[0].grads["kernel"].copy()

    penalty = nbtrain.regularizers.L1L2(l1=0.01, l2=0.1)
    expected = loss_and_gradient(lambda: [Dense(2, activity_regularizer=penalty)])
    got = loss_and_gradient(lambda: [Dense(2), ActivityRegularization(l1=0.01, l2=0.1)])
    plain = loss_and_gradient(lambda: [Dense(2)])
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-8)
    assert got[0] > plain[0] + 1e-4


def test_activity_regularization_config_and_errors():
    layer = ActivityRegularization(l2=0.5)
    config = layer.get_config()
    assert config["l1"] == 0.0 and config["l2"] == 0.5 and "activity_regularizer" not in config
    assert ActivityRegularization.from_config(config).activity_regularizer.l2 == 0.5
    with pytest.raises(TypeError, match="pass those instead"):
        ActivityRegularization(activity_regularizer="l2")
    with pytest.raises(ValueError, match="l1"):
        ActivityRegularization(l1=-1.0)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "softmax"])
def test_activating_in_place_leaves_the_input_and_the_result_right(activation):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    x_before = x.copy()
    dense = Dense(5, activation=activation, use_bias=False)
    y = dense(x)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_allclose(y, nbtrain.activations.get(activation)(x @ dense.get_weights()[0]), rtol=1e-6)
    # The Activation layer's z is its input, which it must never overwrite.
    out = Activation(activation)(x)
    np.testing.assert_array_equal(x, x_before)
    assert out is not x
