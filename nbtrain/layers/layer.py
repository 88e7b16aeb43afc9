"""The Layer base class: parameters, lazy building, forward and backward passes, weights in Keras order."""

from __future__ import annotations

import copy
import inspect
from functools import cache

import numpy as np

from nbtrain import constraints, initializers, regularizers
from nbtrain.layers import custom_call
from nbtrain.layers.symbolic import call_symbolically, is_symbolic
from nbtrain.utils.errors import check_keyword_arguments
from nbtrain.utils.naming import shape_text, to_snake_case, unique_name
from nbtrain.utils.registry import Registry

FLOATX = np.float32

_BASE_ARGUMENTS = ("name", "trainable", "dtype", "input_shape", "input_dim", "batch_input_shape", "batch_size",
                   "activity_regularizer")


def column_sums(matrix: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``matrix.sum(axis=0)`` (a bias gradient) as one BLAS product with a vector of ones.

    NumPy reduces axis 0 of a C-ordered matrix row after row; the product reads it once with the BLAS's
    vectorized kernel: 2.8x faster for a (15488, 64) Conv2D gradient, 4.6x for (86528, 32), and, its partial sums
    running in several lanes, closer to the exact sum.

    Example:
        >>> column_sums(np.array([[1.0, 2.0], [3.0, 4.0]], dtype="float32"))
        array([4., 6.], dtype=float32)
    """
    return np.matmul(_ones(matrix.shape[0], matrix.dtype), matrix, out=out)


@cache
def _ones(length: int, dtype) -> np.ndarray:
    ones = np.ones(length, dtype)
    ones.flags.writeable = False
    return ones


def normalize_shape(shape, what: str) -> tuple:
    """Turn an int or an iterable of ints/None into a tuple, with a clear error for anything else."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        shape = tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a tuple of integers such as (784,) or (28, 28, 1), got {shape!r}.") from None
    if any(d is not None and d < 0 for d in shape):
        raise ValueError(f"{what} must not contain negative sizes, got {shape}.")
    return shape


class VariableNames:
    """Keras 3 calls weights "variables" too: the same arrays under both names, for layers and models."""

    @property
    def variables(self) -> list[np.ndarray]:
        return self.weights

    @property
    def trainable_variables(self) -> list[np.ndarray]:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[np.ndarray]:
        return self.non_trainable_weights


class Layer(VariableNames):
    """Base class of every layer: holds float32 parameters and computes a forward and a backward pass.

    Subclasses implement ``build(input_shape)`` (create weights with :meth:`add_weight`),
    ``compute_output_shape(input_shape)``, ``forward(x, training)`` (keep what backward needs) and
    ``backward(grad_output)`` (fill ``self.grads`` for every trainable weight and return dL/dx).

    A model runs each call of a layer through :meth:`_apply`, which returns the output together with that
    call's ``backprop`` function. For a layer written as above, ``_apply`` runs ``forward`` and keeps a snapshot
    of the layer for ``backward``, so what ``forward`` stored on ``self`` belongs to that call: the same layer
    can be called twice in one model (its weight gradients are summed) or sit in two models. The built-in
    layers implement ``_apply`` directly and keep their per-call arrays in the ``backprop`` closure; their
    ``forward``/``backward`` pair is the same computation, for use by hand.

    Args:
        name: a unique name; defaults to the snake_case class name numbered like Keras (``dense_1``).
        trainable: whether the optimizer updates this layer's weights.
        dtype: accepted for Keras compatibility; nbtrain computes in float32.
        input_shape: Keras 2 style shape of one sample, e.g. ``(784,)``, on the first layer of a Sequential.
        input_dim: Keras 2 style shorthand for ``input_shape=(input_dim,)``.

    Example:
        >>> class Scale(Layer):
        ...     def build(self, input_shape):
        ...         self.add_weight("scale", (input_shape[-1],), initializer="ones")
        ...         super().build(input_shape)
        ...     def forward(self, x, training=False):
        ...         self._x = x
        ...         return x * self.params["scale"]
        ...     def backward(self, grad_output):
        ...         self.grads["scale"] = (grad_output * self._x).reshape(-1, self._x.shape[-1]).sum(0)
        ...         return grad_output * self.params["scale"]
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # nbtrain's own layers register themselves where they are defined; a layer class of yours is found
        # by its name when a model is loaded (see nbtrain.layers.serialization), or through custom_objects.
        if cls.__module__.startswith("nbtrain.") and not cls.__name__.startswith("_"):
            LAYERS.register()(cls)
        # A class that writes forward or backward (a user's layer, or a user's subclass of a built-in layer that
        # extends forward) is run through them: models then call the forward/backward default of _apply.
        if ("forward" in cls.__dict__ or "backward" in cls.__dict__) and "_apply" not in cls.__dict__:
            cls._apply = Layer._apply
        # A class that writes call() the Keras way, with nbtrain.ops, is differentiated by recording call().
        if custom_call.uses_call(cls):
            cls._apply = Layer._apply_call
            cls._written_with_call = True     # inherited by its subclasses too
            if cls.compute_output_shape is Layer.compute_output_shape:
                cls.compute_output_shape = Layer._inferred_output_shape

    def __init__(self, **kwargs):
        check_keyword_arguments(f"{type(self).__name__}()", kwargs, _accepted_arguments(type(self)))
        self.name = kwargs.get("name") or unique_name(to_snake_case(type(self).__name__))
        self._trainable = bool(kwargs.get("trainable", True))
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._weights: dict[str, np.ndarray] = {}
        self._trainable_weight_names: list[str] = []
        self.grads: dict[str, np.ndarray] = {}
        # Only for forward()/backward() by hand: False makes backward() skip dL/dx and return None. Models
        # decide this per call instead (_apply's need_input_grad), so a layer shared by two models keeps no flag.
        self.input_gradient_needed = True
        self.declared_input_shape = self._declared_input_shape(kwargs)
        self.activity_regularizer = regularizers.get(kwargs.get("activity_regularizer"))
        self._regularizers: dict = {}
        self._constraints: dict = {}

    @staticmethod
    def _declared_input_shape(kwargs) -> tuple | None:
        if kwargs.get("batch_input_shape") is not None:
            return normalize_shape(kwargs["batch_input_shape"], "batch_input_shape")
        if kwargs.get("input_shape") is not None:
            return (kwargs.get("batch_size"),) + normalize_shape(kwargs["input_shape"], "input_shape")
        if kwargs.get("input_dim") is not None:
            return (kwargs.get("batch_size"),) + normalize_shape(kwargs["input_dim"], "input_dim")
        return None

    # ----- weights -------------------------------------------------------------------------------------

    def add_weight(self, *args, name=None, shape=None, initializer=None, trainable: bool = True, dtype=None,
                   regularizer=None, constraint=None, **keras_options):
        """Create a weight once, in creation order (which is Keras's ``get_weights`` order).

        Both spellings work: nbtrain's ``add_weight("kernel", (3, 2), "glorot_uniform")`` and Keras's
        ``add_weight(shape=(3, 2), initializer="random_normal", trainable=True, name="w")`` (whose first
        positional argument is the shape; the name is then optional).

        Args:
            name: key in ``params``/``grads`` (``"kernel"``, ``"bias"``); Keras-style calls may leave it out.
            shape: the weight's shape.
            initializer: name or initializer object; ``"zeros"`` for nbtrain's spelling, ``"glorot_uniform"``
                (Keras's default) for Keras's.
            trainable: whether the optimizer updates it.
            dtype: the weight's dtype (float32).
            regularizer: a penalty added to the loss (``"l2"``, ``nbtrain.regularizers.L2(1e-4)``).
            constraint: a projection applied after every update (``"non_neg"``, ``MaxNorm(3)``).
            **keras_options: ``autocast``, ``aggregation``, ``overwrite_with_gradient``: accepted, no effect.

        Returns:
            The weight array; for a layer written with ``call`` (Keras's way), a Variable reading it, to use in
            ``call`` (``ops.matmul(inputs, self.w)``).
        """
        check_keyword_arguments("add_weight()", keras_options, ["autocast", "aggregation", "overwrite_with_gradient"])
        keras_style = not (args and isinstance(args[0], str))   # Keras's positional order starts with the shape
        order = (("shape", "initializer", "dtype", "trainable") if keras_style
                 else ("name", "shape", "initializer", "trainable", "dtype", "regularizer", "constraint"))
        if len(args) > len(order):
            raise TypeError(f"add_weight() takes at most {len(order)} positional arguments ({', '.join(order)}), "
                            f"got {len(args)}.")
        given = dict(name=name, shape=shape, initializer=initializer, trainable=trainable, dtype=dtype,
                     regularizer=regularizer, constraint=constraint)
        for key, value in zip(order, args):
            given[key] = value
        name, shape, initializer, trainable, dtype, regularizer, constraint = (
            given[k] for k in ("name", "shape", "initializer", "trainable", "dtype", "regularizer", "constraint"))
        if shape is None:
            raise TypeError(f"add_weight() needs a shape, e.g. add_weight(shape=(input_dim, units), ...), in layer "
                            f"'{self.name}'.")
        if name is None:
            name = f"variable_{len(self._weights)}" if f"variable_{len(self._weights)}" not in self._weights \
                else unique_name(f"{self.name}_variable")
        if name in self._weights:
            raise ValueError(f"Layer '{self.name}' already has a weight named {name!r}; give each weight its own "
                             f"name.")
        if initializer is None:
            initializer = "glorot_uniform" if keras_style else "zeros"
        dtype = dtype or FLOATX
        shape = normalize_shape(shape, "add_weight() shape")
        # reshape: np.ascontiguousarray turns a 0-d weight (a count, a scalar) into shape (1,)
        value = initializers.get(initializer)(tuple(shape), dtype=dtype)
        value = np.ascontiguousarray(value, dtype=dtype).reshape(shape)
        self._weights[name] = value
        if trainable:
            self._trainable_weight_names.append(name)
        if regularizer is not None:
            self._regularizers[name] = regularizers.get(regularizer)
        if constraint is not None:
            self._constraints[name] = constraints.get(constraint)
        if getattr(self, "_written_with_call", False):
            return custom_call.layer_variable(self, name)
        return value

    # ----- per-weight options: Keras's <weight>_initializer, <weight>_regularizer, <weight>_constraint ----------

    def set_weight_options(self, weight: str, initializer, regularizer=None, constraint=None) -> None:
        """Store ``<weight>_initializer``, ``<weight>_regularizer`` and ``<weight>_constraint`` as objects.

        Example:
            >>> layer = Layer()
            >>> layer.set_weight_options("kernel", "he_normal", regularizer="l2")
            >>> type(layer.kernel_initializer).__name__, type(layer.kernel_regularizer).__name__
            ('HeNormal', 'L2')
        """
        setattr(self, f"{weight}_initializer", initializers.get(initializer))
        setattr(self, f"{weight}_regularizer", regularizers.get(regularizer))
        setattr(self, f"{weight}_constraint", constraints.get(constraint))

    def add_weight_with_options(self, name: str, shape, options: str | None = None, initializer=None) -> np.ndarray:
        """``add_weight`` with the options stored for ``options`` (default: the weight's own name); ``initializer``
        replaces the stored one (LSTM's forget-gate bias)."""
        options = options or name
        return self.add_weight(name, shape, initializer or getattr(self, f"{options}_initializer"),
                               regularizer=getattr(self, f"{options}_regularizer"),
                               constraint=getattr(self, f"{options}_constraint"))

    def weight_options_config(self, *weights: str) -> dict:
        """The stored options of ``weights`` as config entries (``kernel_initializer``, ...)."""
        config = {}
        for weight in weights:
            config[f"{weight}_initializer"] = initializers.serialize(getattr(self, f"{weight}_initializer"))
            config[f"{weight}_regularizer"] = regularizers.serialize(getattr(self, f"{weight}_regularizer"))
            config[f"{weight}_constraint"] = constraints.serialize(getattr(self, f"{weight}_constraint"))
        return config

    # ----- regularization and constraints ---------------------------------------------------------------

    @property
    def losses(self) -> list[float]:
        """The penalties this layer adds to the loss (Keras's ``layer.losses``): its weights', then, after a
        direct call ``layer(x)``, its activity regularizer's for that call's output and what the call added with
        :meth:`add_loss`."""
        return (self.weight_penalties() + self.__dict__.get("_call_activity_losses", [])
                + self.__dict__.get("_call_added_losses", []))

    def add_loss(self, loss) -> None:
        """Add ``loss`` to the training loss, from inside ``call()`` (Keras's ``add_loss``).

        Compute it from the inputs or weights with ``nbtrain.ops``: its sum is added to the loss that ``fit``
        minimizes and reports (``loss``, ``val_loss``, ``evaluate``), and its gradient flows back as the
        output's does. After a direct call ``layer(x)``, ``layer.losses`` lists the values that call added.

        Example:
            >>> from nbtrain import ops
            >>> class SumPenalty(Layer):
            ...     def call(self, inputs):
            ...         self.add_loss(1e-2 * ops.sum(inputs))
            ...         return inputs
        """
        custom_call.add_loss(self, loss)

    def weight_penalties(self) -> list[float]:
        """The penalties of the weight regularizers (``kernel_regularizer``, ...), one per regularized weight."""
        return [float(reg(self._weights[name])) for name, reg in self._regularizers.items()]

    def add_penalty_gradients(self) -> None:
        """Add each regularizer's gradient to the gradient of its (trainable) weight."""
        if not self._trainable:
            return
        for name, regularizer in self._regularizers.items():
            if name in self.grads and name in self._trainable_weight_names:
                self.grads[name] = self.grads[name] + regularizer.gradient(self._weights[name])

    def apply_constraints(self) -> None:
        """Project constrained weights back onto their allowed set, in place (after each update)."""
        for name, constraint in self._constraints.items():
            weight = self._weights[name]
            weight[...] = constraint(weight)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._sublayers():
            layer.trainable = value

    def _attribute_source(self):
        """The object whose attributes hold the layers this layer's ``call`` uses (itself)."""
        return self

    def _sublayers(self) -> list:
        """Layers wrapped inside this one (Bidirectional, TimeDistributed, the layers a ``call`` of yours
        calls); they follow its ``trainable``."""
        if getattr(self, "_written_with_call", False):
            return [layer for _, layer in custom_call.sublayers(self)]
        return []

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The trainable weights by name (empty when ``trainable`` is False)."""
        if not self._trainable:
            return {}
        owners = self.__dict__.get("_weight_owners")
        if owners:      # a sublayer's weight is trained while that sublayer is trainable (it may be frozen later)
            return {n: self._weights[n] for n in self._trainable_weight_names
                    if n not in owners or owners[n][1] in owners[n][0].params}
        return {n: self._weights[n] for n in self._trainable_weight_names}

    @property
    def weights(self) -> list[np.ndarray]:
        """All weights, trainable and not, in creation order. A layer written with ``call`` lists them as the
        Variables ``add_weight`` returned (Keras's ``layer.weights == [layer.w, layer.b]``)."""
        return self._as_listed(list(self._weights))

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return self._as_listed(list(self.params))

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        trainable = set(self.params)
        return self._as_listed([name for name in self._weights if name not in trainable])

    def _as_listed(self, names) -> list:
        if getattr(self, "_written_with_call", False):
            return [custom_call.weight_variable(self, name) for name in names]
        return [self._weights[name] for name in names]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights in Keras order (e.g. kernel, then bias)."""
        return [w.copy() for w in self._weights.values()]

    def set_weights(self, weights) -> None:
        """Load weights in Keras order, copying into the existing arrays so optimizer state stays attached."""
        weights = list(weights)
        if len(weights) != len(self._weights):
            raise ValueError(
                f"Layer '{self.name}' expects {len(self._weights)} weights "
                f"({', '.join(self._weights) or 'none'}) but set_weights() received {len(weights)}."
            )
        for (name, current), new in zip(self._weights.items(), weights):
            new = np.asarray(new)
            if new.shape != current.shape:
                raise ValueError(
                    f"Layer '{self.name}' weight '{name}' has shape {current.shape} but set_weights() "
                    f"received an array of shape {new.shape}."
                )
            current[...] = new

    def grad_buffer(self, name: str) -> np.ndarray:
        """A gradient array reused across batches (no per-batch allocation for parameter gradients)."""
        weight = self._weights[name]
        buffer = self.grads.get(name)
        if buffer is None or buffer.shape != weight.shape or buffer.dtype != weight.dtype:
            buffer = self.grads[name] = np.empty_like(weight)
        return buffer

    def count_params(self) -> int:
        return int(sum(w.size for w in self._weights.values()))

    def cast_weights(self, dtype) -> None:
        """Replace every weight by a copy of another dtype (the float64 gradient checks use this)."""
        if self.__dict__.get("_weight_owners"):     # a layer of your own calling layers with weights
            custom_call.cast_with_sublayers(self, dtype)
            return
        for name in self._weights:
            self._weights[name] = self._weights[name].astype(dtype)

    # ----- building and shapes -------------------------------------------------------------------------

    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis first, may be None)."""
        self.input_shape = tuple(input_shape) if not _is_shape_list(input_shape) else [tuple(s) for s in input_shape]
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def compute_output_shape(self, input_shape) -> tuple:
        return tuple(input_shape)

    def ensure_built(self, input_shape) -> None:
        if not self.built:
            shape = [tuple(s) for s in input_shape] if input_shape and isinstance(input_shape[0], (list, tuple)) \
                else tuple(input_shape)         # a list of shapes: several inputs (merge layers)
            self.build(shape)
            if not self.built:      # a Keras-style build() that does not call super().build()
                Layer.build(self, shape)
            if getattr(self, "_written_with_call", False):     # layers its call() calls: build them, list weights
                custom_call.track_sublayers(self, shape)

    def check_input_shape(self, x: np.ndarray) -> None:
        """Raise a clear error when data do not match the shape the layer was built for."""
        expected = self.input_shape
        if expected is None or _is_shape_list(expected):
            return
        if x.ndim != len(expected) or any(e is not None and e != a for e, a in zip(expected[1:], x.shape[1:])):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects inputs of shape {shape_text(expected)} "
                f"but got an array of shape {x.shape}."
            )

    # ----- computation ---------------------------------------------------------------------------------

    # ----- the symbolic tensors of the first call (functional models) ----------------------------------------

    @property
    def input(self):
        """The symbolic input(s) of this layer's first call on symbolic tensors, as Keras's ``layer.input``."""
        node = self._first_node("input")
        return node.inputs if node.list_input else node.inputs[0]

    @property
    def output(self):
        """The symbolic output(s) of this layer's first call on symbolic tensors, as Keras's ``layer.output``:
        ``Model(inputs=model.input, outputs=model.get_layer("hidden").output)`` extracts features."""
        node = self._first_node("output")
        return node.outputs[0] if len(node.outputs) == 1 else node.outputs

    def _first_node(self, what):
        nodes = self.__dict__.get("_inbound_nodes")
        if not nodes:
            raise AttributeError(f"Layer '{self.name}' has no {what} tensor: it has not been called on symbolic "
                                 f"tensors (from Input(...)) yet, as layers of a functional model are.")
        return nodes[0]

    # ----- masks (padding in sequences) ---------------------------------------------------------------------

    #: Layers that pass a mask through unchanged set this to True (Keras's ``supports_masking``).
    supports_masking = False

    def compute_mask(self, inputs: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray | None:
        """The mask for this layer's output: boolean, shape ``(batch, time)``, True where data are real.

        Layers that create masks (``Embedding(mask_zero=True)``) or change them override this.
        """
        if isinstance(mask, (list, tuple)):     # several inputs: only layers that know how combine their masks
            return None
        return mask if self.supports_masking else None

    @property
    def accepts_mask(self) -> bool:
        """True when the layer's computation takes a ``mask`` argument; models then pass the incoming mask."""
        return _takes_mask(type(self))

    def _apply(self, x, training: bool, need_input_grad: bool, mask=None):
        """One call of the layer: returns ``(y, backprop)``, where ``backprop(dL/dy)`` fills ``self.grads``
        (writing, not adding) and returns dL/dx, or None when ``need_input_grad`` is False.

        Everything the backward pass needs lives in ``backprop``, never on the layer, so two calls never mix
        (thinc's ``forward -> (Y, backprop)``). Built-in layers implement this method. This default serves
        layers written to the ``forward``/``backward`` contract (a class that defines either gets it in
        ``__init_subclass__``): the layer runs ``forward``, then a shallow copy of it, taken at once, runs
        ``backward``; the copy shares the weights and ``grads`` but keeps the arrays this call stored. Such a
        layer computes dL/dx whether or not it is needed.
        """
        y = self.forward(x, training=training) if mask is None else self.forward(x, training=training, mask=mask)
        return y, _SnapshotBackprop(self)

    def _apply_call(self, x, training: bool, need_input_grad: bool, mask=None):
        """``_apply`` of a layer written with ``call`` and ``nbtrain.ops``: see :mod:`nbtrain.layers.custom_call`."""
        return custom_call.apply_call(self, x, training, need_input_grad, mask)

    def _inferred_output_shape(self, input_shape):
        """``compute_output_shape`` of a layer written with ``call`` that does not define one."""
        return custom_call.inferred_output_shape(self, input_shape)

    def forward(self, x, training: bool = False, mask=None, **call_arguments) -> np.ndarray:
        """Apply the layer by hand, keeping this call's backprop for :meth:`backward`.

        Models call :meth:`_apply` instead. Layers written to the forward/backward contract replace this method.
        ``call_arguments`` are those of :attr:`tensor_call_arguments` (``initial_state=``).
        """
        compute = _computation(type(self))
        if compute is None:
            raise NotImplementedError(f"{type(self).__name__} must implement forward(x, training).")
        if mask is not None:
            call_arguments["mask"] = mask
        y, self._last_backprop = compute(self, x, training, self.input_gradient_needed, **call_arguments)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """The backward pass of the last :meth:`forward`: fills ``self.grads`` and returns dL/dx (None when
        ``input_gradient_needed`` is False)."""
        if _computation(type(self)) is None:
            raise NotImplementedError(f"{type(self).__name__} must implement backward(grad_output).")
        grad_input = self.last_backprop()(grad_output)
        return grad_input if self.input_gradient_needed else None

    def last_backprop(self):
        """The backprop of the last :meth:`forward` made by hand (models keep theirs per call)."""
        backprop = self.__dict__.get("_last_backprop")
        if backprop is None:
            raise RuntimeError(f"Layer '{self.name}' has no forward pass to go back through: call forward(x) "
                               f"(or the layer itself, layer(x)) before backward().")
        return backprop

    #: The arguments of Keras's ``call`` after the inputs, in order: a second positional argument is the first
    #: of them (``Dense(2)(x, True)`` is ``training``; ``GlobalAveragePooling1D()(x, mask)`` is the mask).
    call_arguments: tuple[str, ...] = ("training", "mask")
    #: The call arguments besides ``training`` and ``mask`` that this layer implements (recurrent layers:
    #: ``initial_state``); on symbolic inputs they are tensors that become inputs of the call.
    tensor_call_arguments: tuple[str, ...] = ()
    #: The mode of a direct call that does not say: inference, except for layers Keras runs in training mode
    #: when called directly (the random image augmentations, so that ``augment(images)`` augments).
    training_by_default = False

    def __call__(self, *args, **kwargs):
        """Apply the layer to NumPy data, or to symbolic tensors from ``Input`` to build a functional model.

        Takes the inputs, then the arguments of Keras's ``call`` (``training``, ``mask``: see
        :attr:`call_arguments`), by position or by name; ``inputs=`` names the inputs. ``mask`` (NumPy data only)
        marks the values that count, e.g. ``(batch, timesteps)`` booleans for a recurrent layer; it reaches
        ``forward`` in layers whose ``forward`` takes one. Any other argument is a TypeError that lists these.

        Example:
            >>> from nbtrain.layers import Dense, Input
            >>> hidden = Dense(8, activation="relu")(Input(shape=(4,)))  # symbolic: builds a graph
        """
        x, arguments = self._call_arguments(args, kwargs)
        training, mask = arguments.get("training"), arguments.get("mask")
        extra = {name: value for name, value in arguments.items()
                 if name not in ("training", "mask") and value is not None}
        unsupported = {name: value for name, value in extra.items() if name not in self.tensor_call_arguments}
        if unsupported:
            self._unsupported_call_arguments(unsupported)
        if is_symbolic(x):
            return call_symbolically(self, x, **({} if mask is None else {"mask": mask}), **extra)
        if _is_tracked(x) or custom_call.current_context() is not None:    # inside another layer's call()
            if extra:
                raise NotImplementedError(
                    f"Layer '{self.name}' ({type(self).__name__}) was called with {', '.join(sorted(extra))} inside "
                    f"another layer's call(): nbtrain does not support these arguments there yet. Connect the layers "
                    f"in a functional model instead, where they work.")
            return custom_call.call_inside(self, x, training, mask)
        if training is None:
            training = self.training_by_default
        if isinstance(x, (list, tuple)) and not hasattr(x, "shape"):
            arrays = [np.asarray(a) for a in x]
            self.ensure_built([a.shape for a in arrays])
            return self.forward(arrays, training=training)
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating) and not getattr(self, "accepts_integer_input", False):
            x = x.astype(FLOATX)
        self.ensure_built(x.shape)
        self.check_input_shape(x)
        if mask is not None and self.accepts_mask:
            extra["mask"] = mask
        y = self.forward(x, training=training, **extra)
        if self.activity_regularizer is not None:     # layer.losses then holds this call's penalty, as in Keras
            self._call_activity_losses = [regularizers.activity_penalty(self.activity_regularizer, y)]
        if getattr(self, "_written_with_call", False):     # and what its call() added with add_loss
            self._call_added_losses = list(getattr(self.__dict__.get("_last_backprop"), "added_losses", ()))
        return y

    def _unsupported_call_arguments(self, arguments: dict) -> None:
        """Refuse call arguments of Keras's signature that this layer does not implement (never ignore them)."""
        raise NotImplementedError(f"{type(self).__name__} in nbtrain does not take {', '.join(sorted(arguments))} "
                                  f"yet.")

    def _call_arguments(self, args, kwargs):
        """``(inputs, {name: value})`` from a call's arguments, refusing what this layer's call does not take
        (Keras's ``call`` signatures: silently ignoring ``initial_state=`` or ``foo=1`` would give wrong results)."""
        if getattr(self, "_written_with_call", False):      # call(self, targets, logits): one list of inputs
            args, kwargs = custom_call.gather_tensor_arguments(self, args, kwargs)
        if args:
            x, rest = args[0], args[1:]
            if "inputs" in kwargs:
                raise TypeError(f"{type(self).__name__} was given its inputs twice: by position and as inputs=.")
        elif "inputs" in kwargs:
            x, rest = kwargs.pop("inputs"), ()
        else:
            raise TypeError(f"{type(self).__name__}() needs its inputs: layer(x).")
        accepted = self.call_arguments
        if len(rest) > len(accepted):
            raise TypeError(f"{type(self).__name__} takes the inputs and at most {len(accepted)} more argument(s) "
                            f"({', '.join(accepted)}), got {len(rest)} more.")
        arguments = dict(zip(accepted, rest))
        for name, value in kwargs.items():
            if name in arguments:
                raise TypeError(f"{type(self).__name__} got {name!r} twice: by position and by name.")
            if name not in accepted:
                raise TypeError(f"{type(self).__name__} got an unexpected argument {name!r}: calling it takes the "
                                f"inputs and {', '.join(repr(a) for a in accepted)}.")
            arguments[name] = value
        return x, arguments

    # ----- configuration -------------------------------------------------------------------------------

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"


LAYERS = Registry("layer", base=Layer, search_subclasses=True)
"""Every built-in layer class by name, with Keras's other names (``"Convolution2D"``); classes register
themselves when defined (``Layer.__init_subclass__``)."""
LAYERS.register()(Layer)
custom_call.use_layer_base(Layer)


def _is_shape_list(shape) -> bool:
    return isinstance(shape, list) and bool(shape) and isinstance(shape[0], (list, tuple))


@cache
def _accepted_arguments(layer_class) -> tuple[str, ...]:
    """Every keyword a layer class takes (its own and its bases'), so typos get a did-you-mean."""
    names = list(_BASE_ARGUMENTS)
    for klass in layer_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            names += [p for p in inspect.signature(init).parameters if p not in ("self", "kwargs", "args")]
    return tuple(dict.fromkeys(names))


def _is_tracked(x) -> bool:
    """An nbtrain.ops tensor (or a list holding one), recognized without importing the tape."""
    items = x if isinstance(x, (list, tuple)) else [x]
    return any(type(item).__module__ == "nbtrain.ops.autodiff" for item in items)


@cache
def _computation(layer_class):
    """The built-in ``_apply`` a layer class computes with, past the forward/backward default that a subclass
    extending ``forward`` is given; None for a layer written only to the forward/backward contract."""
    for klass in layer_class.__mro__:
        method = klass.__dict__.get("_apply")
        if method is not None and method is not Layer._apply:
            return method
    return None


@cache
def _takes_mask(layer_class) -> bool:
    """Whether the method models call with a mask (``forward`` or a built-in ``_apply``) takes one."""
    work = layer_class.forward if layer_class._apply is Layer._apply else layer_class._apply
    return "mask" in inspect.signature(work).parameters


class _SnapshotBackprop:
    """The backprop of a layer written to the forward/backward contract: its ``backward`` on a snapshot.

    The snapshot (a shallow copy taken right after ``forward``) keeps the arrays that call stored on the
    layer, so a later call of the same layer cannot overwrite them before this call's backward runs.
    """

    __slots__ = ("layer", "snapshot")

    def __init__(self, layer):
        self.layer = layer
        self.snapshot = copy.copy(layer)

    def __call__(self, grad_output):
        return self._synced(self.snapshot.backward(grad_output))

    def from_preactivation(self, grad_z):
        """For a layer with ``backward_from_preactivation`` (a subclass of Dense, say), which the loop fuses."""
        return self._synced(self.snapshot.backward_from_preactivation(grad_z))

    def _synced(self, grad_input):
        if self.snapshot.grads is not self.layer.grads:     # backward replaced the whole dict: keep the new one
            self.layer.grads = self.snapshot.grads
        return grad_input
