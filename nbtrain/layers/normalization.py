"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization and UnitNormalization."""

from __future__ import annotations

from functools import partial

import numpy as np

from nbtrain import initializers
from nbtrain.layers.layer import Layer
from nbtrain.utils.checks import is_int, number, positive_int
from nbtrain.utils.naming import shape_text


def _check_epsilon(epsilon, layer: str) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.integer, np.floating)) or epsilon <= 0:
        raise ValueError(f"{layer}() expects epsilon to be a positive number, got {epsilon!r}.")
    return float(epsilon)


def _normalize_axes(axis, ndim: int, layer: Layer) -> tuple[int, ...]:
    """Turn an int or a list of ints (negative allowed) into sorted non-negative axes of an ``ndim`` input."""
    items = [axis] if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) else list(axis)
    axes = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ValueError(
                f"{type(layer).__name__} layer '{layer.name}' got axis={axis!r}, which is out of range for inputs "
                f"with {ndim} axes. Use -1 for the last axis (the features or channels)."
            )
        axes.append(int(a) % ndim)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{type(layer).__name__}() got a repeated axis in axis={axis!r}.")
    return tuple(sorted(axes))


class _ScaleAndOffset:
    """gamma and beta with their initializers, regularizers and constraints, shared by the normalization layers."""

    def _set_scale_and_offset(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                              gamma_regularizer, beta_constraint, gamma_constraint):
        self.center = bool(center)
        self.scale = bool(scale)
        self.set_weight_options("beta", beta_initializer, beta_regularizer, beta_constraint)
        self.set_weight_options("gamma", gamma_initializer, gamma_regularizer, gamma_constraint)

    def _add_scale_and_offset(self, shape) -> None:
        """Create gamma (if ``scale``) then beta (if ``center``): Keras's weight order."""
        if self.scale:
            self.add_weight_with_options("gamma", shape)
        if self.center:
            self.add_weight_with_options("beta", shape)

    def _scale_and_offset_config(self) -> dict:
        return {"center": self.center, "scale": self.scale, **self.weight_options_config("beta", "gamma")}


def _renorm_clipping(clipping) -> dict:
    """``renorm_clipping`` checked as Keras checks it: keys rmax, rmin, dmax; rmax >= rmin; dmax >= 0."""
    clipping = dict(clipping or {})
    unknown = set(clipping) - {"rmax", "rmin", "dmax"}
    if unknown:
        raise ValueError(f"BatchNormalization: renorm_clipping takes the keys 'rmax', 'rmin' and 'dmax', got "
                         f"{sorted(unknown)}.")
    rmax, rmin, dmax = clipping.get("rmax"), clipping.get("rmin"), clipping.get("dmax")
    if rmax is not None and rmin is not None and rmax < rmin:
        raise ValueError(f"BatchNormalization: renorm_clipping needs rmax >= rmin, got rmax={rmax}, rmin={rmin}.")
    if dmax is not None and dmax < 0:
        raise ValueError(f"BatchNormalization: renorm_clipping needs dmax >= 0, got dmax={dmax}.")
    return clipping


class BatchNormalization(_ScaleAndOffset, Layer):
    """Normalizes each feature with the batch's statistics while training, and moving averages afterwards.

    In training (``training=True`` and the layer trainable) the output is
    ``gamma * (x - mean) / sqrt(var + epsilon) + beta`` with the batch mean and biased variance taken over
    every axis but ``axis``, and the moving statistics move towards them:
    ``moving = moving * momentum + batch_stat * (1 - momentum)``. At inference, or when the layer is frozen
    (``trainable = False``, as in Keras 3 fine-tuning), the moving statistics are used instead.

    Weights, in Keras order: gamma (if ``scale``), beta (if ``center``), moving_mean, moving_variance
    (the last two are not trainable); with ``renorm`` also moving_stddev, renorm_mean and renorm_stddev.

    With ``renorm=True`` (batch renormalization, as in Keras) training computes
    ``(x_hat * r + d) * gamma + beta``, where ``r`` and ``d`` (held constant in the backward pass, clipped by
    ``renorm_clipping={"rmax", "rmin", "dmax"}``) correct the batch statistics towards moving ones kept with
    ``renorm_momentum``, so small or unrepresentative batches train closer to what inference computes.

    Args:
        axis: the feature axis, default -1 (channels_last).
        momentum: weight of the old moving statistics, default 0.99.
        epsilon: added to the variance, default 1e-3.
        center: learn an offset beta.
        scale: learn a factor gamma.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer:
            names or initializers (zeros, ones, zeros, ones).
        beta_regularizer, gamma_regularizer: penalties added to the loss.
        beta_constraint, gamma_constraint: projections applied after each update.

    Example:
        >>> bn = BatchNormalization()
        >>> bn(np.array([[1.0, 2.0], [3.0, 6.0]], dtype="float32"), training=True).round(4)
        array([[-0.9995, -0.9999],
               [ 0.9995,  0.9999]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized=False, renorm=False, renorm_clipping=None, renorm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"BatchNormalization() expects axis to be an int such as -1, got {axis!r}.")
        self.renorm = bool(renorm)
        self.renorm_clipping = _renorm_clipping(renorm_clipping) if self.renorm else renorm_clipping
        self.renorm_momentum = number(renorm_momentum, "renorm_momentum", "BatchNormalization", low=0, high=1)
        self.axis = int(axis)
        self.momentum = number(momentum, "momentum", "BatchNormalization", low=0, high=1)
        self.epsilon = number(epsilon, "epsilon", "BatchNormalization", low=0, low_open=True)
        self.synchronized = bool(synchronized)  # one process: nothing to synchronize
        self._set_scale_and_offset(center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                                   gamma_regularizer, beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        (axis,) = _normalize_axes(self.axis, len(input_shape), self)
        features = input_shape[axis]
        if features is None:
            raise ValueError(
                f"BatchNormalization layer '{self.name}' needs a known size on axis {self.axis}, got input shape "
                f"{shape_text(input_shape)}."
            )
        self._add_scale_and_offset((features,))
        self.add_weight("moving_mean", (features,), self.moving_mean_initializer, trainable=False)
        self.add_weight("moving_variance", (features,), self.moving_variance_initializer, trainable=False)
        if self.renorm:
            # Batch renormalization (Ioffe 2017) tracks standard deviations; Keras's weight order follows.
            stddev = np.sqrt(self._weights["moving_variance"])
            self.add_weight("moving_stddev", (features,), lambda shape, dtype=None: stddev.copy(), trainable=False)
            self.add_weight("renorm_mean", (features,), self.moving_mean_initializer, trainable=False)
            self.add_weight("renorm_stddev", (features,), lambda shape, dtype=None: stddev.copy(), trainable=False)
        super().build(input_shape)

    def check_input_shape(self, x):
        expected = self.input_shape
        (axis,) = _normalize_axes(self.axis, len(expected), self)
        if x.ndim != len(expected) or x.shape[axis] != expected[axis]:
            raise ValueError(
                f"BatchNormalization layer '{self.name}' was built for inputs of shape {shape_text(expected)} "
                f"({expected[axis]} features on axis {self.axis}) but got an array of shape {x.shape}."
            )

    def _broadcast(self, vector, ndim, axis):
        shape = [1] * ndim
        shape[axis] = -1
        return vector.reshape(shape)

    def _apply(self, x, training, need_input_grad, mask=None):
        (axis,) = _normalize_axes(self.axis, x.ndim, self)
        reduce = tuple(a for a in range(x.ndim) if a != axis)
        use_batch_statistics = bool(training) and self.trainable
        weights = count = correction = None
        if use_batch_statistics:
            if mask is None:
                mean = x.mean(axis=reduce, keepdims=True)
                centered = x - mean
                var = np.mean(np.square(centered), axis=reduce, keepdims=True)
            else:
                # masked steps (padding) do not count towards the statistics, as in Keras
                weights = np.asarray(mask, dtype=x.dtype).reshape(np.shape(mask) + (1,) * (x.ndim - np.ndim(mask)))
                weights = np.broadcast_to(weights, x.shape)
                count = np.maximum(weights.sum(axis=reduce, keepdims=True), 1)
                mean = (x * weights).sum(axis=reduce, keepdims=True) / count
                centered = x - mean
                var = (weights * np.square(centered)).sum(axis=reduce, keepdims=True) / count
            if self.renorm:
                correction = self._renorm_correction(mean.reshape(-1), var.reshape(-1))
                self._update_renorm_statistics(mean.reshape(-1), var.reshape(-1))
            else:
                self._update_moving(mean.reshape(-1), var.reshape(-1))
        else:
            mean = self._broadcast(self._weights["moving_mean"], x.ndim, axis)
            var = self._broadcast(self._weights["moving_variance"], x.ndim, axis)
            centered = x - mean
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        x_hat = centered * inv_std
        scale, offset = self._effective_scale_and_offset(correction)
        out = x_hat * self._broadcast(scale, x.ndim, axis) if scale is not None else x_hat.copy()
        if offset is not None:
            out += self._broadcast(offset, x.ndim, axis)
        if count is None and use_batch_statistics:
            count = x.size // x.shape[axis]
        cache = (x_hat, inv_std, axis, reduce, use_batch_statistics, weights, count, correction)
        return out, partial(self._gradients, cache, need_input_grad)

    def _effective_scale_and_offset(self, correction):
        """gamma and beta, or with batch renormalization's ``(r, d)``: ``r * gamma`` and ``d * gamma + beta``,
        since ``(x_hat * r + d) * gamma + beta`` is what renormalization computes (r and d held constant)."""
        gamma = self._weights["gamma"] if self.scale else None
        beta = self._weights["beta"] if self.center else None
        if correction is None:
            return gamma, beta
        r, d = correction
        scale = r if gamma is None else r * gamma
        offset = d if gamma is None else d * gamma
        return scale, offset if beta is None else offset + beta

    def _renorm_correction(self, mean, var):
        """``(r, d)``: how far this batch's statistics are from the renorm moving ones, clipped as configured."""
        renorm_stddev = np.maximum(self._weights["renorm_stddev"], np.sqrt(self.epsilon))
        r = np.sqrt(var + self.epsilon) / renorm_stddev
        d = (mean - self._weights["renorm_mean"]) / renorm_stddev
        clipping = self.renorm_clipping
        if clipping.get("rmin") is not None:
            r = np.maximum(r, clipping["rmin"])
        if clipping.get("rmax") is not None:
            r = np.minimum(r, clipping["rmax"])
        if clipping.get("dmax") is not None:
            d = np.clip(d, -clipping["dmax"], clipping["dmax"])
        return r.astype(mean.dtype), d.astype(mean.dtype)

    def _update_renorm_statistics(self, mean, var):
        """Keras's update: renorm statistics with renorm_momentum, moving ones with momentum, and the moving
        variance derived from the moving standard deviation."""
        stddev = np.sqrt(var + self.epsilon)
        for name, stat, momentum in (("renorm_mean", mean, self.renorm_momentum),
                                     ("renorm_stddev", stddev, self.renorm_momentum),
                                     ("moving_mean", mean, self.momentum), ("moving_stddev", stddev, self.momentum)):
            moving = self._weights[name]
            moving *= momentum
            moving += (1.0 - momentum) * stat.astype(moving.dtype, copy=False)
        moving_stddev = self._weights["moving_stddev"]
        np.maximum(moving_stddev * moving_stddev - self.epsilon, 0, out=self._weights["moving_variance"])

    def _update_moving(self, mean, var):
        for name, stat in (("moving_mean", mean), ("moving_variance", var)):
            moving = self._weights[name]
            moving *= self.momentum
            moving += (1.0 - self.momentum) * stat.astype(moving.dtype, copy=False)

    def _gradients(self, cache, need_input_grad, grad_output):
        """One call\'s backward pass, from what its forward pass kept."""
        x_hat, inv_std, axis, reduce, use_batch_statistics, weights, count, correction = cache
        g = grad_output
        sum_g = g.sum(axis=reduce, keepdims=True)
        sum_g_xhat = (g * x_hat).sum(axis=reduce, keepdims=True)
        if self.trainable:
            if self.scale:
                # out = x_hat * r * gamma + d * gamma + beta: with renorm, gamma's gradient has both terms
                grad_gamma = sum_g_xhat.reshape(-1)
                if correction is not None:
                    grad_gamma = correction[0] * grad_gamma + correction[1] * sum_g.reshape(-1)
                self.grads["gamma"] = grad_gamma.astype(self._weights["gamma"].dtype, copy=False)
            if self.center:
                self.grads["beta"] = sum_g.reshape(-1).astype(self._weights["beta"].dtype, copy=False)
        if not need_input_grad:
            return None
        scale, _ = self._effective_scale_and_offset(correction)
        factor = inv_std * self._broadcast(scale, g.ndim, axis) if scale is not None else inv_std
        if not use_batch_statistics:
            return g * factor
        # the batch mean and variance depend on every input: subtract their share of the gradient
        share = (sum_g + x_hat * sum_g_xhat) / count
        if weights is not None:
            share = share * weights
        return factor * (g - share)

    def get_config(self):
        return super().get_config() | {
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            **self._scale_and_offset_config(),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }

    def __repr__(self):
        return f"<BatchNormalization name={self.name!r}, axis={self.axis}, momentum={self.momentum}>"


class LayerNormalization(_ScaleAndOffset, Layer):
    """Normalizes each sample over its feature axis (or axes): ``gamma * (x - mean) / sqrt(var + eps) + beta``.

    Unlike BatchNormalization it uses no batch statistics, so training and inference compute the same.

    Args:
        axis: the axis or list of axes to normalize over, default -1.
        epsilon: added to the variance, default 1e-3.
        center: learn an offset beta.
        scale: learn a factor gamma.
        beta_initializer, gamma_initializer: names or initializers (zeros, ones).
        beta_regularizer, gamma_regularizer: penalties added to the loss.
        beta_constraint, gamma_constraint: projections applied after each update.

    Example:
        >>> LayerNormalization()(np.array([[1.0, 3.0]], dtype="float32")).round(4)
        array([[-0.9995,  0.9995]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if rms_scaling:
            raise ValueError("LayerNormalization() in nbtrain does not support rms_scaling=True.")
        if not (isinstance(axis, (int, np.integer)) and not isinstance(axis, bool)) \
                and not isinstance(axis, (list, tuple)):
            raise TypeError(f"LayerNormalization() expects axis to be an int or a list of ints, got {axis!r}.")
        self.axis = int(axis) if isinstance(axis, (int, np.integer)) else list(axis)
        self.epsilon = number(epsilon, "epsilon", "LayerNormalization", low=0, low_open=True)
        self.rms_scaling = False
        self._set_scale_and_offset(center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                                   gamma_regularizer, beta_constraint, gamma_constraint)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        axes = _normalize_axes(self.axis, len(input_shape), self)
        if any(input_shape[a] is None for a in axes):
            raise ValueError(
                f"LayerNormalization layer '{self.name}' needs known sizes on axis {self.axis}, got input shape "
                f"{shape_text(input_shape)}."
            )
        self._add_scale_and_offset(tuple(input_shape[a] for a in axes))
        super().build(input_shape)

    def check_input_shape(self, x):
        expected = self.input_shape
        axes = _normalize_axes(self.axis, len(expected), self)
        if x.ndim != len(expected) or any(x.shape[a] != expected[a] for a in axes):
            raise ValueError(
                f"LayerNormalization layer '{self.name}' was built for inputs of shape {shape_text(expected)} "
                f"but got an array of shape {x.shape}."
            )

    def _broadcast(self, param, shape, axes):
        full = [1] * len(shape)
        for a in axes:
            full[a] = shape[a]
        return param.reshape(full)

    def _apply(self, x, training, need_input_grad):
        axes = _normalize_axes(self.axis, x.ndim, self)
        centered = x - x.mean(axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(np.mean(np.square(centered), axis=axes, keepdims=True) + self.epsilon)
        x_hat = centered * inv_std
        out = x_hat * self._broadcast(self._weights["gamma"], x.shape, axes) if self.scale else x_hat.copy()
        if self.center:
            out += self._broadcast(self._weights["beta"], x.shape, axes)
        cache = (x_hat, inv_std, axes)
        return out, partial(self._gradients, cache, need_input_grad)

    def _gradients(self, cache, need_input_grad, grad_output):
        """One call\'s backward pass, from what its forward pass kept."""
        x_hat, inv_std, axes = cache
        g = grad_output
        others = tuple(a for a in range(g.ndim) if a not in axes)
        if self.trainable:
            if self.scale:
                gamma = self._weights["gamma"]
                self.grads["gamma"] = (g * x_hat).sum(axis=others).reshape(gamma.shape).astype(gamma.dtype, copy=False)
            if self.center:
                beta = self._weights["beta"]
                self.grads["beta"] = g.sum(axis=others).reshape(beta.shape).astype(beta.dtype, copy=False)
        if not need_input_grad:
            return None
        if self.scale:
            g = g * self._broadcast(self._weights["gamma"], g.shape, axes)
        # each sample's mean and variance depend on all its features: remove their share of the gradient
        return inv_std * (g - g.mean(axis=axes, keepdims=True)
                          - x_hat * np.mean(g * x_hat, axis=axes, keepdims=True))

    def get_config(self):
        return super().get_config() | {
            "axis": self.axis,
            "epsilon": self.epsilon,
            "rms_scaling": self.rms_scaling,
            **self._scale_and_offset_config(),
        }

    def __repr__(self):
        return f"<LayerNormalization name={self.name!r}, axis={self.axis}>"


class GroupNormalization(_ScaleAndOffset, Layer):
    """Normalizes each sample over groups of channels: ``gamma * (x - mean) / sqrt(var + eps) + beta``, with the
    mean and variance taken over the spatial axes and the channels of one group.

    ``groups=1`` normalizes over all channels (like LayerNormalization over every axis but the batch);
    ``groups=-1`` gives every channel its own group (instance normalization). No batch statistics are used, so
    training and inference compute the same and small batches are fine.

    Args:
        groups: the number of groups; must divide the number of channels (default 32); -1 for one per channel.
        axis: the channel axis, default -1.
        epsilon: added to the variance, default 1e-3.
        center, scale: learn an offset beta and a factor gamma (one per channel).
        beta_initializer, gamma_initializer: names or initializers (zeros, ones).
        beta_regularizer, gamma_regularizer: penalties added to the loss.
        beta_constraint, gamma_constraint: projections applied after each update.

    Example:
        >>> GroupNormalization(groups=2)(np.array([[1.0, 3.0, 0.0, 4.0]], dtype="float32")).round(2)
        array([[-1.,  1., -1.,  1.]], dtype=float32)
    """

    supports_masking = True     # as in Keras: normalizes every step and passes the mask on

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if groups != -1:
            groups = positive_int(groups, "groups", "GroupNormalization")
        if not is_int(axis):
            raise TypeError(f"GroupNormalization() expects axis to be an int (the channel axis), got {axis!r}.")
        self.groups, self.axis = int(groups), int(axis)
        self.epsilon = number(epsilon, "epsilon", "GroupNormalization", low=0, low_open=True)
        self._set_scale_and_offset(center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                                   gamma_regularizer, beta_constraint, gamma_constraint)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        axis = _normalize_axes(self.axis, len(input_shape), self)[0]
        channels = input_shape[axis]
        if axis == 0 or channels is None:
            raise ValueError(f"GroupNormalization layer '{self.name}' needs a known channel axis other than the "
                             f"batch axis; got axis={self.axis} for input shape {shape_text(input_shape)}.")
        groups = channels if self.groups == -1 else self.groups
        if channels % groups:
            raise ValueError(f"GroupNormalization layer '{self.name}' splits {channels} channels into groups={groups}, "
                             f"but {groups} does not divide {channels}. Choose groups from "
                             f"{[g for g in range(1, channels + 1) if channels % g == 0]}.")
        self._add_scale_and_offset((channels,))
        super().build(input_shape)

    def _grouped(self, x) -> np.ndarray:
        """``x`` as ``(batch, positions, groups, channels per group)``, the channel axis moved last."""
        channels_last = np.moveaxis(x, self.axis, -1)
        channels = channels_last.shape[-1]
        groups = channels if self.groups == -1 else self.groups
        return channels_last.reshape(x.shape[0], -1, groups, channels // groups)

    def _per_channel(self, name, grouped_shape) -> np.ndarray:
        return self._weights[name].reshape(grouped_shape[2:])

    def _apply(self, x, training, need_input_grad):
        grouped = self._grouped(x)
        centered = grouped - grouped.mean(axis=(1, 3), keepdims=True)
        inv_std = 1.0 / np.sqrt(np.mean(np.square(centered), axis=(1, 3), keepdims=True) + self.epsilon)
        x_hat = centered * inv_std
        out = x_hat * self._per_channel("gamma", grouped.shape) if self.scale else x_hat.copy()
        if self.center:
            out += self._per_channel("beta", grouped.shape)
        cache = (x_hat, inv_std, x.shape)
        channels_last_shape = np.moveaxis(np.empty(x.shape, dtype=bool), self.axis, -1).shape
        output = np.moveaxis(out.reshape(channels_last_shape), -1, self.axis)
        return output, partial(self._gradients, cache, need_input_grad)

    def _gradients(self, cache, need_input_grad, grad_output):
        """One call\'s backward pass, from what its forward pass kept."""
        x_hat, inv_std, input_shape = cache
        g = self._grouped(grad_output)
        if self.trainable:
            if self.scale:
                gamma = self._weights["gamma"]
                self.grads["gamma"] = (g * x_hat).sum(axis=(0, 1)).reshape(gamma.shape).astype(gamma.dtype)
            if self.center:
                beta = self._weights["beta"]
                self.grads["beta"] = g.sum(axis=(0, 1)).reshape(beta.shape).astype(beta.dtype)
        if not need_input_grad:
            return None
        if self.scale:
            g = g * self._per_channel("gamma", g.shape)
        # each group's mean and variance depend on all its values: remove their share of the gradient
        grad = inv_std * (g - g.mean(axis=(1, 3), keepdims=True)
                          - x_hat * np.mean(g * x_hat, axis=(1, 3), keepdims=True))
        channels_last_shape = np.moveaxis(np.empty(input_shape, dtype=bool), self.axis, -1).shape
        return np.moveaxis(grad.reshape(channels_last_shape), -1, self.axis)

    def get_config(self):
        return super().get_config() | {
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            **self._scale_and_offset_config(),
        }


def unit_normalize(x: np.ndarray, axes, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """``x / ||x||`` over ``axes``, the norm floored at ``epsilon``; returns the result and ``1 / norm``.

    The floor is applied to the squared norm (``epsilon ** 2``), as Keras does, so an all-zero vector stays zero
    with a finite gradient instead of becoming NaN.
    """
    squares = np.sum(np.square(x), axis=axes, keepdims=True)
    inv_norm = 1.0 / np.sqrt(np.maximum(squares, epsilon * epsilon))
    return x * inv_norm, inv_norm


def unit_normalize_backward(grad_output: np.ndarray, unit: np.ndarray, inv_norm: np.ndarray, axes,
                            epsilon: float) -> np.ndarray:
    """The gradient through `unit_normalize`, given its outputs ``unit`` and ``inv_norm``."""
    grad = grad_output * inv_norm
    # where the norm was not floored it depends on x too: remove the component along the unit vector
    along = np.sum(grad_output * unit, axis=axes, keepdims=True)
    not_floored = inv_norm < 1.0 / epsilon
    return grad - np.where(not_floored, unit * along * inv_norm, 0.0)


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis``: ``x / max(||x||, 1e-12)``.

    Args:
        axis: the axis, or list of axes, to take the norm over; default -1 (the features).

    Example:
        >>> UnitNormalization()(np.array([[3.0, 4.0]], dtype="float32"))
        array([[0.6, 0.8]], dtype=float32)
    """

    supports_masking = True
    epsilon = 1e-12     # Keras's floor for the norm

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise TypeError(f"UnitNormalization() expects axis to be an int or a list of ints, got {axis!r}.")

    def build(self, input_shape):
        _normalize_axes(self.axis, len(input_shape), self)     # a clear error for an axis out of range
        super().build(input_shape)

    def _apply(self, x, training, need_input_grad):
        axes = _normalize_axes(self.axis, x.ndim, self)
        unit, inv_norm = unit_normalize(x, axes, self.epsilon)
        cache = (unit, inv_norm, axes)
        return unit, partial(self._gradients, cache, need_input_grad)

    def _gradients(self, cache, need_input_grad, grad_output):
        """One call\'s backward pass, from what its forward pass kept."""
        unit, inv_norm, axes = cache
        return unit_normalize_backward(grad_output, unit, inv_norm, axes, self.epsilon)

    def get_config(self):
        return super().get_config() | {"axis": self.axis}


__all__ = ["BatchNormalization", "GroupNormalization", "LayerNormalization", "UnitNormalization"]
