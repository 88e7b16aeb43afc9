"""DepthwiseConv1D/2D and SeparableConv1D/2D: Keras 3 outputs with the same weights, equivalences with Conv2D,
shapes, parameter counts, float64 gradient checks, errors, and a small Xception-style model that trains."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gradcheck import check_layer

import nbtrain
from nbtrain import layers
from nbtrain.layers import Conv2D, DepthwiseConv1D, DepthwiseConv2D, Input, SeparableConv1D, SeparableConv2D

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_outputs_match_keras_with_the_same_weights():
    cases = json.loads((FIXTURES / "keras_layer_reference.json").read_text())["conv"]
    with np.load(FIXTURES / "keras_layer_reference.npz") as data:
        for i, case in enumerate(cases):
            layer = getattr(layers, case["layer"])(**case["kwargs"])
            x = data[f"conv/{i}/x"]
            layer.build(x.shape)
            weights = [data[f"conv/{i}/w{k}"] for k in range(len(layer.get_weights()))]
            assert [w.shape for w in weights] == [w.shape for w in layer.get_weights()], case
            layer.set_weights(weights)
            np.testing.assert_allclose(layer(x), data[f"conv/{i}/y"], rtol=1e-5, atol=1e-5, err_msg=str(case))


def test_depthwise_is_a_convolution_with_a_block_diagonal_kernel(rng):
    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    depthwise = DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2)
    depthwise.build(x.shape)
    kernel, bias = (rng.standard_normal(w.shape).astype(np.float32) for w in depthwise.get_weights())
    depthwise.set_weights([kernel, bias])
    full = np.zeros((3, 3, 3, 6), np.float32)            # output channel c * 2 + m reads only input channel c
    for c in range(3):
        full[:, :, c, c * 2:(c + 1) * 2] = kernel[:, :, c, :]
    conv = Conv2D(6, 3, strides=2, padding="same")
    conv.build(x.shape)
    conv.set_weights([full, bias])
    np.testing.assert_allclose(depthwise(x), conv(x), rtol=1e-5, atol=1e-5)


def test_separable_is_depthwise_then_a_one_by_one_convolution(rng):
    x = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    separable = SeparableConv2D(5, 3, padding="same", depth_multiplier=2, activation="relu")
    separable.build(x.shape)
    dw, pw, bias = (rng.standard_normal(w.shape).astype(np.float32) for w in separable.get_weights())
    separable.set_weights([dw, pw, bias])
    depthwise = DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False)
    depthwise.build(x.shape)
    depthwise.set_weights([dw])
    pointwise = Conv2D(5, 1, activation="relu")
    pointwise.build((None, 8, 8, 6))
    pointwise.set_weights([pw, bias])
    np.testing.assert_allclose(separable(x), pointwise(depthwise(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer, input_shape, expected, params", [
    (DepthwiseConv2D(3), (None, 8, 8, 3), (None, 6, 6, 3), 3 * 3 * 3 + 3),
    (DepthwiseConv2D((3, 5), strides=2, padding="same", depth_multiplier=4), (None, 9, 9, 2), (None, 5, 5, 8),
     3 * 5 * 2 * 4 + 8),
    (DepthwiseConv1D(5, use_bias=False), (None, 12, 4), (None, 8, 4), 5 * 4),
    (SeparableConv2D(16, 3, padding="same"), (None, 8, 8, 3), (None, 8, 8, 16), 3 * 3 * 3 + 3 * 16 + 16),
    (SeparableConv2D(8, 3, depth_multiplier=2, dilation_rate=2), (None, 9, 9, 3), (None, 5, 5, 8),
     3 * 3 * 3 * 2 + 6 * 8 + 8),
    (SeparableConv1D(6, 3, strides=2), (None, 11, 4), (None, 5, 6), 3 * 4 + 4 * 6 + 6),
])
def test_shapes_and_parameter_counts(layer, input_shape, expected, params, rng):
    assert layer.compute_output_shape(input_shape) == expected
    layer.build(input_shape)
    assert layer.count_params() == params
    x = rng.standard_normal((2,) + input_shape[1:]).astype(np.float32)
    out = layer(x)
    assert out.shape == (2,) + expected[1:] and out.dtype == np.float32


def test_weight_names_and_order_are_keras():
    layer = SeparableConv2D(4, 3)
    layer.build((None, 6, 6, 2))
    assert list(layer.params) == ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 2, 1), (1, 1, 2, 4), (4,)]
    layer = DepthwiseConv2D(3, depth_multiplier=3)
    layer.build((None, 6, 6, 2))
    assert list(layer.params) == ["kernel", "bias"]
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 2, 3), (6,)]


@pytest.mark.parametrize("make, shape", [
    (lambda: DepthwiseConv2D(3, activation="tanh"), (2, 5, 5, 2)),
    (lambda: DepthwiseConv2D((2, 3), strides=2, padding="same", depth_multiplier=2), (2, 5, 6, 2)),
    (lambda: DepthwiseConv2D(2, dilation_rate=2, use_bias=False), (1, 6, 5, 3)),
    (lambda: DepthwiseConv1D(3, padding="same", depth_multiplier=2, activation="relu"), (2, 7, 2)),
    (lambda: SeparableConv2D(3, 3, activation="tanh"), (2, 5, 5, 2)),
    (lambda: SeparableConv2D(4, 3, strides=2, padding="same", depth_multiplier=2), (2, 6, 5, 2)),
    (lambda: SeparableConv1D(3, 2, dilation_rate=2, use_bias=False), (2, 8, 3)),
])
def test_gradients(make, shape, rng):
    layer = make()
    layer.build(shape)
    layer.set_weights([rng.standard_normal(w.shape) for w in layer.get_weights()])   # non-zero biases too
    check_layer(layer, rng.uniform(-1, 1, shape), rng)


def test_frozen_layer_still_passes_the_input_gradient(rng):
    layer = SeparableConv2D(3, 3)
    layer.trainable = False
    check_layer(layer, rng.standard_normal((2, 5, 5, 2)), rng)


@pytest.mark.parametrize("make, message", [
    (lambda: DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier to be a positive integer"),
    (lambda: SeparableConv2D(0, 3), "filters to be a positive integer"),
    (lambda: SeparableConv2D(4, 3, padding="causal"), "padding"),
    (lambda: DepthwiseConv2D(3, data_format="channel_first"), "Did you mean 'channels_first'"),
    (lambda: SeparableConv2D(4, 3, pointwise_initialiser="zeros"), "pointwise_initializer"),
])
def test_bad_arguments_get_clear_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_inputs_without_a_channel_axis_get_the_usual_hint():
    with pytest.raises(ValueError, match=r"add a channel axis"):
        SeparableConv2D(4, 3)(Input(shape=(28, 28)))
    with pytest.raises(ValueError, match="at least as large as its kernel"):
        DepthwiseConv2D(5)(Input(shape=(3, 3, 1)))


def test_an_xception_style_block_trains(rng):
    """The shape of keras.io's 'image classification from scratch': separable convolutions with a residual."""
    nbtrain.utils.set_random_seed(0)
    y = rng.integers(0, 2, 48)
    x = rng.random((48, 12, 12, 3)).astype(np.float32)
    x[y == 1, :, :, 0] += 0.5                              # class 1: a redder image
    inputs = Input(shape=(12, 12, 3))
    h = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    residual = h
    h = layers.SeparableConv2D(8, 3, padding="same", activation="relu")(h)
    h = layers.BatchNormalization()(h)
    h = layers.add([h, residual])
    h = layers.DepthwiseConv2D(3, padding="same", activation="relu")(h)
    outputs = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling2D()(h))
    model = nbtrain.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=25, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0], history.history["loss"]
    assert history.history["accuracy"][-1] > 0.85, history.history["accuracy"]
