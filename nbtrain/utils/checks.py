"""Checks of user-given numbers at the boundary, with messages that name the argument and its owner."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def is_int(value) -> bool:
    """A Python or NumPy integer, and not a bool (``True`` is an int to Python, never a count to a user)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def positive_int(value, what: str, owner: str) -> int:
    """``value`` as an int >= 1, or a ValueError like ``Dense() expects units to be a positive integer, got 0.``

    Example:
        >>> positive_int(3, "units", "Dense")
        3
    """
    if not is_int(value) or value <= 0:
        raise ValueError(f"{owner}() expects {what} to be a positive integer, got {value!r}.")
    return int(value)


def one_of(value, allowed: Sequence[str], what: str, owner: str):
    """``value`` if it is in ``allowed``, or a ValueError naming the choices and the nearest one.

    Example:
        >>> one_of("post", ("pre", "post"), "padding", "pad_sequences")
        'post'
        >>> one_of("pots", ("pre", "post"), "padding", "pad_sequences")
        Traceback (most recent call last):
        ...
        ValueError: pad_sequences() expects padding to be 'pre' or 'post', got 'pots'. Did you mean 'post'?
    """
    if value in allowed:
        return value
    from nbtrain.utils.errors import did_you_mean

    quoted = [f"'{a}'" for a in allowed]
    choices = " or ".join(quoted) if len(quoted) == 2 else "one of " + ", ".join(quoted)
    raise ValueError(f"{owner}() expects {what} to be {choices}, got {value!r}.{did_you_mean(str(value), allowed)}")
