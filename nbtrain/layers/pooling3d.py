"""3-D pooling over volumes ``(batch, depth, height, width, channels)``: MaxPooling3D, AveragePooling3D and the
global 3-D pooling layers.

The same algorithm as the 2-D pooling layers (:mod:`nbtrain.layers.pooling`), on the volume window helpers of
:mod:`nbtrain.layers.convolutional3d`: a loop over the offsets inside one window (8 for a 2x2x2 pool), each
step one vectorised operation on every output position.
"""

from __future__ import annotations

import numpy as np

from nbtrain.layers.convolutional import window_geometry
from nbtrain.layers.convolutional3d import nd_geometry, nd_inner, nd_offset_view, nd_pad
from nbtrain.layers.data_format import ChannelsFirstBoundary
from nbtrain.layers.layer import LAYERS
from nbtrain.layers.pooling import _GlobalAverage, _GlobalMax, _Pooling


class _Pooling3D(_Pooling):
    """Shared code of MaxPooling3D and AveragePooling3D (channels_last); subclasses define ``_pool_volumes``."""

    rank = 3
    default_pool_size = (2, 2, 2)

    def _geometry(self, spatial):
        return nd_geometry(spatial, self.pool_size, self.strides, (1, 1, 1), self.padding)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        self._check_fits(input_shape[1:-1])
        out = tuple(window_geometry(size, p, s, 1, self.padding)[0]
                    for size, p, s in zip(input_shape[1:-1], self.pool_size, self.strides))
        return (input_shape[0],) + out + (input_shape[-1],)

    def _apply(self, x, training, need_input_grad):
        self._check_rank(x.shape)
        self._check_fits(x.shape[1:-1])
        out, unpool = self._pool_volumes(x, self._geometry(x.shape[1:-1]))

        def backprop(grad_output):
            return unpool(grad_output) if need_input_grad else None

        return out, backprop

    def _pool_volumes(self, x, geometry):
        """Pool ``x``: returns the output and ``unpool(grad)``, the gradient for ``x``."""
        raise NotImplementedError


class MaxPooling3D(ChannelsFirstBoundary, _Pooling3D):
    """Takes the maximum of each ``pool_size`` window of volumes ``(batch, depth, height, width, channels)``.

    The gradient flows to the window's largest input (the first one on ties, as in TensorFlow).

    Args:
        pool_size: an int or a triple, default ``(2, 2, 2)``.
        strides: an int or a triple; None means ``pool_size``.
        padding: ``'valid'`` or ``'same'`` (windows at the border see only real values).
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.

    Example:
        >>> MaxPooling3D()(np.arange(8, dtype="float32").reshape(1, 2, 2, 2, 1)).ravel()
        array([7.], dtype=float32)
    """

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    def _pool_volumes(self, x, geometry):
        # padding with -inf lets a 'same' border window pick among its real values only
        xp = nd_pad(x, geometry, value=-np.inf)
        offsets = list(geometry.offsets())
        out = nd_offset_view(xp, offsets[0], geometry).copy()
        # the index of each window's first maximum: offsets come in increasing order, so it is the last offset
        # that was strictly greater than everything before it
        winner = np.zeros(out.shape, dtype=np.uint8 if len(offsets) < 256 else np.int32)
        greater = np.empty(out.shape, dtype=bool)
        for k, offset in enumerate(offsets[1:], start=1):
            view = nd_offset_view(xp, offset, geometry)
            np.greater(view, out, out=greater)
            np.maximum(out, view, out=out)
            winner[greater] = k
        padded_shape, inner = xp.shape, nd_inner(x.shape, geometry)

        def unpool(grad):
            grad_padded = np.zeros(padded_shape, dtype=grad.dtype)
            for k, offset in enumerate(offsets):
                view = nd_offset_view(grad_padded, offset, geometry)
                view += grad * (winner == k)
            return grad_padded[inner] if geometry.padded else grad_padded

        return out, unpool


class AveragePooling3D(ChannelsFirstBoundary, _Pooling3D):
    """Averages each ``pool_size`` window of volumes ``(batch, depth, height, width, channels)``.

    With ``padding='same'`` a border window averages its real values only (padding is not counted), as Keras.

    Args:
        pool_size: an int or a triple, default ``(2, 2, 2)``.
        strides: an int or a triple; None means ``pool_size``.
        padding: ``'valid'`` or ``'same'``.
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.

    Example:
        >>> AveragePooling3D()(np.arange(8, dtype="float32").reshape(1, 2, 2, 2, 1)).ravel()
        array([3.5], dtype=float32)
    """

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    def _pool_volumes(self, x, geometry):
        xp = nd_pad(x, geometry, value=0.0)
        offsets = list(geometry.offsets())
        out = np.zeros((x.shape[0],) + geometry.out + (x.shape[-1],), dtype=x.dtype)
        for offset in offsets:
            out += nd_offset_view(xp, offset, geometry)
        counts = self._window_counts(x.shape, geometry, out.dtype)
        out /= counts
        padded_shape, inner = xp.shape, nd_inner(x.shape, geometry)

        def unpool(grad):
            grad_padded = np.zeros(padded_shape, dtype=grad.dtype)
            share = grad / counts
            for offset in offsets:
                view = nd_offset_view(grad_padded, offset, geometry)
                view += share
            return grad_padded[inner] if geometry.padded else grad_padded

        return out, unpool

    @staticmethod
    def _window_counts(shape, geometry, dtype):
        """How many real (unpadded) values each output window covers: ``(1, *out, 1)`` or a scalar."""
        if not geometry.padded:
            return dtype.type(np.prod(geometry.window))
        ones = nd_pad(np.ones((1,) + tuple(shape[1:-1]) + (1,), dtype=dtype), geometry, value=0.0)
        counts = np.zeros((1,) + geometry.out + (1,), dtype=dtype)
        for offset in geometry.offsets():
            counts += nd_offset_view(ones, offset, geometry)
        return counts


class GlobalAveragePooling3D(ChannelsFirstBoundary, _GlobalAverage):
    """Averages each channel over a whole volume: ``(batch, d, h, w, c)`` becomes ``(batch, c)``.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        keepdims: keep the spatial axes with size 1, giving ``(batch, 1, 1, 1, c)``.

    Example:
        >>> GlobalAveragePooling3D()(np.ones((2, 3, 3, 3, 4), dtype="float32")).shape
        (2, 4)
    """

    rank = 3


class GlobalMaxPooling3D(ChannelsFirstBoundary, _GlobalMax):
    """Takes the maximum of each channel over a whole volume: ``(batch, d, h, w, c)`` becomes ``(batch, c)``.

    On ties the gradient is shared equally among the maxima (TensorFlow's rule for ``reduce_max``).

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        keepdims: keep the spatial axes with size 1.

    Example:
        >>> GlobalMaxPooling3D()(np.arange(16, dtype="float32").reshape(1, 2, 2, 2, 2))
        array([[14., 15.]], dtype=float32)
    """

    rank = 3


# Keras's other names for the same classes
MaxPool3D = LAYERS.register("MaxPool3D")(MaxPooling3D)
AvgPool3D = LAYERS.register("AvgPool3D")(AveragePooling3D)
GlobalAvgPool3D = LAYERS.register("GlobalAvgPool3D")(GlobalAveragePooling3D)
GlobalMaxPool3D = LAYERS.register("GlobalMaxPool3D")(GlobalMaxPooling3D)

__all__ = ["AveragePooling3D", "AvgPool3D", "GlobalAveragePooling3D", "GlobalAvgPool3D", "GlobalMaxPool3D",
           "GlobalMaxPooling3D", "MaxPool3D", "MaxPooling3D"]
