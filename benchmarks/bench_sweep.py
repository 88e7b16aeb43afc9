"""A sweep of 8 runs of the workshop model on 2 local Dask workers against the same sweep in process.

The workshop model: the bundled digits (1,437 training images of 64 pixels, 20% of them for validation), a
64-64-10 MLP trained with Adam, batch size 32. Eight configs (eight learning rates).

Reported, each the best of ``--repeats`` interleaved rounds (the machine may be shared; the best round is the
one least disturbed by other work):

* the in-process sweep's wall time, and the same sweep on a ``LocalCluster(n_workers=2, threads_per_worker=1)``
  (started once, outside the timing) and with ``executor="processes"`` (2 processes, pool started per sweep);
* the speed-up of each over in process (target on 2 idle cores: 1.7x or more), from the best times, and the
  spread of the rounds' own ratios (min, median, max);
* the per-run overhead on Dask: the worker time per run not spent training,
  ``(workers x wall - sum of the runs' own times) / runs``, and a sweep of 8 runs that do almost nothing
  (one epoch on 16 samples), whose wall time x workers / runs is the cost of a run's round trip (target < 0.2 s).

Every process uses one BLAS thread, so the comparison is of cores, not of BLAS threading.

Run:

    .venv/bin/python benchmarks/bench_sweep.py [--repeats 5] [--epochs 20]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nbtrain  # noqa: E402
from nbtrain.experiments import sweep  # noqa: E402

GRID = {"learning_rate": [0.0003, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.008, 0.01]}


def build(learning_rate=0.001):
    model = nbtrain.Sequential([nbtrain.Input((64,)), nbtrain.layers.Dense(64, activation="relu"),
                                nbtrain.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=nbtrain.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def digits():
    (x, y), _ = nbtrain.datasets.digits.load_data()
    return x.reshape(len(x), 64).astype("float32") / 16, y


def timed_sweep(x, y, epochs, **where):
    start = time.perf_counter()
    result = sweep(build, GRID, x, y, epochs=epochs, batch_size=32, validation_split=0.2, verbose=0, **where)
    wall = time.perf_counter() - start
    assert all(run.status == "done" for run in result.runs), [run.error for run in result.runs]
    return wall, result


def cpu_seconds(cluster_processes) -> float:
    """CPU seconds used so far by this process (the sweep's client and, for a LocalCluster, its scheduler), the
    local processes it has reaped, and the cluster's living worker processes."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = time.process_time() + children.ru_utime + children.ru_stime
    for process in cluster_processes:
        times = process.cpu_times()
        total += times.user + times.system
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass
    x, y = digits()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        timed_sweep(x, y, 1, client=client)            # warm the workers (imports, first scatter)
        times = {"in-process": [], "dask": [], "processes": []}
        run_times = {"in-process": [], "dask": [], "processes": []}   # mean seconds of a run where it ran
        tiny = []
        dask_result = None
        import psutil

        cluster_processes = psutil.Process().children(recursive=True)
        cpu = {"in-process": [], "dask": [], "processes": []}
        for _ in range(args.repeats):
            for name, where in (("in-process", {}), ("dask", {"client": client}),
                                ("processes", {"executor": "processes"})):
                before = cpu_seconds(cluster_processes)
                wall, result = timed_sweep(x, y, args.epochs, **where)
                cpu[name].append(cpu_seconds(cluster_processes) - before)
                times[name].append(wall)
                run_times[name].append(sum(run.seconds for run in result.runs) / len(result.runs))
                dask_result = result if name == "dask" else dask_result
            tiny.append(timed_sweep(x[:16], y[:16], 1, client=client)[0])
        best = {name: min(values) for name, values in times.items()}
        # each round's own ratio (the three sweeps of a round ran one after another, under the same load)
        rounds = {name: sorted(inproc / wall for inproc, wall in zip(times["in-process"], times[name]))
                  for name in ("dask", "processes")}
        workers = len(client.scheduler_info()["workers"])
        run_seconds = sum(run.seconds for run in dask_result.runs)
        runs = len(dask_result.runs)
        print(f"{runs} runs of 64-64-10 Adam on digits, {args.epochs} epochs each; best of {args.repeats} rounds; "
              f"{os.cpu_count()} cores (shared machine: figures measured under load)")
        print(f"in process:            {best['in-process']:.2f} s   (a run: {min(run_times['in-process']):.3f} s)")
        for name in ("dask", "processes"):
            spread = rounds[name]
            print(f"{name + ' (2 workers):':<22} {best[name]:.2f} s   speed-up {best['in-process'] / best[name]:.2f}x"
                  f"   (a run: {min(run_times[name]):.3f} s; per round: min {spread[0]:.2f}x, "
                  f"median {spread[len(spread) // 2]:.2f}x, max {spread[-1]:.2f}x)")
        # CPU seconds do not depend on what else the machine runs: the speed-up 2 idle cores would allow, were
        # the runs' waits (round trips) free, is 2 x the in-process CPU time over the whole cluster's
        least = {name: min(values) for name, values in cpu.items()}
        print("CPU seconds of a sweep (all processes): " + ", ".join(f"{name} {value:.2f}" for name, value
                                                                        in least.items())
              + "; bound on 2 idle cores: " + ", ".join(f"{name} {2 * least['in-process'] / least[name]:.2f}x"
                                                          for name in ("dask", "processes")))
        print(f"dask per-run overhead: {(workers * times['dask'][-1] - run_seconds) / runs:.3f} s "
              f"(worker time per run not spent training, last round)")
        print(f"dask round trip of an empty run: {min(tiny) * workers / runs:.3f} s "
              f"(8 one-epoch runs on 16 samples: {min(tiny):.2f} s)")
    finally:
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
