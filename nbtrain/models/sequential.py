"""``Sequential``: a plain stack of layers, each feeding the next."""

from __future__ import annotations

import numpy as np

from nbtrain.layers.input_layer import InputLayer
from nbtrain.layers.layer import Layer
from nbtrain.layers.symbolic import SymbolicTensor
from nbtrain.models.model import Model
from nbtrain.models.model_classes import MODELS
from nbtrain.utils.naming import shape_text
from nbtrain.layers.custom_call import added_loss_total
from nbtrain.regularizers import activity_penalty_gradient


@MODELS.register()
class Sequential(Model):
    """A model made of layers applied one after the other.

    Give the input shape with ``Input(shape=...)`` as the first entry or ``input_shape=`` on the first
    layer and the model is built at once; otherwise it is built from the first data it sees.

    Args:
        layers: list of layers (an ``Input(...)`` may come first).
        name: model name.
        trainable: whether fit updates any weights.

    Example:
        >>> from nbtrain.layers import Dense
        >>> model = Sequential([Dense(16, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")])
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._input_layer = None
        self._first_trainable_index = 0
        self._input_gradient_needs = None   # per layer, decided by _on_trainable_changed
        self._backprops = []                # per layer, from the last forward pass
        self._activity_outputs = {}
        if layers is not None:
            if not isinstance(layers, (list, tuple)):
                raise TypeError(f"Sequential() expects a list of layers, got {type(layers).__name__}. "
                                f"Write Sequential([layer1, layer2]).")
            for layer in layers:
                self.add(layer)

    # ----- construction ---------------------------------------------------------------------------------

    def add(self, layer) -> None:
        """Append a layer (or, first, an ``Input``) to the stack.

        Example:
            >>> from nbtrain.layers import Dense
            >>> model = Sequential()
            >>> model.add(Dense(8, input_shape=(4,)))
        """
        if isinstance(layer, SymbolicTensor):
            layer = layer.layer
        if isinstance(layer, Model):
            self._add_layers_of(layer)
            return
        if not isinstance(layer, Layer):
            hint = " Did you mean to call the layer class, e.g. Dense(10)?" if isinstance(layer, type) else ""
            raise TypeError(f"Sequential.add() expects a layer, got {layer!r}.{hint}")
        if isinstance(layer, InputLayer):
            if self.layers or self._input_layer is not None:
                raise ValueError("An Input can only be the first entry of a Sequential model.")
            self._input_layer = layer
            self._build_from(layer.input_shape)
            return
        if any(existing is layer for existing in self.layers):
            raise ValueError(f"Layer '{layer.name}' is already in this model; create a new layer to repeat it.")
        self.layers.append(layer)
        self.compiled_outputs_changed()
        if not self.layers[:-1] and self._input_layer is None and layer.declared_input_shape is not None:
            self._build_from(layer.declared_input_shape)
        elif self.built:
            self._build_from(self.input_shape)

    def _add_layers_of(self, model: Model) -> None:
        """``Sequential([encoder, decoder])``: where Keras nests a model as one layer, nbtrain adds a Sequential
        model's layers one by one. They are the same layer objects, so they share their weights with ``model``
        (train one, the other changes too); only ``layers`` and ``summary()`` list them individually."""
        if not isinstance(model, Sequential):
            raise TypeError(
                f"Sequential.add() got the functional model '{model.name}'. nbtrain can put a Sequential model "
                f"inside another, but not a functional one: build a single functional model instead, calling "
                f"its layers on the new tensors (x = layer(x)).")
        if model is self:
            raise ValueError(f"Model '{self.name}' cannot be added to itself.")
        was_empty = not self.layers and self._input_layer is None
        if was_empty and model._input_layer is not None:
            self.add(model._input_layer)
        for layer in model.layers:
            self.add(layer)
        if was_empty and model.built and not self.built:
            self._build_from(model.input_shape)

    def call_symbolically(self, x):
        """``model(symbolic_tensor)`` in a functional model: the layers are applied in turn (and so shared)."""
        for layer in self.layers:
            x = layer(x)
        return x

    def compiled_outputs_changed(self) -> None:
        # A new last layer changes the output: drop what was derived from the old one.
        self._fusable = None
        self._input_gradient_needs = None

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self.layers:
            raise IndexError("pop() on a Sequential model without layers.")
        layer = self.layers.pop()
        self.compiled_outputs_changed()
        return layer

    # ----- building -------------------------------------------------------------------------------------

    def build(self, input_shape=None) -> None:
        """Create every layer's weights for inputs of ``input_shape`` (batch axis first, e.g. ``(None, 784)``)."""
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError("build() needs an input shape, e.g. model.build((None, 784)).")
            input_shape = self._input_layer.input_shape
        self._build_from(tuple(input_shape))

    def _build_from(self, input_shape) -> None:
        shape = tuple(input_shape)
        self.input_shape = shape
        for layer in self.layers:
            layer.ensure_built(shape)
            shape = layer.compute_output_shape(shape)
        self.output_shape = shape
        self.built = bool(self.layers) or self._input_layer is not None

    @property
    def output_names(self) -> list[str]:
        return [self.layers[-1].name if self.layers else "output"]

    @property
    def output_layers(self) -> list[Layer]:
        return [self.layers[-1]] if self.layers else []

    @property
    def output_shapes(self) -> list[tuple]:
        return [self.output_shape]

    @property
    def inputs(self):
        return None if self._input_layer is None else [self._input_layer.output]

    # ----- computation ----------------------------------------------------------------------------------

    def _check_inputs(self, xs) -> None:
        if len(xs) != 1:
            raise ValueError(f"A Sequential model takes one input array, got a list of {len(xs)} arrays.")
        if not self.layers:
            raise ValueError("This Sequential model has no layers yet: add some with model.add(...).")
        x = xs[0]
        if not self.built:
            self._build_from((None,) + x.shape[1:])
            return
        expected = self.input_shape
        if x.ndim != len(expected) or any(e is not None and e != a for e, a in zip(expected[1:], x.shape[1:])):
            first = self.layers[0]
            hint = first.input_mismatch_hint(x.shape) if hasattr(first, "input_mismatch_hint") else \
                f"Reshape the data to {expected[1:]} per sample."
            raise ValueError(
                f"Model '{self.name}' expects inputs of shape {shape_text(expected)} but got an array of shape "
                f"{x.shape}. {hint}"
            )

    def _forward(self, xs, training=False) -> list[np.ndarray]:
        x, mask = xs[0], None
        self._activity_outputs = {}
        self._added_loss = 0.0     # what layers' call() added with add_loss, this pass
        if self._input_gradient_needs is None:
            self._on_trainable_changed()
        self._backprops = backprops = []
        layers = self.layers
        steps = enumerate(zip(layers, self._input_gradient_needs))
        for index, (layer, need_input_grad) in steps:
            inputs = x
            if mask is None and self._pools_next(index):
                x, backprop, pool_backprop = layer.apply_pooled(layers[index + 1], inputs, training, need_input_grad)
                backprops += [backprop, pool_backprop]
                next(steps)          # the pool ran with this layer (see _pools_next)
                pool = layers[index + 1]
                if pool.activity_regularizer is not None:
                    self._activity_outputs[id(pool)] = (pool.activity_regularizer, x)
                continue
            if mask is not None and layer.accepts_mask:
                x, backprop = layer._apply(inputs, training, need_input_grad, mask=mask)
            else:
                x, backprop = layer._apply(inputs, training, need_input_grad)
            backprops.append(backprop)
            self._added_loss += added_loss_total(backprop)
            mask = layer.compute_mask(inputs, mask)
            if layer.activity_regularizer is not None:
                self._activity_outputs[id(layer)] = (layer.activity_regularizer, x)
        self._last_output_mask = mask
        return [x]

    def _pools_next(self, index: int) -> bool:
        """Whether layer ``index`` runs the max pool after it on its pre-activation (a Conv with relu or no
        activation: exact, and the activation then works on the pooled array; see Conv2D.apply_pooled)."""
        layers = self.layers
        if index + 1 >= len(layers) or not hasattr(layers[index], "pools_before_activation"):
            return False
        return layers[index].pools_before_activation(layers[index + 1])

    def _output_masks(self) -> list:
        return [getattr(self, "_last_output_mask", None)]

    def _backward(self, output_gradients) -> None:
        grad, is_logits_gradient = output_gradients[0]
        last, backprops = self.layers[-1], self._backprops
        start = len(self.layers) - 1
        if grad is None:    # no loss on the output (compile() without one): only the losses layers added
            start = self._last_layer_adding_losses()
            if start is None:
                return
            for layer in self.layers[start + 1:]:
                for name in layer.params:
                    layer.grad_buffer(name).fill(0)
            grad = backprops[start](None)
        elif is_logits_gradient:
            grad = backprops[-1].from_preactivation(grad)
        else:
            grad = backprops[-1](self._with_activity_gradient(last, grad))
        # Layers before the first trainable one need no gradient at all.
        for index in range(start - 1, self._first_trainable_index - 1, -1):
            if grad is None:
                return
            grad = backprops[index](self._with_activity_gradient(self.layers[index], grad))

    def _last_layer_adding_losses(self):
        """The index of the last layer whose call added a loss with ``add_loss`` in the last pass, or None."""
        for index in range(len(self._backprops) - 1, -1, -1):
            if getattr(self._backprops[index], "added_losses", None):
                return index
        return None

    def _with_activity_gradient(self, layer, grad):
        """Add d(activity penalty)/d(output) for layers with an ``activity_regularizer``."""
        entry = self._activity_outputs.get(id(layer))
        if entry is None:
            return grad
        regularizer, output = entry
        return grad + activity_penalty_gradient(regularizer, output)

    def _on_trainable_changed(self) -> None:
        trainable = [i for i, layer in enumerate(self.layers) if layer.params]
        self._first_trainable_index = trainable[0] if trainable else len(self.layers)
        # The first trainable layer's input gradient flows into nothing trainable: skip that matmul.
        self._input_gradient_needs = [index > self._first_trainable_index for index in range(len(self.layers))]

    # ----- configuration --------------------------------------------------------------------------------

    def get_config(self) -> dict:
        """Architecture as plain data: the layers' configs in order and the input shape it was built for."""
        layers = [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self.layers]
        if self._input_layer is not None:
            layers.insert(0, {"class_name": "InputLayer", "config": self._input_layer.get_config()})
        return {"name": self.name, "layers": layers,
                "build_input_shape": list(self.input_shape) if self.built else None}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """Rebuild (and build, if the original was built) a Sequential model from :meth:`get_config`."""
        from nbtrain.layers import serialization

        layers = [serialization.deserialize(entry, custom_objects=custom_objects) for entry in config["layers"]]
        model = cls(layers, name=config.get("name"))
        shape = config.get("build_input_shape")
        if shape is not None and not model.built:
            model.build(tuple(shape))
        return model
