"""``keras.random`` on NumPy: random arrays, dropout and shuffling, with explicit seeds.

As in Keras, an integer ``seed`` gives the same numbers on every call; a :class:`SeedGenerator` gives a new,
repeatable stream of numbers call after call (use one in a custom layer); ``seed=None`` draws from nbtrain's
global generator, which ``nbtrain.utils.set_random_seed`` reseeds.

Example:
    >>> from nbtrain import random
    >>> random.normal((2, 3), seed=42).shape
    (2, 3)
    >>> seeds = random.SeedGenerator(1337)
    >>> a, b = random.uniform((2,), seed=seeds), random.uniform((2,), seed=seeds)
    >>> bool((a != b).all())
    True
"""

from __future__ import annotations

import numpy as np

from nbtrain import ops
from nbtrain.utils.random import global_generator

__all__ = ["SeedGenerator", "categorical", "dropout", "normal", "randint", "shuffle", "truncated_normal",
           "uniform"]


class SeedGenerator:
    """A stream of random numbers for one object (a layer's dropout, say): each call draws new numbers, and
    the same ``seed`` replays the same sequence.

    Args:
        seed: a non-negative int, or None for a seed drawn from the global generator.
        name: a label, as in Keras.

    Example:
        >>> from nbtrain import random
        >>> seeds = random.SeedGenerator(42)
        >>> random.normal((3,), seed=seeds).shape
        (3,)
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise ValueError(f"SeedGenerator() got unexpected keyword arguments {sorted(kwargs)}; it takes seed= "
                             "and name=.")
        if seed is None:
            seed = int(global_generator().integers(0, 2**31 - 1))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"SeedGenerator(seed=...) expects a non-negative integer or None, got {seed!r}.")
        self.seed = int(seed)
        self.name = name or "seed_generator"
        self.generator = np.random.default_rng(self.seed)

    def __repr__(self) -> str:
        return f"SeedGenerator(seed={self.seed})"


def _generator(seed) -> np.random.Generator:
    if isinstance(seed, SeedGenerator):
        return seed.generator
    if seed is None:
        return global_generator()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be None, a non-negative integer or a nbtrain.random.SeedGenerator, got "
                         f"{seed!r}.")
    return np.random.default_rng(int(seed))


def _shape(shape) -> tuple:
    return tuple(ops.shape(ops.zeros(shape)))


def _float_dtype(dtype):
    dtype = np.dtype("float32" if dtype is None else dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating-point dtype, got {dtype}.")
    return dtype


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normally distributed values.

    Args:
        shape: the output shape.
        mean, stddev: of the distribution.
        dtype: a float dtype (float32 by default).
        seed: an int, a SeedGenerator, or None (the global generator).
    """
    values = _generator(seed).standard_normal(_shape(shape)) * stddev + mean
    return values.astype(_float_dtype(dtype))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniformly distributed values in ``[minval, maxval)``."""
    values = _generator(seed).uniform(minval, maxval, _shape(shape))
    return values.astype(_float_dtype(dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal values redrawn until they lie within two standard deviations of the mean."""
    rng = _generator(seed)
    values = rng.standard_normal(_shape(shape))
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return (values * stddev + mean).astype(_float_dtype(dtype))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Random integers in ``[minval, maxval)``."""
    return _generator(seed).integers(minval, maxval, _shape(shape)).astype(dtype)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class indices per row of ``logits`` (unnormalized log-probabilities)."""
    probabilities = ops.convert_to_numpy(ops.softmax(ops.stop_gradient(logits)))
    rng = _generator(seed)
    cumulative = np.cumsum(probabilities, axis=-1)
    draws = rng.random((probabilities.shape[0], num_samples, 1))
    indices = (draws > cumulative[:, None, :]).sum(axis=-1)
    return np.minimum(indices, probabilities.shape[-1] - 1).astype(dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each value with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    Differentiable: on a tracked tensor the gradient flows through the kept values.

    Args:
        inputs: an array or tensor.
        rate: the fraction to drop, in [0, 1).
        noise_shape: the shape of the keep/drop mask, broadcast to the input's (e.g. ``(batch, 1, features)``
            drops whole features).
        seed: an int, a SeedGenerator, or None.
    """
    if not 0 <= rate < 1:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}.")
    shape = ops.shape(inputs)
    mask_shape = shape if noise_shape is None else tuple(n if m is None else m for m, n in zip(noise_shape, shape))
    dtype = np.dtype(ops.dtype(inputs)) if ops.dtype(inputs).startswith("float") else np.dtype(np.float32)
    keep = _generator(seed).random(mask_shape, dtype=np.float32 if dtype == np.float16 else dtype) >= rate
    return ops.multiply(inputs, np.multiply(keep, 1 / (1 - rate), dtype=dtype))


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` in a random order."""
    order = _generator(seed).permutation(ops.shape(x)[axis])
    return ops.take(x, order, axis=axis)
