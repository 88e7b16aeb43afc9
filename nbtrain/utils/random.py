"""One explicit, seedable source of randomness for initializers, dropout and shuffling."""

from __future__ import annotations

import numpy as np

_global_generator = np.random.default_rng()


def set_random_seed(seed: int) -> None:
    """Seed every random draw nbtrain makes without an explicit ``seed`` argument.

    Call it once at the top of a notebook to make weights, dropout masks and shuffling repeatable.
    It also seeds NumPy's legacy global generator and Python's ``random``, as Keras does.

    Args:
        seed: a non-negative integer.

    Example:
        >>> import nbtrain
        >>> nbtrain.utils.set_random_seed(42)
    """
    import random

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_random_seed() expects a non-negative integer, got {seed!r}.")
    global _global_generator
    _global_generator = np.random.default_rng(int(seed))
    np.random.seed(int(seed) % 2**32)
    random.seed(int(seed))


def global_generator() -> np.random.Generator:
    """The generator used where no seed is given (reseeded by :func:`set_random_seed`)."""
    return _global_generator


def make_generator(seed=None) -> np.random.Generator:
    """A generator for one object: its own stream if ``seed`` is given, else a child of the global one.

    Drawing a child seed (rather than sharing the global generator) keeps each layer's stream independent
    of how many numbers other layers draw later, while still following :func:`set_random_seed`.

    Args:
        seed: None, an int, or an existing ``numpy.random.Generator``.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(_global_generator.integers(0, 2**63 - 1))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}.")
    return np.random.default_rng(int(seed))
