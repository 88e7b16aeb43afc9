"""Models written the Keras way: a ``Model`` subclass that creates its layers in ``__init__`` and says in
``call()`` how they connect.

nbtrain builds such a model the first time it sees data (or in ``build(input_shape)``): it calls ``call()``
once on symbolic inputs of that shape, and the layer calls it records become the model's graph, trained,
evaluated and saved exactly as a functional model's (:class:`~nbtrain.models.functional.Functional`).
``call()`` is traced in training mode, so a layer it applies only when training (``if training:``) is in the
graph, and is then run with the right mode on every batch, as every layer is.

Python code in ``call()`` runs once, while tracing: build the computation from layers (``layers.Concatenate``,
``layers.Lambda`` around ``nbtrain.ops``, layers of your own), not from NumPy on the tensors.
"""

from __future__ import annotations

import inspect

from nbtrain.layers.input_layer import Input
from nbtrain.models.functional import Functional
from nbtrain.models.model import use_traced_class_maker


class TracedModel(Functional):
    """What a ``Model`` subclass with ``call()`` becomes (see the module docstring); not used directly."""

    _traced = True
    # Saved as the graph it traced: load_model gives a functional model that computes the same; to get your
    # class back, create it, build it and load_weights().
    saved_class_name = "Functional"
    saved_module = "nbtrain.models.functional"

    def __init__(self, *args, name=None, trainable=True, **kwargs):
        Functional.__bases__[0].__init__(self, name=name, trainable=trainable)     # Model.__init__: no graph yet

    # ----- the graph, made on first use -----------------------------------------------------------------

    def build(self, input_shape=None) -> None:
        """Trace ``call()`` for inputs of ``input_shape`` (batch axis first), as Keras's ``build``."""
        if self.built:
            return
        if input_shape is None:
            raise ValueError(f"build() needs the input shape, e.g. model.build((None, 784)), for model "
                             f"'{self.name}'; or call the model on data, or fit it, which builds it.")
        several = bool(input_shape) and isinstance(input_shape[0], (list, tuple))
        shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
        inputs = [Input(batch_shape=(None,) + shape[1:]) for shape in shapes]
        self._trace(inputs if several else inputs[0])

    def _trace(self, inputs) -> None:
        keywords = {"training": True} if "training" in inspect.signature(self.call).parameters else {}
        try:
            outputs = self.call(inputs, **keywords)
        except Exception as error:
            raise type(error)(
                f"nbtrain builds model '{self.name}' by running its call() once on symbolic inputs, and that "
                f"failed: {error}. In call(), apply layers to the inputs (layers.Concatenate, layers.Lambda around "
                f"nbtrain.ops, or a layer of your own); NumPy and nbtrain.ops cannot work on the symbolic "
                f"tensors directly.") from error
        self._set_graph(inputs, outputs)
        self.built = True
        self._on_trainable_changed()
        if getattr(self, "_trainable_at_compile", None) is not None:    # compiled before its layers were known
            self._trainable_at_compile = self._trainable_state()
            self._variable_refs = None

    def _check_inputs(self, xs) -> None:
        if not self.built:
            self.build([(None,) + x.shape[1:] for x in xs] if len(xs) > 1 else (None,) + xs[0].shape[1:])
        super()._check_inputs(xs)

    def call_symbolically(self, x):
        if not self.built:
            tensors = list(x) if isinstance(x, (list, tuple)) else [x]
            self.build([t.shape for t in tensors] if len(tensors) > 1 else tensors[0].shape)
        return super().call_symbolically(x)

    # ----- before the graph exists ----------------------------------------------------------------------

    @property
    def input_names(self):
        return super().input_names if self.built else None

    @property
    def output_names(self):
        if not self.built:
            return ["output"]
        return super().output_names

    def summary(self, *args, **kwargs):
        if not self.built:
            raise ValueError(f"Model '{self.name}' is built from its call() when it first sees data: call "
                             f"model.build(input_shape), or fit or call it on data, before summary().")
        return super().summary(*args, **kwargs)

    def _on_trainable_changed(self) -> None:
        if self.built:
            super()._on_trainable_changed()


_TRACED_CLASSES: dict[type, type] = {}


def traced_class(cls: type) -> type:
    """The class an instance of the user's ``cls`` really has: ``cls`` first (its ``__init__``, ``call``,
    ``get_config``), then :class:`TracedModel` (building, training and saving)."""
    if cls not in _TRACED_CLASSES:
        _TRACED_CLASSES[cls] = type(cls.__name__, (cls, TracedModel), {"__module__": cls.__module__,
                                                                      "__qualname__": cls.__qualname__})
    return _TRACED_CLASSES[cls]


use_traced_class_maker(traced_class)
