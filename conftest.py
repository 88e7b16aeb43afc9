"""Collection settings for the whole repository (the doctests under nbtrain/ as well as tests/)."""

import importlib.util

# The modules of compiled loops import Numba, an optional extra (nbtrain[fast]); without it there is nothing to
# collect there, and nbtrain runs NumPy's code instead.
collect_ignore_glob = [] if importlib.util.find_spec("numba") else ["nbtrain/*/_compiled.py"]
