"""Accuracy metrics: how often predictions match labels, exactly, by argmax, by threshold or in the top k."""

from __future__ import annotations

import numpy as np

from nbtrain.metrics.base import (
    METRIC_FUNCTIONS,
    METRICS,
    MeanMetricWrapper,
    float_pair,
    floats,
)
from nbtrain.utils.checks import positive_int

# ----------------------------------------------------------------------------------------------------------
# Per-sample functions, as in keras.metrics
# ----------------------------------------------------------------------------------------------------------


@METRIC_FUNCTIONS.register()
def accuracy(y_true, y_pred):
    """Element-wise exact match: 1.0 where ``y_true == y_pred``.

    Args:
        y_true, y_pred: arrays of the same shape (a trailing 1 on either side is reconciled).

    Example:
        >>> accuracy([1, 2, 3], [1, 2, 4]).tolist()
        [1.0, 1.0, 0.0]
    """
    y_true, y_pred = float_pair(y_true, y_pred)
    return (y_true == y_pred).astype(np.float64)


@METRIC_FUNCTIONS.register()
def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Element-wise 1.0 where ``(y_pred > threshold) == y_true`` (strict: a score of 0.5 counts as 0).

    Returns the element-wise shape, as Keras 3 does; a metric averages it per sample.

    Args:
        y_true: 0/1 labels.
        y_pred: scores or probabilities.
        threshold: the decision threshold.

    Example:
        >>> binary_accuracy([[1], [0]], [[0.7], [0.5]]).tolist()
        [[1.0], [1.0]]
    """
    y_true, y_pred = float_pair(y_true, y_pred)
    return (y_true == (y_pred > threshold)).astype(np.float64)


@METRIC_FUNCTIONS.register()
def categorical_accuracy(y_true, y_pred):
    """Per sample 1.0 where ``argmax(y_true) == argmax(y_pred)`` (one-hot labels).

    Example:
        >>> categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]).tolist()
        [0.0, 1.0]
    """
    y_true, y_pred = floats(y_true), floats(y_pred)
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


@METRIC_FUNCTIONS.register()
def sparse_categorical_accuracy(y_true, y_pred):
    """Per sample 1.0 where the integer label equals ``argmax(y_pred)``; a trailing 1 in y_true is dropped.

    Example:
        >>> sparse_categorical_accuracy([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]).tolist()
        [0.0, 1.0]
    """
    y_true, y_pred = floats(y_true), floats(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_true == np.argmax(y_pred, axis=-1)).astype(np.float64)


def _in_top_k(class_ids, y_pred, k):
    """Keras/JAX ``in_top_k``: a label is a hit if fewer than k classes score strictly higher (ties count)."""
    scores = y_pred.reshape(-1, y_pred.shape[-1])
    label_scores = np.take_along_axis(scores, class_ids.reshape(-1, 1), axis=-1)
    # a NaN score must not count as a high one
    label_scores = np.where(np.isnan(label_scores), -np.inf, label_scores)
    rank = 1 + np.sum(scores > label_scores, axis=-1)
    return (rank <= k).astype(np.float64).reshape(class_ids.shape)


@METRIC_FUNCTIONS.register()
def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per sample 1.0 where the one-hot label's class is among the k highest scores.

    Args:
        y_true: one-hot labels.
        y_pred: scores, shape (batch, classes).
        k: how many top classes count as a hit.

    Example:
        >>> y_pred = [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
        >>> top_k_categorical_accuracy([[0, 0, 1], [0, 1, 0]], y_pred, k=1).tolist()
        [0.0, 1.0]
    """
    y_true, y_pred = floats(y_true), floats(y_pred)
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k)


@METRIC_FUNCTIONS.register()
def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """Per sample 1.0 where the integer label is among the k highest scores.

    Args:
        y_true: integer class ids, shape (batch,) or (batch, 1).
        y_pred: scores (batch, classes), or with ``from_sorted_ids=True`` class ids sorted best first.
        k: how many top classes count as a hit.
        from_sorted_ids: y_pred already holds class ids ranked best first.

    Example:
        >>> sparse_top_k_categorical_accuracy([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], k=2).tolist()
        [1.0, 1.0]
    """
    y_pred = floats(y_pred)
    if from_sorted_ids:
        labels = floats(y_true).reshape(-1, 1)
        hits = np.any(labels == y_pred.reshape(labels.shape[0], -1)[:, :k], axis=1)
        return hits.astype(np.float64)
    return _in_top_k(_sparse_labels(y_true, y_pred), y_pred, k)


def _sparse_labels(y_true, y_pred):
    """Integer class ids from sparse labels of shape (B, ...) or (B, ..., 1), checked against y_pred."""
    labels = np.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    num_classes = y_pred.shape[-1]
    ids = labels.astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes or np.any(ids != labels)):
        bad = labels[(ids < 0) | (ids >= num_classes) | (ids != labels)].ravel()[0]
        raise ValueError(
            f"Sparse labels must be integer class ids in [0, {num_classes}) to match y_pred's last axis "
            f"({num_classes} classes), but got {bad!r}. Use one-hot labels with the non-sparse metric, or "
            f"fix the labels."
        )
    return ids


# ----------------------------------------------------------------------------------------------------------
# Metric classes: the running mean of a per-sample function
# ----------------------------------------------------------------------------------------------------------


@METRICS.register("acc", name="accuracy")
class Accuracy(MeanMetricWrapper):
    """How often predictions exactly equal labels.

    In ``compile(metrics=['accuracy'])`` the string means Binary-, Sparse- or CategoricalAccuracy, chosen from
    the shapes (see :func:`resolve`); this class is the literal element-wise equality.

    Example:
        >>> Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]])
        0.75
    """

    direction = "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


@METRICS.register(name="binary_accuracy")
class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the 0/1 label.

    Args:
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        threshold: the decision threshold, strictly between 0 and 1 (a score equal to it counts as 0).

    Example:
        >>> BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
        0.75
    """

    direction = "up"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and not 0 < threshold < 1:
            raise ValueError(
                f"BinaryAccuracy expects a threshold strictly between 0 and 1, got threshold={threshold!r}."
            )
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


@METRICS.register(name="categorical_accuracy")
class CategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` matches the class of a one-hot label.

    Example:
        >>> CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        0.5
    """

    direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


@METRICS.register(name="sparse_categorical_accuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` equals the integer label.

    Example:
        >>> SparseCategoricalAccuracy()([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        0.5
    """

    direction = "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


@METRICS.register(name="top_k_categorical_accuracy")
class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the k highest scores.

    Args:
        k: how many top classes count as a hit.
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> TopKCategoricalAccuracy(k=1)([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        0.5
    """

    direction = "up"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        k = positive_int(k, "k", type(self).__name__)
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


@METRICS.register(name="sparse_top_k_categorical_accuracy")
class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the k highest scores.

    Args:
        k: how many top classes count as a hit.
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        from_sorted_ids: y_pred already holds class ids ranked best first.

    Example:
        >>> SparseTopKCategoricalAccuracy(k=1)([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        0.5
    """

    direction = "up"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(
            sparse_top_k_categorical_accuracy,
            name=name,
            dtype=dtype,
            k=positive_int(k, "k", type(self).__name__),
            from_sorted_ids=from_sorted_ids,
        )
        self.k = self._fn_kwargs["k"]
        self.from_sorted_ids = from_sorted_ids
