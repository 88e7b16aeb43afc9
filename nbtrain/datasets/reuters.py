"""Reuters newswires labelled over 46 topics: 11,228 word-index sequences.

The files are Keras's ``reuters.npz`` and ``reuters_word_index.json`` (same source and checksums), made from
the classic Reuters-21578 collection.
"""

from __future__ import annotations

import numpy as np

from nbtrain.datasets import _sequences as seq
from nbtrain.datasets._download import fetch
from nbtrain.datasets._loading import check_test_split, fetch_npz, shuffled, split_train_test

LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
    "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
    "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail",
    "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
    "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3, *, base_url=None, cache_dir=None, progress=None, out=None):
    """Load the Reuters newswires as word-index sequences, downloading them (2 MB) the first time.

    Args:
        path: file name inside the cache folder (``~/.nbtrain/datasets``).
        num_words: keep only indexes below ``num_words`` (after the shift by ``index_from``); others become
            ``oov_char``. ``None`` keeps every word.
        skip_top: also replace indexes below ``skip_top`` with ``oov_char``.
        maxlen: keep only newswires shorter than ``maxlen`` (start mark included); longer ones are dropped.
        test_split: fraction of the (shuffled) newswires put in the test set, in ``[0, 1)``.
        seed: seed of the shuffle (Keras's order for the same seed).
        start_char: index put at the start of every sequence (``None`` for none).
        oov_char: index that replaces cut words (``None`` removes them instead).
        index_from: offset added to every word index.
        base_url, cache_dir, progress, out: download options, as in :func:`nbtrain.datasets.mnist.load_data`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x are 1-D object arrays of Python lists of ints; y are int64
        topic labels 0..45 (names in :func:`get_label_names`).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data(num_words=10000)  # doctest: +SKIP
        >>> len(x_train), len(x_test)  # doctest: +SKIP
        (8982, 2246)
    """
    check_test_split(test_split)
    download = dict(base_url=base_url, cache_dir=cache_dir, progress=progress, out=out)
    arrays = fetch_npz("reuters.npz", path, download)
    xs, labels = shuffled(np.random.RandomState(seed), arrays["x"], arrays["y"])
    xs, labels = seq.drop_long(seq.mark(xs, start_char, index_from), labels, maxlen)
    seq.check_not_empty(xs, maxlen, "")
    xs = seq.limit_vocabulary(xs, num_words, skip_top, oov_char)
    return split_train_test(seq.object_array(xs), labels, test_split)


def get_word_index(path="reuters_word_index.json", *, base_url=None, cache_dir=None, progress=None, out=None):
    """The dict from each word to its frequency rank (1 = most frequent), downloading it the first time.

    In the sequences of :func:`load_data` word ``w`` appears as ``word_index[w] + index_from``.

    Example:
        >>> get_word_index()["the"]  # doctest: +SKIP
        1
    """
    local = fetch("reuters_word_index.json", path=path, base_url=base_url, cache_dir=cache_dir,
                  progress=progress, out=out)
    return seq.read_word_index(local)


def get_label_names():
    """The 46 topic names, indexed like the labels of :func:`load_data`.

    Example:
        >>> get_label_names()[3]
        'earn'
    """
    return LABEL_NAMES
