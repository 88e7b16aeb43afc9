"""``Model``: the base every model shares (weights, calling on data); training comes from ``Trainer``."""

from __future__ import annotations

import numpy as np

from nbtrain.layers.layer import VariableNames
from nbtrain.layers.symbolic import is_symbolic
from nbtrain.models import saving
from nbtrain.models.model_classes import MODELS
from nbtrain.models.summary import print_summary
from nbtrain.models.training import Trainer
from nbtrain.utils.errors import did_you_mean
from nbtrain.utils.naming import to_snake_case, unique_name


# The maker of a traced subclass's class, set by nbtrain.models.subclassed (see Model.__new__).
_TRACED_CLASS_MAKER: list = [None]


def use_traced_class_maker(maker) -> None:
    """Set the function that turns a ``Model`` subclass with ``call()`` into the class its instances have."""
    _TRACED_CLASS_MAKER[0] = maker


@MODELS.register()
class Model(Trainer, VariableNames):
    """Base class of nbtrain models; use :class:`nbtrain.models.Sequential` to build one.

    A model is a stack of layers with ``compile``, ``fit``, ``evaluate`` and ``predict``.
    Subclasses provide ``_forward(inputs, training)``, ``_backward(output_gradients)``, ``output_names``,
    ``output_layers`` and ``build(input_shape)``; training is shared, so every kind of model trains alike.
    """

    def __new__(cls, *args, **kwargs):
        # Model(inputs, outputs) builds a functional model, as in Keras.
        if cls is Model and (args or kwargs):
            from nbtrain.models.functional import Functional

            return super().__new__(Functional)
        # A subclass written with call() is built by tracing it: nbtrain.models.subclassed, which imports the
        # functional model, hands its class maker over when nbtrain.models loads (as the layers' arithmetic).
        if "call" in cls.__dict__ and not getattr(cls, "_traced", False):
            return super().__new__(_TRACED_CLASS_MAKER[0](cls))
        return super().__new__(cls)

    def __init__(self, name=None, trainable=True):
        super().__init__()
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.built = False
        self.layers = []
        self._trainable = bool(trainable)

    # ----- what the training loop reads and the kinds of model refine ---------------------------------

    @property
    def stop_reason(self) -> str | None:
        """How the last fit ended (``model.fit_outcome.reason``): completed, stopped, interrupted or error."""
        return self.fit_outcome.reason

    @property
    def interrupted_at(self) -> tuple[int, int] | None:
        """``(epoch index, batches done in it)`` where the last fit was interrupted (``model.fit_outcome``).

        The epoch index counts from 0 as ``History.epoch`` and callbacks do (Keras's convention), so that
        ``fit(..., initial_epoch=epoch)`` reruns it; the batch count is also the 1-based number of the last
        batch. Messages and the record say it as people count: ``(3, 18)`` is "epoch 4, batch 18".
        """
        return self.fit_outcome.interrupted_at

    def _trainable_state(self):
        # with the layers that layers of your own call (freezing one of them changes what trains)
        inner = tuple(sub.trainable for layer in self.layers for sub in layer._sublayers())
        return tuple(layer.trainable for layer in self.layers) + inner + (self.trainable,)

    @property
    def losses(self) -> list[float]:
        """Weight penalties of every layer (Keras's ``model.losses``)."""
        return [value for layer in self.layers for value in layer.losses]

    def add_loss(self, loss) -> None:
        """Refused, as in Keras 3 (``Model.add_loss`` raises NotImplementedError there too)."""
        raise NotImplementedError(
            f"Model '{self.name}': model.add_loss() is not supported (Keras 3 removed it as well). Add the extra "
            f"loss from a layer: a layer of your own whose call() computes it with nbtrain.ops and calls "
            f"self.add_loss(value), placed in the model where its inputs are.")

    def _on_trainable_changed(self) -> None:
        """Hook for models to skip input gradients nobody needs."""

    def _output_masks(self) -> list:
        """The padding mask of each output from the last forward pass (None where there is none)."""
        return [None] * len(self.output_names)

    @property
    def input_names(self):
        """Names of the inputs, for data given as a dict; None where inputs have no names (Sequential)."""
        return None

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freezing a model freezes every layer in it, as in Keras."""
        self._trainable = bool(value)
        for layer in self.layers:
            layer.trainable = value

    # ----- weights -------------------------------------------------------------------------------------

    @property
    def weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight, layer by layer in Keras order (kernel, then bias), as ``keras.Model``."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights) -> None:
        """Load a list from :meth:`get_weights` (or from Keras ``model.get_weights()``), copying in place."""
        self._check_not_busy("set_weights")
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(
                f"Model '{self.name}' has {expected} weight arrays but set_weights() received {len(weights)}. "
                f"Pass the list from get_weights() of a model with the same layers."
                + ("" if self.built else " The model is not built yet: call build() or fit() first.")
            )
        position = 0
        for layer in self.layers:
            count = len(layer.weights)
            layer.set_weights(weights[position:position + count])
            position += count

    def reset_states(self) -> None:
        """Zero the carried states of every ``stateful=True`` recurrent layer (between independent sequences)."""
        for layer in self.layers:
            if getattr(layer, "stateful", False) and getattr(layer, "states", None) is not None:
                layer.reset_state()

    reset_state = reset_states     # the name Keras 3's documentation uses

    def get_layer(self, name=None, index=None):
        """The layer called ``name``, or at position ``index`` in :attr:`layers`.

        Example:
            >>> import nbtrain
            >>> model = nbtrain.Sequential([nbtrain.Input((4,)), nbtrain.layers.Dense(8, name="hidden")])
            >>> model.get_layer("hidden")
            <Dense name='hidden', units=8, activation='linear'>
        """
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        names = [layer.name for layer in self.layers]
        raise ValueError(f"No layer named '{name}' in model '{self.name}'.{did_you_mean(name, names)} "
                         f"Layers: {names}.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None) -> None:
        """Print a table of the layers, their output shapes and parameter counts, as Keras does.

        Args:
            line_length: total width (default 88, or 108 for branching functional models).
            positions: column boundaries as fractions of the width, or absolute positions.
            print_fn: function to receive the text instead of ``print``.
            show_trainable: add a column saying whether each layer is trainable.

        Example:
            >>> import nbtrain
            >>> model = nbtrain.Sequential([nbtrain.Input((4,)), nbtrain.layers.Dense(8, name="hidden"),
            ...                             nbtrain.layers.Dense(1, name="output")], name="tiny")
            >>> model.summary(line_length=60)
            Model: "tiny"
            ┏━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┓
            ┃ Layer (type)             ┃ Output Shape       ┃   Param # ┃
            ┡━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━┩
            │ hidden (Dense)           │ (None, 8)          │        40 │
            ├──────────────────────────┼────────────────────┼───────────┤
            │ output (Dense)           │ (None, 1)          │         9 │
            └──────────────────────────┴────────────────────┴───────────┘
             Total params: 49 (196.00 B)
             Trainable params: 49 (196.00 B)
             Non-trainable params: 0 (0.00 B)
        """
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    # ----- inference on arrays -------------------------------------------------------------------------

    def __call__(self, x, training=False):
        """Run the model on a batch of NumPy data and return NumPy outputs (no progress, no batching).

        On a symbolic tensor (``x = base_model(inputs)`` in a functional model) a Sequential model applies its
        layers, which the new model then shares; ``training`` is not recorded there: freeze the base model with
        ``base_model.trainable = False`` (frozen BatchNormalization layers run in inference mode, as in Keras).
        """
        if is_symbolic(x):
            return self.call_symbolically(x)
        xs = self._io.inputs(x)
        outputs = self._forward(xs, training=training)
        return outputs[0] if len(outputs) == 1 else outputs

    def call_symbolically(self, x):
        raise TypeError(
            f"Model '{self.name}' ({type(self).__name__}) cannot be called on symbolic tensors: Sequential and "
            f"functional models can be nested in a functional model, this kind cannot. Call its layers on the new "
            f"tensors instead (x = layer(x) for each).")

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """Rebuild a model from ``get_config()``: ``Model.from_config`` makes a functional model."""
        from nbtrain.models.functional import Functional

        return Functional.from_config(config, custom_objects=custom_objects)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, layers={len(self.layers)}, built={self.built}>"

    # ----- saving (the work is in nbtrain.models.saving) ---------------------------------------------

    def save(self, filepath, overwrite=True, zipped=None, **kwargs) -> None:
        """Save architecture, weights, compile arguments and optimizer state to a ``.keras`` file.

        Example:
            >>> model.save("model.keras")  # doctest: +SKIP
        """
        self._check_not_busy("save")
        saving.save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None) -> None:
        """Save the weights (and optimizer state) to a ``.weights.h5`` file (nbtrain's zip format, not HDF5).

        Example:
            >>> model.save_weights("checkpoint.weights.h5")  # doctest: +SKIP
        """
        self._check_not_busy("save_weights")
        saving.save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs) -> None:
        """Load weights saved by :meth:`save_weights` (or from a ``.keras`` file), matching layers in order.

        Example:
            >>> model.load_weights("checkpoint.weights.h5")  # doctest: +SKIP
        """
        self._check_not_busy("load_weights")
        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def _weights_snapshot(self) -> saving.WeightsSnapshot:
        """The weights and optimizer state as they are now; its ``save(filepath)`` writes them later, from any
        thread (``BackupAndRestore`` writes its batch backups in the background so)."""
        return saving.WeightsSnapshot(self)


# Registered models are found by name; a model class of the user's is searched for among Model's subclasses.
MODELS.base = Model
