"""Collection settings for the whole repository (the doctests under nbtrain/ as well as tests/)."""

import importlib.util

# The compiled optimizer loops import Numba, an optional extra (nbtrain[fast]); without it there is nothing to
# collect there, and nbtrain falls back to NumPy's updates.
collect_ignore = [] if importlib.util.find_spec("numba") else ["nbtrain/optimizers/_compiled.py"]
