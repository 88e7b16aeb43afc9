"""Checks of user-given numbers at the boundary, with messages that name the argument and its owner."""

from __future__ import annotations

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
