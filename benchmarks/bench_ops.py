"""The seed MLP trained with a forward pass written with ``nbtrain.ops`` and differentiated by the tape, beside
the same network of built-in Dense/Dropout layers trained by ``fit``, and beside the same network built from a
Dense layer of your own (``build``/``add_weight``/``call`` with ops, :class:`OpsDense`) trained by ``fit``.

784-512-512-10, ReLU, Dropout 0.2, softmax + categorical crossentropy, RMSprop, batch 128, on MNIST-shaped
float32 data. The ops version runs the training step a custom layer would get after the integration: forward
under ``ops.vjp``, the tape's backward for every weight, the same ``RMSprop.apply``. Both run in the same
process, interleaved, best of ``--repeats``.

Run (unset the machine's OpenBLAS overrides for this command only, as for bench_mlp.py):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_ops.py [--samples N] [--repeats N]

Target (issue 15): the custom Dense layer's epoch / the built-in Dense's epoch <= 1.5.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, blas_report  # noqa: E402

import nbtrain  # noqa: E402
from nbtrain import ops, random  # noqa: E402
from nbtrain.layers import Dense, Dropout  # noqa: E402
from nbtrain.models import Sequential  # noqa: E402
from nbtrain.optimizers import RMSprop  # noqa: E402

BATCH, HIDDEN, CLASSES, RATE = 128, 512, 10, 0.2


def make_data(n, seed=0):
    x, y = nbtrain.datasets.make_mnist_like(n, seed=seed)
    return x.reshape(n, 784).astype(np.float32) / 255, nbtrain.utils.to_categorical(y, CLASSES)


def builtin_model():
    model = Sequential([Dense(HIDDEN, activation="relu", input_shape=(784,)), Dropout(RATE),
                        Dense(HIDDEN, activation="relu"), Dropout(RATE), Dense(CLASSES, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=RMSprop())
    return model


class OpsDense(nbtrain.layers.Layer):
    """Dense written as a learner would, with ops: its gradients come from the tape."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation_name = units, activation

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        z = ops.matmul(inputs, self.kernel) + self.bias
        if self.activation_name == "relu":
            return ops.relu(z)
        return ops.softmax(z) if self.activation_name == "softmax" else z


def custom_dense_model():
    model = Sequential([nbtrain.Input((784,)), OpsDense(HIDDEN, "relu"), Dropout(RATE), OpsDense(HIDDEN, "relu"),
                        Dropout(RATE), OpsDense(CLASSES, "softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=RMSprop())
    return model


class OpsMLP:
    """The same network as a function of ops over Variables (what a learner's custom Dense layers compute)."""

    def __init__(self, model):
        self.weights = [ops.Variable(layer.params[name]) for layer in model.layers if layer.params
                        for name in ("kernel", "bias")]
        self.optimizer = RMSprop()
        self.seeds = random.SeedGenerator(0)

    def loss(self, x, y):
        w1, b1, w2, b2, w3, b3 = self.weights
        h = random.dropout(ops.relu(x @ w1 + b1), RATE, seed=self.seeds)
        h = random.dropout(ops.relu(h @ w2 + b2), RATE, seed=self.seeds)
        probabilities = ops.softmax(h @ w3 + b3)
        return ops.mean(ops.categorical_crossentropy(y, probabilities))

    def epoch(self, x, y, rng):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            index = order[start:start + BATCH]
            y_batch = y[index]
            _, backward = ops.vjp(lambda xb: self.loss(xb, y_batch), x[index])
            _, grads = backward(np.float32(1.0), variables=self.weights, arguments=False)
            self.optimizer.apply(grads, [w.value for w in self.weights])


def main(argv=None):
    parser = argparse.ArgumentParser(description="Seed MLP epoch time: ops + tape vs built-in layers")
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    x, y = make_data(args.samples)
    print(blas_report())
    model = builtin_model()
    custom = custom_dense_model()
    ops_mlp = OpsMLP(builtin_model())
    rng = np.random.default_rng(0)
    times = {"built-in": [], "custom": [], "ops": []}
    for _ in range(args.repeats):  # interleaved, so all see the same machine load
        times["built-in"].append(best_time(lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0), 1))
        times["custom"].append(best_time(lambda: custom.fit(x, y, batch_size=BATCH, epochs=1, verbose=0), 1))
        times["ops"].append(best_time(lambda: ops_mlp.epoch(x, y, rng), 1))
    builtin, with_custom, with_ops = min(times["built-in"]), min(times["custom"]), min(times["ops"])
    print(f"samples={args.samples} batch={BATCH}: built-in Dense {builtin:.3f} s/epoch, your own Dense (call with "
          f"ops) {with_custom:.3f} s/epoch, ratio {with_custom / builtin:.2f} (target <= 1.5); a bare ops + tape "
          f"loop {with_ops:.3f} s/epoch, ratio {with_ops / builtin:.2f}")
    return with_custom / builtin


if __name__ == "__main__":
    main()
