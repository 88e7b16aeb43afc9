"""3-D layers over volumes ``(batch, depth, height, width, channels)``: Conv3D, Conv3DTranspose, ZeroPadding3D,
UpSampling3D (pooling is in :mod:`nbtrain.layers.pooling3d`, cropping in :mod:`nbtrain.layers.reshaping`).

They reuse the 1-D/2-D layers' argument checks, configs and channels_first boundary, and the same algorithm: a
strided view gathers every window (im2col) for one matrix product per call, and gradients are scattered back
one kernel offset at a time, a product and a strided addition per offset. The helpers below are the volume
versions of the 2-D window helpers of :mod:`nbtrain.layers.convolutional`, written for any number of axes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from nbtrain.layers.convolutional import (
    _Conv,
    _ConvTranspose,
    _UpSampling,
    _ZeroPadding,
    spatial_rank_error,
    window_geometry,
)
from nbtrain.layers.data_format import ChannelsFirstBoundary
from nbtrain.layers.layer import LAYERS

# ----------------------------------------------------------------------------------------------------------
# Window helpers for any number of spatial axes (channels_last)
# ----------------------------------------------------------------------------------------------------------


class WindowGeometry(NamedTuple):
    """Where a window operation reads, per spatial axis: output size, padding, window, strides, dilation."""

    out: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    window: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]

    @property
    def padded(self) -> bool:
        return any(a or b for a, b in self.pads)

    def offsets(self):
        """Every offset inside the window, in row-major order (the order of the kernel's axes)."""
        return np.ndindex(*self.window)


def nd_geometry(spatial, window, strides, dilation, padding: str) -> WindowGeometry:
    """Geometry of a window operation on inputs of spatial size ``spatial`` (TensorFlow's 'same' padding)."""
    axes = [window_geometry(size, k, s, d, padding) for size, k, s, d in zip(spatial, window, strides, dilation)]
    return WindowGeometry(tuple(o for o, _, _ in axes), tuple((a, b) for _, a, b in axes), tuple(window),
                          tuple(strides), tuple(dilation))


def nd_pad(x: np.ndarray, geometry: WindowGeometry, value=0.0) -> np.ndarray:
    """Pad the spatial axes of channels_last ``x`` (``x`` itself when there is no padding)."""
    if not geometry.padded:
        return x
    shape = (x.shape[0],) + tuple(d + a + b for d, (a, b) in zip(x.shape[1:-1], geometry.pads)) + (x.shape[-1],)
    xp = np.full(shape, value, dtype=x.dtype)
    xp[nd_inner(x.shape, geometry)] = x
    return xp


def nd_inner(shape, geometry: WindowGeometry) -> tuple:
    """The index of the unpadded input inside the padded one."""
    return (slice(None),) + tuple(slice(a, a + d) for d, (a, _) in zip(shape[1:-1], geometry.pads)) + (slice(None),)


def nd_offset_view(xp: np.ndarray, offset, geometry: WindowGeometry) -> np.ndarray:
    """The values window offset ``offset`` touches, one per output position: ``(batch, *out, channels)``.

    Each output position reads a distinct value for a fixed offset, so ``view += ...`` is a safe scatter.
    """
    index = tuple(slice(i * d, i * d + s * (o - 1) + 1, s) for i, d, s, o in
                  zip(offset, geometry.dilation, geometry.strides, geometry.out))
    return xp[(slice(None),) + index + (slice(None),)]


def nd_window_view(xp: np.ndarray, geometry: WindowGeometry) -> np.ndarray:
    """A read-only strided view ``(batch, *out, *window, channels)`` of every window (no copy)."""
    spatial_strides = xp.strides[1:-1]
    shape = (xp.shape[0],) + geometry.out + geometry.window + (xp.shape[-1],)
    strides = ((xp.strides[0],) + tuple(st * s for st, s in zip(spatial_strides, geometry.strides))
               + tuple(st * d for st, d in zip(spatial_strides, geometry.dilation)) + (xp.strides[-1],))
    return as_strided(xp, shape=shape, strides=strides, writeable=False)


# ----------------------------------------------------------------------------------------------------------
# Conv3D
# ----------------------------------------------------------------------------------------------------------


class _Conv3D(_Conv):
    """A 3-D convolution (channels_last), grouped when ``groups > 1``: one im2col product per group."""

    rank = 3

    def _geometry(self, spatial) -> WindowGeometry:
        return nd_geometry(spatial, self.kernel_size, self.strides, self.dilation_rate, self.padding)

    def output_shape_for(self, input_shape, channels) -> tuple:
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise spatial_rank_error(self, input_shape, self.rank)
        self._check_fits(input_shape[1:-1])
        out = tuple(window_geometry(size, k, s, d, self.padding)[0] for size, k, s, d in
                    zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate))
        return (input_shape[0],) + out + (channels,)

    def _apply(self, x, training, need_input_grad):
        self.input_channels(x.shape)
        geometry = self._geometry(x.shape[1:-1])
        xp = nd_pad(x, geometry)
        n, positions = x.shape[0], x.shape[0] * math.prod(geometry.out)
        groups, filters = self.groups, self.filters
        per_group_in, per_group_out = xp.shape[-1] // groups, filters // groups
        ins = [slice(g * per_group_in, (g + 1) * per_group_in) for g in range(groups)]
        outs = [slice(g * per_group_out, (g + 1) * per_group_out) for g in range(groups)]
        kernel = self._weights["kernel"]                      # (kd, kh, kw, per_group_in, filters)
        windows = nd_window_view(xp, geometry)
        cols = [windows[..., ins[g]].reshape(positions, -1) for g in range(groups)]
        z = np.empty((positions, filters), dtype=np.result_type(xp, kernel))
        for g in range(groups):
            z[:, outs[g]] = cols[g] @ kernel[..., outs[g]].reshape(-1, per_group_out)
        if self.use_bias:
            z += self._weights["bias"]
        padded_shape, inner = xp.shape, nd_inner(x.shape, geometry)

        def from_preactivation(grad_z):
            g2d = grad_z.reshape(-1, filters)
            kernel = self._weights["kernel"]
            if self.trainable:
                kernel_grad = self.grad_buffer("kernel").reshape(kernel.shape)
                for g in range(groups):
                    kernel_grad[..., outs[g]] = (cols[g].T @ g2d[:, outs[g]]).reshape(kernel[..., outs[g]].shape)
                if self.use_bias:
                    np.sum(g2d, axis=0, out=self.grad_buffer("bias"))
            if not need_input_grad:
                return None
            grad_padded = np.zeros(padded_shape, dtype=np.result_type(g2d, kernel))
            for g in range(groups):
                for offset in geometry.offsets():
                    view = nd_offset_view(grad_padded[..., ins[g]], offset, geometry)
                    view += (g2d[:, outs[g]] @ kernel[offset][:, outs[g]].T).reshape(
                        (n,) + geometry.out + (per_group_in,))
            return grad_padded[inner] if geometry.padded else grad_padded

        return self.activate(z.reshape((n,) + geometry.out + (filters,)), from_preactivation, owns_z=True)


class Conv3D(ChannelsFirstBoundary, _Conv3D):
    """3-D convolution over volumes ``(batch, depth, height, width, channels)`` (video, medical scans).

    The kernel has Keras's shape ``(kernel_d, kernel_h, kernel_w, in_channels // groups, filters)``.

    Args:
        filters: number of output channels.
        kernel_size: an int or a triple ``(kernel_d, kernel_h, kernel_w)``.
        strides: an int or a triple.
        padding: ``'valid'`` or ``'same'`` (output size ``ceil(input / stride)``, the odd extra zero at the end).
        data_format: ``'channels_last'`` or ``'channels_first'`` (``(batch, channels, depth, height, width)``);
            None means ``nbtrain.config.image_data_format()``.
        dilation_rate: an int or a triple.
        groups: split the input channels into this many groups with ``filters // groups`` filters each.
        activation: name or function; None means linear.
        use_bias: whether to add a bias per filter.
        kernel_initializer, bias_initializer: defaults ``"glorot_uniform"`` and ``"zeros"``.
        kernel_regularizer, bias_regularizer: penalties added to the loss.
        kernel_constraint, bias_constraint: projections applied after each update.

    Example:
        >>> Conv3D(4, 3, padding="same")(np.zeros((1, 5, 6, 7, 2), dtype="float32")).shape
        (1, 5, 6, 7, 4)
    """

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


# ----------------------------------------------------------------------------------------------------------
# Conv3DTranspose
# ----------------------------------------------------------------------------------------------------------


class _Conv3DTranspose(_ConvTranspose):
    """The gradient of a 3-D convolution, run forward: each input voxel scatters ``voxel @ kernel[offset].T``
    to ``voxel * stride + offset * dilation``; the backward pass gathers windows as Conv3D's forward pass does."""

    rank = 3

    def _apply(self, x, training, need_input_grad):
        self.input_channels(x.shape)
        n, spatial, channels = x.shape[0], x.shape[1:-1], x.shape[-1]
        # offsets map input voxels to output positions, as in the 2-D layer
        geometry = WindowGeometry(tuple(spatial), ((0, 0),) * 3, self.kernel_size, self.strides, self.dilation_rate)
        lengths_and_crops = self._lengths(spatial)
        full = tuple(max((size - 1) * s + d * (k - 1) + 1, crop + length) for size, s, d, k, (length, crop) in
                     zip(spatial, self.strides, self.dilation_rate, self.kernel_size, lengths_and_crops))
        kernel = self._weights["kernel"]                      # (kd, kh, kw, filters, in_channels)
        x2d = x.reshape(-1, channels)
        z_full = np.zeros((n,) + full + (self.filters,), dtype=np.result_type(x2d, kernel))
        for offset in geometry.offsets():
            view = nd_offset_view(z_full, offset, geometry)
            view += (x2d @ kernel[offset].T).reshape((n,) + tuple(spatial) + (self.filters,))
        kept = (slice(None),) + tuple(slice(crop, crop + length) for length, crop in lengths_and_crops) + (slice(None),)
        z = z_full[kept]
        if self.use_bias:
            z = z + self._weights["bias"]
        full_shape = z_full.shape

        def from_preactivation(grad_z):
            grad_full = np.zeros(full_shape, dtype=grad_z.dtype)
            grad_full[kept] = grad_z
            # gather, for every input voxel, the output gradients its kernel offsets wrote to (im2col)
            cols = nd_window_view(grad_full, geometry).reshape(x2d.shape[0], -1)
            if self.trainable:
                np.matmul(cols.T, x2d, out=self.grad_buffer("kernel").reshape(cols.shape[1], -1))
                if self.use_bias:
                    np.sum(grad_z.reshape(-1, self.filters), axis=0, out=self.grad_buffer("bias"))
            if not need_input_grad:
                return None
            return (cols @ self._kernel_matrix()).reshape(x.shape)

        return self.activate(z, from_preactivation)


class Conv3DTranspose(ChannelsFirstBoundary, _Conv3DTranspose):
    """Transposed 3-D convolution: upsamples volumes ``(batch, depth, height, width, channels)``.

    With ``strides=2`` and ``padding='same'`` a ``(d, h, w)`` volume becomes ``(2d, 2h, 2w)``. The kernel has
    Keras's shape ``(kernel_d, kernel_h, kernel_w, filters, in_channels)``.

    Args:
        filters: number of output channels.
        kernel_size: an int or a triple.
        strides: an int or a triple; the upsampling factor.
        padding: ``'valid'`` or ``'same'``.
        output_padding: None, or an int or a triple (each smaller than its stride) added to the output size.
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        dilation_rate: an int or a triple.
        activation: name or function; None means linear.
        use_bias: whether to add a bias per filter.
        kernel_initializer, bias_initializer: defaults ``"glorot_uniform"`` and ``"zeros"``.
        kernel_regularizer, bias_regularizer: penalties added to the loss.
        kernel_constraint, bias_constraint: projections applied after each update.

    Example:
        >>> Conv3DTranspose(2, 3, strides=2, padding="same")(np.zeros((1, 2, 3, 4, 5), dtype="float32")).shape
        (1, 4, 6, 8, 2)
    """

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


# ----------------------------------------------------------------------------------------------------------
# Padding and upsampling
# ----------------------------------------------------------------------------------------------------------


class ZeroPadding3D(ChannelsFirstBoundary, _ZeroPadding):
    """Adds zeros around volumes ``(batch, depth, height, width, channels)``.

    Args:
        padding: an int (the same on every side), a triple ``(d, h, w)`` (symmetric per axis), or
            ``((front, back), (top, bottom), (left, right))``.
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.

    Example:
        >>> ZeroPadding3D((1, 0, 2))(np.ones((1, 2, 3, 4, 1), dtype="float32")).shape
        (1, 4, 3, 8, 1)
    """

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding=padding, data_format=data_format, **kwargs)


class UpSampling3D(ChannelsFirstBoundary, _UpSampling):
    """Repeats each voxel of volumes ``(batch, depth, height, width, channels)`` ``size`` times along each axis.

    Args:
        size: an int or a triple of repeat factors.
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.

    Example:
        >>> UpSampling3D((2, 1, 3))(np.ones((1, 2, 3, 4, 1), dtype="float32")).shape
        (1, 4, 3, 12, 1)
    """

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size=size, data_format=data_format, **kwargs)

    def get_config(self):
        return super().get_config() | {"data_format": self.data_format}


__all__ = ["Conv3D", "Conv3DTranspose", "UpSampling3D", "ZeroPadding3D"]

# Keras's other names for the same classes
Convolution3D = LAYERS.register("Convolution3D")(Conv3D)
Convolution3DTranspose = LAYERS.register("Convolution3DTranspose")(Conv3DTranspose)
__all__ += ["Convolution3D", "Convolution3DTranspose"]
