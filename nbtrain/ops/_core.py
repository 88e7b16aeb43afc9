"""The helpers every op is written with: argument conversion, dtypes, and the unary/binary op templates."""

from __future__ import annotations

import numpy as np

from nbtrain.ops.autodiff import Tensor, make_result, sum_to_shape, unwrap

FLOATX = np.float32


def arg(x):
    """An op argument as a Tensor, an array, or a Python/NumPy scalar (scalars stay weakly typed, so
    ``x * 2.0`` keeps ``x``'s float32); lists and tuples become arrays as ``convert_to_tensor`` makes them."""
    x = unwrap(x)
    if isinstance(x, (Tensor, np.ndarray, int, float, complex, np.generic)):
        return x
    if isinstance(x, (list, tuple)):
        return as_array(x)
    if hasattr(x, "__array__"):
        return np.asarray(x)
    raise TypeError(f"nbtrain.ops expected an array, a tensor or a number, got {type(x).__name__}: {x!r:.80}.")


def as_array(x, dtype=None) -> np.ndarray:
    """Python data as an array the way Keras converts it: floats -> float32, ints -> int32."""
    value = np.asarray(x, dtype=dtype)
    if dtype is None and not isinstance(x, np.ndarray):
        if value.dtype == np.float64:
            value = value.astype(FLOATX)
        elif value.dtype == np.int64:
            value = value.astype(np.int32)
    return value


def value(x):
    return x.value if isinstance(x, Tensor) else x


def float_arg(x):
    """An argument of a function that needs floats: integers and booleans become float32."""
    x = arg(x)
    if isinstance(x, Tensor):
        return x  # tracked tensors are floating point already
    if isinstance(x, (np.ndarray, np.generic)):
        return x.astype(FLOATX) if x.dtype.kind in "biu" else x
    if isinstance(x, (bool, int, float)):
        return np.asarray(x, FLOATX)  # a Python number: Keras's floatx
    return x


def _is_float64(x) -> bool:
    return isinstance(x, (np.ndarray, Tensor)) and x.dtype == np.float64


def keep_float32(result, *inputs):
    """NumPy promotes int32 * float32 (and int array * Python float) to float64; Keras gives float32."""
    if getattr(result, "dtype", None) == np.float64 and not any(_is_float64(x) for x in inputs):
        return result.astype(FLOATX)
    return result


def unary(x, forward, grad=None, needs_float=True):
    """Apply ``forward(array)``; record ``grad(g, x, y) -> dx`` if ``x`` is tracked (None: no gradient)."""
    a = float_arg(x) if needs_float else arg(x)
    if not isinstance(a, Tensor):
        return forward(a)
    xv = a.value
    y = forward(xv)
    if grad is None:
        return y
    return make_result(y, (a,), (lambda g: grad(g, xv, y),))


def binary(x1, x2, forward, grad1=None, grad2=None):
    """Apply ``forward(a, b)`` with broadcasting; record ``grad1(g, a, b, y)`` / ``grad2`` for tracked inputs.

    The gradients are summed back over broadcast axes to each input's shape.
    """
    a, b = arg(x1), arg(x2)
    av, bv = value(a), value(b)
    y = keep_float32(forward(av, bv), a, b)
    if not (isinstance(a, Tensor) or isinstance(b, Tensor)):
        return y
    a_shape, b_shape = np.shape(av), np.shape(bv)
    fn1 = (lambda g: sum_to_shape(grad1(g, av, bv, y), a_shape)) if grad1 else None
    fn2 = (lambda g: sum_to_shape(grad2(g, av, bv, y), b_shape)) if grad2 else None
    return make_result(y, (a, b), (fn1, fn2))


def normalize_axes(axis, ndim: int) -> tuple:
    """``axis`` (None, an int or a sequence) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalized = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array with {ndim} dimensions.")
        normalized.append(int(a) % max(ndim, 1))
    return tuple(sorted(normalized))


def expand_reduced(g, shape: tuple, axis, keepdims: bool):
    """The gradient of a reduction over ``axis``, put back along the reduced axes and broadcast to ``shape``."""
    g = np.asarray(g)
    if not keepdims and len(shape):
        g = np.expand_dims(g, normalize_axes(axis, len(shape)))
    return np.broadcast_to(g, shape)
