"""What the NaN/inf checks cost (issue 12): of fit's arrays against one epoch, of the gradients against a batch.

fit checks x and y once per call, in row blocks of about 4 MB (``nbtrain.data.arrays.check_finite``). This
times that check on 1M x 100 float32 and one epoch of a small MLP (100-16-1, batch 32, MSE, Adam) on the
same data, and prints the ratio. Then it times the per-batch check of the gradients (``np.isfinite`` over
each, in ``Trainer._train_step``) against one batch of the seed MLP (784-512-512-10, batch 128).

Run:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_finite_check.py [--samples N]

Targets: the data check costs under 2% of the epoch, the gradient check under 1% of a batch.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nbtrain
from nbtrain.data.arrays import check_all_finite
from nbtrain.layers import Dense, Dropout, Input
from nbtrain.models import Sequential


def seconds(run, repeats=3) -> float:
    """The best wall time of ``repeats`` runs of ``run()``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.samples, 100)).astype(np.float32)
    y = x[:, :1] * 0.5
    check = seconds(lambda: (check_all_finite([x], "x"), check_all_finite([y], "y")))
    nbtrain.utils.set_random_seed(0)
    model = Sequential([Input(shape=(100,)), Dense(16, activation="relu"), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    epoch = seconds(lambda: model.fit(x, y, epochs=1, batch_size=32, verbose=0), repeats=1)
    print(f"{args.samples} x 100 float32: check of x and y {check * 1000:.1f} ms, one epoch {epoch:.2f} s, "
          f"check = {100 * check / epoch:.2f}% of the epoch (the epoch includes its own check)")
    gradient_check_share()


def gradient_check_share(batches=30) -> None:
    """The seed MLP's gradient check beside one of its batches."""
    nbtrain.utils.set_random_seed(0)
    model = Sequential([Input(shape=(784,)), Dense(512, activation="relu"), Dropout(0.2),
                        Dense(512, activation="relu"), Dropout(0.2), Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = nbtrain.datasets.make_mnist_like(128 * batches, seed=0)
    x, y = x.reshape(len(x), 784).astype(np.float32) / 255, nbtrain.utils.to_categorical(y, 10)
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)   # warm up
    batch = seconds(lambda: model.fit(x, y, batch_size=128, epochs=1, verbose=0)) / batches
    gradients = model._gradients()
    check = seconds(lambda: all(np.isfinite(g).all() for g in gradients), repeats=200)
    print(f"seed MLP: gradient check {check * 1e3:.3f} ms, one batch {batch * 1e3:.1f} ms, "
          f"check = {100 * check / batch:.2f}% of a batch")


if __name__ == "__main__":
    main()
