"""Weight initializers with Keras 3's names, defaults and formulas, and the registry that resolves them.

An initializer is called as ``init(shape, dtype=None)`` and returns a new NumPy array (float32 unless
another dtype is asked for)::

    >>> from nbtrain import initializers
    >>> init = initializers.get("glorot_uniform")
    >>> init((784, 128)).dtype
    dtype('float32')

Randomness: an initializer made with ``seed=<int>`` owns a generator started from that seed, and each call
draws the next values from it. Two layers sharing one initializer object therefore get different weights,
while rerunning the program gives the same weights. With ``seed=None`` the generator is a child of
nbtrain's global one, taken when the initializer is made, so ``nbtrain.utils.set_random_seed(n)`` before
building a model makes every weight repeatable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from nbtrain.utils.checks import number, Wording
from nbtrain.utils.random import make_generator
from nbtrain.utils.registry import Registry, function_config, ignore_case_and_underscores

__all__ = [
    "INITIALIZERS",
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "compute_fans",
    "deserialize",
    "get",
    "serialize",
]

FLOATX = "float32"

# The standard deviation of a unit normal truncated to [-2, 2]; dividing by it restores the asked-for variance.
_TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


# --------------------------------------------------------------------------------------------------
# Base classes
# --------------------------------------------------------------------------------------------------


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)`` and ``get_config()``.

    Args (of ``__call__``):
        shape: a tuple of non-negative ints (an int is read as a 1-tuple).
        dtype: NumPy dtype or its name; None means float32.

    Example:
        >>> class Halves(Initializer):
        ...     def __call__(self, shape, dtype=None):
        ...         return np.full(shape, 0.5, dtype=dtype or "float32")
        >>> Halves()((2,))
        array([0.5, 0.5], dtype=float32)
    """

    def __call__(self, shape, dtype=None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(shape, dtype=None).")

    def get_config(self) -> dict:
        """The constructor arguments, as plain Python values."""
        return {}

    @classmethod
    def from_config(cls, config: Mapping):
        """Build an initializer from :meth:`get_config`'s output."""
        return cls(**dict(config))

    def clone(self):
        """A new initializer with the same configuration (an int seed restarts its stream)."""
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        # unset optional arguments (input_axes=None, ...) are left out to keep the repr short
        shown = {k: v for k, v in self.get_config().items() if v is not None or k == "seed"}
        args = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"{type(self).__name__}({args})"


def _array_or_function(identifier):
    if isinstance(identifier, (np.ndarray, np.generic)):
        return _FromArray(identifier)
    return identifier if callable(identifier) else None


INITIALIZERS = Registry(
    "initializer", base=Initializer, module="keras.initializers", key=ignore_case_and_underscores,
    registered_name=True, convert=_array_or_function,
    expected="Expected a name such as 'glorot_uniform', an initializer, or a function f(shape, dtype=None).",
)
"""Every initializer by its Keras name (``"glorot_uniform"``, ``"he_normal"``, ...); the class names
(``"GlorotUniform"``) match too, since the lookup ignores case and underscores."""


class RandomInitializer(Initializer):
    """Base class of the random initializers: owns one generator, advanced by every call.

    Args:
        seed: None (follow ``nbtrain.utils.set_random_seed``), a non-negative int, or a
            ``numpy.random.Generator`` to draw from directly.
    """

    def __init__(self, seed=None):
        if seed is not None and not isinstance(seed, np.random.Generator):
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise ValueError(
                    f"{type(self).__name__}: seed must be None, a non-negative integer or a "
                    f"numpy.random.Generator, got {seed!r}."
                )
            seed = int(seed)
        self.seed = seed
        self._generator = make_generator(seed)

    def _float_dtype(self, dtype) -> np.dtype:
        dtype = _standardize_dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(
                f"{type(self).__name__} draws random floats, so dtype must be a floating type such as "
                f"'float32', got '{dtype}'."
            )
        return dtype

    def get_config(self) -> dict:
        # a Generator cannot be written to a config; the rebuilt initializer follows the global seed
        return {"seed": self.seed if isinstance(self.seed, int) else None}


# --------------------------------------------------------------------------------------------------
# Constant initializers
# --------------------------------------------------------------------------------------------------


@INITIALIZERS.register("zero", name="zeros")
class Zeros(Initializer):
    """Fill with 0.

    Example:
        >>> Zeros()((2, 2))
        array([[0., 0.],
               [0., 0.]], dtype=float32)
    """

    def __call__(self, shape, dtype=None) -> np.ndarray:
        return np.zeros(_standardize_shape(shape), dtype=_standardize_dtype(dtype))


@INITIALIZERS.register("one", name="ones")
class Ones(Initializer):
    """Fill with 1.

    Example:
        >>> Ones()((3,))
        array([1., 1., 1.], dtype=float32)
    """

    def __call__(self, shape, dtype=None) -> np.ndarray:
        return np.ones(_standardize_shape(shape), dtype=_standardize_dtype(dtype))


@INITIALIZERS.register(name="constant")
class Constant(Initializer):
    """Fill with ``value`` (a scalar, or an array that broadcasts to the shape).

    Args:
        value: the fill value; default 0.0.

    Example:
        >>> Constant(0.1)((2,))
        array([0.1, 0.1], dtype=float32)
    """

    def __init__(self, value=0.0):
        try:
            np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"Constant(value) needs a number or an array of numbers, got {value!r}.") from None
        self.value = value

    def __call__(self, shape, dtype=None) -> np.ndarray:
        shape = _standardize_shape(shape)
        value = np.asarray(self.value, dtype=_standardize_dtype(dtype))
        try:
            return np.broadcast_to(value, shape).copy()
        except ValueError:
            raise ValueError(
                f"Constant initializer value of shape {value.shape} cannot fill a weight of shape {shape}. "
                "Use a scalar, or an array that broadcasts to that shape."
            ) from None

    def get_config(self) -> dict:
        value = self.value.tolist() if isinstance(self.value, (np.ndarray, np.generic)) else self.value
        return {"value": value}


@INITIALIZERS.register("identity_initializer", name="identity")
class Identity(Initializer):
    """The identity matrix times ``gain``; only for 2-D weights (rectangular is fine).

    Args:
        gain: multiplies the identity; default 1.0.

    Example:
        >>> Identity(gain=2.0)((2, 3))
        array([[2., 0., 0.],
               [0., 2., 0.]], dtype=float32)
    """

    def __init__(self, gain=1.0):
        self.gain = number(gain, "gain", "Identity", wording=_WORDING)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        shape = _standardize_shape(shape)
        if len(shape) != 2:
            raise ValueError(
                f"Identity initializer can only make 2-D matrices, got shape={shape} of rank {len(shape)}."
            )
        dtype = _standardize_dtype(dtype)
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self) -> dict:
        return {"gain": self.gain}


# --------------------------------------------------------------------------------------------------
# Random initializers
# --------------------------------------------------------------------------------------------------


@INITIALIZERS.register("normal", name="random_normal")
class RandomNormal(RandomInitializer):
    """Normal distribution with ``mean`` and ``stddev``.

    Args:
        mean: default 0.0.
        stddev: default 0.05.
        seed: None or an int (see the module docstring).

    Example:
        >>> RandomNormal(stddev=1.0, seed=0)((2,)).shape
        (2,)
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = number(mean, "mean", "RandomNormal", wording=_WORDING)
        self.stddev = number(stddev, "stddev", "RandomNormal", low=0, wording=_WORDING)
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        dtype = self._float_dtype(dtype)
        values = self._generator.normal(self.mean, self.stddev, _standardize_shape(shape))
        return values.astype(dtype)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@INITIALIZERS.register(name="truncated_normal")
class TruncatedNormal(RandomInitializer):
    """Normal distribution with ``mean`` and ``stddev``, redrawing values more than 2 stddev from the mean.

    Args:
        mean: default 0.0.
        stddev: default 0.05 (of the normal before truncation).
        seed: None or an int (see the module docstring).

    Example:
        >>> w = TruncatedNormal(stddev=1.0, seed=0)((1000,))
        >>> bool(abs(w).max() <= 2.0)
        True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = number(mean, "mean", "TruncatedNormal", wording=_WORDING)
        self.stddev = number(stddev, "stddev", "TruncatedNormal", low=0, wording=_WORDING)
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        dtype = self._float_dtype(dtype)
        values = _truncated_normal(self._generator, _standardize_shape(shape), self.mean, self.stddev)
        return values.astype(dtype)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@INITIALIZERS.register("uniform", name="random_uniform")
class RandomUniform(RandomInitializer):
    """Uniform distribution on ``[minval, maxval)``.

    Args:
        minval: default -0.05.
        maxval: default 0.05.
        seed: None or an int (see the module docstring).

    Example:
        >>> w = RandomUniform(-1, 1, seed=0)((100,))
        >>> bool(w.min() >= -1 and w.max() < 1)
        True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = number(minval, "minval", "RandomUniform", wording=_WORDING)
        self.maxval = number(maxval, "maxval", "RandomUniform", wording=_WORDING)
        if self.minval > self.maxval:
            raise ValueError(
                f"RandomUniform needs minval <= maxval, got minval={minval} and maxval={maxval}. Swap them."
            )
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        dtype = self._float_dtype(dtype)
        values = self._generator.uniform(self.minval, self.maxval, _standardize_shape(shape))
        return values.astype(dtype)

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


@INITIALIZERS.register(name="variance_scaling")
class VarianceScaling(RandomInitializer):
    """Random values whose variance is ``scale / n``, with n the fan-in, the fan-out or their mean.

    Args:
        scale: positive scaling factor; default 1.0.
        mode: ``"fan_in"`` (default), ``"fan_out"`` or ``"fan_avg"``.
        distribution: ``"truncated_normal"`` (default; ``"normal"`` means the same, as in Keras),
            ``"untruncated_normal"`` or ``"uniform"`` (on ``[-sqrt(3 * scale / n), sqrt(3 * scale / n))``).
        seed: None or an int (see the module docstring).
        input_axes, output_axes: optional axes whose sizes multiply to the fans (both or neither),
            instead of :func:`compute_fans`'s layout rules.

    Example:
        >>> init = VarianceScaling(scale=2.0, mode="fan_in", distribution="uniform", seed=0)
        >>> bool(abs(init((50, 10))).max() <= (3 * 2.0 / 50) ** 0.5)
        True
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(
        self,
        scale=1.0,
        mode="fan_in",
        distribution="truncated_normal",
        seed=None,
        input_axes=None,
        output_axes=None,
    ):
        name = type(self).__name__
        scale = number(scale, "scale", name, wording=_WORDING)
        if not scale > 0:
            raise ValueError(f"{name}: scale must be a positive number, got scale={scale}.")
        if mode not in self._MODES:
            raise ValueError(f"{name}: mode must be one of {self._MODES}, got mode={mode!r}.")
        if not isinstance(distribution, str):
            raise ValueError(f"{name}: distribution must be one of {self._DISTRIBUTIONS}, got {distribution!r}.")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"{name}: distribution must be one of {self._DISTRIBUTIONS}, got distribution={distribution!r}."
            )
        if (input_axes is None) != (output_axes is None):
            raise ValueError(f"{name}: give both input_axes and output_axes, or neither.")
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = None if input_axes is None else [int(a) for a in input_axes]
        self.output_axes = None if output_axes is None else [int(a) for a in output_axes]
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        dtype = self._float_dtype(dtype)
        shape = _standardize_shape(shape)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            values = _truncated_normal(self._generator, shape, 0.0, math.sqrt(variance) / _TRUNCATED_NORMAL_STDDEV)
        elif self.distribution == "untruncated_normal":
            values = self._generator.normal(0.0, math.sqrt(variance), shape)
        else:
            limit = math.sqrt(3.0 * variance)
            values = self._generator.uniform(-limit, limit, shape)
        return values.astype(dtype)

    def get_config(self) -> dict:
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            **super().get_config(),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class _FixedVarianceScaling(VarianceScaling):
    """A named VarianceScaling preset; its config holds only the seed and the fan axes."""

    _PRESET: tuple = ()

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, distribution = self._PRESET
        super().__init__(scale, mode, distribution, seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self) -> dict:
        return {"seed": self.seed if isinstance(self.seed, int) else None,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


@INITIALIZERS.register(name="glorot_uniform")
class GlorotUniform(_FixedVarianceScaling):
    """Glorot (Xavier) uniform: ``U(-limit, limit)`` with ``limit = sqrt(6 / (fan_in + fan_out))``.

    The default kernel initializer of Dense, Conv and recurrent layers.

    Args:
        seed: None or an int (see the module docstring).

    Example:
        >>> bool(abs(GlorotUniform(seed=0)((3, 3))).max() <= 1.0)  # sqrt(6 / (3 + 3))
        True
    """

    _PRESET = (1.0, "fan_avg", "uniform")


@INITIALIZERS.register(name="glorot_normal")
class GlorotNormal(_FixedVarianceScaling):
    """Glorot (Xavier) normal: truncated normal with ``stddev = sqrt(2 / (fan_in + fan_out))``.

    Args:
        seed: None or an int (see the module docstring).

    Example:
        >>> GlorotNormal(seed=0)((4, 4)).shape
        (4, 4)
    """

    _PRESET = (1.0, "fan_avg", "truncated_normal")


@INITIALIZERS.register(name="he_uniform")
class HeUniform(_FixedVarianceScaling):
    """He uniform: ``U(-limit, limit)`` with ``limit = sqrt(6 / fan_in)``; suits ReLU layers.

    Args:
        seed: None or an int (see the module docstring).

    Example:
        >>> bool(abs(HeUniform(seed=0)((6, 3))).max() <= 1.0)
        True
    """

    _PRESET = (2.0, "fan_in", "uniform")


@INITIALIZERS.register(name="he_normal")
class HeNormal(_FixedVarianceScaling):
    """He normal: truncated normal with ``stddev = sqrt(2 / fan_in)``; suits ReLU layers.

    Args:
        seed: None or an int (see the module docstring).

    Example:
        >>> HeNormal(seed=0)((4, 4)).shape
        (4, 4)
    """

    _PRESET = (2.0, "fan_in", "truncated_normal")


@INITIALIZERS.register(name="lecun_uniform")
class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform: ``U(-limit, limit)`` with ``limit = sqrt(3 / fan_in)``.

    Args:
        seed: None or an int (see the module docstring).

    Example:
        >>> bool(abs(LecunUniform(seed=0)((3, 3))).max() <= 1.0)
        True
    """

    _PRESET = (1.0, "fan_in", "uniform")


@INITIALIZERS.register(name="lecun_normal")
class LecunNormal(_FixedVarianceScaling):
    """LeCun normal: truncated normal with ``stddev = sqrt(1 / fan_in)``; pairs with the selu activation.

    Args:
        seed: None or an int (see the module docstring).

    Example:
        >>> LecunNormal(seed=0)((4, 4)).shape
        (4, 4)
    """

    _PRESET = (1.0, "fan_in", "truncated_normal")


@INITIALIZERS.register("orthogonal_initializer", name="orthogonal")
class Orthogonal(RandomInitializer):
    """A random orthogonal matrix (rows or columns orthonormal) times ``gain``, as in Keras.

    Weights of rank > 2 are treated as a matrix of shape ``(prod(shape[:-1]), shape[-1])``. The default
    recurrent initializer of LSTM and GRU.

    Args:
        gain: multiplies the matrix; default 1.0.
        seed: None or an int (see the module docstring).

    Example:
        >>> q = Orthogonal(seed=0)((3, 3))
        >>> bool(np.allclose(q.T @ q, np.eye(3), atol=1e-6))
        True
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = number(gain, "gain", "Orthogonal", wording=_WORDING)
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        dtype = self._float_dtype(dtype)
        shape = _standardize_shape(shape)
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal initializer needs a weight of rank 2 or more, got shape={shape} of rank {len(shape)}."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        q, r = np.linalg.qr(self._generator.standard_normal((max(rows, cols), min(rows, cols))))
        # QR's sign convention is arbitrary; fixing diag(R) > 0 makes Q uniformly distributed
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(dtype)

    def get_config(self) -> dict:
        return {"gain": self.gain, **super().get_config()}


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple[int, int]:
    """Keras's ``(fan_in, fan_out)`` of a weight shape.

    Rank 0: (1, 1). Rank 1: (n, n). Rank 2 ``(in, out)``: (in, out). Convolution kernels
    ``(*kernel_size, in, out)``: both multiplied by the receptive field ``prod(kernel_size)``.

    Args:
        shape: the weight's shape.
        input_axes, output_axes: if both are given, the fans are the products of those axes' sizes.

    Example:
        >>> compute_fans((3, 3, 16, 32))
        (144, 288)
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return int(math.prod(shape[a] for a in input_axes)), int(math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive_field = math.prod(shape[:-2])
    return int(shape[-2] * receptive_field), int(shape[-1] * receptive_field)


def _truncated_normal(generator: np.random.Generator, shape, mean: float, stddev: float) -> np.ndarray:
    z = generator.standard_normal(shape)
    outside = np.abs(z) > 2
    while outside.any():  # about 4.6% redrawn each round
        z[outside] = generator.standard_normal(int(outside.sum()))
        outside = np.abs(z) > 2
    return mean + stddev * z


def _standardize_shape(shape) -> tuple:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"An initializer shape must be a tuple of ints, got {shape!r}.") from None
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 0:
            raise ValueError(
                f"An initializer shape must be a tuple of non-negative ints, got {shape!r}. "
                "Build the layer with a known input shape first."
            )
    return tuple(int(d) for d in dims)


def _standardize_dtype(dtype) -> np.dtype:
    try:
        return np.dtype(FLOATX if dtype is None else dtype)
    except TypeError:
        raise TypeError(f"Unknown dtype {dtype!r}; use for example 'float32' or 'float64'.") from None


# How initializers word a rejected number: ``RandomNormal: stddev must be >= 0, got -1.``
_WORDING = Wording(wrong_type="{owner}: {what} must be {expected}, got {value}.",
                   out_of_range="{owner}: {what} must be {bound}, got {value}.")


# --------------------------------------------------------------------------------------------------
# get, serialize, deserialize (the names are registered on each class above)
# --------------------------------------------------------------------------------------------------


def get(identifier):
    """Resolve an initializer identifier the way Keras layers do.

    Args:
        identifier: None (returns None), a name (``"glorot_uniform"``, ``"GlorotUniform"``, ``"he_normal"``,
            ... case-insensitive), an :class:`Initializer` instance (returned as is) or class (instantiated),
            a config dict from :func:`serialize`, a NumPy array (returned as is for a matching shape), or a
            function ``f(shape, dtype=None)``.

    Returns:
        A callable ``init(shape, dtype=None) -> np.ndarray``, or None.

    Example:
        >>> get("he_normal")
        HeNormal(seed=None)
    """
    return INITIALIZERS.get(identifier)


class _FromArray(Initializer):
    """Returns a copy of a fixed array (Keras accepts a tensor as an initializer)."""

    def __init__(self, array):
        self.array = np.asarray(array)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        shape = _standardize_shape(shape)
        if shape != self.array.shape:
            raise ValueError(
                f"The array given as initializer has shape {self.array.shape} but the weight has shape {shape}."
            )
        return self.array.astype(_standardize_dtype(dtype))

    def __repr__(self) -> str:
        return f"<initializer from array of shape {self.array.shape}>"


def serialize(initializer) -> dict | None:
    """Keras's config layout of an initializer: ``{"module", "class_name", "config", "registered_name"}``.

    Args:
        initializer: anything :func:`get` accepts.

    Example:
        >>> serialize(RandomNormal(stddev=0.1, seed=3))["config"]
        {'mean': 0.0, 'stddev': 0.1, 'seed': 3}
    """
    initializer = get(initializer)
    if isinstance(initializer, _FromArray):
        raise ValueError("An initializer given as a NumPy array cannot be serialized; use Constant(value).")
    if initializer is None:
        return None
    if isinstance(initializer, Initializer):
        return INITIALIZERS.serialize(initializer)
    return function_config(initializer)


def deserialize(config, custom_objects: Mapping | None = None):
    """Rebuild an initializer from :func:`serialize`'s output, or from a name.

    Args:
        config: a dict with ``class_name`` and ``config``, or a name.
        custom_objects: optional mapping from names to your own initializer classes or functions.

    Example:
        >>> deserialize({"class_name": "Constant", "config": {"value": 0.5}})
        Constant(value=0.5)
    """
    return INITIALIZERS.deserialize(config, custom_objects)

