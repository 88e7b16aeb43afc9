"""Recurrent layers (SimpleRNN, LSTM, GRU) and the Bidirectional and TimeDistributed wrappers.

How the recurrent layers are computed, so that pure NumPy stays fast:

- Data are switched to time-major order ``(time, batch, features)`` once, so every time step is one
  contiguous block.
- The input projection of ALL time steps is one matrix product, ``(T*B, in) @ kernel``, before the loop.
  The loop itself does one fused product per step for the recurrent part (``h @ recurrent_kernel``, all gates
  at once) plus a few in-place element-wise operations.
- Backpropagation through time is a handful of element-wise operations and one matrix product per step. The
  kernel and recurrent-kernel gradients are one matrix product each after the loop, over the stacked inputs
  and hidden states.
- LSTM goes further (its loops are most of a recurrent model's time): it works feature-major, every gate and
  state of a step a contiguous (units, batch) block; while there are no more features than units, each
  step's single product takes ``[x_t; h_t; 1]`` (projection, recurrent part and bias at once) and the three
  weight gradients are one product; and its sequence-sized arrays are reused from one call to the next
  (:class:`_Workspace`), which saves the page faults of fresh multi-MB arrays for every batch.

Masks (from ``Embedding(mask_zero=True)`` or ``Masking``) are boolean ``(batch, time)``, True for real data.
A masked step keeps the previous state; with ``return_sequences=True`` it also repeats the previous output
(Keras's default), so the final state is the state after the last real step.

``initial_state=[h]`` (LSTM: ``[h, c]``; Bidirectional: the forward layer's states, then the backward layer's)
starts the recurrence from given states instead of zeros: arrays, or symbolic tensors in a functional model
(an encoder's ``return_state=True`` outputs), which then receive gradients. ``stateful=True`` starts each call
from the final states of the previous one.

``return_state=True`` makes ``forward`` return a list ``[output, h]`` (LSTM: ``[output, h, c]``) and
``backward`` accept a list of gradients (None for an output that receives none). A ``Sequential`` model has
one output per layer, so use it with the functional API (``Model(inputs, outputs)``) or when driving layers
directly.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from nbtrain import activations as activations_module
from nbtrain.layers.core import ActivatedLayer
from nbtrain.layers.layer import FLOATX, LAYERS, Layer, column_sums
from nbtrain.utils import compiled
from nbtrain.utils.checks import number, positive_int
from nbtrain.utils.random import make_generator

# Keras arguments that nbtrain accepts but that change nothing here.
_IGNORED_ARGUMENTS = ("unroll", "implementation", "use_cudnn", "time_major")
_NOT_ELEMENTWISE = ("softmax", "log_softmax", "sparsemax")


class _Elementwise:
    """An element-wise activation applied in place to a block of a gate buffer, with a batched derivative.

    The built-in sigmoid and tanh get in-place fast paths (sigmoid as ``0.5 * tanh(0.5 z) + 0.5``, which
    is stable for any z and needs no temporary arrays); any other activation goes through its
    :class:`~nbtrain.activations.ActivationFunction`.
    """

    def __init__(self, fn, layer: str, what: str):
        self.fn = activations_module.get(fn)
        if self.fn.name in _NOT_ELEMENTWISE:
            raise ValueError(f"{layer}() needs an element-wise {what}, got '{self.fn.name}'. "
                             f"Use e.g. 'tanh' or 'sigmoid', and apply {self.fn.name} in a Dense layer afterwards.")
        self.kind = {id(activations_module.tanh): "tanh", id(activations_module.sigmoid): "sigmoid",
                     id(activations_module.linear): "linear"}.get(id(self.fn))
        # Only a general activation whose derivative needs its input makes the layer keep pre-activations.
        self.needs_input = self.kind is None and self.fn.needs_input

    def apply(self, z: np.ndarray, out: np.ndarray) -> None:
        """Write activation(z) into ``out`` (which may be ``z`` itself)."""
        if self.kind == "tanh":
            np.tanh(z, out=out)
        elif self.kind == "sigmoid":
            np.multiply(z, 0.5, out=out)
            np.tanh(out, out=out)
            out *= 0.5
            out += 0.5
        elif self.kind == "linear":
            if out is not z:
                np.copyto(out, z)
        else:
            out[...] = self.fn(z)

    def derivative(self, pre, post) -> np.ndarray:
        """f'(pre) for a whole stack of steps at once, given ``post = f(pre)`` (``pre`` only if needed)."""
        # In place on one new array: these are sequence-sized, and a temporary per operation is one more pass
        # through memory. np.square(x) is one read of x where np.multiply(x, x) reads it twice.
        if self.kind == "tanh":
            slope = np.square(post)
            np.subtract(1, slope, out=slope)
            return slope
        if self.kind == "sigmoid":
            slope = np.subtract(1, post)
            slope *= post
            return slope
        if self.kind == "linear":
            return np.ones_like(post)
        return self.fn.backward(np.ones_like(post), pre, post)


class _StepMask:
    """A (batch, time) mask in the time-major forms the loops use; None stands for 'no masked step'."""

    def __init__(self, mask_bt: np.ndarray, dtype):
        mask = np.ascontiguousarray(mask_bt.T)[:, :, None]            # (T, B, 1) bool
        self.masked = ~mask
        self.step_has_masked = self.masked.any(axis=(1, 2)).tolist()  # plain bools: cheap to test per step
        self.real = mask.astype(dtype)                                # 1.0 where the step is real data
        self.keep = self.masked.astype(dtype)                         # 1.0 where the state is carried

    def carry(self, t: int, new: np.ndarray, previous: np.ndarray) -> None:
        """Masked rows keep the previous state: overwrite them in ``new`` (in place)."""
        if self.step_has_masked[t]:
            np.copyto(new, previous, where=self.masked[t])


class _Recurrent(Layer):
    """Shared machinery of SimpleRNN, LSTM and GRU: shapes, masks, dropout, time order and output handling.

    A subclass sets ``_state_count`` (LSTM: 2) and implements ``_create_weights``, ``_scan`` (the forward loop
    over the time-major input projections) and ``_bptt`` (backpropagation through time).
    """

    supports_masking = True
    is_recurrent_layer = True       # what Bidirectional wraps (RNN(cell) too)
    _state_count = 1
    call_arguments = ("initial_state", "mask", "training")     # Keras's call(sequences, initial_state, mask, ...)
    tensor_call_arguments = ("initial_state",)

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, zero_output_for_mask=False, **kwargs):
        cls = type(self).__name__
        for name in _IGNORED_ARGUMENTS:
            kwargs.pop(name, None)
        super().__init__(**kwargs)
        self.units = positive_int(units, "units", cls)
        self._activation = _Elementwise(activation, cls, "activation")
        self.activation = self._activation.fn
        self.use_bias = bool(use_bias)
        self.set_weight_options("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        self.set_weight_options("recurrent", recurrent_initializer, recurrent_regularizer, recurrent_constraint)
        self.set_weight_options("bias", bias_initializer, bias_regularizer, bias_constraint)
        self.dropout = number(dropout, "dropout", cls, low=0, high=1, high_open=True)
        self.recurrent_dropout = number(recurrent_dropout, "recurrent_dropout", cls, low=0, high=1, high_open=True)
        self.seed = seed
        self._rng = make_generator(seed)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.states = None          # stateful: the states carried from one call (batch) to the next
        self.zero_output_for_mask = bool(zero_output_for_mask)

    def _add_weights(self, kernel_shape, recurrent_shape, bias_shape, bias_initializer=None):
        """kernel, recurrent_kernel and (with use_bias) bias, in Keras's order, with regularizers/constraints."""
        self.add_weight_with_options("kernel", kernel_shape)
        self.add_weight_with_options("recurrent_kernel", recurrent_shape, "recurrent")
        if self.use_bias:
            self.add_weight_with_options("bias", bias_shape, initializer=bias_initializer)

    # ----- shapes ---------------------------------------------------------------------------------------

    def input_mismatch_hint(self, shape) -> str:
        """How to turn data of ``shape`` into ``(batch, timesteps, features)`` (models add it to their errors)."""
        shape = tuple(shape)
        if len(shape) == 2:
            batch, features = ("n_samples" if shape[0] is None else shape[0]), shape[1]
            built = self.input_shape
            if built is not None and None not in built[1:] and built[1] * built[2] == features:
                return f"Reshape x to ({batch}, {built[1]}, {built[2]}) with x.reshape(-1, {built[1]}, {built[2]})."
            return (f"Add a time axis: for {features} time steps of one feature use x[..., None] (shape "
                    f"({batch}, {features}, 1)) or put Reshape(({features}, 1)) before it; for one time step of "
                    f"{features} features use x[:, None, :] or Reshape((1, {features})).")
        if len(shape) > 3:
            return "Flatten the feature axes with Reshape((timesteps, -1)) or wrap the layers before it in " \
                   "TimeDistributed(...)."
        if self.input_shape is not None and len(shape) == 3:
            return f"Give every time step {self.input_shape[-1]} features (last axis)."
        return ""

    def _shape_error(self, shape) -> ValueError:
        shape = tuple(shape)
        hint = self.input_mismatch_hint(shape)
        return ValueError(f"{type(self).__name__} layer '{self.name}' expects inputs of shape "
                          f"(batch, timesteps, features) but got shape {shape}.{' ' + hint if hint else ''}")

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise self._shape_error(input_shape)
        if input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' needs a known number of features "
                             f"(last axis), got input shape {input_shape}.")
        self._create_weights(input_shape[-1])
        if self.stateful:
            self._create_states(input_shape)
        super().build(input_shape)

    # ----- states: initial_state and stateful=True ---------------------------------------------------------

    @property
    def _state_names(self) -> str:
        return "[h, c]" if self._state_count == 2 else "h"

    def _create_states(self, input_shape):
        batch = input_shape[0]
        if batch is None:
            raise ValueError(
                f"When using `stateful=True` in a RNN, the batch size must be static. Found dynamic batch size: "
                f"sequence.shape={tuple(input_shape)}. {type(self).__name__} layer '{self.name}' carries one state "
                f"per sample from batch to batch, so give the model a fixed batch size: "
                f"Input(shape={tuple(input_shape[1:])}, batch_size=32) (or batch_input_shape=(32, "
                f"{', '.join(str(d) for d in input_shape[1:])}) on the first layer of a Sequential), and pass "
                f"batch_size=32 and shuffle=False to fit().")
        self.states = [np.zeros((batch, self.units), FLOATX) for _ in range(self._state_count)]

    def reset_state(self, states=None):
        """Set the states of a ``stateful=True`` layer back to zeros (or to ``states``, one array per state),
        as between two independent sequences."""
        if not self.stateful:
            raise AttributeError(f"{type(self).__name__} layer '{self.name}' is not stateful: it starts every call "
                                 f"from zeros (or from initial_state), so it has no state to reset. Create it with "
                                 f"stateful=True to carry states from batch to batch.")
        if self.states is None:
            raise RuntimeError(f"{type(self).__name__} layer '{self.name}' has no states yet: it creates them when "
                               f"it is built (on its first call, or in a model with a fixed batch size).")
        if states is None:
            for state in self.states:
                state.fill(0)
            return
        given = self._state_list(states)
        self.check_initial_state([np.shape(g) for g in given], (self.states[0].shape[0], None, None))
        for state, value in zip(self.states, given):
            state[...] = value

    def reset_states(self, states=None):
        """Keras's other name of :meth:`reset_state`."""
        self.reset_state(states)

    def get_initial_state(self, batch_size):
        """The zero states a call starts from without ``initial_state``: a list of ``(batch_size, units)`` arrays."""
        return [np.zeros((batch_size, self.units), FLOATX) for _ in range(self._state_count)]

    @staticmethod
    def _state_list(initial_state) -> list:
        return list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]

    def check_initial_state(self, state_shapes, input_shape):
        """Refuse initial states of the wrong number or shape (``state_shapes`` one per given state)."""
        count, cls = self._state_count, type(self).__name__
        if len(state_shapes) != count:
            raise ValueError(f"{cls} layer '{self.name}' takes {count} initial state(s) ({self._state_names}, each of "
                             f"shape (batch, {self.units})), got {len(state_shapes)}.")
        batch = input_shape[0]
        for shape in state_shapes:
            shape = tuple(shape)
            if len(shape) != 2 or shape[1] != self.units or (None not in (batch, shape[0]) and shape[0] != batch):
                raise ValueError(f"{cls} layer '{self.name}' takes initial states of shape (batch, {self.units}) = "
                                 f"({batch}, {self.units}), got a state of shape {shape}.")

    def _start_states(self, initial_state, batch, dtype):
        """The states the scan starts from (None: zeros), as arrays of ``dtype``."""
        if initial_state is None:
            if not self.stateful:
                return None
            expected = self.states[0].shape[0]
            if batch != expected:
                raise ValueError(
                    f"If an RNN is stateful, the batch size of the input sequences must be the same as the batch "
                    f"size of the initial state. Expected batch size: {expected}, received batch size: {batch}. "
                    f"{type(self).__name__} layer '{self.name}' is stateful: pass batch_size={expected} to fit(), "
                    f"evaluate() and predict(), with a number of samples that is a multiple of it.")
            initial_state = self.states
        states = self._state_list(initial_state)
        self.check_initial_state([np.shape(s) for s in states], (batch, None, None))
        return [np.asarray(s, dtype=dtype) for s in states]

    def _keep_final_states(self, cache):
        """stateful=True: the next call starts where this one ended (no gradient flows between calls)."""
        for state, values in zip(self.states, self._final_states(cache)):
            state[...] = values[-1]

    def check_input_shape(self, x):
        if x.ndim != 3:
            raise self._shape_error(x.shape)
        features = self._weights["kernel"].shape[0]
        if x.shape[-1] != features:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' expects {features} features per time "
                             f"step (last axis) but got inputs of shape {x.shape}.")
        if x.shape[1] == 0:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' received sequences with 0 time steps.")

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [output] + [(batch, self.units)] * self._state_count
        return output

    def compute_mask(self, inputs, mask):
        # With return_state the models give this one mask to every output; only a 3-D sequence uses it.
        return mask if self.return_sequences else None

    # ----- forward --------------------------------------------------------------------------------------

    def _apply(self, x, training, need_input_grad, mask=None, initial_state=None):
        self.check_input_shape(x)
        batch, steps, features = x.shape
        kernel = self._weights["kernel"]
        dtype = np.result_type(x.dtype, kernel.dtype)
        given_states = initial_state is not None
        start = self._start_states(initial_state, batch, dtype)
        mask = self._standardize_mask(mask, batch, steps)
        if self.go_backwards:
            x = x[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        xt = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype)        # (T, B, in)
        input_drop, state_drop = self._dropout_masks(batch, features, training, dtype)
        if input_drop is not None:
            xt *= input_drop
        projection = self._project(xt)
        step_mask = None if mask is None else _StepMask(mask, dtype)
        cache = self._scan(projection, step_mask, state_drop, start)
        # The start states' gradients are returned only for a given initial_state, and only when asked for.
        cache.update(xt=xt, input_drop=input_drop, state_drop=state_drop, step_mask=step_mask,
                     start_grads_wanted=given_states and need_input_grad)
        if self.stateful:
            self._keep_final_states(cache)

        def backprop(grad_output):
            dx = self._backprop_through_time(cache, grad_output, need_input_grad)
            if not given_states:
                return dx
            # Called with initial_state: one gradient per input, the sequences' then each start state's.
            return [dx] + (cache["start_grads"] if need_input_grad else [None] * self._state_count)

        return self._outputs(cache), backprop

    def _standardize_mask(self, mask, batch, steps):
        if mask is None:
            return None
        mask = np.asarray(mask)
        if mask.shape != (batch, steps):
            raise ValueError(f"{type(self).__name__} layer '{self.name}' received a mask of shape {mask.shape}; "
                             f"expected (batch, timesteps) = {(batch, steps)}.")
        mask = mask.astype(bool, copy=False)
        return None if mask.all() else mask

    def _dropout_masks(self, batch, features, training, dtype):
        """Keras semantics: one input mask and one state mask per call, the same at every time step."""
        input_drop = state_drop = None
        if training and self.dropout > 0:
            keep = self._rng.random((batch, features)) >= self.dropout
            input_drop = keep.astype(dtype) / dtype.type(1 - self.dropout)
        if training and self.recurrent_dropout > 0:
            keep = self._rng.random((batch, self.units)) >= self.recurrent_dropout
            state_drop = keep.astype(dtype) / dtype.type(1 - self.recurrent_dropout)
        return input_drop, state_drop

    def _input_parameters(self):
        """The kernel and input bias (None without bias) of the input projection."""
        return self._weights["kernel"], self._weights["bias"] if self.use_bias else None

    def _project(self, xt):
        """The input projections ``x_t @ kernel + bias`` of all steps ``(T, B, gates*u)``, as one matrix product."""
        steps, batch, features = xt.shape
        kernel, bias = self._input_parameters()
        projection = (xt.reshape(steps * batch, features) @ kernel).reshape(steps, batch, -1)
        if bias is not None:
            projection += bias
        return projection

    def _outputs(self, cache):
        hidden = cache["H"]                                      # (T+1, B, u), hidden[0] is the zero state
        if self.return_sequences:
            sequence = hidden[1:]
            if self.zero_output_for_mask and cache["step_mask"] is not None:
                sequence = sequence * cache["step_mask"].real
            output = np.array(sequence.transpose(1, 0, 2), order="C")   # a copy: the states array is reused
        else:
            output = hidden[-1].copy()
        if self.return_state:
            return [output] + [state[-1].copy() for state in self._final_states(cache)]
        return output

    def _final_states(self, cache):
        return [cache["H"]]

    # ----- backward -------------------------------------------------------------------------------------

    def _backprop_through_time(self, cache, grad_output, need_input_grad):
        """One call's backward pass, from the ``cache`` its forward pass filled."""
        if not self.trainable and not need_input_grad:
            return None
        xt = cache["xt"]
        steps, batch, features = xt.shape
        dtype = xt.dtype
        grad_sequence, state_grads = self._split_gradients(grad_output)

        dH = None
        last = [np.zeros((batch, self.units), dtype) for _ in range(self._state_count)]
        if grad_sequence is not None:
            grad_sequence = np.asarray(grad_sequence, dtype=dtype)
            if self.return_sequences:
                dH = grad_sequence.transpose(1, 0, 2)            # time-major view
                if self.zero_output_for_mask and cache["step_mask"] is not None:
                    dH = dH * cache["step_mask"].real
            else:
                last[0] += grad_sequence
        for index, grad in enumerate(state_grads):
            if grad is not None:
                last[index] += np.asarray(grad, dtype=dtype)

        d_projection = self._bptt(cache, dH, last)               # (T, B, gates*u)
        flat = d_projection.reshape(steps * batch, -1)
        if self.trainable:
            self._input_weight_gradients(xt, flat, cache)
        if not need_input_grad:
            return None
        dxt = (flat @ self._kernel_for_input_gradient().T).reshape(steps, batch, features)
        if cache["input_drop"] is not None:
            dxt *= cache["input_drop"]
        dx = dxt.transpose(1, 0, 2)
        if self.go_backwards:
            dx = dx[:, ::-1]
        return np.ascontiguousarray(dx)

    def _kernel_for_input_gradient(self):
        """The kernel with its columns in the order of the gate gradients ``_bptt`` returns."""
        return self._weights["kernel"]

    def _split_gradients(self, grad_output):
        if not self.return_state:
            return grad_output, []
        grads = list(grad_output) if isinstance(grad_output, (list, tuple)) else [grad_output]
        expected = 1 + self._state_count
        if len(grads) != expected:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' has return_state=True and {expected} "
                             f"outputs, so backward() needs a list of {expected} gradients (None allowed), "
                             f"got {len(grads)}.")
        return grads[0], grads[1:]

    def _input_weight_gradients(self, xt, flat, cache):
        """Store the kernel's and the bias's gradients (``_bptt`` stores the recurrent kernel's)."""
        self._store_product_gradient("kernel", xt.reshape(-1, xt.shape[-1]).T, flat)
        if self.use_bias:
            self._bias_gradient(flat, cache)

    def _bias_gradient(self, flat, cache):
        column_sums(flat, out=self.grad_buffer("bias"))

    def _store_product_gradient(self, name, a, b):
        """Store the gradient ``a @ b`` in its gradient buffer."""
        np.matmul(a, b, out=self.grad_buffer(name))

    def _recurrent_kernel_gradient(self, state_inputs, d_recurrent):
        """dL/dU as ONE product over all steps: stacked (dropped-out) previous states times gate gradients."""
        self._store_product_gradient("recurrent_kernel", state_inputs.reshape(-1, self.units).T,
                                     d_recurrent.reshape(-1, d_recurrent.shape[-1]))

    # ----- configuration -------------------------------------------------------------------------------

    def get_config(self):
        return super().get_config() | {
            "units": self.units,
            "activation": activations_module.serialize(self.activation),
            "use_bias": self.use_bias,
            **self.weight_options_config("kernel", "recurrent", "bias"),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    def __repr__(self):
        return (f"<{type(self).__name__} name={self.name!r}, units={self.units}, "
                f"return_sequences={self.return_sequences}>")


class _Lease:
    """The big arrays one layer call uses, and the views its loops keep of them (under tuple keys); the call's
    cache holds the lease for as long as its backward may run."""

    def __init__(self, arrays: dict):
        self._arrays = arrays

    def array(self, name, shape, dtype) -> np.ndarray:
        """An uninitialized array (a kept one when its shape and dtype fit)."""
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            if array is not None:  # kept views of the old array would keep it alive: they are made again
                for key in [key for key in self._arrays if isinstance(key, tuple)]:
                    del self._arrays[key]
            array = self._arrays[name] = np.empty(shape, dtype)
        return array

    def views(self, name, sources, make):
        """``make(*sources)``, kept with the arrays and made again only when a source is a new array.

        For the views a loop takes of each step's blocks: made once, they spare every step of every batch the
        slicing (a few microseconds per step, about 1% of an LSTM batch).
        """
        kept = self._arrays.get(("views", name))
        if kept is not None and all(a is b for a, b in zip(kept[0], sources)):
            return kept[1]
        made = make(*sources)
        self._arrays[("views", name)] = (tuple(sources), made)
        return made


class _Workspace:
    """Sequence-sized arrays that a layer reuses from one call to the next.

    Fresh arrays of several MB for every batch cost page faults (the C allocator hands big blocks back to the
    system when they are freed, and each new one is faulted in and zeroed page by page): a fifth of an LSTM
    epoch's CPU time. A call takes a lease on the kept arrays; they are handed out again only after that
    lease is gone (the call's cache, and with it its backward pass, was dropped). A call that overlaps one
    still alive (a layer shared twice in one model, another thread) gets arrays of its own.
    """

    _by_layer = weakref.WeakKeyDictionary()        # not a layer attribute: pickles and copies stay small
    _lock = threading.Lock()

    def __init__(self):
        self._arrays = {}
        self._lease = lambda: None                 # weak reference to the lease of the last call

    @classmethod
    def lease(cls, layer) -> _Lease:
        with cls._lock:
            workspace = cls._by_layer.get(layer)
            if workspace is None:
                workspace = cls._by_layer[layer] = cls()
            if workspace._lease() is not None:
                return _Lease({})
            lease = _Lease(workspace._arrays)
            workspace._lease = weakref.ref(lease)
            return lease


def _new_states(steps, batch, units, dtype, lease=None, start=None):
    """The states of every step, ``[0]`` the start state (zeros, or ``start`` from initial_state)."""
    shape = (steps + 1, batch, units)
    states = np.empty(shape, dtype) if lease is None else lease.array("H", shape, dtype)
    states[0] = 0 if start is None else start
    return states


def _start(start, index):
    return None if start is None else start[index]


class SimpleRNN(_Recurrent):
    """A fully connected recurrent layer: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.

    Args:
        units: size of the hidden state (and of the output's last axis).
        activation: element-wise activation, default ``"tanh"``.
        use_bias: whether to add a bias vector.
        kernel_initializer: initializer of ``kernel`` (in, units), default ``"glorot_uniform"``.
        recurrent_initializer: initializer of ``recurrent_kernel`` (units, units), default ``"orthogonal"``.
        bias_initializer: initializer of ``bias`` (units,), default ``"zeros"``.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional penalties, e.g. ``"l2"``.
        kernel_constraint, recurrent_constraint, bias_constraint: optional constraints, e.g. ``"max_norm"``.
        dropout: fraction of input features dropped in training (one mask per batch, the same at every step).
        recurrent_dropout: fraction of the state dropped before the recurrent product in training.
        seed: an int makes the dropout masks repeatable.
        return_sequences: return the whole sequence ``(batch, timesteps, units)`` instead of the last output.
        return_state: also return the final state (``forward`` then returns a list).
        go_backwards: process the sequence in reverse (returned sequences stay in processing order, as Keras).
        stateful: carry the final states of each batch into the next (needs a fixed batch size: ``Input(...,
            batch_size=32)``); ``reset_states()`` zeros them.

    Example:
        >>> layer = SimpleRNN(4, return_sequences=True)
        >>> layer(np.zeros((2, 3, 5), dtype="float32")).shape
        (2, 3, 4)
    """

    def _create_weights(self, features):
        units = self.units
        self._add_weights((features, units), (units, units), (units,))

    def _scan(self, projection, step_mask, state_drop, start=None):
        steps, batch, units = projection.shape
        lease = _Workspace.lease(self)
        U = self._weights["recurrent_kernel"]
        H = _new_states(steps, batch, units, projection.dtype, lease, _start(start, 0))
        dropped = None if state_drop is None else lease.array("dropped", (steps, batch, units), projection.dtype)
        recurrent = np.empty((batch, units), projection.dtype)
        activation = self._activation
        # With a derivative that needs its input, keep the pre-activations; else activate in place.
        pre = projection.copy() if activation.needs_input else None
        for t in range(steps):
            h = H[t] if state_drop is None else np.multiply(H[t], state_drop, out=dropped[t])
            z = projection[t]
            z += np.matmul(h, U, out=recurrent)
            activation.apply(z, out=H[t + 1])
            if step_mask is not None:
                step_mask.carry(t, H[t + 1], H[t])
        return {"H": H, "pre": pre, "dropped": dropped, "lease": lease}

    def _bptt(self, cache, dH, last):
        H, step_mask, state_drop = cache["H"], cache["step_mask"], cache["state_drop"]
        steps, batch, units = H.shape[0] - 1, H.shape[1], H.shape[2]
        lease = cache["lease"]
        # The derivative of the activation at every step, computed at once.
        if self._activation.kind == "tanh":
            slope = np.multiply(H[1:], H[1:], out=lease.array("slope", (steps, batch, units), H.dtype))
            np.subtract(1, slope, out=slope)
        else:
            slope = self._activation.derivative(cache["pre"], H[1:])
        UT = np.ascontiguousarray(self._weights["recurrent_kernel"].T)
        dZ = lease.array("dZ", (steps, batch, units), H.dtype)
        dh, wanted = last[0], cache["start_grads_wanted"]
        for t in range(steps - 1, -1, -1):
            if dH is not None:
                dh = dh + dH[t]
            carried = None
            if step_mask is not None and step_mask.step_has_masked[t]:
                carried = dh * step_mask.keep[t]
                dh = dh * step_mask.real[t]
            np.multiply(dh, slope[t], out=dZ[t])
            if t == 0 and not wanted:
                break                                    # the start state's gradient is not returned
            dh = dZ[t] @ UT
            if state_drop is not None:
                dh *= state_drop
            if carried is not None:
                dh += carried
        if wanted:
            cache["start_grads"] = [dh]
        if self.trainable:
            self._recurrent_kernel_gradient(H[:-1] if state_drop is None else cache["dropped"], dZ)
        return dZ


_GATE_CHUNK = 8   # steps whose gate gradients LSTM's backward pass gathers before storing them
# Cell values per batch (steps x units x batch) from which the LSTM's steps run compiled: below it, the first
# fit's wait for Numba (about a second, once per session) outweighs what the loops save.
_COMPILED_MIN_SIZE = 1 << 17


def _compiled_loop(name, cell_out):
    """The LSTM's compiled step loop ``name`` (:mod:`nbtrain.layers._compiled`) if it applies here, else None."""
    loops = compiled.loops_for("nbtrain.layers._compiled", cell_out, _COMPILED_MIN_SIZE)
    return None if loops is None else getattr(loops, name)


class LSTM(_Recurrent):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber, 1997), with Keras's weights and gate order.

    Weights: ``kernel`` (in, 4*units), ``recurrent_kernel`` (units, 4*units), ``bias`` (4*units,), gates in the
    order input, forget, cell, output, so weights from Keras load with ``set_weights``. Each step::

        z = x @ kernel + h @ recurrent_kernel + bias
        i, f, o = recurrent_activation(z_i, z_f, z_o);  c = f * c + i * activation(z_c);  h = o * activation(c)

    Args:
        units: size of the hidden state ``h`` and cell state ``c``.
        activation: for the cell candidate and the output, default ``"tanh"``.
        recurrent_activation: for the gates, default ``"sigmoid"``.
        use_bias: whether to add a bias vector.
        kernel_initializer: default ``"glorot_uniform"``.
        recurrent_initializer: default ``"orthogonal"``.
        bias_initializer: default ``"zeros"``.
        unit_forget_bias: add 1 to the forget gate's bias at initialization (default True, as Keras).
        kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint, recurrent_constraint,
            bias_constraint: optional penalties and constraints per weight, as for :class:`SimpleRNN`.
        dropout, recurrent_dropout: fractions dropped from inputs / states in training; the masks are drawn
            once per batch and reused at every time step.
        seed: an int makes the dropout masks repeatable.
        return_sequences: return ``(batch, timesteps, units)`` instead of the last output ``(batch, units)``.
        return_state: return ``[output, h, c]`` (a list: for driving the layer directly or the functional API).
        go_backwards: process the sequence in reverse (returned sequences stay in processing order, as Keras).
        stateful: carry the final states of each batch into the next (needs a fixed batch size: ``Input(...,
            batch_size=32)``); ``reset_states()`` zeros them.

    Example:
        >>> layer = LSTM(8)
        >>> layer(np.zeros((2, 5, 3), dtype="float32")).shape
        (2, 8)
    """

    _state_count = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                         return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, **kwargs)
        self._recurrent_activation = _Elementwise(recurrent_activation, "LSTM", "recurrent_activation")
        self.recurrent_activation = self._recurrent_activation.fn
        self.unit_forget_bias = bool(unit_forget_bias)

    # Inside the loops the gates are ordered o, i, f, c (Keras: i, f, c, o): the three sigmoid gates are then
    # adjacent (one activation call) and so are the three gates that multiply dc in backpropagation.
    _KERAS_BLOCKS = (3, 0, 1, 2)

    def _create_weights(self, features):
        units = self.units
        self._add_weights((features, 4 * units), (units, 4 * units), (4 * units,), self._bias_values)

    def _bias_values(self, shape, dtype=FLOATX):
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        units = self.units
        return np.concatenate([self.bias_initializer((units,), dtype=dtype), np.ones(units, dtype=dtype),
                               self.bias_initializer((2 * units,), dtype=dtype)])

    @property
    def _fused(self) -> bool:
        """Sigmoid gates and tanh cell: then one tanh call activates all four gates (see _scan)."""
        return self._recurrent_activation.kind == "sigmoid" and self._activation.kind == "tanh"

    # The LSTM loops run "feature-major": every step's gates are a (4*units, batch) block and the states
    # (units, batch) blocks, so each gate is one contiguous block. Element-wise NumPy calls on the column slices
    # of a (batch, 4*units) block run row by row and cost about 4x as much; they were most of an epoch.

    def _project(self, xt):
        # The input projection is part of every step's product (see _stack_inputs).
        return xt

    def _stack_inputs(self, xt, lease, with_inputs):
        """The inputs of every step's product, stacked ``([features +] units [+ 1], T+1, B)``.

        With ``with_inputs``, step t multiplies ``[x_t; h_t; 1]`` (the 1 only with a bias), the (rows, B) block
        ``stacked[:, t]``, by ``[kernel; recurrent_kernel; bias]`` in ONE product: the input projection, the
        recurrent product and the bias together, with no sequence-sized projection to write and read back. That
        pays while there are no more features than units; with more, a separate projection of all steps at once
        is the faster product and the x rows are left out. ``_scan`` writes each new state into the next step's
        ``h`` rows (the last slot's x rows are unused). With time and batch adjacent, ``stacked[:, :T]`` is also
        the (rows, T*B) left factor of the weight gradients, all in one product.
        """
        steps, batch, features = xt.shape
        x_rows = features if with_inputs else 0
        rows = x_rows + self.units + (1 if self.use_bias else 0)
        stacked = lease.array("stacked", (rows, steps + 1, batch), xt.dtype)
        if with_inputs:
            stacked[:features, :steps] = xt.transpose(2, 0, 1)
            stacked[:features, steps] = 0
        if self.use_bias:
            stacked[-1] = 1
        return stacked, x_rows

    def _step_weights(self):
        """``[kernel; recurrent_kernel; bias]`` as (rows, 4*units) in loop order (see _stack_inputs).

        The loop multiplies by its transposed view (BLAS reads it as is). Built from gate blocks (slices): a
        fancy index of the columns, or a transposing copy, costs 5-8x as much.
        """
        parts = [self._weights["kernel"], self._weights["recurrent_kernel"]]
        if self.use_bias:
            parts.append(self._weights["bias"][None])
        weights = self._to_loop_order(np.concatenate(parts))
        if self._fused:
            # sigmoid(z) = 0.5 * tanh(z / 2) + 0.5: with the sigmoid gates' weights halved, one tanh over all
            # four gates serves both activations.
            weights[:, :3 * self.units] *= 0.5
        return weights

    def _gate_columns(self, block):
        """The columns of gate block ``block`` (0 to 3) in a (..., 4*units) array."""
        return slice(block * self.units, (block + 1) * self.units)

    def _to_loop_order(self, array):
        """A copy of ``array`` with its gate blocks (last axis) in loop order."""
        return np.concatenate([array[..., self._gate_columns(k)] for k in self._KERAS_BLOCKS], axis=-1)

    def _in_loop_order(self, name):
        """Weight ``name`` with its gate blocks in loop order."""
        return self._to_loop_order(self._weights[name])

    def _store_in_keras_order(self, name, loop_ordered):
        """Store the gradient ``loop_ordered`` (gate blocks in loop order) in Keras order, block by block.

        Four slice copies cost a seventh of one assignment through a fancy index of the columns.
        """
        target = self.grad_buffer(name)
        for loop_block, keras_block in enumerate(self._KERAS_BLOCKS):
            target[..., self._gate_columns(keras_block)] = loop_ordered[..., self._gate_columns(loop_block)]

    def _kernel_for_input_gradient(self):
        return self._in_loop_order("kernel")

    def _scan(self, xt, step_mask, state_drop, start=None):
        lease = _Workspace.lease(self)
        steps, batch, features = xt.shape
        units = self.units
        dtype = xt.dtype
        stacked, x_rows = self._stack_inputs(xt, lease, with_inputs=features <= units)
        weights = self._step_weights()                                  # (rows, 4u)
        projection = None
        if not x_rows:
            # All steps' input projections (and the bias) in one product, batch-major (T, B, 4u); each step
            # adds its transposed block to the recurrent product.
            projection = lease.array("projection", (steps, batch, 4 * units), dtype)
            np.matmul(xt.reshape(steps * batch, features), weights[:features],
                      out=projection.reshape(steps * batch, 4 * units))
            if self.use_bias:
                projection += weights[-1]
            weights = weights[features:features + units]
        weights = weights.T                                             # (4u, rows) view
        gate_fn, cell_fn, fused = self._recurrent_activation, self._activation, self._fused
        keep_pre = gate_fn.needs_input or cell_fn.needs_input
        gates = lease.array("gates", (steps, 4 * units, batch), dtype)  # activated gates o, i, f, c
        pre = lease.array("pre", gates.shape, dtype) if keep_pre else gates
        step_in = stacked[x_rows:x_rows + units]                         # (u, T+1, B): what meets recurrent_kernel
        step_rows = slice(None) if x_rows else slice(x_rows, x_rows + units)
        if state_drop is None:
            H, drop = step_in, None                                      # the states feed the products directly
        else:
            H, drop = lease.array("H", (units, steps + 1, batch), dtype), np.ascontiguousarray(state_drop.T)
        C = lease.array("C", (steps + 1, units, batch), dtype)
        H[:, 0] = 0 if start is None else start[0].T                   # the start states
        C[0] = 0 if start is None else start[1].T
        cell_out = lease.array("cell_out", (steps, units, batch), dtype)  # activation(c) of each step
        masked = None if step_mask is None else step_mask.masked.transpose(0, 2, 1)   # (T, 1, B)
        scratch = np.empty((units, batch), dtype)
        sig, cand = slice(0, 3 * units), slice(3 * units, 4 * units)
        compiled_gates = _compiled_loop("lstm_forward_gates", cell_out) if fused else None
        for t in range(steps):
            if drop is not None:
                np.multiply(H[:, t], drop, out=step_in[:, t])
            z, a = pre[t], gates[t]
            np.matmul(weights, stacked[step_rows, t], out=z)      # all four gates in one product
            if projection is not None:
                np.add(z, projection[t].T, out=z)
            if compiled_gates is not None:                     # the same operations in one pass (and the same bits)
                np.tanh(z, out=z)
                c = C[t + 1]
                compiled_gates(z, C[t], c)
            else:
                if fused:
                    np.tanh(z, out=z)
                    s = z[sig]
                    s *= 0.5
                    s += 0.5
                else:
                    gate_fn.apply(z[sig], out=a[sig])
                    cell_fn.apply(z[cand], out=a[cand])
                f, i, g = a[2 * units:3 * units], a[units:2 * units], a[cand]
                c = np.multiply(f, C[t], out=C[t + 1])
                c += np.multiply(i, g, out=scratch)
            o = a[:units]
            cell_fn.apply(c, out=cell_out[t])
            np.multiply(o, cell_out[t], out=H[:, t + 1])
            if masked is not None and step_mask.step_has_masked[t]:
                np.copyto(H[:, t + 1], H[:, t], where=masked[t])  # masked columns keep the previous state
                np.copyto(C[t + 1], C[t], where=masked[t])
        # "H" and "C" are (T+1, B, u) views, the layout the shared output code reads.
        return {"H": H.transpose(1, 2, 0), "C": C.transpose(0, 2, 1), "CF": C, "stacked": stacked, "x_rows": x_rows,
                "gates": gates, "pre": pre if keep_pre else None, "cell_out": cell_out, "lease": lease}

    def _final_states(self, cache):
        return [cache["H"], cache["C"]]

    def _bptt(self, cache, dH, last):
        step_mask = cache["step_mask"]
        steps, units, batch = cache["cell_out"].shape
        # Everything in feature-major order: (u, B) gradients, (T, 1, B) masks, (T, u, B) output gradients.
        dh, dc = (np.ascontiguousarray(grad.T) for grad in last)
        dH = None if dH is None else np.ascontiguousarray(dH.transpose(0, 2, 1))
        masks = None if step_mask is None else (step_mask.step_has_masked, step_mask.keep.transpose(0, 2, 1),
                                                step_mask.real.transpose(0, 2, 1))
        drop = None if cache["state_drop"] is None else np.ascontiguousarray(cache["state_drop"].T)
        # The gate gradients go to a (4u, T, B) array: (T*B, 4u) is then a transposed view, so the weight and
        # input gradients are single products over all steps without transposing copies.
        by_gate = cache["lease"].array("by_gate", (4 * units, steps, batch), cache["cell_out"].dtype)
        if self._fused and cache["pre"] is None:
            self._bptt_fused(cache, dH, dh, dc, masks, drop, by_gate)
        else:
            self._bptt_general(cache, dH, dh, dc, masks, drop, by_gate)
        return by_gate.transpose(1, 2, 0)                                         # (T, B, 4u) view

    def _input_weight_gradients(self, xt, flat, cache):
        """All weight gradients in one product: the stacked step inputs ``[x; h; 1]`` times the gate gradients."""
        units, stacked, x_rows = self.units, cache["stacked"], cache["x_rows"]
        # (rows, 4u) in loop column order, as the transpose of (4u, T*B) @ (T*B, rows): the faster product here.
        products = (flat.T @ stacked[:, :-1].reshape(stacked.shape[0], -1).T).T
        if x_rows:
            self._store_in_keras_order("kernel", products[:x_rows])
        else:
            self._store_in_keras_order("kernel", xt.reshape(-1, xt.shape[-1]).T @ flat)
        self._store_in_keras_order("recurrent_kernel", products[x_rows:x_rows + units])
        if self.use_bias:
            self._store_in_keras_order("bias", products[-1])

    def _bptt_fused(self, cache, dH, dh, dc, masks, drop, by_gate):
        """Backpropagation through time for sigmoid gates and a tanh cell (the defaults).

        Each step's derivatives are computed from that step's activated gates, right where they are used: the
        step's (units x batch) blocks stay in the CPU's cache, where derivatives of the whole sequence computed
        up front would stream several sequence-sized arrays through memory.
        """
        C, gates, cell_out = cache["CF"], cache["gates"], cache["cell_out"]
        steps, units, batch = cell_out.shape
        dtype = cell_out.dtype
        wanted = cache["start_grads_wanted"]
        U = self._in_loop_order("recurrent_kernel")    # (u, 4u)
        # The gate gradients of _GATE_CHUNK steps, each a contiguous (4u, B) block, go to by_gate's strided
        # (4u, T, B) layout in one copy per chunk: a copy per step, 4u rows of B values each far apart, cost
        # a twentieth of the epoch.
        lease = cache["lease"]
        chunk = lease.array("gate_chunk", (min(_GATE_CHUNK, steps), 4 * units, batch), dtype)
        slope = lease.array("slope", (3 * units, batch), dtype)  # sigmoid'(o, i, f) = a (1 - a)
        scratch = lease.array("scratch", (units, batch), dtype)
        o_, i_, f_, g_ = (slice(k * units, (k + 1) * units) for k in range(4))
        sig, ifg = slice(0, 3 * units), slice(units, 4 * units)
        step_views = lease.views("backward steps", (gates, cell_out, C), lambda gates, cell_out, C: [
            (gates[t], gates[t][sig], gates[t][o_], gates[t][i_], gates[t][f_], gates[t][g_], cell_out[t], C[t])
            for t in range(steps)])
        slot_views = lease.views("backward slots", (chunk,), lambda chunk: [
            (z, z[o_], z[i_], z[f_], z[g_], z[ifg].reshape(3, units, batch)) for z in chunk])
        slope_o, slope_i, slope_f = slope[o_], slope[i_], slope[f_]
        compiled_step = _compiled_loop("lstm_backward_step", cell_out)
        for t in range(steps - 1, -1, -1):
            # the step's gates (all four, o, i and f, and each), tanh(c_t) and c_{t-1}
            step_gates, a_sig, o, i, f, g, cell, c_prev = step_views[t]
            slot = t % len(chunk)
            z, z_o, z_i, z_f, z_g, dz = slot_views[slot]      # this step's gate gradients
            if dH is not None:
                dh += dH[t]
            carried = None
            if masks is not None and masks[0][t]:
                keep, real = masks[1][t], masks[2][t]
                carried = (dh * keep, dc * keep)
                dh *= real
                dc *= real
            to_previous = bool(t or wanted)                   # step 0's gradients only feed the start grads
            if compiled_step is not None:                     # the same operations in one pass (and the same bits)
                compiled_step(step_gates, cell, c_prev, dh, dc, z, to_previous)
            else:
                np.subtract(1, a_sig, out=slope)
                slope *= a_sig
                # dc += dh * o * tanh'(c), with tanh'(c) = 1 - tanh(c)^2 (np.square: one read of cell, where
                # np.multiply(cell, cell) reads it twice)
                np.square(cell, out=scratch)
                np.subtract(1, scratch, out=scratch)
                scratch *= o
                scratch *= dh
                dc += scratch
                # dz_o = dh tanh(c) o';  dz_i = dc g i';  dz_f = dc c_prev f';  dz_g = dc i (1 - g^2)
                np.multiply(dh, cell, out=z_o)
                z_o *= slope_o
                np.multiply(g, slope_i, out=z_i)
                np.multiply(c_prev, slope_f, out=z_f)
                np.square(g, out=z_g)
                np.subtract(1, z_g, out=z_g)
                z_g *= i
                dz *= dc                                      # the three gates that multiply dc, in one call
                if to_previous:
                    dc *= f
            if to_previous:
                np.matmul(U, z, out=dh)
            if slot == 0:                                     # steps t .. t+filled-1 are done
                filled = min(len(chunk), steps - t)
                by_gate[:, t:t + filled] = chunk[:filled].transpose(1, 0, 2)
            if drop is not None:
                dh *= drop
            if carried is not None:
                dh += carried[0]
                dc += carried[1]
        if wanted:
            cache["start_grads"] = [np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T)]

    def _bptt_general(self, cache, dH, dh, dc, masks, drop, by_gate):
        """Backpropagation through time for any element-wise activations (derivatives of all steps at once)."""
        C, gates, cell_out, pre = cache["CF"], cache["gates"], cache["cell_out"], cache["pre"]
        steps, units, batch = cell_out.shape
        wanted = cache["start_grads_wanted"]
        gate_fn, cell_fn = self._recurrent_activation, self._activation
        blocks = gates.reshape(steps, 4, units, batch)
        o, i, f, g = (blocks[:, k] for k in range(4))
        sigmoid_slope = gate_fn.derivative(None if pre is None else pre[:, :3 * units], gates[:, :3 * units])
        sigmoid_slope = sigmoid_slope.reshape(steps, 3, units, batch)          # o', i', f'
        cand_slope = cell_fn.derivative(None if pre is None else pre[:, 3 * units:], g)
        # Everything that does not depend on the recurrence, for all steps at once:
        #   dz_o = dh * act(c) o';  dc += dh * o act'(c);  dz_i = dc * g i',  dz_f = dc * c_prev f',  dz_c = dc * i g'
        out_factor = cell_out * sigmoid_slope[:, 0]
        cell_factor = o * cell_fn.derivative(C[1:], cell_out)
        factors = np.empty((steps, 3, units, batch), cell_out.dtype)
        np.multiply(g, sigmoid_slope[:, 1], out=factors[:, 0])
        np.multiply(C[:-1], sigmoid_slope[:, 2], out=factors[:, 1])
        np.multiply(i, cand_slope, out=factors[:, 2])
        U = self._in_loop_order("recurrent_kernel")
        dZ = np.empty((steps, 4, units, batch), cell_out.dtype)
        for t in range(steps - 1, -1, -1):
            if dH is not None:
                dh = dh + dH[t]
            carried = None
            if masks is not None and masks[0][t]:
                keep, real = masks[1][t], masks[2][t]
                carried = (dh * keep, dc * keep)
                dh, dc = dh * real, dc * real
            dc = dc + dh * cell_factor[t]
            np.multiply(dh, out_factor[t], out=dZ[t, 0])
            np.multiply(dc[None], factors[t], out=dZ[t, 1:])
            if t or wanted:                               # step 0's product only feeds the start grads
                dc = dc * f[t]
                dh = U @ dZ[t].reshape(4 * units, batch)
            if drop is not None:
                dh *= drop
            if carried is not None:
                dh += carried[0]
                dc += carried[1]
        by_gate[...] = dZ.reshape(steps, 4 * units, batch).transpose(1, 0, 2)
        if wanted:
            cache["start_grads"] = [np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T)]

    def get_config(self):
        return super().get_config() | {
            "recurrent_activation": activations_module.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


class GRU(_Recurrent):
    """Gated Recurrent Unit (Cho et al., 2014), with Keras's weights, gate order (z, r, h) and both variants.

    Weights: ``kernel`` (in, 3*units), ``recurrent_kernel`` (units, 3*units) and ``bias``: shape (2, 3*units)
    (input bias, recurrent bias) with ``reset_after=True`` (the default, as Keras and cuDNN), or (3*units,) with
    ``reset_after=False``. Each step::

        z = sigmoid(x W_z + h U_z + b_z);  r = sigmoid(x W_r + h U_r + b_r)
        reset_after=True:   hh = tanh(x W_h + b_h + r * (h U_h + rb_h))
        reset_after=False:  hh = tanh(x W_h + b_h + (r * h) U_h)
        h = z * h + (1 - z) * hh

    Args:
        units: size of the hidden state.
        activation: for the candidate ``hh``, default ``"tanh"``.
        recurrent_activation: for the gates, default ``"sigmoid"``.
        reset_after: where the reset gate applies (see above); default True.
        (the other arguments are as for :class:`LSTM`)

    Example:
        >>> layer = GRU(6, return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), dtype="float32")).shape
        (2, 5, 6)
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, reset_after=True, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                         return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, **kwargs)
        self._recurrent_activation = _Elementwise(recurrent_activation, "GRU", "recurrent_activation")
        self.recurrent_activation = self._recurrent_activation.fn
        self.reset_after = bool(reset_after)

    def _create_weights(self, features):
        units = self.units
        self._add_weights((features, 3 * units), (units, 3 * units),
                          (2, 3 * units) if self.reset_after else (3 * units,))

    def _input_parameters(self):
        bias = self._weights["bias"] if self.use_bias else None
        if bias is not None and self.reset_after:
            bias = bias[0]
        return self._weights["kernel"], bias

    def _scan(self, projection, step_mask, state_drop, start=None):
        steps, batch, width = projection.shape
        units = self.units
        dtype = projection.dtype
        U = self._weights["recurrent_kernel"]
        gate_fn, cand_fn = self._recurrent_activation, self._activation
        keep_pre = gate_fn.needs_input or cand_fn.needs_input
        lease = _Workspace.lease(self)
        gates = lease.array("gates", projection.shape, dtype) if keep_pre else projection   # activated z, r, hh
        H = _new_states(steps, batch, units, dtype, lease, _start(start, 0))
        dropped = None if state_drop is None else lease.array("dropped", (steps, batch, units), dtype)
        # reset_after: the recurrent part of the candidate, h U_h + rb_h; else r * h (the input of U_h).
        reset_input = lease.array("reset_input", (steps, batch, units), dtype)
        zr, hh_ = slice(0, 2 * units), slice(2 * units, 3 * units)
        if self.reset_after:
            recurrent = np.empty((batch, width), dtype)
            recurrent_bias = self._weights["bias"][1] if self.use_bias else None
        else:
            U_zr, U_h = np.ascontiguousarray(U[:, zr]), np.ascontiguousarray(U[:, hh_])
            recurrent = np.empty((batch, 2 * units), dtype)
            candidate = np.empty((batch, units), dtype)
        for t in range(steps):
            h = H[t] if state_drop is None else np.multiply(H[t], state_drop, out=dropped[t])
            z, a = projection[t], gates[t]
            if self.reset_after:
                np.matmul(h, U, out=recurrent)                    # all three gates in one product
                if recurrent_bias is not None:
                    recurrent += recurrent_bias
                z[:, zr] += recurrent[:, zr]
                gate_fn.apply(z[:, zr], out=a[:, zr])
                np.copyto(reset_input[t], recurrent[:, hh_])
                z[:, hh_] += np.multiply(a[:, units:2 * units], reset_input[t], out=recurrent[:, hh_])
            else:
                z[:, zr] += np.matmul(h, U_zr, out=recurrent)
                gate_fn.apply(z[:, zr], out=a[:, zr])
                np.multiply(a[:, units:2 * units], h, out=reset_input[t])
                z[:, hh_] += np.matmul(reset_input[t], U_h, out=candidate)
            cand_fn.apply(z[:, hh_], out=a[:, hh_])
            # h = z * h_prev + (1 - z) * hh, written as hh + z * (h_prev - hh)
            new = np.subtract(H[t], a[:, hh_], out=H[t + 1])
            new *= a[:, :units]
            new += a[:, hh_]
            if step_mask is not None:
                step_mask.carry(t, H[t + 1], H[t])
        return {"H": H, "gates": gates, "pre": projection if keep_pre else None, "reset_input": reset_input,
                "dropped": dropped, "lease": lease}

    def _bptt(self, cache, dH, last):
        H, gates, pre, reset_input = cache["H"], cache["gates"], cache["pre"], cache["reset_input"]
        step_mask, state_drop = cache["step_mask"], cache["state_drop"]
        steps, batch, width = gates.shape
        units = self.units
        dtype = gates.dtype
        gate_fn, cand_fn = self._recurrent_activation, self._activation

        def block(array, k):
            return None if array is None else array[:, :, k * units:(k + 1) * units]

        z, r, hh = block(gates, 0), block(gates, 1), block(gates, 2)
        h_in = H[:-1] if state_drop is None else cache["dropped"]          # what the recurrent kernel saw
        # Step-independent factors, for all steps at once:
        #   dz_z = dh * (h_prev - hh) z',  dz_h = dh * (1 - z) hh',  dz_r = dz_h * (recurrent part) r'
        update_factor = (H[:-1] - hh) * gate_fn.derivative(block(pre, 0), z)
        cand_factor = (1 - z) * cand_fn.derivative(block(pre, 2), hh)
        reset_factor = (reset_input if self.reset_after else h_in) * gate_fn.derivative(block(pre, 1), r)
        lease = cache["lease"]
        d_input = lease.array("d_input", (steps, batch, width), dtype)       # gradient of the input projection
        zr, hh_ = slice(0, 2 * units), slice(2 * units, 3 * units)
        if self.reset_after:
            d_recurrent = lease.array("d_recurrent", (steps, batch, width), dtype)
            UT = np.ascontiguousarray(self._weights["recurrent_kernel"].T)
        else:
            U = self._weights["recurrent_kernel"]
            U_zrT, U_hT = np.ascontiguousarray(U[:, zr].T), np.ascontiguousarray(U[:, hh_].T)
        dh, wanted = last[0], cache["start_grads_wanted"]
        for t in range(steps - 1, -1, -1):
            if dH is not None:
                dh = dh + dH[t]
            carried = None
            if step_mask is not None and step_mask.step_has_masked[t]:
                carried = dh * step_mask.keep[t]
                dh = dh * step_mask.real[t]
            d_cand = np.multiply(dh, cand_factor[t], out=d_input[t, :, hh_])
            if self.reset_after:
                dr = d_recurrent[t]
                np.multiply(dh, update_factor[t], out=dr[:, :units])
                np.multiply(d_cand, reset_factor[t], out=dr[:, units:2 * units])
                np.multiply(d_cand, r[t], out=dr[:, hh_])
                if t == 0 and not wanted:
                    break                                # the start state's gradient is not returned
                d_state = dr @ UT
            else:
                d_in = d_input[t]
                np.multiply(dh, update_factor[t], out=d_in[:, :units])
                d_reset_input = d_cand @ U_hT
                np.multiply(d_reset_input, reset_factor[t], out=d_in[:, units:2 * units])
                if t == 0 and not wanted:
                    break
                d_state = d_in[:, zr] @ U_zrT
                d_state += d_reset_input * r[t]
            if state_drop is not None:
                d_state *= state_drop
            d_state += dh * z[t]
            if carried is not None:
                d_state += carried
            dh = d_state
        if wanted:
            cache["start_grads"] = [dh]
        if self.reset_after:
            d_input[:, :, zr] = d_recurrent[:, :, zr]
            if self.trainable:
                self._recurrent_kernel_gradient(h_in, d_recurrent)
                if self.use_bias:
                    cache["d_recurrent"] = d_recurrent             # the recurrent bias's gradient sums it
        elif self.trainable:
            grad = self.grad_buffer("recurrent_kernel")
            grad[:, zr] = h_in.reshape(-1, units).T @ d_input[:, :, zr].reshape(-1, 2 * units)
            grad[:, hh_] = reset_input.reshape(-1, units).T @ d_input[:, :, hh_].reshape(-1, units)
        return d_input

    def _bias_gradient(self, flat, cache):
        grad = self.grad_buffer("bias")
        if self.reset_after:
            column_sums(flat, out=grad[0])
            np.sum(cache.pop("d_recurrent").reshape(-1, flat.shape[1]), axis=0, out=grad[1])
        else:
            column_sums(flat, out=grad)

    def get_config(self):
        return super().get_config() | {
            "recurrent_activation": activations_module.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }


# ------------------------------------------------------------------------------------------------------
# Wrappers
# ------------------------------------------------------------------------------------------------------


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards over the sequence, and merges the two.

    The backward copy is rebuilt from the layer's config with ``go_backwards`` toggled (its weights are new).
    Weights are ordered forward layer then backward layer, as Keras. With ``return_sequences=True`` the backward
    outputs are flipped back into time order before merging, and masked steps output zeros (as Keras).

    Args:
        layer: a SimpleRNN, LSTM, GRU or RNN instance.
        merge_mode: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"`` or None (a list of both outputs,
            for driving the layer directly or the functional API).
        backward_layer: optional explicit layer for the backward direction; it must have the opposite
            ``go_backwards`` and the same ``return_sequences`` and ``return_state``.

    Example:
        >>> layer = Bidirectional(LSTM(4, return_sequences=True))
        >>> layer(np.zeros((2, 5, 3), dtype="float32")).shape
        (2, 5, 8)
    """

    call_arguments = _Recurrent.call_arguments
    tensor_call_arguments = _Recurrent.tensor_call_arguments

    supports_masking = True
    _MERGE_MODES = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not getattr(layer, "is_recurrent_layer", False):
            raise ValueError(f"Bidirectional() wraps a recurrent layer (SimpleRNN, LSTM, GRU or RNN), got {layer!r}.")
        if merge_mode not in self._MERGE_MODES:
            raise ValueError(f"Bidirectional() merge_mode must be one of 'concat', 'sum', 'mul', 'ave' or None, "
                             f"got {merge_mode!r}.")
        super().__init__(**kwargs)
        if self.declared_input_shape is None:
            self.declared_input_shape = layer.declared_input_shape
        self.forward_layer = self._copy(layer, "forward_", layer.go_backwards)
        if backward_layer is None:
            self.backward_layer = self._copy(layer, "backward_", not layer.go_backwards)
        else:
            if not getattr(backward_layer, "is_recurrent_layer", False):
                raise ValueError(f"Bidirectional() backward_layer must be a SimpleRNN, LSTM, GRU or RNN, "
                                 f"got {backward_layer!r}.")
            self.backward_layer = backward_layer
        self._verify_directions()
        for direction in (self.forward_layer, self.backward_layer):
            # Keras: masked steps of returned sequences are zeros, so the two directions line up.
            direction.zero_output_for_mask = direction.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = layer.stateful
        self._initial_weights = weights

    @staticmethod
    def _copy(layer, prefix, go_backwards):
        config = layer.get_config()
        config["name"] = prefix + layer.name.removeprefix(prefix)
        config["go_backwards"] = go_backwards
        try:
            return type(layer).from_config(config)
        except TypeError as error:
            raise TypeError(f"Bidirectional() makes its {prefix.rstrip('_')} layer from the config of {layer!r}, "
                            f"which failed ({error}). A cell or layer of your own needs a get_config() that returns "
                            f"its __init__ arguments, e.g. {{**super().get_config(), 'units': self.units}}.") from error

    def _verify_directions(self):
        fw, bw = self.forward_layer, self.backward_layer
        if fw.go_backwards == bw.go_backwards:
            raise ValueError(f"Bidirectional(): the forward and backward layers need different go_backwards "
                             f"values, got {fw.go_backwards} for both.")
        for attribute in ("return_sequences", "return_state", "stateful"):
            if getattr(fw, attribute) != getattr(bw, attribute):
                raise ValueError(f"Bidirectional(): the forward and backward layers need the same {attribute}, got "
                                 f"{getattr(fw, attribute)} and {getattr(bw, attribute)}.")

    # ----- weights: the two directions' own arrays, exposed under prefixed names ---------------------------

    def _collect_weights(self):
        self._weights, self._trainable_weight_names, self._regularizers, self._constraints = {}, [], {}, {}
        for prefix, layer in (("forward_", self.forward_layer), ("backward_", self.backward_layer)):
            for name, value in layer._weights.items():
                self._weights[prefix + name] = value
            self._trainable_weight_names += [prefix + name for name in layer._trainable_weight_names]
            # The base class applies penalties and constraints through these names to the same arrays.
            self._regularizers.update({prefix + name: r for name, r in layer._regularizers.items()})
            self._constraints.update({prefix + name: c for name, c in layer._constraints.items()})

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise self.forward_layer._shape_error(input_shape)
        self.forward_layer.ensure_built(input_shape)
        self.backward_layer.ensure_built(input_shape)
        self._collect_weights()
        super().build(input_shape)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def cast_weights(self, dtype):
        self.forward_layer.cast_weights(dtype)
        self.backward_layer.cast_weights(dtype)
        self._collect_weights()

    def _sublayers(self):
        return [layer for layer in (getattr(self, "forward_layer", None), getattr(self, "backward_layer", None))
                if layer is not None]

    # ----- shapes -------------------------------------------------------------------------------------------

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            merged = tuple(shape[:-1]) + (None if shape[-1] is None else 2 * shape[-1],)
        elif self.merge_mode is None:
            merged = [tuple(shape), tuple(shape)]
        else:
            merged = tuple(shape)
        if not self.return_state:
            return merged
        head = merged if self.merge_mode is None else [merged]
        return head + states + states

    def compute_mask(self, inputs, mask):
        # Models give this one mask to every output (both directions with merge_mode=None, and the states).
        return mask if self.return_sequences else None

    def check_input_shape(self, x):
        self.forward_layer.check_input_shape(x)

    # ----- states: Keras gives the first half of initial_state to the forward layer, the rest backward ---------

    def _split_states(self, initial_state):
        if initial_state is None:
            return None, None
        states = _Recurrent._state_list(initial_state)
        half = len(states) // 2
        return states[:half], states[half:]

    def check_initial_state(self, state_shapes, input_shape):
        expected = self.forward_layer._state_count + self.backward_layer._state_count
        if len(state_shapes) != expected:
            raise ValueError(f"Bidirectional layer '{self.name}' takes {expected} initial states: the forward "
                             f"layer's, then the backward layer's, got {len(state_shapes)}.")
        forward, backward = self._split_states(list(state_shapes))
        self.forward_layer.check_initial_state(forward, input_shape)
        self.backward_layer.check_initial_state(backward, input_shape)

    @property
    def states(self):
        """The carried states of a stateful layer: the forward layer's, then the backward layer's."""
        if not self.stateful or self.forward_layer.states is None:
            return None
        return self.forward_layer.states + self.backward_layer.states

    def reset_state(self, states=None):
        """Zero the states of both directions (``stateful=True``), or set them to ``states`` (forward first)."""
        forward, backward = self._split_states(states)
        self.forward_layer.reset_state(forward)
        self.backward_layer.reset_state(backward)

    def reset_states(self, states=None):
        """Keras's other name of :meth:`reset_state`."""
        self.reset_state(states)

    def input_mismatch_hint(self, shape) -> str:
        return self.forward_layer.input_mismatch_hint(shape)

    # ----- computation -------------------------------------------------------------------------------------

    def _apply(self, x, training, need_input_grad, mask=None, initial_state=None):
        forward_state, backward_state = self._split_states(initial_state)
        y, forward_backprop = self.forward_layer._apply(x, training, need_input_grad, mask=mask,
                                                        initial_state=forward_state)
        y_rev, backward_backprop = self.backward_layer._apply(x, training, need_input_grad, mask=mask,
                                                              initial_state=backward_state)
        states = []
        if self.return_state:
            states = y[1:] + y_rev[1:]
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]

        def backprop(grad_output):
            return self._backprop_both(grad_output, (y, y_rev), (forward_backprop, backward_backprop),
                                       initial_state is not None)

        return self._merged(y, y_rev, states), backprop

    def _merged(self, y, y_rev, states):
        """The two directions' outputs merged by ``merge_mode``, then the states if ``return_state``."""
        if self.merge_mode == "concat":
            output = np.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, np.ascontiguousarray(y_rev)]
        if self.return_state:
            return (output if self.merge_mode is None else [output]) + states
        return output

    def _backprop_both(self, grad_output, outputs, backprops, given_states=False):
        """One call's backward pass: each direction's backprop, dL/dx summed, gradients under prefixed names;
        with ``given_states``, ``[dL/dx, dL/d(each initial state)...]``."""
        grads = list(grad_output) if isinstance(grad_output, (list, tuple)) else [grad_output]
        if self.merge_mode is None:
            g_fw, g_bw, state_grads = grads[0], grads[1], grads[2:]
        else:
            (g_fw, g_bw), state_grads = self._split_merged(grads[0], outputs), grads[1:]
        if self.return_sequences and g_bw is not None:
            g_bw = g_bw[:, ::-1]
        half = len(state_grads) // 2
        dx, start_grads = None, []
        for backprop, grad, states in ((backprops[0], g_fw, state_grads[:half]),
                                       (backprops[1], g_bw, state_grads[half:])):
            part = backprop([grad] + list(states) if self.return_state else grad)
            if given_states:
                part, start_grads = part[0], start_grads + part[1:]
            if part is not None:
                dx = part if dx is None else dx + part
        self.grads = {}
        for prefix, layer in (("forward_", self.forward_layer), ("backward_", self.backward_layer)):
            for name, value in layer.grads.items():
                self.grads[prefix + name] = value
        return [dx] + start_grads if given_states else dx

    def _split_merged(self, grad, outputs):
        if grad is None:
            return None, None
        y, y_rev = outputs
        if self.merge_mode == "concat":
            units = y.shape[-1]
            return grad[..., :units], grad[..., units:]
        if self.merge_mode == "sum":
            return grad, grad
        if self.merge_mode == "ave":
            return grad / 2, grad / 2
        return grad * y_rev, grad * y                            # mul

    # ----- configuration ----------------------------------------------------------------------------------

    def get_config(self):
        return super().get_config() | {
            "layer": {"class_name": type(self.forward_layer).__name__, "config": self.forward_layer.get_config()},
            "merge_mode": self.merge_mode,
            "backward_layer": {"class_name": type(self.backward_layer).__name__,
                               "config": self.backward_layer.get_config()},
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = LAYERS.deserialize(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = LAYERS.deserialize(config["backward_layer"], custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<Bidirectional name={self.name!r}, layer={self.forward_layer!r}, merge_mode={self.merge_mode!r}>"


class TimeDistributed(Layer):
    """Applies a layer to every time step: ``(batch, time, ...)`` is run as ``(batch * time, ...)``.

    The wrapped layer's weights are shared across time steps and appear as this layer's weights.

    Args:
        layer: the layer to apply, e.g. ``Dense(10)`` or ``Conv2D(...)``.

    Example:
        >>> from nbtrain.layers import Dense
        >>> TimeDistributed(Dense(3))(np.zeros((2, 5, 4), dtype="float32")).shape
        (2, 5, 3)
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed() wraps a layer instance such as Dense(10), got {layer!r}.")
        super().__init__(**kwargs)
        self.layer = layer
        if self.declared_input_shape is None and layer.declared_input_shape is not None:
            self.declared_input_shape = layer.declared_input_shape

    def _inner_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"TimeDistributed layer '{self.name}' expects inputs of shape (batch, timesteps, ...) "
                             f"with at least 3 axes, got {tuple(input_shape)}.")
        return (None,) + tuple(input_shape[2:])

    def build(self, input_shape):
        self.layer.ensure_built(self._inner_shape(input_shape))
        self._share_weights()
        super().build(input_shape)

    def _share_weights(self):
        # The same dict and list objects: optimizer updates, set_weights, penalties and constraints reach the
        # inner layer directly.
        inner = self.layer
        self._weights, self._trainable_weight_names, self.grads = inner._weights, inner._trainable_weight_names, \
            inner.grads
        self._regularizers, self._constraints = inner._regularizers, inner._constraints

    def cast_weights(self, dtype):
        self.layer.cast_weights(dtype)
        self._share_weights()

    def _sublayers(self):
        return [self.layer] if getattr(self, "layer", None) is not None else []

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape(self._inner_shape(input_shape))
        return tuple(input_shape[:2]) + tuple(inner[1:])

    def check_input_shape(self, x):
        if x.ndim < 3:
            raise ValueError(f"TimeDistributed layer '{self.name}' expects inputs of shape (batch, timesteps, ...) "
                             f"but got shape {x.shape}.")

    def _apply(self, x, training, need_input_grad, mask=None):
        self.check_input_shape(x)
        if mask is not None:
            self._check_mask(np.shape(mask), x.shape)
        batch, steps = x.shape[:2]
        y, inner_backprop = self.layer._apply(x.reshape((batch * steps,) + x.shape[2:]), training, need_input_grad)
        return y.reshape((batch, steps) + y.shape[1:]), _PerStepBackprop(self, inner_backprop, x.shape)

    # A final TimeDistributed(Dense(..., activation="softmax")) can be fused with crossentropy like Dense.
    @property
    def activation(self):
        return getattr(self.layer, "activation", None)

    backward_from_preactivation = ActivatedLayer.backward_from_preactivation

    def _check_mask(self, mask_shape, input_shape):
        """Keras's check: a mask covers (batch, timesteps), the input's first two axes."""
        if len(mask_shape) < 2 or tuple(mask_shape[:2]) != tuple(input_shape[:2]):
            raise ValueError(f"TimeDistributed layer '{self.name}' got a mask of shape {tuple(mask_shape)} for inputs "
                             f"of shape {tuple(input_shape)}: the mask must have the inputs' batch size and "
                             f"timesteps first, shape {tuple(input_shape[:2])}.")

    def get_config(self):
        return super().get_config() | {"layer": {"class_name": type(self.layer).__name__,
                                                 "config": self.layer.get_config()}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild the wrapped layer from its nested config first, as Keras does."""
        config = dict(config)
        if isinstance(config.get("layer"), dict):
            config["layer"] = LAYERS.deserialize(config["layer"], custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<TimeDistributed name={self.name!r}, layer={self.layer!r}>"


class _PerStepBackprop:
    """TimeDistributed's backprop: the inner layer's, on the time steps folded into the batch axis."""

    __slots__ = ("wrapper", "inner", "input_shape")

    def __init__(self, wrapper, inner, input_shape):
        self.wrapper, self.inner, self.input_shape = wrapper, inner, input_shape

    def __call__(self, grad_output):
        return self._unfolded(self.inner, grad_output)

    def from_preactivation(self, grad_z):
        return self._unfolded(self.inner.from_preactivation, grad_z)

    def _unfolded(self, inner_backprop, grad):
        batch, steps = self.input_shape[:2]
        dx = inner_backprop(grad.reshape((batch * steps,) + grad.shape[2:]))
        self.wrapper.grads = self.wrapper.layer.grads    # the inner layer may have replaced its dict
        return None if dx is None else dx.reshape(self.input_shape)


__all__ = ["Bidirectional", "GRU", "LSTM", "SimpleRNN", "TimeDistributed"]
