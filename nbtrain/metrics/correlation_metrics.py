"""Correlation metrics: Pearson's and the concordance correlation, per sample along ``axis`` (Keras's).

Each is the running mean of a per-sample value: the correlation between one sample's ``y_true`` and
``y_pred`` vectors along ``axis`` (the last by default), so the vectors need several entries (a model output
of one unit gives nan, as in Keras).
"""

from __future__ import annotations

import numpy as np

from nbtrain.losses import EPSILON
from nbtrain.metrics.base import METRIC_FUNCTIONS, METRICS, MeanMetricWrapper, float_pair


@METRIC_FUNCTIONS.register()
def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's correlation of ``y_true`` and ``y_pred`` along ``axis``, one value per sample.

    Args:
        y_true: targets.
        y_pred: predictions.
        axis: the axis the correlation runs along.

    Example:
        >>> pearson_correlation([[1, 2, 3]], [[2, 4, 7]]).round(4)
        array([0.9934])
    """
    y_true, y_pred = float_pair(y_true, y_pred)
    true_centered = y_true - y_true.mean(axis=axis, keepdims=True)
    pred_centered = y_pred - y_pred.mean(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant vector gives nan, as in Keras
        true_centered /= true_centered.std(axis=axis, keepdims=True)
        pred_centered /= pred_centered.std(axis=axis, keepdims=True)
    return np.mean(true_centered * pred_centered, axis=axis)


@METRIC_FUNCTIONS.register()
def concordance_correlation(y_true, y_pred, axis=-1):
    """Keras's concordance correlation of ``y_true`` and ``y_pred`` along ``axis``, one value per sample.

    ``mean(2 (y_true - mean(y_pred)) (y_pred - mean(y_pred))) / (var(y_true) + var(y_pred) + (mean(y_true) -
    mean(y_pred))**2 + 1e-7)``. Keras 3 centres ``y_true`` on the mean of ``y_pred`` in the covariance (Lin's
    coefficient uses the mean of ``y_true``); nbtrain follows Keras so that the numbers agree.

    Args:
        y_true: targets.
        y_pred: predictions.
        axis: the axis the correlation runs along.

    Example:
        >>> concordance_correlation([[1, 2, 3]], [[1, 2, 3]]).round(4)
        array([1.])
    """
    y_true, y_pred = float_pair(y_true, y_pred)
    true_mean = y_true.mean(axis=axis, keepdims=True)
    pred_mean = y_pred.mean(axis=axis, keepdims=True)
    norm = y_true.var(axis=axis, keepdims=True) + y_pred.var(axis=axis, keepdims=True) + (true_mean - pred_mean) ** 2
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    return np.mean(2.0 * covariance / (norm + EPSILON), axis=axis)


@METRICS.register(name="pearson_correlation")
class PearsonCorrelation(MeanMetricWrapper):
    """Running mean of the per-sample Pearson correlation between ``y_true`` and ``y_pred`` along ``axis``.

    Args:
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        axis: the axis the correlation runs along.

    Example:
        >>> round(PearsonCorrelation()([[1, 2, 3], [3, 2, 1]], [[2, 4, 7], [1, 2, 3]]), 4)
        -0.0033
    """

    direction = "up"

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis


@METRICS.register(name="concordance_correlation")
class ConcordanceCorrelation(MeanMetricWrapper):
    """Running mean of the per-sample concordance correlation (see `concordance_correlation`).

    Args:
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        axis: the axis the correlation runs along.

    Example:
        >>> round(ConcordanceCorrelation()([[1, 2, 3]], [[1, 2, 3]]), 4)
        1.0
    """

    direction = "up"

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis
