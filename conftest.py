"""Collection settings for the whole repository (the doctests under nbtrain/ as well as tests/)."""

import importlib.util

# The modules of compiled loops import Numba, an optional extra (nbtrain[fast]); without it there is nothing to
# collect there, and nbtrain runs NumPy's code instead.
_COMPILED = ["nbtrain/optimizers/_compiled.py", "nbtrain/layers/_compiled.py"]
collect_ignore = [] if importlib.util.find_spec("numba") else _COMPILED
