"""Small data helpers from Keras: ``to_categorical`` and ``normalize``."""

from __future__ import annotations

import numpy as np


def to_categorical(y, num_classes=None, dtype="float32") -> np.ndarray:
    """One-hot encode integer class labels: ``[0, 2]`` -> ``[[1, 0, 0], [0, 0, 1]]``.

    Args:
        y: integer labels of any shape (a trailing axis of size 1 is dropped, as Keras).
        num_classes: number of classes; default ``max(y) + 1``.
        dtype: dtype of the result.

    Example:
        >>> to_categorical([0, 2], 3)
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(y)
    if labels.size and not np.all(np.equal(np.mod(labels, 1), 0)):
        raise ValueError("to_categorical() expects integer class labels, got non-integer values such as "
                         f"{labels[np.mod(labels, 1) != 0].flat[0]!r}.")
    labels = labels.astype(np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical() expects labels >= 0, got {labels.min()}.")
    largest = int(labels.max()) if labels.size else -1
    if num_classes is None:
        num_classes = largest + 1
    elif largest >= num_classes:
        raise ValueError(f"to_categorical() got label {largest} but num_classes={num_classes}; labels must be "
                         f"in 0..{num_classes - 1}.")
    encoded = np.zeros(labels.shape + (int(num_classes),), dtype=dtype)
    np.put_along_axis(encoded, labels[..., None], 1, axis=-1)
    return encoded


def normalize(x, axis=-1, order=2) -> np.ndarray:
    """Scale ``x`` to unit ``order``-norm along ``axis`` (zero vectors stay zero).

    Example:
        >>> normalize([[3.0, 4.0]])
        array([[0.6, 0.8]])
    """
    x = np.asarray(x, dtype=np.result_type(np.asarray(x).dtype, np.float32))
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)
