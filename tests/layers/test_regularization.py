"""Noise and spatial dropout layers: identity at inference, noise statistics in training, whole channels
dropped, repeatable seeds, errors, and float64 gradient checks with a fixed noise draw."""

import numpy as np
import pytest
from gradcheck import check_layer as shared_check_layer

import nbtrain
from nbtrain.layers.regularization import (GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D,
                                           SpatialDropout3D)


def check_layer(layer, x, rng, training=True, seed=0):
    """Gradient check with the same noise in every forward pass (the layer's generator is reset each time)."""

    def same_noise():
        layer._rng = np.random.default_rng(seed)

    shared_check_layer(layer, x, rng, training=training, reset_noise=same_noise)


GRADIENT_CASES = [
    ("gaussian noise", lambda: GaussianNoise(0.5), (3, 4), True),
    ("gaussian noise inference", lambda: GaussianNoise(0.5), (3, 4), False),
    ("gaussian dropout", lambda: GaussianDropout(0.3), (3, 4), True),
    ("gaussian dropout inference", lambda: GaussianDropout(0.3), (3, 4), False),
    ("spatial dropout 1d", lambda: SpatialDropout1D(0.5), (3, 4, 5), True),
    ("spatial dropout 1d inference", lambda: SpatialDropout1D(0.5), (3, 4, 5), False),
    ("spatial dropout 2d", lambda: SpatialDropout2D(0.5), (2, 3, 2, 5), True),
    ("spatial dropout 2d inference", lambda: SpatialDropout2D(0.5), (2, 3, 2, 5), False),
    ("spatial dropout 2d channels_first", lambda: SpatialDropout2D(0.5, data_format="channels_first"), (2, 5, 3, 2),
     True),
    ("spatial dropout 3d", lambda: SpatialDropout3D(0.5), (2, 2, 3, 2, 4), True),
]


@pytest.mark.parametrize("name, make_layer, shape, training", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradients_with_fixed_noise(name, make_layer, shape, training, rng):
    check_layer(make_layer(), rng.standard_normal(shape), rng, training=training)


@pytest.mark.parametrize("layer", [GaussianNoise(1.0), GaussianDropout(0.5), SpatialDropout1D(0.5),
                                   SpatialDropout2D(0.5)])
def test_identity_at_inference(layer, rng):
    x = rng.standard_normal((2, 3, 4, 5)[: 4 if isinstance(layer, SpatialDropout2D) else 3]).astype(np.float32)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))


def test_gaussian_noise_statistics_and_dtype():
    out = GaussianNoise(0.5, seed=1)(np.zeros((200, 100), np.float32), training=True)
    assert out.dtype == np.float32
    assert abs(out.mean()) < 0.01 and abs(out.std() - 0.5) < 0.01


def test_gaussian_dropout_statistics():
    out = GaussianDropout(0.2, seed=1)(np.ones((200, 100), np.float32), training=True)
    assert abs(out.mean() - 1) < 0.01 and abs(out.std() - np.sqrt(0.2 / 0.8)) < 0.01


def test_channels_first_spatial_dropout_drops_whole_channels_of_axis_1():
    out = SpatialDropout3D(0.3, seed=2, data_format="channels_first")(np.ones((50, 40, 2, 3, 2), np.float32),
                                                                      training=True)
    per_channel = out.reshape(50, 40, -1)
    assert np.all(per_channel == per_channel[:, :, :1]) and 0 < (per_channel == 0).mean() < 1


@pytest.mark.parametrize("layer_class, shape", [(SpatialDropout1D, (50, 7, 40)), (SpatialDropout2D, (50, 3, 4, 40)),
                                                (SpatialDropout3D, (50, 2, 3, 2, 40))])
def test_spatial_dropout_drops_whole_channels(layer_class, shape):
    out = layer_class(0.3, seed=2)(np.ones(shape, np.float32), training=True)
    per_channel = out.reshape(shape[0], -1, shape[-1])
    # every position of a (sample, channel) pair shares one keep-or-drop decision
    assert np.all(per_channel == per_channel[:, :1, :])
    values = np.unique(per_channel)
    np.testing.assert_allclose(values, [0.0, 1 / 0.7], rtol=1e-6)
    assert abs((per_channel[:, 0] == 0).mean() - 0.3) < 0.05


def test_seeds_repeat_and_follow_set_random_seed():
    x = np.ones((4, 3, 5), np.float32)
    a = SpatialDropout1D(0.5, seed=7)(x, training=True)
    b = SpatialDropout1D(0.5, seed=7)(x, training=True)
    np.testing.assert_array_equal(a, b)
    nbtrain.utils.set_random_seed(3)
    c = GaussianNoise(1.0)(x, training=True)
    nbtrain.utils.set_random_seed(3)
    np.testing.assert_array_equal(c, GaussianNoise(1.0)(x, training=True))


def test_errors():
    with pytest.raises(ValueError, match=r"\(batch, height, width, channels\).*Dropout"):
        SpatialDropout2D(0.5)(np.zeros((2, 3, 4), np.float32), training=True)
    with pytest.raises(ValueError, match=r"\(batch, steps, channels\)"):
        SpatialDropout1D(0.5).build((None, 4))
    with pytest.raises(ValueError, match="rate"):
        SpatialDropout1D(1.5)
    with pytest.raises(ValueError, match="stddev"):
        GaussianNoise(-1)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        GaussianDropout(1)
    with pytest.raises(ValueError, match="Did you mean 'channels_first'"):
        SpatialDropout2D(0.5, data_format="channels_frist")


def test_configs_round_trip():
    layer = SpatialDropout2D(0.25, seed=4, name="sd")
    config = layer.get_config()
    assert config["rate"] == 0.25 and config["seed"] == 4 and "noise_shape" not in config
    assert SpatialDropout2D.from_config(config | {"name": "sd2"}).rate == 0.25
    assert SpatialDropout1D.from_config(SpatialDropout1D(0.1).get_config() | {"name": "x"}).rate == 0.1
    assert GaussianNoise.from_config(GaussianNoise(0.3).get_config() | {"name": "g"}).stddev == 0.3
    assert "stddev=0.3" in repr(GaussianNoise(0.3))
