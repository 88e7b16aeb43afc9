"""Merge layers for functional models: combine several tensors into one."""

from __future__ import annotations

import numpy as np

from nbtrain.layers.layer import Layer


class Merge(Layer):
    """Base of element-wise merges: inputs of the same shape in, one tensor of that shape out."""

    minimum_inputs = 2

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

    def forward(self, x, training=False):
        self._inputs = x
        return self.merge(x)

    def merge(self, xs):
        raise NotImplementedError


class Add(Merge):
    """Element-wise sum of its inputs.

    Example:
        >>> float(Add()([np.ones((2, 3)), np.ones((2, 3))])[0, 0])
        2.0
    """

    def merge(self, xs):
        total = xs[0] + xs[1]
        for x in xs[2:]:
            total += x
        return total

    def backward(self, grad_output):
        return [grad_output] * len(self._inputs)


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

    def merge(self, xs):
        return xs[0] - xs[1]

    def backward(self, grad_output):
        return [grad_output, -grad_output]


class Multiply(Merge):
    """Element-wise product of its inputs.

    Example:
        >>> Multiply()([np.full((1, 2), 3.0), np.full((1, 2), 2.0)])
        array([[6., 6.]])
    """

    def merge(self, xs):
        product = xs[0] * xs[1]
        for x in xs[2:]:
            product = product * x
        return product

    def backward(self, grad_output):
        grads = []
        for i in range(len(self._inputs)):
            others = np.ones_like(grad_output)
            for j, x in enumerate(self._inputs):
                if j != i:
                    others = others * x
            grads.append(grad_output * others)
        return grads


class Average(Merge):
    """Element-wise mean of its inputs.

    Example:
        >>> Average()([np.zeros((1, 2)), np.full((1, 2), 4.0)])
        array([[2., 2.]])
    """

    def merge(self, xs):
        return Add.merge(self, xs) / len(xs)

    def backward(self, grad_output):
        return [grad_output / len(self._inputs)] * len(self._inputs)


class _Extremum(Merge):
    """Maximum or minimum: the gradient goes to the input that was chosen (the first one on ties)."""

    pick = None

    def merge(self, xs):
        stacked = np.stack(xs)
        self._choice = type(self).pick(stacked, axis=0)
        return np.take_along_axis(stacked, self._choice[None], axis=0)[0]

    def backward(self, grad_output):
        return [np.where(self._choice == i, grad_output, 0) for i in range(len(self._inputs))]


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

    def forward(self, x, training=False):
        self._splits = np.cumsum([a.shape[self.axis] for a in x])[:-1]
        return np.concatenate(x, axis=self.axis)

    def backward(self, grad_output):
        return np.split(grad_output, self._splits, axis=self.axis)

    def get_config(self):
        return super().get_config() | {"axis": self.axis}


def add(inputs, **kwargs):
    """Functional shorthand for ``Add()(inputs)``."""
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional shorthand for ``Concatenate(axis)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)
