"""Noise and structured dropout layers, active only in training: GaussianNoise, GaussianDropout,
SpatialDropout1D and SpatialDropout2D."""

from __future__ import annotations

import numpy as np

from nbtrain.layers.core import Dropout, no_gradient, unchanged_gradient
from nbtrain.layers.data_format import ChannelsFirstBoundary, standardize_data_format
from nbtrain.layers.layer import Layer
from nbtrain.utils.checks import number
from nbtrain.utils.naming import shape_text
from nbtrain.utils.random import make_generator


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise with standard deviation ``stddev`` in training; identity otherwise.

    Args:
        stddev: standard deviation of the noise.
        seed: an int for a repeatable noise sequence; None follows ``nbtrain.utils.set_random_seed``.

    Example:
        >>> layer = GaussianNoise(0.1, seed=0)
        >>> layer(np.zeros((1, 3), dtype="float32")).tolist()  # inference: unchanged
        [[0.0, 0.0, 0.0]]
        >>> layer(np.zeros((1, 3), dtype="float32"), training=True).shape
        (1, 3)
    """

    supports_masking = True

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = number(stddev, "stddev", "GaussianNoise", low=0)
        self.seed = seed
        self._rng = make_generator(seed)

    def _apply(self, x, training, need_input_grad):
        # the noise does not depend on x, so the gradient passes through unchanged
        backprop = unchanged_gradient if need_input_grad else no_gradient
        if not training or self.stddev == 0.0:
            return x, backprop
        noise = self._rng.standard_normal(x.shape, dtype=np.float64 if x.dtype == np.float64 else np.float32)
        noise *= self.stddev
        return x + noise.astype(x.dtype, copy=False), backprop

    def get_config(self):
        return super().get_config() | {"stddev": self.stddev, "seed": self.seed}

    def __repr__(self):
        return f"<GaussianNoise name={self.name!r}, stddev={self.stddev}>"


class GaussianDropout(Layer):
    """Multiplies inputs by Gaussian noise with mean 1 and variance ``rate / (1 - rate)`` in training.

    Args:
        rate: the equivalent dropout rate, in [0, 1).
        seed: an int for a repeatable noise sequence; None follows ``nbtrain.utils.set_random_seed``.

    Example:
        >>> GaussianDropout(0.2, seed=0)(np.ones((1, 3), dtype="float32")).tolist()  # inference: unchanged
        [[1.0, 1.0, 1.0]]
    """

    supports_masking = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = number(rate, "rate", "GaussianDropout", low=0, high=1, high_open=True)
        self.seed = seed
        self._rng = make_generator(seed)

    def _apply(self, x, training, need_input_grad):
        if not training or self.rate == 0.0:
            return x, (unchanged_gradient if need_input_grad else no_gradient)
        stddev = np.sqrt(self.rate / (1.0 - self.rate))
        noise = self._rng.standard_normal(x.shape, dtype=np.float64 if x.dtype == np.float64 else np.float32)
        noise *= stddev
        noise += 1.0
        noise = noise.astype(x.dtype, copy=False)

        def backprop(grad_output):
            return grad_output * noise if need_input_grad else None

        return x * noise, backprop

    def get_config(self):
        return super().get_config() | {"rate": self.rate, "seed": self.seed}

    def __repr__(self):
        return f"<GaussianDropout name={self.name!r}, rate={self.rate}>"


class _SpatialDropout(Dropout):
    """Dropout of whole channels: one keep-or-drop draw per (sample, channel), shared by every position."""

    rank = 2

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = standardize_data_format(data_format, type(self).__name__)

    def _check_rank(self, shape):
        if len(shape) != self.rank + 2:
            layout = {1: "(batch, steps, channels)", 2: "(batch, height, width, channels)",
                      3: "(batch, depth, height, width, channels)"}[self.rank]
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' expects inputs of shape {layout} ({self.rank + 2} axes) "
                f"but got shape {shape_text(tuple(shape))}. Use Dropout for other shapes."
            )

    def build(self, input_shape):
        self._check_rank(tuple(input_shape))
        super().build(input_shape)

    def check_input_shape(self, x):
        self._check_rank(x.shape)

    def _mask_shape(self, shape):
        return (shape[0],) + (1,) * self.rank + (shape[-1],)

    def _apply(self, x, training, need_input_grad):
        self._check_rank(x.shape)
        return super()._apply(x, training, need_input_grad)

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape", None)
        return config | {"data_format": self.data_format}


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of sequences ``(batch, steps, channels)`` in training.

    Neighbouring steps are strongly correlated, so dropping single values regularizes little; this drops a
    channel at every step at once (and scales the kept ones by ``1 / (1 - rate)``).

    Args:
        rate: fraction of channels to drop, in [0, 1].
        seed: an int for a repeatable mask sequence; None follows ``nbtrain.utils.set_random_seed``.

    Example:
        >>> SpatialDropout1D(0.5, seed=1)(np.ones((2, 4, 3), dtype="float32"), training=True).shape
        (2, 4, 3)
    """

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, data_format="channels_last", **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("data_format", None)
        return config


class SpatialDropout2D(ChannelsFirstBoundary, _SpatialDropout):
    """Dropout of whole feature maps of images ``(batch, height, width, channels)`` in training.

    Args:
        rate: fraction of channels to drop, in [0, 1].
        data_format: ``'channels_last'`` (or None) only.
        seed: an int for a repeatable mask sequence; None follows ``nbtrain.utils.set_random_seed``.

    Example:
        >>> SpatialDropout2D(0.5, seed=1)(np.ones((2, 4, 4, 3), dtype="float32"), training=True).shape
        (2, 4, 4, 3)
    """

    rank = 2


class SpatialDropout3D(ChannelsFirstBoundary, _SpatialDropout):
    """Dropout of whole feature maps of volumes ``(batch, depth, height, width, channels)`` in training.

    Args:
        rate: fraction of channels to drop, in [0, 1].
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        seed: an int for a repeatable mask sequence; None follows ``nbtrain.utils.set_random_seed``.

    Example:
        >>> SpatialDropout3D(0.5, seed=1)(np.ones((2, 3, 4, 4, 3), dtype="float32"), training=True).shape
        (2, 3, 4, 4, 3)
    """

    rank = 3


__all__ = ["GaussianDropout", "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"]
