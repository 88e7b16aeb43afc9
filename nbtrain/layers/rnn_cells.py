"""``RNN(cell)``: a recurrent layer around a cell, as Keras's ``keras.layers.RNN``, and the cells
``SimpleRNNCell``, ``LSTMCell``, ``GRUCell`` and ``StackedRNNCells``.

A cell computes one time step: ``call(inputs, states)`` returns ``(output, new_states)``, and its
``state_size`` says how many states it carries (an int for one, a list for several). A cell of your own is a
``Layer`` written the Keras way (``build`` with ``add_weight``, ``call`` with ``nbtrain.ops``): :class:`RNN` runs
its ``call`` once per time step while a :class:`~nbtrain.ops.GradientTape` records, and backpropagates through
time with the tape, so the cell needs no backward pass.

``RNN`` around one built-in cell (``RNN(LSTMCell(64))``) runs the fused loops of the matching layer
(``LSTM(64)``) on the cell's weights, so it is exactly as fast; ``StackedRNNCells`` and cells of your own go
through the tape. The states of stacked cells are one flat list (``return_state=True`` returns
``[output, *states]`` with the cells' states one after the other), where Keras nests them per cell; a nested
``initial_state`` is accepted too.
"""

from __future__ import annotations

import inspect
from functools import cache

import numpy as np

from nbtrain.layers import custom_call
from nbtrain.layers.layer import FLOATX, LAYERS, Layer
from nbtrain.layers.recurrent import GRU, LSTM, SimpleRNN, _Recurrent

# The options of a recurrent layer that belong to the RNN wrapper, not to a cell.
_LAYER_ONLY = ("name", "trainable", "return_sequences", "return_state", "go_backwards", "stateful",
               "zero_output_for_mask")


def _flatten(structure) -> list:
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _state_sizes(state_size, who: str, stacked: bool = False) -> list[int]:
    """One int per state: a cell's state_size is an int or a list of ints; stacked cells list theirs per cell."""
    if stacked:
        return [size for entry in state_size for size in _state_sizes(entry, who)]
    if isinstance(state_size, (list, tuple)) and any(isinstance(s, (list, tuple)) for s in state_size):
        raise ValueError(f"{who}: state_size must be a positive integer, or a list of them (one per state), got "
                         f"{state_size!r}. nbtrain's RNN carries states of shape (batch, size): a state of several "
                         f"axes (a shape such as (4, 5)) is not supported; flatten it into one axis in the cell.")
    sizes = list(state_size) if isinstance(state_size, (list, tuple)) else [state_size]
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
            raise ValueError(f"{who}: state_size must be a positive integer, or a list of them (one per state), got "
                             f"{state_size!r}. nbtrain's RNN carries states of shape (batch, size).")
    return [int(size) for size in sizes]


def _nested(flat: list, structure):
    """``flat`` states in the shape of ``structure`` (a cell's state_size): one cell receives a list."""
    flat = iter(flat)

    def take(entry):
        if isinstance(entry, (list, tuple)):
            return [take(item) for item in entry]
        return next(flat)

    return take(structure)


def _check_cell(cell, who: str) -> None:
    if not callable(getattr(cell, "call", None)):
        raise ValueError(f"{who}: a cell needs a call(inputs, states) method returning (output, new_states); "
                         f"got {cell!r}.")
    if getattr(cell, "state_size", None) is None:
        raise ValueError(f"{who}: the cell needs a state_size attribute (an integer, or a list of integers: one "
                         f"per state), set in its __init__; got {cell!r}.")


@cache
def _takes_training(cell_class) -> bool:
    return "training" in inspect.signature(cell_class.call).parameters


def _build_cell(cell, step_shape) -> None:
    """Build a cell for one step's input shape, as Keras does: ``cell.build(shape)``, then it is built (a cell's
    output shape is not inferred by calling it, since ``call`` needs states)."""
    if isinstance(cell, Layer) and not cell.built:
        cell.build(tuple(step_shape))
        cell.built = True
        if cell.input_shape is None:
            cell.input_shape = tuple(step_shape)


def _step_output_size(cell) -> int:
    size = getattr(cell, "output_size", None)
    if size is None:
        return _state_sizes(cell.state_size, type(cell).__name__)[0]
    return int(size)


# ------------------------------------------------------------------------------------------------------
# Built-in cells
# ------------------------------------------------------------------------------------------------------


class _BuiltinCell(Layer):
    """A cell with the options and weights of a built-in recurrent layer (kept in ``self.template``)."""

    _layer_class: type = None

    def __init__(self, units, **kwargs):
        own = {key: kwargs.pop(key) for key in ("name", "trainable") if key in kwargs}
        super().__init__(**own)
        for key in _LAYER_ONLY:
            if key in kwargs:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {key!r}: it belongs to "
                                f"the RNN layer, RNN({type(self).__name__}(...), {key}=...).")
        # The matching layer parses and checks every option, exactly as LSTM(...) would.
        self.template = self._layer_class(units, name=f"{self.name}_options", **kwargs)
        self.units = self.template.units

    def __getattr__(self, name):
        # activation, use_bias, dropout, kernel_initializer, ...: the template's (only called for missing names)
        template = self.__dict__.get("template")
        if template is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(template, name)

    @property
    def state_size(self):
        return self.units if self.template._state_count == 1 else [self.units] * self.template._state_count

    @property
    def output_size(self) -> int:
        return self.units

    def build(self, input_shape):
        self.template._create_weights(input_shape[-1])
        self._share_template_weights()
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_size)

    def _share_template_weights(self):
        template = self.template
        self._weights, self._trainable_weight_names = template._weights, template._trainable_weight_names
        self._regularizers, self._constraints = template._regularizers, template._constraints

    def get_initial_state(self, batch_size=None):
        return [np.zeros((batch_size, self.units), FLOATX) for _ in range(self.template._state_count)]

    def layer_options(self) -> dict:
        """The options of the matching layer (without the RNN-level ones), to build a fused layer."""
        config = self.template.get_config()
        return {key: value for key, value in config.items() if key not in _LAYER_ONLY}

    def get_config(self):
        return super().get_config() | self.layer_options()

    # ----- one step with nbtrain.ops (StackedRNNCells, or calling the cell yourself) -----------------------

    def _variables(self):
        return {name: custom_call.layer_variable(self, name) for name in self._weights}

    def _activation_op(self, fn):
        from nbtrain import ops

        if fn.name == "linear":
            return lambda z: z
        op = getattr(ops, fn.name, None)
        if op is None:
            raise NotImplementedError(f"{type(self).__name__} '{self.name}' computes one step with nbtrain.ops, "
                                      f"which has no '{fn.name}' activation; use it in RNN() around this cell "
                                      f"alone (which runs the fused {self._layer_class.__name__} loops).")
        return op

    def _refuse_dropout(self, training):
        if training and (self.template.dropout or self.template.recurrent_dropout):
            raise NotImplementedError(
                f"{type(self).__name__} '{self.name}' with dropout runs only alone in RNN(...) (or as "
                f"{self._layer_class.__name__}(..., dropout=...)); inside StackedRNNCells nbtrain does not drop "
                f"out yet. Put a Dropout layer between stacked recurrent layers instead.")

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, units={self.units}>"


class SimpleRNNCell(_BuiltinCell):
    """One step of :class:`~nbtrain.layers.SimpleRNN`: ``h = activation(x @ kernel + h @ recurrent_kernel + bias)``.

    Takes the options of ``SimpleRNN`` (``units``, ``activation``, initializers, regularizers, constraints,
    ``dropout``, ``recurrent_dropout``, ``seed``); ``RNN(SimpleRNNCell(8))`` equals ``SimpleRNN(8)``.

    Example:
        >>> RNN(SimpleRNNCell(4))(np.zeros((2, 5, 3), dtype="float32")).shape
        (2, 4)
    """

    _layer_class = SimpleRNN

    def call(self, inputs, states, training=False):
        from nbtrain import ops

        self._refuse_dropout(training)
        w = self._variables()
        z = ops.matmul(inputs, w["kernel"]) + ops.matmul(states[0], w["recurrent_kernel"])
        if self.template.use_bias:
            z = z + w["bias"]
        h = self._activation_op(self.template.activation)(z)
        return h, [h]


class LSTMCell(_BuiltinCell):
    """One step of :class:`~nbtrain.layers.LSTM` (gates i, f, c, o; states ``[h, c]``).

    Takes the options of ``LSTM`` (``units``, ``activation``, ``recurrent_activation``, ``unit_forget_bias``, ...);
    ``RNN(LSTMCell(8))`` equals ``LSTM(8)`` and runs as fast.

    Example:
        >>> RNN(LSTMCell(4), return_sequences=True)(np.zeros((2, 5, 3), dtype="float32")).shape
        (2, 5, 4)
    """

    _layer_class = LSTM

    def call(self, inputs, states, training=False):
        from nbtrain import ops

        self._refuse_dropout(training)
        w = self._variables()
        h, c = states
        z = ops.matmul(inputs, w["kernel"]) + ops.matmul(h, w["recurrent_kernel"])
        if self.template.use_bias:
            z = z + w["bias"]
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        gate = self._activation_op(self.template.recurrent_activation)
        act = self._activation_op(self.template.activation)
        c = gate(z_f) * c + gate(z_i) * act(z_c)
        h = gate(z_o) * act(c)
        return h, [h, c]


class GRUCell(_BuiltinCell):
    """One step of :class:`~nbtrain.layers.GRU` (gates z, r, h; ``reset_after`` as the layer).

    Example:
        >>> RNN(GRUCell(4))(np.zeros((2, 5, 3), dtype="float32")).shape
        (2, 4)
    """

    _layer_class = GRU

    def call(self, inputs, states, training=False):
        from nbtrain import ops

        self._refuse_dropout(training)
        w = self._variables()
        h = states[0]
        template = self.template
        gate = self._activation_op(template.recurrent_activation)
        act = self._activation_op(template.activation)
        x = ops.matmul(inputs, w["kernel"])
        bias = w.get("bias")
        if bias is not None:
            x = x + (bias[0] if template.reset_after else bias)
        x_z, x_r, x_h = ops.split(x, 3, axis=-1)
        if template.reset_after:
            inner = ops.matmul(h, w["recurrent_kernel"])
            if bias is not None:
                inner = inner + bias[1]
            r_z, r_r, r_h = ops.split(inner, 3, axis=-1)
            z, r = gate(x_z + r_z), gate(x_r + r_r)
            candidate = act(x_h + r * r_h)
        else:
            u_zr, u_h = ops.split(w["recurrent_kernel"], [2 * self.units], axis=-1)
            r_z, r_r = ops.split(ops.matmul(h, u_zr), 2, axis=-1)
            z, r = gate(x_z + r_z), gate(x_r + r_r)
            candidate = act(x_h + ops.matmul(r * h, u_h))
        h = z * h + (1 - z) * candidate
        return h, [h]


_FUSED_LAYERS = {SimpleRNNCell: SimpleRNN, LSTMCell: LSTM, GRUCell: GRU}


class StackedRNNCells(Layer):
    """Several cells run one after the other at every time step (the output of one is the input of the next).

    ``RNN([cell_1, cell_2])`` stacks them too. The weights are the cells' weights in order.

    Args:
        cells: the cells, e.g. ``[LSTMCell(32), LSTMCell(32)]``.

    Example:
        >>> RNN(StackedRNNCells([LSTMCell(4), GRUCell(3)]))(np.zeros((2, 5, 3), dtype="float32")).shape
        (2, 3)
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        cells = list(cells)
        if not cells:
            raise ValueError("StackedRNNCells() needs at least one cell.")
        for cell in cells:
            _check_cell(cell, "StackedRNNCells()")
            _state_sizes(cell.state_size, f"StackedRNNCells(): cell {cell!r}")
        self.cells = cells

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        return _step_output_size(self.cells[-1])

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            _build_cell(cell, shape)
            shape = (shape[0], _step_output_size(cell))
        self._collect_weights()
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_size)

    def _collect_weights(self):
        """The cells' arrays under ``cell_<i>_<name>`` names, in the cells' order (Keras's weight order)."""
        self._weights, self._trainable_weight_names, self._regularizers, self._constraints = {}, [], {}, {}
        for index, cell in enumerate(self.cells):
            prefix = f"cell_{index}_"
            for name, value in getattr(cell, "_weights", {}).items():
                self._weights[prefix + name] = value
            self._trainable_weight_names += [prefix + name for name in getattr(cell, "_trainable_weight_names", [])]
            self._regularizers.update({prefix + n: r for n, r in getattr(cell, "_regularizers", {}).items()})
            self._constraints.update({prefix + n: c for n, c in getattr(cell, "_constraints", {}).items()})

    def weight_owners(self):
        """``(cell, its weight name, this layer's weight name)`` for every weight."""
        return [(cell, name, f"cell_{index}_{name}") for index, cell in enumerate(self.cells)
                for name in getattr(cell, "_weights", {})]

    def cast_weights(self, dtype):
        for cell in self.cells:
            cell.cast_weights(dtype)
        self._collect_weights()

    def _sublayers(self):
        return list(getattr(self, "cells", []))

    def get_initial_state(self, batch_size=None):
        return [_initial_state_of(cell, batch_size) for cell in self.cells]

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            single = not isinstance(cell_states, (list, tuple))
            keywords = {"training": training} if _takes_training(type(cell)) else {}
            inputs, cell_states = cell.call(inputs, [cell_states] if single else list(cell_states), **keywords)
            cell_states = list(cell_states) if isinstance(cell_states, (list, tuple)) else [cell_states]
            new_states.append(cell_states[0] if single and len(cell_states) == 1 else cell_states)
        return inputs, new_states

    def get_config(self):
        return super().get_config() | {"cells": [{"class_name": type(cell).__name__, "config": cell.get_config()}
                                                 for cell in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cells"] = [LAYERS.deserialize(entry, custom_objects) for entry in config["cells"]]
        return cls(**config)

    def __repr__(self):
        return f"<StackedRNNCells name={self.name!r}, cells={self.cells!r}>"


def _initial_state_of(cell, batch_size):
    """A cell's zero start states in its state_size structure (an int -> one array, a list -> a list)."""
    make = getattr(cell, "get_initial_state", None)
    if make is not None:
        states = make(batch_size=batch_size)
        if isinstance(cell.state_size, (list, tuple)):
            return list(states) if isinstance(states, (list, tuple)) else [states]
        return states[0] if isinstance(states, (list, tuple)) else states
    if isinstance(cell.state_size, (list, tuple)):
        return [np.zeros((batch_size, size), FLOATX) for size in _state_sizes(cell.state_size, type(cell).__name__)]
    return np.zeros((batch_size, int(cell.state_size)), FLOATX)


# ------------------------------------------------------------------------------------------------------
# The RNN layer
# ------------------------------------------------------------------------------------------------------


class RNN(Layer):
    """A recurrent layer that runs a cell over the time steps of its input, as Keras's ``RNN``.

    Args:
        cell: a cell (a layer with ``call(inputs, states)`` returning ``(output, new_states)`` and a
            ``state_size``; optional ``output_size`` and ``get_initial_state(batch_size)``), or a list of cells
            (stacked, see :class:`StackedRNNCells`).
        return_sequences: return the output of every step ``(batch, timesteps, output_size)``, not the last one.
        return_state: also return the final states (a list ``[output, *states]``).
        go_backwards: process the sequence in reverse (returned sequences stay in processing order, as Keras).
        stateful: carry the final states of a batch into the next one (needs a fixed batch size, as the layers).
        unroll: accepted, changes nothing (the loop is Python either way).
        zero_output_for_mask: with a mask, output zeros at masked steps instead of the previous output.

    Example:
        >>> from nbtrain import ops
        >>> class MinimalRNNCell(Layer):
        ...     def __init__(self, units, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.units, self.state_size = units, units
        ...     def build(self, input_shape):
        ...         self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        ...         self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")
        ...     def call(self, inputs, states):
        ...         output = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel)
        ...         return output, [output]
        >>> RNN(MinimalRNNCell(4))(np.zeros((2, 5, 3), dtype="float32")).shape
        (2, 4)
    """

    supports_masking = True
    is_recurrent_layer = True
    call_arguments = _Recurrent.call_arguments
    tensor_call_arguments = _Recurrent.tensor_call_arguments
    input_mismatch_hint = _Recurrent.input_mismatch_hint

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        _check_cell(cell, "RNN()")
        super().__init__(**kwargs)
        self.cell = cell
        self.state_sizes = _state_sizes(cell.state_size, "RNN()", stacked=isinstance(cell, StackedRNNCells))
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.states = None
        self._fused = None      # the built-in layer running a single built-in cell
        if self.declared_input_shape is None:
            self.declared_input_shape = getattr(cell, "declared_input_shape", None)

    @property
    def _state_count(self) -> int:
        return len(self.state_sizes)

    # ----- shapes and building -------------------------------------------------------------------------------

    def _shape_error(self, shape) -> ValueError:
        return ValueError(f"RNN layer '{self.name}' expects inputs of shape (batch, timesteps, features) but got "
                          f"shape {tuple(shape)}.")

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise self._shape_error(input_shape)
        _build_cell(self.cell, (input_shape[0],) + input_shape[2:])
        fused_class = _FUSED_LAYERS.get(type(self.cell))
        if fused_class is not None:
            self._fused = self._fused_layer(fused_class, input_shape)
        elif self.stateful:
            self._create_states(input_shape)
        self._share_weights()
        super().build(input_shape)

    def _fused_layer(self, fused_class, input_shape):
        """The built-in layer that runs the cell's steps, on the cell's own weight arrays."""
        options = self.cell.layer_options() | {
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "stateful": self.stateful,
            "zero_output_for_mask": self.zero_output_for_mask, "name": f"{self.name}_{self.cell.name}"}
        layer = fused_class.from_config(options)
        layer.ensure_built(input_shape)
        layer._weights, layer._trainable_weight_names = self.cell._weights, self.cell._trainable_weight_names
        layer._regularizers, layer._constraints = self.cell._regularizers, self.cell._constraints
        self.states = layer.states
        return layer

    def _share_weights(self):
        # The same dicts as the cell: optimizer updates, set_weights, penalties and constraints reach its arrays.
        cell = self.cell
        self._weights = getattr(cell, "_weights", {})
        self._trainable_weight_names = getattr(cell, "_trainable_weight_names", [])
        self._regularizers, self._constraints = getattr(cell, "_regularizers", {}), getattr(cell, "_constraints", {})

    def cast_weights(self, dtype):
        self.cell.cast_weights(dtype)
        self._share_weights()

    def _sublayers(self):
        cell = getattr(self, "cell", None)
        return [cell] if isinstance(cell, Layer) else []

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        size = _step_output_size(self.cell)
        output = (batch, steps, size) if self.return_sequences else (batch, size)
        if self.return_state:
            return [output] + [(batch, size) for size in self.state_sizes]
        return output

    def compute_mask(self, inputs, mask):
        return mask if self.return_sequences else None

    def check_input_shape(self, x):
        if x.ndim != 3:
            raise self._shape_error(x.shape)
        if x.shape[1] == 0:
            raise ValueError(f"RNN layer '{self.name}' received sequences with 0 time steps.")

    # ----- states ---------------------------------------------------------------------------------------------

    reset_states = _Recurrent.reset_states
    _state_list = staticmethod(_Recurrent._state_list)

    def check_initial_state(self, state_shapes, input_shape):
        sizes, batch = self.state_sizes, input_shape[0]
        if len(state_shapes) != len(sizes):
            raise ValueError(f"RNN layer '{self.name}' takes {len(sizes)} initial state(s) (state_size "
                             f"{self.cell.state_size!r}), got {len(state_shapes)}.")
        for shape, size in zip(state_shapes, sizes):
            shape = tuple(shape)
            if len(shape) != 2 or shape[1] != size or (None not in (batch, shape[0]) and shape[0] != batch):
                raise ValueError(f"RNN layer '{self.name}' takes initial states of shapes "
                                 f"{[(batch, s) for s in sizes]}, got a state of shape {shape}.")

    def get_initial_state(self, batch_size):
        """The states a call starts from without ``initial_state`` (the cell's, zeros by default), as a flat list."""
        return _flatten(_initial_state_of(self.cell, batch_size))

    def reset_state(self, states=None):
        if self._fused is not None:
            return self._fused.reset_state(None if states is None else _flatten(states))
        return _Recurrent.reset_state(self, None if states is None else _flatten(states))

    def _create_states(self, input_shape):
        batch = input_shape[0]
        if batch is None:
            _Recurrent._create_states(self, input_shape)      # raises Keras's error with the fix
        self.states = [np.zeros((batch, size), FLOATX) for size in self.state_sizes]

    def _start_states(self, initial_state, batch, dtype):
        """The flat list of start states: given, carried (stateful), or the cell's initial states."""
        if initial_state is None and not self.stateful:
            initial_state = self.get_initial_state(batch)
        elif initial_state is not None:
            initial_state = _flatten(initial_state)
        return _Recurrent._start_states(self, initial_state, batch, dtype)

    # ----- computation ----------------------------------------------------------------------------------------

    def _apply(self, x, training, need_input_grad, mask=None, initial_state=None):
        self.check_input_shape(x)
        if self._fused is not None:
            return self._apply_fused(x, training, need_input_grad, mask, initial_state)
        return _apply_with_tape(self, x, training, need_input_grad, mask, initial_state)

    def _apply_fused(self, x, training, need_input_grad, mask, initial_state):
        fused = self._fused
        states = None if initial_state is None else _flatten(initial_state)
        y, fused_backprop = fused._apply(x, training, need_input_grad, mask=mask, initial_state=states)
        if self.stateful:
            self.states = fused.states

        def backprop(grad_output):
            grads = fused_backprop(grad_output)
            self.grads = fused.grads
            self.cell.grads = fused.grads
            return grads

        return y, backprop

    # ----- configuration --------------------------------------------------------------------------------------

    def get_config(self):
        return super().get_config() | {
            "cell": {"class_name": type(self.cell).__name__, "config": self.cell.get_config()},
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = config.pop("cell")
        if isinstance(cell, dict):
            cell = LAYERS.deserialize(cell, custom_objects)
        return cls(cell, **config)

    def __repr__(self):
        return f"<RNN name={self.name!r}, cell={self.cell!r}, return_sequences={self.return_sequences}>"


def _apply_with_tape(layer, x, training, need_input_grad, mask, initial_state):
    """Run the cell over the time steps while a tape records; backprop through time with the tape."""
    from nbtrain.ops.autodiff import GradientTape, Tensor

    batch, steps = x.shape[:2]
    dtype = np.result_type(x.dtype, *[w.dtype for w in layer._weights.values()]) if layer._weights else x.dtype
    given_states = initial_state is not None
    start = layer._start_states(initial_state, batch, dtype)
    mask = _Recurrent._standardize_mask(layer, mask, batch, steps)
    order = list(range(steps - 1, -1, -1)) if layer.go_backwards else list(range(steps))
    cell, structure = layer.cell, layer.cell.state_size
    keywords = {"training": bool(training)} if _takes_training(type(cell)) else {}
    masked_output_state = _masked_output_state(cell)
    tape = GradientTape()
    with tape:
        step_inputs = [np.ascontiguousarray(x[:, t], dtype=dtype) for t in order]
        if need_input_grad:
            step_inputs = [tape.watch(step) for step in step_inputs]
        states = [tape.watch(s) for s in start] if given_states and need_input_grad else list(start)
        first_states = list(states)
        outputs = []
        for index, t in enumerate(order):
            nested = _nested(states, structure) if isinstance(structure, (list, tuple)) else states
            output, new_states = cell.call(step_inputs[index], nested, **keywords)
            new_states = _flatten(new_states)
            if len(new_states) != len(states):
                raise ValueError(f"The cell of RNN layer '{layer.name}' returned {len(new_states)} state(s) from "
                                 f"call(), but its state_size {structure!r} declares {len(states)}.")
            if mask is not None and not mask[:, t].all():
                output, new_states = _masked_step(layer, mask[:, t], output, new_states, states, outputs,
                                                  masked_output_state)
            outputs.append(output)
            states = new_states
        sequence = _stack(outputs) if layer.return_sequences else outputs[-1]
    result = [sequence] + list(states) if layer.return_state else [sequence]
    values = [np.asarray(_value(r), dtype=dtype) for r in result]
    if layer.stateful:      # the next call starts where this one ended (no gradient flows between calls)
        for kept, state in zip(layer.states, states):
            kept[...] = _value(state)
    owners = _weight_owners(layer)

    def backprop(grad_output):
        grads = list(grad_output) if layer.return_state else [grad_output]
        targets = [(r, g) for r, g in zip(result, grads) if g is not None and isinstance(r, Tensor)]
        variables = [custom_call.layer_variable(owner, name) for owner, name, _ in owners] if layer.trainable else []
        sources = (list(step_inputs) if need_input_grad else []) + \
                  (list(first_states) if given_states and need_input_grad else []) + variables
        found = tape.gradient([t for t, _ in targets], sources, output_gradients=[g for _, g in targets]) \
            if targets else [None] * len(sources)
        for (owner, name, key), grad in zip(owners if layer.trainable else [], found[len(sources) - len(variables):]):
            weight = layer._weights[key]
            layer.grads[key] = np.zeros_like(weight) if grad is None else np.asarray(grad, weight.dtype)
        if not need_input_grad:
            return [None] * (1 + len(start)) if given_states else None
        step_grads = [np.zeros((batch,) + x.shape[2:], dtype) if g is None else np.asarray(g, dtype)
                      for g in found[:steps]]
        if layer.go_backwards:
            step_grads = step_grads[::-1]
        dx = np.stack(step_grads, axis=1)
        if not given_states:
            return dx
        state_grads = [np.zeros_like(s) if g is None else np.asarray(g, dtype)
                       for g, s in zip(found[steps:steps + len(start)], start)]
        return [dx] + state_grads

    return (values if layer.return_state else values[0]), backprop


def _weight_owners(layer):
    """``(cell, weight name in the cell, weight name in the RNN layer)`` for every trainable weight."""
    cell = layer.cell
    if isinstance(cell, StackedRNNCells):
        owners = cell.weight_owners()
    else:
        owners = [(cell, name, name) for name in getattr(cell, "_weights", {})]
    trainable = set(layer._trainable_weight_names)
    return [entry for entry in owners if entry[2] in trainable]


def _masked_output_state(cell) -> int:
    """Keras's choice of "the previous output" at a masked step: the first state (of the last cell if stacked)."""
    if isinstance(cell, StackedRNNCells):
        return sum(len(_state_sizes(c.state_size, "cell")) for c in cell.cells[:-1])
    return 0


def _masked_step(layer, real, output, new_states, states, outputs, state_index):
    """Masked rows keep their states; their output is zeros (zero_output_for_mask) or the previous output."""
    from nbtrain import ops

    keep = real[:, None]
    new_states = [ops.where(keep, new, old) for new, old in zip(new_states, states)]
    if layer.zero_output_for_mask:
        previous = np.zeros(np.shape(_value(output)), np.asarray(_value(output)).dtype)
    elif np.shape(_value(states[state_index])) == np.shape(_value(output)):
        previous = states[state_index]
    else:
        previous = outputs[-1] if outputs else np.zeros(np.shape(_value(output)), np.asarray(_value(output)).dtype)
    return ops.where(keep, output, previous), new_states


def _value(x):
    return getattr(x, "value", x)


def _stack(outputs):
    from nbtrain import ops

    return ops.stack(outputs, axis=1)


__all__ = ["GRUCell", "LSTMCell", "RNN", "SimpleRNNCell", "StackedRNNCells"]
