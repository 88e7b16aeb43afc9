"""Conv3D, Conv3DTranspose, ZeroPadding3D, UpSampling3D: against explicit loops, float64 gradient checks, errors.
Keras's numbers for the same layers are in test_keras_conv_reference.py."""

import itertools

import numpy as np
import pytest
from gradcheck import check_layer

from nbtrain import layers
from nbtrain.layers.convolutional3d import nd_geometry, nd_offset_view, nd_window_view


def naive_conv3d(x, kernel, bias, strides, dilation):
    """'valid' 3-D cross-correlation by explicit loops over output voxels."""
    n, d, h, w, _ = x.shape
    kd, kh, kw, _, filters = kernel.shape
    spans = [r * (k - 1) + 1 for k, r in zip((kd, kh, kw), dilation)]
    out = [(size - span) // s + 1 for size, span, s in zip((d, h, w), spans, strides)]
    y = np.zeros((n, *out, filters))
    for a, b, c in itertools.product(*map(range, out)):
        window = x[:, a * strides[0]:a * strides[0] + spans[0]:dilation[0],
                   b * strides[1]:b * strides[1] + spans[1]:dilation[1],
                   c * strides[2]:c * strides[2] + spans[2]:dilation[2], :]
        y[:, a, b, c] = np.einsum("ndhwc,dhwcf->nf", window, kernel) + bias
    return y


@pytest.mark.parametrize("strides, dilation", [((1, 1, 1), (1, 1, 1)), ((2, 1, 2), (1, 2, 1))])
def test_conv3d_matches_explicit_loops(strides, dilation, rng):
    x = rng.standard_normal((2, 6, 5, 6, 3))
    layer = layers.Conv3D(4, (2, 3, 2), strides=strides, dilation_rate=dilation)
    layer(x.astype("float32"))
    layer.cast_weights(np.float64)
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(layer(x), naive_conv3d(x, kernel, bias, strides, dilation), rtol=1e-10)


def test_window_helpers_read_the_right_voxels(rng):
    x = rng.standard_normal((1, 5, 4, 6, 2))
    geometry = nd_geometry(x.shape[1:-1], (2, 2, 3), (2, 1, 2), (1, 2, 1), "valid")
    windows = nd_window_view(x, geometry)
    assert windows.shape == (1,) + geometry.out + (2, 2, 3, 2)
    np.testing.assert_array_equal(windows[0, 1, 0, 1, 1, 1, 2], x[0, 2 + 1, 0 + 2, 2 + 2])
    np.testing.assert_array_equal(nd_offset_view(x, (1, 1, 2), geometry), windows[:, :, :, :, 1, 1, 2])


def test_conv3d_transpose_is_the_adjoint_of_conv3d(rng):
    conv = layers.Conv3D(3, 3, strides=2, padding="same", use_bias=False)
    transpose = layers.Conv3DTranspose(2, 3, strides=2, padding="same", use_bias=False)
    x, y = rng.standard_normal((1, 4, 6, 4, 2)), rng.standard_normal((1, 2, 3, 2, 3))
    conv(x.astype("float32"))
    transpose(y.astype("float32"))
    transpose.set_weights(conv.get_weights())        # (k, k, k, 2, 3) is (..., filters, in_channels) for it
    conv.cast_weights(np.float64)
    transpose.cast_weights(np.float64)
    # <conv(x), y> == <x, conv_transpose(y)>
    np.testing.assert_allclose(np.sum(conv(x) * y), np.sum(x * transpose(y)), rtol=1e-10)


GRADIENT_CASES = [
    ("conv3d_same", lambda: layers.Conv3D(2, (2, 3, 2), strides=(1, 2, 1), padding="same", activation="tanh"),
     (2, 3, 4, 3, 2)),
    ("conv3d_dilated_groups", lambda: layers.Conv3D(4, 2, dilation_rate=(2, 1, 1), groups=2), (1, 4, 3, 3, 4)),
    ("conv3d_cf", lambda: layers.Conv3D(2, 2, data_format="channels_first"), (2, 2, 3, 3, 2)),
    ("conv3d_transpose_same", lambda: layers.Conv3DTranspose(2, 3, strides=2, padding="same"), (1, 2, 2, 3, 2)),
    ("conv3d_transpose_valid_cf", lambda: layers.Conv3DTranspose(2, 2, strides=(1, 2, 1), data_format="channels_first"),
     (1, 2, 2, 2, 3)),
    ("zeropad3d", lambda: layers.ZeroPadding3D(((1, 0), (0, 1), (2, 0))), (2, 2, 2, 3, 2)),
    ("upsample3d_cf", lambda: layers.UpSampling3D((2, 1, 3), data_format="channels_first"), (2, 2, 2, 3, 2)),
    ("cropping3d", lambda: layers.Cropping3D(((1, 0), (0, 1), (1, 1))), (2, 3, 3, 4, 2)),
]


@pytest.mark.parametrize("name, make_layer, shape", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradients(name, make_layer, shape, rng):
    check_layer(make_layer(), rng.standard_normal(shape), rng)


def test_errors_name_volumes():
    with pytest.raises(ValueError, match=r"\(batch, depth, height, width, channels\).*add a channel axis"):
        layers.Conv3D(2, 3)(np.zeros((2, 5, 5, 5), "float32"))
    with pytest.raises(ValueError, match="kernel_size"):
        layers.Conv3D(2, (3, 3))
    with pytest.raises(ValueError, match="kernel 3x3x3"):
        layers.Conv3D(2, 3)(np.zeros((1, 2, 5, 5, 1), "float32"))
    with pytest.raises(ValueError, match="interpolation='nearest'"):
        layers.UpSampling3D(interpolation="bilinear")


def test_keras_names_and_defaults():
    assert layers.Convolution3D is layers.Conv3D and layers.Convolution3DTranspose is layers.Conv3DTranspose
    assert layers.ZeroPadding3D().padding == ((1, 1),) * 3 and layers.UpSampling3D().size == (2, 2, 2)
    assert layers.Cropping3D().cropping == ((1, 1),) * 3
    from nbtrain.layers.serialization import deserialize, serialize
    layer = layers.Conv3D(2, 3, groups=1, data_format="channels_first")
    assert type(deserialize(serialize(layer))) is layers.Conv3D


def test_a_3d_cnn_trains_summarises_saves_and_loads(tmp_path, rng):
    import nbtrain

    inputs = layers.Input((4, 6, 6, 1))
    hidden = layers.Conv3D(4, 3, padding="same", activation="relu")(inputs)
    hidden = layers.MaxPooling3D((1, 2, 2))(hidden)
    hidden = layers.Conv3D(4, 2, groups=2)(hidden)
    hidden = layers.UpSampling3D((1, 2, 2))(layers.ZeroPadding3D(((0, 1), (0, 1), (0, 1)))(hidden))
    outputs = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling3D()(hidden))
    model = nbtrain.Model(inputs, outputs)
    x = rng.standard_normal((24, 4, 6, 6, 1)).astype("float32")
    y = (x[:, :2].mean(axis=(1, 2, 3, 4)) > 0).astype("int64")
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    lines = []
    model.summary(print_fn=lines.append)
    assert "Conv3D" in "\n".join(lines) and "(None, 4, 6, 6, 4)" in "\n".join(lines)
    model.save(tmp_path / "volumes.keras")
    loaded = nbtrain.models.load_model(tmp_path / "volumes.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
