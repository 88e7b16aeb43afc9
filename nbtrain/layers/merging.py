"""Merge layers for functional models: combine several tensors into one."""

from __future__ import annotations

from functools import partial

import numpy as np

from nbtrain.layers.layer import Layer
from nbtrain.layers.normalization import unit_normalize, unit_normalize_backward
from nbtrain.utils.checks import is_int
from nbtrain.utils.naming import shape_text


class Merge(Layer):
    """Base of element-wise merges: inputs of the same shape in, one tensor of that shape out.

    Masks: an output step is real when it is real in any input (Keras 3 ORs the masks); when an input has no
    mask, every step counts and the output has none.
    """

    minimum_inputs = 2
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        masks = mask_list(mask, inputs)
        if masks is None or any(m is None for m in masks):
            return None
        return np.logical_or.reduce([np.asarray(m, bool) for m in masks])

    def _check_shapes(self, shapes) -> None:
        if not isinstance(shapes, list) or len(shapes) < self.minimum_inputs:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' merges a list of at least "
                             f"{self.minimum_inputs} tensors, e.g. {type(self).__name__}()([a, b]); got {shapes!r}.")
        first = shapes[0][1:]
        for shape in shapes[1:]:
            if len(shape) != len(shapes[0]) or any(a is not None and b is not None and a != b
                                                   for a, b in zip(first, shape[1:])):
                raise ValueError(f"{type(self).__name__} layer '{self.name}' needs inputs of the same shape, got "
                                 f"{[tuple(s) for s in shapes]}.")

    def build(self, input_shape):
        self._check_shapes(input_shape)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    # Subclasses implement _apply(xs, training, need_input_grad) -> (merged, backprop giving one gradient per input).


class Add(Merge):
    """Element-wise sum of its inputs.

    Example:
        >>> float(Add()([np.ones((2, 3)), np.ones((2, 3))])[0, 0])
        2.0
    """

    def _apply(self, xs, training, need_input_grad):
        count = len(xs)

        def backprop(grad_output):
            return [grad_output] * count

        return _sum(xs), backprop


class Subtract(Merge):
    """``a - b`` for exactly two inputs ``[a, b]``.

    Example:
        >>> Subtract()([np.full((1, 2), 3.0), np.ones((1, 2))])
        array([[2., 2.]])
    """

    def _check_shapes(self, shapes):
        super()._check_shapes(shapes)
        if len(shapes) != 2:
            raise ValueError(f"Subtract layer '{self.name}' takes exactly two inputs [a, b], got {len(shapes)}.")

    def _apply(self, xs, training, need_input_grad):
        def backprop(grad_output):
            return [grad_output, -grad_output]

        return xs[0] - xs[1], backprop


class Multiply(Merge):
    """Element-wise product of its inputs.

    Example:
        >>> Multiply()([np.full((1, 2), 3.0), np.full((1, 2), 2.0)])
        array([[6., 6.]])
    """

    def _apply(self, xs, training, need_input_grad):
        product = xs[0] * xs[1]
        for x in xs[2:]:
            product = product * x

        def backprop(grad_output):
            grads = []
            for i in range(len(xs)):
                others = np.ones_like(grad_output)
                for j, x in enumerate(xs):
                    if j != i:
                        others = others * x
                grads.append(grad_output * others)
            return grads

        return product, backprop


class Average(Merge):
    """Element-wise mean of its inputs.

    Example:
        >>> Average()([np.zeros((1, 2)), np.full((1, 2), 4.0)])
        array([[2., 2.]])
    """

    def _apply(self, xs, training, need_input_grad):
        count = len(xs)

        def backprop(grad_output):
            return [grad_output / count] * count

        return _sum(xs) / count, backprop


class _Extremum(Merge):
    """Maximum or minimum: the gradient goes to the input that was chosen (the first one on ties)."""

    pick = None

    def _apply(self, xs, training, need_input_grad):
        stacked = np.stack(xs)
        choice = type(self).pick(stacked, axis=0)

        def backprop(grad_output):
            return [np.where(choice == i, grad_output, 0) for i in range(len(xs))]

        return np.take_along_axis(stacked, choice[None], axis=0)[0], backprop


class Maximum(_Extremum):
    """Element-wise maximum of its inputs.

    Example:
        >>> Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])
        array([[3., 5.]])
    """

    pick = staticmethod(np.argmax)


class Minimum(_Extremum):
    """Element-wise minimum of its inputs.

    Example:
        >>> Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])
        array([[1., 2.]])
    """

    pick = staticmethod(np.argmin)


class Concatenate(Layer):
    """Joins its inputs along ``axis`` (the last by default); the other axes must match.

    Args:
        axis: the axis to join along.

    Example:
        >>> Concatenate()([np.zeros((2, 3)), np.ones((2, 1))]).shape
        (2, 4)
    """

    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        """Keras 3's rule: each input's mask spread over its values (all True for an input without one),
        joined along ``axis``, then a step is real where any of its values is."""
        masks = mask_list(mask, inputs)
        if masks is None or all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(inputs, masks):
            x = np.asarray(x)
            if m is None:
                full.append(np.ones(x.shape, bool))
            else:
                m = np.asarray(m, bool)
                full.append(np.broadcast_to(m.reshape(m.shape + (1,) * (x.ndim - m.ndim)), x.shape))
        return np.concatenate(full, axis=self.axis).any(axis=-1)

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(f"Concatenate layer '{self.name}' joins a list of at least 2 tensors, e.g. "
                             f"Concatenate()([a, b]); got {input_shape!r}.")
        ranks = {len(s) for s in input_shape}
        axis = self.axis % len(input_shape[0])
        if len(ranks) != 1 or any(
                any(a is not None and b is not None and a != b for i, (a, b) in enumerate(zip(s, input_shape[0]))
                    if i != axis) for s in input_shape):
            raise ValueError(f"Concatenate layer '{self.name}' needs inputs that match on every axis except "
                             f"axis={self.axis}; got shapes {[tuple(s) for s in input_shape]}.")
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        axis = self.axis % len(input_shape[0])
        sizes = [s[axis] for s in input_shape]
        shape = list(input_shape[0])
        shape[axis] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(shape)

    def _apply(self, xs, training, need_input_grad):
        splits = np.cumsum([a.shape[self.axis] for a in xs])[:-1]

        def backprop(grad_output):
            return np.split(grad_output, splits, axis=self.axis)

        return np.concatenate(xs, axis=self.axis), backprop

    def get_config(self):
        return super().get_config() | {"axis": self.axis}


class Dot(Layer):
    """Per-sample dot product of two tensors, summing over one axis of each (Keras's ``batch_dot``).

    For inputs of shapes ``(batch, 3, 5)`` and ``(batch, 10, 3)`` with ``axes=(1, 2)`` the output has shape
    ``(batch, 5, 10)``: the first input's other axes, then the second's (without its batch axis). Two vectors per
    sample, ``(batch, n)`` each, give ``(batch, 1)``.

    Args:
        axes: the axis to sum over, the same in both inputs; or a pair ``(axis_of_first, axis_of_second)``.
            Never 0, the batch axis.
        normalize: L2-normalize both inputs along those axes first, so the output is the cosine similarity.

    Example:
        >>> Dot(axes=1)([np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])])
        array([[11.]])
    """

    supports_masking = True     # as in Keras: a masked input is accepted, and the output has no mask

    def compute_mask(self, inputs, mask=None):
        return None

    epsilon = 1e-7      # Keras's floor for the norm when normalize=True

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = _check_dot_axes(axes)
        self.normalize = bool(normalize)

    def _contracted_axes(self, shapes) -> tuple[int, int]:
        """``axes`` as two non-negative axes, one for each input."""
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        resolved = []
        for which, axis, shape in zip(("first", "second"), pair, shapes):
            rank = len(shape)
            if not -rank <= axis < rank or axis % rank == 0:
                raise ValueError(
                    f"Dot layer '{self.name}' got axes={self.axes!r}, but the {which} input has shape "
                    f"{shape_text(shape)}: the axis must be one of 1..{rank - 1} (or negative); axis 0 is the "
                    f"batch axis.")
            resolved.append(axis % rank)
        return resolved[0], resolved[1]

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise ValueError(f"Dot layer '{self.name}' takes a list of exactly two tensors, e.g. "
                             f"Dot(axes=1)([a, b]); got {input_shape!r}.")
        for shape in input_shape:
            if len(shape) < 2:
                raise ValueError(f"Dot layer '{self.name}' needs inputs with a batch axis and at least one more, "
                                 f"got shapes {[shape_text(s) for s in input_shape]}.")
        self._check_sizes(*input_shape)
        super().build(input_shape)

    def _check_sizes(self, first, second) -> tuple[int, int]:
        """The contracted axes of inputs of these shapes, after checking that they can be contracted."""
        a, b = self._contracted_axes([first, second])
        if first[a] is not None and second[b] is not None and first[a] != second[b]:
            raise ValueError(
                f"Dot layer '{self.name}' sums over axis {a} of the first input and axis {b} of the second, which "
                f"must have the same size; got shapes {shape_text(first)} and {shape_text(second)}.")
        if first[0] is not None and second[0] is not None and first[0] != second[0]:
            raise ValueError(f"Dot layer '{self.name}' needs the same number of samples in both inputs, got shapes "
                             f"{shape_text(first)} and {shape_text(second)}.")
        return a, b

    def compute_output_shape(self, input_shape):
        first, second = (list(s) for s in input_shape)
        a, b = self._contracted_axes(input_shape)
        del first[a], second[b], second[0]
        shape = first + second
        return tuple(shape) if len(shape) > 1 else (shape[0], 1)

    def _apply(self, x, training, need_input_grad):
        first, second = x
        a, b = self._check_sizes(first.shape, second.shape)
        norms = None
        if self.normalize:
            (first, inv_a), (second, inv_b) = (unit_normalize(first, a, self.epsilon),
                                               unit_normalize(second, b, self.epsilon))
            norms = (first, inv_a, second, inv_b)
        # one batched matrix product: (n, rest of first, k) @ (n, k, rest of second)
        left, right = np.moveaxis(first, a, -1), np.moveaxis(second, b, 1)
        n, k = left.shape[0], left.shape[-1]
        lhs, rhs = left.reshape(n, -1, k), right.reshape(n, k, -1)
        shape = (n,) + left.shape[1:-1] + right.shape[2:]
        cache = (lhs, rhs, left.shape, right.shape, a, b, norms)
        return np.matmul(lhs, rhs).reshape(shape if len(shape) > 1 else (n, 1)), partial(self._gradients, cache)

    def _gradients(self, cache, grad_output):
        """One call's gradients for both inputs, from what its forward pass kept."""
        lhs, rhs, left_shape, right_shape, a, b, norms = cache
        g = grad_output.reshape(lhs.shape[0], lhs.shape[1], rhs.shape[2])
        grad_first = np.moveaxis(np.matmul(g, rhs.transpose(0, 2, 1)).reshape(left_shape), -1, a)
        grad_second = np.moveaxis(np.matmul(lhs.transpose(0, 2, 1), g).reshape(right_shape), 1, b)
        if norms is not None:
            unit_a, inv_a, unit_b, inv_b = norms
            grad_first = unit_normalize_backward(grad_first, unit_a, inv_a, a, self.epsilon)
            grad_second = unit_normalize_backward(grad_second, unit_b, inv_b, b, self.epsilon)
        return [grad_first, grad_second]

    def get_config(self):
        return super().get_config() | {"axes": self.axes if isinstance(self.axes, int) else list(self.axes),
                                       "normalize": self.normalize}


def _sum(xs):
    """The element-wise sum of a list of arrays, adding into the first sum's array."""
    total = xs[0] + xs[1]
    for x in xs[2:]:
        total += x
    return total


def _check_dot_axes(axes):
    if is_int(axes):
        return int(axes)
    if isinstance(axes, (list, tuple)) and len(axes) == 2 and all(is_int(a) for a in axes):
        return (int(axes[0]), int(axes[1]))
    raise ValueError(f"Dot() expects axes to be an int or a pair of ints (one axis for each input), got {axes!r}. "
                     f"For two (batch, n) vectors use Dot(axes=1).")


def add(inputs, **kwargs):
    """Functional shorthand for ``Add()(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional shorthand for ``Subtract()(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional shorthand for ``Multiply()(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional shorthand for ``Average()(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional shorthand for ``Maximum()(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional shorthand for ``Minimum()(inputs)``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional shorthand for ``Concatenate(axis)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """Functional shorthand for ``Dot(axes, normalize)(inputs)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


def mask_list(mask, inputs):
    """The masks of a merge layer's inputs as a list (None when no input has one); a list of another length
    than the inputs is an error, as in Keras."""
    if mask is None:
        return None
    if not isinstance(mask, (list, tuple)):
        raise ValueError(f"A merge layer takes one mask per input, as a list; got {type(mask).__name__}.")
    if len(mask) != len(inputs):
        raise ValueError(f"A merge layer takes one mask per input: {len(inputs)} inputs but {len(mask)} masks.")
    return list(mask)
