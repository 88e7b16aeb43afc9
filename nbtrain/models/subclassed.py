"""Models written the Keras way: a ``Model`` subclass that creates its layers in ``__init__`` and says in
``call()`` how they connect.

nbtrain builds such a model the first time it sees data (or in ``build(input_shape)``): it calls ``call()``
once on symbolic inputs of that shape, and the layer calls it records become the model's graph, trained,
evaluated and saved exactly as a functional model's (:class:`~nbtrain.models.functional.Functional`).
``call()`` is traced in training mode, so a layer it applies only when training (``if training:``) is in the
graph, and is then run with the right mode on every batch, as every layer is. When ``call()`` takes
``training``, it is traced a second time with ``training=False``; if Python code in it connects the layers
differently in that mode, evaluate and predict run that second graph (the layers and weights are the same).

Inputs may be one array, a list of arrays (``call`` gets a list) or a dict of arrays (``call`` gets a dict
with the same keys, ``inputs["text"]``, and each key names an input).

A ``call()`` that cannot become a graph of layers (it computes with ``nbtrain.ops`` on the tensors, uses a
layer returning several tensors, or calls ``self.add_loss``, as the guide's variational autoencoder does) runs
instead as one layer of your own (:class:`_ModelCall`): on every batch, in the batch's mode, recorded by the
tape, the weights of the layers it calls listed as that layer's. Such a model trains, evaluates, predicts and
saves its weights; ``model.save()`` refuses it, since no graph describes it.
"""

from __future__ import annotations

import inspect

import numpy as np

from nbtrain.layers.input_layer import Input
from nbtrain.layers.layer import Layer
from nbtrain.models.functional import Functional, _as_tensor_list, _topological_nodes
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
        if isinstance(input_shape, dict):
            self._trace({key: Input(batch_shape=(None,) + tuple(shape)[1:], name=key)
                         for key, shape in input_shape.items()})
            return
        several = bool(input_shape) and isinstance(input_shape[0], (list, tuple))
        shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
        inputs = [Input(batch_shape=(None,) + shape[1:]) for shape in shapes]
        self._trace(inputs if several else inputs[0])

    def build_from_data(self, x) -> None:
        """Build from the first data seen when they are a dict (``fit(x={"text": ..., "numbers": ...})``): the
        keys name the inputs, and ``call`` receives a dict of them."""
        if not self.built and isinstance(x, dict):
            self.build({key: (None,) + np.shape(value)[1:] for key, value in x.items()})

    def _trace(self, inputs) -> None:
        takes_training = "training" in inspect.signature(self.call).parameters
        self._graphs = None
        try:
            outputs = self.call(inputs, **({"training": True} if takes_training else {}))
            # Python code may connect the layers differently in inference: trace that mode too
            inference_outputs = self.call(inputs, training=False) if takes_training else None
        except Exception as error:      # not a graph of layers: run call() as one layer, on every batch
            self._run_call_as_one_layer(inputs, error)
        else:
            self._set_graph(inputs, outputs)
            if takes_training:
                self._trace_inference(inference_outputs)
        self.built = True
        self._on_trainable_changed()
        if getattr(self, "_trainable_at_compile", None) is not None:    # compiled before its layers were known
            self._trainable_at_compile = self._trainable_state()
            self._variable_refs = None

    def _run_call_as_one_layer(self, inputs, trace_error) -> None:
        keys = list(inputs) if isinstance(inputs, dict) else None
        tensors = list(inputs.values()) if keys else inputs
        try:
            outputs = _ModelCall(self, keys)(tensors)
        except Exception as error:
            raise type(error)(f"{error} (nbtrain could not trace model '{self.name}''s call() into a graph of layers "
                              f"either: {trace_error})") from error
        self._set_graph(inputs, outputs)
        self._call_as_one_layer = True

    def save(self, filepath, *args, **kwargs):
        if getattr(self, "_call_as_one_layer", False):
            raise NotImplementedError(_NOT_SAVED.format(name=self.name))
        return super().save(filepath, *args, **kwargs)

    def add_loss(self, loss) -> None:
        """``self.add_loss(...)`` in ``call()``: an extra loss, as a layer's (the model then runs ``call()`` as
        one layer, see the module docstring)."""
        from nbtrain.layers import custom_call

        if custom_call.current_context() is None:
            raise NotImplementedError(f"Model '{self.name}': add_loss() works inside call(), as in Keras; call it "
                                      f"there with a value computed with nbtrain.ops.")
        custom_call.add_loss(self, loss)

    # ----- one graph per mode, when call() connects the layers differently --------------------------------

    _GRAPH_ATTRIBUTES = ("outputs", "_output_keys", "_nodes", "_consumers", "_node_index", "_pool_candidates")

    def _trace_inference(self, outputs) -> None:
        """Keep the graph ``call(training=False)`` traced when it differs from the training one."""
        tensors, keys = _as_tensor_list(outputs, "outputs")
        nodes = _topological_nodes(tensors, self.inputs)
        if _wiring(nodes, tensors, self.inputs) == _wiring(self._nodes, self.outputs, self.inputs):
            return
        training_graph = {name: getattr(self, name) for name in self._GRAPH_ATTRIBUTES}
        self.outputs, self._output_keys, self._nodes = tensors, keys, nodes
        self._consumers = self._count_consumers()
        self._node_index = {id(node): index for index, node in enumerate(nodes)}
        self._pool_candidates = self._find_pool_candidates()
        inference_graph = {name: getattr(self, name) for name in self._GRAPH_ATTRIBUTES}
        known = {id(layer) for layer in self.layers}
        for node in nodes:      # the model's layers: those of both graphs
            if id(node.layer) not in known:
                known.add(id(node.layer))
                self.layers.append(node.layer)
        self._graphs = {True: training_graph, False: inference_graph}
        self._use_graph(True)

    def _use_graph(self, training: bool) -> None:
        graph = self._graphs[bool(training)]
        if self._nodes is not graph["_nodes"]:
            for name, value in graph.items():
                setattr(self, name, value)
            self._decide_input_gradients()

    def _forward(self, xs, training=False):
        if getattr(self, "_graphs", None):
            self._use_graph(training)
        return super()._forward(xs, training)

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


class _ModelCall(Layer):
    """A subclassed model's ``call()`` run as one layer of your own: each batch runs it under the tape, in the
    batch's mode, and the layers it calls are this layer's sublayers (their weights listed as its own, under
    their attribute names: ``encoder/dense_proj/kernel``). Made by :class:`TracedModel`; not saved."""

    def __init__(self, model, keys=None):
        super().__init__(name=f"{model.name}_call")
        self._model, self._keys = model, keys
        self._takes_training = "training" in inspect.signature(model.call).parameters

    def call(self, inputs, training=None):
        if self._keys is not None:
            inputs = dict(zip(self._keys, inputs if isinstance(inputs, list) else [inputs]))
        return self._model.call(inputs, **({"training": training} if self._takes_training else {}))

    def _attribute_source(self):
        """Where this layer's sublayers are found: the model's attributes (its layers are made in __init__)."""
        return self._model

    def get_config(self):
        raise NotImplementedError(_NOT_SAVED.format(name=self._model.name))


_NOT_SAVED = ("Model '{name}' runs its call() as a whole (it computes with nbtrain.ops on the tensors, or adds "
              "losses), so no graph of layers describes it and model.save() cannot write it. Save its weights "
              "instead: model.save_weights('model.weights.h5'), then load_weights() into a new instance built on "
              "data of the same shape.")


def _wiring(nodes, outputs, inputs) -> list:
    """How a graph connects its layers: per call, the layer and where each input comes from; then the outputs."""
    where = {id(tensor): ("input", index) for index, tensor in enumerate(inputs)}
    wiring = []
    for position, node in enumerate(nodes):
        wiring.append((id(node.layer), node.list_input, tuple(where.get(id(t)) for t in node.inputs)))
        for index, tensor in enumerate(node.outputs):
            where[id(tensor)] = (position, index)
    return wiring + [tuple(where.get(id(t)) for t in outputs)]


_TRACED_CLASSES: dict[type, type] = {}


def traced_class(cls: type) -> type:
    """The class an instance of the user's ``cls`` really has: ``cls`` first (its ``__init__``, ``call``,
    ``get_config``), then :class:`TracedModel` (building, training and saving)."""
    if cls not in _TRACED_CLASSES:
        _TRACED_CLASSES[cls] = type(cls.__name__, (cls, TracedModel), {"__module__": cls.__module__,
                                                                      "__qualname__": cls.__qualname__})
    return _TRACED_CLASSES[cls]


use_traced_class_maker(traced_class)
