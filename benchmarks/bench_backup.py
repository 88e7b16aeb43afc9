"""What BackupAndRestore costs a fit of the seed MLP, against a plain fit in the same run.

784-512-512-10, ReLU, Dropout 0.2, RMSprop, batch 128, categorical crossentropy, accuracy, on MNIST-shaped
float32 data (``make_mnist_like``), one epoch per fit. Each setting (plain, ``save_freq`` 7, 100 and
``"epoch"``) is timed ``--repeats`` times, interleaved so that other work on the machine disturbs them alike,
and the best time of each is compared with the best plain fit. Backups go to a fresh folder on the disk that
holds ``--folder`` (default: the system's temporary folder), with fsync as in real use.

On a busy machine the wall times vary by more than the backups cost, so the fits with backups also measure
the cost directly: the seconds training waited in BackupAndRestore's hooks (copying the weights, an epoch's
backup, waiting for a write still running) and the CPU seconds of the helper thread that writes the batch
backups; their sum over the plain fit is the "direct" overhead.

Run (the machine's OpenBLAS overrides slow a current NumPy, so unset them for this command only):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_backup.py [--samples N] [--repeats N]

Target: at most 5% over the plain fit with save_freq=100.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import blas_report  # noqa: E402

import nbtrain  # noqa: E402
from nbtrain.callbacks import BackupAndRestore  # noqa: E402
from nbtrain.layers import Dense, Dropout, Input  # noqa: E402
from nbtrain.models import Sequential  # noqa: E402
from nbtrain.models.saving import WeightsSnapshot  # noqa: E402

SETTINGS = (None, 7, 100, "epoch")


def seed_mlp():
    nbtrain.utils.set_random_seed(0)
    model = Sequential([Input(shape=(784,)), Dense(512, activation="relu"), Dropout(0.2),
                        Dense(512, activation="relu"), Dropout(0.2), Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def make_data(n):
    x, y = nbtrain.datasets.make_mnist_like(n, seed=0)
    return x.reshape(n, 784).astype(np.float32) / 255, nbtrain.utils.to_categorical(y, 10)


class Stopwatch:
    """Adds up the seconds spent in wrapped functions: wall time in the caller, or CPU time of the thread."""

    def __init__(self, clock):
        self.clock, self.total = clock, 0.0

    def wrap(self, function):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            start = self.clock()
            try:
                return function(*args, **kwargs)
            finally:
                self.total += self.clock() - start
        return timed


def timed_fit(x, y, save_freq, folder) -> tuple[float, float]:
    """Wall seconds of one epoch of a fresh seed MLP (with a BackupAndRestore(save_freq) unless None), and
    the seconds the backups cost directly: training waiting in the callback plus the writer thread's CPU."""
    model = seed_mlp()
    backup = tempfile.mkdtemp(prefix="bench-backup-", dir=folder)
    waited, writer_cpu = Stopwatch(time.perf_counter), Stopwatch(time.thread_time)
    callbacks = []
    if save_freq is not None:
        callback = BackupAndRestore(backup, save_freq=save_freq)
        for hook in ("on_train_begin", "on_train_batch_end", "on_epoch_end", "on_train_end"):
            setattr(callback, hook, waited.wrap(getattr(callback, hook)))
        callbacks.append(callback)
    real_save = WeightsSnapshot.save
    WeightsSnapshot.save = writer_cpu.wrap(real_save)
    try:
        start = time.perf_counter()
        model.fit(x, y, batch_size=128, epochs=1, verbose=0, callbacks=callbacks)
        return time.perf_counter() - start, waited.total + writer_cpu.total
    finally:
        WeightsSnapshot.save = real_save
        shutil.rmtree(backup, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folder", default=None, help="where the backups are written (default: the temp folder)")
    args = parser.parse_args(argv)
    print(blas_report())
    x, y = make_data(args.samples)
    batches = -(-args.samples // 128)
    timed_fit(x[:1280], y[:1280], None, args.folder)  # warm up
    times = {setting: [] for setting in SETTINGS}
    for _ in range(args.repeats):
        for setting in SETTINGS:
            times[setting].append(timed_fit(x, y, setting, args.folder))
    plain = min(wall for wall, _ in times[None])
    print(f"seed MLP, {args.samples} samples ({batches} batches of 128), 1 epoch, best of {args.repeats}")
    print(f"  plain fit           : {plain:6.2f} s")
    for setting in SETTINGS[1:]:
        wall = min(wall for wall, _ in times[setting])
        direct = min(cost for _, cost in times[setting])
        backups = (batches // setting if isinstance(setting, int) else 0) + 1
        print(f"  save_freq={setting!r:8}: {wall:6.2f} s, {100 * (wall / plain - 1):+5.1f}% wall; direct cost "
              f"{direct:5.2f} s = {100 * direct / plain:4.1f}% of the plain fit ({backups} backups)")


if __name__ == "__main__":
    main()
