"""Four example programs from keras.io, with only the import changed: nbtrain beside Keras 3 on JAX.

Each program is the example's network, ``compile`` and batch size, on data of the example's shape generated here
(no download):

- ``addition_rnn``: "Sequence to sequence learning for performing number addition" (LSTM(128) -
  RepeatVector(4) - LSTM(128, return_sequences=True) - Dense(12, softmax); Adam; batch 32), on real additions of
  numbers up to 999, the question reversed and one-hot encoded as in the example;
- ``mnist_convnet``: "Simple MNIST convnet" (two Conv2D + MaxPooling2D, Flatten, Dropout(0.5), Dense(10); Adam;
  batch 128), on MNIST-shaped images from ``nbtrain.datasets.make_mnist_like``;
- ``toy_resnet``: the toy ResNet of the functional API guide (six Conv2D, two residual ``add``s,
  GlobalAveragePooling2D, Dense(256), Dropout, Dense(10) from logits; RMSprop; batch 64), on CIFAR-10-shaped
  random images;
- ``bilstm_imdb``: "Bidirectional LSTM on IMDB" (Embedding(20000, 128) - Bidirectional(LSTM(64,
  return_sequences=True)) - Bidirectional(LSTM(64)) - Dense(1, sigmoid); Adam; batch 32), on reviews of 200 token
  ids padded in front, as ``pad_sequences`` leaves them (the example sets no mask: the padding is read too).

For each program, each library first trains a fresh model for one epoch (build, compile and fit: what a learner
waits for when the cell runs; XLA compiles here). Then that model trains more epochs, the two libraries
alternating, and the best of ``--repeats`` counts: the steady speed of a longer training. Ratios are nbtrain's
time over Keras's (lower is better).

Run it from the project root with Keras and JAX installed (else the Keras column says why it is missing)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE KERAS_BACKEND=jax python benchmarks/bench_keras_examples.py

By default each library uses the threads it picks by itself, as a user runs it, and the clock is the wall clock.
``--threads 1`` pins the process to one core, so both run one thread (XLA sizes its pool from the cores, and
ignores thread flags; ``--clock cpu`` is then the steadier measure on a busy machine);
``--busy K`` starts K processes that keep a core busy each for the whole run (a shared machine); ``--programs``
selects (comma-separated), ``--scale`` multiplies the data of every program.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (CLOCKS, BusyProcesses, best_of, blas_report, import_keras_on_jax, limit_threads,  # noqa: E402
                     pinning_report, repeat_ratios, timed_repeats)

import nbtrain  # noqa: E402

# ----- the programs: f(keras) -> compiled model, written as the examples write them ------------------------------


def addition_rnn(keras):
    layers = keras.layers
    model = keras.Sequential()
    model.add(layers.Input((ADDITION_QUESTION, len(ADDITION_CHARS))))
    model.add(layers.LSTM(128))
    model.add(layers.RepeatVector(ADDITION_DIGITS + 1))
    model.add(layers.LSTM(128, return_sequences=True))
    model.add(layers.Dense(len(ADDITION_CHARS), activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def mnist_convnet(keras):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def toy_resnet(keras):
    layers = keras.layers
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs, outputs, name="toy_resnet")
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["acc"])
    return model


def bilstm_imdb(keras):
    layers = keras.layers
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(IMDB_VOCABULARY, 128)(inputs)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(64))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


# ----- their data ---------------------------------------------------------------------------------------------

ADDITION_DIGITS = 3
ADDITION_QUESTION = 2 * ADDITION_DIGITS + 1      # "123+456"
ADDITION_CHARS = "0123456789+ "
IMDB_VOCABULARY, IMDB_LENGTH = 20000, 200


def addition_data(samples, rng):
    """Questions "a+b" (reversed, padded with spaces, as the example feeds them) and their sums, one-hot."""
    index = {char: k for k, char in enumerate(ADDITION_CHARS)}
    a, b = (rng.integers(0, 10 ** rng.integers(1, ADDITION_DIGITS + 1, samples)) for _ in range(2))
    questions = [f"{p}+{q}".ljust(ADDITION_QUESTION)[::-1] for p, q in zip(a, b)]
    answers = [str(p + q).ljust(ADDITION_DIGITS + 1) for p, q in zip(a, b)]
    x = np.zeros((samples, ADDITION_QUESTION, len(ADDITION_CHARS)), np.float32)
    y = np.zeros((samples, ADDITION_DIGITS + 1, len(ADDITION_CHARS)), np.float32)
    for row, (question, answer) in enumerate(zip(questions, answers)):
        x[row, np.arange(ADDITION_QUESTION), [index[char] for char in question]] = 1
        y[row, np.arange(ADDITION_DIGITS + 1), [index[char] for char in answer]] = 1
    return x, y


def mnist_data(samples, rng):
    images, labels = nbtrain.datasets.make_mnist_like(samples, seed=int(rng.integers(2**31)))
    return (images.astype("float32") / 255)[..., None], nbtrain.utils.to_categorical(labels, 10)


def cifar_data(samples, rng):
    images = rng.integers(0, 256, (samples, 32, 32, 3)).astype("float32") / 255
    return images, nbtrain.utils.to_categorical(rng.integers(0, 10, samples), 10)


def imdb_data(samples, rng):
    """Reviews of 200 ids, padded with 0 in front; real lengths spread as IMDB's (many cut at 200)."""
    lengths = np.clip(rng.lognormal(np.log(180), 0.6, samples).astype(int), 10, IMDB_LENGTH)
    tokens = rng.integers(1, IMDB_VOCABULARY, (samples, IMDB_LENGTH)).astype("int32")
    tokens[np.arange(IMDB_LENGTH) < IMDB_LENGTH - lengths[:, None]] = 0
    return tokens, rng.integers(0, 2, (samples, 1)).astype("float32")


# name: (program, data, samples at --scale 1, batch size of the example)
PROGRAMS = {
    "addition_rnn": (addition_rnn, addition_data, 8000, 32),
    "mnist_convnet": (mnist_convnet, mnist_data, 4096, 128),
    "toy_resnet": (toy_resnet, cifar_data, 1024, 64),
    "bilstm_imdb": (bilstm_imdb, imdb_data, 640, 32),
}


# ----- timing ---------------------------------------------------------------------------------------------------


def first_fit(library, program, x, y, batch_size, clock):
    """Seconds to build, compile and fit a fresh model for one epoch, and the model."""
    start = clock()
    model = program(library)
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return clock() - start, model


def compare(name, libraries, args, clock, rng):
    program, make_data, samples, batch_size = PROGRAMS[name]
    x, y = make_data(int(samples * args.scale), rng)
    firsts, epochs = {}, {}
    for label, library in libraries.items():
        if isinstance(library, str):
            firsts[label] = epochs[label] = library
            continue
        seconds, model = first_fit(library, program, x, y, batch_size, clock)
        firsts[label] = seconds
        epochs[label] = lambda model=model: model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    steady = timed_repeats(epochs, args.repeats, clock)
    best = best_of(steady)
    print(f"{name} ({len(x)} samples, batch {batch_size}):")
    for label in libraries:
        if isinstance(steady[label], str):
            print(f"  {label:<13} {steady[label]}")
            continue
        print(f"  {label:<13} first fit {firsts[label]:6.2f} s   epoch {best[label]:6.2f} s")
    if not any(isinstance(value, str) for value in steady.values()):
        ours, theirs = steady["nbtrain"], steady["Keras on JAX"]
        print(f"  nbtrain / Keras: first fit {firsts['nbtrain'] / firsts['Keras on JAX']:.2f}x, "
              f"epoch {best['nbtrain'] / best['Keras on JAX']:.2f}x (best of {args.repeats}); "
              + repeat_ratios(ours, theirs, args.clock), flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", default=",".join(PROGRAMS), help="comma-separated, from: " + ", ".join(PROGRAMS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="pin the process to this many cores (both libraries then use that many threads)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    parser.add_argument("--busy", type=int, default=0, help="busy processes kept running beside the benchmark")
    parser.add_argument("--scale", type=float, default=1.0, help="data per program, relative to the default")
    args = parser.parse_args(argv)
    names = args.programs.split(",")
    unknown = [name for name in names if name not in PROGRAMS]
    if unknown:
        parser.error(f"unknown program(s) {', '.join(unknown)}; choose from {', '.join(PROGRAMS)}")

    with limit_threads(args.threads):   # before Keras imports JAX: XLA sizes its thread pool from the pinned cores
        keras = import_keras_on_jax()
        libraries = {"nbtrain": nbtrain, "Keras on JAX": keras}
        print(f"{blas_report()}; {pinning_report()}")
        versions = "" if isinstance(keras, str) else f"; Keras {keras.__version__} on JAX {_jax_version()}"
        threads = "each library's own choice" if args.threads is None else f"{args.threads}"
        print(f"nbtrain {nbtrain.__version__}, NumPy {np.__version__}{versions}; threads: {threads}; "
              f"{args.clock} clock; {args.busy} busy processes")
        with BusyProcesses(args.busy):
            for name in names:
                nbtrain.utils.set_random_seed(0)
                compare(name, libraries, args, CLOCKS[args.clock], np.random.default_rng(0))


def _jax_version() -> str:
    import jax

    return jax.__version__


if __name__ == "__main__":
    main()
