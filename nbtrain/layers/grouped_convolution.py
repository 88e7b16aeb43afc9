"""Grouped convolutions (``Conv1D/Conv2D(groups > 1)``): the input channels split into ``groups`` slices, each
convolved with its own ``filters // groups`` filters, the results side by side on the channel axis.

The kernel keeps Keras's shape ``(*kernel_size, in_channels // groups, filters)``: filters ``g * f : (g + 1) * f``
(``f = filters // groups``) read input channels ``g * c : (g + 1) * c``. Each group is an ordinary im2col
convolution on a channel slice of the same window view, so a group costs what a small convolution costs and no
product is spent on the zeros a block-diagonal kernel would hold.
"""

from __future__ import annotations

import numpy as np

from nbtrain.layers.convolutional import offset_view, window_view
from nbtrain.layers.layer import column_sums


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
