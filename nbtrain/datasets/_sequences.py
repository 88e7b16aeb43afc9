"""Shared preprocessing of the word-index sequence data sets (IMDB, Reuters), with Keras's conventions.

Index 0 is padding, ``start_char`` (1) marks the start of each sequence, ``oov_char`` (2) replaces words cut
by ``num_words``/``skip_top``, and real words start at ``index_from`` (3): word ``i`` of the word index becomes
``i + index_from``.
"""

from __future__ import annotations

import json

import numpy as np


def mark(sequences, start_char, index_from):
    """Shift every word by ``index_from`` and put ``start_char`` in front (unless it is None)."""
    head = [] if start_char is None else [start_char]
    return [head + [int(w) + index_from for w in seq] for seq in sequences]


def drop_long(sequences, labels, maxlen):
    """Keep only sequences shorter than ``maxlen`` (``len < maxlen``, start mark included), as Keras does."""
    if not maxlen:
        return sequences, np.asarray(labels)
    keep = [i for i, seq in enumerate(sequences) if len(seq) < maxlen]
    return [sequences[i] for i in keep], np.asarray(labels)[keep]


def limit_vocabulary(sequences, num_words, skip_top, oov_char):
    """Replace (or drop, when ``oov_char`` is None) words outside ``skip_top <= w < num_words``.

    With ``num_words=None`` every word is kept. (Keras takes the largest index as the limit there, which
    turns that single most rare word into ``oov_char``; nbtrain keeps it.)
    """
    if not num_words:
        num_words = 1 + max((max(seq) for seq in sequences if seq), default=0)
    if oov_char is None:
        return [[w for w in seq if skip_top <= w < num_words] for seq in sequences]
    return [[w if skip_top <= w < num_words else oov_char for w in seq] for seq in sequences]


def object_array(sequences):
    """A 1-D object array of lists, even when all sequences have the same length."""
    array = np.empty(len(sequences), dtype=object)
    array[:] = sequences
    return array


def check_not_empty(sequences, maxlen, which):
    if not sequences:
        raise ValueError(f"No {which}sequence is shorter than maxlen={maxlen}, so none was kept. "
                         "Increase maxlen (or pass maxlen=None), and use pad_sequences to shorten sequences.")


def read_word_index(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
