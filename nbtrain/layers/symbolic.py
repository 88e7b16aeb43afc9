"""The vocabulary of functional graphs: ``SymbolicTensor``, the ``Node`` of each layer call, and the call itself.

``Layer.__call__`` records a call here when its input is symbolic, so this module sits below ``layer.py``
and imports no layer: ``layer.py`` imports it at the top, as Keras's ``layer.py`` imports its
``keras_tensor`` and ``node`` modules.

Symbolic arithmetic (``x + y``, ``x / 255``) adds a merging layer or a ``Rescaling``, whose modules import
``layer.py``; importing them here would close a cycle. Instead ``nbtrain/layers/__init__.py``, which imports
every layer, hands the four classes over with :func:`use_arithmetic_layers`. Importing any
``nbtrain.layers`` module runs that ``__init__`` first, so the classes are in place before a tensor exists.
"""

from __future__ import annotations

import numpy as np


class Node:
    """One call of a layer in a functional graph: which tensors went in, which came out."""

    def __init__(self, layer, inputs: list, outputs: list):
        self.layer = layer
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.list_input = False  # the layer was called with a list (merge layers), not one tensor
        self.state_count = 0     # inputs[1:] are that many initial_state tensors (recurrent layers)

    @property
    def several_inputs(self) -> bool:
        """Whether the layer's backprop returns one gradient per input tensor (a list), not one array."""
        return self.list_input or self.state_count > 0

    def call_layer(self, tensors):
        """Call this node's layer again on ``tensors`` (standing for its inputs), with the same arguments: for a
        nested model replayed on new tensors, and for a saved model rebuilt."""
        if self.state_count:
            return self.layer(tensors[0], initial_state=list(tensors[1:]))
        return self.layer(tensors if self.list_input else tensors[0])

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

    # Arithmetic as in Keras's functional API. Between float tensors of the same shape, x + y, x - y and x * y
    # add an Add, Subtract or Multiply layer; with a number, x * 2, x / 255, x + 1, 1 - x and -x add a
    # Rescaling. Every other operator Keras's tensors have (comparisons, a / b, x ** 2, x[:, 0], ~mask ...)
    # adds a TensorOperator applying the nbtrain.ops function. As in Keras, == is identity, not elementwise.
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
        if not _is_number(other) or self.dtype != "float32":
            return _operator("divide", self, other)
        return _arithmetic(self, other, "divide", scale=1.0 / other if other else other, offset=0.0)

    def __rtruediv__(self, other):
        return _operator("divide", other, self)

    def __neg__(self):
        return _arithmetic(self, -1.0, "multiply", scale=-1.0, offset=0.0)

    def __floordiv__(self, other):
        return _operator("floor_divide", self, other)

    def __rfloordiv__(self, other):
        return _operator("floor_divide", other, self)

    def __mod__(self, other):
        return _operator("mod", self, other)

    def __rmod__(self, other):
        return _operator("mod", other, self)

    def __pow__(self, other):
        return _operator("power", self, other)

    def __rpow__(self, other):
        return _operator("power", other, self)

    def __matmul__(self, other):
        return _operator("matmul", self, other)

    def __rmatmul__(self, other):
        return _operator("matmul", other, self)

    def __lt__(self, other):
        return _operator("less", self, other)

    def __le__(self, other):
        return _operator("less_equal", self, other)

    def __gt__(self, other):
        return _operator("greater", self, other)

    def __ge__(self, other):
        return _operator("greater_equal", self, other)

    def __ne__(self, other):
        return _operator("not_equal", self, other)

    __hash__ = object.__hash__      # == stays identity (Keras's too), so tensors remain usable as dict keys

    def __and__(self, other):
        return _operator("logical_and", self, other)

    __rand__ = __and__

    def __or__(self, other):
        return _operator("logical_or", self, other)

    __ror__ = __or__

    def __xor__(self, other):
        return _operator("logical_xor", self, other)

    __rxor__ = __xor__

    def __invert__(self):
        return _operator("logical_not", self)

    def __abs__(self):
        return _operator("abs", self)

    def __round__(self, ndigits=None):
        if ndigits is not None:
            raise TypeError("round() of a symbolic tensor rounds to integers; it takes no number of digits.")
        return _operator("round", self)

    def __getitem__(self, key):
        return _OPERATOR["apply"]("get_item", [self], index=_OPERATOR["encode_index"](key))


def is_symbolic(x) -> bool:
    """True for a symbolic tensor or a non-empty list of them: a call that builds a graph, not one on data."""
    return isinstance(x, SymbolicTensor) or (
        isinstance(x, (list, tuple)) and bool(x) and all(isinstance(t, SymbolicTensor) for t in x))


def call_symbolically(layer, inputs, initial_state=None, **kwargs):
    """Record ``layer(inputs)`` in the graph: build the layer for the inputs' shapes, return output tensors.

    ``initial_state`` (recurrent layers) is a tensor or list of tensors; they become inputs of the call after
    the sequences, so gradients flow into them (the seq2seq decoder starting from the encoder's states)."""
    if kwargs:
        raise TypeError(f"Calling layer '{layer.name}' on symbolic inputs takes no extra arguments, got "
                        f"{sorted(kwargs)}.")
    tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    shapes = [t.shape for t in tensors] if isinstance(inputs, (list, tuple)) else tensors[0].shape
    states = _state_tensors(layer, initial_state)
    layer.ensure_built(shapes)
    if states:
        layer.check_initial_state([t.shape for t in states], tensors[0].shape)
    output_shape = layer.compute_output_shape(shapes)
    several = isinstance(output_shape, list)
    outputs = [SymbolicTensor(shape, layer) for shape in (output_shape if several else [output_shape])]
    node = Node(layer, tensors + states, outputs)
    node.list_input = isinstance(inputs, (list, tuple))
    node.state_count = len(states)
    layer.__dict__.setdefault("_inbound_nodes", []).append(node)     # for layer.input and layer.output
    for tensor in outputs:
        tensor.node = node
    return outputs if several else outputs[0]


def _state_tensors(layer, initial_state) -> list:
    if initial_state is None:
        return []
    states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
    if not all(isinstance(state, SymbolicTensor) for state in states):
        kinds = ", ".join(type(state).__name__ for state in states)
        raise TypeError(f"Layer '{layer.name}' was called on symbolic sequences, so its initial_state must be "
                        f"symbolic tensors too (from Input(...) or another layer, such as an encoder's "
                        f"return_state=True outputs), got {kinds}. For fixed start values use an Input fed with them.")
    return states


# ----- arithmetic ------------------------------------------------------------------------------------------

# The layer classes behind the operators, by operation ("add", "subtract", "multiply", "rescale"); filled by
# use_arithmetic_layers() (see the module docstring for why they are handed over rather than imported).
_ARITHMETIC_LAYERS: dict[str, type] = {}
# The other operators: nbtrain.layers.operators' apply_operator and encode_index, handed over the same way.
_OPERATOR: dict = {}


def use_arithmetic_layers(add: type, subtract: type, multiply: type, rescaling: type, operators=None) -> None:
    """Set the layer classes that ``x + y``, ``x - y``, ``x * y`` and ``x * number`` add to a graph, and the
    module (:mod:`nbtrain.layers.operators`) that records every other operator."""
    _ARITHMETIC_LAYERS.update(add=add, subtract=subtract, multiply=multiply, rescale=rescaling)
    if operators is not None:
        _OPERATOR.update(apply=operators.apply_operator, encode_index=operators.encode_index)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _negated(value):
    return -value if _is_number(value) else value


def _arithmetic(a, b, operation: str, scale, offset):
    """``a (operation) b`` for symbolic tensors: a merge layer for two float tensors of one shape, a Rescaling
    for a float tensor and a number, a TensorOperator otherwise (broadcasting, booleans, arrays)."""
    if isinstance(a, SymbolicTensor) and isinstance(b, SymbolicTensor):
        if a.dtype == b.dtype == "float32" and (a.shape == b.shape or not _broadcast(a.shape, b.shape)):
            return _ARITHMETIC_LAYERS[operation]()([a, b])
        return _operator(operation, a, b)
    tensor, number = (a, b) if isinstance(a, SymbolicTensor) else (b, a)
    if operation == "divide" and _is_number(number) and number == 0:
        raise TypeError("Dividing a symbolic tensor by 0 gives inf or nan; divide by a non-zero number.")
    if not _is_number(number) or tensor.dtype != "float32":
        return _operator(operation, a, b)
    return _ARITHMETIC_LAYERS["rescale"](scale, offset=offset)(tensor)


def _broadcast(shape_a, shape_b) -> bool:
    """Whether two shapes of known sizes (None read as 1) broadcast to one (Keras's ops.add broadcasts)."""
    try:
        np.broadcast_shapes(tuple(1 if d is None else d for d in shape_a), tuple(1 if d is None else d for d in shape_b))
    except ValueError:
        return False
    return True


_UNARY = object()    # the second operand of a unary operator


def _operator(operation, a, b=_UNARY):
    """``a (operation) b``, or ``operation(a)``, as a TensorOperator: two tensors, or a tensor and a constant
    (a number or an array) on either side."""
    apply = _OPERATOR["apply"]
    if b is _UNARY:
        return apply(operation, [a])
    if isinstance(a, SymbolicTensor) and isinstance(b, SymbolicTensor):
        return apply(operation, [a, b])
    if isinstance(a, SymbolicTensor):
        return apply(operation, [a], constant=b)
    return apply(operation, [b], constant=a, constant_first=True)


__all__ = ["Node", "SymbolicTensor", "call_symbolically", "is_symbolic", "use_arithmetic_layers"]
