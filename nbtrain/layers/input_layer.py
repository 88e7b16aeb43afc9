"""``Input``: the symbolic start of a model, and the ``InputLayer`` that a Sequential model keeps for it."""

from __future__ import annotations

from nbtrain.layers.layer import Layer, normalize_shape


class Node:
    """One call of a layer in a functional graph: which tensors went in, which came out."""

    def __init__(self, layer, inputs: list, outputs: list):
        self.layer = layer
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.list_input = False  # the layer was called with a list (merge layers), not one tensor

    def __repr__(self):
        return f"<Node {self.layer.name}: {len(self.inputs)} in, {len(self.outputs)} out>"


class SymbolicTensor:
    """A placeholder for data of a known shape (batch axis first), produced by ``Input`` or a layer call.

    Attributes:
        shape: full shape, the batch axis usually None.
        layer: the layer that produces it.
        node: the layer call that produced it (None until attached).
    """

    def __init__(self, shape, layer, dtype="float32", node=None):
        self.shape = tuple(shape)
        self.layer = layer
        self.dtype = dtype
        self.node = node

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, from={self.layer.name!r}>"

    # Arithmetic as in Keras's functional API. Between tensors of the same shape, x + y, x - y and x * y add
    # an Add, Subtract or Multiply layer; with a number, x * 2, x / 255, x + 1, 1 - x and -x add a Rescaling.
    def __add__(self, other):
        return _arithmetic(self, other, "add", scale=1.0, offset=other)

    __radd__ = __add__

    def __sub__(self, other):
        return _arithmetic(self, other, "subtract", scale=1.0, offset=_negated(other))

    def __rsub__(self, other):
        return _arithmetic(other, self, "subtract", scale=-1.0, offset=other)

    def __mul__(self, other):
        return _arithmetic(self, other, "multiply", scale=other, offset=0.0)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, SymbolicTensor):
            raise TypeError("Dividing one symbolic tensor by another is not supported; multiply by a number or use "
                            "a layer.")
        return _arithmetic(self, other, "divide", scale=1.0 / other if _is_number(other) and other else other,
                           offset=0.0)

    def __neg__(self):
        return _arithmetic(self, -1.0, "multiply", scale=-1.0, offset=0.0)


def is_symbolic(x) -> bool:
    """True for a symbolic tensor or a non-empty list of them: a call that builds a graph, not one on data."""
    return isinstance(x, SymbolicTensor) or (
        isinstance(x, (list, tuple)) and bool(x) and all(isinstance(t, SymbolicTensor) for t in x))


def _is_number(value) -> bool:
    import numpy as np

    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _negated(value):
    return -value if _is_number(value) else value


def _arithmetic(a, b, operation: str, scale, offset):
    """``a (operation) b`` for symbolic tensors: a merge layer for two tensors, a Rescaling for a number."""
    from nbtrain.layers.merging import Add, Multiply, Subtract
    from nbtrain.layers.preprocessing import Rescaling

    if isinstance(a, SymbolicTensor) and isinstance(b, SymbolicTensor):
        return {"add": Add, "subtract": Subtract, "multiply": Multiply}[operation]()([a, b])
    tensor, number = (a, b) if isinstance(a, SymbolicTensor) else (b, a)
    if not _is_number(number) or (operation == "divide" and number == 0):
        raise TypeError(f"Symbolic tensors support {operation} with another symbolic tensor or a (non-zero, for "
                        f"division) number, got {number!r}. Use a layer for anything else.")
    return Rescaling(scale, offset=offset)(tensor)


class InputLayer(Layer):
    """The layer behind ``Input``: passes data through and fixes the model's input shape.

    Args:
        shape: shape of one sample, e.g. ``(784,)``.
        batch_size: optional fixed batch size.
        batch_shape: the full shape including the batch axis (instead of ``shape``).

    Example:
        >>> InputLayer(shape=(784,)).output_shape
        (None, 784)
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, **kwargs):
        input_shape = kwargs.pop("input_shape", None)
        super().__init__(name=name, **kwargs)
        if batch_shape is not None:
            full = normalize_shape(batch_shape, "batch_shape")
        else:
            shape = shape if shape is not None else input_shape
            if shape is None:
                raise ValueError("Input() needs the shape of one sample, for example Input(shape=(784,)).")
            full = (batch_size,) + normalize_shape(shape, "shape")
        self.dtype = dtype or "float32"
        self.build(full)
        self.output = SymbolicTensor(full, self, self.dtype)
        self.output.node = Node(self, [], [self.output])

    def forward(self, x, training=False):
        return x

    def backward(self, grad_output):
        return grad_output

    def get_config(self):
        return {"name": self.name, "batch_shape": self.input_shape, "dtype": self.dtype}

    def __repr__(self):
        return f"<InputLayer name={self.name!r}, shape={self.input_shape}>"


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, **kwargs) -> SymbolicTensor:
    """Declare the shape of one input sample, as ``keras.Input``.

    Args:
        shape: shape of one sample without the batch axis, e.g. ``(784,)`` or ``(28, 28, 1)``.
        batch_size: optional fixed batch size.
        dtype: accepted for Keras compatibility.
        batch_shape: full shape including the batch axis, instead of ``shape``.
        name: optional name.

    Example:
        >>> from nbtrain.models import Sequential
        >>> from nbtrain.layers import Dense
        >>> model = Sequential([Input(shape=(4,)), Dense(2)])
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape, name=name, **kwargs)
    return layer.output


def call_symbolically(layer, inputs, **kwargs):
    """Record ``layer(inputs)`` in the graph: build the layer for the inputs' shapes, return output tensors."""
    if kwargs:
        raise TypeError(f"Calling layer '{layer.name}' on symbolic inputs takes no extra arguments, got "
                        f"{sorted(kwargs)}.")
    tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    shapes = [t.shape for t in tensors] if isinstance(inputs, (list, tuple)) else tensors[0].shape
    layer.ensure_built(shapes)
    output_shape = layer.compute_output_shape(shapes)
    several = isinstance(output_shape, list)
    outputs = [SymbolicTensor(shape, layer) for shape in (output_shape if several else [output_shape])]
    node = Node(layer, tensors, outputs)
    node.list_input = isinstance(inputs, (list, tuple))
    for tensor in outputs:
        tensor.node = node
    return outputs if several else outputs[0]
