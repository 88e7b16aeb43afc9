"""Convolution layers: values against explicit loops, TensorFlow's 'same' padding, shapes, errors and a
table-driven float64 gradient check over every option."""

import math

import numpy as np
import pytest
from gradcheck import check_layer

from nbtrain.layers.convolutional import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
    window_geometry,
)
from nbtrain.layers.core import ActivatedLayer


def naive_conv2d(x, kernel, bias, strides=(1, 1), padding="valid", dilation=(1, 1)):
    """Convolution by explicit loops over every output pixel, with TensorFlow's padding rule written out."""
    n, h, w, _ = x.shape
    kh, kw, _, filters = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if padding == "same":
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
        top = max((oh - 1) * sh + span_h - h, 0) // 2
        left = max((ow - 1) * sw + span_w - w, 0) // 2
    else:
        oh, ow, top, left = (h - span_h) // sh + 1, (w - span_w) // sw + 1, 0, 0
    out = np.zeros((n, oh, ow, filters))
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for a in range(kh):
                    for c in range(kw):
                        row, col = i * sh + a * dh - top, j * sw + c * dw - left
                        if 0 <= row < h and 0 <= col < w:
                            out[b, i, j] += x[b, row, col] @ kernel[a, c]
    return out + bias


def set_random_weights(layer, input_shape, rng):
    layer.build(input_shape)
    layer.set_weights([rng.standard_normal(w.shape) for w in layer.get_weights()])


# ----- values --------------------------------------------------------------------------------------------


def test_conv2d_3x3_input_2x2_kernel_by_hand():
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    layer = Conv2D(1, 2)
    layer.build((None, 3, 3, 1))
    layer.set_weights([np.array([1, 2, 3, 4], np.float32).reshape(2, 2, 1, 1), np.array([0.5], np.float32)])
    # [[1 2 3] [4 5 6] [7 8 9]] correlated (not flipped) with [[1 2] [3 4]]
    expected = [[1 + 4 + 12 + 20, 2 + 6 + 15 + 24], [4 + 10 + 21 + 32, 5 + 12 + 24 + 36]]
    np.testing.assert_allclose(layer(x)[0, :, :, 0], np.array(expected) + 0.5)


@pytest.mark.parametrize("strides, padding, dilation, shape, kernel_size", [
    ((1, 1), "valid", (1, 1), (2, 5, 6, 3), (3, 3)),
    ((1, 1), "same", (1, 1), (2, 5, 6, 3), (3, 3)),
    ((2, 2), "same", (1, 1), (2, 5, 6, 3), (3, 2)),
    ((2, 3), "valid", (1, 1), (1, 7, 8, 2), (2, 3)),
    ((1, 1), "same", (2, 2), (1, 7, 6, 2), (3, 3)),
    ((1, 1), "valid", (2, 1), (1, 7, 6, 2), (2, 3)),
    ((3, 2), "same", (1, 1), (1, 7, 7, 1), (4, 4)),
])
def test_conv2d_matches_explicit_loops(strides, padding, dilation, shape, kernel_size, rng):
    layer = Conv2D(4, kernel_size, strides=strides, padding=padding, dilation_rate=dilation)
    set_random_weights(layer, (None,) + shape[1:], rng)
    x = rng.standard_normal(shape).astype(np.float32)
    kernel, bias = layer.get_weights()
    out = layer(x)
    assert out.dtype == np.float32
    assert out.shape[1:] == layer.compute_output_shape((None,) + shape[1:])[1:]
    np.testing.assert_allclose(out, naive_conv2d(x, kernel, bias, strides, padding, dilation), rtol=1e-4, atol=1e-4)


def test_same_padding_puts_the_extra_zero_at_the_end_like_tensorflow():
    # kernel [1, 10] over [1, 2, 3, 4]: TF pads 0 before and 1 after
    layer = Conv1D(1, 2, padding="same", use_bias=False)
    layer.build((None, 4, 1))
    layer.set_weights([np.array([1, 10], np.float32).reshape(2, 1, 1)])
    np.testing.assert_allclose(layer(np.arange(1, 5, dtype=np.float32).reshape(1, 4, 1))[0, :, 0], [21, 32, 43, 4])
    # stride 2, kernel 3 of ones over 1..6: windows [1 2 3], [3 4 5], [5 6 0]
    layer = Conv1D(1, 3, strides=2, padding="same", use_bias=False, kernel_initializer="ones")
    np.testing.assert_allclose(layer(np.arange(1, 7, dtype=np.float32).reshape(1, 6, 1))[0, :, 0], [6, 12, 11])


@pytest.mark.parametrize("size, kernel, stride, dilation, padding, expected", [
    (28, 3, 1, 1, "valid", (26, 0, 0)),
    (5, 3, 2, 1, "same", (3, 1, 1)),
    (5, 3, 2, 1, "valid", (2, 0, 0)),
    (5, 2, 2, 1, "same", (3, 0, 1)),
    (7, 4, 3, 1, "same", (3, 1, 2)),
    (6, 3, 2, 1, "same", (3, 0, 1)),
    (10, 3, 1, 2, "same", (10, 2, 2)),
    (10, 3, 1, 2, "valid", (6, 0, 0)),
    (10, 3, 1, 2, "causal", (10, 4, 0)),
])
def test_window_geometry_equals_tensorflow(size, kernel, stride, dilation, padding, expected):
    assert window_geometry(size, kernel, stride, dilation, padding) == expected


def test_conv1d_matches_conv2d_on_a_height_one_image(rng):
    x = rng.standard_normal((2, 9, 3)).astype(np.float32)
    one = Conv1D(4, 3, strides=2, padding="same", dilation_rate=1)
    set_random_weights(one, (None, 9, 3), rng)
    kernel, bias = one.get_weights()
    expected = naive_conv2d(x[:, np.newaxis], kernel[np.newaxis], bias, (1, 2), "same")[:, 0]
    np.testing.assert_allclose(one(x), expected, rtol=1e-5, atol=1e-5)
    assert one.compute_output_shape((None, 9, 3)) == (None, 5, 4)


def test_conv1d_causal_output_sees_only_the_past():
    layer = Conv1D(1, 3, padding="causal", dilation_rate=2, use_bias=False, kernel_initializer="ones")
    x = np.zeros((1, 8, 1), np.float32)
    x[0, 5] = 1.0
    out = layer(x)[0, :, 0]
    assert out.shape == (8,)
    np.testing.assert_allclose(out, [0, 0, 0, 0, 0, 1, 0, 1])  # taps at t, t-2, t-4


def test_conv2d_applies_activation_and_is_fusable(rng):
    layer = Conv2D(3, 2, activation="relu")
    out = layer(rng.standard_normal((2, 4, 4, 2)).astype(np.float32))
    assert out.min() == 0.0
    assert isinstance(layer, ActivatedLayer) and hasattr(layer, "backward_from_preactivation")


def test_conv2d_keras_weight_shapes_and_set_weights(rng):
    layer = Conv2D(8, (3, 5))
    layer.build((None, 10, 10, 2))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 5, 2, 8) and bias.shape == (8,) and kernel.dtype == np.float32
    # glorot_uniform with fans multiplied by the receptive field
    assert np.abs(kernel).max() <= np.sqrt(6 / (15 * 2 + 15 * 8))
    layer.set_weights([np.ones((3, 5, 2, 8)), np.zeros(8)])
    np.testing.assert_allclose(layer(np.ones((1, 3, 5, 2), np.float32))[0, 0, 0], np.full(8, 30.0))
    assert Conv1D(4, 3, use_bias=False)(np.zeros((1, 5, 2), np.float32)).shape == (1, 3, 4)


def test_conv_computes_in_float64_when_weights_and_inputs_are_float64(rng):
    layer = Conv2D(2, 3, padding="same")
    layer.build((None, 4, 4, 1))
    layer.cast_weights(np.float64)
    assert layer.forward(rng.standard_normal((1, 4, 4, 1))).dtype == np.float64


@pytest.mark.parametrize("layer, input_shape, expected", [
    (Conv2D(16, 3), (None, 28, 28, 1), (None, 26, 26, 16)),
    (Conv2D(16, 3, padding="same", strides=2), (None, 28, 28, 1), (None, 14, 14, 16)),
    (Conv2D(16, 3, padding="same", strides=2), (None, 7, 7, 1), (None, 4, 4, 16)),
    (Conv2D(4, 3, dilation_rate=2), (None, 10, 9, 3), (None, 6, 5, 4)),
    (Conv2D(4, (1, 3), strides=(1, 2)), (None, None, None, 3), (None, None, None, 4)),
    (Conv1D(5, 4, strides=3), (None, 20, 2), (None, 6, 5)),
    (Conv1D(5, 4, padding="causal"), (None, 20, 2), (None, 20, 5)),
    (Conv2DTranspose(3, 3, strides=2, padding="same"), (None, 7, 7, 4), (None, 14, 14, 3)),
    (Conv2DTranspose(3, 3, strides=2), (None, 7, 7, 4), (None, 15, 15, 3)),
    (Conv2DTranspose(3, 2, strides=3), (None, 7, 5, 4), (None, 21, 15, 3)),
    (Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1), (None, 7, 7, 4), (None, 14, 14, 3)),
    (Conv2DTranspose(3, 3, strides=2, output_padding=1), (None, 7, None, 4), (None, 16, None, 3)),
    (Conv1DTranspose(2, 5, padding="same", dilation_rate=2), (None, 6, 1), (None, 6, 2)),
    (ZeroPadding2D(((1, 0), (2, 3))), (None, 4, 5, 2), (None, 5, 10, 2)),
    (ZeroPadding2D((1, 2)), (None, 4, 5, 2), (None, 6, 9, 2)),
    (ZeroPadding2D(2), (None, None, 5, 2), (None, None, 9, 2)),
    (ZeroPadding1D((1, 2)), (None, 4, 2), (None, 7, 2)),
    (UpSampling2D((2, 3)), (None, 4, 5, 2), (None, 8, 15, 2)),
    (UpSampling1D(3), (None, 4, 2), (None, 12, 2)),
])
def test_compute_output_shape_matches_forward(layer, input_shape, expected, rng):
    assert layer.compute_output_shape(input_shape) == expected
    concrete = tuple(4 if d is None else d for d in input_shape[1:])
    x = rng.standard_normal((2,) + concrete).astype(np.float32)
    assert layer(x).shape == (2,) + layer.compute_output_shape((None,) + concrete)[1:]


def test_zero_padding_and_upsampling_values():
    x = np.array([[1, 2], [3, 4]], np.float32).reshape(1, 2, 2, 1)
    padded = ZeroPadding2D(((1, 0), (0, 1)))(x)[0, :, :, 0]
    np.testing.assert_array_equal(padded, [[0, 0, 0], [1, 2, 0], [3, 4, 0]])
    up = UpSampling2D((1, 2))(x)[0, :, :, 0]
    np.testing.assert_array_equal(up, [[1, 1, 2, 2], [3, 3, 4, 4]])


# ----- errors --------------------------------------------------------------------------------------------


def test_conv2d_on_three_dimensional_input_suggests_a_channel_axis():
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, height, width, channels\).*"
                                         r"x\[\.\.\., np\.newaxis\].*Reshape\(\(28, 28, 1\)\)"):
        Conv2D(4, 3)(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"\(batch, height, width, channels\)"):
        Conv2D(4, 3).build((None, 784))


def test_kernel_larger_than_input_with_valid_padding():
    with pytest.raises(ValueError, match=r"padding='valid'.*kernel 5x5.*3x3.*padding='same'"):
        Conv2D(2, 5)(np.zeros((1, 3, 3, 1), np.float32))
    with pytest.raises(ValueError, match=r"dilated"):
        Conv1D(2, 3, dilation_rate=3).compute_output_shape((None, 6, 1))
    assert Conv2D(2, 5, padding="same")(np.zeros((1, 3, 3, 1), np.float32)).shape == (1, 3, 3, 2)


def test_argument_errors():
    with pytest.raises(ValueError, match="Did you mean 'same'"):
        Conv2D(2, 3, padding="smae")
    with pytest.raises(ValueError, match="causal"):
        Conv2D(2, 3, padding="causal")
    assert Conv2D(2, 3, padding="SAME").padding == "same"
    with pytest.raises(ValueError, match="Did you mean 'channels_first'"):
        Conv2D(2, 3, data_format="channel_first")
    with pytest.raises(ValueError, match="filters must be divisible by groups"):
        Conv2D(4, 3, groups=3)
    with pytest.raises(ValueError, match="filters"):
        Conv2D(0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="strides"):
        Conv1D(2, 3, strides=0)
    with pytest.raises(ValueError, match="padding"):
        ZeroPadding2D(((1, 2, 3), (1, 1)))
    with pytest.raises(ValueError, match="nearest"):
        UpSampling2D(interpolation="area")
    with pytest.raises(ValueError, match="Did you mean 'nearest'"):
        UpSampling2D(interpolation="neares")
    with pytest.raises(TypeError, match="Did you mean 'kernel_size'"):
        Conv2D(2, 3, kernel_sise=3)


def test_channels_mismatch_after_build():
    layer = Conv2D(2, 3)
    layer.build((None, 5, 5, 3))
    with pytest.raises(ValueError, match="3 input channels"):
        layer(np.zeros((1, 5, 5, 1), np.float32))


def test_repr_and_config_round_trip():
    layer = Conv2D(8, 3, strides=2, padding="same", activation="relu", name="c")
    assert "filters=8" in repr(layer)
    clone = Conv2D.from_config(layer.get_config() | {"name": "c2"})
    assert (clone.filters, clone.kernel_size, clone.strides, clone.padding) == (8, (3, 3), (2, 2), "same")
    assert clone.activation.name == "relu"
    assert ZeroPadding2D.from_config(ZeroPadding2D(((1, 0), (2, 3))).get_config() | {"name": "z"}).padding == \
        ((1, 0), (2, 3))


# ----- gradients -----------------------------------------------------------------------------------------

GRADIENT_CASES = [
    ("conv2d valid", lambda: Conv2D(3, 2, bias_initializer="random_normal"), (2, 4, 5, 2)),
    ("conv2d same odd kernel", lambda: Conv2D(2, 3, padding="same"), (2, 4, 4, 2)),
    ("conv2d same even kernel stride 2", lambda: Conv2D(2, (2, 3), strides=2, padding="same"), (1, 5, 6, 2)),
    ("conv2d valid strides 2x3", lambda: Conv2D(2, 2, strides=(2, 3), padding="valid"), (2, 5, 7, 1)),
    ("conv2d dilation same", lambda: Conv2D(2, 2, dilation_rate=2, padding="same"), (1, 5, 5, 2)),
    ("conv2d dilation valid", lambda: Conv2D(2, 2, dilation_rate=(2, 1)), (1, 5, 4, 2)),
    ("conv2d stride and dilation", lambda: Conv2D(2, 2, strides=2, dilation_rate=2, padding="same"), (1, 5, 5, 1)),
    ("conv2d tanh no bias", lambda: Conv2D(2, 2, activation="tanh", use_bias=False), (2, 3, 3, 2)),
    # 3x3x4 = 36 inputs per window: the bias is added after the product, not by a column of ones in it
    ("conv2d wide windows", lambda: Conv2D(2, 3, bias_initializer="random_normal"), (2, 4, 4, 4)),
    ("conv2d 1x1", lambda: Conv2D(3, 1, bias_initializer="random_normal"), (2, 3, 3, 2)),
    ("conv2d relu", lambda: Conv2D(3, 2, activation="relu"), (2, 3, 3, 2)),
    ("conv2d softmax", lambda: Conv2D(3, 1, activation="softmax"), (2, 2, 2, 2)),
    ("conv1d valid", lambda: Conv1D(3, 3, bias_initializer="random_normal"), (2, 6, 2)),
    ("conv1d same stride 2", lambda: Conv1D(2, 2, strides=2, padding="same"), (2, 5, 2)),
    ("conv1d causal dilated", lambda: Conv1D(2, 2, padding="causal", dilation_rate=2), (2, 5, 2)),
    ("conv1d sigmoid", lambda: Conv1D(2, 3, activation="sigmoid", padding="same"), (1, 4, 3)),
    ("conv2d transpose valid", lambda: Conv2DTranspose(2, 2, bias_initializer="random_normal"), (2, 3, 3, 2)),
    ("conv2d transpose same stride 2", lambda: Conv2DTranspose(2, 3, strides=2, padding="same"), (1, 3, 2, 2)),
    ("conv2d transpose valid stride 3", lambda: Conv2DTranspose(2, 2, strides=(3, 2)), (1, 2, 3, 2)),
    ("conv2d transpose output padding", lambda: Conv2DTranspose(2, 3, strides=2, padding="same",
                                                                output_padding=1), (1, 2, 3, 1)),
    ("conv2d transpose dilated", lambda: Conv2DTranspose(2, 2, dilation_rate=2, activation="tanh"), (1, 3, 3, 2)),
    ("conv1d transpose same", lambda: Conv1DTranspose(2, 4, strides=2, padding="same"), (2, 3, 2)),
    ("zero padding 2d", lambda: ZeroPadding2D(((1, 0), (2, 1))), (2, 3, 2, 2)),
    ("zero padding 1d", lambda: ZeroPadding1D(2), (2, 3, 2)),
    ("upsampling 2d", lambda: UpSampling2D((2, 3)), (2, 2, 3, 2)),
    ("upsampling 1d", lambda: UpSampling1D(2), (2, 3, 2)),
]


@pytest.mark.parametrize("name, make_layer, shape", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradients(name, make_layer, shape, rng):
    check_layer(make_layer(), rng.standard_normal(shape), rng)


def test_a_conv_called_twice_before_its_backward_keeps_each_calls_windows(rng):
    """The im2col work array is reused between batches; a shared layer's two pending calls must not share it."""
    layer = Conv2D(3, 3, activation="relu")
    x1, x2 = (rng.standard_normal((2, 6, 6, 2)).astype(np.float32) for _ in range(2))
    layer.build(x1.shape)
    expected = {}
    for name, x in (("first", x1), ("second", x2)):   # one call at a time, each backward right after
        y, backprop = layer._apply(x, True, True)
        expected[name] = (backprop(np.ones_like(y)), layer.grads["kernel"].copy())
    y1, backprop1 = layer._apply(x1, True, True)
    y2, backprop2 = layer._apply(x2, True, True)
    for _ in range(3):   # later batches may reuse arrays released by calls that are gone
        layer._apply(x2, True, True)
    for (name, backprop, y) in (("second", backprop2, y2), ("first", backprop1, y1)):
        np.testing.assert_array_equal(backprop(np.ones_like(y)), expected[name][0])
        np.testing.assert_array_equal(layer.grads["kernel"], expected[name][1])


def test_frozen_conv_fills_no_gradients_but_passes_input_gradient(rng):
    layer = Conv2D(2, 2)
    layer.trainable = False
    x = rng.standard_normal((1, 3, 3, 1)).astype(np.float32)
    grad = layer.backward(np.ones_like(layer(x)))
    assert grad.shape == x.shape and layer.grads == {}
    layer.input_gradient_needed = False
    assert layer.backward(np.ones((1, 2, 2, 2), np.float32)) is None


def test_regularizers_and_constraints_attach_to_kernel_and_bias():
    layer = Conv2D(2, 3, kernel_regularizer="l2", bias_regularizer="l1", kernel_constraint="non_neg")
    layer.build((None, 5, 5, 1))
    assert len(layer.losses) == 2
    layer.apply_constraints()
    assert layer.get_weights()[0].min() >= 0
    config = layer.get_config()
    assert config["kernel_regularizer"] is not None and config["kernel_constraint"] is not None


def test_a_small_cnn_learns_with_fit(rng):
    import nbtrain
    from nbtrain.layers import Dense, Flatten
    from nbtrain.layers.normalization import BatchNormalization
    from nbtrain.layers.pooling import GlobalAveragePooling2D, MaxPooling2D

    # bright-left versus bright-right images
    x = rng.random((64, 8, 8, 1)).astype(np.float32) * 0.2
    y = rng.integers(0, 2, 64)
    x[y == 0, :, :4] += 0.8
    x[y == 1, :, 4:] += 0.8
    model = nbtrain.Sequential([
        nbtrain.Input((8, 8, 1)),
        Conv2D(4, 3, padding="same", activation="relu"),
        BatchNormalization(),
        MaxPooling2D(),
        Conv2D(4, 3, activation="relu"),
        GlobalAveragePooling2D(),
        Flatten(),
        Dense(2, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(x, verbose=0).shape == (64, 2)


def test_model_with_conv_first_layer_explains_a_missing_channel_axis():
    import nbtrain

    # built from the data: a (2, 28, 28) array has no channel axis, and the error says how to add one
    model = nbtrain.Sequential([Conv2D(2, 3)])
    with pytest.raises(ValueError, match=r"np\.newaxis"):
        model.predict(np.zeros((2, 28, 28), np.float32), verbose=0)


def test_a_declared_single_channel_input_takes_images_without_the_channel_axis():
    import nbtrain

    # as in Keras 3: the input says (28, 28, 1), so (samples, 28, 28) gets its channel axis added
    model = nbtrain.Sequential([nbtrain.Input((28, 28, 1)), Conv2D(2, 3)])
    x = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x[..., np.newaxis], verbose=0))


def test_conv1d_transpose_by_hand():
    x = np.array([1, 2], np.float32).reshape(1, 2, 1)
    layer = Conv1DTranspose(1, 2, strides=2, use_bias=False)
    layer.build((None, 2, 1))
    layer.set_weights([np.array([1, 10], np.float32).reshape(2, 1, 1)])
    np.testing.assert_allclose(layer(x)[0, :, 0], [1, 10, 2, 20])
    layer = Conv1DTranspose(1, 2, strides=1, use_bias=False)
    layer.build((None, 2, 1))
    layer.set_weights([np.array([1, 10], np.float32).reshape(2, 1, 1)])
    np.testing.assert_allclose(layer(x)[0, :, 0], [1, 12, 20])


@pytest.mark.parametrize("kernel_size, strides, padding, dilation, size", [
    (3, 1, "valid", 1, 6), (3, 2, "valid", 1, 7), (3, 2, "same", 1, 6), (4, 2, "same", 1, 8),
    (2, 3, "valid", 1, 9), (3, 1, "same", 2, 5),
])
def test_conv2d_transpose_is_the_adjoint_of_conv2d(kernel_size, strides, padding, dilation, size, rng):
    """<conv(x), y> == <x, conv_transpose(y)> when both share the kernel: the defining property."""
    conv = Conv2D(3, kernel_size, strides=strides, padding=padding, dilation_rate=dilation, use_bias=False)
    conv.build((None, size, size, 2))
    conv.cast_weights(np.float64)
    x = rng.standard_normal((2, size, size, 2))
    y = rng.standard_normal(conv.forward(x).shape)
    transpose = Conv2DTranspose(2, kernel_size, strides=strides, padding=padding, dilation_rate=dilation,
                                use_bias=False)
    transpose.build((None,) + y.shape[1:])
    transpose.cast_weights(np.float64)
    transpose.set_weights(conv.get_weights())  # both kernels are (kh, kw, 2, 3)
    back = transpose.forward(y)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(conv.forward(x) * y), np.sum(x * back), rtol=1e-10)


def test_conv_transpose_arguments():
    layer = Conv2DTranspose(4, 3)
    layer.build((None, 5, 5, 2))
    assert layer.get_weights()[0].shape == (3, 3, 4, 2)
    with pytest.raises(ValueError, match="output_padding"):
        Conv2DTranspose(4, 3, strides=2, output_padding=2)
    assert "groups" not in layer.get_config() and layer.get_config()["output_padding"] is None


# ----- bilinear upsampling (issue 16) -----------------------------------------------------------------------------

def _upsampling_reference():
    import json
    from pathlib import Path
    return json.loads((Path(__file__).parents[1] / "fixtures" / "keras_upsampling_reference.json").read_text())


@pytest.mark.parametrize("size", [(2, 2), (3, 2), (1, 3)])
def test_bilinear_upsampling_matches_keras(size):
    images = np.arange(2 * 3 * 4 * 2, dtype="float32").reshape(2, 3, 4, 2) ** 1.5 / 10
    expected = _upsampling_reference()["outputs"][f"{size[0]}x{size[1]}"]
    np.testing.assert_allclose(UpSampling2D(size, interpolation="bilinear")(images), expected, rtol=1e-5, atol=1e-5)


def test_bilinear_upsampling_gradient(rng):
    check_layer(UpSampling2D((2, 3), interpolation="bilinear"), rng.standard_normal((2, 3, 2, 2)), rng)


def test_other_interpolations_are_refused_by_name():
    with pytest.raises(ValueError, match=r"supports interpolation='nearest' or 'bilinear', got 'bicubic'"):
        UpSampling2D(interpolation="bicubic")
    assert UpSampling2D(interpolation="bilinear").get_config()["interpolation"] == "bilinear"
