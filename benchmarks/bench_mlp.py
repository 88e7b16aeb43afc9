"""Seconds per epoch of the Keras MNIST MLP: nbtrain beside a hand-written float32 NumPy loop (and PyTorch).

784-512-512-10, ReLU, Dropout 0.2, RMSprop, batch 128, categorical crossentropy, accuracy, on 60000 x 784
float32 MNIST-shaped data. The hand-written loop does the same math with preallocated buffers and in-place
updates; it is the reference every ratio is measured against, in the same process.

Run (the machine's OpenBLAS overrides slow a current NumPy, so unset them for this command only):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_mlp.py [--samples N] [--repeats N]

Targets: nbtrain <= 1.15 x the hand-written loop per epoch; peak memory during fit <= data + 25%.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, blas_report, traced_peak  # noqa: E402

import nbtrain  # noqa: E402
from nbtrain.layers import Dense, Dropout  # noqa: E402
from nbtrain.models import Sequential  # noqa: E402
from nbtrain.optimizers import RMSprop  # noqa: E402

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
        for p, g, v, s in zip(self.params, self.grads, self.square_avg, self.scratch):
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


def torch_epoch_seconds(x, y, repeats):
    try:
        import torch
    except ImportError:
        return None
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
    return best_time(epoch, repeats), torch.get_num_threads()


def main(argv=None):
    parser = argparse.ArgumentParser(description="MLP epoch time: nbtrain vs a hand-written NumPy loop")
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    x, y = make_data(args.samples)
    print(blas_report())
    print(f"data: x {x.shape} float32 ({x.nbytes / 2**20:.1f} MiB), y {y.shape}; batch {BATCH}; best of {args.repeats}")

    hand = HandWrittenMLP()
    hand.epoch(x, y)  # warm up caches and BLAS threads
    hand_seconds = best_time(lambda: hand.epoch(x, y), args.repeats)

    nbtrain.utils.set_random_seed(0)
    model = nbtrain_model()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    nb_seconds = best_time(lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0), args.repeats)

    data_bytes = x.nbytes + y.nbytes
    peak = traced_peak(lambda: nbtrain_model().fit(x, y, batch_size=BATCH, epochs=1, verbose=0))

    print(f"hand-written NumPy loop : {hand_seconds:7.3f} s/epoch  (reference)")
    print(f"nbtrain fit()           : {nb_seconds:7.3f} s/epoch  ratio {nb_seconds / hand_seconds:.3f} (target <= 1.15)")
    torch_result = torch_epoch_seconds(x, y, args.repeats)
    if torch_result is None:
        print("PyTorch                 : not installed (pip install torch to compare)")
    else:
        seconds, threads = torch_result
        print(f"PyTorch ({threads} threads)     : {seconds:7.3f} s/epoch  nbtrain/torch ratio {nb_seconds / seconds:.3f}")
    print(f"peak memory during fit  : {peak / 2**20:7.1f} MiB allocated beyond the data "
          f"= {peak / data_bytes:.1%} of the data (target <= 25%)")


if __name__ == "__main__":
    main()
