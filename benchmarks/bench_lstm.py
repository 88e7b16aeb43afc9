"""Benchmark: one training epoch of an LSTM(128) model, nbtrain against PyTorch CPU ``nn.LSTM``.

The task: 10,000 sequences of 50 steps with 32 features, LSTM(128) -> Dense(1), mean squared error, Adam,
batch size 64 (157 batches). Both frameworks run in this process on the same data; the time covers forward,
backward and the optimizer update of every batch. nbtrain trains through ``model.fit(..., epochs=1, verbose=0)``.

Run it from the project root with OpenBLAS's processor overrides removed (on some machines they are set
for old OpenBLAS builds and slow a current NumPy down)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /work/venv/bin/python benchmarks/bench_lstm.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /work/venv/bin/python benchmarks/bench_lstm.py --threads 1

``--threads N`` pins the process to N cores and limits NumPy's BLAS (threadpoolctl) and PyTorch to N threads. Each
framework is timed ``--repeats`` times, alternating, and the fastest epoch counts; the script prints wall-clock
and CPU seconds and both ratios (nbtrain / PyTorch, lower is better). On a machine that other work keeps busy,
both libraries' spinning thread pools slow down many times over; ``--threads 1`` then gives the steadier (CPU
time) comparison. The last line gives each repeat's ratio of CPU times (its two epochs ran back to back) and their
median, the spread of the comparison from one moment to the next. PyTorch is skipped with a message when it is not
installed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import blas_report, compiled_report, limit_threads, pinning_report, repeat_ratios  # noqa: E402

from nbtrain.layers.core import Dense  # noqa: E402
from nbtrain.layers.recurrent import LSTM  # noqa: E402
from nbtrain.models import Sequential  # noqa: E402
from nbtrain.optimizers import Adam  # noqa: E402
from nbtrain.utils.compiled import set_compiled_loops  # noqa: E402

BATCH, STEPS, FEATURES, UNITS = 64, 50, 32, 128


def make_data(samples: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, STEPS, FEATURES)).astype(np.float32)
    # A target that needs memory of the whole sequence: a weighted sum of the first feature over time.
    y = (x[:, :, 0] * np.linspace(0.0, 1.0, STEPS, dtype=np.float32)).sum(axis=1, keepdims=True) / 5
    return x, y


class Timer:
    """Wall-clock and CPU seconds of a block (CPU time is steadier on a busy machine with one thread)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def nbtrain_epoch(x, y) -> tuple[Timer, float]:
    model = Sequential([LSTM(UNITS, input_shape=(STEPS, FEATURES)), Dense(1)])
    model.compile(optimizer=Adam(learning_rate=1e-3), loss="mse")
    model.fit(x[:BATCH * 4], y[:BATCH * 4], batch_size=BATCH, epochs=1, verbose=0)   # warm-up
    with Timer() as timer:
        history = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    return timer, float(history.history["loss"][-1])


def torch_epoch(torch, x, y) -> tuple[Timer, float]:
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(FEATURES, UNITS, batch_first=True)
            self.head = torch.nn.Linear(UNITS, 1)

        def forward(self, inputs):
            _, (h, _) = self.lstm(inputs)
            return self.head(h[-1])

    model = Model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run(n_samples):
        order = torch.randperm(n_samples)
        total = 0.0
        for begin in range(0, n_samples, BATCH):
            index = order[begin:begin + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(xt[index]), yt[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        return total / n_samples

    run(BATCH * 4)                                                   # warm-up
    with Timer() as timer:
        loss = run(len(x))
    return timer, loss


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None,
                        help="give both libraries this many cores and threads (default: all)")
    parser.add_argument("--numpy-only", action="store_true",
                        help="time nbtrain without its compiled loops, as without the nbtrain[fast] extra")
    args = parser.parse_args(argv)
    if args.numpy_only:
        set_compiled_loops(False)

    try:
        import torch
    except ImportError:
        torch = None
    limit = limit_threads(args.threads)

    x, y = make_data(args.samples)
    batches = -(-args.samples // BATCH)
    print(f"LSTM({UNITS}) -> Dense(1), mse, Adam: {args.samples} sequences of {STEPS}x{FEATURES}, "
          f"batch {BATCH} ({batches} batches), best of {args.repeats}")
    with limit:
        print(f"NumPy {np.__version__}, {blas_report()}; {pinning_report()}")
        print(compiled_report())
        torch_threads = None if torch is None else torch.get_num_threads()
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(nbtrain_epoch(x, y))
            if torch is not None:
                theirs.append(torch_epoch(torch, x, y))
    best = min(ours, key=lambda run: run[0].wall)
    print(f"nbtrain: {describe(best, batches)}")
    if torch is None:
        print("PyTorch: skipped (import torch failed; `pip install torch` to compare)")
        return
    reference = min(theirs, key=lambda run: run[0].wall)
    print(f"PyTorch: {describe(reference, batches)}  (torch {torch.__version__}, {torch_threads} threads)")
    print(f"ratio nbtrain / PyTorch: {best[0].wall / reference[0].wall:.2f}x wall clock, "
          f"{best[0].cpu / reference[0].cpu:.2f}x CPU time (target <= 1.2, issue 14)")
    print(repeat_ratios([run[0].cpu for run in ours], [run[0].cpu for run in theirs], "CPU"))


def describe(run, batches) -> str:
    timer, loss = run
    return (f"{timer.wall:7.2f} s/epoch wall ({timer.wall / batches * 1e3:6.1f} ms/batch), "
            f"{timer.cpu:7.2f} s CPU, final loss {loss:.4f}")


if __name__ == "__main__":
    main()
