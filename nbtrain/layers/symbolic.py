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


def use_arithmetic_layers(add: type, subtract: type, multiply: type, rescaling: type) -> None:
    """Set the layer classes that ``x + y``, ``x - y``, ``x * y`` and ``x * number`` add to a graph."""
    _ARITHMETIC_LAYERS.update(add=add, subtract=subtract, multiply=multiply, rescale=rescaling)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _negated(value):
    return -value if _is_number(value) else value


def _arithmetic(a, b, operation: str, scale, offset):
    """``a (operation) b`` for symbolic tensors: a merge layer for two tensors, a Rescaling for a number."""
    if isinstance(a, SymbolicTensor) and isinstance(b, SymbolicTensor):
        return _ARITHMETIC_LAYERS[operation]()([a, b])
    tensor, number = (a, b) if isinstance(a, SymbolicTensor) else (b, a)
    if not _is_number(number) or (operation == "divide" and number == 0):
        raise TypeError(f"Symbolic tensors support {operation} with another symbolic tensor or a (non-zero, for "
                        f"division) number, got {number!r}. Use a layer for anything else.")
    return _ARITHMETIC_LAYERS["rescale"](scale, offset=offset)(tensor)


__all__ = ["Node", "SymbolicTensor", "call_symbolically", "is_symbolic", "use_arithmetic_layers"]
