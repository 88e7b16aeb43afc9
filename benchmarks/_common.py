"""Shared benchmark helpers: which BLAS ran, thread limits, busy neighbour processes, best-of and per-round timers,
and peak traced memory."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
import tracemalloc


def blas_report() -> str:
    """One line naming the BLAS library, its kernel (architecture) and threads, via threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: unknown (pip install threadpoolctl to report it)"
    entries = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not entries:
        return "BLAS: none found by threadpoolctl"
    parts = [f"{e.get('internal_api')} {e.get('version')} kernel={e.get('architecture')} threads={e.get('num_threads')}"
             for e in entries]
    overrides = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    return "BLAS: " + "; ".join(parts) + (f" (env overrides: {overrides})" if overrides else " (no env overrides)")


def limit_threads(threads):
    """Give every library in this process ``threads`` cores: the process is pinned at once to that many of the
    cores it may use (for the rest of its life), PyTorch gets that many threads, and the returned context limits
    NumPy's BLAS (threadpoolctl) to them. ``None`` changes nothing.

    Thread flags alone do not do it: XLA (JAX 0.10) ignores ``--xla_cpu_multi_thread_eigen=false
    intra_op_parallelism_threads=1`` and keeps one thread per core, so a "one thread" comparison by CPU time
    charged Keras for two threads' synchronisation (its epoch took 1.10 CPU seconds so, 0.91 pinned to one core).
    XLA sizes its pool from the cores the process may use when JAX is first imported: call this before anything
    imports JAX or Keras.
    """
    if threads is None:
        return contextlib.nullcontext()
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cores[:threads])
    with contextlib.suppress(ImportError):
        import torch

        torch.set_num_threads(threads)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(threads)


def pinning_report() -> str:
    """Which cores this process may run on (after :func:`limit_threads`), for a benchmark's header."""
    if not hasattr(os, "sched_getaffinity"):
        return "cores: not reported on this system"
    cores = sorted(os.sched_getaffinity(0))
    return f"cores this process may use: {len(cores)} of {os.cpu_count()} ({','.join(map(str, cores))})"


# The cores this process may use before limit_threads pins it: busy neighbours run on all of them.
_START_CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None

# Spins until its parent ends (so a killed benchmark leaves no spinner behind).
_SPIN = """
import os
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(100000):
        pass
"""


class BusyProcesses:
    """``count`` processes spinning in pure Python (each keeps one core busy), stopped on exit: the busy
    neighbours of a shared machine, started and stopped by the benchmark itself."""

    def __init__(self, count: int):
        self.count, self.processes = count, []

    def __enter__(self):
        spin = _SPIN if _START_CORES is None else f"import os\nos.sched_setaffinity(0, {_START_CORES})\n{_SPIN}"
        self.processes = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(self.count)]
        time.sleep(0.5 if self.count else 0)   # let the scheduler see them
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait()


def compiled_report() -> str:
    """Whether nbtrain runs its compiled loops here (Numba, the nbtrain[fast] extra) or NumPy alone."""
    from nbtrain.utils import compiled

    if not compiled.available():
        return 'nbtrain\'s loops: NumPy only (Numba is not installed; pip install "nbtrain[fast]" compiles some)'
    if compiled.compiled_loops() is False:
        return "nbtrain's loops: NumPy only (set_compiled_loops(False))"
    import numba

    return f"nbtrain's loops: some compiled by Numba {numba.__version__} (the nbtrain[fast] extra)"


def import_keras_on_jax():
    """Keras 3 on JAX, or a string saying why it cannot run (the benchmark prints it in the library's row)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras
    except Exception as error:  # ImportError, or a backend that fails to load
        return f"skipped: Keras on JAX is not available ({type(error).__name__}); pip install keras jax to compare"
    if keras.backend.backend() != "jax":
        return f"skipped: KERAS_BACKEND is {keras.backend.backend()!r}, this row measures Keras on JAX"
    return keras


def best_time(function, repeats: int) -> float:
    """The fastest of ``repeats`` runs, in seconds (the least disturbed by other work on the machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def traced_peak(function) -> int:
    """Peak bytes allocated (NumPy reports its buffers to tracemalloc) while ``function`` runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


# --clock cpu: this process's CPU seconds, steadier than wall time on a busy machine
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def timed_repeats(runs: dict, repeats: int, clock=time.perf_counter) -> dict:
    """Every runnable's times over ``repeats`` rounds (by ``clock``); a string in ``runs`` is a reason it cannot
    run, kept as is.

    Within a round the runs follow one another, so that a machine other work keeps busy slows them alike.
    """
    times = {name: run if isinstance(run, str) else [] for name, run in runs.items()}
    for _ in range(repeats):
        for name, run in runs.items():
            if isinstance(run, str):
                continue
            start = clock()
            run()
            times[name].append(clock() - start)
    return times


def best_of(times: dict) -> dict:
    """The fastest of each runnable's :func:`timed_repeats` times (a reason it cannot run is kept as is)."""
    return {name: each if isinstance(each, str) else min(each) for name, each in times.items()}


def best_times(runs: dict, repeats: int, clock=time.perf_counter) -> dict:
    """The best of :func:`timed_repeats` for each runnable (a reason it cannot run is kept as is)."""
    return best_of(timed_repeats(runs, repeats, clock))


def repeat_ratios(ours, reference, clock_name: str) -> str:
    """A line with each round's ratio ``ours[k] / reference[k]``, sorted, and their median.

    The two times of a round were taken back to back, so the round's ratio sees one moment of a shared machine;
    a ratio of two bests may pair different moments. The spread says how far one run's ratio can be trusted.
    """
    ratios = sorted(mine / theirs for mine, theirs in zip(ours, reference))
    return (f"per repeat ({clock_name}, back to back, sorted): {' '.join(f'{r:.2f}' for r in ratios)}; "
            f"median {statistics.median(ratios):.2f}x")
