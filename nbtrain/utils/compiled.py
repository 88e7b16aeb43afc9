"""Compiled loops: where NumPy makes one pass over memory per operation, Numba can make one pass for many.

Optional: Numba is the ``fast`` extra (``pip install "nbtrain[fast]"``). Without it nbtrain is pure NumPy. With it,
some hot loops run compiled: the optimizers' updates of large weights (:mod:`nbtrain.optimizers.fused`) and the
element-wise part of the LSTM's forward and backward steps. Every compiled loop does its NumPy counterpart's
float32 operations in the same order, so the numbers are the same to the last bit whichever runs.

The loops live beside their users, in modules named ``_compiled`` that import Numba; :func:`loops` imports one
the first time it is asked for (Numba's own import takes about 0.3 s), so ``import nbtrain`` never loads Numba.

Example:
    >>> import nbtrain
    >>> nbtrain.config.compiled_loops()
    'auto'
"""

from __future__ import annotations

import functools
import importlib
import importlib.util

import numpy as np

__all__ = ["available", "compiled_loops", "jit", "loops", "loops_for", "set_compiled_loops"]

_SETTING = {"compiled_loops": "auto"}
_MODULES = {}  # module name -> the imported module of loops, or None when it cannot be imported


def jit(loop):
    """``loop`` compiled by Numba on its first call (for the ``_compiled`` modules; this imports Numba).

    Compiled to give the bits its NumPy counterpart gives: no ``fastmath`` (it would let the compiler reorder and
    fuse operations), and NumPy's error model (a division by zero gives inf instead of raising; without the check
    the compiler can vectorise the loop). The machine code is cached for later processes where Numba can write
    (beside the module, else in the user's cache directory).
    """
    from numba import njit

    options = {"nogil": True, "error_model": "numpy"}
    try:
        return njit(cache=True, **options)(loop)
    except RuntimeError:  # no writable cache directory (a read-only install without a home directory)
        return njit(**options)(loop)


def set_compiled_loops(value) -> None:
    """Choose whether nbtrain runs its compiled loops (see :mod:`nbtrain.utils.compiled`).

    Args:
        value: ``"auto"`` (the default: compiled when Numba is installed), ``True`` (compiled; Numba must be
            installed) or ``False`` (NumPy always).

    Example:
        >>> import nbtrain
        >>> nbtrain.config.set_compiled_loops(False)
        >>> nbtrain.config.compiled_loops()
        False
        >>> nbtrain.config.set_compiled_loops("auto")
    """
    if not (value is True or value is False or value == "auto"):
        raise ValueError(f"set_compiled_loops() takes 'auto', True or False, got {value!r}. 'auto' compiles the "
                         "loops when Numba is installed; False keeps NumPy's.")
    if value is True and not available():
        raise ImportError('set_compiled_loops(True) needs Numba, which is not installed. Install it with '
                          'pip install "nbtrain[fast]" (or pip install numba), or use "auto".')
    _SETTING["compiled_loops"] = value


def compiled_loops():
    """The setting made by :func:`set_compiled_loops`: ``"auto"``, ``True`` or ``False``."""
    return _SETTING["compiled_loops"]


@functools.cache
def available() -> bool:
    """Whether Numba is installed (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


def loops(module: str):
    """The module of compiled loops ``module`` (e.g. ``"nbtrain.optimizers._compiled"``), imported on first use;
    None when the setting is False or Numba is not installed."""
    if _SETTING["compiled_loops"] is False or not available():
        return None
    if module not in _MODULES:
        try:
            _MODULES[module] = importlib.import_module(module)
        except ImportError:  # Numba is there but cannot load (a NumPy it does not support yet): NumPy's loops
            _MODULES[module] = None
    return _MODULES[module]


def loops_for(module: str, array, min_size: int):
    """:func:`loops` for work on ``array``: None also when it is not float32 (the loops' type) or has fewer than
    ``min_size`` elements (too little work to be worth loading Numba for)."""
    if array.dtype != np.float32 or array.size < min_size:
        return None
    return loops(module)
