"""Seconds per epoch of the Keras MNIST MLP: nbtrain beside a hand-written NumPy loop, Keras 3 on JAX and PyTorch.

784-512-512-10, ReLU, Dropout 0.2, RMSprop, batch 128, categorical crossentropy, accuracy, on 60000 x 784
float32 MNIST-shaped data. The hand-written loop does the same math with preallocated buffers and in-place
updates. Keras 3 runs on JAX (XLA) when ``keras`` and ``jax`` import, PyTorch when ``torch`` imports; each is
skipped with a message otherwise. Every framework is prepared (and XLA has compiled) before timing; then the
timed epochs alternate between them and the best of ``--repeats`` counts, so a busy machine slows all alike.

Run (the machine's OpenBLAS overrides slow a current NumPy, so unset them for this command only):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_mlp.py [--samples N] [--repeats N]
        [--threads N] [--clock wall|cpu] [--breakdown] [--no-keras] [--no-torch] [--numpy-only]

``--threads N`` pins this process to N cores (before JAX is imported: XLA sizes its thread pool from them, and
ignores thread flags) and limits NumPy's BLAS (threadpoolctl) and PyTorch to N threads. ``--clock cpu`` times by
this process's CPU seconds instead of the wall clock: with ``--threads 1`` on a machine that other work keeps busy,
the steadier measure. ``--breakdown`` profiles nbtrain epochs into GEMMs, activations, dropout, loss, optimizer,
metrics and the rest of the loop, and compares the GEMM part with bare ``np.matmul`` calls of the same shapes (the
machine's GEMM speed for this network). With Numba installed (the ``nbtrain[fast]`` extra) nbtrain runs some loops
compiled; the comparison then also times nbtrain with NumPy alone, and ``--numpy-only`` runs everything so.

Targets: nbtrain <= 1.15 x the hand-written loop and <= 1.0 x Keras on JAX per epoch; peak memory during fit
<= data + 25%.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import (CLOCKS, blas_report, compiled_report, import_keras_on_jax, limit_threads,  # noqa: E402
                     pinning_report, traced_peak)
from _common import best_times as common_best_times  # noqa: E402

import nbtrain  # noqa: E402
from nbtrain.layers import Dense, Dropout  # noqa: E402
from nbtrain.models import Sequential  # noqa: E402
from nbtrain.optimizers import RMSprop  # noqa: E402
from nbtrain.utils import compiled  # noqa: E402

BATCH, HIDDEN, CLASSES, RATE = 128, 512, 10, 0.2
LR, RHO, EPS = 0.001, 0.9, 1e-7


def make_data(n, seed=0):
    x, y = nbtrain.datasets.make_mnist_like(n, seed=seed)
    return x.reshape(n, 784).astype(np.float32) / 255, nbtrain.utils.to_categorical(y, CLASSES)


class HandWrittenMLP:
    """The same network and update rule written directly in NumPy, as a careful engineer would."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        sizes = [(784, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, CLASSES)]
        self.params = []
        for fan_in, fan_out in sizes:
            limit = np.sqrt(6 / (fan_in + fan_out))
            self.params += [rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32),
                            np.zeros(fan_out, np.float32)]
        self.grads = [np.empty_like(p) for p in self.params]
        self.square_avg = [np.zeros_like(p) for p in self.params]
        self.scratch = [np.empty_like(p) for p in self.params]
        self.rng = rng

    def dropout(self, h):
        mask = self.rng.random(h.shape, dtype=np.float32)
        np.multiply(mask >= RATE, 1 / (1 - RATE), out=mask)
        h *= mask
        return mask

    def step(self, x, y):
        w1, b1, w2, b2, w3, b3 = self.params
        h1 = x @ w1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        m1 = self.dropout(h1)
        h2 = h1 @ w2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        m2 = self.dropout(h2)
        logits = h2 @ w3
        logits += b3
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        probs = logits
        loss = -np.mean(np.sum(y * np.log(np.clip(probs, 1e-7, 1 - 1e-7)), axis=1))
        accuracy = np.mean(probs.argmax(1) == y.argmax(1))
        g3 = (probs - y) / len(x)
        gw1, gb1, gw2, gb2, gw3, gb3 = self.grads
        np.matmul(h2.T, g3, out=gw3)
        np.sum(g3, axis=0, out=gb3)
        g2 = g3 @ w3.T
        g2 *= m2
        g2 *= h2 > 0
        np.matmul(h1.T, g2, out=gw2)
        np.sum(g2, axis=0, out=gb2)
        g1 = g2 @ w2.T
        g1 *= m1
        g1 *= h1 > 0
        np.matmul(x.T, g1, out=gw1)
        np.sum(g1, axis=0, out=gb1)
        self.rmsprop()
        return loss, accuracy

    def rmsprop(self):
        self.steps = getattr(self, "steps", 0) + 1
        for p, g, v, s in zip(self.params, self.grads, self.square_avg, self.scratch):
            if self.steps % 8 == 0:  # flush subnormal averages (dead units), which slow every later pass
                np.copyto(v, 0, where=v < np.finfo(np.float32).tiny)
            v *= RHO
            np.multiply(g, g, out=s)
            s *= 1 - RHO
            v += s
            np.add(v, EPS, out=s)
            np.sqrt(s, out=s)
            np.divide(g, s, out=s)
            s *= LR
            p -= s

    def epoch(self, x, y):
        order = self.rng.permutation(len(x))
        xb = np.empty((BATCH, 784), np.float32)
        yb = np.empty((BATCH, CLASSES), np.float32)
        for start in range(0, len(x), BATCH):
            index = order[start:start + BATCH]
            if len(index) != BATCH:
                xb, yb = np.empty((len(index), 784), np.float32), np.empty((len(index), CLASSES), np.float32)
            np.take(x, index, axis=0, out=xb)
            np.take(y, index, axis=0, out=yb)
            self.step(xb, yb)


def nbtrain_model():
    model = Sequential([Dense(HIDDEN, activation="relu", input_shape=(784,)), Dropout(RATE),
                        Dense(HIDDEN, activation="relu"), Dropout(RATE), Dense(CLASSES, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=RMSprop(), metrics=["accuracy"])
    return model


NUMPY_UPDATES = "nbtrain fit(), NumPy updates"


def prepare_numpy_updates(x, y):
    """An nbtrain epoch with NumPy's optimizer updates, where Numba would otherwise compile them; else why not."""
    if not compiled.available() or compiled.compiled_loops() is False:
        return "the same as nbtrain fit(): NumPy only already"
    nbtrain.utils.set_random_seed(0)
    model = nbtrain_model()

    def epoch():
        nbtrain.config.set_compiled_loops(False)
        try:
            model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        finally:
            nbtrain.config.set_compiled_loops("auto")

    epoch()
    return epoch


def prepare_torch(x, y):
    """One PyTorch epoch of the same network, or a string saying why it cannot run."""
    try:
        import torch
    except ImportError:
        return "not installed (pip install torch to compare)"
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, HIDDEN), torch.nn.ReLU(), torch.nn.Dropout(RATE),
                              torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.ReLU(), torch.nn.Dropout(RATE),
                              torch.nn.Linear(HIDDEN, CLASSES))
    optimizer = torch.optim.RMSprop(net.parameters(), lr=LR, alpha=RHO, eps=EPS)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.argmax(1))

    def epoch():
        order = torch.randperm(len(xt))
        for start in range(0, len(xt), BATCH):
            index = order[start:start + BATCH]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt[index]), yt[index])
            loss.backward()
            optimizer.step()

    epoch()
    return epoch


def prepare_keras(x, y):
    """One Keras-3-on-JAX epoch of the same network (compiled by a first, untimed epoch), or why it cannot run."""
    keras = import_keras_on_jax()
    if isinstance(keras, str):
        return keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((784,)), keras.layers.Dense(HIDDEN, activation="relu"), keras.layers.Dropout(RATE),
        keras.layers.Dense(HIDDEN, activation="relu"), keras.layers.Dropout(RATE),
        keras.layers.Dense(CLASSES, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=LR, rho=RHO),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # XLA compiles here; later fits reuse the program
    return lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)


def keras_description() -> str:
    import jax
    import keras

    return f"Keras {keras.__version__} on JAX {jax.__version__}"


clock = time.perf_counter  # --clock cpu: this process's CPU seconds, steadier than wall time on a busy machine


def best_times(runs: dict, repeats: int) -> dict:
    """:func:`_common.best_times` by the clock ``--clock`` chose."""
    return common_best_times(runs, repeats, clock)


# ----- breakdown ----------------------------------------------------------------------------------------------


class ExclusiveTimer:
    """Wall time per category; time spent in a nested timed call counts for the inner category only."""

    def __init__(self):
        self.totals = defaultdict(float)
        self._stack = []  # per open call: [start, seconds taken by nested timed calls]

    def wrap(self, category, function):
        def timed(*args, **kwargs):
            frame = [clock(), 0.0]
            self._stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                self._stack.pop()
                elapsed = clock() - frame[0]
                self.totals[category] += elapsed - frame[1]
                if self._stack:
                    self._stack[-1][1] += elapsed
        return timed


class TimedActivation:
    """Stands in for a layer's activation function and times its forward and backward calls."""

    def __init__(self, function, timer, category):
        self.function, self.name, self.needs_input = function, function.name, function.needs_input
        self._call = timer.wrap(category, function)
        self.backward = timer.wrap(category, function.backward)

    def __call__(self, x):
        return self._call(x)


GEMMS, ACTIVATIONS, DROPOUT = "GEMMs (Dense: products, bias)", "activations (relu, softmax)", "dropout masks"
LOSS, OPTIMIZER, METRICS = "loss and its gradient", "optimizer (RMSprop)", "metrics and logs"


def instrument(model, timer) -> None:
    """Route the model's per-batch work through ``timer`` (after the first fit: the loss fusion is decided)."""
    for layer in model.layers:
        category = GEMMS if isinstance(layer, Dense) else DROPOUT
        layer._apply = timer.wrap(category, _timing_backprop(layer._apply, timer, category))
        if isinstance(layer, Dense):
            layer.activation = TimedActivation(layer.activation, timer, ACTIVATIONS)
    model._compiled_loss.value_and_gradients = timer.wrap(LOSS, model._compiled_loss.value_and_gradients)
    model.optimizer.apply = timer.wrap(OPTIMIZER, model.optimizer.apply)
    model._tracker.update = timer.wrap(METRICS, model._tracker.update)


def _timing_backprop(apply, timer, category):
    def timed_apply(*args, **kwargs):
        output, backprop = apply(*args, **kwargs)
        if hasattr(backprop, "from_preactivation"):  # a Dense layer's: time its own part, the activation apart
            backprop.from_preactivation = timer.wrap(category, backprop.from_preactivation)
            return output, backprop
        return output, timer.wrap(category, backprop)
    return timed_apply


def bare_gemm_seconds(samples: int, repeats: int) -> float:
    """One epoch's matrix products alone, as np.matmul calls into preallocated outputs (the GEMM floor)."""
    rng = np.random.default_rng(1)
    sizes = [784, HIDDEN, HIDDEN, CLASSES]
    weights = [rng.standard_normal((a, b), dtype=np.float32) for a, b in zip(sizes, sizes[1:])]
    grad_w = [np.empty_like(w) for w in weights]
    batches = [min(BATCH, samples - start) for start in range(0, samples, BATCH)]
    acts = {n: [rng.standard_normal((n, size), dtype=np.float32) for size in sizes] for n in set(batches)}

    def epoch():
        for n in batches:
            a = acts[n]
            for k, w in enumerate(weights):  # forward: x @ W
                np.matmul(a[k], w, out=a[k + 1])
            for k in range(len(weights)):  # kernel gradients: x.T @ g
                np.matmul(a[k].T, a[k + 1], out=grad_w[k])
            for k in (2, 1):  # input gradients of the layers after the first: g @ W.T
                np.matmul(a[k + 1], weights[k].T, out=a[k])

    epoch()
    return best_times({"gemm": epoch}, repeats)["gemm"]


def breakdown(x, y, repeats: int, warmup: int = 1) -> None:
    """Print where an nbtrain epoch's time goes, the best of ``repeats`` instrumented epochs after ``warmup``."""
    nbtrain.utils.set_random_seed(0)
    model = nbtrain_model()
    model.fit(x, y, batch_size=BATCH, epochs=warmup, verbose=0)
    timer = ExclusiveTimer()
    instrument(model, timer)
    best = None
    for _ in range(repeats):
        timer.totals.clear()
        start = clock()
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        total = clock() - start
        if best is None or total < best[0]:
            best = (total, dict(timer.totals))
    total, parts = best
    parts["loop, batching, checks and the rest"] = total - sum(parts.values())
    gemm_floor = bare_gemm_seconds(len(x), repeats)
    print(f"breakdown of one nbtrain epoch ({total:.3f} s, instrumented; best of epochs {warmup + 1}-"
          f"{warmup + repeats}):")
    for name, seconds in sorted(parts.items(), key=lambda item: -item[1]):
        print(f"  {name:<38} {seconds:7.3f} s  {seconds / total:6.1%}")
    print(f"  bare np.matmul of the same shapes      {gemm_floor:7.3f} s  (the GEMM floor: nbtrain's GEMM part is "
          f"{parts[GEMMS] / gemm_floor:.2f}x it; everything but GEMMs is {(total - gemm_floor) / total:.1%} "
          "of the epoch)")


# ----- main ---------------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description="MLP epoch time: nbtrain vs a hand-written NumPy loop, Keras, torch")
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS, PyTorch and XLA to this many threads")
    parser.add_argument("--breakdown", action="store_true", help="profile nbtrain's epoch instead of comparing")
    parser.add_argument("--warmup", type=int, default=1,
                        help="epochs trained before the breakdown's timed ones (e.g. 5: after the optimizer state has aged)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="time by wall clock (default) or by this process's CPU time (steadier with --threads 1 "
                             "on a busy machine; with more threads it adds up every thread's time)")
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--numpy-only", action="store_true",
                        help="run nbtrain without its compiled loops, as without the nbtrain[fast] extra")
    args = parser.parse_args(argv)
    if args.numpy_only:
        nbtrain.config.set_compiled_loops(False)
    global clock
    clock = CLOCKS[args.clock]

    x, y = make_data(args.samples)
    with limit_threads(args.threads):
        print(f"{blas_report()}; {pinning_report()}")
        print(compiled_report())
        print(f"data: x {x.shape} float32 ({x.nbytes / 2**20:.1f} MiB), y {y.shape}; batch {BATCH}; "
              f"best of {args.repeats}; {args.clock} time")
        if args.breakdown:
            breakdown(x, y, args.repeats, args.warmup)
            return
        compare(x, y, args)


def compare(x, y, args):
    hand = HandWrittenMLP()
    hand.epoch(x, y)  # warm up caches and BLAS threads
    nbtrain.utils.set_random_seed(0)
    model = nbtrain_model()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    runs = {
        "hand-written NumPy loop": lambda: hand.epoch(x, y),
        "nbtrain fit()": lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0),
        NUMPY_UPDATES: prepare_numpy_updates(x, y),
        "Keras on JAX fit()": "skipped: --no-keras" if args.no_keras else prepare_keras(x, y),
        "PyTorch": "skipped: --no-torch" if args.no_torch else prepare_torch(x, y),
    }
    results = best_times(runs, args.repeats)
    hand_seconds, nb_seconds = results["hand-written NumPy loop"], results["nbtrain fit()"]
    print(f"{'hand-written NumPy loop':<24}: {hand_seconds:7.3f} s/epoch")
    print(f"{'nbtrain fit()':<24}: {nb_seconds:7.3f} s/epoch  nbtrain/hand-written {nb_seconds / hand_seconds:.3f} "
          "(target <= 1.15)")
    numpy_seconds = results[NUMPY_UPDATES]
    if isinstance(numpy_seconds, str):
        print(f"{'  with NumPy updates':<24}: {numpy_seconds}")
    else:
        print(f"{'  with NumPy updates':<24}: {numpy_seconds:7.3f} s/epoch  (the same fit, Numba's loops off: pure "
              "NumPy)")
    keras_seconds = results["Keras on JAX fit()"]
    if isinstance(keras_seconds, str):
        print(f"{'Keras on JAX':<24}: {keras_seconds}")
    else:
        print(f"{'Keras on JAX':<24}: {keras_seconds:7.3f} s/epoch  nbtrain/Keras {nb_seconds / keras_seconds:.3f} "
              f"(target <= 1.0; {keras_description()})")
        if not isinstance(numpy_seconds, str):
            print(f"{'':<24}  nbtrain with NumPy updates/Keras {numpy_seconds / keras_seconds:.3f}")
    torch_seconds = results["PyTorch"]
    if isinstance(torch_seconds, str):
        print(f"{'PyTorch':<24}: {torch_seconds}")
    else:
        import torch

        print(f"{'PyTorch':<24}: {torch_seconds:7.3f} s/epoch  nbtrain/torch {nb_seconds / torch_seconds:.3f} "
              f"(torch {torch.__version__}, {torch.get_num_threads()} threads)")
    data_bytes = x.nbytes + y.nbytes
    peak = traced_peak(lambda: nbtrain_model().fit(x, y, batch_size=BATCH, epochs=1, verbose=0))
    print(f"peak memory during fit  : {peak / 2**20:7.1f} MiB allocated beyond the data "
          f"= {peak / data_bytes:.1%} of the data (target <= 25%)")


if __name__ == "__main__":
    main()
