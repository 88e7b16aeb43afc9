"""IMDB movie reviews labelled by sentiment: 25,000 for training and 25,000 for testing.

Each review is a list of word indexes, words ranked by frequency (index 1 is the most common word of the word
index). The files are Keras's ``imdb.npz`` and ``imdb_word_index.json`` (same source and checksums). The data
come from Maas et al., "Learning Word Vectors for Sentiment Analysis" (ACL 2011),
https://ai.stanford.edu/~amaas/data/sentiment/.
"""

from __future__ import annotations

import numpy as np

from nbtrain.datasets import _sequences as seq
from nbtrain.datasets._download import fetch
from nbtrain.datasets._loading import fetch_npz, shuffled, train_and_test


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, *, base_url=None, cache_dir=None, progress=None, out=None):
    """Load the IMDB reviews as word-index sequences, downloading them (17 MB) the first time.

    Args:
        path: file name inside the cache folder (``~/.nbtrain/datasets``).
        num_words: keep only the ``num_words`` most frequent words (indexes below ``num_words`` after the
            shift by ``index_from``); others become ``oov_char``. ``None`` keeps every word.
        skip_top: also replace indexes below ``skip_top`` (the most frequent words) with ``oov_char``.
        maxlen: keep only reviews shorter than ``maxlen`` (start mark included); longer ones are dropped,
            not truncated, as in Keras. ``None`` keeps all.
        seed: seed of the shuffle of each split (Keras's order for the same seed).
        start_char: index put at the start of every review (``None`` for none).
        oov_char: index that replaces cut words (``None`` removes them instead).
        index_from: offset added to every word index, reserving 0 (padding), 1 (start) and 2 (oov).
        base_url: folder URL to download from instead of Keras's (also settable with ``NBTRAIN_DATASETS_URL``).
        cache_dir: cache folder instead of ``~/.nbtrain/datasets`` (also settable with ``NBTRAIN_HOME``).
        progress: ``None`` for a text progress line, ``False`` for silence, or a callable
            ``progress(downloaded_bytes, total_bytes)``.
        out: stream for the progress line (default ``sys.stdout``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x are 1-D object arrays of Python lists of ints; y are int64
        arrays of 0 (negative) and 1 (positive).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data(num_words=10000)  # doctest: +SKIP
        >>> len(x_train), x_train[0][:3]  # doctest: +SKIP
        (25000, [1, 14, 22])
    """
    download = dict(base_url=base_url, cache_dir=cache_dir, progress=progress, out=out)
    train, test = train_and_test(fetch_npz("imdb.npz", path, download))
    rng = np.random.RandomState(seed)  # one generator for both splits, in this order, as Keras draws them
    x_train, y_train = shuffled(rng, *train)
    x_test, y_test = shuffled(rng, *test)

    x_train, y_train = seq.drop_long(seq.mark(x_train, start_char, index_from), y_train, maxlen)
    x_test, y_test = seq.drop_long(seq.mark(x_test, start_char, index_from), y_test, maxlen)
    seq.check_not_empty(x_train, maxlen, "training ")
    seq.check_not_empty(x_test, maxlen, "test ")

    # the vocabulary limit is taken over both splits together, as in Keras
    kept = seq.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    split = len(x_train)
    return (seq.object_array(kept[:split]), y_train), (seq.object_array(kept[split:]), y_test)


def get_word_index(path="imdb_word_index.json", *, base_url=None, cache_dir=None, progress=None, out=None):
    """The dict from each word to its frequency rank (1 = most frequent), downloading it the first time.

    In the sequences of :func:`load_data` word ``w`` appears as ``word_index[w] + index_from``.

    Args:
        path: file name inside the cache folder.
        base_url, cache_dir, progress, out: as in :func:`load_data`.

    Example:
        >>> word_index = get_word_index()  # doctest: +SKIP
        >>> words = {i + 3: w for w, i in word_index.items()} | {1: "[START]", 2: "[OOV]"}  # doctest: +SKIP
        >>> (x_train, _), _ = load_data()  # doctest: +SKIP
        >>> " ".join(words[i] for i in x_train[0])  # doctest: +SKIP
    """
    local = fetch("imdb_word_index.json", path=path, base_url=base_url, cache_dir=cache_dir, progress=progress,
                  out=out)
    return seq.read_word_index(local)
