"""Seconds per epoch of a bidirectional LSTM over padded text: nbtrain against PyTorch on the CPU.

The network is Keras's IMDB example: Embedding(20000, 128, mask_zero=True) - Bidirectional(LSTM(64,
return_sequences=True)) - Bidirectional(LSTM(64)) - Dense(1, sigmoid), binary crossentropy, Adam, batch 32, on
sequences of 200 token ids padded with 0 in front (``pad_sequences``' default), real lengths drawn between 20 and
200. The mask from ``mask_zero`` makes both directions skip the padding.

PyTorch runs the same network the way a PyTorch user masks padding: ``nn.Embedding(padding_idx=0)`` and a
two-layer bidirectional ``nn.LSTM`` over a ``pack_padded_sequence`` (its sequences are the same tokens moved to
the front, which packing needs), classifying from the top layer's final states of both directions. That is the
same computation as Keras's masking, so that ratio compares like with like. On the CPU, PyTorch's backward pass
through packed sequences is slow (each step's gradient slice is scattered into a zeroed full-size tensor), so a
second PyTorch row runs the same network over the padded batch *without* any mask: not the same computation (the
padding enters the states), but the speed PyTorch reaches on these shapes, a stricter reference.

Run it from the project root::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_bilstm_text.py --threads 1

``--threads N`` pins the process to N cores (XLA sizes its pool from them) and limits NumPy's BLAS
(threadpoolctl) and PyTorch to N threads. The timed epochs alternate between the two and the best of ``--repeats``
counts. PyTorch is skipped with a message when it is not installed.
A Keras-3-on-JAX row (the same Keras code; XLA compiles in an untimed first epoch) runs when ``keras`` and ``jax``
import. Options: ``--samples`` (default 2000), ``--repeats``, ``--threads``, ``--no-torch``, ``--no-keras``,
``--clock cpu`` (CPU seconds instead of wall time).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import (CLOCKS, best_times, blas_report, import_keras_on_jax, limit_threads,  # noqa: E402
                     pinning_report)

import nbtrain  # noqa: E402
from nbtrain.layers import Bidirectional, Dense, Embedding, LSTM  # noqa: E402

VOCABULARY, EMBEDDING, UNITS, STEPS, BATCH = 20000, 128, 64, 200, 32
MIN_LENGTH = 20


def make_data(samples: int, seed: int = 0):
    """Token ids ``(samples, STEPS)`` padded with 0 in front, their real lengths, and 0/1 labels."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(MIN_LENGTH, STEPS + 1, samples)
    tokens = np.zeros((samples, STEPS), np.int64)
    for row, length in enumerate(lengths):
        tokens[row, STEPS - length:] = rng.integers(1, VOCABULARY, length)
    labels = rng.integers(0, 2, (samples, 1)).astype(np.float32)
    return tokens, lengths, labels


def prepare_nbtrain(tokens, labels):
    nbtrain.utils.set_random_seed(0)
    model = nbtrain.Sequential([
        nbtrain.Input((STEPS,), dtype="int64"),
        Embedding(VOCABULARY, EMBEDDING, mask_zero=True),
        Bidirectional(LSTM(UNITS, return_sequences=True)),
        Bidirectional(LSTM(UNITS)),
        Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(tokens[:4 * BATCH], labels[:4 * BATCH], batch_size=BATCH, epochs=1, verbose=0)  # warm up
    return lambda: model.fit(tokens, labels, batch_size=BATCH, epochs=1, verbose=0)


def prepare_torch(tokens, lengths, labels, packed=True):
    """One PyTorch epoch of the network (masked by packing, or over the raw padded batch), or why it cannot run."""
    try:
        import torch
    except ImportError:
        return "skipped: PyTorch is not installed (pip install torch to compare)"
    torch.manual_seed(0)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(VOCABULARY, EMBEDDING, padding_idx=0)
            self.lstm = torch.nn.LSTM(EMBEDDING, UNITS, num_layers=2, bidirectional=True, batch_first=True)
            self.head = torch.nn.Linear(2 * UNITS, 1)

        def forward(self, ids, lengths):
            vectors = self.embedding(ids)
            if packed:
                vectors = torch.nn.utils.rnn.pack_padded_sequence(vectors, lengths, batch_first=True,
                                                                  enforce_sorted=False)
            _, (h, _) = self.lstm(vectors)
            return self.head(torch.cat([h[-2], h[-1]], dim=1))  # top layer: forward and backward final states

    model = Model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()  # sigmoid and crossentropy fused, as nbtrain fuses them
    # the same tokens moved to the front of each row (packing wants the padding at the end)
    front = np.zeros_like(tokens)
    for row, length in enumerate(lengths):
        front[row, :length] = tokens[row, STEPS - length:]
    ids, lens, ys = torch.from_numpy(front if packed else tokens), torch.from_numpy(lengths), torch.from_numpy(labels)

    def epoch(n=len(ids)):
        order = torch.randperm(n)
        for start in range(0, n, BATCH):
            index = order[start:start + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(ids[index], lens[index]), ys[index])
            loss.backward()
            optimizer.step()

    epoch(4 * BATCH)  # warm up
    return epoch


def prepare_keras(tokens, labels):
    """One Keras-3-on-JAX epoch of the same model (XLA compiles in an untimed first epoch), or why it cannot run."""
    keras = import_keras_on_jax()
    if isinstance(keras, str):
        return keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((STEPS,), dtype="int64"),
        keras.layers.Embedding(VOCABULARY, EMBEDDING, mask_zero=True),
        keras.layers.Bidirectional(keras.layers.LSTM(UNITS, return_sequences=True)),
        keras.layers.Bidirectional(keras.layers.LSTM(UNITS)),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(tokens, labels, batch_size=BATCH, epochs=1, verbose=0)  # XLA compiles here; later fits reuse it
    return lambda: model.fit(tokens, labels, batch_size=BATCH, epochs=1, verbose=0)




def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS and PyTorch to this many threads")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall clock (default) or this process's CPU time (steadier with --threads 1 when other "
                             "processes keep the machine busy)")
    args = parser.parse_args(argv)

    limit = limit_threads(args.threads)   # before anything imports JAX
    tokens, lengths, labels = make_data(args.samples)
    print(f"Embedding(mask_zero) - BiLSTM({UNITS}, sequences) - BiLSTM({UNITS}) - Dense(1): {args.samples} "
          f"sequences of {STEPS} ids (mean real length {lengths.mean():.0f}), batch {BATCH}, best of {args.repeats} "
          f"({args.clock} time); "
          f"numpy {np.__version__}, {os.cpu_count()} CPUs")
    with limit:
        print(f"{blas_report()}; {pinning_report()}")
        runs = {
            "nbtrain model.fit": prepare_nbtrain(tokens, labels),
            "PyTorch (packed sequences)": "skipped: --no-torch" if args.no_torch
            else prepare_torch(tokens, lengths, labels),
            "PyTorch (padded, no mask)": "skipped: --no-torch" if args.no_torch
            else prepare_torch(tokens, lengths, labels, packed=False),
            "Keras on JAX": "skipped: --no-keras" if args.no_keras else prepare_keras(tokens, labels),
        }
        results = best_times(runs, args.repeats, CLOCKS[args.clock])
    packed, unmasked = results["PyTorch (packed sequences)"], results["PyTorch (padded, no mask)"]
    if not isinstance(packed, str):
        import torch

        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    for name, seconds in results.items():
        if isinstance(seconds, str):
            print(f"  {name:<28} {seconds}")
            continue
        print(f"  {name:<28} {seconds:7.3f} s/epoch")
    ours = results["nbtrain model.fit"]
    for name, reference in (("PyTorch, packed", packed), ("PyTorch, padded, no mask", unmasked),
                            ("Keras on JAX", results["Keras on JAX"])):
        if not isinstance(reference, str) and not isinstance(ours, str):
            print(f"nbtrain / {name}: {ours / reference:.2f}x")


if __name__ == "__main__":
    main()
