"""``Input``: the symbolic start of a model, and the ``InputLayer`` that a Sequential model keeps for it.

The symbolic tensors themselves, and the record of each layer call, are in :mod:`nbtrain.layers.symbolic`.
"""

from __future__ import annotations

from nbtrain.layers.layer import Layer, normalize_shape
from nbtrain.layers.symbolic import Node, SymbolicTensor


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
        shape = shape if shape is not None else input_shape
        if batch_shape is not None and shape is not None:
            raise ValueError(f"Input() got both shape={shape!r} and batch_shape={batch_shape!r}: pass one, shape for "
                             f"one sample (e.g. shape=(784,)) or batch_shape with the batch size first.")
        if batch_shape is not None and batch_size is not None:
            raise ValueError(f"Input() got both batch_size={batch_size!r} and batch_shape={batch_shape!r}: the batch "
                             f"size is the first entry of batch_shape; pass one of them.")
        if batch_shape is not None:
            full = normalize_shape(batch_shape, "batch_shape")
        else:
            if shape is None:
                raise ValueError("Input() needs the shape of one sample, for example Input(shape=(784,)).")
            full = (batch_size,) + normalize_shape(shape, "shape")
        self.dtype = dtype or "float32"
        self.build(full)
        tensor = SymbolicTensor(full, self, self.dtype)
        tensor.node = Node(self, [], [tensor])
        self._inbound_nodes = [tensor.node]     # layer.output (and, for an input, layer.input) is this tensor

    @property
    def input(self):
        return self.output

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

