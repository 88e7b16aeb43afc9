"""Confusion-matrix metrics: TP/FP/TN/FN counts at thresholds, Precision, Recall and AUC.

A prediction is positive when ``y_pred > threshold`` (strictly, as in Keras). Counts are weighted by
``sample_weight`` and kept in float64.
"""

from __future__ import annotations

import numpy as np

from nbtrain import activations
from nbtrain.losses import EPSILON, squeeze_or_expand_to_same_rank
from nbtrain.metrics.base import METRICS, Metric, divide_no_nan, floats
from nbtrain.utils.checks import positive_int
from nbtrain.utils.errors import did_you_mean

# What top_k filtering writes into the predictions it drops (Keras ``metrics_utils.NEG_INF``).
NEG_INF = -1e10

# ----------------------------------------------------------------------------------------------------------
# Counting at thresholds
# ----------------------------------------------------------------------------------------------------------


def _parse_thresholds(thresholds, default):
    if thresholds is None:
        return np.array([default], dtype=np.float64)
    values = np.atleast_1d(floats(thresholds)).ravel()
    invalid = [float(t) for t in values if not 0.0 <= t <= 1.0]
    if invalid:
        raise ValueError(f"Threshold values must be in [0, 1], got {invalid}.")
    return values


def _threshold_list(thresholds, default):
    """Keras's ``metric.thresholds``: a list of Python floats (the default in a list when None was given)."""
    return [float(t) for t in _parse_thresholds(thresholds, default)]


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
    y_pred, y_true = squeeze_or_expand_to_same_rank(floats(y_pred), floats(y_true))
    weights = None
    if sample_weight is not None:
        weights = floats(sample_weight)[..., None]
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
        self.thresholds = _threshold_list(thresholds, 0.5)
        self._threshold_array = np.array(self.thresholds)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.accumulator = np.zeros(len(self.thresholds))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's count at every threshold."""
        positive, y_pred, weights = _prepare_confusion_inputs(y_true, y_pred, sample_weight)
        tp, fp, tn, fn = _confusion_counts(positive, y_pred, weights, self._threshold_array)
        self.accumulator += {"tp": tp, "fp": fp, "tn": tn, "fn": fn}[self._cell]

    def result(self):
        return float(self.accumulator[0]) if len(self.thresholds) == 1 else self.accumulator.copy()

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


@METRICS.register(name="true_positives")
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


@METRICS.register(name="false_positives")
class FalsePositives(_ConfusionMatrixCount):
    """Weighted number of false positives (label 0, ``y_pred > threshold``); no ``direction``.

    Example:
        >>> FalsePositives()([0, 1, 0, 0], [0, 0, 1, 1])
        2.0
    """

    _cell = "fp"

    def __init__(self, thresholds=None, name="false_positives", dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)


@METRICS.register(name="true_negatives")
class TrueNegatives(_ConfusionMatrixCount):
    """Weighted number of true negatives (label 0, ``y_pred <= threshold``); no ``direction``.

    Example:
        >>> TrueNegatives()([0, 1, 0, 0], [1, 1, 0, 0])
        2.0
    """

    _cell = "tn"

    def __init__(self, thresholds=None, name="true_negatives", dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)


@METRICS.register(name="false_negatives")
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
        self.top_k = None if top_k is None else positive_int(top_k, "top_k", type(self).__name__)
        self.class_id = class_id
        # with top_k every kept score counts as positive unless a threshold is given
        self.thresholds = _threshold_list(thresholds, 0.5 if top_k is None else NEG_INF)
        self._threshold_array = np.array(self.thresholds)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.true_positives = np.zeros(len(self.thresholds))
        self.false_positives = np.zeros(len(self.thresholds))
        self.false_negatives = np.zeros(len(self.thresholds))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's true positives, false positives and false negatives at every threshold."""
        inputs = _prepare_confusion_inputs(y_true, y_pred, sample_weight, self.top_k, self.class_id)
        tp, fp, _, fn = _confusion_counts(*inputs, self._threshold_array)
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


@METRICS.register(name="precision")
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
        return self._finish(divide_no_nan(self.true_positives, self.true_positives + self.false_positives))


@METRICS.register(name="recall")
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
        return self._finish(divide_no_nan(self.true_positives, self.true_positives + self.false_negatives))


@METRICS.register(name="auc")
class AUC(Metric):
    """Area under the ROC or precision-recall curve, approximated on a grid of thresholds (Keras's method).

    Args:
        num_thresholds: number of evenly spaced thresholds (more is finer); at least 2.
        curve: ``"ROC"``, ``"PR"``, or ``"PRGAIN"`` (the precision-recall-gain curve of Flach & Kull, 2015:
            precision and recall rescaled so that a classifier always predicting positive scores 0).
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
        self.curve = _choice("curve", curve, ("ROC", "PR", "PRGAIN"), upper=True)
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
        self.label_weights = None if label_weights is None else floats(label_weights)
        self.from_logits = from_logits
        super().__init__(name=name, dtype=dtype)

    @property
    def thresholds(self):
        """The thresholds the curve is evaluated at, including the two just outside [0, 1]."""
        return [float(t) for t in self._thresholds]

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
        y_pred = floats(y_pred)
        if self.from_logits:
            y_pred = activations.sigmoid(y_pred)
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
        return float(divide_no_nan(np.sum(per_label * self.label_weights), np.sum(self.label_weights)))

    def _riemann_auc(self):
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:
            x, y = self._precision_recall_gains()
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return np.sum((x[:-1] - x[1:]) * heights, axis=0)

    def _precision_recall_gains(self):
        """(recall gain, precision gain): ``1 - (positives / negatives) * FN / TP`` and the same with FP; where
        no positive is predicted, recall gain 0 and precision gain 1 (Keras's conventions)."""
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        scale = divide_no_nan(tp + fn, tn + fp)
        none_found = tp == 0
        recall_gain = np.where(none_found, 0.0, 1.0 - scale * divide_no_nan(fn, tp))
        precision_gain = np.where(none_found, 1.0, 1.0 - scale * divide_no_nan(fp, tp))
        return np.maximum(recall_gain, 0.0), precision_gain

    def _interpolated_pr_auc(self):
        """PR AUC interpolating true positives linearly in the number of positive predictions.

        Davis & Goadrich (2006): between two thresholds precision is not linear, but TP is (in P = TP + FP),
        which gives a closed-form integral with a log term.
        """
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        d_tp = tp[:-1] - tp[1:]
        p = tp + fp
        d_p = p[:-1] - p[1:]
        slope = divide_no_nan(d_tp, np.maximum(d_p, 0.0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both_positive, divide_no_nan(p[:-1], np.maximum(p[1:], 0.0)), 1.0)
        with np.errstate(divide="ignore"):
            log_ratio = np.log(np.where(ratio > 0, ratio, 1.0))
        increments = divide_no_nan(slope * (d_tp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0.0))
        return np.sum(increments, axis=0)

    def get_config(self):
        label_weights = None if self.label_weights is None else self.label_weights.tolist()
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": label_weights,
            "from_logits": self.from_logits,
        }
        if self.init_thresholds is not None:  # Keras writes the key only for explicit thresholds
            config["thresholds"] = self.thresholds[1:-1]
        return config


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
# The best value of one rate while another rate stays above a floor
# ----------------------------------------------------------------------------------------------------------


class _RateAtRate(Metric):
    """Confusion counts on ``num_thresholds`` evenly spaced thresholds in [0, 1] (0.5 alone when 1); the result
    is the largest ``_target`` rate over the thresholds whose ``_constraint`` rate is at least ``value``."""

    direction = "up"
    _argument = None  # the constructor argument holding the floor, e.g. "recall"

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        owner = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 <= value <= 1:
            raise ValueError(f"{owner} expects {self._argument} to be a number in [0, 1], got {value!r}.")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)) or num_thresholds <= 0:
            raise ValueError(f"{owner} expects num_thresholds to be an integer > 0, got {num_thresholds!r}.")
        self.value = value
        self.num_thresholds = int(num_thresholds)
        self.class_id = class_id
        if self.num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            inner = [(i + 1) / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
            self.thresholds = [0.0, *inner, 1.0]
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        size = len(self.thresholds)
        self.true_positives = np.zeros(size)
        self.false_positives = np.zeros(size)
        self.true_negatives = np.zeros(size)
        self.false_negatives = np.zeros(size)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's confusion counts at every threshold."""
        inputs = _prepare_confusion_inputs(y_true, y_pred, sample_weight, class_id=self.class_id)
        if self.num_thresholds == 1:
            counts = _confusion_counts(*inputs, np.array(self.thresholds))
        else:
            # Keras's evenly-spaced shortcut: the end thresholds behave as -epsilon and 1 + epsilon
            counts = _bucketed_confusion_counts(*inputs, self.num_thresholds)
        for total, count in zip((self.true_positives, self.false_positives, self.true_negatives,
                                 self.false_negatives), counts):
            total += count

    def _rates(self):
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        return {"recall": divide_no_nan(tp, tp + fn), "precision": divide_no_nan(tp, tp + fp),
                "specificity": divide_no_nan(tn, tn + fp)}

    def result(self):
        rates = self._rates()
        feasible = rates[self._constraint] >= self.value
        return float(np.max(np.where(feasible, rates[self._target], 0.0), initial=0.0))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._argument: self.value}


@METRICS.register(name="sensitivity_at_specificity")
class SensitivityAtSpecificity(_RateAtRate):
    """The best sensitivity (recall) over the thresholds where specificity ``TN / (TN + FP)`` is at least
    ``specificity``.

    Args:
        specificity: the floor, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] to try (1: only 0.5).
        class_id: compute the metric for this class (column) only.
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> SensitivityAtSpecificity(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        0.5
    """

    _argument, _target, _constraint = "specificity", "recall", "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name="sensitivity_at_specificity",
                 dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    @property
    def specificity(self):
        return self.value


@METRICS.register(name="specificity_at_sensitivity")
class SpecificityAtSensitivity(_RateAtRate):
    """The best specificity over the thresholds where sensitivity (recall) is at least ``sensitivity``.

    Args:
        sensitivity: the floor, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] to try (1: only 0.5).
        class_id: compute the metric for this class (column) only.
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> round(SpecificityAtSensitivity(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]), 4)
        0.6667
    """

    _argument, _target, _constraint = "sensitivity", "specificity", "recall"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name="specificity_at_sensitivity",
                 dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    @property
    def sensitivity(self):
        return self.value


@METRICS.register(name="precision_at_recall")
class PrecisionAtRecall(_RateAtRate):
    """The best precision over the thresholds where recall is at least ``recall``.

    Args:
        recall: the floor, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] to try (1: only 0.5).
        class_id: compute the metric for this class (column) only.
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> PrecisionAtRecall(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        0.5
    """

    _argument, _target, _constraint = "recall", "precision", "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name="precision_at_recall", dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    @property
    def recall(self):
        return self.value


@METRICS.register(name="recall_at_precision")
class RecallAtPrecision(_RateAtRate):
    """The best recall over the thresholds where precision is at least ``precision``.

    Args:
        precision: the floor, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] to try (1: only 0.5).
        class_id: compute the metric for this class (column) only.
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> RecallAtPrecision(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        1.0
    """

    _argument, _target, _constraint = "precision", "recall", "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name="recall_at_precision", dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    @property
    def precision(self):
        return self.value
