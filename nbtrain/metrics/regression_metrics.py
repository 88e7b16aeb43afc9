"""Regression metrics: errors (MSE, MAE, MAPE, MSLE, log-cosh, RMSE), cosine similarity and R2.

The per-sample formulas are the losses' (:mod:`nbtrain.losses`), computed in float64.
"""

from __future__ import annotations

import warnings

import numpy as np

from nbtrain import losses
from nbtrain.metrics.base import (
    METRIC_FUNCTIONS,
    METRICS,
    Mean,
    MeanMetricWrapper,
    Metric,
    float_pair,
    floats,
    metric_function_of,
    needs_columns,
    two_d_pair,
)
from nbtrain.utils.errors import did_you_mean

# ----------------------------------------------------------------------------------------------------------
# Per-sample functions: the loss functions, computed in float64
# ----------------------------------------------------------------------------------------------------------

mean_squared_error = metric_function_of(losses.mean_squared_error)
mean_absolute_error = metric_function_of(losses.mean_absolute_error)
mean_absolute_percentage_error = metric_function_of(losses.mean_absolute_percentage_error)
mean_squared_logarithmic_error = metric_function_of(losses.mean_squared_logarithmic_error)
log_cosh = metric_function_of(losses.log_cosh)


@METRIC_FUNCTIONS.register()
def cosine_similarity(y_true, y_pred, axis=-1):
    """Per sample cosine of the angle between y_true and y_pred along ``axis`` (+1 is best).

    Note the sign: the *metric* is positive; the loss of the same name (:func:`nbtrain.losses.cosine_similarity`)
    is its negative, and this function negates it.

    Args:
        y_true: target vectors.
        y_pred: predicted vectors.
        axis: the axis holding the vector components.

    Example:
        >>> cosine_similarity([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]).round(6).tolist()
        [0.0, 1.0]
    """
    return -losses.cosine_similarity(y_true, floats(y_pred), axis=axis)


# Keras's short names for the same functions
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
logcosh = log_cosh


# ----------------------------------------------------------------------------------------------------------
# Metric classes
# ----------------------------------------------------------------------------------------------------------


@METRICS.register("mse", name="mean_squared_error")
class MeanSquaredError(MeanMetricWrapper):
    """Running mean of ``mean((y_true - y_pred)**2)`` per sample.

    Example:
        >>> MeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        0.25
    """

    direction = "down"

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


@METRICS.register("mae", name="mean_absolute_error")
class MeanAbsoluteError(MeanMetricWrapper):
    """Running mean of ``mean(|y_true - y_pred|)`` per sample.

    Example:
        >>> MeanAbsoluteError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        0.25
    """

    direction = "down"

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


@METRICS.register("mape", name="mean_absolute_percentage_error")
class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Running mean of the per-sample mean absolute percentage error.

    Example:
        >>> MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 4.0]])
        25.0
    """

    direction = "down"

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


@METRICS.register("msle", name="mean_squared_logarithmic_error")
class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Running mean of the per-sample mean squared logarithmic error.

    Example:
        >>> round(MeanSquaredLogarithmicError()([[0.0]], [[np.e - 1]]), 6)
        1.0
    """

    direction = "down"

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


@METRICS.register("log_cosh", "logcosh", name="log_cosh_error")
class LogCoshError(MeanMetricWrapper):
    """Running mean of ``log(cosh(y_pred - y_true))`` per sample (default name ``logcosh``, as in Keras).

    Example:
        >>> round(LogCoshError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]), 6)
        0.108445
    """

    direction = "down"

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name=name, dtype=dtype)


@METRICS.register("cosine_proximity", name="cosine_similarity")
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


@METRICS.register("rmse", name="root_mean_squared_error")
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
        y_true, y_pred = float_pair(y_true, y_pred)
        super().update_state(np.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))


@METRICS.register(name="r2_score")
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
        y_true, y_pred = two_d_pair(self, y_true, y_pred, "output_dim")
        if needs_columns(self, self.num_outputs, y_pred, self.num_samples == 0, "outputs"):
            self._build(y_pred.shape[-1])
        weights = np.ones(1) if sample_weight is None else floats(sample_weight)
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
