"""data_format='channels_first' (one boundary for every image layer), nbtrain.config's image_data_format, and
grouped convolutions: gradients, the layout contract, and the errors. Keras's numbers for the same layers are in
test_keras_conv_reference.py."""

import numpy as np
import pytest
from gradcheck import check_layer

import nbtrain
from nbtrain import layers
from nbtrain.layers.data_format import standardize_data_format

CF = {"data_format": "channels_first"}

# float64 central differences with a random upstream gradient, for every layer kind the boundary wraps
GRADIENT_CASES = [
    ("conv2d_cf", lambda: layers.Conv2D(3, 3, strides=2, padding="same", activation="tanh", **CF), (2, 2, 5, 4)),
    ("conv2d_cf_softmax", lambda: layers.Conv2D(3, 2, activation="softmax", **CF), (2, 2, 3, 4)),
    ("conv1d_cf_causal", lambda: layers.Conv1D(2, 3, padding="causal", **CF), (2, 3, 6)),
    ("conv2d_transpose_cf", lambda: layers.Conv2DTranspose(2, 3, strides=2, padding="same", **CF), (2, 2, 3, 2)),
    ("conv1d_transpose_cf", lambda: layers.Conv1DTranspose(2, 3, strides=2, **CF), (2, 2, 4)),
    ("depthwise2d_cf", lambda: layers.DepthwiseConv2D(2, depth_multiplier=2, **CF), (2, 2, 4, 3)),
    ("separable1d_cf", lambda: layers.SeparableConv1D(3, 2, padding="same", **CF), (2, 2, 5)),
    ("maxpool2d_cf", lambda: layers.MaxPooling2D(2, padding="same", **CF), (2, 2, 5, 3)),
    ("avgpool1d_cf", lambda: layers.AveragePooling1D(3, strides=2, padding="same", **CF), (2, 2, 7)),
    ("gmp2d_cf", lambda: layers.GlobalMaxPooling2D(keepdims=True, **CF), (2, 3, 3, 2)),
    ("gap1d_cf", lambda: layers.GlobalAveragePooling1D(**CF), (2, 3, 4)),
    ("zeropad2d_cf", lambda: layers.ZeroPadding2D(((1, 0), (0, 2)), **CF), (2, 2, 3, 2)),
    ("crop2d_cf", lambda: layers.Cropping2D(((1, 0), (0, 1)), **CF), (2, 2, 4, 3)),
    ("upsample2d_cf_bilinear", lambda: layers.UpSampling2D(2, interpolation="bilinear", **CF), (2, 2, 2, 3)),
    ("conv2d_groups2", lambda: layers.Conv2D(4, 3, padding="same", groups=2, activation="relu"), (2, 4, 3, 4)),
    ("conv2d_groups3_strided_dilated", lambda: layers.Conv2D(3, 2, strides=(1, 2), dilation_rate=(2, 1), groups=3),
     (2, 5, 5, 3)),
    ("conv1d_groups2_cf", lambda: layers.Conv1D(4, 2, groups=2, **CF), (2, 4, 5)),
]


@pytest.mark.parametrize("name, make_layer, shape", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradients(name, make_layer, shape, rng):
    check_layer(make_layer(), rng.standard_normal(shape), rng)


LAYOUT_CASES = [
    lambda f: layers.Conv2D(4, 3, strides=2, padding="same", data_format=f),
    lambda f: layers.SeparableConv2D(3, 2, depth_multiplier=2, data_format=f),
    lambda f: layers.Conv1DTranspose(2, 3, strides=2, data_format=f),
    lambda f: layers.AveragePooling2D(3, strides=1, padding="same", data_format=f),
    lambda f: layers.UpSampling2D((1, 2), data_format=f),
    lambda f: layers.Conv3D(2, 2, data_format=f),
]


@pytest.mark.parametrize("make", LAYOUT_CASES)
def test_channels_first_is_channels_last_with_the_axis_moved(make, rng):
    last, first = make("channels_last"), make("channels_first")
    x = rng.standard_normal((2, 5, 6, 3) if last.rank == 2 else (2, 5, 3) if last.rank == 1 else (2, 3, 4, 3, 2))
    x = x.astype("float32")
    x_first = np.moveaxis(x, -1, 1)
    y_last = last(x)
    first.ensure_built((None,) + x_first.shape[1:])
    first.set_weights(last.get_weights())        # the weights are the same, whichever the layout (as in Keras)
    np.testing.assert_allclose(first(x_first), np.moveaxis(y_last, -1, 1), rtol=1e-6, atol=1e-6)
    assert first.output_shape == (None, y_last.shape[-1]) + y_last.shape[1:-1]
    assert first.input_shape == (None,) + x_first.shape[1:]


def test_a_final_channels_first_softmax_fuses_with_crossentropy(rng):
    """The fused path hands dL/dlogits to from_preactivation in the output's own layout."""
    layer = layers.Conv2D(3, 1, activation="softmax", **CF)
    x = rng.standard_normal((2, 2, 3, 3)).astype("float32")
    layer.ensure_built(x.shape)
    y, backprop = layer._apply(x, False, True)
    np.testing.assert_allclose(y.sum(axis=-1), 1, rtol=1e-5)     # softmax over the last axis, as Keras
    grad_logits = rng.standard_normal(y.shape).astype("float32")
    assert backprop(grad_logits).shape == x.shape
    # a 1x1 convolution: dL/dx at each pixel is kernel @ dL/dlogits there
    kernel = layer.get_weights()[0][0, 0]                          # (in_channels, filters)
    expected = np.einsum("cf,nfhw->nchw", kernel, grad_logits)
    np.testing.assert_allclose(backprop.from_preactivation(grad_logits), expected, rtol=1e-5, atol=1e-6)


def test_a_channels_first_cnn_trains_and_saves(tmp_path, rng):
    model = nbtrain.Sequential([layers.Input((1, 8, 8)), layers.Conv2D(4, 3, activation="relu", **CF),
                                layers.MaxPooling2D(**CF), layers.Conv2D(4, 3, groups=2, padding="same", **CF),
                                layers.GlobalAveragePooling2D(**CF), layers.Dense(2, activation="softmax")])
    x = rng.standard_normal((32, 1, 8, 8)).astype("float32")
    y = (x[:, 0, :4].mean(axis=(1, 2)) > 0).astype("int64")
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "cf.keras")
    loaded = nbtrain.models.load_model(tmp_path / "cf.keras")
    assert loaded.layers[0].data_format == "channels_first" and loaded.layers[2].groups == 2
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_image_data_format_is_the_default_of_new_layers():
    assert nbtrain.config.image_data_format() == "channels_last"
    nbtrain.config.set_image_data_format("channels_first")
    try:
        assert nbtrain.backend.image_data_format() == "channels_first"
        assert layers.MaxPooling2D().data_format == "channels_first"
        assert layers.Flatten().data_format == "channels_first"
        assert layers.Conv2D(2, 3, data_format="channels_last").data_format == "channels_last"
    finally:
        nbtrain.config.set_image_data_format("channels_last")
    assert layers.Conv2D(2, 3).data_format == "channels_last"
    with pytest.raises(ValueError, match="Did you mean 'channels_first'"):
        nbtrain.config.set_image_data_format("channel_first")


def test_flatten_of_channels_first_maps_flattens_in_channels_last_order(rng):
    x = rng.standard_normal((2, 3, 2, 4)).astype("float32")
    layer = layers.Flatten(**CF)
    np.testing.assert_array_equal(layer(x), np.moveaxis(x, 1, -1).reshape(2, -1))
    check_layer(layers.Flatten(**CF), rng.standard_normal((2, 3, 2, 2)), rng)


def test_standardize_data_format():
    assert standardize_data_format("Channels_Last", "Conv2D") == "channels_last"
    with pytest.raises(ValueError, match=r"Conv2D\(\) got data_format='nchw'"):
        standardize_data_format("nchw", "Conv2D")


def test_channels_first_errors_name_the_layout(rng):
    layer = layers.Conv2D(2, 3, **CF)
    with pytest.raises(ValueError, match=r"\(batch, channels, height, width\)"):
        layer(np.zeros((2, 5, 5), "float32"))
    layer(np.zeros((2, 3, 5, 5), "float32"))
    with pytest.raises(ValueError, match=r"built for 3 input channels \(axis 1"):
        layer(np.zeros((2, 4, 5, 5), "float32"))


def test_groups_checks_as_keras():
    with pytest.raises(ValueError, match="filters must be divisible by groups"):
        layers.Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match="groups to be a positive integer"):
        layers.Conv1D(4, 3, groups=0)
    with pytest.raises(ValueError, match="input channels must be divisible by 2; got 3 channels"):
        layers.Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), "float32"))
    layer = layers.Conv2D(6, (3, 2), groups=3)
    layer(np.zeros((1, 5, 5, 3), "float32"))
    assert layer.get_weights()[0].shape == (3, 2, 1, 6) and layer.get_config()["groups"] == 3
    for transpose in (layers.Conv2DTranspose, layers.Conv1DTranspose, layers.Conv3DTranspose):
        with pytest.raises(TypeError, match="'groups'"):
            transpose(2, 3, groups=2)


def test_groups_equal_separate_convolutions_side_by_side(rng):
    x = rng.standard_normal((2, 6, 6, 4)).astype("float32")
    grouped = layers.Conv2D(6, 3, groups=2, padding="same")
    grouped(x)
    kernel, bias = grouped.get_weights()
    halves = []
    for g in range(2):
        single = layers.Conv2D(3, 3, padding="same")
        single(x[..., :2])
        single.set_weights([kernel[..., g * 3:(g + 1) * 3], bias[g * 3:(g + 1) * 3]])
        halves.append(single(x[..., g * 2:(g + 1) * 2]))
    np.testing.assert_allclose(grouped(x), np.concatenate(halves, axis=-1), rtol=1e-5, atol=1e-6)
