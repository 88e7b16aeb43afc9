"""Pooling layers: picked values, Keras/TensorFlow 'same' rules, shapes, masks, errors and a table-driven
float64 gradient check over every option."""

import math

import numpy as np
import pytest
from gradcheck import check_layer

from nbtrain.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
)


def naive_pool2d(x, pool, strides, padding, reduce):
    """Pooling by explicit loops; 'same' windows cover only real pixels (TensorFlow's padding split)."""
    n, h, w, c = x.shape
    (ph, pw), (sh, sw) = pool, strides
    if padding == "same":
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
        top, left = max((oh - 1) * sh + ph - h, 0) // 2, max((ow - 1) * sw + pw - w, 0) // 2
    else:
        oh, ow, top, left = (h - ph) // sh + 1, (w - pw) // sw + 1, 0, 0
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - top, j * sw - left
            window = x[:, max(r0, 0):r0 + ph, max(c0, 0):c0 + pw, :]
            out[:, i, j, :] = reduce(window, axis=(1, 2))
    return out


# ----- values --------------------------------------------------------------------------------------------


def test_max_pooling_picks_the_window_maxima():
    x = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 0, 1, 1], [9, 2, 1, 7]], np.float32).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(MaxPooling2D()(x)[0, :, :, 0], [[5, 8], [9, 7]])
    np.testing.assert_array_equal(AveragePooling2D()(x)[0, :, :, 0], [[3.25, 2.75], [2.75, 2.5]])


@pytest.mark.parametrize("pool, strides, padding, shape", [
    ((2, 2), None, "valid", (2, 5, 5, 3)),
    ((2, 2), None, "same", (2, 5, 5, 3)),
    ((3, 3), (2, 2), "same", (1, 5, 5, 2)),
    ((3, 3), (1, 1), "same", (1, 4, 5, 2)),
    ((2, 3), (1, 2), "valid", (1, 6, 7, 2)),
    ((3, 2), (2, 1), "same", (1, 6, 7, 1)),
])
def test_pooling_matches_explicit_loops(pool, strides, padding, shape, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    for layer_class, reduce in ((MaxPooling2D, np.max), (AveragePooling2D, np.mean)):
        layer = layer_class(pool, strides, padding)
        out = layer(x)
        expected = naive_pool2d(x, pool, strides or pool, padding, reduce)
        assert out.dtype == np.float32 and out.shape[1:] == layer.compute_output_shape((None,) + shape[1:])[1:]
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_same_average_pooling_does_not_count_padding():
    out = AveragePooling2D(3, strides=1, padding="same")(np.ones((1, 4, 4, 2), np.float32))
    np.testing.assert_allclose(out, np.ones((1, 4, 4, 2)))
    x = np.arange(1, 6, dtype=np.float32).reshape(1, 5, 1)
    # pool 2 stride 2 'same' on 5 steps: windows [1 2], [3 4], [5 (pad)]
    np.testing.assert_allclose(AveragePooling1D(2, padding="same")(x)[0, :, 0], [1.5, 3.5, 5.0])
    np.testing.assert_allclose(MaxPooling1D(2, padding="same")(-x)[0, :, 0], [-1, -3, -5])


def test_max_pooling_gradient_goes_to_the_first_maximum_on_ties():
    layer = MaxPooling2D()
    layer(np.ones((1, 2, 4, 1), np.float32))
    grad = layer.backward(np.array([[[[1.0], [2.0]]]], np.float32))[0, :, :, 0]
    np.testing.assert_array_equal(grad, [[1, 0, 2, 0], [0, 0, 0, 0]])


def naive_first_max_gradient(x, pool, grad_output):
    """Each window's gradient goes to its first maximum in row-major order, by explicit loops."""
    (ph, pw), grad = pool, np.zeros_like(x)
    for b, i, j, c in np.ndindex(grad_output.shape):
        window = x[b, i * ph:(i + 1) * ph, j * pw:(j + 1) * pw, c]
        k = int(np.argmax(window))   # argmax returns the first maximum
        grad[b, i * ph + k // pw, j * pw + k % pw, c] += grad_output[b, i, j, c]
    return grad


@pytest.mark.parametrize("pool, shape", [
    ((2, 2), (3, 6, 8, 4)),   # the usual case
    ((2, 2), (2, 7, 9, 3)),   # an odd last row and column: no window covers them
    ((3, 2), (2, 6, 6, 3)),
    ((1, 3), (2, 5, 8, 2)),
    ((1, 1), (2, 3, 3, 2)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiling_max_windows_route_the_gradient_to_the_first_maximum(pool, shape, dtype, rng):
    x = rng.integers(-1, 2, shape).astype(dtype)   # three values: ties in most windows
    layer = MaxPooling2D(pool)
    out = layer(x)
    np.testing.assert_array_equal(out, naive_pool2d(x, pool, pool, "valid", np.max))
    grad_output = rng.standard_normal(out.shape).astype(dtype)
    grad = layer.backward(grad_output)
    assert grad.dtype == dtype and grad.shape == x.shape
    np.testing.assert_array_equal(grad, naive_first_max_gradient(x, pool, grad_output))


def test_overlapping_max_windows_add_their_gradients():
    x = np.array([0, 9, 0, 0], np.float32).reshape(1, 4, 1)
    layer = MaxPooling1D(2, strides=1)
    np.testing.assert_array_equal(layer(x)[0, :, 0], [9, 9, 0])
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3, 1), np.float32))[0, :, 0], [0, 2, 1, 0])


def test_global_pooling_values_and_keepdims():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)
    np.testing.assert_allclose(GlobalAveragePooling2D()(x), x.mean(axis=(1, 2)))
    np.testing.assert_allclose(GlobalMaxPooling2D()(x), x.max(axis=(1, 2)))
    assert GlobalAveragePooling2D(keepdims=True)(x).shape == (2, 1, 1, 2)
    assert GlobalMaxPooling1D(keepdims=True)(x[:, 0]).shape == (2, 1, 2)
    assert GlobalAveragePooling1D().compute_output_shape((None, 7, 3)) == (None, 3)
    assert GlobalMaxPooling2D(keepdims=True).compute_output_shape((None, 7, 7, 3)) == (None, 1, 1, 3)


def test_global_average_pooling_1d_averages_only_unmasked_steps():
    x = np.array([[[1.0], [3.0], [100.0]], [[2.0], [4.0], [6.0]]], np.float32)
    mask = np.array([[True, True, False], [True, True, True]])
    layer = GlobalAveragePooling1D()
    assert layer.accepts_mask and layer.compute_mask(x, mask) is None
    np.testing.assert_allclose(layer.forward(x, mask=mask), [[2.0], [4.0]])
    np.testing.assert_allclose(layer.backward(np.ones((2, 1), np.float32))[:, :, 0], [[0.5, 0.5, 0], [1 / 3] * 3])


def test_global_max_pooling_shares_the_gradient_between_ties():
    layer = GlobalMaxPooling1D()
    layer(np.array([[[2.0], [1.0], [2.0]]], np.float32))
    np.testing.assert_allclose(layer.backward(np.array([[4.0]], np.float32))[0, :, 0], [2, 0, 2])


@pytest.mark.parametrize("layer, input_shape, expected", [
    (MaxPooling2D(), (None, 26, 26, 32), (None, 13, 13, 32)),
    (MaxPooling2D(), (None, 11, 11, 64), (None, 5, 5, 64)),
    (MaxPooling2D(padding="same"), (None, 11, 11, 64), (None, 6, 6, 64)),
    (MaxPooling2D(3, strides=2), (None, 7, 8, 1), (None, 3, 3, 1)),
    (AveragePooling2D((2, 3), strides=1, padding="same"), (None, 5, 5, 1), (None, 5, 5, 1)),
    (AveragePooling2D(2), (None, None, 6, 1), (None, None, 3, 1)),
    (MaxPooling1D(), (None, 9, 4), (None, 4, 4)),
    (AveragePooling1D(3, strides=2, padding="same"), (None, 9, 4), (None, 5, 4)),
])
def test_compute_output_shape(layer, input_shape, expected):
    assert layer.compute_output_shape(input_shape) == expected


def test_defaults_and_aliases():
    assert MaxPooling2D().pool_size == (2, 2) and MaxPooling2D().strides == (2, 2)
    assert MaxPooling2D(3, strides=1).strides == (1, 1)
    assert MaxPooling1D().pool_size == (2,)
    assert MaxPool2D is MaxPooling2D and AvgPool2D is AveragePooling2D
    config = MaxPooling2D(3, 2, "same").get_config()
    assert (config["pool_size"], config["strides"], config["padding"]) == ((3, 3), (2, 2), "same")


# ----- errors --------------------------------------------------------------------------------------------


def test_pooling_errors():
    with pytest.raises(ValueError, match=r"\(batch, height, width, channels\).*np\.newaxis"):
        MaxPooling2D()(np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"\(batch, steps, channels\)"):
        GlobalAveragePooling1D()(np.zeros((2, 4, 4, 1), np.float32))
    with pytest.raises(ValueError, match="Did you mean 'valid'"):
        AveragePooling2D(padding="vaild")
    with pytest.raises(ValueError, match=r"pool 3x3.*2x2.*padding='same'"):
        MaxPooling2D(3)(np.zeros((1, 2, 2, 1), np.float32))
    with pytest.raises(ValueError, match="pool_size"):
        MaxPooling2D(0)
    with pytest.raises(ValueError, match="Did you mean 'channels_first'"):
        GlobalMaxPooling2D(data_format="channels_frist")


# ----- gradients -----------------------------------------------------------------------------------------

GRADIENT_CASES = [
    ("max 2d valid", lambda: MaxPooling2D(), (2, 4, 5, 2)),
    ("max 2d same", lambda: MaxPooling2D(padding="same"), (2, 5, 5, 2)),
    ("max 2d overlapping same", lambda: MaxPooling2D(3, strides=2, padding="same"), (1, 5, 6, 2)),
    ("max 2d overlapping valid", lambda: MaxPooling2D((2, 3), strides=1), (1, 4, 5, 2)),
    ("avg 2d valid", lambda: AveragePooling2D(), (2, 4, 5, 2)),
    ("avg 2d same", lambda: AveragePooling2D(padding="same"), (2, 5, 5, 2)),
    ("avg 2d overlapping same", lambda: AveragePooling2D(3, strides=2, padding="same"), (1, 5, 6, 2)),
    ("avg 2d overlapping valid", lambda: AveragePooling2D((3, 2), strides=(1, 2)), (1, 4, 5, 1)),
    ("max 1d valid", lambda: MaxPooling1D(3), (2, 7, 2)),
    ("max 1d same strided", lambda: MaxPooling1D(3, strides=2, padding="same"), (2, 6, 2)),
    ("avg 1d valid", lambda: AveragePooling1D(), (2, 5, 2)),
    ("avg 1d same strided", lambda: AveragePooling1D(3, strides=2, padding="same"), (2, 6, 2)),
    ("global avg 2d", lambda: GlobalAveragePooling2D(), (2, 3, 4, 2)),
    ("global avg 2d keepdims", lambda: GlobalAveragePooling2D(keepdims=True), (2, 3, 2, 2)),
    ("global max 2d", lambda: GlobalMaxPooling2D(), (2, 3, 4, 2)),
    ("global max 2d keepdims", lambda: GlobalMaxPooling2D(keepdims=True), (2, 3, 2, 2)),
    ("global avg 1d", lambda: GlobalAveragePooling1D(), (2, 4, 3)),
    ("global max 1d", lambda: GlobalMaxPooling1D(), (2, 4, 3)),
    ("global max 1d keepdims", lambda: GlobalMaxPooling1D(keepdims=True), (2, 4, 3)),
]


@pytest.mark.parametrize("name, make_layer, shape", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradients(name, make_layer, shape, rng):
    check_layer(make_layer(), rng.standard_normal(shape), rng)


def test_masked_global_average_gradient(rng):
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    check_layer(GlobalAveragePooling1D(), rng.standard_normal((2, 4, 3)), rng, mask=mask)
