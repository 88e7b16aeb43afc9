"""Peak memory beyond the data for fit, evaluate and predict, with float32 and float64 inputs (issue 12).

A model can only compute in float32, so data of another dtype (float64 from pandas or ``np.loadtxt``,
integers) or a non-contiguous view (``x[:, ::2]``) has to be cast. Where it is cast decides the memory:

- ``fit`` casts once and shares that copy between the training and the ``validation_split`` parts, since it
  reads the data once per epoch: float64 costs one float32 copy (half the data), never two;
- ``evaluate`` and ``predict`` read the data once, so they cast batch by batch: any dtype costs a few
  batches, plus ``predict``'s result.

Memory is NumPy's allocations as traced by ``tracemalloc`` (peak during the call minus what was allocated
before it), so the figures do not depend on other processes. The model is small (100-16-1, MSE, SGD) so the
data dominates. Run:

    .venv/bin/python benchmarks/bench_memory.py [--samples 1000000] [--features 100]

Targets: float64 fit costs at most one float32 copy of the data (plus small change), with or without
``validation_split``; evaluate and predict on float64 cost at most a few batches beyond their result.
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nbtrain.layers import Dense, Input  # noqa: E402
from nbtrain.models import Sequential  # noqa: E402

MB = 1 << 20


def make_model(features: int) -> Sequential:
    model = Sequential([Input((features,)), Dense(16, activation="relu"), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def peak_beyond(call) -> float:
    """MB allocated at the peak of ``call()``, beyond what was allocated when it started."""
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - before) / MB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x64 = rng.standard_normal((args.samples, args.features))
    y64 = rng.standard_normal((args.samples, 1))
    x32, y32 = x64.astype(np.float32), y64.astype(np.float32)
    copy_mb = x32.nbytes / MB
    batch_mb = args.batch_size * args.features * 4 / MB
    print(f"data: {args.samples} x {args.features}; a float32 copy of x is {copy_mb:.0f} MB, "
          f"a float64 x {x64.nbytes / MB:.0f} MB; a batch of {args.batch_size} in float32 is {batch_mb:.2f} MB")
    model = make_model(args.features)
    fit = dict(epochs=1, batch_size=args.batch_size, verbose=0, shuffle=False)
    rows = [
        ("fit float32", lambda: model.fit(x32, y32, **fit)),
        ("fit float32, validation_split=0.2", lambda: model.fit(x32, y32, validation_split=0.2, **fit)),
        ("fit float64", lambda: model.fit(x64, y64, **fit)),
        ("fit float64, validation_split=0.2", lambda: model.fit(x64, y64, validation_split=0.2, **fit)),
        ("evaluate float32", lambda: model.evaluate(x32, y32, batch_size=args.batch_size, verbose=0)),
        ("evaluate float64", lambda: model.evaluate(x64, y64, batch_size=args.batch_size, verbose=0)),
        ("predict float32", lambda: model.predict(x32, batch_size=args.batch_size, verbose=0)),
        ("predict float64", lambda: model.predict(x64, batch_size=args.batch_size, verbose=0)),
        ("predict float64, non-contiguous x[:, ::2]",
         lambda: make_model(args.features // 2).predict(x64[:, ::2], batch_size=args.batch_size, verbose=0)),
    ]
    result_mb = args.samples * 4 / MB
    print(f"{'call':45s} {'peak MB':>9s} {'in float32 copies of x':>24s}")
    for name, call in rows:
        mb = peak_beyond(call)
        print(f"{name:45s} {mb:9.1f} {mb / copy_mb:24.2f}")
    print(f"(predict's result is {result_mb:.1f} MB; a fit's float32 copy of y is {y32.nbytes / MB:.1f} MB)")


if __name__ == "__main__":
    main()
