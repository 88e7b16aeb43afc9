"""What the data set loaders share: reading a Keras ``.npz`` once fetched, and a seeded train/test split.

Each public ``load_data`` keeps its own arguments and docstring; the steps that were written out in several of
them live here, once.
"""

from __future__ import annotations

import numpy as np

from nbtrain.datasets._download import fetch
from nbtrain.datasets._safe_load import load_npz
from nbtrain.utils.checks import number


def fetch_npz(remote_name, path, download) -> dict:
    """Every array of a Keras ``.npz`` file, downloaded into the cache the first time.

    Args:
        remote_name: the file's name on the download server, e.g. ``"mnist.npz"``.
        path: the name (or absolute path) to keep it under in the cache.
        download: the loader's ``base_url``, ``cache_dir``, ``progress`` and ``out`` arguments, as a dict.
    """
    return load_npz(fetch(remote_name, path=path, **download))


def train_and_test(arrays):
    """``(x_train, y_train), (x_test, y_test)`` from the arrays of a file split by its publisher."""
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def check_test_split(test_split) -> None:
    number(test_split, "test_split", "load_data", low=0, high=1, high_open=True)


def shuffled(rng, x, y):
    """Shuffle both in the same order, drawing the permutation exactly as Keras does (so results match)."""
    order = np.arange(len(x))
    rng.shuffle(order)
    return x[order], y[order]


def split_train_test(x, y, test_split):
    """The first ``1 - test_split`` of the rows for training, the rest for testing (Keras rounds the same way)."""
    split = int(len(x) * (1 - test_split))
    return (x[:split], y[:split]), (x[split:], y[split:])


def shuffled_split(x, y, test_split, seed):
    """Shuffle with ``seed`` as Keras does, then split: the same seed always gives Keras's split."""
    x, y = shuffled(np.random.RandomState(seed), x, y)
    return split_train_test(x, y, test_split)
