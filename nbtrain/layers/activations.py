"""Activation layers: ReLU, LeakyReLU, ELU, Softmax and PReLU, with Keras 3's arguments and configs.

ReLU, LeakyReLU, ELU and Softmax apply a configured function from :mod:`nbtrain.activations` (which also
gives its derivative); PReLU learns its negative slope ``alpha`` per input position.
"""

from __future__ import annotations

import warnings

import numpy as np

from nbtrain import activations as activations_module
from nbtrain.activations import ActivationFunction
from nbtrain.layers.core import ActivatedLayer, unchanged_gradient
from nbtrain.layers.layer import Layer
from nbtrain.utils.checks import Wording, number
from nbtrain.utils.naming import shape_text

# What Keras's Softmax puts in place of masked logits: exp() of it is exactly 0 in float32 and float64.
_MASKED_LOGIT = -1e9

_LEAKY_RELU_DEFAULT_SLOPE = 0.3


# Keras's voice for these layers: a wrong type names the layer; a bad value also repeats the argument.
_WORDING = Wording(wrong_type="{owner}() expects {what} to be {kind}, got {value}.",
                   out_of_range="{owner}() expects {what} to be {expected}; got {what}={value}.")


def _non_negative(value, what: str, layer: str) -> float:
    """A number >= 0. None is a ValueError here, not a TypeError, as in Keras (None reads as a missing value)."""
    if value is None:
        raise ValueError(f"{layer}() expects {what} to be a number >= 0, got {what}=None.")
    return number(value, what, layer, low=0, wording=_WORDING)


class _FunctionLayer(ActivatedLayer):
    """A weightless layer applying one activation function, on inputs of any shape (no weights depend on it).

    Subclasses set ``self.activation`` and list their Keras arguments in :meth:`options`.
    """

    def __init__(self, **kwargs):
        if "activation" in kwargs:
            # ActivatedLayer takes `activation`; these layers are the activation, so say so instead
            raise TypeError(f"{type(self).__name__}() takes no 'activation' argument: the layer is itself an "
                            "activation. Use nbtrain.layers.Activation(...) for another function.")
        super().__init__(**kwargs)

    def options(self) -> dict:
        """The layer's own Keras arguments, for its config and repr."""
        return {}

    def check_input_shape(self, x):
        pass  # like Keras, one layer may be called on inputs of different shapes

    def _apply(self, x, training, need_input_grad):
        return self.activate(x, unchanged_gradient)

    def get_config(self):
        return super().get_config() | self.options()

    def __repr__(self):
        options = "".join(f", {key}={value!r}" for key, value in self.options().items())
        return f"<{type(self).__name__} name={self.name!r}{options}>"


class ReLU(_FunctionLayer):
    """Rectified linear unit: ``max(x, 0)``, optionally capped, thresholded, or leaky below the threshold.

    ``f(x) = max_value`` for ``x >= max_value``, ``x`` for ``threshold < x < max_value``, and
    ``negative_slope * (x - threshold)`` otherwise (0 with the default ``negative_slope=0``).

    Args:
        max_value: number >= 0, the largest output; None (default) means no cap.
        negative_slope: number >= 0, the slope below the threshold; default 0.
        threshold: number >= 0; inputs at or below it are damped; default 0.

    Example:
        >>> layer = ReLU(max_value=10, negative_slope=0.5)
        >>> layer(np.array([-10, -5, 0, 5, 10], dtype="float32"))
        array([-5. , -2.5,  0. ,  5. , 10. ], dtype=float32)
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        self.max_value = number(max_value, "max_value", "ReLU", low=0, optional="for no upper limit", wording=_WORDING)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", "ReLU")
        self.threshold = _non_negative(threshold, "threshold", "ReLU")
        super().__init__(**kwargs)
        self.activation = activations_module.relu.with_options(
            max_value=self.max_value, negative_slope=self.negative_slope, threshold=self.threshold)

    def options(self):
        return {"max_value": self.max_value, "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(_FunctionLayer):
    """Leaky rectified linear unit: ``x`` for ``x >= 0``, ``negative_slope * x`` below.

    Args:
        negative_slope: number >= 0, the slope for negative inputs; default 0.3 as in Keras 3.
            Keras 2's name ``alpha=`` still works, with a DeprecationWarning.

    Example:
        >>> LeakyReLU(negative_slope=0.5)(np.array([-10, -5, 0, 5], dtype="float32"))
        array([-5. , -2.5,  0. ,  5. ], dtype=float32)
    """

    def __init__(self, negative_slope=_LEAKY_RELU_DEFAULT_SLOPE, **kwargs):
        if "alpha" in kwargs:
            negative_slope = _legacy_alpha(kwargs.pop("alpha"), negative_slope)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", "LeakyReLU")
        super().__init__(**kwargs)
        self.activation = activations_module.leaky_relu.with_options(negative_slope=self.negative_slope)

    def options(self):
        return {"negative_slope": self.negative_slope}


def _legacy_alpha(alpha, negative_slope):
    """Keras 2's ``LeakyReLU(alpha=...)``: accepted with a warning, as Keras 3 does."""
    # An explicit negative_slope equal to the default cannot be told apart from none; alpha wins, as in Keras.
    if negative_slope != _LEAKY_RELU_DEFAULT_SLOPE:
        raise TypeError(f"LeakyReLU() got both negative_slope={negative_slope!r} and Keras 2's alpha={alpha!r}. "
                        "Pass only negative_slope=.")
    warnings.warn(f"LeakyReLU(alpha=...) is deprecated: use LeakyReLU(negative_slope={alpha!r}) instead.",
                  DeprecationWarning, stacklevel=3)
    return alpha


class ELU(_FunctionLayer):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: scale of the negative part, default 1.0.

    Example:
        >>> ELU(alpha=2.0)(np.array([-1.0, 0.0, 3.0], dtype="float32")).round(3)
        array([-1.264,  0.   ,  3.   ], dtype=float32)
    """

    def __init__(self, alpha=1.0, **kwargs):
        self.alpha = number(alpha, "alpha", "ELU", wording=_WORDING)
        super().__init__(**kwargs)
        self.activation = activations_module.elu.with_options(alpha=self.alpha)

    def options(self):
        # Keras 3's ELU leaves alpha out of its config (so a reloaded ELU forgets it); nbtrain keeps it.
        return {"alpha": self.alpha}


class Softmax(_FunctionLayer):
    """Softmax along ``axis``: ``exp(x) / sum(exp(x))``, computed without overflow.

    Called with a ``mask`` (True or > 0.5 where a value counts), masked positions get probability 0 and the
    others share all of it; a mask broadcasts to the inputs from the right, as in Keras. The ``(batch, time)``
    padding mask that nbtrain's models pass along (from ``Embedding(mask_zero=True)`` or ``Masking``) keeps
    padded steps out of a softmax over time (``axis=1``) and leaves a softmax within each step alone.
    A final ``Softmax()`` (axis -1) with a crossentropy loss trains through the same fused, stable gradient
    as ``Dense(..., activation="softmax")``.

    Args:
        axis: an axis, or a list of axes normalized together; default -1 (the last).

    Example:
        >>> Softmax()(np.array([[1.0, 2.0, 1.0]], dtype="float32")).round(4)
        array([[0.2119, 0.5761, 0.2119]], dtype=float32)
        >>> Softmax()(np.array([[1.0, 2.0, 1.0]], dtype="float32"), mask=np.array([[True, True, False]])).round(4)
        array([[0.2689, 0.7311, 0.    ]], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        self.axis = _softmax_axis(axis)
        super().__init__(**kwargs)
        self.activation = _softmax_function(self.axis)

    def options(self):
        return {"axis": self.axis}

    def build(self, input_shape):
        self._check_axes(len(input_shape))
        super().build(input_shape)

    def check_input_shape(self, x):
        self._check_axes(x.ndim)

    def _check_axes(self, ndim: int) -> None:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if any(not -ndim <= axis < ndim for axis in axes):
            raise ValueError(f"Softmax layer '{self.name}' got axis={self.axis} but its inputs have {ndim} axes; "
                             f"use axes from {-ndim} to {ndim - 1}.")
        if len(self._normalized_axes(ndim)) != len(axes):
            raise ValueError(f"Softmax layer '{self.name}' got axis={self.axis}, which names one axis twice "
                             f"for inputs with {ndim} axes.")

    def _normalized_axes(self, ndim: int) -> set[int]:
        return {axis % ndim for axis in (self.axis if isinstance(self.axis, list) else [self.axis])}

    def _apply(self, x, training, need_input_grad, mask=None):
        keep = None if mask is None else self._keep_mask(mask, x)
        if keep is None:
            return self.activate(x, unchanged_gradient)

        def from_preactivation(grad_z):
            return np.where(keep, grad_z, 0)  # masked logits were replaced by a constant

        probabilities, backprop = self.activate(np.where(keep, x, x.dtype.type(_MASKED_LOGIT)), from_preactivation)
        # a fully masked row would otherwise share its probability uniformly
        return np.where(keep, probabilities, x.dtype.type(0)), _MaskedOutputBackprop(backprop, keep)

    def _keep_mask(self, mask, x) -> np.ndarray:
        """The mask as booleans that broadcast to ``x``, True where values count."""
        keep = np.asarray(mask)
        keep = keep if keep.dtype == bool else keep > 0.5  # Keras keeps True, or values above 0.5
        if keep.ndim == 2 and x.ndim > 2 and keep.shape == x.shape[:2]:
            return self._padding_keep_mask(keep, x.ndim)
        if keep.ndim > x.ndim:
            raise ValueError(f"Softmax layer '{self.name}': the mask must be broadcastable to the inputs and must "
                             f"not have more dimensions; got inputs of shape {x.shape} and a mask of shape "
                             f"{keep.shape}.")
        if any(m not in (1, size) for m, size in zip(keep.shape[::-1], x.shape[::-1])):
            raise ValueError(f"Softmax layer '{self.name}': the mask must be broadcastable to the inputs: each "
                             f"mask axis, aligned from the last, must be 1 or the input's size. Got inputs of "
                             f"shape {x.shape} and a mask of shape {keep.shape}.")
        return keep

    def _padding_keep_mask(self, padding, ndim: int) -> np.ndarray | None:
        """A model's (batch, time) padding mask: padded steps take no share of a softmax over time.

        A softmax within each step (e.g. over the last axis) is left alone, as Dense(activation="softmax")
        leaves it: the loss and metrics skip padded steps, and all-zero rows would make crossentropy NaN.
        """
        if 1 not in self._normalized_axes(ndim):
            return None
        return padding.reshape(padding.shape + (1,) * (ndim - 2))



class _MaskedOutputBackprop:
    """A masked Softmax's backprop: masked outputs are the constant 0, so no gradient flows back from them."""

    __slots__ = ("backprop", "keep", "from_preactivation")

    def __init__(self, backprop, keep):
        self.backprop, self.keep = backprop, keep
        self.from_preactivation = backprop.from_preactivation

    def __call__(self, grad_output):
        return self.backprop(np.where(self.keep, grad_output, 0))


def _softmax_axis(axis):
    """Keras accepts an int or a list of ints; a list comes back as a list (as JSON gives it back)."""
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, (bool, np.bool_)):
        return int(axis)
    if isinstance(axis, (list, tuple)) and axis and all(
            isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)) for a in axis):
        return [int(a) for a in axis]
    raise TypeError(f"Softmax() expects axis to be an integer or a list of integers, such as -1 or [1, 2]; "
                    f"got {axis!r}.")


def _softmax_function(axis) -> ActivationFunction:
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    if axis == -1:
        return activations_module.softmax  # the registered instance, which a crossentropy loss can fuse with
    if isinstance(axis, int):
        return activations_module.softmax.with_options(axis=axis)
    return _SoftmaxOverAxes(axis)


class _SoftmaxOverAxes(ActivationFunction):
    """Softmax over several axes: the softmax of those axes merged into one last axis."""

    def __init__(self, axes):
        self.axes = tuple(axes)
        super().__init__("softmax", self._forward, self._backward, needs_input=False)

    def _merged(self, x):
        moved = np.moveaxis(x, self.axes, range(-len(self.axes), 0))
        return moved.reshape(moved.shape[:-len(self.axes)] + (-1,)), moved.shape

    def _unmerged(self, flat, moved_shape):
        return np.moveaxis(flat.reshape(moved_shape), range(-len(self.axes), 0), self.axes)

    def _forward(self, x):
        flat, moved_shape = self._merged(x)
        return self._unmerged(activations_module.softmax(flat), moved_shape)

    def _backward(self, grad_y, x, y):
        flat_grad, moved_shape = self._merged(grad_y)
        flat_y, _ = self._merged(y)
        return self._unmerged(activations_module.softmax.backward(flat_grad, None, flat_y), moved_shape)

    def get_config(self):
        return {"axis": list(self.axes)}


class PReLU(Layer):
    """Parametric ReLU: ``x`` for ``x >= 0``, ``alpha * x`` below, with ``alpha`` learned per input position.

    ``alpha`` has the shape of one sample, with size 1 along ``shared_axes``: for inputs
    ``(batch, height, width, channels)``, ``shared_axes=[1, 2]`` learns one alpha per channel, shape (1, 1, C).

    Args:
        alpha_initializer: initializer of alpha, default ``"Zeros"`` (a plain ReLU to start with).
        alpha_regularizer: penalty on alpha added to the loss, e.g. ``"l2"``.
        alpha_constraint: projection applied to alpha after each update, e.g. ``"non_neg"``.
        shared_axes: input axes (counted from 1; 0 is the batch) along which one alpha is shared.

    Example:
        >>> layer = PReLU(shared_axes=[1, 2])
        >>> layer.build((None, 5, 5, 3))
        >>> layer.get_weights()[0].shape
        (1, 1, 3)
    """

    supports_masking = True

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        self.shared_axes = _shared_axes(shared_axes)
        super().__init__(**kwargs)
        self.set_weight_options("alpha", alpha_initializer, alpha_regularizer, alpha_constraint)

    @property
    def _summed_axes(self) -> tuple:
        """Axes that alpha's gradient sums over: the batch and every shared axis."""
        return (0,) + tuple(sorted(set(self.shared_axes or ())))

    def build(self, input_shape):
        self.add_weight_with_options("alpha", self._alpha_shape(tuple(input_shape)))
        super().build(input_shape)

    def _alpha_shape(self, input_shape) -> tuple:
        shared = set(self.shared_axes or ())
        if any(axis >= len(input_shape) for axis in shared):
            raise ValueError(f"PReLU layer '{self.name}' got shared_axes={self.shared_axes}, but its inputs of "
                             f"shape {shape_text(input_shape)} have axes 1 to {len(input_shape) - 1} only.")
        unknown = [axis for axis in range(1, len(input_shape)) if input_shape[axis] is None and axis not in shared]
        if unknown:
            raise ValueError(f"PReLU layer '{self.name}' needs a known size on every axis it learns alphas for, but "
                             f"inputs of shape {shape_text(input_shape)} have none on axes {unknown}. Give them a "
                             f"size, or share alpha along them with shared_axes={sorted(shared | set(unknown))}.")
        return tuple(1 if axis in shared else input_shape[axis] for axis in range(1, len(input_shape)))

    def check_input_shape(self, x):
        # Keras checks only the rank and the axes that have their own alphas; shared axes may change size
        expected = tuple(None if axis in self._summed_axes else size for axis, size in enumerate(self.input_shape))
        if x.ndim != len(expected) or any(e is not None and e != size for e, size in zip(expected, x.shape)):
            raise ValueError(f"PReLU layer '{self.name}' expects inputs of shape {shape_text(expected)} but got "
                             f"an array of shape {x.shape}.")

    def _apply(self, x, training, need_input_grad):
        def backprop(grad_output):
            alpha = self._weights["alpha"]
            if self.trainable:
                # alpha multiplies min(x, 0) at every position it is broadcast to
                summed = np.sum(grad_output * np.minimum(x, 0), axis=self._summed_axes, keepdims=True)
                self.grad_buffer("alpha")[...] = summed[0]
            if not need_input_grad:
                return None
            return np.where(x > 0, grad_output, grad_output * alpha)

        return np.maximum(x, 0) + self._weights["alpha"] * np.minimum(x, 0), backprop

    def get_config(self):
        return super().get_config() | self.weight_options_config("alpha") | {"shared_axes": self.shared_axes}

    def __repr__(self):
        return f"<PReLU name={self.name!r}, shared_axes={self.shared_axes!r}>"


def _shared_axes(shared_axes) -> list[int] | None:
    """None, or a list of axes >= 1 (Keras accepts a single int too)."""
    if shared_axes is None:
        return None
    axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
    if not all(isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)) for a in axes):
        raise TypeError(f"PReLU() expects shared_axes to be None, an integer or a list of integers such as "
                        f"[1, 2]; got {shared_axes!r}.")
    axes = [int(a) for a in axes]
    if any(a < 1 for a in axes):
        # Keras would silently share another axis here (it indexes alpha's shape with axis - 1)
        raise ValueError(f"PReLU() counts shared_axes from 1 (axis 0 is the batch, and negative axes are not "
                         f"supported); got shared_axes={shared_axes!r}. For inputs (batch, height, width, "
                         f"channels), shared_axes=[1, 2] shares alpha across height and width.")
    return axes


__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
