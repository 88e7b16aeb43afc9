"""Metrics: Keras-style stateful metrics, plain per-sample metric functions, and the registry.

A metric accumulates statistics batch by batch with ``update_state(y_true, y_pred, sample_weight)``, reports
them with ``result()`` and starts over with ``reset_state()``. Totals are kept in float64, so an epoch's
value is the same whatever the batch size; results are Python floats (NumPy arrays only for per-class or
per-threshold results, such as ``F1Score(average=None)``).

``compile(metrics=[...])`` goes through :func:`validate` (at compile, so typos fail early) and
:func:`resolve` (at the first batch, when the shapes that decide what ``'accuracy'`` means are known).

Example:
    >>> m = BinaryAccuracy()
    >>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    >>> m.result()
    0.75
"""

from __future__ import annotations

import copy
import inspect
import warnings

import numpy as np

from nbtrain.utils.errors import did_you_mean, unknown_name_error
from nbtrain.utils.naming import to_snake_case

EPSILON = 1e-7
# Keras clips probabilities in float32, where 1 - 1e-7 rounds to 0.99999988. Clipping at the same bound keeps
# a saturated wrong prediction at Keras's 15.94 per term instead of the float64 16.12.
_ONE_MINUS_EPSILON = float(np.float32(1.0) - np.float32(EPSILON))
# What top_k filtering writes into the predictions it drops (Keras ``metrics_utils.NEG_INF``).
NEG_INF = -1e10


# ----------------------------------------------------------------------------------------------------------
# Array helpers
# ----------------------------------------------------------------------------------------------------------


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Reconcile two arrays whose ranks differ by a trailing 1, the way Keras does before comparing them.

    A rank-1 partner is expanded (``(N,)`` with ``(N, 1)`` gives two ``(N, 1)``); otherwise the trailing 1
    is squeezed (``(N, T)`` with ``(N, T, 1)`` gives two ``(N, T)``). Any other pair is returned unchanged.

    Args:
        x1, x2: array-likes.
        expand_rank_1: when False, squeeze instead of expanding a rank-1 partner.

    Example:
        >>> a, b = squeeze_or_expand_to_same_rank(np.zeros(4), np.zeros((4, 1)))
        >>> a.shape, b.shape
        ((4, 1), (4, 1))
    """
    x1, x2 = np.asarray(x1), np.asarray(x2)
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            return x1, x2[:, None]
        return x1[..., 0], x2
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            return x1[:, None], x2
        return x1, x2[..., 0]
    return x1, x2


def _floats(x):
    return np.asarray(x, dtype=np.float64)


def _pair(y_true, y_pred):
    """float64 copies of y_true and y_pred with a trailing-1 rank difference reconciled."""
    return squeeze_or_expand_to_same_rank(_floats(y_true), _floats(y_pred))


def _divide_no_nan(numerator, denominator):
    numerator, denominator = np.broadcast_arrays(_floats(numerator), _floats(denominator))
    return np.divide(numerator, denominator, out=np.zeros(numerator.shape), where=denominator != 0)


def _sigmoid(x):
    # tanh form: no overflow warning for large |x|
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _log_softmax(logits, axis):
    # subtract the max so exp() cannot overflow
    shifted = logits - np.max(logits, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


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
# Plain metric functions: (y_true, y_pred) -> per-sample values, as in keras.metrics
# ----------------------------------------------------------------------------------------------------------


def accuracy(y_true, y_pred):
    """Element-wise exact match: 1.0 where ``y_true == y_pred``.

    Args:
        y_true, y_pred: arrays of the same shape (a trailing 1 on either side is reconciled).

    Example:
        >>> accuracy([1, 2, 3], [1, 2, 4]).tolist()
        [1.0, 1.0, 0.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_true == y_pred).astype(np.float64)


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
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_true == (y_pred > threshold)).astype(np.float64)


def categorical_accuracy(y_true, y_pred):
    """Per sample 1.0 where ``argmax(y_true) == argmax(y_pred)`` (one-hot labels).

    Example:
        >>> categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]).tolist()
        [0.0, 1.0]
    """
    y_true, y_pred = _floats(y_true), _floats(y_pred)
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """Per sample 1.0 where the integer label equals ``argmax(y_pred)``; a trailing 1 in y_true is dropped.

    Example:
        >>> sparse_categorical_accuracy([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]).tolist()
        [0.0, 1.0]
    """
    y_true, y_pred = _floats(y_true), _floats(y_pred)
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
    y_true, y_pred = _floats(y_true), _floats(y_pred)
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k)


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
    y_pred = _floats(y_pred)
    if from_sorted_ids:
        labels = _floats(y_true).reshape(-1, 1)
        hits = np.any(labels == y_pred.reshape(labels.shape[0], -1)[:, :k], axis=1)
        return hits.astype(np.float64)
    return _in_top_k(_sparse_labels(y_true, y_pred), y_pred, k)


def mean_squared_error(y_true, y_pred):
    """Per sample ``mean((y_true - y_pred)**2)`` over the last axis.

    Example:
        >>> mean_squared_error([[0, 1], [0, 0]], [[1, 1], [0, 0]]).tolist()
        [0.5, 0.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return np.mean(np.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Per sample ``mean(|y_true - y_pred|)`` over the last axis.

    Example:
        >>> mean_absolute_error([[0, 1], [0, 0]], [[1, 1], [0, 0]]).tolist()
        [0.5, 0.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return np.mean(np.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """Per sample ``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7))`` over the last axis.

    Example:
        >>> mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 4.0]]).tolist()
        [25.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return 100.0 * np.mean(np.abs(y_true - y_pred) / np.maximum(np.abs(y_true), EPSILON), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Per sample ``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2)`` over the last axis.

    Example:
        >>> round(float(mean_squared_logarithmic_error([[0.0]], [[np.e - 1]])[0]), 6)
        1.0
    """
    y_true, y_pred = _pair(y_true, y_pred)
    difference = np.log(np.maximum(y_pred, EPSILON) + 1.0) - np.log(np.maximum(y_true, EPSILON) + 1.0)
    return np.mean(np.square(difference), axis=-1)


def log_cosh(y_true, y_pred):
    """Per sample ``mean(log(cosh(y_pred - y_true)))`` over the last axis, computed without overflow.

    Example:
        >>> round(float(log_cosh([[0.0]], [[1.0]])[0]), 6)
        0.433781
    """
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    # log(cosh x) = x + softplus(-2x) - log 2, finite for any x
    return np.mean(x + np.logaddexp(0.0, -2.0 * x) - np.log(2.0), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per sample cosine of the angle between y_true and y_pred along ``axis`` (+1 is best).

    Note the sign: the *metric* is positive; the loss of the same name is its negative.

    Example:
        >>> cosine_similarity([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]).round(6).tolist()
        [0.0, 1.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)

    def unit(x):
        return x / np.sqrt(np.maximum(np.sum(np.square(x), axis=axis, keepdims=True), 1e-12))

    return np.sum(unit(y_true) * unit(y_pred), axis=axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per sample binary crossentropy, averaged over ``axis``.

    Args:
        y_true: 0/1 targets (soft targets allowed).
        y_pred: probabilities, or logits with ``from_logits=True``.
        from_logits: treat y_pred as logits (computed stably, without a sigmoid then log).
        label_smoothing: move targets towards 0.5 by this fraction.
        axis: the axis averaged over.

    Example:
        >>> binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).round(3).tolist()
        [0.916, 0.714]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        # -log(sigmoid(z)) = softplus(-z) and -log(1 - sigmoid(z)) = softplus(z)
        values = y_true * np.logaddexp(0.0, -y_pred) + (1.0 - y_true) * np.logaddexp(0.0, y_pred)
    else:
        p = np.clip(y_pred, EPSILON, _ONE_MINUS_EPSILON)
        values = -(y_true * np.log(p) + (1.0 - y_true) * np.log(1.0 - p))
    return np.mean(values, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per sample crossentropy between one-hot labels and class probabilities along ``axis``.

    Probabilities are renormalised to sum to 1 and clipped to [1e-7, 1 - 1e-7], as in Keras.

    Args:
        y_true: one-hot (or soft) labels.
        y_pred: probabilities, or logits with ``from_logits=True``.
        from_logits: apply a (stable) log-softmax instead of renormalising.
        label_smoothing: mix the labels with the uniform distribution by this fraction.
        axis: the class axis.

    Example:
        >>> categorical_crossentropy([[0, 1, 0]], [[0.05, 0.95, 0]]).round(4).tolist()
        [0.0513]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]
    if from_logits:
        log_probs = _log_softmax(y_pred, axis)
    else:
        probs = y_pred / np.sum(y_pred, axis=axis, keepdims=True)
        log_probs = np.log(np.clip(probs, EPSILON, _ONE_MINUS_EPSILON))
    return -np.sum(y_true * log_probs, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """Per sample crossentropy between integer labels and class probabilities (classes on ``axis``).

    Args:
        y_true: integer class ids, shape (batch, ...) or (batch, ..., 1).
        y_pred: probabilities, or logits with ``from_logits=True``.
        from_logits: apply a (stable) log-softmax instead of renormalising.
        axis: the class axis of y_pred.

    Example:
        >>> sparse_categorical_crossentropy([1], [[0.05, 0.95, 0]]).round(4).tolist()
        [0.0513]
    """
    y_pred = np.moveaxis(_floats(y_pred), axis, -1)
    class_ids = _sparse_labels(y_true, y_pred)
    if from_logits:
        log_probs = _log_softmax(y_pred, -1)
    else:
        probs = y_pred / np.sum(y_pred, axis=-1, keepdims=True)
        log_probs = np.log(np.clip(probs, EPSILON, _ONE_MINUS_EPSILON))
    return -np.take_along_axis(log_probs, class_ids[..., None], axis=-1)[..., 0]


def kl_divergence(y_true, y_pred):
    """Per sample KL divergence ``sum(y_true * log(y_true / y_pred))``, both clipped to [1e-7, 1].

    Example:
        >>> kl_divergence([[0.5, 0.5]], [[0.5, 0.5]]).tolist()
        [0.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = np.clip(y_true, EPSILON, 1.0), np.clip(y_pred, EPSILON, 1.0)
    return np.sum(y_true * np.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """Per sample Poisson deviance term ``mean(y_pred - y_true * log(y_pred + 1e-7))``.

    Example:
        >>> poisson([[1.0]], [[1.0]]).round(6).tolist()
        [1.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return np.mean(y_pred - y_true * np.log(y_pred + EPSILON), axis=-1)


def _hinge_labels(y_true):
    # Keras maps 0/1 labels to -1/+1, but only when every label in the batch is 0 or 1
    if np.all((y_true == 0) | (y_true == 1)):
        return 2.0 * y_true - 1.0
    return y_true


def hinge(y_true, y_pred):
    """Per sample ``mean(max(1 - y_true * y_pred, 0))``; 0/1 labels are first mapped to -1/+1.

    Example:
        >>> hinge([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).round(6).tolist()
        [1.1, 1.5]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return np.mean(np.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """Per sample ``mean(max(1 - y_true * y_pred, 0)**2)``; 0/1 labels are first mapped to -1/+1.

    Example:
        >>> squared_hinge([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).round(6).tolist()
        [1.46, 2.26]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return np.mean(np.square(np.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """Per sample ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` for one-hot labels.

    Example:
        >>> categorical_hinge([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).round(6).tolist()
        [1.2, 1.6]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    positive = np.sum(y_true * y_pred, axis=-1)
    negative = np.max((1.0 - y_true) * y_pred, axis=-1)
    return np.maximum(negative - positive + 1.0, 0.0)


# Keras's short names for the same functions
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
logcosh = log_cosh


# ----------------------------------------------------------------------------------------------------------
# Base classes
# ----------------------------------------------------------------------------------------------------------


class Metric:
    """Base class of stateful metrics: update_state adds a batch, result reports, reset_state clears.

    Subclasses set their own arguments, then call ``super().__init__(name, dtype)``, which calls
    ``reset_state()`` to create the state. ``direction`` ("up", "down" or None) tells ``EarlyStopping`` and
    ``ModelCheckpoint`` with ``mode='auto'`` whether larger is better.

    Args:
        name: the metric's name, which is also its key in the training logs. Defaults to the snake_case
            class name.
        dtype: recorded for Keras compatibility; the state is always float64.

    Example:
        >>> class Largest(Metric):
        ...     direction = "up"
        ...     def reset_state(self):
        ...         self.largest = 0.0
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.largest = max(self.largest, float(np.max(y_pred)))
        ...     def result(self):
        ...         return self.largest
        >>> Largest()([0, 1], [0.2, 0.7])
        0.7
    """

    direction = None

    def __init__(self, name=None, dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"A metric name must be a string, got {name!r} of type {type(name).__name__}.")
        self.name = name or to_snake_case(type(self).__name__)
        self.dtype = dtype or "float32"
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulate the statistics of one batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self):
        """The metric's value over everything seen since the last reset."""
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def reset_state(self):
        """Forget everything accumulated so far."""
        raise NotImplementedError(f"{type(self).__name__} must implement reset_state().")

    def reset_states(self):
        """Keras 2 spelling of :meth:`reset_state`."""
        self.reset_state()

    def __call__(self, *args, **kwargs):
        """Update with one batch, then return the result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        """The constructor arguments that rebuild this metric with ``from_config``."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        """Build a metric from the dict ``get_config`` returned."""
        return cls(**config)

    def __repr__(self):
        parameters = inspect.signature(type(self).__init__).parameters
        shown = []
        for key, value in self.get_config().items():
            if key in ("name", "dtype"):
                continue
            default = parameters[key].default if key in parameters else inspect.Parameter.empty
            if default is inspect.Parameter.empty or not _same(value, default):
                shown.append(f"{key}={getattr(value, '__name__', None) or value!r}")
        return f"{type(self).__name__}({', '.join([f'name={self.name!r}', *shown])})"


def _same(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _reduce_to_samplewise(values, sample_weight, reduce):
    """Keras's reduction of metric values (and weights) to one value per sample.

    Values with more axes than the weights are reduced over the extra axes first, weighted, and any remaining
    axes beyond the first are reduced last. With no weights every value ends up as one per-sample value.
    """
    values = _floats(values)
    if sample_weight is not None:
        weights = _floats(sample_weight)
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        if values.ndim > weights.ndim:
            values = reduce(values, axis=tuple(range(weights.ndim, values.ndim)))
        elif values.ndim == 0 and weights.ndim > 0:
            # a function that returned one value for the whole batch: give that value to every sample
            values = np.broadcast_to(values, weights.shape)
        weights = np.broadcast_to(weights, values.shape)
        values = values * weights
        if weights.ndim > 1:
            weights = reduce(weights, axis=tuple(range(1, weights.ndim)))
        sample_weight = weights
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Mean(Metric):
    """The (weighted) mean of the values it is given; ``update_state(values, sample_weight=None)``.

    With weights, ``total += sum(w * v)`` and ``count += sum(w)``; otherwise ``count`` grows by the number of
    samples. Values with extra axes are first averaged per sample.

    Args:
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> m = Mean()
        >>> m.update_state([1, 3, 5, 7])
        >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
        >>> round(m.result(), 4)
        3.3333
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        """Add a batch of values, optionally weighted."""
        values, weights = _reduce_to_samplewise(values, sample_weight, np.mean)
        self.total += float(np.sum(values))
        if weights is not None:
            self.count += float(np.sum(weights))
        else:
            self.count += values.shape[0] if values.ndim >= 1 else 1

    def result(self):
        return self.total / self.count if self.count != 0 else 0.0


class Sum(Metric):
    """The (weighted) sum of the values it is given; ``update_state(values, sample_weight=None)``.

    Example:
        >>> m = Sum()
        >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
        >>> m.result()
        4.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        """Add a batch of values, optionally weighted."""
        values, _ = _reduce_to_samplewise(values, sample_weight, np.sum)
        self.total += float(np.sum(values))

    def result(self):
        return self.total


def _callable_name(fn):
    """Keras's naming of a metric object or function: ``.name``, else ``__name__``, else the class name."""
    for attribute in ("name", "__name__"):
        name = getattr(fn, attribute, None)
        if isinstance(name, str) and name:
            return name
    return to_snake_case(type(fn).__name__)


class MeanMetricWrapper(Mean):
    """The running mean of a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    The function's values are averaged over any axes beyond the first, then over samples (weighted by
    ``sample_weight`` when given), exactly like Keras.

    Args:
        fn: a function of ``(y_true, y_pred)`` returning one value per sample (or per element, or one scalar).
        name: the metric's name; defaults to ``fn.__name__``.
        dtype: recorded for Keras compatibility.
        **kwargs: passed to ``fn`` on every call.

    Example:
        >>> def max_error(y_true, y_pred):
        ...     return np.max(np.abs(np.subtract(y_true, y_pred)), axis=-1)
        >>> m = MeanMetricWrapper(max_error)
        >>> m([[0, 1], [0, 0]], [[1, 1], [0, 0.5]])
        0.75
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(
                f"MeanMetricWrapper expects a function fn(y_true, y_pred) returning per-sample values, "
                f"got {fn!r} of type {type(fn).__name__}."
            )
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or _callable_name(fn), dtype=dtype)
        if _is_loss_function(fn):
            self.direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Evaluate ``fn`` on the batch and add its values to the running mean."""
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        config = {**super().get_config(), **self._fn_kwargs}
        if type(self) is MeanMetricWrapper:
            # registered functions are stored by name; anything else as the object itself (not JSON-safe)
            fn_name = getattr(self._fn, "__name__", None)
            config["fn"] = fn_name if _FUNCTIONS.get(fn_name) is self._fn else self._fn
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if cls is MeanMetricWrapper and isinstance(config.get("fn"), str):
            name = config["fn"]
            if name not in _FUNCTIONS:
                raise unknown_name_error("metric function", name, _FUNCTIONS)
            config["fn"] = _FUNCTIONS[name]
        return cls(**config)


# ----------------------------------------------------------------------------------------------------------
# Accuracy family
# ----------------------------------------------------------------------------------------------------------


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


class CategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` matches the class of a one-hot label.

    Example:
        >>> CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        0.5
    """

    direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` equals the integer label.

    Example:
        >>> SparseCategoricalAccuracy()([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        0.5
    """

    direction = "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


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
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=_positive_int("k", k))


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
            k=_positive_int("k", k),
            from_sorted_ids=from_sorted_ids,
        )


def _positive_int(argument, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{argument}` must be a positive integer, got {argument}={value!r}.")
    return int(value)


# ----------------------------------------------------------------------------------------------------------
# Regression, probabilistic and hinge metrics: the running mean of a per-sample function
# ----------------------------------------------------------------------------------------------------------


class MeanSquaredError(MeanMetricWrapper):
    """Running mean of ``mean((y_true - y_pred)**2)`` per sample.

    Example:
        >>> MeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        0.25
    """

    direction = "down"

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Running mean of ``mean(|y_true - y_pred|)`` per sample.

    Example:
        >>> MeanAbsoluteError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        0.25
    """

    direction = "down"

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Running mean of the per-sample mean absolute percentage error.

    Example:
        >>> MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 4.0]])
        25.0
    """

    direction = "down"

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Running mean of the per-sample mean squared logarithmic error.

    Example:
        >>> round(MeanSquaredLogarithmicError()([[0.0]], [[np.e - 1]]), 6)
        1.0
    """

    direction = "down"

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(MeanMetricWrapper):
    """Running mean of ``log(cosh(y_pred - y_true))`` per sample (default name ``logcosh``, as in Keras).

    Example:
        >>> round(LogCoshError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]), 6)
        0.108445
    """

    direction = "down"

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name=name, dtype=dtype)


class CosineSimilarity(MeanMetricWrapper):
    """Running mean of the cosine similarity between y_true and y_pred (positive: +1 is best).

    Args:
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        axis: the axis along which the vectors lie.

    Example:
        >>> round(CosineSimilarity()([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]), 6)
        0.5
    """

    direction = "up"

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


class BinaryCrossentropy(MeanMetricWrapper):
    """Running mean of the per-sample binary crossentropy.

    Args:
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: move targets towards 0.5 by this fraction.

    Example:
        >>> round(BinaryCrossentropy()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), 6)
        0.814924
    """

    direction = "down"

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0.0):
        super().__init__(
            binary_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )


class CategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the per-sample categorical crossentropy (one-hot labels).

    Args:
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: mix labels with the uniform distribution by this fraction.
        axis: the class axis.

    Example:
        >>> round(CategoricalCrossentropy()([[0, 1, 0]], [[0.05, 0.95, 0]]), 4)
        0.0513
    """

    direction = "down"

    def __init__(
        self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0.0, axis=-1
    ):
        super().__init__(
            categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the per-sample crossentropy with integer labels.

    Args:
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        from_logits: y_pred holds logits rather than probabilities.
        axis: the class axis of y_pred.

    Example:
        >>> round(SparseCategoricalCrossentropy()([1], [[0.05, 0.95, 0]]), 4)
        0.0513
    """

    direction = "down"

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, axis=-1):
        super().__init__(
            sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits, axis=axis
        )


class KLDivergence(MeanMetricWrapper):
    """Running mean of the per-sample Kullback-Leibler divergence.

    Example:
        >>> KLDivergence()([[0.5, 0.5]], [[0.5, 0.5]])
        0.0
    """

    direction = "down"

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """Running mean of the per-sample Poisson term ``y_pred - y_true * log(y_pred)``.

    Example:
        >>> round(Poisson()([[1.0]], [[1.0]]), 6)
        1.0
    """

    direction = "down"

    def __init__(self, name="poisson", dtype=None):
        super().__init__(poisson, name=name, dtype=dtype)


class Hinge(MeanMetricWrapper):
    """Running mean of the per-sample hinge loss (0/1 labels are mapped to -1/+1).

    Example:
        >>> round(Hinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), 6)
        1.3
    """

    direction = "down"

    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """Running mean of the per-sample squared hinge loss.

    Example:
        >>> round(SquaredHinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), 6)
        1.86
    """

    direction = "down"

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """Running mean of the per-sample categorical hinge loss.

    Example:
        >>> round(CategoricalHinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), 6)
        1.4
    """

    direction = "down"

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """Square root of the running (weighted) mean of squared errors, over every sample seen.

    Not a mean of per-batch RMSEs: ``sqrt(sum(w * e**2) / sum(w))`` over the whole epoch.

    Example:
        >>> RootMeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        0.5
    """

    direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's squared errors to the running mean."""
        y_true, y_pred = _pair(y_true, y_pred)
        super().update_state(np.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))


class R2Score(Metric):
    """Coefficient of determination ``1 - SS_res / SS_tot`` per output column, accumulated exactly.

    Args:
        class_aggregation: ``"uniform_average"`` (mean over columns), ``"variance_weighted_average"`` or
            ``None`` (one score per column, as an array).
        num_regressors: for the adjusted R2; 0 gives the plain R2.
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> round(R2Score()([[1], [4], [3]], [[2], [4], [4]]), 6)
        0.571429
    """

    direction = "up"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        choices = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in choices:
            raise ValueError(
                f"R2Score expects class_aggregation to be one of {choices}, got "
                f"class_aggregation={class_aggregation!r}.{did_you_mean(str(class_aggregation), choices[1:])}"
            )
        if num_regressors < 0:
            raise ValueError(f"R2Score expects num_regressors >= 0, got num_regressors={num_regressors!r}.")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.num_outputs = None  # fixed by the first batch
        self.num_samples = 0

    def _build(self, num_outputs):
        self.num_outputs = num_outputs
        self.sum = np.zeros(num_outputs)
        self.squared_sum = np.zeros(num_outputs)
        self.residual = np.zeros(num_outputs)
        self.count = np.zeros(num_outputs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulate the batch's sums of targets, squared targets and squared residuals."""
        y_true, y_pred = _pair(y_true, y_pred)
        if y_true.ndim != 2 or y_pred.ndim != 2:
            raise ValueError(
                f"R2Score expects 2-D inputs of shape (batch_size, output_dim), got y_true.shape="
                f"{y_true.shape} and y_pred.shape={y_pred.shape}."
            )
        if self.num_outputs is None or (self.num_samples == 0 and self.num_outputs != y_pred.shape[-1]):
            self._build(y_pred.shape[-1])
        elif self.num_outputs != y_pred.shape[-1]:
            raise ValueError(
                f"R2Score '{self.name}' was built for {self.num_outputs} outputs but got y_pred.shape="
                f"{y_pred.shape}. Call reset_state() before using it on a different model."
            )
        weights = np.ones(1) if sample_weight is None else _floats(sample_weight)
        if weights.ndim == 1:
            weights = weights[:, None]
        weights = np.broadcast_to(weights, y_true.shape)
        self.sum += np.sum(y_true * weights, axis=0)
        self.squared_sum += np.sum(y_true * y_true * weights, axis=0)
        self.residual += np.sum(np.square(y_true - y_pred) * weights, axis=0)
        self.count += np.sum(weights, axis=0)
        self.num_samples += y_true.size  # Keras counts elements, not rows

    def result(self):
        if self.num_outputs is None:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum / self.count
            total = self.squared_sum - self.sum * mean
            raw_scores = 1.0 - self.residual / total
        raw_scores = np.where(np.isinf(raw_scores), 0.0, raw_scores)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw_scores)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw_scores) / np.sum(total)
        else:
            score = raw_scores
        n, p = self.num_samples, self.num_regressors
        if p != 0 and p >= n - 1:
            warnings.warn(
                f"R2Score: adjusted R2 needs num_regressors < num_samples - 1 (got {p} regressors and {n} "
                f"samples); returning the standard R2 score.",
                stacklevel=2,
            )
        elif p != 0:
            score = 1.0 - (1.0 - score) * (n - 1) / (n - p - 1)
        return float(score) if np.ndim(score) == 0 else np.asarray(score, dtype=np.float64)

    def get_config(self):
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }


# ----------------------------------------------------------------------------------------------------------
# Confusion-matrix metrics: TP/FP/TN/FN counts at thresholds, Precision, Recall, AUC
# ----------------------------------------------------------------------------------------------------------


def _parse_thresholds(thresholds, default):
    if thresholds is None:
        return np.array([default], dtype=np.float64)
    values = np.atleast_1d(_floats(thresholds)).ravel()
    invalid = [float(t) for t in values if not 0.0 <= t <= 1.0]
    if invalid:
        raise ValueError(f"Threshold values must be in [0, 1], got {invalid}.")
    return values


def _filter_top_k(y_pred, k):
    """Keep the k largest scores along the last axis (lower index first on ties); set the rest to NEG_INF."""
    top = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(y_pred.shape, dtype=bool)
    np.put_along_axis(keep, top, True, axis=-1)
    return np.where(keep, y_pred, NEG_INF)


def _prepare_confusion_inputs(y_true, y_pred, sample_weight, top_k=None, class_id=None):
    """Align labels, predictions and weights like Keras's update_confusion_matrix_variables.

    Returns boolean labels, predictions and weights broadcast to the predictions' shape.
    """
    y_pred, y_true = squeeze_or_expand_to_same_rank(_floats(y_pred), _floats(y_true))
    weights = None
    if sample_weight is not None:
        weights = _floats(sample_weight)[..., None]
        _, weights = squeeze_or_expand_to_same_rank(y_true, weights, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                f"class_id={class_id} needs y_pred of shape (num_samples, num_classes), got {y_pred.shape}."
            )
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    y_true = np.broadcast_to(y_true, y_pred.shape)
    weights = np.ones(y_pred.shape) if weights is None else np.broadcast_to(weights, y_pred.shape)
    return y_true != 0, y_pred, weights


def _confusion_counts(positive, y_pred, weights, thresholds, multi_label=False):
    """Weighted TP, FP, TN, FN at every threshold (``y_pred > threshold`` is a positive prediction).

    Shapes are (thresholds,), or (thresholds, labels) with ``multi_label``.
    """
    if multi_label:
        predicted = y_pred[None, :, :] > thresholds[:, None, None]
        true_w, false_w = (positive * weights)[None], (~positive * weights)[None]
        tp, fp = np.sum(predicted * true_w, axis=1), np.sum(predicted * false_w, axis=1)
        return tp, fp, np.sum(false_w, axis=1) - fp, np.sum(true_w, axis=1) - tp
    predicted = y_pred.reshape(1, -1) > thresholds[:, None]
    true_w, false_w = (positive * weights).ravel(), (~positive * weights).ravel()
    tp, fp = predicted @ true_w, predicted @ false_w
    return tp, fp, np.sum(false_w) - fp, np.sum(true_w) - tp


def _bucketed_confusion_counts(positive, y_pred, weights, num_thresholds, multi_label=False):
    """The same counts for the evenly spaced AUC thresholds ``[-eps, 1/(n-1), ..., 1+eps]`` in O(N + T).

    A prediction p is above threshold i exactly when ``ceil(p * (n - 1)) - 1 >= i``, so one weighted
    histogram of those bucket indices, summed from the top, gives every threshold's count at once.
    """
    p = np.clip(y_pred, 0.0, 1.0)
    buckets = np.maximum(np.ceil(p * (num_thresholds - 1)) - 1, 0).astype(np.int64)
    true_w, false_w = positive * weights, ~positive * weights
    if multi_label:
        num_labels = y_pred.shape[-1]
        buckets = buckets * num_labels + np.arange(num_labels)
        size, shape = num_thresholds * num_labels, (num_thresholds, num_labels)
    else:
        size, shape = num_thresholds, (num_thresholds,)

    def above(w):
        histogram = np.bincount(buckets.ravel(), weights=w.ravel(), minlength=size).reshape(shape)
        return np.cumsum(histogram[::-1], axis=0)[::-1]

    tp, fp = above(true_w), above(false_w)
    axis = 0 if multi_label else None
    return tp, fp, np.sum(false_w, axis=axis) - fp, np.sum(true_w, axis=axis) - tp


class _ConfusionMatrixCount(Metric):
    """Weighted count of one confusion-matrix cell at one or more thresholds."""

    _cell = None  # "tp", "fp", "tn" or "fn"

    def __init__(self, thresholds=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.accumulator = np.zeros(len(self.thresholds))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's count at every threshold."""
        positive, y_pred, weights = _prepare_confusion_inputs(y_true, y_pred, sample_weight)
        tp, fp, tn, fn = _confusion_counts(positive, y_pred, weights, self.thresholds)
        self.accumulator += {"tp": tp, "fp": fp, "tn": tn, "fn": fn}[self._cell]

    def result(self):
        return float(self.accumulator[0]) if len(self.thresholds) == 1 else self.accumulator.copy()

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixCount):
    """Weighted number of true positives (label 1, ``y_pred > threshold``); no ``direction``.

    Args:
        thresholds: one threshold or a list (then the result is an array); defaults to 0.5.
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> TruePositives()([0, 1, 1, 1], [1, 0, 1, 1])
        2.0
    """

    _cell = "tp"

    def __init__(self, thresholds=None, name="true_positives", dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)


class FalsePositives(_ConfusionMatrixCount):
    """Weighted number of false positives (label 0, ``y_pred > threshold``); no ``direction``.

    Example:
        >>> FalsePositives()([0, 1, 0, 0], [0, 0, 1, 1])
        2.0
    """

    _cell = "fp"

    def __init__(self, thresholds=None, name="false_positives", dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)


class TrueNegatives(_ConfusionMatrixCount):
    """Weighted number of true negatives (label 0, ``y_pred <= threshold``); no ``direction``.

    Example:
        >>> TrueNegatives()([0, 1, 0, 0], [1, 1, 0, 0])
        2.0
    """

    _cell = "tn"

    def __init__(self, thresholds=None, name="true_negatives", dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)


class FalseNegatives(_ConfusionMatrixCount):
    """Weighted number of false negatives (label 1, ``y_pred <= threshold``); no ``direction``.

    Example:
        >>> FalseNegatives()([0, 1, 1, 1], [0, 1, 0, 0])
        2.0
    """

    _cell = "fn"

    def __init__(self, thresholds=None, name="false_negatives", dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)


class _PrecisionRecall(Metric):
    """Shared state of Precision and Recall: TP plus FP or FN at each threshold."""

    direction = "up"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.top_k = None if top_k is None else _positive_int("top_k", top_k)
        self.class_id = class_id
        # with top_k every kept score counts as positive unless a threshold is given
        self.thresholds = _parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.true_positives = np.zeros(len(self.thresholds))
        self.false_positives = np.zeros(len(self.thresholds))
        self.false_negatives = np.zeros(len(self.thresholds))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's true positives, false positives and false negatives at every threshold."""
        inputs = _prepare_confusion_inputs(y_true, y_pred, sample_weight, self.top_k, self.class_id)
        tp, fp, _, fn = _confusion_counts(*inputs, self.thresholds)
        self.true_positives += tp
        self.false_positives += fp
        self.false_negatives += fn

    def _finish(self, values):
        return float(values[0]) if len(self.thresholds) == 1 else values

    def get_config(self):
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_PrecisionRecall):
    """Fraction of positive predictions that are right: ``TP / (TP + FP)``.

    Args:
        thresholds: a prediction is positive when ``y_pred > threshold``; one value (default 0.5) or a list
            (then the result is an array, one precision per threshold).
        top_k: only the k highest scores of each sample may count as positive.
        class_id: compute the metric for this class (column) only.
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> round(Precision()([0, 1, 1, 1], [1, 0, 1, 1]), 4)
        0.6667
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision", dtype=None):
        super().__init__(thresholds=thresholds, top_k=top_k, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        return self._finish(_divide_no_nan(self.true_positives, self.true_positives + self.false_positives))


class Recall(_PrecisionRecall):
    """Fraction of actual positives that are found: ``TP / (TP + FN)``.

    Args:
        thresholds: a prediction is positive when ``y_pred > threshold``; one value (default 0.5) or a list.
        top_k: only the k highest scores of each sample may count as positive.
        class_id: compute the metric for this class (column) only.
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> round(Recall()([0, 1, 1, 1], [1, 0, 1, 1]), 4)
        0.6667
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall", dtype=None):
        super().__init__(thresholds=thresholds, top_k=top_k, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        return self._finish(_divide_no_nan(self.true_positives, self.true_positives + self.false_negatives))


class AUC(Metric):
    """Area under the ROC or precision-recall curve, approximated on a grid of thresholds (Keras's method).

    Args:
        num_thresholds: number of evenly spaced thresholds (more is finer); at least 2.
        curve: ``"ROC"`` or ``"PR"``.
        summation_method: ``"interpolation"`` (trapezoids for ROC; Davis & Goadrich interpolation for PR),
            ``"minoring"`` or ``"majoring"``.
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        thresholds: explicit thresholds in [0, 1] instead of ``num_thresholds``.
        multi_label: one curve per label column (averaged) instead of flattening all columns into one.
        num_labels: number of label columns with ``multi_label`` (otherwise taken from the first batch).
        label_weights: weights of the label columns (in the average with ``multi_label``, in the counts
            otherwise).
        from_logits: y_pred holds logits; a sigmoid is applied first.

    Example:
        >>> round(AUC()([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
        0.75
    """

    direction = "up"

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name="auc",
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        self.curve = _choice("curve", curve, ("ROC", "PR"), upper=True)
        self.summation_method = _choice(
            "summation_method", summation_method, ("interpolation", "majoring", "minoring"), upper=False
        )
        self.init_thresholds = thresholds
        if thresholds is not None:
            inner = sorted(float(t) for t in _parse_thresholds(thresholds, 0.5))
            self._evenly_spaced = False
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)):
                raise ValueError(f"AUC expects an integer num_thresholds > 1, got {num_thresholds!r}.")
            if num_thresholds <= 1:
                raise ValueError(f"AUC expects num_thresholds > 1, got num_thresholds={num_thresholds}.")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly_spaced = True
        # end points just outside [0, 1] so that predictions of exactly 0 and 1 fall inside the curve
        self._thresholds = np.array([0.0 - EPSILON, *inner, 1.0 + EPSILON])
        self.num_thresholds = len(self._thresholds)
        self.multi_label = bool(multi_label)
        if num_labels is not None and not self.multi_label:
            raise ValueError("AUC: `num_labels` is needed only when `multi_label=True`.")
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else _floats(label_weights)
        self.from_logits = from_logits
        super().__init__(name=name, dtype=dtype)

    @property
    def thresholds(self):
        """The thresholds the curve is evaluated at, including the two just outside [0, 1]."""
        return list(self._thresholds)

    def reset_state(self):
        shape = (self.num_thresholds, self.num_labels) if self.multi_label else (self.num_thresholds,)
        if self.multi_label and self.num_labels is None:
            self.true_positives = None  # the label count comes from the first batch
            return
        self.true_positives = np.zeros(shape)
        self.false_positives = np.zeros(shape)
        self.true_negatives = np.zeros(shape)
        self.false_negatives = np.zeros(shape)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's confusion counts at every threshold."""
        y_pred = _floats(y_pred)
        if self.from_logits:
            y_pred = _sigmoid(y_pred)
        positive, y_pred, weights = _prepare_confusion_inputs(y_true, y_pred, sample_weight)
        if self.multi_label:
            self._check_multi_label_shape(y_pred)
        elif self.label_weights is not None:
            weights = weights * np.broadcast_to(self.label_weights, y_pred.shape)
        if self._evenly_spaced:
            counts = _bucketed_confusion_counts(
                positive, y_pred, weights, self.num_thresholds, self.multi_label
            )
        else:
            counts = _confusion_counts(positive, y_pred, weights, self._thresholds, self.multi_label)
        self.true_positives += counts[0]
        self.false_positives += counts[1]
        self.true_negatives += counts[2]
        self.false_negatives += counts[3]

    def _check_multi_label_shape(self, y_pred):
        if y_pred.ndim != 2:
            raise ValueError(f"AUC(multi_label=True) expects y_pred of rank 2, got shape {y_pred.shape}.")
        if self.true_positives is None:
            self.num_labels = y_pred.shape[1]
            self.reset_state()
        elif y_pred.shape[1] != self.num_labels:
            raise ValueError(
                f"AUC '{self.name}' tracks {self.num_labels} labels but got y_pred.shape={y_pred.shape}."
            )

    def result(self):
        if self.true_positives is None:
            return 0.0
        if self.curve == "PR" and self.summation_method == "interpolation":
            per_label = self._interpolated_pr_auc()
        else:
            per_label = self._riemann_auc()
        if not self.multi_label:
            return float(per_label)
        if self.label_weights is None:
            return float(np.mean(per_label))
        return float(_divide_no_nan(np.sum(per_label * self.label_weights), np.sum(self.label_weights)))

    def _riemann_auc(self):
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return np.sum((x[:-1] - x[1:]) * heights, axis=0)

    def _interpolated_pr_auc(self):
        """PR AUC interpolating true positives linearly in the number of positive predictions.

        Davis & Goadrich (2006): between two thresholds precision is not linear, but TP is (in P = TP + FP),
        which gives a closed-form integral with a log term.
        """
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        d_tp = tp[:-1] - tp[1:]
        p = tp + fp
        d_p = p[:-1] - p[1:]
        slope = _divide_no_nan(d_tp, np.maximum(d_p, 0.0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both_positive, _divide_no_nan(p[:-1], np.maximum(p[1:], 0.0)), 1.0)
        with np.errstate(divide="ignore"):
            log_ratio = np.log(np.where(ratio > 0, ratio, 1.0))
        increments = _divide_no_nan(slope * (d_tp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0.0))
        return np.sum(increments, axis=0)

    def get_config(self):
        label_weights = None if self.label_weights is None else self.label_weights.tolist()
        return {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "thresholds": None if self.init_thresholds is None else self.thresholds[1:-1],
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": label_weights,
            "from_logits": self.from_logits,
        }


def _choice(argument, value, choices, upper):
    if isinstance(value, str):
        normalised = value.upper() if upper else value.lower()
        if normalised in choices:
            return normalised
    raise ValueError(
        f"Invalid {argument}={value!r}; expected one of {', '.join(repr(c) for c in choices)}."
        f"{did_you_mean(str(value), choices)}"
    )


# ----------------------------------------------------------------------------------------------------------
# F-scores
# ----------------------------------------------------------------------------------------------------------


class FBetaScore(Metric):
    """F-beta score ``(1 + b^2) * P * R / (b^2 * P + R)`` from counts accumulated per class.

    Args:
        average: ``None`` (one score per class, as an array), ``"micro"`` (pool all classes), ``"macro"``
            (unweighted mean over classes) or ``"weighted"`` (mean weighted by each class's support).
        beta: weight of recall relative to precision; > 0.
        threshold: a prediction is positive when ``y_pred > threshold`` (0 < threshold <= 1); with ``None``
            the highest score in each row is the positive one.
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> m = FBetaScore(beta=2.0, threshold=0.5, average="micro")
        >>> round(m([[1, 0], [0, 1]], [[0.9, 0.8], [0.1, 0.2]]), 4)
        0.5
    """

    direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        choices = (None, "micro", "macro", "weighted")
        if average not in choices:
            raise ValueError(
                f"{type(self).__name__} expects average to be one of {choices}, got average={average!r}."
                f"{did_you_mean(str(average), choices[1:])}"
            )
        if isinstance(beta, bool) or not isinstance(beta, (int, float, np.number)) or beta <= 0:
            raise ValueError(f"FBetaScore expects beta to be a number > 0, got beta={beta!r}.")
        is_number = isinstance(threshold, (int, float, np.number)) and not isinstance(threshold, bool)
        if threshold is not None and not (is_number and 0 < threshold <= 1):
            raise ValueError(
                f"{type(self).__name__} expects a threshold with 0 < threshold <= 1 (or None for the row "
                f"maximum), got threshold={threshold!r}."
            )
        self.average = average
        self.beta = float(beta)
        self.threshold = None if threshold is None else float(threshold)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.num_classes = None  # fixed by the first batch
        self._seen = False

    def _build(self, num_classes):
        shape = () if self.average == "micro" else (num_classes,)
        self.num_classes = num_classes
        self.true_positives = np.zeros(shape)
        self.false_positives = np.zeros(shape)
        self.false_negatives = np.zeros(shape)
        self.support = np.zeros(shape)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's per-class true positives, false positives and false negatives."""
        y_true, y_pred = _pair(y_true, y_pred)
        if y_true.ndim != 2 or y_pred.ndim != 2:
            raise ValueError(
                f"{type(self).__name__} expects 2-D inputs of shape (batch_size, num_classes), got "
                f"y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}."
            )
        if self.num_classes is None or (not self._seen and self.num_classes != y_pred.shape[-1]):
            self._build(y_pred.shape[-1])
        elif self.num_classes != y_pred.shape[-1]:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' was built for {self.num_classes} classes but got "
                f"y_pred.shape={y_pred.shape}. Call reset_state() before using it on a different model."
            )
        if self.threshold is None:
            # the row maximum is positive, but an all-zero row must not become all positive
            predicted = (y_pred >= np.max(y_pred, axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(np.float64)
        weights = np.ones((1, 1)) if sample_weight is None else _floats(sample_weight).reshape(-1, 1)
        axis = None if self.average == "micro" else 0
        self.true_positives += np.sum(predicted * y_true * weights, axis=axis)
        self.false_positives += np.sum(predicted * (1.0 - y_true) * weights, axis=axis)
        self.false_negatives += np.sum((1.0 - predicted) * y_true * weights, axis=axis)
        self.support += np.sum(y_true * weights, axis=axis)
        self._seen = True

    def result(self):
        if self.num_classes is None:
            return 0.0
        # Keras adds epsilon to every denominator instead of special-casing zeros
        precision = self.true_positives / (self.true_positives + self.false_positives + EPSILON)
        recall = self.true_positives / (self.true_positives + self.false_negatives + EPSILON)
        b2 = self.beta**2
        scores = (1.0 + b2) * precision * recall / (b2 * precision + recall + EPSILON)
        if self.average == "weighted":
            return float(np.sum(scores * self.support / (np.sum(self.support) + EPSILON)))
        if self.average is not None:
            return float(np.mean(scores))
        return np.asarray(scores, dtype=np.float64)

    def get_config(self):
        config = {"average": self.average, "beta": self.beta, "threshold": self.threshold}
        return {**super().get_config(), **config}


class F1Score(FBetaScore):
    """F1 score, the harmonic mean of precision and recall (FBetaScore with beta=1).

    Args:
        average: ``None`` (per-class array), ``"micro"``, ``"macro"`` or ``"weighted"``.
        threshold: a prediction is positive when ``y_pred > threshold``; ``None`` takes each row's maximum.
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> m = F1Score(threshold=0.5)
        >>> m([[1, 1, 1], [1, 0, 0], [1, 1, 0]], [[.2, .6, .7], [.2, .6, .6], [.6, .8, 0]]).round(4).tolist()
        [0.5, 0.8, 0.6667]
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


# ----------------------------------------------------------------------------------------------------------
# Registry and resolution
# ----------------------------------------------------------------------------------------------------------

_CLASSES = (
    Mean,
    Sum,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    Precision,
    Recall,
    AUC,
    TruePositives,
    TrueNegatives,
    FalsePositives,
    FalseNegatives,
    F1Score,
    FBetaScore,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    RootMeanSquaredError,
    LogCoshError,
    CosineSimilarity,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    KLDivergence,
    Poisson,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    R2Score,
)

# plain function -> the metric class that averages it
_FUNCTION_CLASSES = {
    accuracy: Accuracy,
    binary_accuracy: BinaryAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    log_cosh: LogCoshError,
    cosine_similarity: CosineSimilarity,
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    kl_divergence: KLDivergence,
    poisson: Poisson,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
}
_FUNCTIONS = {fn.__name__: fn for fn in _FUNCTION_CLASSES}

_ALIASES = {
    "acc": Accuracy,
    "mse": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "rmse": RootMeanSquaredError,
    "bce": BinaryCrossentropy,
    "kld": KLDivergence,
    "logcosh": LogCoshError,
    "fbeta_score": FBetaScore,
    # Keras 2 name of the (positive) cosine similarity metric; Keras 3 rejects it
    "cosine_proximity": CosineSimilarity,
}

# lower-case string -> class: class names, snake_case class names, function names, aliases
_BY_STRING = {}
for _cls in _CLASSES:
    _BY_STRING[_cls.__name__.lower()] = _cls
    _BY_STRING[to_snake_case(_cls.__name__)] = _cls
_BY_STRING.update({fn.__name__: cls for fn, cls in _FUNCTION_CLASSES.items()})
_BY_STRING.update(_ALIASES)
_CLASS_NAMES = {cls.__name__.lower() for cls in _CLASSES}
# what an unknown-name error lists: the readable spellings, not the CamelCase duplicates
_KNOWN_NAMES = sorted({to_snake_case(c.__name__) for c in _CLASSES} | set(_FUNCTIONS) | set(_ALIASES))

_LOSS_ONLY = ("crossentropy", "ce")


def _is_loss_instance(obj):
    try:
        from nbtrain.losses import Loss
    except ImportError:
        return False
    return isinstance(obj, Loss)


def _is_loss_class(obj):
    try:
        from nbtrain.losses import Loss
    except ImportError:
        return False
    return inspect.isclass(obj) and issubclass(obj, Loss)


def _is_loss_function(fn):
    return isinstance(fn, _PerSampleLoss) or getattr(fn, "__module__", None) == "nbtrain.losses"


class _PerSampleLoss:
    """Adapts a Loss object to the per-sample ``fn(y_true, y_pred)`` that MeanMetricWrapper takes.

    A copy of the loss with no reduction runs the loss's own input preparation (casting, rank matching,
    label checks) and then its per-sample ``call``, so any Loss subclass works unchanged.
    """

    def __init__(self, loss):
        self.loss = loss
        self.__name__ = getattr(loss, "name", None) or to_snake_case(type(loss).__name__)
        self._unreduced = copy.copy(loss)
        self._unreduced.reduction = None

    def __call__(self, y_true, y_pred):
        return self._unreduced(y_true, y_pred)

    def __repr__(self):
        return f"{self.loss!r}.call"


def _loss_metric(loss, name=None):
    """A MeanMetricWrapper averaging a loss's per-sample values; its direction is "down"."""
    if _is_loss_class(loss):
        loss = loss()
    fn = _PerSampleLoss(loss) if _is_loss_instance(loss) else loss
    metric = MeanMetricWrapper(fn, name=name or _callable_name(fn))
    metric.direction = "down"
    return metric


def _loss_from_string(identifier):
    """The loss that ``nbtrain.losses.get`` finds for a string, or None."""
    try:
        from nbtrain import losses
    except ImportError:
        return None
    try:
        loss = losses.get(identifier)
    except (ValueError, KeyError, TypeError):
        return None
    return loss if loss is not None and callable(loss) else None


def _unknown_metric(identifier):
    return unknown_name_error("metric", identifier, _KNOWN_NAMES)


def _loss_only_error(identifier, y_true_shape=None, y_pred_shape=None):
    if y_true_shape is not None and y_pred_shape is not None:
        is_binary, is_sparse = _label_kind(y_true_shape, y_pred_shape)
        kind = "binary" if is_binary else "sparse_categorical" if is_sparse else "categorical"
        advice = f"For these labels use '{kind}_crossentropy'."
    else:
        advice = "Use 'binary_crossentropy', 'categorical_crossentropy' or 'sparse_categorical_crossentropy'."
    return ValueError(
        f"'{identifier}' picks a crossentropy for the loss only; it is not a metric (as in Keras). {advice}"
    )


def get(identifier):
    """Return the Metric that an identifier names.

    Args:
        identifier: a string (case-insensitive class name, snake_case name or alias such as ``'mse'``,
            ``'acc'``, ``'auc'``, ``'f1_score'``), a Metric instance (returned as is), a Metric class
            (instantiated), a metric or loss function (its metric class, named after the function), any other
            function ``f(y_true, y_pred)`` (wrapped in a MeanMetricWrapper), a loss object, a config dict
            ``{"class_name": ..., "config": {...}}``, or None.

    ``'accuracy'`` here is the exact-match :class:`Accuracy`, as in ``keras.metrics.get``; ``compile`` maps it
    by shapes through :func:`resolve`.

    Example:
        >>> get("mse")
        MeanSquaredError(name='mse')
        >>> get("AUC").name
        'auc'
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        return _from_string(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if _is_loss_instance(identifier) or _is_loss_class(identifier):
        return _loss_metric(identifier)
    if callable(identifier):
        return _from_function(identifier)
    raise TypeError(
        f"Could not interpret metric identifier {identifier!r} of type {type(identifier).__name__}. "
        f"Expected a metric name such as 'accuracy', a Metric object, a function f(y_true, y_pred) or a "
        f"config dict."
    )


def _from_string(identifier):
    key = identifier.lower()
    if key not in _BY_STRING:
        raise _unknown_metric(identifier)
    cls = _BY_STRING[key]
    # a class name gives the class's default name; any other spelling names the metric as it was written
    return cls() if key in _CLASS_NAMES else cls(name=identifier)


def _from_function(fn):
    name = _callable_name(fn)
    cls = _FUNCTION_CLASSES.get(fn)
    if cls is None and getattr(fn, "__module__", None) == "nbtrain.losses" and name in _FUNCTIONS:
        cls = _FUNCTION_CLASSES[_FUNCTIONS[name]]
    if cls is not None:
        return cls(name=name)
    if _is_loss_function(fn):
        return _loss_metric(_loss_object(fn), name)
    return MeanMetricWrapper(fn, name=name)


def _loss_object(fn):
    """The Loss object nbtrain.losses builds for one of its functions, so its input checks apply too."""
    from nbtrain import losses

    try:
        return losses.get(fn)
    except (ValueError, TypeError):
        return fn


def _label_kind(y_true_shape, y_pred_shape):
    """Keras's shape test: (is_binary, is_sparse_categorical)."""
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    # one score per sample (rank <= 1) is binary too; Keras would call a rank-1 y_pred categorical
    is_binary = len(y_pred_shape) < 2 or y_pred_shape[-1] == 1
    is_sparse = len(y_true_shape) < len(y_pred_shape) or (
        len(y_true_shape) > 0 and y_true_shape[-1] == 1 and y_pred_shape[-1] > 1
    )
    return is_binary, is_sparse


def resolve(identifier, y_true_shape=None, y_pred_shape=None):
    """Turn one entry of ``compile(metrics=[...])`` into a Metric, using the first batch's shapes.

    Follows Keras: ``'accuracy'``/``'acc'`` become BinaryAccuracy when y_pred has one column,
    SparseCategoricalAccuracy when y_true holds class ids (lower rank, or one column against several), and
    CategoricalAccuracy otherwise. A string names the metric (and its log key) exactly as written; objects
    keep ``metric.name``; functions use ``__name__``. Loss objects, and loss strings that are not metric names
    (``'huber'``), are averaged per sample under the loss's name.

    Args:
        identifier: anything :func:`get` accepts, or a loss name or object.
        y_true_shape: shape of a batch of labels.
        y_pred_shape: shape of a batch of predictions.

    Example:
        >>> resolve("acc", (32,), (32, 10))
        SparseCategoricalAccuracy(name='acc')
    """
    if not isinstance(identifier, str):
        return get(identifier)
    key = identifier.lower()
    if key in ("accuracy", "acc"):
        if y_true_shape is None or y_pred_shape is None:
            raise ValueError(
                f"'{identifier}' is resolved from the shapes of y_true and y_pred; pass both to resolve()."
            )
        is_binary, is_sparse = _label_kind(y_true_shape, y_pred_shape)
        cls = BinaryAccuracy if is_binary else SparseCategoricalAccuracy if is_sparse else CategoricalAccuracy
        return cls(name=identifier)
    if key in _LOSS_ONLY:
        raise _loss_only_error(identifier, y_true_shape, y_pred_shape)
    if key in _BY_STRING:
        metric = _from_string(identifier)
        metric.name = identifier
        return metric
    loss = _loss_from_string(identifier)
    if loss is None:
        raise _unknown_metric(identifier)
    return _loss_metric(loss, name=identifier)


def validate(identifier):
    """Raise now for a metric identifier that :func:`resolve` would reject later (typos fail at compile).

    Args:
        identifier: one entry of ``compile(metrics=[...])``.

    Example:
        >>> validate("accuracy")
        >>> validate("acuracy")
        Traceback (most recent call last):
        ...
        ValueError: Unknown metric: 'acuracy'. Did you mean 'accuracy'? Known metrics: ...
    """
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _LOSS_ONLY:
            raise _loss_only_error(identifier)
        if key in ("accuracy", "acc") or key in _BY_STRING or _loss_from_string(identifier) is not None:
            return
        raise _unknown_metric(identifier)
    if isinstance(identifier, dict):
        get(identifier)
        return
    if identifier is None or isinstance(identifier, Metric) or callable(identifier):
        return
    get(identifier)  # raises the TypeError that explains what is accepted


def unique_names(names):
    """Make metric names unique the way Keras does: a repeated name gets ``_1``, ``_2``, ... in order.

    Args:
        names: the names, in compile order.

    Example:
        >>> unique_names(["acc", "auc", "auc", "binary_accuracy", "binary_accuracy"])
        ['acc', 'auc', 'auc_1', 'binary_accuracy', 'binary_accuracy_1']
    """
    taken, result = set(), []
    for name in names:
        candidate, suffix = name, 0
        while candidate in taken:
            suffix += 1
            candidate = f"{name}_{suffix}"
        taken.add(candidate)
        result.append(candidate)
    return result


def serialize(metric):
    """Return ``{"class_name": ..., "config": ...}`` for a metric; :func:`deserialize` reverses it.

    Example:
        >>> serialize(BinaryAccuracy(threshold=0.7))["config"]["threshold"]
        0.7
    """
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config, custom_objects=None):
    """Build a metric from :func:`serialize`'s dict.

    Args:
        config: ``{"class_name": ..., "config": {...}}``.
        custom_objects: ``{name: class}`` for user-defined Metric subclasses.

    Example:
        >>> deserialize({"class_name": "AUC", "config": {"curve": "PR"}}).curve
        'PR'
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"A metric config must be a dict with a 'class_name' key (and optionally 'config'), "
            f"got {config!r}."
        )
    class_name = config["class_name"]
    classes = {cls.__name__: cls for cls in (*_CLASSES, MeanMetricWrapper)}
    classes.update(custom_objects or {})
    cls = classes.get(class_name) or _BY_STRING.get(str(class_name).lower())
    if cls is None:
        raise unknown_name_error("metric class", class_name, classes)
    return cls.from_config(dict(config.get("config") or {}))
