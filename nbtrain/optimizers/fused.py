"""Fused optimizer updates: one compiled loop per variable instead of one NumPy pass per operation.

An ``update_step`` in NumPy is a chain of whole-array operations: RMSprop's is nine (square, scale, decay, add,
add epsilon, sqrt, divide, scale, subtract), each reading and writing every element. On the seed MLP's 669k
weights that chain takes 1.3 ms per batch, a quarter of what is not a matrix product. Compiled into one loop
that reads each array once it takes 0.33 ms. NumPy cannot fuse operations, so the loops are compiled by Numba
(``pip install "nbtrain[fast]"``), an optional extra: without it, nbtrain is pure NumPy and gives the same
numbers, bit for bit (each loop does the NumPy update's float32 operations in the same order).

When they run: for SGD, RMSprop (not centered) and Adam (and AdamW, which is Adam's update), on float32
variables, when Numba can be imported and :func:`set_fused_updates` was not set to False. Numba is imported,
and a loop compiled (about half a second, kept in Numba's cache for later processes), at the first update of a
variable of more than ``MIN_SIZE`` elements: small models, such as a workshop's, never pay for it.

Example:
    >>> import nbtrain
    >>> nbtrain.config.fused_updates()
    'auto'
"""

from __future__ import annotations

import numpy as np

__all__ = ["MIN_SIZE", "available", "fused_updates", "set_fused_updates"]

# A variable this large makes the compilation worth it: below it, NumPy's passes stay in the cache and the
# fused loop saves a few microseconds per batch.
MIN_SIZE = 1 << 15

_SETTING = {"fused_updates": "auto"}
_KERNELS = {}  # "module": the compiled loops, or None once importing Numba failed


def set_fused_updates(value) -> None:
    """Choose whether optimizers run their compiled, fused updates (see :mod:`nbtrain.optimizers.fused`).

    Args:
        value: ``"auto"`` (the default: fused when Numba is installed), ``True`` (fused; Numba must be
            installed) or ``False`` (NumPy's updates always).

    Example:
        >>> import nbtrain
        >>> nbtrain.config.set_fused_updates(False)
        >>> nbtrain.config.fused_updates()
        False
        >>> nbtrain.config.set_fused_updates("auto")
    """
    if value not in ("auto", True, False) or isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"set_fused_updates() takes 'auto', True or False, got {value!r}. 'auto' fuses the "
                         "updates when Numba is installed; False keeps NumPy's.")
    if value is True and not available():
        raise ImportError('set_fused_updates(True) needs Numba, which is not installed. Install it with '
                          'pip install "nbtrain[fast]" (or pip install numba), or use "auto".')
    _SETTING["fused_updates"] = value


def fused_updates():
    """The setting made by :func:`set_fused_updates`: ``"auto"``, ``True`` or ``False``."""
    return _SETTING["fused_updates"]


def available() -> bool:
    """Whether Numba can be imported (the compiled loops are then importable too)."""
    return compiled() is not None


def compiled():
    """The module of compiled loops, imported on first use; None without Numba."""
    if "module" not in _KERNELS:
        try:
            from nbtrain.optimizers import _compiled
        except ImportError:
            _compiled = None
        _KERNELS["module"] = _compiled
    return _KERNELS["module"]


def wanted(variable) -> bool:
    """Whether this variable's update should be fused: the setting allows it and the variable is worth it."""
    setting = _SETTING["fused_updates"]
    return setting is not False and variable.size > MIN_SIZE and variable.dtype == np.float32 and available()


def fits(gradient, variable, slots) -> bool:
    """Whether the compiled loops can take these arrays: all C-contiguous float32 of the variable's size."""
    size = variable.size
    return all(a.dtype == np.float32 and a.flags.c_contiguous and a.size == size
               for a in (gradient, variable, *slots.values()))


def f32(value) -> np.float32:
    """A scalar as the compiled loops take it, rounded as NumPy rounds a Python float used with float32 arrays."""
    return np.float32(value)
