"""Seconds per epoch of a small CNN on MNIST-shaped data: nbtrain against PyTorch on the CPU.

The network is Conv2D(32, 3, relu) - MaxPooling2D - Conv2D(64, 3, relu) - MaxPooling2D - Flatten -
Dense(10, softmax), trained for one epoch of 10000 random 28x28x1 float32 images with batch size 128 and
plain SGD. nbtrain is timed twice: through ``model.fit`` (when ``nbtrain.Sequential`` can train) and as a
bare loop over the layers' forward/backward with an in-place SGD step, which isolates the layers' cost.
PyTorch runs the same network and loop in the same process when ``import torch`` works; otherwise its
row is skipped with a message. The ratio printed is nbtrain time / PyTorch time (lower is better).

Run it from the project root as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /work/venv/bin/python benchmarks/bench_cnn.py

``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` override OpenBLAS's detection of the CPU; when an environment
sets them, NumPy's matrix products can run a kernel that does not fit this machine and the timing would
not be representative. The script prints which BLAS libraries, kernels and thread counts actually ran
(threadpoolctl's ``threadpool_info()``).

The timed epochs of the three runs alternate and the best of ``--repeats`` is reported, so a machine that
other work keeps busy slows them alike; still, when other processes use the CPUs, multi-threaded BLAS loses
far more than the rest (its threads wait for each other), so the script warns when the load average is high,
and ``--threads 1`` gives a steadier single-core comparison. A last line gives each repeat's ratio of
``model.fit`` to PyTorch (the two epochs ran back to back) and their median: how far one run's ratio can be
trusted. Options: ``--samples``, ``--batch-size``,
``--repeats``, ``--threads``, ``--no-torch``, ``--clock cpu`` (CPU seconds instead of wall time).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import CLOCKS, best_of, limit_threads, pinning_report, repeat_ratios, timed_repeats  # noqa: E402

from nbtrain.layers import Dense, Flatten  # noqa: E402
from nbtrain.layers.convolutional import Conv2D  # noqa: E402
from nbtrain.layers.pooling import MaxPooling2D  # noqa: E402

LEARNING_RATE = 0.01


def make_data(samples: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((samples, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, samples)
    return x, y


def nbtrain_layers():
    return [Conv2D(32, 3, activation="relu"), MaxPooling2D(), Conv2D(64, 3, activation="relu"), MaxPooling2D(),
            Flatten(), Dense(10, activation="softmax")]


# ----- nbtrain: a bare loop over the layers -----------------------------------------------------------------


def build_layer_stack(input_shape):
    layers = nbtrain_layers()
    shape = (None,) + tuple(input_shape)
    for layer in layers:
        layer.ensure_built(shape)
        shape = layer.compute_output_shape(shape)
    layers[0].input_gradient_needed = False  # nothing before the first layer needs dL/dx
    return layers


def layer_loop_epoch(layers, x, y, batch_size):
    """One epoch: forward, fused softmax-crossentropy gradient (p - y) / batch, backward, SGD update."""
    for start in range(0, len(x), batch_size):
        h, labels = x[start:start + batch_size], y[start:start + batch_size]
        for layer in layers:
            h = layer.forward(h, training=True)
        grad = h.copy()
        grad[np.arange(len(labels)), labels] -= 1.0
        grad /= len(labels)
        grad = layers[-1].backward_from_preactivation(grad)
        for layer in reversed(layers[:-1]):
            grad = layer.backward(grad)
        for layer in layers:
            for name, weight in layer.params.items():
                weight -= LEARNING_RATE * layer.grads[name]


def prepare_layer_loop(x, y, batch_size):
    layers = build_layer_stack(x.shape[1:])
    layer_loop_epoch(layers, x[:4 * batch_size], y[:4 * batch_size], batch_size)  # warm up
    return lambda: layer_loop_epoch(layers, x, y, batch_size)


# ----- nbtrain: model.fit ----------------------------------------------------------------------------------


def prepare_model_fit(x, y, batch_size):
    """A function running one epoch of ``model.fit``, or a string saying why it cannot run."""
    try:
        import nbtrain

        model = nbtrain.Sequential([nbtrain.Input((28, 28, 1))] + nbtrain_layers())
        model.compile(optimizer=nbtrain.optimizers.SGD(learning_rate=LEARNING_RATE),
                      loss="sparse_categorical_crossentropy")
        model.fit(x[:4 * batch_size], y[:4 * batch_size], batch_size=batch_size, epochs=1, verbose=0)
    except Exception as error:  # the engine is developed alongside; report rather than crash
        return f"skipped: model.fit failed ({type(error).__name__}: {error})"
    return lambda: model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)


# ----- PyTorch ---------------------------------------------------------------------------------------------


def prepare_torch(x, y, batch_size, threads=None):
    """A function running one epoch of the same network in PyTorch, or a string saying why it cannot."""
    try:
        import torch
    except ImportError:
        return "skipped: PyTorch is not installed (pip install torch to compare)"
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64 * 5 * 5, 10),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()  # log-softmax and crossentropy fused, as nbtrain fuses them
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW, converted once
    yt = torch.from_numpy(y.astype(np.int64))

    def epoch(n=len(xt)):
        for start in range(0, n, batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(xt[start:start + batch_size]), yt[start:start + batch_size])
            loss.backward()
            optimizer.step()

    epoch(4 * batch_size)  # warm up
    return epoch


# ----- reporting -------------------------------------------------------------------------------------------




def blas_report() -> list[str]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl is not installed: cannot tell which BLAS ran (pip install threadpoolctl)"]
    lines = []
    for info in threadpool_info():
        lines.append(
            f"{info.get('internal_api', '?')} {info.get('version') or ''} "
            f"kernel={info.get('architecture') or '-'} threads={info.get('num_threads')} "
            f"({Path(info.get('filepath', '')).name})"
        )
    return lines


def busy_warning() -> str | None:
    """Other processes competing for the CPUs distort the timings (multi-threaded BLAS suffers most)."""
    if not hasattr(os, "getloadavg"):
        return None
    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    if load > 0.5 * cpus:
        return (f"warning: load average {load:.1f} on {cpus} CPUs before this run; other processes are competing "
                "for the CPUs, so these timings (and the ratio) are unreliable")
    return None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall clock (default) or this process's CPU time (steadier with --threads 1 when other "
                             "processes keep the machine busy)")
    parser.add_argument("--threads", type=int, default=None,
                        help="give NumPy's BLAS and PyTorch this many cores and threads (default: their own choice)")
    args = parser.parse_args(argv)
    with limit_threads(args.threads):
        return run_benchmark(args)


def run_benchmark(args) -> None:
    overrides = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    if overrides:
        print(f"warning: {overrides} is set; run with env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE")

    warning_before = busy_warning()
    x, y = make_data(args.samples)
    print(f"CNN epoch: {args.samples} samples of 28x28x1, batch {args.batch_size}, best of {args.repeats} "
          f"({args.clock} time); "
          f"numpy {np.__version__}, {os.cpu_count()} CPUs")
    runs = {
        "nbtrain layers (forward/backward/SGD loop)": prepare_layer_loop(x, y, args.batch_size),
        "nbtrain model.fit": prepare_model_fit(x, y, args.batch_size),
        "PyTorch CPU": "skipped: --no-torch" if args.no_torch else prepare_torch(x, y, args.batch_size, args.threads),
    }
    if not isinstance(runs["PyTorch CPU"], str):
        import torch

        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    times = timed_repeats(runs, args.repeats, CLOCKS[args.clock])
    results = best_of(times)
    reference = results["PyTorch CPU"]
    for name, seconds in results.items():
        if isinstance(seconds, str):
            print(f"  {name:<45} {seconds}")
            continue
        ratio = "" if isinstance(reference, str) else f"  ({seconds / reference:.2f}x PyTorch; target <= 1.2)"
        print(f"  {name:<45} {seconds:7.3f} s/epoch{ratio}")
    if not isinstance(reference, str) and not isinstance(times["nbtrain model.fit"], str):
        print("  model.fit / PyTorch " + repeat_ratios(times["nbtrain model.fit"], times["PyTorch CPU"], args.clock))
    print("BLAS / thread pools (threadpoolctl):")
    print(f"  {pinning_report()}")
    for line in blas_report():
        print(f"  {line}")
    if warning_before:  # measured before the run: the run's own threads raise the load average
        print(warning_before)


if __name__ == "__main__":
    main()
