"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Identity, ActivityRegularization."""

from __future__ import annotations

import math
import sys

import numpy as np

from nbtrain import activations as activations_module
from nbtrain import regularizers
from nbtrain.layers.layer import FLOATX, Layer, column_sums
from nbtrain.utils.checks import number, positive_int
from nbtrain.utils.random import make_generator


class ActivationBackprop:
    """The backprop of one call of a layer that ends in an activation ``y = activation(z)``.

    Calling it with dL/dy goes back through the activation first; the training loop calls
    :attr:`from_preactivation` with dL/dz directly when it fuses a final softmax or sigmoid with crossentropy.

    Args:
        activation: the layer's activation function.
        pre_activation: z, kept only when the derivative needs it (relu, sigmoid, tanh, softmax need only y).
        output: y.
        from_preactivation: the layer's own backprop from dL/dz to dL/dx.
    """

    __slots__ = ("activation", "pre_activation", "output", "from_preactivation")

    def __init__(self, activation, pre_activation, output, from_preactivation):
        self.activation = activation
        self.pre_activation = pre_activation
        self.output = output
        self.from_preactivation = from_preactivation

    def __call__(self, grad_output):
        return self.from_preactivation(self.activation.backward(grad_output, self.pre_activation, self.output))


class ActivatedLayer(Layer):
    """A layer whose last step is an activation function (it passes a sequence's padding mask through).

    Splitting the backward pass into the activation's part and the layer's own part (``from_preactivation``,
    see :class:`ActivationBackprop`) lets the training loop fuse a final softmax or sigmoid with crossentropy:
    it hands the layer dL/dlogits (``p - y``) directly, which is exact and stable, instead of dividing by
    probabilities. Subclasses implement ``_apply`` ending in ``return self.activate(z, from_preactivation)``.
    """

    supports_masking = True
    _activation_may_reshape = False  # only the Activation layer takes glu, which halves an axis

    def __init__(self, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations_module.get(activation)
        if self.activation.name == "glu" and not self._activation_may_reshape:
            raise ValueError(
                f"{type(self).__name__} cannot take activation='glu': glu halves the axis it gates, so the layer's "
                "output would not have the size it declares (Keras accepts it and reports a wrong output shape). "
                f"Use {type(self).__name__}(2 * n, ...) followed by Activation('glu')."
            )

    @property
    def activation(self):
        return self._activation

    @activation.setter
    def activation(self, value):
        # Keras code sets layer.activation = None (or a name) after construction; None means linear there.
        self._activation = activations_module.get(value)

    def activate(self, z: np.ndarray, from_preactivation,
                 owns_z: bool = False) -> tuple[np.ndarray, ActivationBackprop]:
        """``(activation(z), backprop)`` for the end of ``_apply``; ``from_preactivation`` maps dL/dz to dL/dx.

        ``owns_z=True`` says z is a fresh array of this call that nothing else holds (``x @ kernel``, not the
        input x): a built-in activation whose derivative needs only its output then overwrites z.
        """
        in_place = activations_module.in_place_form(self.activation) if owns_z else None
        if in_place is not None and not self.activation.needs_input and z.dtype.kind == "f":
            y = in_place(z)
            return y, ActivationBackprop(self.activation, None, y, from_preactivation)
        y = self.activation(z)
        # Keep z only when the derivative needs it, so z's memory can go as soon as y exists.
        return y, ActivationBackprop(self.activation, z if self.activation.needs_input else None, y,
                                     from_preactivation)

    def backward_from_preactivation(self, grad_z: np.ndarray):
        """By hand, after :meth:`forward`: the backward pass from dL/dz, skipping the activation."""
        grad_input = self.last_backprop().from_preactivation(grad_z)
        return grad_input if self.input_gradient_needed else None


class Dense(ActivatedLayer):
    """A fully connected layer: ``activation(x @ kernel + bias)`` over the last axis of ``x``.

    Args:
        units: size of the output's last axis.
        activation: name or function, e.g. ``"relu"``; None means linear.
        use_bias: whether to add a bias vector.
        kernel_initializer: name or initializer, default ``"glorot_uniform"``.
        bias_initializer: name or initializer, default ``"zeros"``.

    Example:
        >>> layer = Dense(3, activation="relu")
        >>> layer(np.ones((2, 4), dtype="float32")).shape
        (2, 3)
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(activation=activation, **kwargs)
        self.units = positive_int(units, "units", "Dense")
        self.use_bias = bool(use_bias)
        self.set_weight_options("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        self.set_weight_options("bias", bias_initializer, bias_regularizer, bias_constraint)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"Dense layer '{self.name}' needs inputs with a known last axis, got input shape {input_shape}."
            )
        self.add_weight_with_options("kernel", (input_shape[-1], self.units))
        if self.use_bias:
            self.add_weight_with_options("bias", (self.units,))
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def check_input_shape(self, x):
        features = self.input_shape[-1]
        if x.ndim < 2 or x.shape[-1] != features:
            raise ValueError(
                f"Dense layer '{self.name}' expects inputs with {features} features (last axis) but got shape "
                f"{x.shape}. {self.input_mismatch_hint(x.shape)}"
            )

    def input_mismatch_hint(self, shape) -> str:
        features = self.input_shape[-1]
        if len(shape) > 2 and math.prod(shape[1:]) == features:
            return f"Add nbtrain.layers.Flatten() before it, or reshape x to (n_samples, {features})."
        return f"Reshape x to (n_samples, {features}), or build the model for {shape[-1]} features."

    def _apply(self, x, training, need_input_grad):
        z = x @ self._weights["kernel"]
        if self.use_bias:
            z += self._weights["bias"]

        def from_preactivation(grad_z):
            x2d = x.reshape(-1, x.shape[-1])
            g2d = grad_z.reshape(-1, self.units)
            if self.trainable:
                np.matmul(x2d.T, g2d, out=self.grad_buffer("kernel"))
                if self.use_bias:
                    column_sums(g2d, out=self.grad_buffer("bias"))
            if not need_input_grad:
                return None
            return (g2d @ self._weights["kernel"].T).reshape(x.shape)

        return self.activate(z, from_preactivation, owns_z=True)

    def get_config(self):
        return super().get_config() | {
            "units": self.units,
            "activation": activations_module.serialize(self.activation),
            "use_bias": self.use_bias,
            **self.weight_options_config("kernel", "bias"),
        }

    def __repr__(self):
        return f"<Dense name={self.name!r}, units={self.units}, activation={self.activation.name!r}>"


class Activation(ActivatedLayer):
    """Applies an activation function, e.g. ``Activation("softmax")``.

    Args:
        activation: name or function.

    Example:
        >>> Activation("relu")(np.array([[-1.0, 2.0]], dtype="float32"))
        array([[0., 2.]], dtype=float32)
    """

    _activation_may_reshape = True

    def __init__(self, activation, **kwargs):
        super().__init__(activation=activation, **kwargs)

    def compute_output_shape(self, input_shape):
        return activations_module.output_shape(self.activation, input_shape)

    def _apply(self, x, training, need_input_grad):
        return self.activate(x, unchanged_gradient)

    def get_config(self):
        return super().get_config() | {"activation": activations_module.serialize(self.activation)}


def check_noise_shape(noise_shape) -> tuple | None:
    """``noise_shape`` as a tuple of positive ints and None, or a ValueError as Keras gives (a float such as
    1.5 or a size 0 would otherwise be truncated or accepted, and the mask would not be what was asked)."""
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str) or not hasattr(noise_shape, "__iter__"):
        raise ValueError(f"Dropout's noise_shape must be a tuple or list of integers (or None), such as "
                         f"(batch_size, 1, features), got {noise_shape!r}.")
    shape = tuple(noise_shape)
    for index, size in enumerate(shape):
        if size is None:
            continue
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise ValueError(f"Dropout's noise_shape must hold integers or None, got {size!r} "
                             f"({type(size).__name__}) at index {index} of {noise_shape!r}.")
        if size <= 0:
            raise ValueError(f"Dropout's noise_shape must hold positive sizes (or None), got {size} at index "
                             f"{index} of {noise_shape!r}.")
    return tuple(None if size is None else int(size) for size in shape)


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability ``rate`` and scale the rest by 1/(1-rate).

    At inference (``evaluate``, ``predict``) it passes inputs through unchanged.

    Args:
        rate: fraction of inputs to drop, in [0, 1].
        noise_shape: shape of the mask, broadcast over the input; None entries take the input's size.
        seed: an int for a repeatable mask sequence; None follows ``nbtrain.utils.set_random_seed``.

    Example:
        >>> out = Dropout(0.5, seed=1)(np.ones((2, 4), dtype="float32"), training=True)
        >>> sorted(set(out.ravel().tolist()))  # dropped inputs are 0, kept ones scaled by 1 / (1 - 0.5)
        [0.0, 2.0]
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = number(rate, "rate", "Dropout", low=0, high=1)
        self.noise_shape = check_noise_shape(noise_shape)
        self.seed = seed
        self._rng = make_generator(seed)

    def _mask_shape(self, shape):
        if self.noise_shape is None:
            return shape
        return tuple(s if n is None else n for n, s in zip(self.noise_shape, shape))

    def _apply(self, x, training, need_input_grad):
        if not training or self.rate == 0.0:
            return x, unchanged_gradient
        mask = self._keep_mask(x)

        def backprop(grad_output):
            return grad_output * mask

        return x * mask, backprop

    def _keep_mask(self, x):
        """Zeros where inputs are dropped, 1/(1-rate) where they are kept, in the inputs' dtype.

        An input is kept where a float32 uniform draw ``u`` is ``>= rate``. The scale is a float32 scalar so the
        product of the boolean keep-mask runs as a float32 loop (a Python float would make it a float64 loop and
        a cast, 2.5x slower).
        """
        shape = self._mask_shape(x.shape)
        scale = np.float32(1.0 / (1.0 - self.rate)) if self.rate < 1.0 else np.float32(0.0)
        keep = _keep_from_raw_bits(self._rng, shape, self.rate)
        if keep is not None:
            mask = np.empty(shape, np.float32)
            np.multiply(keep, scale, out=mask)
        else:
            mask = self._rng.random(shape, dtype=np.float32)
            # Reuse the uniform draws' buffer for the scaled keep-mask: one allocation per batch, not three.
            np.multiply(mask >= self.rate, scale, out=mask)
        return mask.astype(x.dtype, copy=False)

    def get_config(self):
        return super().get_config() | {"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}

    def __repr__(self):
        return f"<Dropout name={self.name!r}, rate={self.rate}>"



def _keep_from_raw_bits(rng: np.random.Generator, shape, rate: float) -> np.ndarray | None:
    """``rng.random(shape, dtype=np.float32) >= rate`` from the generator's raw bits, twice as fast; or None.

    NumPy's PCG64 makes a float32 draw from one 32-bit word ``w`` as ``(w >> 8) * 2**-24``, taking the low then
    the high half of each 64-bit output. That float is exact, so ``u >= float32(rate)`` is the integer test
    ``w >= ceil(float32(rate) * 2**24) * 2**8`` on the words ``random_raw`` returns, and the generator ends in the
    same state: the same mask and the same later draws, without converting every word to a float. Only in the
    case where that holds exactly (PCG64, an even count, no half-word buffered, a little-endian machine);
    otherwise None, and the caller draws floats.
    """
    size = math.prod(shape)
    bit_generator = rng.bit_generator
    if (size % 2 or size == 0 or type(bit_generator) is not np.random.PCG64 or sys.byteorder != "little"
            or not 0.0 < rate < 1.0):
        return None
    threshold = math.ceil(float(np.float32(rate)) * 2**24)  # exact: a float32 times a power of two
    if threshold >= 2**24 or bit_generator.state["has_uint32"]:
        return None  # no draw reaches rate (every input dropped), or a buffered half-word comes first
    words = bit_generator.random_raw(size // 2).view(np.uint32).reshape(shape)
    return words >= np.uint32(threshold << 8)

class Flatten(Layer):
    """Flattens each sample to one axis: ``(batch, 28, 28)`` becomes ``(batch, 784)``.

    Example:
        >>> Flatten()(np.zeros((2, 3, 4), dtype="float32")).shape
        (2, 12)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        from nbtrain.layers.data_format import standardize_data_format

        # channels_first feature maps are flattened in channels_last order, as Keras does, so the Dense weights
        # after them are the same whichever layout the convolutions used
        self.data_format = standardize_data_format(data_format, "Flatten")

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        return super().get_config() | {"data_format": self.data_format}

    def _apply(self, x, training, need_input_grad):
        if self.data_format == "channels_first" and x.ndim > 2:
            return self._flatten_channels_first(x)
        return x.reshape(x.shape[0], -1), reshaping_back_to(x.shape)

    @staticmethod
    def _flatten_channels_first(x):
        channels_last = np.moveaxis(x, 1, -1)
        shape = channels_last.shape

        def backprop(grad_output):
            return np.ascontiguousarray(np.moveaxis(grad_output.reshape(shape), -1, 1))

        return channels_last.reshape(x.shape[0], -1), backprop


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1).

    Args:
        target_shape: the new shape of one sample, without the batch axis.

    Example:
        >>> Reshape((2, 6))(np.zeros((4, 12), dtype="float32")).shape
        (4, 2, 6)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _target_shape(target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape() accepts at most one -1 in target_shape, got {self.target_shape}.")

    def _resolved_target(self, sample_shape):
        if any(d is None for d in sample_shape):
            return tuple(None if d == -1 else d for d in self.target_shape)
        size = math.prod(sample_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if known == 0 or size % known:
                raise self._mismatch(sample_shape)
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise self._mismatch(sample_shape)
        return self.target_shape

    def check_input_shape(self, x):
        # As in Keras, a Reshape takes any input whose size fits target_shape, and resolves -1 on each call
        # (not once for the first input's size); _resolved_target explains a size that does not fit.
        self._resolved_target(x.shape[1:])

    def _mismatch(self, sample_shape):
        return ValueError(
            f"Reshape layer '{self.name}' cannot reshape samples of shape {tuple(sample_shape)} "
            f"({math.prod(sample_shape)} values) to {self.target_shape}."
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolved_target(input_shape[1:])

    def _apply(self, x, training, need_input_grad):
        return x.reshape((x.shape[0],) + self._resolved_target(x.shape[1:])), reshaping_back_to(x.shape)

    def get_config(self):
        return super().get_config() | {"target_shape": self.target_shape}


class Identity(Layer):
    """Passes its input through unchanged: a placeholder, e.g. for an optional block switched off.

    Example:
        >>> Identity()(np.array([[1.0, 2.0]], dtype="float32"))
        array([[1., 2.]], dtype=float32)
    """

    supports_masking = True

    def _apply(self, x, training, need_input_grad):
        return x, unchanged_gradient


class ActivityRegularization(Identity):
    """Passes its input through and adds ``l1 * sum(|x|) + l2 * sum(x ** 2)`` of it to the training loss.

    Args:
        l1: the L1 factor (default 0.0).
        l2: the L2 factor (default 0.0).

    Example:
        >>> layer = ActivityRegularization(l2=0.01)
        >>> round(layer.activity_regularizer(np.array([[3.0, 4.0]])), 4)
        0.25
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        if "activity_regularizer" in kwargs:
            raise TypeError("ActivityRegularization() sets its own activity_regularizer from l1 and l2; "
                            "pass those instead.")
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = self.activity_regularizer.l1, self.activity_regularizer.l2

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)     # rebuilt from l1 and l2
        return config | {"l1": self.l1, "l2": self.l2}


def unchanged_gradient(grad_output):
    """The backprop of a step that passes values through unchanged (an identity, or dropout at inference)."""
    return grad_output


def no_gradient(grad_output):
    """The backprop of a call whose input gradient nobody needs."""
    return None


def reshaping_back_to(shape):
    """The backprop of a reshape: gradients take the input's ``shape`` again."""
    def backprop(grad_output):
        return grad_output.reshape(shape)

    return backprop


def _target_shape(target_shape) -> tuple:
    """Reshape's target: positive sizes and at most one -1 (inferred)."""
    if isinstance(target_shape, (int, np.integer)):
        target_shape = (target_shape,)
    try:
        shape = tuple(int(d) for d in target_shape)
    except (TypeError, ValueError):
        raise TypeError(f"Reshape() expects target_shape as a tuple of integers, got {target_shape!r}.") from None
    if any(d == 0 or d < -1 for d in shape):
        raise ValueError(f"Reshape() target_shape sizes must be positive (or one -1), got {shape}.")
    return shape


__all__ = ["Activation", "ActivatedLayer", "ActivationBackprop", "ActivityRegularization", "Dense", "Dropout", "Flatten", "Identity",
           "Reshape", "FLOATX"]
