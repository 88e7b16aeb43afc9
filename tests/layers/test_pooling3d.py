"""MaxPooling3D, AveragePooling3D and the global 3-D pooling layers: against explicit loops, float64 gradient
checks, configuration. Keras's numbers for the same layers are in test_keras_conv_reference.py."""

import itertools

import numpy as np
import pytest
from gradcheck import check_layer

from nbtrain import layers


def naive_pool3d(x, pool, strides, reduce):
    n, d, h, w, c = x.shape
    out = [(size - p) // s + 1 for size, p, s in zip((d, h, w), pool, strides)]
    y = np.zeros((n, *out, c))
    for a, b, e in itertools.product(*map(range, out)):
        window = x[:, a * strides[0]:a * strides[0] + pool[0], b * strides[1]:b * strides[1] + pool[1],
                   e * strides[2]:e * strides[2] + pool[2]]
        y[:, a, b, e] = reduce(window, axis=(1, 2, 3))
    return y


@pytest.mark.parametrize("layer_class, reduce", [(layers.MaxPooling3D, np.max), (layers.AveragePooling3D, np.mean)])
@pytest.mark.parametrize("pool, strides", [((2, 2, 2), None), ((3, 2, 2), (1, 2, 1))])
def test_pooling_matches_explicit_loops(layer_class, reduce, pool, strides, rng):
    x = rng.standard_normal((2, 5, 4, 6, 3))
    expected = naive_pool3d(x, pool, strides or pool, reduce)
    np.testing.assert_allclose(layer_class(pool, strides=strides)(x), expected, rtol=1e-12)


def test_same_padding_averages_real_values_only():
    x = np.ones((1, 3, 3, 3, 1), "float32")
    np.testing.assert_array_equal(layers.AveragePooling3D(2, padding="same")(x), np.ones((1, 2, 2, 2, 1)))
    assert layers.MaxPooling3D(2, padding="same")(-x).max() == -1


def test_max_gradient_goes_to_the_first_maximum_on_ties():
    layer = layers.MaxPooling3D()
    layer(np.zeros((1, 2, 2, 2, 1), "float32"))
    grad = layer.backward(np.ones((1, 1, 1, 1, 1), "float32"))
    assert grad[0, 0, 0, 0, 0] == 1 and grad.sum() == 1


GRADIENT_CASES = [
    ("maxpool3d_overlapping_same", lambda: layers.MaxPooling3D(2, strides=1, padding="same"), (2, 3, 3, 2, 2)),
    ("avgpool3d_same_strided", lambda: layers.AveragePooling3D((2, 3, 2), strides=2, padding="same"),
     (2, 3, 4, 3, 2)),
    ("maxpool3d_cf", lambda: layers.MaxPooling3D((1, 2, 2), data_format="channels_first"), (2, 2, 2, 4, 4)),
    ("gap3d_keepdims", lambda: layers.GlobalAveragePooling3D(keepdims=True), (2, 2, 3, 2, 3)),
    ("gmp3d_cf", lambda: layers.GlobalMaxPooling3D(data_format="channels_first"), (2, 3, 2, 3, 2)),
]


@pytest.mark.parametrize("name, make_layer, shape", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradients(name, make_layer, shape, rng):
    check_layer(make_layer(), rng.standard_normal(shape), rng)


def test_config_and_keras_names():
    config = layers.MaxPooling3D((2, 1, 2), padding="same").get_config()
    assert config["pool_size"] == (2, 1, 2) and config["strides"] == (2, 1, 2) and config["padding"] == "same"
    assert layers.MaxPool3D is layers.MaxPooling3D and layers.AvgPool3D is layers.AveragePooling3D
    assert layers.GlobalAvgPool3D is layers.GlobalAveragePooling3D
    assert layers.GlobalMaxPool3D is layers.GlobalMaxPooling3D
    with pytest.raises(ValueError, match=r"\(batch, depth, height, width, channels\)"):
        layers.GlobalMaxPooling3D()(np.zeros((2, 3, 3, 3), "float32"))
