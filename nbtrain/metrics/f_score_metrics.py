"""F-scores: FBetaScore and F1Score, from true positives, false positives and false negatives per class."""

from __future__ import annotations

import numpy as np

from nbtrain.losses import EPSILON
from nbtrain.metrics.base import METRICS, Metric, floats, needs_columns, two_d_pair
from nbtrain.utils.errors import did_you_mean


@METRICS.register("fbeta_score", name="f_beta_score")
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
        # Keras takes only Python floats here (an int such as beta=1 is a ValueError there too)
        if not isinstance(beta, (float, np.floating)) or not beta > 0:
            raise ValueError(
                f"{type(self).__name__} expects beta to be a float > 0, got beta={beta!r} "
                f"({type(beta).__name__}).{_float_hint('beta', beta)}"
            )
        if threshold is not None and not (isinstance(threshold, (float, np.floating)) and 0 < threshold <= 1):
            raise ValueError(
                f"{type(self).__name__} expects threshold to be a float with 0 < threshold <= 1 (or None for the "
                f"row maximum), got threshold={threshold!r} ({type(threshold).__name__})."
                f"{_float_hint('threshold', threshold)}"
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
        y_true, y_pred = two_d_pair(self, y_true, y_pred, "num_classes")
        if needs_columns(self, self.num_classes, y_pred, not self._seen, "classes"):
            self._build(y_pred.shape[-1])
        if self.threshold is None:
            # the row maximum is positive, but an all-zero row must not become all positive
            predicted = (y_pred >= np.max(y_pred, axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(np.float64)
        weights = np.ones((1, 1)) if sample_weight is None else floats(sample_weight).reshape(-1, 1)
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


@METRICS.register(name="f1_score")
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


def _float_hint(argument, value):
    """For an int where Keras wants a float: the float to write instead."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f" Write {argument}={float(value)!r}."
    return ""
