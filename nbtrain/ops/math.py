"""Arithmetic, elementwise functions, comparisons, reductions and products, with their gradients."""

from __future__ import annotations

import builtins
import math as _math

import numpy as np

from nbtrain.ops._core import (
    FLOATX,
    arg,
    binary,
    expand_reduced,
    float_arg,
    keep_float32,
    normalize_axes,
    unary,
    value,
)
from nbtrain.ops.autodiff import Tensor, make_result, sum_to_shape

# ---------------------------------------------------------------------------------------------- arithmetic


def add(x1, x2):
    """``x1 + x2`` elementwise, with broadcasting."""
    return binary(x1, x2, np.add, lambda g, a, b, y: g, lambda g, a, b, y: g)


def subtract(x1, x2):
    """``x1 - x2`` elementwise, with broadcasting."""
    return binary(x1, x2, np.subtract, lambda g, a, b, y: g, lambda g, a, b, y: -g)


def multiply(x1, x2):
    """``x1 * x2`` elementwise, with broadcasting."""
    return binary(x1, x2, np.multiply, lambda g, a, b, y: g * b, lambda g, a, b, y: g * a)


def divide(x1, x2):
    """``x1 / x2`` elementwise (true division: integers give floats)."""
    return binary(float_arg(x1), x2, np.true_divide, lambda g, a, b, y: g / b,
                  lambda g, a, b, y: -g * y / b)


true_divide = divide


def floor_divide(x1, x2):
    """``x1 // x2`` elementwise (piecewise constant: no gradient)."""
    return binary(x1, x2, np.floor_divide)


def mod(x1, x2):
    """``x1 % x2`` elementwise, the sign of ``x2`` as in NumPy."""
    return binary(x1, x2, np.mod, lambda g, a, b, y: g, lambda g, a, b, y: -g * np.floor_divide(a, b))


def negative(x):
    """``-x``."""
    return unary(x, np.negative, lambda g, x, y: -g, needs_float=False)


def power(x1, x2):
    """``x1 ** x2`` elementwise. The gradient for the exponent exists where the base is positive."""
    def grad_base(g, a, b, y):
        return g * b * np.power(a, b - 1) if not np.isscalar(b) or b != 0 else np.zeros_like(g)

    def grad_exponent(g, a, b, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return g * y * np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)

    return binary(x1, x2, np.power, grad_base, grad_exponent)


def square(x):
    """``x * x``."""
    return unary(x, np.square, lambda g, x, y: 2 * g * x, needs_float=False)


def sqrt(x):
    """Square root."""
    return unary(x, np.sqrt, lambda g, x, y: g / (2 * y))


def rsqrt(x):
    """``1 / sqrt(x)``."""
    return unary(x, lambda x: 1 / np.sqrt(x), lambda g, x, y: -0.5 * g * y / x)


def reciprocal(x):
    """``1 / x``."""
    return unary(x, np.reciprocal, lambda g, x, y: -g * y * y)


def exp(x):
    """``e ** x``."""
    return unary(x, np.exp, lambda g, x, y: g * y)


def log(x):
    """Natural logarithm."""
    return unary(x, np.log, lambda g, x, y: g / x)


def log1p(x):
    """``log(1 + x)``, accurate for small ``x``."""
    return unary(x, np.log1p, lambda g, x, y: g / (1 + x))


def expm1(x):
    """``exp(x) - 1``, accurate for small ``x``."""
    return unary(x, np.expm1, lambda g, x, y: g * (y + 1))


def abs(x):
    """Absolute value (gradient ``sign(x)``, 0 at 0)."""
    return unary(x, np.abs, lambda g, x, y: g * np.sign(x), needs_float=False)


absolute = abs


def sign(x):
    """-1, 0 or 1 (no gradient)."""
    return unary(x, np.sign, needs_float=False)


def floor(x):
    """Round down (no gradient)."""
    return unary(x, np.floor)


def ceil(x):
    """Round up (no gradient)."""
    return unary(x, np.ceil)


def round(x, decimals=0):
    """Round half to even, as NumPy (no gradient)."""
    return unary(x, lambda v: np.round(v, decimals), needs_float=False)


def sin(x):
    """Sine."""
    return unary(x, np.sin, lambda g, x, y: g * np.cos(x))


def cos(x):
    """Cosine."""
    return unary(x, np.cos, lambda g, x, y: -g * np.sin(x))


def tanh(x):
    """Hyperbolic tangent."""
    return unary(x, np.tanh, lambda g, x, y: g * (1 - y * y))


def erf(x):
    """The error function (computed with Python's ``math.erf`` per element)."""
    return unary(x, _erf, lambda g, x, y: g * (2 / _math.sqrt(_math.pi)) * np.exp(-x * x))


_erf_elementwise = np.frompyfunc(_math.erf, 1, 1)


def _erf(x):
    return np.asarray(_erf_elementwise(x), dtype=np.asarray(x).dtype)


def maximum(x1, x2):
    """The larger of ``x1`` and ``x2`` elementwise (a tie shares the gradient equally)."""
    return binary(x1, x2, np.maximum, lambda g, a, b, y: g * _share(a, b, np.greater),
                  lambda g, a, b, y: g * _share(b, a, np.greater))


def minimum(x1, x2):
    """The smaller of ``x1`` and ``x2`` elementwise (a tie shares the gradient equally)."""
    return binary(x1, x2, np.minimum, lambda g, a, b, y: g * _share(a, b, np.less),
                  lambda g, a, b, y: g * _share(b, a, np.less))


def _share(mine, other, wins):
    """1 where ``mine`` wins, 0.5 on a tie, 0 where it loses."""
    return np.where(wins(mine, other), 1.0, np.where(mine == other, 0.5, 0.0)).astype(np.result_type(mine, FLOATX))


def clip(x, x_min, x_max):
    """``x`` limited to ``[x_min, x_max]`` (gradient 1 inside, 0 outside)."""
    lower, upper = arg(x_min), arg(x_max)
    if isinstance(lower, Tensor) or isinstance(upper, Tensor):
        return minimum(maximum(x, lower), upper)  # differentiable in the bounds too
    return unary(x, lambda v: keep_float32(np.clip(v, lower, upper), v),
                 lambda g, v, y: g * ((v >= lower) & (v <= upper)), needs_float=False)


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2``; with one argument, the indices where it holds."""
    condition = value(arg(condition))
    if x1 is None and x2 is None:
        return np.nonzero(condition)
    if x1 is None or x2 is None:
        raise ValueError("where() needs both x1 and x2, or neither (then it returns the indices).")
    condition = np.asarray(condition, dtype=bool)
    return binary(x1, x2, lambda a, b: np.where(condition, a, b),
                  lambda g, a, b, y: np.where(condition, g, 0), lambda g, a, b, y: np.where(condition, 0, g))


# ---------------------------------------------------------------------------------- comparisons and logic


def _compare(numpy_fn):
    def op(x1, x2):
        return numpy_fn(value(arg(x1)), value(arg(x2)))

    op.__name__ = numpy_fn.__name__
    op.__doc__ = f"Elementwise ``{numpy_fn.__name__}`` (a boolean array; no gradient)."
    return op


equal = _compare(np.equal)
not_equal = _compare(np.not_equal)
greater = _compare(np.greater)
greater_equal = _compare(np.greater_equal)
less = _compare(np.less)
less_equal = _compare(np.less_equal)
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)
logical_xor = _compare(np.logical_xor)


def logical_not(x):
    """Elementwise NOT (a boolean array)."""
    return np.logical_not(value(arg(x)))


def isnan(x):
    """Where ``x`` is NaN (a boolean array)."""
    return np.isnan(value(arg(x)))


def isfinite(x):
    """Where ``x`` is finite (a boolean array)."""
    return np.isfinite(value(arg(x)))


def isinf(x):
    """Where ``x`` is infinite (a boolean array)."""
    return np.isinf(value(arg(x)))


# ----------------------------------------------------------------------------------------------- reductions


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (None: all axes)."""
    return unary(x, lambda v: np.sum(v, axis=_axis(axis), keepdims=keepdims),
                 lambda g, v, y: expand_reduced(g, v.shape, axis, keepdims), needs_float=False)


def mean(x, axis=None, keepdims=False):
    """Average over ``axis`` (None: all axes); integers give float32."""
    def grad(g, v, y):
        count = _count(v.shape, axis)
        return expand_reduced(np.asarray(g) / count, v.shape, axis, keepdims)

    return unary(x, lambda v: np.mean(v, axis=_axis(axis), keepdims=keepdims), grad)


def max(x, axis=None, keepdims=False, initial=None):
    """Largest value over ``axis``; ties share the gradient equally."""
    return _extremum(x, axis, keepdims, initial, np.max)


def min(x, axis=None, keepdims=False, initial=None):
    """Smallest value over ``axis``; ties share the gradient equally."""
    return _extremum(x, axis, keepdims, initial, np.min)


def _extremum(x, axis, keepdims, initial, numpy_fn):
    kwargs = {} if initial is None else {"initial": initial}

    def grad(g, v, y):
        y_kept = expand_reduced(y, v.shape, axis, keepdims)
        hits = (v == y_kept).astype(v.dtype)
        count = np.sum(hits, axis=_axis(axis), keepdims=True)
        return hits / np.maximum(count, 1) * expand_reduced(g, v.shape, axis, keepdims)

    return unary(x, lambda v: numpy_fn(v, axis=_axis(axis), keepdims=keepdims, **kwargs), grad,
                 needs_float=False)


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis`` (the gradient is exact with zeros in ``x`` too)."""
    def grad(g, v, y):
        return expand_reduced(g, v.shape, axis, keepdims) * _product_of_others(v, axis)

    return unary(x, lambda v: np.prod(v, axis=_axis(axis), keepdims=keepdims, dtype=dtype), grad,
                 needs_float=False)


def _product_of_others(v, axis):
    """For each element, the product of the other elements of its reduction group (no division by it)."""
    axes = normalize_axes(axis, v.ndim)
    kept = [a for a in range(v.ndim) if a not in axes]
    moved = np.transpose(v, kept + list(axes))
    flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), v.dtype)
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, -1)[..., :-1]], axis=-1), axis=-1), -1)
    others = (before * after).reshape(moved.shape)
    return np.transpose(others, np.argsort(kept + list(axes)))


def var(x, axis=None, keepdims=False):
    """Population variance over ``axis``."""
    def grad(g, v, y):
        centred = v - np.mean(v, axis=_axis(axis), keepdims=True)
        return expand_reduced(g, v.shape, axis, keepdims) * (2 / _count(v.shape, axis)) * centred

    return unary(x, lambda v: np.var(v, axis=_axis(axis), keepdims=keepdims), grad)


def std(x, axis=None, keepdims=False):
    """Population standard deviation over ``axis``."""
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, computed without overflow."""
    def forward(v):
        peak = np.max(v, axis=_axis(axis), keepdims=True)
        peak = np.where(np.isfinite(peak), peak, 0)
        out = np.log(np.sum(np.exp(v - peak), axis=_axis(axis), keepdims=True)) + peak
        return out if keepdims else np.squeeze(out, axis=normalize_axes(axis, v.ndim))

    def grad(g, v, y):
        y_kept = expand_reduced(y, v.shape, axis, keepdims)
        return expand_reduced(g, v.shape, axis, keepdims) * np.exp(v - y_kept)

    return unary(x, forward, grad)


def argmax(x, axis=None, keepdims=False):
    """Index of the largest value along ``axis`` (None: of the flattened array)."""
    return np.argmax(value(arg(x)), axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the smallest value along ``axis`` (None: of the flattened array)."""
    return np.argmin(value(arg(x)), axis=axis, keepdims=keepdims)


def all(x, axis=None, keepdims=False):
    """Whether every element along ``axis`` is true."""
    return np.all(value(arg(x)), axis=_axis(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    """Whether some element along ``axis`` is true."""
    return np.any(value(arg(x)), axis=_axis(axis), keepdims=keepdims)


def count_nonzero(x, axis=None):
    """How many elements along ``axis`` are not zero."""
    return np.count_nonzero(value(arg(x)), axis=_axis(axis))


def cumsum(x, axis=None, dtype=None):
    """Running sum along ``axis`` (None: of the flattened array)."""
    def grad(g, v, y):
        if axis is None:
            return np.flip(np.cumsum(np.flip(np.ravel(g)))).reshape(v.shape)
        return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)

    return unary(x, lambda v: np.cumsum(v, axis=axis, dtype=dtype), grad, needs_float=False)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norm (``ord`` None/2, 1, inf, -inf, 0 or any p) over one axis or all; the Frobenius norm
    (``ord`` None or ``"fro"``) of matrices over two axes."""
    xv = value(float_arg(x))
    axes = normalize_axes(axis, xv.ndim)
    if ord in (None, 2, "fro", "euclidean") and (len(axes) == 1 or ord in (None, "fro", "euclidean")):
        if ord == 2 and len(axes) == 2:
            return _forward_only(x, lambda v: np.linalg.norm(v, ord=ord, axis=axis, keepdims=keepdims), "2")
        return sqrt(sum(square(float_arg(x)), axis=axes, keepdims=keepdims))
    if len(axes) != 1:
        return _forward_only(x, lambda v: np.linalg.norm(v, ord=ord, axis=axis, keepdims=keepdims), ord)
    if ord == 1:
        return sum(abs(float_arg(x)), axis=axes, keepdims=keepdims)
    if ord in (np.inf, float("inf")):
        return max(abs(float_arg(x)), axis=axes, keepdims=keepdims)
    if ord in (-np.inf, float("-inf")):
        return min(abs(float_arg(x)), axis=axes, keepdims=keepdims)
    if ord == 0:
        return np.sum(xv != 0, axis=axes, keepdims=keepdims).astype(FLOATX)
    return power(sum(power(abs(float_arg(x)), float(ord)), axis=axes, keepdims=keepdims), 1.0 / ord)


def _forward_only(x, forward, ord):
    a = float_arg(x)
    if isinstance(a, Tensor):
        raise NotImplementedError(f"norm(ord={ord!r}) over two axes has no gradient in nbtrain; use the "
                                  "Frobenius norm (ord=None) or a vector norm over one axis.")
    return forward(a)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _count(shape, axis) -> int:
    return int(np.prod([shape[a] for a in normalize_axes(axis, len(shape))]))


# ------------------------------------------------------------------------------------------------- products


def matmul(x1, x2):
    """Matrix product with NumPy's rules (batch axes broadcast; 1-D arguments are vectors)."""
    a, b = arg(x1), arg(x2)
    av, bv = value(a), value(b)
    y = keep_float32(np.matmul(av, bv), a, b)
    if not (isinstance(a, Tensor) or isinstance(b, Tensor)):
        return y
    a2 = av[None, :] if av.ndim == 1 else av
    b2 = bv[:, None] if bv.ndim == 1 else bv

    def as_matrix_grad(g):
        if av.ndim == 1 and bv.ndim == 1:
            return np.reshape(g, (1, 1))
        if av.ndim == 1:
            g = np.expand_dims(g, -2)
        if bv.ndim == 1:
            g = np.expand_dims(g, -1)
        return g

    def grad_a(g):
        return sum_to_shape(np.matmul(as_matrix_grad(g), np.swapaxes(b2, -1, -2)), a2.shape).reshape(av.shape)

    def grad_b(g):
        return sum_to_shape(np.matmul(np.swapaxes(a2, -1, -2), as_matrix_grad(g)), b2.shape).reshape(bv.shape)

    return make_result(y, (a, b), (grad_a if isinstance(a, Tensor) else None,
                                   grad_b if isinstance(b, Tensor) else None))


def dot(x1, x2):
    """NumPy's ``dot``: a product for scalars, ``matmul`` up to 2-D, else a sum over the last axis of ``x1``
    and the second-to-last of ``x2``."""
    a, b = arg(x1), arg(x2)
    if np.ndim(value(a)) == 0 or np.ndim(value(b)) == 0:
        return multiply(a, b)
    if np.ndim(value(a)) <= 2 and np.ndim(value(b)) <= 2:
        return matmul(a, b)
    nb = np.ndim(value(b))
    return tensordot(a, b, axes=([np.ndim(value(a)) - 1], [nb - 2 if nb > 1 else 0]))


def tensordot(x1, x2, axes=2):
    """Sum of products over ``axes`` (an int: the last ``axes`` of ``x1`` with the first of ``x2``)."""
    a, b = arg(x1), arg(x2)
    na, nb = np.ndim(value(a)), np.ndim(value(b))
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(na - axes, na)), list(range(axes))
    else:
        axes_a, axes_b = ([axes[0]] if np.isscalar(axes[0]) else list(axes[0]),
                          [axes[1]] if np.isscalar(axes[1]) else list(axes[1]))
    axes_a, axes_b = [ax % na for ax in axes_a], [ax % nb for ax in axes_b]
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    spec_a = [next(letters) for _ in range(na)]
    spec_b = [next(letters) for _ in range(nb)]
    for i, j in zip(axes_a, axes_b):
        spec_b[j] = spec_a[i]
    out = [c for i, c in enumerate(spec_a) if i not in axes_a] + [c for j, c in enumerate(spec_b) if j not in axes_b]
    return einsum(f"{''.join(spec_a)},{''.join(spec_b)}->{''.join(out)}", a, b)


def outer(x1, x2):
    """Outer product of the flattened arguments."""
    from nbtrain.ops.array import reshape

    return multiply(reshape(x1, (-1, 1)), reshape(x2, (1, -1)))


def einsum(subscripts, *operands, **kwargs):
    """Einstein summation as ``numpy.einsum``; differentiable when ``subscripts`` has an explicit ``->`` output
    and no ``...`` (write the axes out)."""
    args = [arg(o) for o in operands]
    values = [value(a) for a in args]
    y = keep_float32(np.einsum(subscripts, *values, **kwargs), *args)
    if not builtins.any(isinstance(a, Tensor) for a in args):
        return y
    spec = subscripts.replace(" ", "")
    if "->" not in spec or "." in spec:
        raise NotImplementedError(
            f"einsum({subscripts!r}) on tracked tensors needs an explicit output ('ij,jk->ik') and no '...'.")
    inputs_spec, output_spec = spec.split("->")
    input_specs = inputs_spec.split(",")
    sizes = {c: n for s, v in zip(input_specs, values) for c, n in zip(s, np.shape(v))}

    def grad_for(i):
        def grad(g):
            others = [(s, v) for j, (s, v) in enumerate(zip(input_specs, values)) if j != i]
            present = set(output_spec).union(*[set(s) for s, _ in others])
            # An axis summed in this operand alone: every element of it gets the same gradient.
            only_here = [c for c in dict.fromkeys(input_specs[i]) if c not in present]
            terms = [output_spec] + [s for s, _ in others] + only_here
            arrays = [g] + [v for _, v in others] + [np.ones(sizes[c], g.dtype) for c in only_here]
            target = "".join(dict.fromkeys(input_specs[i]))
            grad_value = np.einsum(f"{','.join(terms)}->{target}", *arrays)
            if target != input_specs[i]:  # a repeated index (a diagonal): put it back on the diagonal
                raise NotImplementedError("einsum gradients with a repeated index in one operand are not supported.")
            return grad_value
        return grad

    return make_result(y, args, [grad_for(i) for i in range(len(args))])




# ------------------------------------------------------------------------------------------- more of Keras's


def log2(x):
    """Base-2 logarithm."""
    return unary(x, np.log2, lambda g, x, y: g / (x * _math.log(2)))


def log10(x):
    """Base-10 logarithm."""
    return unary(x, np.log10, lambda g, x, y: g / (x * _math.log(10)))


def logaddexp(x1, x2):
    """``log(exp(x1) + exp(x2))`` without overflow."""
    return binary(float_arg(x1), x2, np.logaddexp, lambda g, a, b, y: g * np.exp(a - y),
                  lambda g, a, b, y: g * np.exp(b - y))


def average(x, axis=None, weights=None):
    """Weighted mean over ``axis`` (``weights`` along that axis, or of ``x``'s shape); the plain mean without."""
    if weights is None:
        return mean(x, axis=axis)
    x, weights = float_arg(x), float_arg(weights)
    if axis is not None and np.ndim(value(weights)) == 1 and np.ndim(value(x)) > 1:
        shape = [1] * np.ndim(value(x))
        shape[axis] = -1
        from nbtrain.ops.array import reshape

        weights = reshape(weights, shape)
    return divide(sum(multiply(x, weights), axis=axis), sum(multiply(weights, np.ones_like(value(x))), axis=axis))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN and infinities replaced by finite numbers (the gradient is 0 where a value was replaced)."""
    return unary(x, lambda v: np.nan_to_num(v, nan=nan, posinf=posinf, neginf=neginf),
                 lambda g, v, y: g * np.isfinite(v), needs_float=False)
