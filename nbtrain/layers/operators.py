"""``TensorOperator``: the layer behind Python operators on symbolic tensors that no Keras layer stands for.

In a functional model Keras lets you write ``inputs > 0.5``, ``a / b``, ``x ** 2``, ``x[:, 0]``, ``abs(x)``
or ``~mask``. nbtrain records each as one call of a :class:`TensorOperator`, which applies the ``nbtrain.ops``
function of that operator (so it is differentiated by the tape, and saved as plain data: the operation's
name, a constant number or array, an index). ``x + y``, ``x - y``, ``x * y`` between tensors of one shape and
``x * 2``, ``x / 255``, ``1 - x`` keep their Keras layers (``Add``, ``Subtract``, ``Multiply``, ``Rescaling``):
see :mod:`nbtrain.layers.symbolic`.
"""

from __future__ import annotations

import numpy as np

from nbtrain.layers.layer import Layer
from nbtrain.utils.naming import unique_name

#: The operations a TensorOperator applies: nbtrain.ops names, with the number of tensors each takes.
OPERATIONS = {
    "add": 2, "subtract": 2, "multiply": 2, "divide": 2, "floor_divide": 2, "mod": 2, "power": 2, "matmul": 2,
    "less": 2, "less_equal": 2, "greater": 2, "greater_equal": 2, "not_equal": 2,
    "logical_and": 2, "logical_or": 2, "logical_xor": 2,
    "abs": 1, "logical_not": 1, "round": 1, "get_item": 1,
}
_LOGICAL = ("logical_and", "logical_or", "logical_xor", "logical_not")


class TensorOperator(Layer):
    """Applies one ``nbtrain.ops`` operation to its input tensor(s) and, for two-argument operations, to a
    constant: what ``inputs > 0.5``, ``a / b``, ``x[:, :2]`` or ``~mask`` add to a functional model.

    Args:
        operation: the ``nbtrain.ops`` function's name (``"greater"``, ``"divide"``, ``"get_item"``, ...).
        constant: the number or array on the other side of the operator, or None when both sides are tensors.
        constant_first: True when the constant is the left operand (``1 / x``, ``2 ** x``).
        index: for ``"get_item"``, the index, encoded by :func:`encode_index`.
        input_dtypes: the dtypes of the input tensors (``"bool"`` for a comparison's result), to infer the
            output's shape and dtype.

    Example:
        >>> from nbtrain import Input, Model
        >>> inputs = Input(shape=(3,))
        >>> mask = inputs > 0.5
        >>> type(mask.layer).__name__, mask.dtype
        ('TensorOperator', 'bool')
    """

    def __init__(self, operation, constant=None, constant_first=False, index=None, input_dtypes=None, **kwargs):
        if operation not in OPERATIONS:
            raise ValueError(f"TensorOperator does not apply {operation!r}; it applies {sorted(OPERATIONS)}.")
        kwargs["name"] = kwargs.get("name") or unique_name(operation)    # "greater", "divide_1", as Keras names ops
        super().__init__(**kwargs)
        self.operation = operation
        self.constant = None if constant is None else np.asarray(constant)
        self.constant_first = bool(constant_first)
        self.index = index
        self.input_dtypes = list(input_dtypes or [])

    def call(self, inputs):
        from nbtrain import ops

        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if self.operation == "get_item":
            return ops.get_item(tensors[0], decode_index(self.index))
        if self.constant is not None:
            constant = self.constant.astype(np.float32) if self.constant.dtype.kind == "f" else self.constant
            tensors = [constant] + tensors if self.constant_first else tensors + [constant]
        return getattr(ops, self.operation)(*tensors)

    def compute_output_shape(self, input_shape):
        return self.output_spec(input_shape)[0]

    def output_spec(self, input_shape) -> tuple[tuple, str]:
        """The output's shape (batch axis None) and dtype name, from one run on zeros of the inputs' dtypes."""
        several = bool(input_shape) and isinstance(input_shape[0], (list, tuple))
        shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
        dtypes = self.input_dtypes or ["float32"] * len(shapes)
        zeros = [np.zeros(tuple(2 if d is None else d for d in shape), dtype) for shape, dtype in zip(shapes, dtypes)]
        with np.errstate(all="ignore"):     # zeros: 1 / x is inf here, not in the data
            output = np.asarray(self.call(zeros if several else zeros[0]))
        batch = (None,) if shapes[0][:1] == (None,) else output.shape[:1]
        return batch + output.shape[1:], output.dtype.name

    def get_config(self):
        constant = None if self.constant is None else self.constant.tolist()
        return super().get_config() | {"operation": self.operation, "constant": constant,
                                       "constant_first": self.constant_first, "index": self.index,
                                       "input_dtypes": self.input_dtypes}


def apply_operator(operation, tensors, constant=None, constant_first=False, index=None):
    """``TensorOperator(...)(tensors)``: the output tensor, its dtype set (``bool`` for a comparison)."""
    if operation in _LOGICAL and any(t.dtype != "bool" for t in tensors):
        names = {"logical_and": "&", "logical_or": "|", "logical_xor": "^", "logical_not": "~"}
        raise TypeError(f"The operator {names[operation]} on symbolic tensors is logical: it takes boolean tensors "
                        f"(from comparisons such as inputs > 0.5), got dtype(s) {[t.dtype for t in tensors]}.")
    if constant is not None and not _is_constant(constant):
        raise TypeError(f"Symbolic tensors support {operation} with another symbolic tensor, a number or a NumPy "
                        f"array, got {type(constant).__name__}. Use a layer for anything else.")
    layer = TensorOperator(operation, constant=constant, constant_first=constant_first, index=index,
                           input_dtypes=[t.dtype for t in tensors])
    output = layer(tensors if len(tensors) > 1 else tensors[0])
    output.dtype = layer.output_spec([t.shape for t in tensors] if len(tensors) > 1 else tensors[0].shape)[1]
    return output


def _is_constant(value) -> bool:
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return True
    return isinstance(value, (np.ndarray, list, tuple)) and np.asarray(value).dtype.kind in "biuf"


# ----- indices as plain data (for saving) -----------------------------------------------------------------------

def encode_index(key):
    """``x[key]``'s key as plain data: ints, slices, None (a new axis) and ``...``, alone or in a tuple.

    The batch axis cannot be indexed (``x[0]``): a model computes the same for every sample.
    """
    parts = key if isinstance(key, tuple) else (key,)
    encoded = [_encode_part(part) for part in parts]
    first = next((p for p in encoded if p != ["newaxis"]), None)
    if first is not None and first not in (["ellipsis"], ["slice", None, None, None]):
        raise TypeError(f"Indexing a symbolic tensor with {key!r} would select along the batch axis; index the "
                        f"other axes, e.g. x[:, 0] or x[..., :2].")
    return encoded if isinstance(key, tuple) else encoded[0]


def _encode_part(part):
    if part is None:
        return ["newaxis"]
    if part is Ellipsis:
        return ["ellipsis"]
    if isinstance(part, slice):
        values = [part.start, part.stop, part.step]
        if all(v is None or isinstance(v, (int, np.integer)) for v in values):
            return ["slice"] + [None if v is None else int(v) for v in values]
    elif isinstance(part, (int, np.integer)) and not isinstance(part, bool):
        return ["int", int(part)]
    raise TypeError(f"A symbolic tensor takes indices made of integers, slices, None and ..., got {part!r}. For "
                    f"other selections use a layer (layers.Lambda with nbtrain.ops.take, say).")


def decode_index(encoded):
    """The key :func:`encode_index` encoded."""
    if encoded and isinstance(encoded[0], list):
        return tuple(_decode_part(part) for part in encoded)
    return _decode_part(encoded)


def _decode_part(part):
    kind = part[0]
    if kind == "newaxis":
        return None
    if kind == "ellipsis":
        return Ellipsis
    if kind == "slice":
        return slice(*part[1:])
    return part[1]
