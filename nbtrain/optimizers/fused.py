"""Fused optimizer updates: one compiled loop per variable instead of one NumPy pass per operation.

An ``update_step`` in NumPy is a chain of whole-array operations: RMSprop's is nine (square, scale, decay, add,
add epsilon, sqrt, divide, scale, subtract), each reading and writing every element. On the seed MLP's 669k
weights that chain takes 1.3 ms per batch, a quarter of what is not a matrix product. Compiled into one loop
that reads each array once it takes 0.33 ms. NumPy cannot fuse operations, so the loops are compiled by Numba
(the optional ``fast`` extra, see :mod:`nbtrain.utils.compiled`); each does the NumPy update's float32 operations
in the same order, so the numbers are the same bit for bit.

When they run: for SGD, RMSprop (not centered) and Adam (and AdamW, which is Adam's update), on float32
variables of ``MIN_SIZE`` elements or more, when Numba is installed and ``nbtrain.config.set_compiled_loops``
was not set to False. Numba is imported, and a loop compiled (about half a second, kept in Numba's cache for later
processes), at the first update of such a variable: small models, such as a workshop's, never pay for it.
"""

from __future__ import annotations

import numpy as np

from nbtrain.utils import compiled

__all__ = ["MIN_SIZE", "fits", "loops"]

# A variable this large makes the compilation worth it: below it, NumPy's passes stay in the cache and the
# fused loop saves a few microseconds per batch.
MIN_SIZE = 1 << 15


def loops(variable):
    """The compiled update loops for this variable, or None: the setting, Numba or the variable says no."""
    return compiled.loops_for("nbtrain.optimizers._compiled", variable, MIN_SIZE)


def fits(gradient, variable, slots) -> bool:
    """Whether the compiled loops can take these arrays: all C-contiguous float32 of the variable's size."""
    size = variable.size
    return all(a.dtype == np.float32 and a.flags.c_contiguous and a.size == size
               for a in (gradient, variable, *slots.values()))
