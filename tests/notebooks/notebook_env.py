"""The environment the tutorial notebooks run in when their outputs are made or checked.

One place for ``tools/execute_notebooks.py`` (which writes the saved outputs), ``test_notebooks.py`` and
``test_binder.py`` (which compare against them): what is pinned, and what is removed.

Pinned: one BLAS/OpenMP thread, ``PYTHONHASHSEED=0``, and OpenBLAS's Haswell kernels on CPUs that have them
(AVX2). The kernel matters: OpenBLAS picks kernels by CPU, and kernels sum in different orders, so the last
digits of a trained network's weights differ between machines. Over 30 epochs that was enough to move one of 360
test digits across the decision boundary in ``11_convolutions`` (0.525 with Haswell kernels, 0.528 with
SkylakeX or Prescott ones). A CPU without AVX2 keeps its own kernels (forcing Haswell's would crash it), and
the comparison there relies on the sanitize rules alone.
"""

from __future__ import annotations

from pathlib import Path

PINNED_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
UNSET_ENV = ("MPLBACKEND", "NBTRAIN_PROGRESS", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")
SAVED_OUTPUTS_KERNEL = "Haswell"   # the OpenBLAS kernels the saved outputs were made with


def cpu_has_avx2(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when the CPU can run OpenBLAS's Haswell kernels (Linux; False where it cannot tell)."""
    try:
        return " avx2" in cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def pinned(env: dict, unset=UNSET_ENV) -> dict:
    """``env`` without the display and pytest overrides, with threads, hash seed and BLAS kernels pinned."""
    env = {key: value for key, value in env.items() if key not in unset}
    env.update(PINNED_ENV)
    if cpu_has_avx2():
        env["OPENBLAS_CORETYPE"] = SAVED_OUTPUTS_KERNEL
    return env
