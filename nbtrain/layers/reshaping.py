"""Layers that move values around without weights: Cropping1D/2D/3D, Permute, RepeatVector.

Each forward pass is one slice, transpose or repeat of the whole batch, and each backward pass is its
adjoint: cropping scatters the gradient into zeros of the input's shape, Permute applies the inverse
permutation, RepeatVector sums the copies. Cropping is the inverse of ``ZeroPadding1D/2D`` and follows its
conventions (channels_last, the same argument forms).
"""

from __future__ import annotations

import numpy as np

from nbtrain.layers.convolutional import normalize_side_pairs, spatial_rank_error
from nbtrain.layers.data_format import ChannelsFirstBoundary, standardize_data_format
from nbtrain.layers.layer import Layer
from nbtrain.utils.checks import is_int
from nbtrain.utils.naming import shape_text


# ----------------------------------------------------------------------------------------------------------
# Cropping
# ----------------------------------------------------------------------------------------------------------


class _Cropping(Layer):
    """Shared code of Cropping1D and Cropping2D: slice ``(start, end)`` off each spatial axis.

    Subclasses set ``rank`` (how many spatial axes) and ``axis_names`` (what the messages call them).
    """

    rank: int
    axis_names: tuple[str, ...]

    def __init__(self, cropping, **kwargs):
        super().__init__(**kwargs)
        self._pairs = normalize_side_pairs(cropping, self.rank, "cropping", type(self).__name__)

    @property
    def cropping(self):
        """As Keras stores it: ``(start, end)`` for Cropping1D, ``((top, bottom), (left, right))`` for 2D."""
        return self._pairs[0] if self.rank == 1 else self._pairs

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        for axis, (size, pair) in enumerate(zip(input_shape[1:-1], self._pairs)):
            if size is not None and sum(pair) >= size:
                raise self._too_much_cropping(input_shape, axis)
        spatial = tuple(None if d is None else d - a - b for d, (a, b) in zip(input_shape[1:-1], self._pairs))
        return (input_shape[0],) + spatial + (input_shape[-1],)

    def _check_rank(self, input_shape) -> None:
        if len(tuple(input_shape)) != self.rank + 2:
            raise spatial_rank_error(self, input_shape, self.rank)

    def _too_much_cropping(self, input_shape, axis: int) -> ValueError:
        size, removed, what = input_shape[axis + 1], sum(self._pairs[axis]), self.axis_names[axis]
        return ValueError(
            f"{type(self).__name__} layer '{self.name}' got cropping={self.cropping}, which crops {removed} "
            f"{what} from inputs with only {size} {what} (input shape {shape_text(tuple(input_shape))}), "
            f"leaving nothing. The cropping along each axis must be smaller than the input size: crop at most "
            f"{max(size - 1, 0)} of its {size} {what} in total, or feed larger inputs."
        )

    def check_input_shape(self, x):
        # Like ZeroPadding, any spatial size works as long as cropping leaves something (checked in forward).
        self._check_rank(x.shape)

    def _kept(self, shape) -> tuple:
        """The index that keeps the uncropped middle of every spatial axis."""
        middle = tuple(slice(a, size - b) for size, (a, b) in zip(shape[1:-1], self._pairs))
        return (slice(None),) + middle + (slice(None),)

    def _apply(self, x, training, need_input_grad):
        self.compute_output_shape(x.shape)  # a clear error if this input is too small to crop
        kept, shape, dtype = self._kept(x.shape), x.shape, x.dtype     # the closure keeps no input array

        def backprop(grad_output):
            if not need_input_grad:
                return None
            grad_input = np.zeros(shape, dtype=dtype)  # cropped-away inputs did not reach the loss
            grad_input[kept] = grad_output
            return grad_input

        return x[kept], backprop

    def get_config(self):
        return super().get_config() | {"cropping": self.cropping}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, cropping={self.cropping}>"


class Cropping2D(ChannelsFirstBoundary, _Cropping):
    """Crops rows and columns off the edges of images ``(batch, rows, cols, channels)``.

    Args:
        cropping: an int (the same on all four sides), a pair ``(rows, cols)`` (symmetric), or
            ``((top, bottom), (left, right))``.
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.

    Example:
        >>> Cropping2D(((1, 0), (2, 2)))(np.ones((1, 4, 7, 3), dtype="float32")).shape
        (1, 3, 3, 3)
    """

    rank = 2
    axis_names = ("rows", "columns")

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, **kwargs)
        self.data_format = standardize_data_format(data_format, type(self).__name__)

    def get_config(self):
        return super().get_config() | {"data_format": self.data_format}


class Cropping3D(ChannelsFirstBoundary, _Cropping):
    """Crops the edges of volumes ``(batch, depth, height, width, channels)``.

    Args:
        cropping: an int (the same on every side), a triple ``(d, h, w)`` (symmetric per axis), or
            ``((front, back), (top, bottom), (left, right))``.
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.

    Example:
        >>> Cropping3D(((1, 0), (0, 0), (2, 2)))(np.ones((1, 3, 4, 7, 2), dtype="float32")).shape
        (1, 2, 4, 3, 2)
    """

    rank = 3
    axis_names = ("slices", "rows", "columns")

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, **kwargs)
        self.data_format = standardize_data_format(data_format, type(self).__name__)

    def get_config(self):
        return super().get_config() | {"data_format": self.data_format}


class Cropping1D(_Cropping):
    """Crops steps off the start and end of sequences ``(batch, steps, features)``.

    A padding mask (from ``Embedding(mask_zero=True)`` or ``Masking``) is cropped the same way, so the
    layers after it still skip the padded steps that remain. (Keras 3 drops the mask here, with a warning;
    with a mask, the layers after it can therefore give other, better, results than in Keras.)

    Args:
        cropping: an int (both ends) or a pair ``(start, end)``.

    Example:
        >>> Cropping1D((1, 2))(np.ones((1, 6, 4), dtype="float32")).shape
        (1, 3, 4)
    """

    rank = 1
    axis_names = ("steps",)
    supports_masking = True

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        start, end = self._pairs[0]
        return mask[:, start:mask.shape[1] - end]


# ----------------------------------------------------------------------------------------------------------
# Permute and RepeatVector
# ----------------------------------------------------------------------------------------------------------


def normalize_dims(dims) -> tuple[int, ...]:
    """Check Permute's ``dims``: a permutation of 1..n over the non-batch axes (the batch axis is 0).

    Example:
        >>> normalize_dims([3, 1, 2])
        (3, 1, 2)
    """
    try:
        values = tuple(dims)
    except TypeError:
        raise TypeError(
            f"Permute() expects dims to be a tuple of axis numbers such as (2, 1), got {dims!r}."
        ) from None
    if not all(is_int(d) for d in values):
        raise TypeError(f"Permute() expects dims to contain integers, got {dims!r}.")
    values = tuple(int(d) for d in values)
    expected = tuple(range(1, len(values) + 1))
    if not values or tuple(sorted(values)) != expected:
        hint = " Axis 0 is the batch axis, which Permute never moves: count from 1." if 0 in values else ""
        raise ValueError(
            f"Permute() expects dims to be a permutation of {expected or '(1, ..., n)'} (the non-batch axes, "
            f"counted from 1; e.g. (2, 1) swaps steps and features), got {dims!r}.{hint}"
        )
    return values


class Permute(Layer):
    """Reorders the non-batch axes: ``Permute((2, 1))`` turns ``(batch, steps, features)`` into
    ``(batch, features, steps)``.

    Args:
        dims: a permutation of ``1..n``, where n is the number of non-batch axes; axis ``i`` of the output is
            axis ``dims[i - 1]`` of the input.

    Example:
        >>> Permute((2, 1))(np.zeros((2, 10, 64), dtype="float32")).shape
        (2, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = normalize_dims(dims)

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def _check_rank(self, input_shape) -> None:
        if len(tuple(input_shape)) != len(self.dims) + 1:
            raise ValueError(
                f"Permute layer '{self.name}' with dims={self.dims} expects inputs with {len(self.dims) + 1} axes "
                f"(batch plus {len(self.dims)}) but got input shape {shape_text(tuple(input_shape))}. "
                "Give dims one entry per non-batch axis."
            )

    def check_input_shape(self, x):
        self._check_rank(x.shape)  # sizes may change between calls, only the number of axes is fixed

    def _apply(self, x, training, need_input_grad):
        self._check_rank(x.shape)
        dtype = x.dtype

        def backprop(grad_output):
            if not need_input_grad:
                return None
            inverse = np.argsort((0,) + self.dims)
            return np.transpose(grad_output, inverse).astype(dtype, copy=False)

        # a contiguous copy, so the next layer's reshapes and products do not copy the strided view again
        return np.ascontiguousarray(np.transpose(x, (0,) + self.dims)), backprop

    def get_config(self):
        return super().get_config() | {"dims": self.dims}

    def __repr__(self):
        return f"<Permute name={self.name!r}, dims={self.dims}>"


class RepeatVector(Layer):
    """Repeats each input vector ``n`` times: ``(batch, features)`` becomes ``(batch, n, features)``.

    The usual use is an encoder-decoder: the encoder's last state, repeated once per output step, feeds a
    recurrent decoder with ``return_sequences=True``.

    Args:
        n: how many times to repeat (a positive integer).

    Example:
        >>> RepeatVector(3)(np.zeros((2, 32), dtype="float32")).shape
        (2, 3, 32)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not is_int(n):
            raise TypeError(f"RepeatVector() expects n to be an integer such as 3, got {n!r}.")
        if n <= 0:
            raise ValueError(f"RepeatVector() expects n to be a positive integer, got n={n}.")
        self.n = int(n)

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def _check_rank(self, input_shape) -> None:
        if len(tuple(input_shape)) != 2:
            raise ValueError(
                f"RepeatVector layer '{self.name}' expects inputs of shape (batch, features) but got input shape "
                f"{shape_text(tuple(input_shape))}. Put nbtrain.layers.Flatten() before it, or use an RNN "
                "without return_sequences to get one vector per sample."
            )

    def _apply(self, x, training, need_input_grad):
        self._check_rank(x.shape)
        dtype = x.dtype

        def backprop(grad_output):
            if not need_input_grad:
                return None
            # every copy of an input reached the loss, so their gradients add up
            return grad_output.sum(axis=1).astype(dtype, copy=False)

        # np.repeat copies: a broadcast view would be read-only and shared by all n steps
        return np.repeat(x[:, np.newaxis, :], self.n, axis=1), backprop

    def get_config(self):
        return super().get_config() | {"n": self.n}

    def __repr__(self):
        return f"<RepeatVector name={self.name!r}, n={self.n}>"


__all__ = ["Cropping1D", "Cropping2D", "Permute", "RepeatVector"]
