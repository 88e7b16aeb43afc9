"""The BLAS thread matrix: four models x {1 thread, all cores, nbtrain's choice} x {idle, 1 busy, 2 busy processes}.

For each load, the benchmark starts that many busy processes itself (pure-Python spin loops, stopped at the end of
the load's row), then times ``model.fit`` of each model with each thread setting, interleaved (the order rotates
every repeat) and best of ``--repeats``. Every timing trains a fresh model (after a two-batch warm-up fit that
builds it), so nbtrain's choice pays for its own trial batches, as a user's first fit does. The fixed settings
go through ``nbtrain.config.set_blas_threads(n)``; the choice is ``set_blas_threads("auto")``.

The models:

- ``mlp``: the seed MLP, 784-512-512-10 with ReLU and Dropout 0.2, RMSprop, batch 128 (random MNIST-shaped data);
- ``workshop``: 64-64-10 on the bundled digits (1797 x 64), Adam, batch 32, 20 epochs (the tutorials' model);
- ``cnn``: the network of ``bench_cnn.py`` (two Conv2D + MaxPooling, Dense softmax), SGD, batch 128;
- ``lstm``: the network of ``bench_lstm.py`` (LSTM(128) over 50 steps of 32 features, Dense(1)), Adam, batch 64.

Each timed fit of the seed MLP, the CNN and the LSTM is 20 batches (the workshop's, 20 epochs of 57): the choice
needs about 7 of them (a warm-up batch, 3 with one thread, 3 with all cores), and on a fit of 8 batches, as this
benchmark's CNN had, the trial was the whole fit and said nothing about the choice.

The target: nbtrain's choice within 10% of the best fixed setting in every cell (the "choice/best" column, wall
time). Where the choice was one thread, the "cpu" column (the choice's CPU seconds over the 1-thread setting's)
shows what the trial and the checks cost, without the noise other processes add to wall time; where it chose
several threads, CPU seconds add up over the threads and the column says nothing.
Run it from the project root as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OPENBLAS_NUM_THREADS -u OMP_NUM_THREADS -u MKL_NUM_THREADS \\
        .venv/bin/python benchmarks/bench_threads.py

(``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` would make OpenBLAS run a kernel that does not fit the CPU, see
``bench_cnn.py``; a thread variable would pin OpenBLAS's pool size, and nbtrain's choice would then leave the
count alone.) The default run takes about 3 minutes on an otherwise idle 2-core machine and up to 15 when other
work keeps it busy (the fixed-thread settings collapse then, and they are timed too); ``--scale 4`` trains on 4
times more data per timing,
``--repeats``, ``--models mlp,cnn`` and ``--loads 0,2`` select. "idle" means no busy process started by the
benchmark: on a shared machine other work still runs, so the load average is printed with each row.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import BusyProcesses, blas_report  # noqa: E402

import nbtrain  # noqa: E402
from nbtrain.layers import LSTM, Dense, Dropout  # noqa: E402
from nbtrain.utils.threads import cpu_budget, environment_setting  # noqa: E402

TARGET = 1.10


class Workload:
    """One model of the matrix: how to build it, its data, batch size and epochs per timing."""

    def __init__(self, name, build, data, batch_size, epochs):
        self.name, self.build, self.data, self.batch_size, self.epochs = name, build, data, batch_size, epochs

    def fit_seconds(self) -> tuple[float, float, object]:
        """Wall and CPU seconds of one timed fit on a fresh model (built by a two-batch warm-up), and the count
        auto chose."""
        x, y = self.data
        model = self.build()
        warm = 2 * self.batch_size
        model.fit(x[:warm], y[:warm], batch_size=self.batch_size, epochs=1, verbose=0)
        model._blas_memory.clear()   # the warm-up decides nothing: the timed fit pays for the whole trial
        start, cpu_start = time.perf_counter(), time.process_time()
        model.fit(x, y, batch_size=self.batch_size, epochs=self.epochs, verbose=0)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        chosen = model._blas_memory.get(("fit", self.batch_size))
        return seconds, cpu_seconds, (chosen[0] if chosen else "-")


def mlp(scale, rng):
    x = rng.random((int(2560 * scale), 784), dtype=np.float32)
    y = rng.integers(0, 10, len(x))

    def build():
        model = nbtrain.Sequential([Dense(512, activation="relu", input_shape=(784,)), Dropout(0.2),
                                    Dense(512, activation="relu"), Dropout(0.2), Dense(10, activation="softmax")])
        model.compile(optimizer=nbtrain.optimizers.RMSprop(), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    return Workload("mlp", build, (x, y), 128, 2)


def workshop(scale, rng):
    (x, y), _ = nbtrain.datasets.digits.load_data()
    x = np.asarray(x, np.float32).reshape(len(x), -1) / 16.0

    def build():
        model = nbtrain.Sequential([Dense(64, activation="relu", input_shape=(64,)), Dense(64, activation="relu"),
                                    Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    return Workload("workshop", build, (x, y), 32, max(1, int(20 * scale)))


def cnn(scale, rng):
    from bench_cnn import LEARNING_RATE, nbtrain_layers

    x = rng.random((int(2560 * scale), 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, len(x))

    def build():
        model = nbtrain.Sequential([nbtrain.Input((28, 28, 1))] + nbtrain_layers())
        model.compile(optimizer=nbtrain.optimizers.SGD(learning_rate=LEARNING_RATE),
                      loss="sparse_categorical_crossentropy")
        return model

    return Workload("cnn", build, (x, y), 128, 1)


def lstm(scale, rng):
    from bench_lstm import FEATURES, STEPS, UNITS, make_data

    x, y = make_data(int(1280 * scale))

    def build():
        model = nbtrain.Sequential([LSTM(UNITS, input_shape=(STEPS, FEATURES)), Dense(1)])
        model.compile(optimizer=nbtrain.optimizers.Adam(), loss="mse")
        return model

    return Workload("lstm", build, (x, y), 64, 1)


WORKLOADS = {"mlp": mlp, "workshop": workshop, "cnn": cnn, "lstm": lstm}


def measure_row(workload, settings, repeats):
    """Best-of-``repeats`` seconds per setting (order rotated each repeat), and what auto chose each time."""
    best = {name: float("inf") for name, _ in settings}
    best_cpu = {name: float("inf") for name, _ in settings}
    chosen = []
    for repeat in range(repeats):
        shift = repeat % len(settings)
        for name, value in settings[shift:] + settings[:shift]:
            nbtrain.config.set_blas_threads(value)
            seconds, cpu_seconds, choice = workload.fit_seconds()
            best[name] = min(best[name], seconds)
            best_cpu[name] = min(best_cpu[name], cpu_seconds)
            if value == "auto":
                chosen.append(choice)
    nbtrain.config.set_blas_threads("auto")
    return best, best_cpu, chosen


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp,workshop,cnn,lstm")
    parser.add_argument("--loads", default="0,1,2", help="numbers of busy processes, comma-separated")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="data per timing, relative to the default")
    args = parser.parse_args(argv)

    budget = cpu_budget()
    print(blas_report())
    print(f"CPU budget {budget} (affinity {len(os.sched_getaffinity(0))}, os.cpu_count() {os.cpu_count()}); "
          f"python {sys.version.split()[0]}, numpy {np.__version__}")
    if environment_setting():
        print(f"warning: {environment_setting()} is set, so nbtrain's choice leaves the thread count alone; "
              f"unset it to measure the choice")
    settings = [("1 thread", 1), (f"{budget} threads", budget), ("choice", "auto")]
    rng = np.random.default_rng(0)
    workloads = [WORKLOADS[name](args.scale, rng) for name in args.models.split(",")]
    print(f"seconds per fit (best of {args.repeats}); fresh model each timing; 'chose' = nbtrain's choice per repeat")
    header = f"{'load':<8}{'model':<10}" + "".join(f"{name:>11}" for name, _ in settings) + \
        f"{'choice/best':>13} {'chose':<10}{'cpu':>6}  load avg"
    print(header)
    worst = 0.0
    for busy in (int(n) for n in args.loads.split(",")):
        with BusyProcesses(busy):
            for workload in workloads:
                best, best_cpu, chosen = measure_row(workload, settings, args.repeats)
                cpu_ratio = best_cpu["choice"] / best_cpu["1 thread"]
                fixed_best = min(best[name] for name, value in settings if value != "auto")
                ratio = best["choice"] / fixed_best
                worst = max(worst, ratio)
                label = "idle" if busy == 0 else f"{busy} busy"
                print(f"{label:<8}{workload.name:<10}" + "".join(f"{best[name]:>11.3f}" for name, _ in settings)
                      + f"{ratio:>12.2f}{' ' if ratio <= TARGET else '!'} {','.join(map(str, chosen)):<10}"
                      + f"{cpu_ratio:>6.2f}  {os.getloadavg()[0]:.2f}", flush=True)
    print(f"worst choice/best: {worst:.2f} (target <= {TARGET:.2f}; '!' marks a cell above it)")


if __name__ == "__main__":
    main()
