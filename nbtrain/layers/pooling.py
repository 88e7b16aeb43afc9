"""Pooling layers (channels_last): max and average pooling over windows, and global pooling.

Window pooling loops over the offsets inside one window (4 for a 2x2 pool), each step a vectorised
operation on every output position at once, so no loop ever runs over pixels. 1-D layers reuse the
2-D code on a height-1 view of their input. ``data_format="channels_first"`` is handled at each public layer's
boundary (:mod:`nbtrain.layers.data_format`); the 3-D layers are in :mod:`nbtrain.layers.pooling3d`.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from nbtrain.layers.convolutional import (
    batch_blocks,
    make_geometry,
    normalize_padding,
    normalize_tuple,
    offset_view,
    pad_spatial,
    spatial_rank_error,
    tiles_view,
    unpad_spatial,
)
from nbtrain.layers.data_format import ChannelsFirstBoundary, computes_as, standardize_data_format
from nbtrain.layers.layer import LAYERS, Layer


class _Pooling(Layer):
    """Shared code of the window pooling layers; subclasses define ``_pool`` (which returns the pooled images
    and the function taking their gradient back to the input images)."""

    rank = 2
    default_pool_size = (2, 2)

    def __init__(self, pool_size=None, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.pool_size = normalize_tuple(self.default_pool_size if pool_size is None else pool_size,
                                         self.rank, "pool_size", kind)
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, self.rank, "strides", kind)
        self.padding = normalize_padding(padding, kind)
        self.data_format = standardize_data_format(data_format, kind)

    def _as_2d(self, values, fill) -> tuple:
        return tuple(values) if self.rank == 2 else (fill,) + tuple(values)

    def _spatial_geometry(self, spatial):
        height, width = self._as_2d(spatial, 1)
        return make_geometry(height, width, self._as_2d(self.pool_size, 1), self._as_2d(self.strides, 1),
                             (1, 1), self._as_2d((self.padding,) * self.rank, "valid"))

    def _check_fits(self, spatial) -> None:
        if self.padding == "valid" and any(s is not None and s < p for s, p in zip(spatial, self.pool_size)):
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' with padding='valid' needs inputs at least as large "
                f"as its pool {'x'.join(map(str, self.pool_size))}, but got spatial size "
                f"{'x'.join(map(str, spatial))}. Use padding='same', a smaller pool_size, or fewer pooling layers."
            )

    def _check_rank(self, shape) -> None:
        if len(shape) != self.rank + 2:
            raise spatial_rank_error(self, shape, self.rank)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        self._check_fits(input_shape[1:-1])
        out = self._spatial_geometry(input_shape[1:-1]).out
        return (input_shape[0],) + out[2 - self.rank:] + (input_shape[-1],)

    def check_input_shape(self, x):
        self._check_rank(x.shape)

    def _apply(self, x, training, need_input_grad):
        self._check_rank(x.shape)
        self._check_fits(x.shape[1:-1])
        x4 = x if self.rank == 2 else x[:, np.newaxis]
        out, unpool = self._pool(x4, self._spatial_geometry(x.shape[1:-1]))
        shape = x.shape

        def backprop(grad_output):
            if not need_input_grad:
                return None
            g4 = grad_output if self.rank == 2 else grad_output[:, np.newaxis]
            return unpool(g4).reshape(shape)

        return (out if self.rank == 2 else out[:, 0]), backprop

    def _pool(self, x4, geometry):
        """Pool 2-D images ``x4``: returns the output and ``unpool(g4)``, the gradient for ``x4``."""
        raise NotImplementedError

    @property
    def tiles_windows(self) -> bool:
        """Whether the windows tile the input: stride equals pool size, no padding."""
        return self.padding == "valid" and tuple(self.strides) == tuple(self.pool_size)

    def _offsets(self, geometry):
        return ((i, j) for i in range(geometry.window[0]) for j in range(geometry.window[1]))

    def get_config(self):
        return super().get_config() | {"pool_size": self.pool_size, "strides": self.strides,     # tuples, as Keras
                                       "padding": self.padding, "data_format": self.data_format}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, pool_size={self.pool_size}, padding={self.padding!r}>"


class MaxPooling2D(ChannelsFirstBoundary, _Pooling):
    """Takes the maximum of each ``pool_size`` window of images ``(batch, height, width, channels)``.

    The gradient flows to the window's largest input (the first one on ties, as in TensorFlow).

    Args:
        pool_size: an int or a pair, default ``(2, 2)``.
        strides: an int or a pair; None means ``pool_size`` (non-overlapping windows).
        padding: ``'valid'`` or ``'same'`` (windows at the border see only real pixels).
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.

    Example:
        >>> MaxPooling2D()(np.arange(16, dtype="float32").reshape(1, 4, 4, 1))[0, :, :, 0]
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    @property
    def tiles_by_maximum(self) -> bool:
        """Whether this is a plain max pool over tiling windows (a Conv before it may pool its pre-activation,
        see Conv2D.pools_before_activation); a subclass that changes how it pools is not."""
        return (self.tiles_windows and type(self)._pool is MaxPooling2D._pool
                and computes_as(type(self), "_apply", _Pooling))

    def _pool(self, x4, geometry):
        if geometry.strides == geometry.window and not geometry.padded:
            return self._pool_tiles(x4, geometry)
        # padding with -inf lets a 'same' border window pick among its real pixels only
        xp = pad_spatial(x4, geometry, value=-np.inf)
        offsets = list(self._offsets(geometry))
        out = offset_view(xp, *offsets[0], geometry).copy()
        # Which offset holds each window's first maximum (TensorFlow routes the gradient there on ties).
        # Offsets are visited in increasing order, so "the last offset that was strictly greater" is a running
        # maximum of k * greater: branch-free arithmetic, where masked assignments would mispredict.
        winner = np.zeros(out.shape, dtype=np.uint8 if len(offsets) < 256 else np.int32)
        greater = np.empty(out.shape, dtype=bool)
        candidate = np.empty(out.shape, dtype=winner.dtype)
        for k, (i, j) in enumerate(offsets[1:], start=1):
            view = offset_view(xp, i, j, geometry)
            np.greater(view, out, out=greater)
            np.maximum(out, view, out=out)
            np.multiply(greater, winner.dtype.type(k), out=candidate)
            np.maximum(winner, candidate, out=winner)
        return out, partial(self._unpool, geometry, winner, xp.shape, x4.shape[1:3])

    def _pool_tiles(self, x4, geometry, scratch=None, positive_only: bool = False):
        """The common case (windows tile the image: strides == pool_size, 'valid'): a strided view puts each
        window's rows and columns on axes of their own, so the maximum is a few passes over whole image rows.
        A block of images at a time: its window maxima and winners are found while it is in the CPU's cache.
        ``scratch``: a ScratchArrays to take the winners' array from (it goes back when the unpool is gone).
        ``positive_only``: windows whose maximum is not above 0 have no winner (their gradient is 0, as a
        relu after the pool would make it), so the unpool also does the relu's backward pass."""
        out, winners, unpool = self._tile_pooling_arrays(x4.shape, x4.dtype, geometry, scratch)
        tiles = tiles_view(x4, geometry)
        for block in batch_blocks(x4):
            self._pool_tile_block(tiles[block], out[block], winners[:, block], positive_only)
        return out, unpool

    def _tile_pooling_arrays(self, shape, dtype, geometry, scratch=None):
        """For tiling windows over images of ``shape``: the output, the winners (``winners[k]``: offset k has
        the window's gradient) and the unpool function reading them (see :meth:`_pool_tiles`)."""
        out = np.empty((shape[0],) + geometry.out + (shape[-1],), dtype=dtype)
        winners_shape = (geometry.window[0] * geometry.window[1],) + out.shape
        winners = np.empty(winners_shape, dtype=bool) if scratch is None else scratch.take(winners_shape, bool)
        unpool = partial(self._unpool_tiles, geometry, winners, tuple(shape))
        if scratch is not None:
            scratch.return_when_gone(unpool, winners)
        return out, winners, unpool

    def _pool_tile_block(self, tiles, out, winners, positive_only: bool = False) -> None:
        """Window maxima and winners of a block of images (``tiles``: their :func:`tiles_view`)."""
        self._tile_maxima(tiles, out)
        offsets = [(i, j) for i in range(tiles.shape[2]) for j in range(tiles.shape[4])]
        _first_maxima(tiles, out, winners, offsets)
        if positive_only:
            np.logical_and(winners, out > 0, out=winners)

    @staticmethod
    def _tile_maxima(tiles, out) -> None:
        (ph, pw) = tiles.shape[2], tiles.shape[4]
        rows = tiles[:, :, 0]   # rows first: each pass reads whole image rows
        if ph > 1:
            rows = np.maximum(rows, tiles[:, :, 1])
            for i in range(2, ph):
                np.maximum(rows, tiles[:, :, i], out=rows)
        if pw == 1:
            np.copyto(out, rows[..., 0, :])
        else:
            np.maximum(rows[..., 0, :], rows[..., 1, :], out=out)
        for j in range(2, pw):
            np.maximum(out, rows[..., j, :], out=out)

    def _unpool_tiles(self, geometry, winners, shape, g4, grad=None):
        """Each window's gradient goes to its winner (see _first_maxima); ``grad``: an array of the input's
        ``shape`` to write the result to (a new one by default)."""
        if grad is None:
            grad = np.empty(shape, dtype=g4.dtype)
        (ph, pw), (oh, ow) = geometry.window, geometry.out
        if grad.shape[1] != oh * ph:   # rows and columns no window covers get no gradient
            grad[:, oh * ph:] = 0
        if grad.shape[2] != ow * pw:
            grad[:, :, ow * pw:] = 0
        grad_tiles = tiles_view(grad, geometry)
        offsets = list(self._offsets(geometry))
        for block in batch_blocks(grad):
            for k, (i, j) in enumerate(offsets):
                np.multiply(g4[block], winners[k, block], out=grad_tiles[block][:, :, i, :, j])
        return grad

    def _unpool(self, geometry, winner, padded_shape, size, g4):
        """Each window's gradient goes to its winner, then the padding is cut off again."""
        grad_padded = np.zeros(padded_shape, dtype=g4.dtype)
        (ph, pw), (sh, sw) = geometry.window, geometry.strides
        disjoint = sh >= ph and sw >= pw  # every input pixel lies in at most one window
        chosen = np.empty(g4.shape, dtype=bool)
        for k, (i, j) in enumerate(self._offsets(geometry)):
            np.equal(winner, k, out=chosen)
            view = offset_view(grad_padded, i, j, geometry)
            if disjoint:
                np.multiply(g4, chosen, out=view)
            else:
                view += g4 * chosen
        return unpad_spatial(grad_padded, geometry, *size)


def _first_maxima(tiles, out, winners, offsets) -> None:
    """``winners[k]``: the windows whose first maximum (row-major, TensorFlow's rule on ties) is at offset k.
    The offsets are visited in order, and an offset takes the windows it equals that no earlier one took."""
    taken = winners[0]
    np.equal(tiles[:, :, offsets[0][0], :, offsets[0][1]], out, out=taken)
    taken = taken.copy() if len(offsets) > 2 else taken
    for k, (i, j) in enumerate(offsets[1:], start=1):
        hit = winners[k]
        if k == len(offsets) - 1:
            np.logical_not(taken, out=hit)  # the maximum is somewhere: the last offset has what is left
            break
        np.equal(tiles[:, :, i, :, j], out, out=hit)
        np.greater(hit, taken, out=hit)   # equal here, and not taken by an earlier offset
        taken |= hit


class AveragePooling2D(ChannelsFirstBoundary, _Pooling):
    """Averages each ``pool_size`` window of images ``(batch, height, width, channels)``.

    With ``padding='same'`` a border window averages its real pixels only (padding is not counted), as Keras.

    Args:
        pool_size: an int or a pair, default ``(2, 2)``.
        strides: an int or a pair; None means ``pool_size``.
        padding: ``'valid'`` or ``'same'``.
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.

    Example:
        >>> AveragePooling2D()(np.arange(16, dtype="float32").reshape(1, 4, 4, 1))[0, :, :, 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]], dtype=float32)
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    def _window_counts(self, geometry, height, width, dtype):
        """How many real (unpadded) pixels each output window covers: ``(1, oh, ow, 1)`` or a scalar."""
        if not geometry.padded:
            return dtype.type(geometry.window[0] * geometry.window[1])
        ones = pad_spatial(np.ones((1, height, width, 1), dtype=dtype), geometry, value=0.0)
        counts = np.zeros((1,) + geometry.out + (1,), dtype=dtype)
        for i, j in self._offsets(geometry):
            counts += offset_view(ones, i, j, geometry)
        return counts

    def _pool(self, x4, geometry):
        xp = pad_spatial(x4, geometry, value=0.0)
        out = None
        for i, j in self._offsets(geometry):
            view = offset_view(xp, i, j, geometry)
            out = view.copy() if out is None else np.add(out, view, out=out)
        counts = self._window_counts(geometry, x4.shape[1], x4.shape[2], out.dtype)
        out /= counts
        return out, partial(self._unpool, geometry, counts, xp.shape, x4.shape[1:3])

    def _unpool(self, geometry, counts, padded_shape, size, g4):
        """Each window's gradient is shared by its real pixels, then the padding is cut off again."""
        grad_padded = np.zeros(padded_shape, dtype=g4.dtype)
        share = g4 / counts
        for i, j in self._offsets(geometry):
            view = offset_view(grad_padded, i, j, geometry)
            view += share
        return unpad_spatial(grad_padded, geometry, *size)


class MaxPooling1D(MaxPooling2D):
    """Takes the maximum of each ``pool_size`` window of sequences ``(batch, steps, channels)``.

    Args:
        pool_size: an int, default 2.
        strides: an int; None means ``pool_size``.
        padding: ``'valid'`` or ``'same'``.
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.

    Example:
        >>> MaxPooling1D()(np.array([[[1.0], [3.0], [2.0], [0.0]]], dtype="float32"))[0, :, 0]
        array([3., 2.], dtype=float32)
    """

    rank = 1
    default_pool_size = (2,)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(AveragePooling2D):
    """Averages each ``pool_size`` window of sequences ``(batch, steps, channels)``.

    Args:
        pool_size: an int, default 2.
        strides: an int; None means ``pool_size``.
        padding: ``'valid'`` or ``'same'`` (padding is not counted in the average).
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.

    Example:
        >>> AveragePooling1D()(np.array([[[1.0], [3.0], [2.0], [0.0]]], dtype="float32"))[0, :, 0]
        array([2., 1.], dtype=float32)
    """

    rank = 1
    default_pool_size = (2,)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


# ----------------------------------------------------------------------------------------------------------
# Global pooling
# ----------------------------------------------------------------------------------------------------------


class _GlobalPooling(Layer):
    """Shared code of the global pooling layers: reduce every spatial axis of a channels_last input."""

    rank = 2

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    @property
    def _axes(self) -> tuple:
        return tuple(range(1, self.rank + 1))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise spatial_rank_error(self, input_shape, self.rank)
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.rank + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def check_input_shape(self, x):
        if x.ndim != self.rank + 2:
            raise spatial_rank_error(self, x.shape, self.rank)

    def _kept(self, grad_output):
        """The gradient with the spatial axes restored (size 1), ready to broadcast over the input."""
        if self.keepdims:
            return grad_output
        return grad_output.reshape((grad_output.shape[0],) + (1,) * self.rank + (grad_output.shape[-1],))

    def get_config(self):
        return super().get_config() | {"data_format": self.data_format, "keepdims": self.keepdims}


class _GlobalAverage(_GlobalPooling):
    """Averages over every spatial axis (channels_last)."""

    def _apply(self, x, training, need_input_grad):
        self.check_input_shape(x)
        shape = x.shape

        def backprop(grad_output):
            if not need_input_grad:
                return None
            count = int(np.prod(shape[1:-1]))
            return np.broadcast_to(self._kept(grad_output) / count, shape).copy()

        return x.mean(axis=self._axes, keepdims=self.keepdims), backprop


class GlobalAveragePooling2D(ChannelsFirstBoundary, _GlobalAverage):
    """Averages each channel over all pixels: ``(batch, h, w, c)`` becomes ``(batch, c)``.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        keepdims: keep the spatial axes with size 1, giving ``(batch, 1, 1, c)``.

    Example:
        >>> GlobalAveragePooling2D()(np.ones((2, 3, 3, 4), dtype="float32")).shape
        (2, 4)
    """


class _MaskedGlobalAverage(_GlobalAverage):
    """Averages over the steps of sequences, only the real ones when a mask comes (channels_last)."""

    call_arguments = ("mask",)     # Keras's call(inputs, mask=None): layer(x, mask) passes the mask

    rank = 1
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None  # the steps axis is gone

    def _apply(self, x, training, need_input_grad, mask=None):
        if mask is None:
            return _GlobalAverage._apply(self, x, training, need_input_grad)
        self.check_input_shape(x)
        real = np.asarray(mask, dtype=x.dtype)[:, :, np.newaxis]
        # an all-padding sample averages to zero instead of 0/0
        steps = np.maximum(real.sum(axis=1, keepdims=True), 1)
        weights_per_step = real / steps

        def backprop(grad_output):
            return self._kept(grad_output) * weights_per_step if need_input_grad else None

        return (x * weights_per_step).sum(axis=1, keepdims=self.keepdims), backprop


class GlobalAveragePooling1D(ChannelsFirstBoundary, _MaskedGlobalAverage):
    """Averages each channel over all steps: ``(batch, steps, c)`` becomes ``(batch, c)``.

    With a mask (from ``Embedding(mask_zero=True)``) only the real steps are averaged, as in Keras.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        keepdims: keep the steps axis with size 1.

    Example:
        >>> GlobalAveragePooling1D()(np.ones((2, 5, 3), dtype="float32")).shape
        (2, 3)
    """

    rank = 1

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)


class _GlobalMax(_GlobalPooling):
    """Takes the maximum over every spatial axis (channels_last)."""

    def _apply(self, x, training, need_input_grad):
        self.check_input_shape(x)
        out = x.max(axis=self._axes, keepdims=True)

        def backprop(grad_output):
            if not need_input_grad:
                return None
            is_max = x == out
            ties = is_max.sum(axis=self._axes, keepdims=True)
            return np.where(is_max, self._kept(grad_output) / ties, 0).astype(grad_output.dtype, copy=False)

        return (out if self.keepdims else out.reshape(x.shape[0], x.shape[-1])), backprop


class GlobalMaxPooling2D(ChannelsFirstBoundary, _GlobalMax):
    """Takes the maximum of each channel over all pixels: ``(batch, h, w, c)`` becomes ``(batch, c)``.

    On ties the gradient is shared equally among the maxima (TensorFlow's rule for ``reduce_max``).

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        keepdims: keep the spatial axes with size 1.

    Example:
        >>> GlobalMaxPooling2D()(np.arange(8, dtype="float32").reshape(1, 2, 2, 2))
        array([[6., 7.]], dtype=float32)
    """


class GlobalMaxPooling1D(GlobalMaxPooling2D):
    """Takes the maximum of each channel over all steps: ``(batch, steps, c)`` becomes ``(batch, c)``.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        keepdims: keep the steps axis with size 1.

    Example:
        >>> GlobalMaxPooling1D()(np.array([[[1.0], [3.0], [2.0]]], dtype="float32"))
        array([[3.]], dtype=float32)
    """

    rank = 1


# Keras's other names for the same classes
MaxPool1D = LAYERS.register("MaxPool1D")(MaxPooling1D)
MaxPool2D = LAYERS.register("MaxPool2D")(MaxPooling2D)
AvgPool1D = LAYERS.register("AvgPool1D")(AveragePooling1D)
AvgPool2D = LAYERS.register("AvgPool2D")(AveragePooling2D)
GlobalAvgPool1D = LAYERS.register("GlobalAvgPool1D")(GlobalAveragePooling1D)
GlobalAvgPool2D = LAYERS.register("GlobalAvgPool2D")(GlobalAveragePooling2D)
GlobalMaxPool1D = LAYERS.register("GlobalMaxPool1D")(GlobalMaxPooling1D)
GlobalMaxPool2D = LAYERS.register("GlobalMaxPool2D")(GlobalMaxPooling2D)

__all__ = [
    "AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
    "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "MaxPool1D", "MaxPool2D", "MaxPooling1D", "MaxPooling2D",
]
