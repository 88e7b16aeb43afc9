"""Convolution layers (channels_last): Conv1D/2D, Conv1D/2DTranspose, ZeroPadding1D/2D, UpSampling1D/2D, and the
SlidingWindowLayer base they share with the depthwise and separable convolutions (`nbtrain.layers.separable`).

A convolution runs as one matrix product per batch. A strided view gathers every input window into a
``(positions, kernel_h * kernel_w * channels)`` matrix (im2col), which is multiplied by the kernel reshaped
to ``(kernel_h * kernel_w * channels, filters)``; the kernel gradient is one more product with that matrix.
The input gradient is scattered back one kernel offset at a time (col2im): a product and a strided addition
per offset. Loops run over the kernel's offsets, never over pixels.

1-D layers reuse the 2-D code on a height-1 view of their input, so both share one tested path. The code is written
for channels_last data; ``data_format="channels_first"`` is handled at each public layer's boundary
(:mod:`nbtrain.layers.data_format`), and the 3-D layers are in :mod:`nbtrain.layers.convolutional3d`.
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from nbtrain import activations as activations_module
from nbtrain.layers.core import ActivatedLayer, ActivationBackprop
from nbtrain.layers.data_format import ChannelsFirstBoundary, computes_as, standardize_data_format
from nbtrain.layers.layer import LAYERS, Layer, column_sums
from nbtrain.utils.checks import is_int, one_of, positive_int
from nbtrain.utils.errors import did_you_mean
from nbtrain.utils.naming import shape_text

# ----------------------------------------------------------------------------------------------------------
# Argument checks shared with the pooling layers
# ----------------------------------------------------------------------------------------------------------


def normalize_tuple(value, rank: int, what: str, layer: str, allow_zero: bool = False) -> tuple[int, ...]:
    """Turn ``3`` or ``(3, 3)`` into a tuple of ``rank`` positive ints, with a clear error otherwise.

    Args:
        value: an int or a sequence of ``rank`` ints.
        rank: how many spatial axes the layer has.
        what: the argument's name, for the message (``"kernel_size"``).
        layer: the layer's class name, for the message.
        allow_zero: accept 0 (padding amounts).

    Example:
        >>> normalize_tuple(3, 2, "kernel_size", "Conv2D")
        (3, 3)
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,) * rank
    try:
        values = tuple(value)
    except TypeError:
        values = None
    smallest = 0 if allow_zero else 1
    if (values is None or len(values) != rank or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < smallest for v in values)):
        kind = "non-negative" if allow_zero else "positive"
        example = ", ".join(["2"] * rank)
        raise ValueError(
            f"{layer}() expects {what} to be a {kind} integer or a tuple of {rank} {kind} integers "
            f"such as ({example}{',' if rank == 1 else ''}), got {value!r}."
        )
    return tuple(int(v) for v in values)


def normalize_padding(padding, layer: str, allowed=("valid", "same")) -> str:
    """Lower-case and check a padding name (Keras accepts ``'SAME'``), suggesting the nearest on a typo."""
    if not isinstance(padding, str):
        raise TypeError(f"{layer}() expects padding to be one of {_quoted(allowed)}, got {padding!r}.")
    return one_of(padding.lower(), allowed, "padding", layer)


def check_data_format(data_format, layer: str) -> str:
    """For layers that take ``channels_last`` data only (the image augmentations): say how to convert
    channels_first data, also when it comes from ``nbtrain.config.set_image_data_format``."""
    if data_format is None:
        from nbtrain import config

        data_format = config.image_data_format()
    if data_format == "channels_last":
        return "channels_last"
    if data_format == "channels_first":
        raise ValueError(
            f"{layer}() in nbtrain supports data_format='channels_last' only (the Keras default). "
            "Move the channel axis last, e.g. x = np.moveaxis(x, 1, -1), and pass data_format='channels_last' "
            "(nbtrain.config.image_data_format() may have made channels_first the default)."
        )
    raise ValueError(
        f"{layer}() got data_format={data_format!r}; expected 'channels_last'."
        f"{did_you_mean(str(data_format), ['channels_last', 'channels_first'])}"
    )


def _quoted(names) -> str:
    return ", ".join(f"'{n}'" for n in names)


# ----------------------------------------------------------------------------------------------------------
# Window geometry: output sizes and padding as TensorFlow computes them
# ----------------------------------------------------------------------------------------------------------


def window_geometry(size, kernel: int, stride: int, dilation: int, padding: str):
    """Return ``(output size, padding before, padding after)`` along one spatial axis.

    'same' gives ``ceil(size / stride)`` outputs and, like TensorFlow, puts the odd extra padding at the end.
    'causal' (Conv1D) pads only at the start. ``size`` None (unknown) gives an unknown output size.

    Example:
        >>> window_geometry(5, 2, 2, 1, "same")
        (3, 0, 1)
    """
    span = dilation * (kernel - 1) + 1
    if size is None:
        return None, 0, 0
    if padding == "valid":
        return (size - span) // stride + 1 if size >= span else 0, 0, 0
    if padding == "causal":
        return (size - 1) // stride + 1, span - 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return out, total // 2, total - total // 2


class Geometry(NamedTuple):
    """Where a 2-D window operation reads: output size, padding, window, strides and dilation."""

    out: tuple[int, int]
    pads: tuple[tuple[int, int], tuple[int, int]]
    window: tuple[int, int]
    strides: tuple[int, int]
    dilation: tuple[int, int]

    @property
    def padded(self) -> bool:
        return any(self.pads[0]) or any(self.pads[1])


class Padding(NamedTuple):
    """How one call padded its input: the window geometry, the padded 2-D images' shape, the input's shape."""

    geometry: Geometry
    padded_shape: tuple
    input_shape: tuple


def make_geometry(height, width, window, strides, dilation, paddings) -> Geometry:
    """Geometry of a 2-D window operation on ``height x width`` inputs (``paddings`` per axis)."""
    (oh, top, bottom) = window_geometry(height, window[0], strides[0], dilation[0], paddings[0])
    (ow, left, right) = window_geometry(width, window[1], strides[1], dilation[1], paddings[1])
    return Geometry((oh, ow), ((top, bottom), (left, right)), tuple(window), tuple(strides), tuple(dilation))


def pad_spatial(x4: np.ndarray, geometry: Geometry, value=0.0) -> np.ndarray:
    """Pad axes 1 and 2 of ``(batch, height, width, channels)`` data (returns ``x4`` itself if no padding)."""
    if not geometry.padded:
        return x4
    (top, bottom), (left, right) = geometry.pads
    n, h, w, c = x4.shape
    xp = np.full((n, h + top + bottom, w + left + right, c), value, dtype=x4.dtype)
    xp[:, top:top + h, left:left + w, :] = x4
    return xp


def unpad_spatial(xp: np.ndarray, geometry: Geometry, height: int, width: int) -> np.ndarray:
    if not geometry.padded:
        return xp
    top, left = geometry.pads[0][0], geometry.pads[1][0]
    return xp[:, top:top + height, left:left + width, :]


def offset_view(xp: np.ndarray, i: int, j: int, geometry: Geometry) -> np.ndarray:
    """The pixels that window offset ``(i, j)`` touches, one per output position: ``(batch, oh, ow, c)``.

    Each output position reads a distinct pixel for a fixed offset, so ``view += ...`` is a safe scatter.
    """
    (oh, ow), (sh, sw), (dh, dw) = geometry.out, geometry.strides, geometry.dilation
    return xp[:, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw, :]


def window_view(xp: np.ndarray, geometry: Geometry) -> np.ndarray:
    """A read-only strided view ``(batch, oh, ow, kh, kw, channels)`` of every window (no copy)."""
    n, _, _, c = xp.shape
    (oh, ow), (kh, kw) = geometry.out, geometry.window
    (sh, sw), (dh, dw) = geometry.strides, geometry.dilation
    s0, s1, s2, s3 = xp.strides
    return as_strided(xp, shape=(n, oh, ow, kh, kw, c), strides=(s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3),
                      writeable=False)


def batch_blocks(x4, block_bytes: int = 1 << 19) -> list[slice]:
    """Slices of the batch axis of about ``block_bytes`` each: every pass over a block reads it from the CPU's
    cache, so the image memory is read once per pool, however many passes the pool makes."""
    return image_blocks(x4.shape[0], x4[:1].nbytes, block_bytes)


def image_blocks(count: int, image_bytes: int, block_bytes: int = 1 << 19) -> list[slice]:
    """Slices of ``count`` images of ``image_bytes`` each, about ``block_bytes`` a slice (at least one image)."""
    step = max(1, block_bytes // max(image_bytes, 1))
    return [slice(start, start + step) for start in range(0, count, step)]


def tiles_view(x4, geometry) -> np.ndarray:
    """A view ``(batch, out_h, pool_h, out_w, pool_w, channels)`` of the pixels that tiling windows cover."""
    (oh, ow), (ph, pw) = geometry.out, geometry.window
    s0, s1, s2, s3 = x4.strides
    # strides written out: a reshape of the cropped view could silently copy, and writes must reach x4
    return as_strided(x4, shape=(x4.shape[0], oh, ph, ow, pw, x4.shape[-1]),
                      strides=(s0, s1 * ph, s1, s2 * pw, s2, s3), writeable=x4.flags.writeable)


class ScratchArrays:
    """Work arrays a layer reuses from one batch to the next (an im2col matrix is megabytes per batch).

    A fresh array of that size costs more than filling it: the operating system maps and zeroes its pages
    on first touch, every batch. An array taken here goes back only when the function that still reads it
    (the call's backprop) is gone, so a layer called twice before its backward passes (a shared layer) gets
    two arrays and nothing is overwritten while in use.
    """

    def __init__(self, keep: int = 2):
        self._free: dict = {}
        self._keep = keep

    def take(self, shape: tuple, dtype) -> np.ndarray:
        free = self._free.get((shape, np.dtype(dtype)))
        return free.pop() if free else np.empty(shape, dtype=dtype)

    def return_when_gone(self, user, array: np.ndarray) -> None:
        """Make ``array`` available again once ``user`` (the closure reading it) is garbage."""
        weakref.finalize(user, self._give_back, array)

    def _give_back(self, array: np.ndarray) -> None:
        free = self._free.setdefault((array.shape, array.dtype), [])
        if len(free) < self._keep:
            free.append(array)


def rank_hint(input_shape, rank: int) -> str:
    """Advice for inputs with the wrong number of axes (the usual mistake: a missing channel axis)."""
    shape = tuple(input_shape)
    if len(shape) == rank + 1:
        sample = tuple("n" if d is None else d for d in shape[1:])
        return (
            f"If each sample has a single channel, add a channel axis: x = x[..., np.newaxis] "
            f"(shape {shape_text((shape[0],) + shape[1:] + (1,))}), or put "
            f"nbtrain.layers.Reshape({sample + (1,)}) before this layer."
        )
    if len(shape) == 2 and rank == 2:
        return "Flat vectors are not images: reshape them first, e.g. nbtrain.layers.Reshape((28, 28, 1)) for MNIST."
    return ("Use a layer of matching rank: the 1D layers take sequences, the 2D layers take images, the 3D layers "
            "take volumes.")


def spatial_rank_error(layer: Layer, input_shape, rank: int) -> ValueError:
    """The error for inputs with the wrong number of axes, naming the expected layout."""
    expected = {1: "(batch, steps, channels)", 2: "(batch, height, width, channels)",
                3: "(batch, depth, height, width, channels)"}[rank]
    return ValueError(
        f"{type(layer).__name__} layer '{layer.name}' expects inputs of shape {expected} ({rank + 2} axes) "
        f"but got input shape {shape_text(tuple(input_shape))}. {rank_hint(input_shape, rank)}"
    )


# ----------------------------------------------------------------------------------------------------------
# Convolutions
# ----------------------------------------------------------------------------------------------------------


class SlidingWindowLayer(ActivatedLayer):
    """What every convolution shares: a kernel window with strides, padding and dilation, a bias, an activation,
    and the height-1 2-D view through which 1-D layers run the 2-D code."""

    # Keras 3's convolutions do not support masking: a mask stops here (ActivatedLayer passes it on for Dense).
    supports_masking = False

    rank = 2
    paddings = ("valid", "same")

    def __init__(self, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1, activation=None,
                 use_bias=True, bias_initializer="zeros", bias_regularizer=None, bias_constraint=None, **kwargs):
        super().__init__(activation=activation, **kwargs)
        kind = type(self).__name__
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size", kind)
        self.strides = normalize_tuple(strides, self.rank, "strides", kind)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate", kind)
        self.padding = normalize_padding(padding, kind, self.paddings)
        self.data_format = standardize_data_format(data_format, kind)
        self.use_bias = bool(use_bias)
        self.set_weight_options("bias", bias_initializer, bias_regularizer, bias_constraint)

    # The 2-D view: a 1-D layer gets a leading height axis of size 1, read with a 1-high window.
    def _as_2d(self, values: tuple, fill) -> tuple:
        return tuple(values) if self.rank == 2 else (fill,) + tuple(values)

    def _spatial_geometry(self, spatial) -> Geometry:
        height, width = self._as_2d(spatial, 1)
        paddings = self._as_2d((self.padding,) * self.rank, "valid")
        return make_geometry(height, width, self._as_2d(self.kernel_size, 1), self._as_2d(self.strides, 1),
                             self._as_2d(self.dilation_rate, 1), paddings)

    def _check_fits(self, spatial) -> None:
        if self.padding != "valid":
            return
        spans = [d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation_rate)]
        if any(s is not None and s < span for s, span in zip(spatial, spans)):
            kind = type(self).__name__
            dilated = " (dilated)" if any(d > 1 for d in self.dilation_rate) else ""
            raise ValueError(
                f"{kind} layer '{self.name}' with padding='valid' needs inputs at least as large as its{dilated} "
                f"kernel {'x'.join(map(str, spans))}, but got spatial size {'x'.join(map(str, spatial))}. "
                f"Use padding='same', a smaller kernel_size, or remove a pooling layer before it."
            )

    def input_channels(self, input_shape) -> int:
        """The channel count of ``input_shape``, after checking its rank and that the window fits."""
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise spatial_rank_error(self, input_shape, self.rank)
        if input_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' needs a known number of channels (last axis), "
                f"got input shape {shape_text(input_shape)}."
            )
        self._check_fits(input_shape[1:-1])
        return input_shape[-1]

    def add_bias(self, size: int) -> None:
        if self.use_bias:
            self.add_weight_with_options("bias", (size,))

    def output_shape_for(self, input_shape, channels) -> tuple:
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise spatial_rank_error(self, input_shape, self.rank)
        self._check_fits(input_shape[1:-1])
        out = self._spatial_geometry(input_shape[1:-1]).out
        return (input_shape[0],) + out[2 - self.rank:] + (channels,)

    def check_input_shape(self, x):
        if x.ndim != self.rank + 2:
            raise spatial_rank_error(self, x.shape, self.rank)
        channels = self.input_shape[-1]
        if x.shape[-1] != channels:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' was built for {channels} input channels (last axis) "
                f"but got an array of shape {x.shape}."
            )

    def input_mismatch_hint(self, shape) -> str:
        """Advice shown by a model whose first layer this is when the data have the wrong shape."""
        if len(shape) != self.rank + 2:
            return rank_hint(tuple(shape), self.rank)
        return f"This layer was built for inputs of shape {shape_text(self.input_shape)}."

    def padded_input(self, x) -> tuple[np.ndarray, Padding]:
        """``x`` as padded 2-D images ``(batch, height, width, channels)``, and how this call padded it."""
        if x.ndim != self.rank + 2:
            raise spatial_rank_error(self, x.shape, self.rank)
        self._check_fits(x.shape[1:-1])
        geometry = self._spatial_geometry(x.shape[1:-1])
        xp = pad_spatial(x if self.rank == 2 else x[:, np.newaxis], geometry)
        return xp, Padding(geometry, xp.shape, x.shape)

    @staticmethod
    def unpadded_gradient(grad_padded: np.ndarray, padding: Padding) -> np.ndarray:
        """The gradient for the unpadded input, from the gradient for the padded 2-D images."""
        geometry, padded_shape = padding.geometry, padding.padded_shape
        height, width = padded_shape[1] - sum(geometry.pads[0]), padded_shape[2] - sum(geometry.pads[1])
        return unpad_spatial(grad_padded, geometry, height, width).reshape(padding.input_shape)

    def kernel_2d(self, name: str) -> np.ndarray:
        """Weight ``name`` with a leading window axis of 1 for a 1-D layer, so the 2-D code can use it."""
        kernel = self._weights[name]
        return kernel if self.rank == 2 else kernel[np.newaxis]

    def output_spatial(self, geometry: Geometry) -> tuple:
        return geometry.out[2 - self.rank:]

    def window_config(self) -> dict:
        return {
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations_module.serialize(self.activation),
            "use_bias": self.use_bias,
            **self.weight_options_config("bias"),
        }


# Convolutions with fewer inputs per window than this add their bias inside the im2col product.
_BIAS_IN_PRODUCT_BELOW = 32


class _Conv(SlidingWindowLayer):
    """Shared code of Conv1D and Conv2D: a 2-D im2col convolution (1-D runs on a height-1 view)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        kind = type(self).__name__
        filters = positive_int(filters, "filters", kind)
        groups = positive_int(groups, "groups", kind)
        if filters % groups:
            raise ValueError(f"{kind}() splits its filters among the groups, so filters must be divisible by groups: "
                             f"got filters={filters}, groups={groups}. Choose filters as a multiple of {groups}.")
        super().__init__(kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.filters = int(filters)
        self.groups = groups
        self.set_weight_options("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)

    def build(self, input_shape):
        channels = self.input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' splits its input channels into groups={self.groups}, "
                f"so the number of input channels must be divisible by {self.groups}; got {channels} channels "
                f"(input shape {shape_text(tuple(input_shape))}). Change groups or the channels of the layer before."
            )
        self.add_weight_with_options("kernel", self._kernel_shape(channels))
        self.add_bias(self.filters)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return self.output_shape_for(input_shape, self.filters)

    def _apply(self, x, training, need_input_grad):
        if self.groups > 1:
            return grouped_convolution(self, x, need_input_grad)
        z, from_preactivation = self._preactivation(x, need_input_grad)
        return self.activate(z, from_preactivation, owns_z=True)

    def _preactivation(self, x, need_input_grad, per_block=None):
        """``z = conv(x, kernel) + bias`` (a fresh array) and ``from_preactivation``, mapping dL/dz to dL/dx.

        With ``per_block``, z is made a block of images at a time, each block handed to ``per_block(images, z)``
        (a slice of the batch, and z of those images in a work array the next block overwrites) while it is in
        the CPU's cache; z is then None."""
        xp, padding = self.padded_input(x)
        n = x.shape[0]
        window_size = self._kernel_matrix().shape[0]
        # With few inputs per window (a first layer on 1 or 3 channels) the product is cheap and the separate
        # bias passes over z are not: a column of ones in the im2col matrix adds the bias inside the product
        # and gives its gradient as the kernel gradient's extra row.
        bias_column = self.use_bias and window_size < _BIAS_IN_PRODUCT_BELOW
        cols, reused = self._im2col(xp, padding.geometry, ones_column=bias_column)
        kernel = self._kernel_matrix()
        if bias_column:
            kernel = np.concatenate([kernel, self._weights["bias"][np.newaxis]])
        bias = self._weights["bias"] if self.use_bias and not bias_column else None
        z_shape = (n,) + self.output_spatial(padding.geometry) + (self.filters,)
        if per_block is None:
            z = cols @ kernel
            if bias is not None:
                z += bias
            z = z.reshape(z_shape)
        else:
            z = None
            self._preactivation_blocks(cols, kernel, bias, z_shape, per_block)

        def from_preactivation(grad_z):
            g2d = grad_z.reshape(-1, self.filters)
            if self.trainable:
                kernel_grad = self.grad_buffer("kernel").reshape(-1, self.filters)
                if bias_column:
                    both = cols.T @ g2d
                    kernel_grad[...] = both[:-1]
                    self.grad_buffer("bias")[...] = both[-1]
                else:
                    np.matmul(cols.T, g2d, out=kernel_grad)
                    if self.use_bias:
                        column_sums(g2d, out=self.grad_buffer("bias"))
            return self._input_gradient(g2d, padding) if need_input_grad else None

        if reused:
            self._scratch.return_when_gone(from_preactivation, cols)
        return z, from_preactivation

    def _preactivation_blocks(self, cols, kernel, bias, z_shape, per_block) -> None:
        """z of a block of images at a time into one work array, handed to ``per_block`` (see _preactivation)."""
        rows_per_image = cols.shape[0] // z_shape[0]
        dtype = np.result_type(cols, kernel)
        blocks = image_blocks(z_shape[0], rows_per_image * self.filters * dtype.itemsize)
        step = blocks[0].stop - blocks[0].start
        z_block = self._scratch.take((min(step, z_shape[0]) * rows_per_image, self.filters), dtype)
        for images in blocks:
            rows = slice(images.start * rows_per_image, min(images.stop, z_shape[0]) * rows_per_image)
            z = np.matmul(cols[rows], kernel, out=z_block[:rows.stop - rows.start])
            if bias is not None:
                z += bias
            per_block(images, z.reshape((-1,) + z_shape[1:]))
        self._scratch._give_back(z_block)

    def pools_before_activation(self, pool) -> bool:
        """Whether :meth:`apply_pooled` may run this layer followed by ``pool``: a max pool whose windows tile
        the image, after a linear or default relu activation, with no activity penalty (it reads this layer's
        own output, which the fused path never makes).

        Both activations are non-decreasing, so the pool's maximum commutes with them, and where relu ties
        windows at 0 its derivative is 0 anyway: pooling z gives the same output and the same gradients,
        on a pool_size-times smaller array for the activation.
        """
        return (self.groups == 1 and self.activity_regularizer is None
                and any(self.activation is f for f in (activations_module.relu, activations_module.linear))
                and computes_as(type(self), "_apply", _Conv) and computes_as(type(self), "_preactivation", _Conv)
                and getattr(pool, "tiles_by_maximum", False) is True and pool.rank == self.rank
                and getattr(self, "data_format", "channels_last") == "channels_last"
                and getattr(pool, "data_format", "channels_last") == "channels_last")

    def apply_pooled(self, pool, x, training, need_input_grad):
        """``pool(self(x))`` computed as ``activation(pool(z))`` (see :meth:`pools_before_activation`).

        Returns ``(output, backprop, pool_backprop)``: ``pool_backprop`` maps dL/doutput to dL/dz and
        ``backprop`` dL/dz to dL/dx, so a model keeps them where this layer's and the pool's would be.
        """
        z_shape = self.compute_output_shape(x.shape)
        pool._check_fits(z_shape[1:-1])
        geometry = pool._spatial_geometry(z_shape[1:-1])
        z4_shape = z_shape if self.rank == 2 else z_shape[:1] + (1,) + z_shape[1:]
        pooled_z4, winners, unpool = pool._tile_pooling_arrays(
            z4_shape, np.result_type(x.dtype, self._weights["kernel"].dtype), geometry, scratch=self._scratch)
        # relu's derivative is (pooled z > 0): folded into the pool's winners, its backward pass costs nothing
        relu = self.activation is activations_module.relu

        def pool_block(images, z):
            # z is read by the pool only (its backward needs the winners), so it is pooled while in cache
            z4 = z if self.rank == 2 else z[:, np.newaxis]
            pool._pool_tile_block(tiles_view(z4, geometry), pooled_z4[images], winners[:, images], relu)

        _, from_preactivation = self._preactivation(x, need_input_grad, per_block=pool_block)
        # the pooled array is this call's own: relu may overwrite it (its derivative reads the output only)
        in_place = activations_module.in_place_form(self.activation)
        overwrite = in_place is not None and pooled_z4.dtype.kind == "f"
        y4 = in_place(pooled_z4) if overwrite else self.activation(pooled_z4)
        # dL/dz lives from the pool's backprop to this layer's, which is its only reader: a reused work array
        grad_z4 = self._scratch.take(z4_shape, pooled_z4.dtype)

        def pool_backprop_z(grad_pooled_z):
            g4 = grad_pooled_z if self.rank == 2 else grad_pooled_z[:, np.newaxis]
            return unpool(g4, grad=grad_z4).reshape(z_shape)

        self._scratch.return_when_gone(pool_backprop_z, grad_z4)
        y = y4 if self.rank == 2 else y4[:, 0]
        if relu:   # the unpool does the relu's backward pass (positive_only above)
            return y, from_preactivation, pool_backprop_z
        return y, from_preactivation, ActivationBackprop(self.activation, None, y, pool_backprop_z)

    def _kernel_shape(self, channels) -> tuple:
        return self.kernel_size + (channels // self.groups, self.filters)

    @property
    def _scratch(self) -> ScratchArrays:
        scratch = self.__dict__.get("_scratch_arrays")
        if scratch is None:
            scratch = self.__dict__["_scratch_arrays"] = ScratchArrays()
        return scratch

    def _im2col(self, xp: np.ndarray, geometry: Geometry, ones_column: bool = False) -> tuple[np.ndarray, bool]:
        """One row per output position, one column per (kernel offset, input channel) (and a last column of
        ones if asked), and whether it is a work array of ``self._scratch``: a 1x1 kernel with stride 1 and no
        ones reads ``xp`` itself, any other copies the windows into a reused work array."""
        n, _, _, channels = xp.shape
        (oh, ow), (kh, kw) = geometry.out, geometry.window
        windows = window_view(xp, geometry)
        if (kh, kw) == (1, 1) and geometry.strides == (1, 1) and xp.flags.c_contiguous and not ones_column:
            return xp.reshape(n * oh * ow, channels), False
        width = kh * kw * channels
        cols = self._scratch.take((n * oh * ow, width + ones_column), xp.dtype)
        target = cols[:, :width].reshape(windows.shape)   # splits both axes: a view of cols, never a copy
        assert target.base is cols.base or target.base is cols, "im2col target must be a view"
        np.copyto(target, windows)
        if ones_column:
            cols[:, width] = 1
        return cols, True

    def _kernel_matrix(self) -> np.ndarray:
        return self._weights["kernel"].reshape(-1, self.filters)

    def _input_gradient(self, g2d, padding: Padding) -> np.ndarray:
        """dL/dx from dL/dz (one row per output position), by col2im."""
        geometry = padding.geometry
        (oh, ow), (kh, kw) = geometry.out, geometry.window
        n, channels = padding.padded_shape[0], padding.padded_shape[-1]
        kernel = self._weights["kernel"].reshape(kh, kw, channels, self.filters)
        # col2im one kernel offset at a time: nine small products that stay in cache beat one product into a
        # (positions, kh*kw*channels) matrix followed by nine strided reads of it. A block of images at a time,
        # so that the nine additions into its gradient read and write the CPU's cache, not memory.
        dtype = np.result_type(g2d, kernel)
        grad_padded = np.zeros(padding.padded_shape, dtype=dtype)
        g4 = g2d.reshape(n, oh, ow, self.filters)
        per_image = grad_padded[:1].nbytes + g4[:1].nbytes + oh * ow * channels * grad_padded.itemsize
        step = max(1, (1 << 20) // per_image)
        product = np.empty((min(step, n) * oh * ow, channels), dtype=dtype)   # one work array for the products
        for start in range(0, n, step):
            block_g = g4[start:start + step].reshape(-1, self.filters)
            block_grad = grad_padded[start:start + step]
            block_product = product[:block_g.shape[0]]
            for i in range(kh):
                for j in range(kw):
                    view = offset_view(block_grad, i, j, geometry)
                    view += np.matmul(block_g, kernel[i, j].T, out=block_product).reshape(view.shape)
        return self.unpadded_gradient(grad_padded, padding)

    def get_config(self):
        return (super().get_config() | {"filters": self.filters, "groups": self.groups} | self.window_config()
                | self.weight_options_config("kernel"))

    def __repr__(self):
        return (f"<{type(self).__name__} name={self.name!r}, filters={self.filters}, "
                f"kernel_size={self.kernel_size}, activation={self.activation.name!r}>")


class Conv2D(ChannelsFirstBoundary, _Conv):
    """2-D convolution over images ``(batch, height, width, channels)``: ``activation(conv(x, kernel) + bias)``.

    The kernel has Keras's shape ``(kernel_h, kernel_w, in_channels, filters)``, so Keras weights load with
    ``set_weights``. Like Keras it computes a cross-correlation (the kernel is not flipped).

    Args:
        filters: number of output channels.
        kernel_size: an int or a pair ``(kernel_h, kernel_w)``.
        strides: an int or a pair; step between windows.
        padding: ``'valid'`` (no padding) or ``'same'`` (output size ``ceil(input / stride)``; as in
            TensorFlow the odd extra row or column of zeros goes at the end).
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        dilation_rate: an int or a pair; spacing between kernel taps.
        groups: split the input channels into this many groups, each convolved with its own
            ``filters // groups`` filters (the kernel is then ``(..., in_channels // groups, filters)``); both
            the input channels and ``filters`` must be divisible by it.
        activation: name or function, e.g. ``"relu"``; None means linear.
        use_bias: whether to add a bias per filter.
        kernel_initializer: default ``"glorot_uniform"``.
        bias_initializer: default ``"zeros"``.
        kernel_regularizer, bias_regularizer: penalties added to the loss, e.g. ``"l2"``.
        kernel_constraint, bias_constraint: projections applied after each update, e.g. ``"max_norm"``.

    Example:
        >>> layer = Conv2D(8, 3, padding="same", activation="relu")
        >>> layer(np.zeros((2, 28, 28, 1), dtype="float32")).shape
        (2, 28, 28, 8)
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


class Conv1D(ChannelsFirstBoundary, _Conv):
    """1-D convolution over sequences ``(batch, steps, channels)``.

    The kernel has Keras's shape ``(kernel_size, in_channels, filters)``.

    Args:
        filters: number of output channels.
        kernel_size: an int (or a 1-tuple).
        strides: step between windows.
        padding: ``'valid'``, ``'same'`` or ``'causal'`` (pad only at the start, so output step t sees
            inputs up to t).
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        dilation_rate: spacing between kernel taps.
        groups: split the input channels into this many groups, each convolved with its own
            ``filters // groups`` filters (the kernel is then ``(..., in_channels // groups, filters)``); both
            the input channels and ``filters`` must be divisible by it.
        activation: name or function; None means linear.
        use_bias: whether to add a bias per filter.
        kernel_initializer: default ``"glorot_uniform"``.
        bias_initializer: default ``"zeros"``.
        kernel_regularizer, bias_regularizer: penalties added to the loss, e.g. ``"l2"``.
        kernel_constraint, bias_constraint: projections applied after each update, e.g. ``"max_norm"``.

    Example:
        >>> Conv1D(4, 3, padding="causal")(np.zeros((2, 10, 3), dtype="float32")).shape
        (2, 10, 4)
    """

    rank = 1
    paddings = ("valid", "same", "causal")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


# Grouped convolutions (``Conv1D/Conv2D(groups > 1)``): the input channels split into ``groups`` slices, each
# convolved with its own ``filters // groups`` filters, the results side by side on the channel axis.
#
# The kernel keeps Keras's shape ``(*kernel_size, in_channels // groups, filters)``: filters ``g * f : (g + 1) * f``
# (``f = filters // groups``) read input channels ``g * c : (g + 1) * c``. Each group is an ordinary im2col
# convolution on a channel slice of the same window view, so a group costs what a small convolution costs and no
# product is spent on the zeros a block-diagonal kernel would hold.


def grouped_convolution(layer, x: np.ndarray, need_input_grad: bool):
    """One call of a grouped ``_Conv`` layer on channels_last ``x``: ``(y, backprop)`` as ``_apply`` returns."""
    xp, padding = layer.padded_input(x)
    geometry = padding.geometry
    n, (oh, ow), (kh, kw) = x.shape[0], geometry.out, geometry.window
    groups, filters = layer.groups, layer.filters
    per_group_in, per_group_out = xp.shape[-1] // groups, filters // groups
    ins = [slice(g * per_group_in, (g + 1) * per_group_in) for g in range(groups)]
    outs = [slice(g * per_group_out, (g + 1) * per_group_out) for g in range(groups)]
    kernel = layer.kernel_2d("kernel")                    # (kh, kw, per_group_in, filters)
    windows = window_view(xp, geometry)                   # (n, oh, ow, kh, kw, channels), no copy
    cols = [windows[..., ins[g]].reshape(n * oh * ow, -1) for g in range(groups)]
    z = np.empty((n * oh * ow, filters), dtype=np.result_type(xp, kernel))
    for g in range(groups):
        z[:, outs[g]] = cols[g] @ kernel[..., outs[g]].reshape(-1, per_group_out)
    if layer.use_bias:
        z += layer._weights["bias"]

    def from_preactivation(grad_z):
        g2d = grad_z.reshape(-1, filters)
        kernel = layer.kernel_2d("kernel")
        if layer.trainable:
            kernel_grad = layer.grad_buffer("kernel").reshape(kernel.shape)
            for g in range(groups):
                kernel_grad[..., outs[g]] = (cols[g].T @ g2d[:, outs[g]]).reshape(kh, kw, per_group_in, -1)
            if layer.use_bias:
                column_sums(g2d, out=layer.grad_buffer("bias"))
        if not need_input_grad:
            return None
        grad_padded = np.zeros(padding.padded_shape, dtype=np.result_type(g2d, kernel))
        for g in range(groups):
            group_grad = grad_padded[..., ins[g]]
            for i in range(kh):
                for j in range(kw):
                    view = offset_view(group_grad, i, j, geometry)
                    view += (g2d[:, outs[g]] @ kernel[i, j][:, outs[g]].T).reshape(n, oh, ow, per_group_in)
        return layer.unpadded_gradient(grad_padded, padding)

    return layer.activate(z.reshape((n,) + layer.output_spatial(geometry) + (filters,)), from_preactivation,
                          owns_z=True)


# ----------------------------------------------------------------------------------------------------------
# Transposed convolutions
# ----------------------------------------------------------------------------------------------------------


def transposed_length(size, kernel: int, stride: int, dilation: int, padding: str, output_padding):
    """Return ``(output length, crop at the start)`` of a transposed convolution along one axis (as Keras/TF).

    Example:
        >>> transposed_length(4, 3, 2, 1, "same", None)
        (8, 0)
    """
    span = dilation * (kernel - 1) + 1
    if size is None:
        return None, 0
    if output_padding is None:
        length = size * stride + (max(span - stride, 0) if padding == "valid" else 0)
    else:
        pad = span // 2 if padding == "same" else 0
        length = (size - 1) * stride + span - 2 * pad + output_padding
    # the forward convolution from `length` back to `size` would pad this much before its first window
    crop = max((size - 1) * stride + span - length, 0) // 2 if padding == "same" else 0
    return length, crop


class _ConvTranspose(_Conv):
    """Shared code of Conv1DTranspose and Conv2DTranspose: the gradient of a convolution, run forward.

    Each input pixel scatters ``pixel @ kernel[i, j].T`` to output position ``pixel * stride + offset *
    dilation`` (one matrix product per kernel offset); the backward pass gathers windows (im2col) as a
    convolution's forward pass does.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        if "groups" in kwargs:      # Keras's transposed convolutions have no groups; never ignore it
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument 'groups': transposed "
                            f"convolutions are not grouped (in Keras either).")
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)
        kind = type(self).__name__
        self.output_padding = None if output_padding is None else normalize_tuple(
            output_padding, self.rank, "output_padding", kind, allow_zero=True)
        if self.output_padding is not None and any(p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(
                f"{kind}() needs each output_padding smaller than its stride, got output_padding="
                f"{self.output_padding} with strides={self.strides}."
            )

    def _check_fits(self, spatial) -> None:
        """Any input size works: a transposed convolution only grows its input."""

    def _kernel_shape(self, channels) -> tuple:
        return self.kernel_size + (self.filters, channels)  # Keras: (kh, kw, filters, in_channels)

    def _lengths(self, spatial):
        output_padding = self.output_padding or (None,) * self.rank
        return [transposed_length(size, k, s, d, self.padding, p) for size, k, s, d, p in
                zip(spatial, self.kernel_size, self.strides, self.dilation_rate, output_padding)]

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise spatial_rank_error(self, input_shape, self.rank)
        return (input_shape[0],) + tuple(length for length, _ in self._lengths(input_shape[1:-1])) + (self.filters,)

    def _kernel_matrix(self) -> np.ndarray:
        return self._weights["kernel"].reshape(-1, self._weights["kernel"].shape[-1])

    def _apply(self, x, training, need_input_grad):
        if x.ndim != self.rank + 2:
            raise spatial_rank_error(self, x.shape, self.rank)
        x4 = x if self.rank == 2 else x[:, np.newaxis]
        n, height, width, channels = x4.shape
        geometry = make_geometry(height, width, self._as_2d(self.kernel_size, 1), self._as_2d(self.strides, 1),
                                 self._as_2d(self.dilation_rate, 1), ("valid", "valid"))
        geometry = geometry._replace(out=(height, width))  # offset_view maps input pixels to output positions
        lengths_and_crops = self._as_2d(self._lengths(x.shape[1:-1]), (1, 0))
        (sh, sw), (kh, kw) = geometry.strides, geometry.window
        (dh, dw) = geometry.dilation
        full = [max((size - 1) * s + d * (k - 1) + 1, crop + length) for size, s, d, k, (length, crop) in
                zip((height, width), (sh, sw), (dh, dw), (kh, kw), lengths_and_crops)]
        kernel = self._weights["kernel"].reshape(kh, kw, self.filters, channels)
        x2d = x4.reshape(-1, channels)
        z_full = np.zeros((n, full[0], full[1], self.filters), dtype=np.result_type(x2d, kernel))
        for i in range(kh):
            for j in range(kw):
                view = offset_view(z_full, i, j, geometry)
                view += (x2d @ kernel[i, j].T).reshape(n, height, width, self.filters)
        (lh, top), (lw, left) = lengths_and_crops
        z = z_full[:, top:top + lh, left:left + lw, :]
        if self.use_bias:
            z = z + self._weights["bias"]
        full_shape = z_full.shape     # the closure keeps the shape only, not the uncropped output

        def from_preactivation(grad_z):
            grad_full = np.zeros(full_shape, dtype=grad_z.dtype)
            grad_full[:, top:top + lh, left:left + lw, :] = grad_z.reshape(n, lh, lw, self.filters)
            # gather, for every input pixel, the output gradients its kernel offsets wrote to (im2col)
            cols = window_view(grad_full, geometry).reshape(x2d.shape[0], -1)
            if self.trainable:
                np.matmul(cols.T, x2d, out=self.grad_buffer("kernel").reshape(cols.shape[1], -1))
                if self.use_bias:
                    np.sum(grad_z.reshape(-1, self.filters), axis=0, out=self.grad_buffer("bias"))
            if not need_input_grad:
                return None
            return (cols @ self._kernel_matrix()).reshape(x.shape)

        return self.activate(z.reshape((n,) + (lh, lw)[2 - self.rank:] + (self.filters,)), from_preactivation)

    def get_config(self):
        config = super().get_config() | {"output_padding": self.output_padding}
        config.pop("groups")
        return config


class Conv2DTranspose(ChannelsFirstBoundary, _ConvTranspose):
    """Transposed 2-D convolution ("deconvolution"): upsamples images, e.g. in decoders and GAN generators.

    It computes the gradient of a Conv2D with respect to its input: with ``strides=2`` and
    ``padding='same'`` a ``(h, w)`` image becomes ``(2h, 2w)``. The kernel has Keras's shape
    ``(kernel_h, kernel_w, filters, in_channels)``.

    Args:
        filters: number of output channels.
        kernel_size: an int or a pair.
        strides: an int or a pair; the upsampling factor.
        padding: ``'valid'`` (output ``in * stride + max(kernel - stride, 0)``) or ``'same'``
            (output ``in * stride``).
        output_padding: None, or an int or a pair (each smaller than its stride) added to the output size.
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        dilation_rate: an int or a pair.
        activation: name or function; None means linear.
        use_bias: whether to add a bias per filter.
        kernel_initializer, bias_initializer: defaults ``"glorot_uniform"`` and ``"zeros"``.
        kernel_regularizer, bias_regularizer: penalties added to the loss, e.g. ``"l2"``.
        kernel_constraint, bias_constraint: projections applied after each update.

    Example:
        >>> Conv2DTranspose(8, 3, strides=2, padding="same")(np.zeros((1, 7, 7, 4), dtype="float32")).shape
        (1, 14, 14, 8)
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


class Conv1DTranspose(ChannelsFirstBoundary, _ConvTranspose):
    """Transposed 1-D convolution: upsamples sequences ``(batch, steps, channels)``.

    The kernel has Keras's shape ``(kernel_size, filters, in_channels)``. Arguments as Conv2DTranspose, with
    ints instead of pairs.

    Example:
        >>> Conv1DTranspose(2, 4, strides=2, padding="same")(np.zeros((1, 5, 3), dtype="float32")).shape
        (1, 10, 2)
    """

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


# ----------------------------------------------------------------------------------------------------------
# Reshaping layers
# ----------------------------------------------------------------------------------------------------------


def _check_rank(layer: Layer, input_shape, rank: int) -> None:
    if len(tuple(input_shape)) != rank + 2:
        raise spatial_rank_error(layer, input_shape, rank)


def _side_pair(item, message: str) -> tuple[int, int]:
    """``2`` -> (2, 2); ``(1, 3)`` stays; anything else (negatives, floats, bools) raises ``message``."""
    pair = (item, item) if is_int(item) else item
    try:
        pair = tuple(pair)
    except TypeError:
        raise ValueError(message) from None
    if len(pair) != 2 or not all(is_int(v) and v >= 0 for v in pair):
        raise ValueError(message)
    return int(pair[0]), int(pair[1])


def normalize_side_pairs(value, rank: int, what: str, layer: str) -> tuple[tuple[int, int], ...]:
    """One ``(start, end)`` pair per spatial axis, by Keras's rules for ``padding`` and ``cropping``.

    Args:
        value: for rank 1 an int or ``(start, end)``; for rank 2 an int, ``(rows, cols)`` (symmetric) or
            ``((top, bottom), (left, right))``.
        rank: how many spatial axes the layer pads or crops.
        what: the argument's name, for the message (``"padding"``).
        layer: the layer's class name, for the message.

    Example:
        >>> normalize_side_pairs((1, 2), 2, "cropping", "Cropping2D")
        ((1, 1), (2, 2))
        >>> normalize_side_pairs((1, 2), 1, "padding", "ZeroPadding1D")
        ((1, 2),)
    """
    forms = "an int or a pair (start, end) such as (1, 2)" if rank == 1 else (
        "an int, a pair (rows, cols) such as (1, 2), or ((top, bottom), (left, right)) such as ((1, 0), (2, 2))")
    message = f"{layer}() expects {what} to be {forms}, with non-negative integers; got {value!r}."
    if rank == 1:
        return (_side_pair(value, message),)
    items = (value,) * rank if is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        raise ValueError(message) from None
    if len(items) != rank:
        raise ValueError(message)
    return tuple(_side_pair(item, message) for item in items)


class _ZeroPadding(Layer):
    """Shared code of ZeroPadding1D/2D/3D (channels_last; the public classes add channels_first)."""

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = normalize_side_pairs(padding, self.rank, "padding", type(self).__name__)
        self.data_format = standardize_data_format(data_format, type(self).__name__)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, self.rank)
        spatial = tuple(None if d is None else d + a + b for d, (a, b) in zip(input_shape[1:-1], self.padding))
        return (input_shape[0],) + spatial + (input_shape[-1],)

    def check_input_shape(self, x):
        _check_rank(self, x.shape, self.rank)

    def _inner(self, shape) -> tuple:
        return (slice(None),) + tuple(slice(a, a + d) for d, (a, _) in zip(shape[1:-1], self.padding)) + (slice(None),)

    def _apply(self, x, training, need_input_grad):
        _check_rank(self, x.shape, self.rank)
        out = np.zeros(self.compute_output_shape(x.shape), dtype=x.dtype)
        inner = self._inner(x.shape)
        out[inner] = x

        def backprop(grad_output):
            return grad_output[inner] if need_input_grad else None

        return out, backprop

    def get_config(self):
        padding = self.padding[0] if self.rank == 1 else self.padding
        return super().get_config() | {"padding": padding, "data_format": self.data_format}


class ZeroPadding2D(ChannelsFirstBoundary, _ZeroPadding):
    """Adds rows and columns of zeros around images ``(batch, height, width, channels)``.

    Args:
        padding: an int (same on all four sides), a pair ``(rows, cols)`` (symmetric), or
            ``((top, bottom), (left, right))``.
        data_format: ``'channels_last'`` or ``'channels_first'`` (``(batch, channels, height, width)``); None
            means ``nbtrain.config.image_data_format()``.

    Example:
        >>> ZeroPadding2D(((1, 0), (2, 2)))(np.ones((1, 3, 3, 1), dtype="float32")).shape
        (1, 4, 7, 1)
    """

    rank = 2


class ZeroPadding1D(ZeroPadding2D):
    """Adds zeros at the start and end of sequences ``(batch, steps, channels)``.

    Args:
        padding: an int (both ends) or a pair ``(before, after)``.
        data_format: ``'channels_last'`` or ``'channels_first'`` (``(batch, channels, steps)``).

    Example:
        >>> ZeroPadding1D((1, 2))(np.ones((1, 3, 1), dtype="float32")).shape
        (1, 6, 1)
    """

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding=padding, data_format=data_format, **kwargs)


_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")


class _UpSampling(Layer):
    """Shared code of UpSampling1D/2D/3D (channels_last; the public 2-D and 3-D classes add channels_first)."""

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.size = normalize_tuple(size, self.rank, "size", kind)
        self.data_format = standardize_data_format(data_format, kind)
        supported = ("nearest", "bilinear") if self.rank == 2 else ("nearest",)
        if interpolation not in supported:
            known = interpolation in _INTERPOLATIONS
            raise ValueError(
                f"{kind}() in nbtrain supports interpolation={' or '.join(map(repr, supported))}, got "
                f"{interpolation!r}." + ("" if known else did_you_mean(str(interpolation), _INTERPOLATIONS))
            )
        self.interpolation = interpolation

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, self.rank)
        spatial = tuple(None if d is None else d * s for d, s in zip(input_shape[1:-1], self.size))
        return (input_shape[0],) + spatial + (input_shape[-1],)

    def check_input_shape(self, x):
        _check_rank(self, x.shape, self.rank)

    def _expanded_shape(self, shape) -> tuple:
        """``(n, h, sh, w, sw, c)``: each input pixel next to an axis of its copies."""
        middle = tuple(v for d, s in zip(shape[1:-1], self.size) for v in (d, s))
        return (shape[0],) + middle + (shape[-1],)

    def _apply(self, x, training, need_input_grad):
        _check_rank(self, x.shape, self.rank)
        if self.interpolation == "bilinear":
            return self._bilinear(x, need_input_grad)
        expanded = self._expanded_shape(x.shape)
        index = (slice(None),) + (slice(None), np.newaxis) * self.rank + (slice(None),)

        def backprop(grad_output):
            if not need_input_grad:
                return None
            copy_axes = tuple(range(2, 2 * self.rank + 1, 2))
            return grad_output.reshape(expanded).sum(axis=copy_axes)

        return np.broadcast_to(x[index], expanded).reshape(self.compute_output_shape(x.shape)), backprop

    def _bilinear(self, x, need_input_grad):
        """Each output axis is a fixed linear map of the input axis, so the output is ``R @ x @ C^T`` per channel
        and the gradient goes back through the transposed maps."""
        rows = _bilinear_matrix(x.shape[1], self.size[0]).astype(x.dtype)
        cols = _bilinear_matrix(x.shape[2], self.size[1]).astype(x.dtype)

        def backprop(grad_output):
            if not need_input_grad:
                return None
            return np.einsum("oh,bopc,pw->bhwc", rows, grad_output, cols, optimize=True)

        return np.einsum("oh,bhwc,pw->bopc", rows, x, cols, optimize=True), backprop

    def get_config(self):
        config = super().get_config() | {"size": self.size[0] if self.rank == 1 else self.size}
        if self.rank == 2:
            config |= {"data_format": self.data_format, "interpolation": self.interpolation}
        return config


class UpSampling2D(ChannelsFirstBoundary, _UpSampling):
    """Enlarges images ``size`` times: repeats each row and column (``'nearest'``) or interpolates
    (``'bilinear'``, with half-pixel centres and clamped edges, as Keras's ``image.resize``).

    Args:
        size: an int or a pair ``(rows, cols)`` of repeat factors.
        data_format: ``'channels_last'`` or ``'channels_first'`` (``(batch, channels, height, width)``); None
            means ``nbtrain.config.image_data_format()``.
        interpolation: ``'nearest'`` or ``'bilinear'``.

    Example:
        >>> UpSampling2D(2)(np.ones((1, 3, 4, 2), dtype="float32")).shape
        (1, 6, 8, 2)
    """

    rank = 2


def _bilinear_matrix(length: int, factor: int) -> np.ndarray:
    """The ``(length * factor, length)`` linear-interpolation map of one axis: output ``o`` samples the input at
    ``(o + 0.5) / factor - 0.5`` (half-pixel centres), clamped to the edge pixels."""
    positions = np.clip((np.arange(length * factor) + 0.5) / factor - 0.5, 0, length - 1)
    low = np.floor(positions).astype(np.int64)
    high = np.minimum(low + 1, length - 1)
    fraction = positions - low
    matrix = np.zeros((length * factor, length))
    rows = np.arange(length * factor)
    np.add.at(matrix, (rows, low), 1 - fraction)
    np.add.at(matrix, (rows, high), fraction)
    return matrix


class UpSampling1D(_UpSampling):
    """Repeats each step of sequences ``(batch, steps, channels)`` ``size`` times.

    Args:
        size: the repeat factor.

    Example:
        >>> UpSampling1D(3)(np.ones((1, 2, 4), dtype="float32")).shape
        (1, 6, 4)
    """

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(size=size, data_format="channels_last", **kwargs)


__all__ = ["Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "UpSampling1D", "UpSampling2D",
           "ZeroPadding1D", "ZeroPadding2D"]

# Keras's other names for the same classes
Convolution1D = LAYERS.register("Convolution1D")(Conv1D)
Convolution2D = LAYERS.register("Convolution2D")(Conv2D)
Convolution2DTranspose = LAYERS.register("Convolution2DTranspose")(Conv2DTranspose)
__all__ += ["Convolution1D", "Convolution2D", "Convolution2DTranspose"]
