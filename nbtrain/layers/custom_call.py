"""Layers written the Keras way: ``build`` makes weights with ``add_weight``, ``call`` computes with
``nbtrain.ops``, and the gradients come from recording ``call`` (no backward pass to write).

``Layer`` hands such a layer's work to this module: :func:`apply_call` runs ``call`` under a
:class:`~nbtrain.ops.GradientTape` and returns the output with the backprop function every layer returns;
:class:`LayerVariable` is what ``add_weight`` gives back, a :class:`~nbtrain.ops.Variable` that reads the
layer's own weight array, so optimizers updating that array in place are seen by ``call``; and
:func:`inferred_output_shape` runs ``call`` once on zeros when the layer does not say its output shape.

The tape is imported only when a layer of this kind runs, so built-in layers and ``import nbtrain`` never
load it.
"""

from __future__ import annotations

import inspect
from functools import cache

import numpy as np


def layer_variable(layer, name: str):
    """The Variable for ``layer``'s weight ``name``, made once and kept on the layer."""
    variables = layer.__dict__.setdefault("_variable_objects", {})
    if name not in variables:
        variables[name] = _variable_class()(layer, name)
    return variables[name]


@cache
def _variable_class():
    from nbtrain.ops.autodiff import Variable

    class LayerVariable(Variable):
        """A layer weight seen as a Variable: its value is always the array the layer holds now (the optimizer
        updates it in place; ``set_weights`` copies into it; the float64 gradient checks replace it)."""

        __slots__ = ("layer", "key")

        def __new__(cls, layer, key):
            variable = object.__new__(cls)
            variable.layer, variable.key = layer, key
            variable.trainable, variable.name = key in layer._trainable_weight_names, key
            return variable

        def __init__(self, layer, key):
            pass    # everything is set in __new__; Variable.__init__ would copy the array

        @property
        def value(self):
            return self.layer._weights[self.key]

        @value.setter
        def value(self, new_value):
            self.layer._weights[self.key][...] = new_value

        @property
        def path(self) -> str:
            return f"{self.layer.name}/{self.key}"

    return LayerVariable


def apply_call(layer, x, training, need_input_grad, mask=None):
    """Run ``layer.call`` while recording it; return ``(output, backprop)`` as every layer's ``_apply`` does.

    ``backprop(dL/dy)`` fills ``layer.grads`` for its trainable weights (zeros for one ``call`` did not use)
    and returns dL/dx (None when not needed, or for integer inputs, which have no gradient).
    """
    from nbtrain.ops.autodiff import GradientTape, Tensor

    several = isinstance(x, (list, tuple))
    arrays = list(x) if several else [x]
    tape = GradientTape()
    with tape:
        inputs = [tape.watch(a) if np.asarray(a).dtype.kind == "f" else a for a in arrays]
        output = layer.call(inputs if several else inputs[0], **call_keywords(layer, training, mask))
    if isinstance(output, (list, tuple)):
        raise TypeError(f"Layer '{layer.name}' ({type(layer).__name__}): nbtrain's layers of your own return one "
                        f"tensor from call(); return the outputs from separate layers, or concatenate them.")
    value = np.asarray(output.value if isinstance(output, Tensor) else output)
    trainable = list(layer.params) if layer.trainable else []
    variables = [layer_variable(layer, name) for name in trainable]

    def backprop(grad_output):
        sources = [t for t in inputs if isinstance(t, Tensor)] if need_input_grad else []
        grads = tape.gradient(output, sources + variables, output_gradients=grad_output) \
            if isinstance(output, Tensor) else [None] * (len(sources) + len(variables))
        for name, grad in zip(trainable, grads[len(sources):]):
            weight = layer._weights[name]
            layer.grads[name] = np.zeros_like(weight) if grad is None else np.asarray(grad, weight.dtype)
        if not need_input_grad:
            return None
        by_input = iter(grads[:len(sources)])
        input_grads = [_zeros_if_none(next(by_input), a) if isinstance(t, Tensor) else None
                       for t, a in zip(inputs, arrays)]
        return input_grads if several else input_grads[0]

    return value, backprop


def _zeros_if_none(grad, like):
    return np.zeros(np.shape(like), np.asarray(like).dtype) if grad is None else np.asarray(grad)


def call_keywords(layer, training, mask) -> dict:
    """``training`` and ``mask`` for the layer's ``call``, when its signature takes them (as Keras passes them)."""
    parameters = _call_parameters(type(layer))
    keywords = {}
    if "training" in parameters:
        keywords["training"] = bool(training)
    if "mask" in parameters and mask is not None:
        keywords["mask"] = mask
    return keywords


@cache
def _call_parameters(layer_class) -> frozenset:
    return frozenset(inspect.signature(layer_class.call).parameters)


def inferred_output_shape(layer, input_shape):
    """The output shape of ``call`` for inputs of ``input_shape``: run it once on zeros (Keras traces it
    symbolically; a batch of 2 stands for the unknown batch size and is given back as None)."""
    several = bool(input_shape) and isinstance(input_shape[0], (list, tuple))
    shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
    zeros = [np.zeros(tuple(2 if d is None else d for d in shape), np.float32) for shape in shapes]
    output = np.asarray(_plain(layer.call(zeros if several else zeros[0], **call_keywords(layer, False, None))))
    batch_unknown = shapes[0][:1] == (None,)
    return ((None,) if batch_unknown else output.shape[:1]) + tuple(output.shape[1:])


def _plain(value):
    return getattr(value, "value", value)


def uses_call(layer_class) -> bool:
    """A layer written the Keras way: it defines ``call`` and none of nbtrain's own ways to compute."""
    return "call" in layer_class.__dict__ and not any(
        name in layer_class.__dict__ for name in ("_apply", "forward", "backward"))
