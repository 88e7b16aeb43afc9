"""Activation functions, each with its derivative, and the registry that turns names into them.

Every built-in is an :class:`ActivationFunction`: calling it applies the function to a NumPy array, and
``backward(grad_y, x, y)`` returns the vector-Jacobian product that a layer needs for backpropagation.
The module-level names (``relu``, ``softmax``, ...) are those instances, so they can be called the way
Keras's functions are called, extra Keras arguments included::

    >>> import numpy as np
    >>> from nbtrain import activations
    >>> activations.relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    >>> activations.leaky_relu(np.array([-1.0, 2.0]), negative_slope=0.1)
    array([-0.1,  2. ])
    >>> activations.get("swish")
    <activation silu>

Formulas and defaults follow Keras 3. Outputs keep the input's floating dtype (float32 stays float32);
integer inputs are computed in float32.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from nbtrain.utils.errors import check_keyword_arguments
from nbtrain.utils.registry import Registry

__all__ = [
    "ACTIVATIONS",
    "ActivationFunction",
    "celu",
    "deserialize",
    "elu",
    "exponential",
    "gelu",
    "get",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "swish",
    "tanh",
    "tanh_shrink",
    "threshold",
]


# --------------------------------------------------------------------------------------------------
# The public class
# --------------------------------------------------------------------------------------------------


class ActivationFunction:
    """A function together with its derivative, usable wherever nbtrain takes an activation.

    Use it to give nbtrain your own activation: layers call ``forward`` on the way forward and
    ``backward`` during backpropagation, so a plain Python function (which has no derivative) is not
    enough.

    Args:
        name: a short name, shown in ``repr`` and model summaries and written when a model is saved.
        forward: ``forward(x) -> y``, applied to a NumPy array of any shape.
        backward: ``backward(grad_y, x, y) -> grad_x``, the vector-Jacobian product: given the gradient
            of the loss with respect to ``y = forward(x)``, return the gradient with respect to ``x``.
        needs_input: set it to False when ``backward`` only uses ``y``; layers then free ``x`` after
            the forward pass and call ``backward(grad_y, None, y)``.

    Example:
        >>> import numpy as np
        >>> cube = ActivationFunction("cube", lambda x: x**3, lambda g, x, y: g * 3 * x**2)
        >>> cube(np.array([2.0]))
        array([8.])
        >>> cube.backward(np.array([1.0]), np.array([2.0]), np.array([8.0]))
        array([12.])
    """

    def __init__(
        self,
        name: str,
        forward: Callable,
        backward: Callable,
        needs_input: bool = True,
    ):
        if not isinstance(name, str) or not name:
            raise TypeError(f"ActivationFunction name must be a non-empty string, got {name!r}.")
        for role, fn in (("forward", forward), ("backward", backward)):
            if not callable(fn):
                raise TypeError(
                    f"ActivationFunction '{name}': {role} must be callable, got {type(fn).__name__}. "
                    f"Pass forward(x) -> y and backward(grad_y, x, y) -> grad_x."
                )
        self.name = name
        self.needs_input = bool(needs_input)
        self._forward = forward
        self._backward = backward

    def __call__(self, x):
        """Apply the activation to ``x`` (a NumPy array of any shape, or a tensor in a layer's ``call``)."""
        tracked = _tracked_tensor(x)
        if tracked is not None:
            return self._recorded(tracked)
        return self._forward(_as_float_array(x))

    def _recorded(self, x):
        """The activation of a tracked ``nbtrain.ops`` tensor, recorded with this activation's own gradient
        (``keras.activations.relu(x)`` in a custom layer's ``call``, as Keras allows)."""
        from nbtrain.ops.autodiff import make_result

        value = x.value
        y = self(value)
        return make_result(y, [x], [lambda grad: self.backward(grad, value, y)])

    def backward(self, grad_y, x, y):
        """Return dL/dx given ``grad_y`` = dL/dy, the input ``x`` and the output ``y = self(x)``."""
        if x is None and self.needs_input:
            raise ValueError(
                f"Activation {self!r} needs its input x in backward() but received x=None. "
                "Keep the pre-activation input when needs_input is True."
            )
        return self._vector_jacobian_product(grad_y, x, y)

    def _vector_jacobian_product(self, grad_y, x, y):
        return self._backward(grad_y, x, y)

    def get_config(self) -> dict:
        """Options other than the defaults (empty for a plain activation)."""
        return {}

    def __repr__(self) -> str:
        return f"<activation {self.name}>"


class _BuiltinActivation(ActivationFunction):
    """A built-in activation; accepts the Keras keyword options (``alpha``, ``axis``, ...)."""

    def __init__(self, name, forward, backward, needs_input=False, defaults=None, options=None):
        self.defaults = dict(defaults or {})
        self.options = {**self.defaults, **(options or {})}
        self._needs_input_rule = needs_input
        needs = needs_input(**self.options) if callable(needs_input) else needs_input
        super().__init__(name, forward, backward, needs_input=needs)

    def __call__(self, x, *args, **kwargs):
        """Apply the activation; extra arguments are Keras options, e.g. ``elu(x, alpha=0.5)``."""
        if args or kwargs:
            return self.with_options(*args, **kwargs)(x)
        tracked = _tracked_tensor(x)
        if tracked is not None:
            return self._recorded(tracked)
        return self._forward(_as_float_array(x), **self.options)

    def _vector_jacobian_product(self, grad_y, x, y):
        return self._backward(grad_y, x, y, **self.options)

    def with_options(self, *args, **kwargs) -> ActivationFunction:
        """The same activation with other Keras options, as an object a layer can use.

        Args:
            *args, **kwargs: the Keras options of this activation, e.g. ``negative_slope`` for leaky_relu.

        Example:
            >>> leaky_relu.with_options(negative_slope=0.1)  # e.g. Dense(8, activation=...)
            <activation leaky_relu negative_slope=0.1>
        """
        names = list(self.defaults)
        if len(args) > len(names):
            takes = f"options {names}" if names else "no options"
            raise TypeError(f"{self.name}() takes {takes} after x but got {len(args)} extra positional arguments.")
        check_keyword_arguments(f"{self.name}()", kwargs, names)
        given = dict(zip(names, args))
        for key in kwargs:
            if key in given:
                raise TypeError(f"{self.name}() got multiple values for argument '{key}'.")
        given.update(kwargs)
        options = dict(self.options)
        for key, value in given.items():
            options[key] = _coerce_option(self.name, key, value, self.defaults[key])
        configured = _BuiltinActivation(
            self.name, self._forward, self._backward, self._needs_input_rule, self.defaults, options
        )
        configured.__doc__ = self.__doc__
        return configured

    def get_config(self) -> dict:
        """The options that differ from Keras's defaults."""
        return {k: v for k, v in self.options.items() if v != self.defaults[k]}

    def __eq__(self, other):
        if not isinstance(other, _BuiltinActivation):
            return NotImplemented
        return self.name == other.name and self.options == other.options

    def __hash__(self):
        return hash((self.name, tuple(sorted(self.options.items()))))

    def __reduce__(self):
        # unpickling or deep-copying gives back the registered instance (or an equal configured one)
        return (deserialize, (serialize(self),))

    def __repr__(self) -> str:
        changed = "".join(f" {k}={v!r}" for k, v in self.get_config().items())
        return f"<activation {self.name}{changed}>"


def _coerce_option(activation: str, key: str, value, default):
    """Check one Keras option against the type of its default; ints are fine where floats are meant."""
    if isinstance(default, bool):
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        expected = "True or False"
    elif isinstance(default, int):
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return int(value)
        if key == "axis" and isinstance(value, (tuple, list)) and value and all(
                isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in value):
            return tuple(int(v) for v in value)     # softmax over several axes, as Keras allows
        expected = "an integer" + (" or a tuple of integers" if key == "axis" else "")
    else:  # a float, or None meaning "no limit"
        if value is None and default is None:
            return None
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
            return float(value)
        expected = "a number" + (" or None" if default is None else "")
    raise TypeError(f"{activation}(): {key} must be {expected}, got {value!r}.")


def _tracked_tensor(x):
    """``x`` as a tracked ``nbtrain.ops`` Tensor (a Variable a tape watches gives its tensor), or None for
    data; recognized without importing the tape, which ``import nbtrain`` never loads."""
    if type(x).__module__ != "nbtrain.ops.autodiff":
        return None
    from nbtrain.ops.autodiff import Tensor, unwrap

    tensor = unwrap(x)
    return tensor if isinstance(tensor, Tensor) else None


def _as_float_array(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind != "f":
        # integers and booleans are computed in float32, nbtrain's float type
        x = x.astype(np.float32)
    return x


def _expm1(x):
    # NumPy's float32 expm1/log1p are not vectorised (about 10x slower than exp). exp(x) - 1 has an absolute
    # error of about 6e-8 (one float32 step at 1.0): harmless for training, so float64 alone pays for expm1
    return np.exp(x) - 1 if x.dtype == np.float32 else np.expm1(x)


def _log1p(x):
    return np.log(1 + x) if x.dtype == np.float32 else np.log1p(x)


def _softplus_of(x):
    # max(x, 0) + log(1 + exp(-|x|)): exp of a non-positive number only, so nothing overflows
    return np.maximum(x, 0) + _log1p(np.exp(-np.abs(x)))


# --------------------------------------------------------------------------------------------------
# erf, written here because NumPy has none and scipy is not a dependency
# --------------------------------------------------------------------------------------------------

_ERF_SPLIT = 3.0  # below: erf(z) = z * P(z**2); above: erfc(z) = exp(-z**2) * Q(z)
_ERF_TAIL_END = 6.5  # erfc(6.5) < 4e-20, so erf is exactly +-1 in float64 beyond


def _chebyshev_fit(f, lo, hi, degree):
    """Chebyshev interpolation coefficients of ``f`` on [lo, hi], from ``degree + 1`` Chebyshev nodes."""
    nodes = np.cos(np.pi * (np.arange(degree + 1) + 0.5) / (degree + 1))
    values = np.array([f(0.5 * (hi - lo) * s + 0.5 * (hi + lo)) for s in nodes])
    return np.polynomial.chebyshev.chebfit(nodes, values, degree)


def _erf_over_z(t):
    # erf(sqrt(t)) / sqrt(t) is an entire function of t = z**2, so a low degree fits it to 1e-15
    return math.erf(math.sqrt(t)) / math.sqrt(t) if t > 0 else 2.0 / math.sqrt(math.pi)


# fitted at import from Python's correctly rounded math.erf/math.erfc (about a millisecond)
_ERF_CORE = _chebyshev_fit(_erf_over_z, 0.0, _ERF_SPLIT**2, 21)
_ERFC_TAIL = _chebyshev_fit(lambda z: math.exp(z * z) * math.erfc(z), _ERF_SPLIT, _ERF_TAIL_END, 20)


def _float32_terms(coefficients):
    # float32 cannot resolve terms below 1e-9, so dropping them halves the work of float32 gelu
    keep = np.nonzero(np.abs(coefficients) >= 1e-9)[0].max() + 1
    return coefficients[:keep]


_ERF_SERIES = {
    np.dtype(np.float32): (_float32_terms(_ERF_CORE), _float32_terms(_ERFC_TAIL)),
    np.dtype(np.float64): (_ERF_CORE, _ERFC_TAIL),
}


def _clenshaw(s, coefficients):
    """Evaluate a Chebyshev series at ``s`` in [-1, 1], keeping the dtype of ``s``."""
    coefficients = [float(c) for c in coefficients]  # Python floats do not upcast float32
    two_s = 2 * s
    b1, b2, spare = np.full_like(s, coefficients[-1]), np.zeros_like(s), np.empty_like(s)
    for c in coefficients[-2:0:-1]:
        # b_k = 2 s b_{k+1} - b_{k+2} + c_k, rotating three buffers instead of allocating
        np.multiply(two_s, b1, out=spare)
        spare -= b2
        spare += c
        b1, b2, spare = spare, b1, b2
    return s * b1 - b2 + coefficients[0]


def _erf(z) -> np.ndarray:
    """The error function, accurate to about 1e-14 in float64, element-wise, keeping the dtype of ``z``."""
    z = _as_float_array(z)
    shape, z = z.shape, z.reshape(-1)  # 1-D so that 0-d inputs can be assigned into
    core, tail_series = _ERF_SERIES.get(z.dtype, (_ERF_CORE, _ERFC_TAIL))
    a = np.abs(z)
    t = np.minimum(a * a, _ERF_SPLIT**2)
    result = z * _clenshaw(t * (2 / _ERF_SPLIT**2) - 1, core)
    tail = a > _ERF_SPLIT
    if np.any(tail):
        at = np.minimum(a[tail], _ERF_TAIL_END)
        s = (2 * at - (_ERF_SPLIT + _ERF_TAIL_END)) / (_ERF_TAIL_END - _ERF_SPLIT)
        erfc = np.exp(-at * at) * _clenshaw(s, tail_series)
        erfc[a[tail] >= _ERF_TAIL_END] = 0
        result[tail] = np.sign(z[tail]) * (1 - erfc)
    return result.reshape(shape)


# --------------------------------------------------------------------------------------------------
# Forward and backward of each built-in. Constants are Python floats so float32 arrays stay float32.
# --------------------------------------------------------------------------------------------------


def _linear(x):
    return x


def _linear_backward(g, x, y):
    return g


def _relu(x, negative_slope, max_value, threshold):
    if negative_slope == 0 and max_value is None and threshold == 0:
        return np.maximum(x, 0)  # the hot path: every Dense(relu) layer, every batch
    # Keras semantics: x above the threshold, clipped to [0, max_value], minus slope * (threshold - x)+
    y = x * (x > threshold) if threshold != 0 else np.maximum(x, 0)
    if max_value is not None:
        y = np.clip(y, 0, max_value)
    if negative_slope != 0:
        y = y - negative_slope * np.maximum(threshold - x, 0)
    return y


def _relu_backward(g, x, y, negative_slope, max_value, threshold):
    if negative_slope == 0 and threshold == 0:
        # y alone tells where the slope is 1, so layers need not keep x
        if max_value is None:
            return g * (y > 0)
        return g * ((y > 0) & (y < max_value))
    passes = x > threshold
    if max_value is not None:
        above = x * passes
        passes = passes & (above > 0) & (above < max_value)
    slope = passes.astype(g.dtype)
    if negative_slope != 0:
        slope += negative_slope * (x < threshold)
    return g * slope


def _relu_needs_input(negative_slope, max_value, threshold):
    return not (negative_slope == 0 and threshold == 0)


def _leaky_relu(x, negative_slope):
    if 0 <= negative_slope <= 1:
        return np.maximum(x, x * negative_slope)  # several times faster than np.where
    return np.where(x >= 0, x, x * negative_slope)


def _leaky_relu_backward(g, x, y, negative_slope):
    positive = (x >= 0) if negative_slope < 0 else (y > 0)
    slope = positive.astype(g.dtype)
    slope *= 1 - negative_slope
    slope += negative_slope
    return g * slope


def _relu6(x):
    return np.clip(x, 0, 6)


def _relu6_backward(g, x, y):
    return g * ((y > 0) & (y < 6))


def _sigmoid(x):
    # exp(-x) overflows to inf for very negative x, and 1 / inf is the correct limit 0
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _sigmoid_backward(g, x, y):
    return g * y * (1 - y)


def _tanh(x):
    return np.tanh(x)


def _tanh_backward(g, x, y):
    return g * (1 - y * y)


def _softmax(x, axis):
    # subtract the max along the axis so exp() cannot overflow
    e = x - np.max(x, axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _softmax_backward(g, x, y, axis):
    # J^T g for J = diag(y) - y y^T, without forming J
    return y * (g - np.sum(g * y, axis=axis, keepdims=True))


def _log_softmax(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _log_softmax_backward(g, x, y, axis):
    return g - np.exp(y) * np.sum(g, axis=axis, keepdims=True)


def _elu(x, alpha):
    # exp of min(x, 0) only, so nothing overflows
    return np.maximum(x, 0) + alpha * _expm1(np.minimum(x, 0))


def _elu_backward(g, x, y, alpha):
    if alpha > 0:  # alpha * exp(x) == y + alpha on the negative side, and y > 0 exactly when x > 0
        return np.where(y > 0, g, g * (y + alpha))
    return np.where(x > 0, g, g * (alpha * np.exp(np.minimum(x, 0))))


def _alpha_not_positive(alpha):
    return not alpha > 0


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _selu(x):
    return _SELU_SCALE * (np.maximum(x, 0) + _SELU_ALPHA * _expm1(np.minimum(x, 0)))


def _selu_backward(g, x, y):
    return np.where(y > 0, g * _SELU_SCALE, g * (y + _SELU_SCALE * _SELU_ALPHA))


def _celu(x, alpha):
    return np.maximum(x, 0) + alpha * _expm1(np.minimum(x, 0) / alpha)


def _celu_backward(g, x, y, alpha):
    if alpha > 0:  # exp(x / alpha) == y / alpha + 1 on the negative side
        return np.where(y > 0, g, g * (y / alpha + 1))
    return np.where(x > 0, g, g * np.exp(np.minimum(x, 0) / alpha))


def _softplus(x):
    return _softplus_of(x)


def _softplus_backward(g, x, y):
    # sigmoid(x) == 1 - exp(-softplus(x))
    return g * -_expm1(-y)


def _softsign(x):
    return x / (1 + np.abs(x))


def _softsign_backward(g, x, y):
    # 1 / (1 + |x|) == 1 - |y|
    d = 1 - np.abs(y)
    return g * (d * d)


def _silu(x):
    return x * _sigmoid(x)


def _silu_backward(g, x, y):
    s = _sigmoid(x)
    return g * (s * (1 + x * (1 - s)))


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715


def _gelu(x, approximate):
    if approximate:
        inner = _SQRT_2_OVER_PI * (x + _GELU_CUBIC * (x * x * x))
        return 0.5 * x * (1 + np.tanh(inner))
    return 0.5 * x * (1 + _erf(x * _SQRT_HALF))


def _gelu_backward(g, x, y, approximate):
    if approximate:
        x2 = x * x
        t = np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * (x2 * x)))
        d_inner = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x2)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)
    cdf = 0.5 * (1 + _erf(x * _SQRT_HALF))
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * (x * x))
    return g * (cdf + x * pdf)


def _exponential(x):
    return np.exp(x)


def _exponential_backward(g, x, y):
    return g * y


def _hard_sigmoid(x):
    return np.clip(x / 6 + 0.5, 0, 1)


def _hard_sigmoid_backward(g, x, y):
    return g * ((y > 0) & (y < 1)) / 6


def _hard_silu(x):
    return x * _hard_sigmoid(x)


def _hard_silu_backward(g, x, y):
    slope = np.where(x > 3, 1, (2 * x + 3) / 6) * (x > -3)
    return g * slope


def _hard_tanh(x):
    return np.clip(x, -1, 1)


def _hard_tanh_backward(g, x, y):
    return g * ((y > -1) & (y < 1))


def _sparse_sigmoid(x):
    return np.clip(0.5 * (x + 1), 0, 1)


def _sparse_sigmoid_backward(g, x, y):
    return g * ((y > 0) & (y < 1)) * 0.5


def _sparse_plus(x):
    # 0 below -1, (x + 1)^2 / 4 on [-1, 1], x above 1
    c = np.clip(x, -1, 1) + 1
    return 0.25 * (c * c) + np.maximum(x - 1, 0)


def _sparse_plus_backward(g, x, y):
    # on (-1, 1) the slope (x + 1) / 2 equals sqrt(y); it is 0 below and 1 above
    return g * np.sqrt(np.minimum(y, 1))


def _log_sigmoid(x):
    return -_softplus_of(-x)


def _log_sigmoid_backward(g, x, y):
    # 1 - sigmoid(x) == 1 - exp(y)
    return g * -_expm1(y)


def _tanh_shrink(x):
    return x - np.tanh(x)


def _tanh_shrink_backward(g, x, y):
    t = np.tanh(x)
    return g * (t * t)


def _soft_shrink(x, threshold):
    if threshold >= 0:
        return x - np.clip(x, -threshold, threshold)
    return np.where(x > threshold, x - threshold, np.where(x < -threshold, x + threshold, 0))


def _soft_shrink_backward(g, x, y, threshold):
    outside = (y != 0) if threshold >= 0 else (np.abs(x) > threshold)
    return g * outside


def _hard_shrink(x, threshold):
    return x * (np.abs(x) > threshold)


def _hard_shrink_backward(g, x, y, threshold):
    outside = (y != 0) if threshold >= 0 else (np.abs(x) > threshold)
    return g * outside


def _threshold_negative(threshold):
    return threshold < 0


def _squareplus(x, b):
    return 0.5 * (x + np.sqrt(x * x + b))


def _squareplus_backward(g, x, y, b):
    if b > 0:  # x == y - b / (4y), which turns the slope into 4y^2 / (4y^2 + b)
        y2 = 4 * (y * y)
        return g * (y2 / (y2 + b))
    return g * 0.5 * (1 + x / np.sqrt(x * x + b))


def _b_not_positive(b):
    return not b > 0


def _mish_parts(x):
    # with n = exp(x): tanh(softplus(x)) = n(n + 2) / (n(n + 2) + 2) and sigmoid(x) = n / (n + 1);
    # beyond x = 20 both are 1 in float64, so capping x keeps n finite
    n = np.exp(np.minimum(x, 20))
    m = n * (n + 2)
    return m / (m + 2), n / (n + 1)


def _mish(x):
    return x * _mish_parts(x)[0]


def _mish_backward(g, x, y):
    t, s = _mish_parts(x)
    return g * (t + x * (1 - t * t) * s)


def _sparsemax(x, axis):
    z = np.moveaxis(x, axis, -1)
    ranked = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    cumulative = np.cumsum(ranked, axis=-1)
    # the support is the largest k with 1 + k * z_(k) > sum of the k largest
    support = np.sum(1 + k * ranked > cumulative, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, support - 1, axis=-1) - 1) / support.astype(z.dtype)
    return np.moveaxis(np.maximum(z - tau, 0), -1, axis)


def _sparsemax_backward(g, x, y, axis):
    inside = y > 0
    count = np.sum(inside, axis=axis, keepdims=True)
    mean = np.sum(g * inside, axis=axis, keepdims=True) / count.astype(g.dtype)
    return (g - mean) * inside


def _glu_halves(x, axis):
    size = x.shape[axis]
    if size % 2:
        raise ValueError(
            f"glu splits axis {axis} of its input into two halves (values and gates), so that axis needs an even "
            f"size, but the input has shape {x.shape}. Give the layer before it an even number of units."
        )
    return np.split(x, 2, axis=axis)


def _glu(x, axis):
    values, gates = _glu_halves(x, axis)
    return values * _sigmoid(gates)


def _glu_backward(g, x, y, axis):
    values, gates = _glu_halves(x, axis)
    s = _sigmoid(gates)
    return np.concatenate([g * s, g * values * (s * (1 - s))], axis=axis)


def _threshold_options(threshold, default_value):
    if threshold is None or default_value is None:
        # Keras's threshold has no defaults either: there is no sensible cut-off to guess
        raise TypeError(
            "threshold() needs both options, threshold and default_value: e.g. "
            "nbtrain.activations.threshold(x, threshold=0.5, default_value=0.0), or for a layer "
            "Activation(nbtrain.activations.threshold.with_options(threshold=0.5, default_value=0.0))."
        )


def _threshold(x, threshold, default_value):
    _threshold_options(threshold, default_value)
    return np.where(x > threshold, x, np.asarray(default_value, dtype=x.dtype))


def _threshold_backward(g, x, y, threshold, default_value):
    _threshold_options(threshold, default_value)
    return g * (x > threshold)


# --------------------------------------------------------------------------------------------------
# The built-in instances and the registry
# --------------------------------------------------------------------------------------------------


def _wrap_callable(identifier):
    """An object with ``backward`` becomes an activation; a plain function gets the recipe for one."""
    if callable(identifier) and callable(getattr(identifier, "backward", None)):
        return ActivationFunction(
            _callable_name(identifier),
            identifier,
            identifier.backward,
            needs_input=getattr(identifier, "needs_input", True),
        )
    if callable(identifier):
        name = _callable_name(identifier)
        builtin = name in ACTIVATIONS
        hint = f" nbtrain has a built-in one: pass {name.lower()!r}. Otherwise wrap" if builtin else " Wrap"
        raise TypeError(
            f"Activation {name!r} is a plain function, but nbtrain also needs its derivative to train.{hint} "
            f"it with its vector-Jacobian product: "
            f"nbtrain.activations.ActivationFunction({name!r}, forward, backward), "
            f"where forward(x) -> y and backward(grad_y, x, y) -> grad_x."
        )
    return None


def _callable_name(fn) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


ACTIVATIONS = Registry(
    "activation", base=ActivationFunction, convert=_wrap_callable,
    expected="Expected None, a name such as 'relu', or an nbtrain.activations.ActivationFunction.",
)
"""Every built-in activation by name (``"relu"``, ``"swish"``, ...); `get` and `deserialize` read it."""


def _builtin(name, doc, forward, backward, needs_input=False, **defaults) -> _BuiltinActivation:
    activation = _BuiltinActivation(name, forward, backward, needs_input, defaults)
    activation.__doc__ = doc  # what help(nbtrain.activations.relu) and relu? in a notebook show
    return ACTIVATIONS.register(name=name)(activation)


linear = _builtin("linear", "Identity: returns x unchanged (the same array, no copy).", _linear, _linear_backward)
relu = _builtin(
    "relu",
    "max(x, 0). Keras options: negative_slope=0.0 (slope below the threshold), max_value=None (upper clip), "
    "threshold=0.0 (values at or below it are damped).",
    _relu, _relu_backward, _relu_needs_input, negative_slope=0.0, max_value=None, threshold=0.0,
)  # fmt: skip
leaky_relu = _builtin(
    "leaky_relu", "x if x >= 0 else negative_slope * x; negative_slope=0.2 as in Keras 3.",
    _leaky_relu, _leaky_relu_backward, lambda negative_slope: negative_slope < 0, negative_slope=0.2,
)  # fmt: skip
relu6 = _builtin("relu6", "min(max(x, 0), 6).", _relu6, _relu6_backward)
sigmoid = _builtin("sigmoid", "1 / (1 + exp(-x)).", _sigmoid, _sigmoid_backward)
tanh = _builtin("tanh", "Hyperbolic tangent.", _tanh, _tanh_backward)
softmax = _builtin(
    "softmax", "exp(x) / sum(exp(x)) along axis=-1, computed without overflow.",
    _softmax, _softmax_backward, axis=-1,
)  # fmt: skip
log_softmax = _builtin(
    "log_softmax", "x - logsumexp(x) along axis=-1.", _log_softmax, _log_softmax_backward, axis=-1
)
elu = _builtin(
    "elu", "x if x > 0 else alpha * (exp(x) - 1); alpha=1.0.", _elu, _elu_backward, _alpha_not_positive, alpha=1.0
)
selu = _builtin(
    "selu", "scale * elu(x, alpha) with Keras's constants alpha=1.67326324, scale=1.05070098.", _selu, _selu_backward
)
celu = _builtin(
    "celu", "max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1); alpha=1.0.",
    _celu, _celu_backward, _alpha_not_positive, alpha=1.0,
)  # fmt: skip
softplus = _builtin("softplus", "log(1 + exp(x)), computed without overflow.", _softplus, _softplus_backward)
softsign = _builtin("softsign", "x / (1 + |x|).", _softsign, _softsign_backward)
silu = _builtin("silu", "x * sigmoid(x), also called swish.", _silu, _silu_backward, needs_input=True)
swish = ACTIVATIONS.register("swish")(silu)
gelu = _builtin(
    "gelu",
    "x * P(N(0, 1) <= x) = 0.5 x (1 + erf(x / sqrt(2))). approximate=True uses Keras's tanh formula instead.",
    _gelu, _gelu_backward, needs_input=True, approximate=False,
)  # fmt: skip
exponential = _builtin("exponential", "exp(x).", _exponential, _exponential_backward)
hard_sigmoid = _builtin(
    "hard_sigmoid", "relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between.", _hard_sigmoid, _hard_sigmoid_backward
)
hard_silu = _builtin(
    "hard_silu", "x * hard_sigmoid(x), also called hard_swish.", _hard_silu, _hard_silu_backward, needs_input=True
)
hard_swish = ACTIVATIONS.register("hard_swish")(hard_silu)
hard_tanh = _builtin("hard_tanh", "clip(x, -1, 1).", _hard_tanh, _hard_tanh_backward)
sparse_sigmoid = _builtin(
    "sparse_sigmoid", "clip((x + 1) / 2, 0, 1).", _sparse_sigmoid, _sparse_sigmoid_backward
)
sparse_plus = _builtin(
    "sparse_plus", "0 below -1, (x + 1)^2 / 4 on [-1, 1], x above 1.", _sparse_plus, _sparse_plus_backward
)
log_sigmoid = _builtin("log_sigmoid", "log(sigmoid(x)) = -softplus(-x).", _log_sigmoid, _log_sigmoid_backward)
tanh_shrink = _builtin(
    "tanh_shrink", "x - tanh(x).", _tanh_shrink, _tanh_shrink_backward, needs_input=True
)
soft_shrink = _builtin(
    "soft_shrink", "x - threshold above threshold, x + threshold below -threshold, else 0; threshold=0.5.",
    _soft_shrink, _soft_shrink_backward, _threshold_negative, threshold=0.5,
)  # fmt: skip
hard_shrink = _builtin(
    "hard_shrink", "x where |x| > threshold, else 0; threshold=0.5.",
    _hard_shrink, _hard_shrink_backward, _threshold_negative, threshold=0.5,
)  # fmt: skip
squareplus = _builtin(
    "squareplus", "(x + sqrt(x^2 + b)) / 2; b=4.", _squareplus, _squareplus_backward, _b_not_positive, b=4.0
)
mish = _builtin("mish", "x * tanh(softplus(x)).", _mish, _mish_backward, needs_input=True)
sparsemax = _builtin(
    "sparsemax", "Euclidean projection of x onto the probability simplex along axis=-1 (sparse softmax).",
    _sparsemax, _sparsemax_backward, axis=-1,
)  # fmt: skip

glu = _builtin(
    "glu", "Gated linear unit: x split in halves a, b along axis=-1, a * sigmoid(b); the axis halves.",
    _glu, _glu_backward, needs_input=True, axis=-1,
)  # fmt: skip
threshold = _builtin(
    "threshold", "x where x > threshold, else default_value; both options are required (as in Keras).",
    _threshold, _threshold_backward, needs_input=True, threshold=None, default_value=None,
)  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# In-place forms: a layer whose pre-activation z is its own fresh array (Dense, Conv) can overwrite z with
# activation(z) instead of allocating a second array as large (on a CNN's first feature maps, megabytes per batch).
# Each gives the same values, bit for bit, as the built-in with its default options.


def _relu_in_place(z):
    return np.maximum(z, 0, out=z)


def _tanh_in_place(z):
    return np.tanh(z, out=z)


def _sigmoid_in_place(z):
    np.negative(z, out=z)
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for very negative x; 1 / inf is the right 0
        np.exp(z, out=z)
    z += 1
    return np.divide(1, z, out=z)


def _softmax_in_place(z):
    z -= np.max(z, axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= np.sum(z, axis=-1, keepdims=True)
    return z


_IN_PLACE = {id(relu): _relu_in_place, id(tanh): _tanh_in_place, id(sigmoid): _sigmoid_in_place,
             id(softmax): _softmax_in_place, id(linear): _linear}


def in_place_form(activation):
    """A function that overwrites a float array with ``activation`` of it and returns it, or None.

    Only the built-ins with their default options have one (``relu``, ``tanh``, ``sigmoid``, ``softmax``,
    ``linear``); anything else, including the same names with other options, returns None.

    Example:
        >>> z = np.array([-1.0, 2.0], dtype="float32")
        >>> in_place_form(relu)(z) is z, z.tolist()
        (True, [0.0, 2.0])
    """
    return _IN_PLACE.get(id(activation))


# every name, aliases included, and every built-in under its own name (what the tests check each one against)
_BY_NAME = ACTIVATIONS.as_dict()
_BUILTINS = {activation.name: activation for activation in _BY_NAME.values()}


def get(identifier) -> ActivationFunction:
    """Resolve an activation identifier the way Keras layers do.

    Args:
        identifier: None (the linear activation), a name such as ``"relu"`` or ``"swish"``
            (case-insensitive), an :class:`ActivationFunction` (built-in or your own), a dict written by
            :func:`serialize`, or an object with ``__call__`` and ``backward(grad_y, x, y)`` methods.

    Returns:
        An :class:`ActivationFunction`.

    Raises:
        ValueError: for an unknown name, suggesting the nearest known one.
        TypeError: for a plain function, which has no derivative; wrap it in :class:`ActivationFunction`.

    Example:
        >>> get("ReLU")
        <activation relu>
        >>> get(None)
        <activation linear>
    """
    return ACTIVATIONS.get("linear" if identifier is None else identifier)


def serialize(activation):
    """Return what :func:`deserialize` needs to rebuild ``activation``: its name, or a dict with options.

    Args:
        activation: anything :func:`get` accepts.

    Example:
        >>> serialize(relu)
        'relu'
        >>> serialize(elu.with_options(alpha=0.5))
        {'class_name': 'elu', 'config': {'alpha': 0.5}}
    """
    activation = get(activation)
    config = activation.get_config()
    if config:
        return {"class_name": activation.name, "config": dict(config)}
    return activation.name


def deserialize(config, custom_objects: Mapping | None = None) -> ActivationFunction:
    """Rebuild an activation from :func:`serialize`'s output (a name or a dict).

    Args:
        config: a name such as ``"relu"``, or ``{"class_name": "elu", "config": {"alpha": 0.5}}``.
            Keras's function form ``{"class_name": "function", "config": "relu"}`` is accepted too.
        custom_objects: optional mapping from names to your own activations.

    Example:
        >>> deserialize({"class_name": "leaky_relu", "config": {"negative_slope": 0.1}})
        <activation leaky_relu negative_slope=0.1>
    """
    return get(ACTIVATIONS.deserialize(config, custom_objects))


def output_shape(activation, input_shape) -> tuple:
    """The shape ``activation`` gives an input of ``input_shape``: the same, except glu halves its axis.

    Args:
        activation: anything :func:`get` accepts.
        input_shape: a shape tuple (None for an unknown size).

    Example:
        >>> output_shape("glu", (None, 8))
        (None, 4)
    """
    activation = get(activation)
    shape = tuple(input_shape)
    if activation.name != "glu" or not isinstance(activation, _BuiltinActivation):
        return shape
    axis = activation.options["axis"] % len(shape)
    size = shape[axis]
    if size is not None and size % 2:
        raise ValueError(
            f"glu splits axis {activation.options['axis']} of its input into two halves, so that axis needs an "
            f"even size, but the input shape is {shape}. Give the layer before it an even number of units."
        )
    return shape[:axis] + (None if size is None else size // 2,) + shape[axis + 1:]
