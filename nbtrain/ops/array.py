"""Shapes, indexing, joining and splitting, creation and conversion, with their gradients."""

from __future__ import annotations

import builtins

import numpy as np

from nbtrain.ops._core import FLOATX, arg, as_array, unary, value
from nbtrain.ops.autodiff import Tensor, Variable, make_result, unwrap

# ---------------------------------------------------------------------------------------------------- shapes


def reshape(x, newshape):
    """The same values in a new shape (one axis may be -1)."""
    newshape = _shape_arg(newshape)
    return unary(x, lambda v: np.reshape(v, newshape), lambda g, v, y: np.reshape(g, v.shape), needs_float=False)


def transpose(x, axes=None):
    """Permute the axes (None: reverse them)."""
    def grad(g, v, y):
        return np.transpose(g, None if axes is None else np.argsort(axes))

    return unary(x, lambda v: np.transpose(v, axes), grad, needs_float=False)


def swapaxes(x, axis1, axis2):
    """Exchange two axes."""
    return unary(x, lambda v: np.swapaxes(v, axis1, axis2), lambda g, v, y: np.swapaxes(g, axis1, axis2),
                 needs_float=False)


def moveaxis(x, source, destination):
    """Move axes to new positions."""
    return unary(x, lambda v: np.moveaxis(v, source, destination),
                 lambda g, v, y: np.moveaxis(g, destination, source), needs_float=False)


def expand_dims(x, axis):
    """Insert length-1 axes at ``axis``."""
    return unary(x, lambda v: np.expand_dims(v, axis), lambda g, v, y: np.reshape(g, v.shape), needs_float=False)


def squeeze(x, axis=None):
    """Remove length-1 axes (all of them, or those in ``axis``)."""
    return unary(x, lambda v: np.squeeze(v, axis), lambda g, v, y: np.reshape(g, v.shape), needs_float=False)


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` (the gradient sums back over the copies)."""
    from nbtrain.ops.autodiff import sum_to_shape

    shape = _shape_arg(shape)
    return unary(x, lambda v: np.broadcast_to(v, shape), lambda g, v, y: sum_to_shape(g, v.shape),
                 needs_float=False)


def flip(x, axis=None):
    """Reverse the order of elements along ``axis`` (None: all axes)."""
    return unary(x, lambda v: np.flip(v, axis), lambda g, v, y: np.flip(g, axis), needs_float=False)


def tile(x, repeats):
    """Repeat the whole array ``repeats`` times along each axis."""
    def grad(g, v, y):
        reps = (1,) * (g.ndim - len(np.atleast_1d(repeats))) + tuple(np.atleast_1d(repeats))
        shape = (1,) * (g.ndim - v.ndim) + v.shape
        split = [n for pair in zip(reps, shape) for n in pair]
        return g.reshape(split).sum(axis=tuple(range(0, 2 * g.ndim, 2))).reshape(v.shape)

    return unary(x, lambda v: np.tile(v, repeats), grad, needs_float=False)


def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (None: of the flattened array)."""
    def grad(g, v, y):
        along = 0 if axis is None else axis % v.ndim
        source = np.ravel(v) if axis is None else v
        counts = np.broadcast_to(np.asarray(repeats), (source.shape[along],))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
        summed = np.add.reduceat(g, starts, axis=along) if g.shape[along] else np.zeros_like(source)
        summed = np.where(np.reshape(counts > 0, [-1 if i == along else 1 for i in range(g.ndim)]), summed, 0)
        return summed.reshape(v.shape)

    return unary(x, lambda v: np.repeat(v, repeats, axis), grad, needs_float=False)


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pad with a constant (``mode="constant"``) or NumPy's other modes (no gradient for those)."""
    def forward(v):
        if mode == "constant":
            return np.pad(v, pad_width, mode="constant", constant_values=constant_values or 0)
        return np.pad(v, pad_width, mode=mode)

    def grad(g, v, y):
        widths = np.broadcast_to(np.asarray(pad_width), (v.ndim, 2))
        return g[tuple(builtins.slice(int(lo), int(lo) + n) for (lo, _), n in zip(widths, v.shape))]

    return unary(x, forward, grad if mode == "constant" else None, needs_float=False)


# ---------------------------------------------------------------------------------------------- indexing


def get_item(x, key):
    """``x[key]``: basic slicing, integer and boolean arrays (the gradient adds into the selected places)."""
    key = _index_arg(key)

    def grad(g, v, y):
        out = np.zeros_like(v)
        if _is_basic_index(key):
            out[key] = g
        else:
            np.add.at(out, key, g)  # fancy indices may select an element twice
        return out

    return unary(x, lambda v: v[key], grad, needs_float=False)


def _index_arg(key):
    if isinstance(key, tuple):
        return tuple(_index_arg(k) for k in key)
    key = unwrap(key)
    if isinstance(key, Tensor):
        return key.value
    return key


def _is_basic_index(key) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (builtins.slice, int, np.integer)) for k in parts)


def take(x, indices, axis=None):
    """Elements at ``indices`` along ``axis`` (None: of the flattened array)."""
    indices = np.asarray(value(arg(indices)))

    def grad(g, v, y):
        if axis is None:
            out = np.zeros(v.size, v.dtype)
            np.add.at(out, np.ravel(indices), np.ravel(g))
            return out.reshape(v.shape)
        out = np.zeros_like(v)
        np.add.at(out, (builtins.slice(None),) * (axis % v.ndim) + (indices,), g)
        return out

    return unary(x, lambda v: np.take(v, indices, axis=axis), grad, needs_float=False)


def take_along_axis(x, indices, axis=None):
    """Elements at ``indices`` along ``axis``, matched position by position (as ``numpy.take_along_axis``)."""
    indices = np.asarray(value(arg(indices)))

    def grad(g, v, y):
        if axis is None:
            out = np.zeros(v.size, v.dtype)
            np.add.at(out, indices, g)
            return out.reshape(v.shape)
        out = np.zeros_like(v)
        full_index = list(np.indices(indices.shape, sparse=True))
        full_index[axis % v.ndim] = indices
        np.add.at(out, tuple(full_index), g)
        return out

    def forward(v):
        return np.take_along_axis(v, indices, axis=axis)

    return unary(x, forward, grad, needs_float=False)


def slice(inputs, start_indices, shape):
    """The block of ``shape`` starting at ``start_indices``."""
    key = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))
    return get_item(inputs, key)


# ------------------------------------------------------------------------------------ joining and splitting


def concatenate(xs, axis=0):
    """Join arrays along an existing axis."""
    parts = [arg(x) for x in xs]
    values = [np.asarray(value(p)) for p in parts]
    y = np.concatenate(values, axis=axis)
    bounds = np.cumsum([v.shape[axis] for v in values])[:-1]

    def grad_for(i):
        return lambda g: np.split(g, bounds, axis=axis)[i]

    return make_result(y, parts, [grad_for(i) for i in range(len(parts))])


def stack(x, axis=0):
    """Join arrays along a new axis."""
    parts = [arg(item) for item in x]
    y = np.stack([value(p) for p in parts], axis=axis)

    def grad_for(i):
        return lambda g: np.take(g, i, axis=axis)

    return make_result(y, parts, [grad_for(i) for i in range(len(parts))])


def split(x, indices_or_sections, axis=0):
    """Split into equal sections, or at the given indices, along ``axis``; a list of arrays."""
    a = arg(x)
    pieces = np.split(value(a), indices_or_sections, axis=axis)
    if not isinstance(a, Tensor):
        return pieces
    offsets = np.cumsum([0] + [p.shape[axis] for p in pieces])
    full_shape = a.value.shape

    def grad_for(i):
        def grad(g):
            out = np.zeros(full_shape, g.dtype)
            index = [builtins.slice(None)] * len(full_shape)
            index[axis] = builtins.slice(int(offsets[i]), int(offsets[i + 1]))
            out[tuple(index)] = g
            return out
        return grad

    return [make_result(p, (a,), (grad_for(i),)) for i, p in enumerate(pieces)]


def sort(x, axis=-1):
    """Sorted along ``axis``."""
    order = None

    def forward(v):
        nonlocal order
        order = np.argsort(v, axis=axis, kind="stable")
        return np.take_along_axis(v, order, axis=axis)

    def grad(g, v, y):
        out = np.zeros_like(v)
        np.put_along_axis(out, order, g, axis=axis)
        return out

    return unary(x, forward, grad, needs_float=False)


def argsort(x, axis=-1):
    """Indices that sort ``x`` along ``axis``."""
    return np.argsort(value(arg(x)), axis=axis, kind="stable")


# --------------------------------------------------------------------------------- creation and conversion


def _dtype(dtype, default=FLOATX):
    return np.dtype(default if dtype is None else dtype)


def ones(shape, dtype=None):
    """An array of ones (float32 by default)."""
    return np.ones(_shape_arg(shape), _dtype(dtype))


def zeros(shape, dtype=None):
    """An array of zeros (float32 by default)."""
    return np.zeros(_shape_arg(shape), _dtype(dtype))


def full(shape, fill_value, dtype=None):
    """An array filled with ``fill_value``."""
    return np.full(_shape_arg(shape), fill_value, _dtype(dtype, as_array(fill_value).dtype))


def ones_like(x, dtype=None):
    """Ones in ``x``'s shape (and dtype unless given)."""
    v = np.asarray(value(arg(x)))
    return np.ones(v.shape, _dtype(dtype, v.dtype))


def zeros_like(x, dtype=None):
    """Zeros in ``x``'s shape (and dtype unless given)."""
    v = np.asarray(value(arg(x)))
    return np.zeros(v.shape, _dtype(dtype, v.dtype))


def full_like(x, fill_value, dtype=None):
    """``fill_value`` in ``x``'s shape (and dtype unless given)."""
    v = np.asarray(value(arg(x)))
    return np.full(v.shape, fill_value, _dtype(dtype, v.dtype))


def eye(N, M=None, k=0, dtype=None):
    """A 2-D array with ones on diagonal ``k``."""
    return np.eye(N, M, k, dtype=_dtype(dtype))


def identity(n, dtype=None):
    """The ``n`` x ``n`` identity matrix."""
    return np.eye(n, dtype=_dtype(dtype))


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in ``[start, stop)``; int32 for integer arguments, float32 otherwise."""
    values = np.arange(start, stop, step) if step is not None else np.arange(start, stop)
    if dtype is None:
        dtype = np.int32 if values.dtype.kind in "iu" else FLOATX
    return values.astype(dtype)


def cast(x, dtype):
    """``x`` as ``dtype``; a cast to an integer or boolean dtype stops the gradient."""
    dtype = np.dtype(dtype)
    return unary(x, lambda v: np.asarray(v).astype(dtype),
                 (lambda g, v, y: g) if dtype.kind in "fc" else None, needs_float=False)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` as an array: Python floats become float32 and ints int32 (as in Keras); arrays keep their dtype.

    A tracked tensor is returned as it is (cast if ``dtype`` is given), so it stays differentiable.
    """
    x = unwrap(x)
    if isinstance(x, Tensor):
        return x if dtype is None else cast(x, dtype)
    if isinstance(x, (list, tuple)) and any(isinstance(unwrap(item), Tensor) for item in x):
        return stack(x)
    return as_array(x, None if dtype is None else np.dtype(dtype))


def convert_to_numpy(x) -> np.ndarray:
    """The values of ``x`` as a NumPy array (for a tracked tensor: without its gradient)."""
    if isinstance(x, Variable):
        return x.value
    x = unwrap(x)
    return x.value if isinstance(x, Tensor) else np.asarray(x)


def stop_gradient(variable):
    """The same values, treated as a constant: no gradient flows back through the result."""
    v = unwrap(variable)
    return v.value if isinstance(v, Tensor) else v


def copy(x):
    """A copy of ``x``."""
    return unary(x, np.copy, lambda g, v, y: g, needs_float=False)


def is_tensor(x) -> bool:
    """Whether ``x`` is an array or tensor ops compute with."""
    return isinstance(unwrap(x), (Tensor, np.ndarray))


def shape(x) -> tuple:
    """The shape as a tuple of ints."""
    return tuple(np.shape(value(arg(x))))


def ndim(x) -> int:
    """The number of axes."""
    return len(shape(x))


def size(x) -> int:
    """The number of elements."""
    return int(np.prod(shape(x)))


def dtype(x) -> str:
    """The dtype's name, e.g. ``"float32"``."""
    return np.asarray(value(arg(x))).dtype.name


def _shape_arg(shape_like):
    shape_like = unwrap(shape_like)
    if isinstance(shape_like, Tensor):
        shape_like = shape_like.value
    if isinstance(shape_like, (int, np.integer)):
        return (int(shape_like),)
    return tuple(int(n) for n in np.asarray(shape_like).reshape(-1)) if isinstance(shape_like, np.ndarray) \
        else tuple(int(n) if n is not None else -1 for n in shape_like)
