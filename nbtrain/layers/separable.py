"""Depthwise and separable convolutions (channels_last): DepthwiseConv1D/2D and SeparableConv1D/2D.

A depthwise convolution filters each input channel on its own with ``depth_multiplier`` kernels, so it has
``kernel_h * kernel_w * channels * depth_multiplier`` weights instead of a full convolution's
``kernel_h * kernel_w * channels * filters``. A separable convolution follows it with a 1x1 (pointwise)
convolution that mixes the channels: far fewer weights and multiplications than `Conv2D`, which is why
Xception and MobileNet use it.

The depthwise step loops over the kernel's offsets (nine for a 3x3 kernel), each a broadcast multiply-add over
the whole batch; the pointwise step is one matrix product.
"""

from __future__ import annotations

import numpy as np

from nbtrain.layers.convolutional import Geometry, SlidingWindowLayer, offset_view
from nbtrain.layers.data_format import ChannelsFirstBoundary
from nbtrain.layers.layer import LAYERS, column_sums
from nbtrain.utils.checks import positive_int


def depthwise(xp: np.ndarray, kernel: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Each channel of padded images ``xp`` filtered by its own kernels: ``(batch, oh, ow, channels, multiplier)``.

    ``kernel`` has Keras's shape ``(kernel_h, kernel_w, channels, multiplier)``.
    """
    (oh, ow), (kh, kw) = geometry.out, geometry.window
    n, channels, multiplier = xp.shape[0], kernel.shape[2], kernel.shape[3]
    out = np.zeros((n, oh, ow, channels, multiplier), dtype=np.result_type(xp, kernel))
    product = np.empty_like(out)       # one buffer for the nine products, not nine new arrays
    for i in range(kh):
        for j in range(kw):
            np.multiply(offset_view(xp, i, j, geometry)[..., None], kernel[i, j], out=product)
            out += product
    return out


def depthwise_backward(grad: np.ndarray, xp: np.ndarray, kernel: np.ndarray, geometry: Geometry,
                       kernel_grad: np.ndarray | None, input_gradient: bool) -> np.ndarray | None:
    """Gradients of `depthwise` given ``grad`` for its output: fills ``kernel_grad`` (if given) and returns the
    gradient for the padded images (if ``input_gradient``)."""
    kh, kw = geometry.window
    grad_padded = np.zeros(xp.shape, dtype=np.result_type(grad, kernel)) if input_gradient else None
    single = grad.shape[-1] == 1       # depth_multiplier 1, the usual case: plain products, no sum over m
    product = np.empty(grad.shape[:-1], dtype=np.result_type(grad, kernel)) if input_gradient and single else None
    for i in range(kh):
        for j in range(kw):
            if kernel_grad is not None:
                kernel_grad[i, j] = np.einsum("nhwc,nhwcm->cm", offset_view(xp, i, j, geometry), grad)
            if input_gradient:
                view = offset_view(grad_padded, i, j, geometry)
                if single:
                    view += np.multiply(grad[..., 0], kernel[i, j, :, 0], out=product)
                else:
                    view += np.einsum("nhwcm,cm->nhwc", grad, kernel[i, j])
    return grad_padded


class _DepthwiseStep(SlidingWindowLayer):
    """The depthwise step that DepthwiseConv and SeparableConv share: forward on padded input, and its gradients."""

    def depthwise_forward(self, x, kernel_name: str):
        """``x`` filtered by weight ``kernel_name``: ``(batch, oh, ow, channels, depth_multiplier)``, and
        ``depthwise_gradients(grad, need_input_grad)`` for this call's backward pass.

        ``depthwise_gradients`` fills the kernel's gradient (when trainable) and returns dL/dx (when needed).
        """
        xp, padding = self.padded_input(x)

        def depthwise_gradients(grad: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
            kernel = self.kernel_2d(kernel_name)
            kernel_grad = self.grad_buffer(kernel_name).reshape(kernel.shape) if self.trainable else None
            grad_padded = depthwise_backward(grad, xp, kernel, padding.geometry, kernel_grad, need_input_grad)
            return None if grad_padded is None else self.unpadded_gradient(grad_padded, padding)

        return depthwise(xp, self.kernel_2d(kernel_name), padding.geometry), depthwise_gradients


class _DepthwiseConv(_DepthwiseStep):
    """Shared code of DepthwiseConv1D and DepthwiseConv2D (1-D runs on a height-1 view)."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", type(self).__name__)
        self.set_weight_options("depthwise", depthwise_initializer, depthwise_regularizer, depthwise_constraint)

    def build(self, input_shape):
        channels = self.input_channels(input_shape)
        self.add_weight_with_options("kernel", self.kernel_size + (channels, self.depth_multiplier), "depthwise")
        self.add_bias(channels * self.depth_multiplier)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        return self.output_shape_for(input_shape, None if channels is None else channels * self.depth_multiplier)

    def _apply(self, x, training, need_input_grad):
        filtered, depthwise_gradients = self.depthwise_forward(x, "kernel")
        filtered_shape = filtered.shape                     # (batch, oh, ow, channels, depth_multiplier)
        z = filtered.reshape(filtered_shape[:3] + (-1,))   # channel c, multiplier m -> output channel c * m_total + m
        if self.use_bias:
            z += self._weights["bias"]
        out_channels = z.shape[-1]

        def from_preactivation(grad_z):
            if self.trainable and self.use_bias:
                np.sum(grad_z.reshape(-1, out_channels), axis=0, out=self.grad_buffer("bias"))
            return depthwise_gradients(grad_z.reshape(filtered_shape), need_input_grad)

        return self.activate(z.reshape((x.shape[0],) + filtered_shape[1:3][2 - self.rank:] + (out_channels,)),
                             from_preactivation)

    def get_config(self):
        return (super().get_config() | {"depth_multiplier": self.depth_multiplier} | self.window_config()
                | self.weight_options_config("depthwise"))


class DepthwiseConv2D(ChannelsFirstBoundary, _DepthwiseConv):
    """Depthwise 2-D convolution: each channel of ``(batch, height, width, channels)`` images filtered on its own.

    The output has ``channels * depth_multiplier`` channels; output channel ``c * depth_multiplier + m`` is input
    channel ``c`` filtered by kernel ``m``. The kernel has Keras's shape
    ``(kernel_h, kernel_w, channels, depth_multiplier)``.

    Args:
        kernel_size: an int or a pair ``(kernel_h, kernel_w)``.
        strides: an int or a pair.
        padding: ``'valid'`` or ``'same'``.
        depth_multiplier: kernels per input channel (default 1).
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        dilation_rate: an int or a pair.
        activation: name or function; None means linear.
        use_bias: whether to add a bias per output channel.
        depthwise_initializer: default ``"glorot_uniform"``; bias_initializer: default ``"zeros"``.
        depthwise_regularizer, bias_regularizer: penalties added to the loss.
        depthwise_constraint, bias_constraint: projections applied after each update.

    Example:
        >>> DepthwiseConv2D(3, depth_multiplier=2)(np.zeros((1, 8, 8, 3), "float32")).shape
        (1, 6, 6, 6)
    """

    rank = 2

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, depthwise_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class DepthwiseConv1D(ChannelsFirstBoundary, _DepthwiseConv):
    """Depthwise 1-D convolution over sequences ``(batch, steps, channels)``; see `DepthwiseConv2D`.

    The kernel has Keras's shape ``(kernel_size, channels, depth_multiplier)``.

    Example:
        >>> DepthwiseConv1D(3, padding="same")(np.zeros((2, 10, 4), "float32")).shape
        (2, 10, 4)
    """

    rank = 1


class _SeparableConv(_DepthwiseStep):
    """Shared code of SeparableConv1D and SeparableConv2D: a depthwise step, then a pointwise (1x1) product."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        kind = type(self).__name__
        self.filters = positive_int(filters, "filters", kind)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", kind)
        self.set_weight_options("depthwise", depthwise_initializer, depthwise_regularizer, depthwise_constraint)
        self.set_weight_options("pointwise", pointwise_initializer, pointwise_regularizer, pointwise_constraint)

    def build(self, input_shape):
        channels = self.input_channels(input_shape)
        middle = channels * self.depth_multiplier
        self.add_weight_with_options("depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
                                     "depthwise")
        self.add_weight_with_options("pointwise_kernel", (1,) * self.rank + (middle, self.filters), "pointwise")
        self.add_bias(self.filters)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return self.output_shape_for(input_shape, self.filters)

    def _pointwise_matrix(self) -> np.ndarray:
        return self._weights["pointwise_kernel"].reshape(-1, self.filters)

    def _apply(self, x, training, need_input_grad):
        pointwise = self._pointwise_matrix()
        filtered, depthwise_gradients = self.depthwise_forward(x, "depthwise_kernel")
        filtered_shape, filtered = filtered.shape, filtered.reshape(-1, pointwise.shape[0])
        z = filtered @ pointwise
        if self.use_bias:
            z += self._weights["bias"]

        def from_preactivation(grad_z):
            g2d = grad_z.reshape(-1, self.filters)
            pointwise = self._pointwise_matrix()
            if self.trainable:
                np.matmul(filtered.T, g2d, out=self.grad_buffer("pointwise_kernel").reshape(pointwise.shape))
                if self.use_bias:
                    column_sums(g2d, out=self.grad_buffer("bias"))
            return depthwise_gradients((g2d @ pointwise.T).reshape(filtered_shape), need_input_grad)

        return self.activate(z.reshape((x.shape[0],) + filtered_shape[1:3][2 - self.rank:] + (self.filters,)),
                             from_preactivation)

    def get_config(self):
        return (super().get_config() | {"filters": self.filters, "depth_multiplier": self.depth_multiplier}
                | self.window_config() | self.weight_options_config("depthwise", "pointwise"))

    def __repr__(self):
        return (f"<{type(self).__name__} name={self.name!r}, filters={self.filters}, "
                f"kernel_size={self.kernel_size}, activation={self.activation.name!r}>")


class SeparableConv2D(ChannelsFirstBoundary, _SeparableConv):
    """Separable 2-D convolution: a depthwise convolution, then a 1x1 convolution to ``filters`` channels.

    Weights, in Keras order and shapes: ``depthwise_kernel`` ``(kernel_h, kernel_w, channels, depth_multiplier)``,
    ``pointwise_kernel`` ``(1, 1, channels * depth_multiplier, filters)``, ``bias`` ``(filters,)``. Strides,
    padding and dilation apply to the depthwise step.

    Args:
        filters: number of output channels.
        kernel_size: an int or a pair ``(kernel_h, kernel_w)``.
        strides: an int or a pair.
        padding: ``'valid'`` or ``'same'``.
        data_format: ``'channels_last'`` or ``'channels_first'``; None means ``nbtrain.config.image_data_format()``.
        dilation_rate: an int or a pair.
        depth_multiplier: depthwise kernels per input channel (default 1).
        activation: name or function; None means linear.
        use_bias: whether to add a bias per filter.
        depthwise_initializer, pointwise_initializer: default ``"glorot_uniform"``; bias_initializer: ``"zeros"``.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer: penalties added to the loss.
        depthwise_constraint, pointwise_constraint, bias_constraint: projections applied after each update.

    Example:
        >>> SeparableConv2D(16, 3, padding="same", activation="relu")(np.zeros((2, 8, 8, 3), "float32")).shape
        (2, 8, 8, 16)
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, depth_multiplier=depth_multiplier, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                         bias_regularizer=bias_regularizer, depthwise_constraint=depthwise_constraint,
                         pointwise_constraint=pointwise_constraint, bias_constraint=bias_constraint, **kwargs)


class SeparableConv1D(ChannelsFirstBoundary, _SeparableConv):
    """Separable 1-D convolution over sequences ``(batch, steps, channels)``; see `SeparableConv2D`.

    Example:
        >>> SeparableConv1D(8, 3)(np.zeros((2, 10, 4), "float32")).shape
        (2, 8, 8)
    """

    rank = 1


__all__ = ["DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"]

# Keras's other names for the same classes
SeparableConvolution1D = LAYERS.register("SeparableConvolution1D")(SeparableConv1D)
SeparableConvolution2D = LAYERS.register("SeparableConvolution2D")(SeparableConv2D)
__all__ += ["SeparableConvolution1D", "SeparableConvolution2D"]
