"""Shared benchmark helpers: which BLAS ran, best-of and per-round timers, and peak traced memory."""

from __future__ import annotations

import os
import statistics
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


def best_times(runs: dict, repeats: int, clock=time.perf_counter) -> dict:
    """The best of :func:`timed_repeats` for each runnable (a reason it cannot run is kept as is)."""
    return {name: times if isinstance(times, str) else min(times)
            for name, times in timed_repeats(runs, repeats, clock).items()}


def repeat_ratios(ours, reference, clock_name: str) -> str:
    """A line with each round's ratio ``ours[k] / reference[k]``, sorted, and their median.

    The two times of a round were taken back to back, so the round's ratio sees one moment of a shared machine;
    a ratio of two bests may pair different moments. The spread says how far one run's ratio can be trusted.
    """
    ratios = sorted(mine / theirs for mine, theirs in zip(ours, reference))
    return (f"per repeat ({clock_name}, back to back, sorted): {' '.join(f'{r:.2f}' for r in ratios)}; "
            f"median {statistics.median(ratios):.2f}x")
