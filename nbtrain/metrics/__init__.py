"""Metrics: Keras-style stateful metrics, plain per-sample metric functions, and the registry.

A metric accumulates statistics batch by batch with ``update_state(y_true, y_pred, sample_weight)``, reports
them with ``result()`` and starts over with ``reset_state()``. Totals are kept in float64, so an epoch's
value is the same whatever the batch size; results are Python floats (NumPy arrays only for per-class or
per-threshold results, such as ``F1Score(average=None)``).

The package follows ``keras/src/metrics/``, one module per family: ``base`` (Metric, Mean, Sum,
MeanMetricWrapper and the ``METRICS`` registry, where each class registers itself with its Keras names),
``accuracy_metrics``, ``regression_metrics``, ``probabilistic_metrics``, ``hinge_metrics``, ``confusion_metrics``
(TP/FP/TN/FN, Precision, Recall, AUC and the rate-at-rate metrics), ``f_score_metrics``, ``iou_metrics``,
``correlation_metrics`` and ``registry`` (``get``, ``resolve``,
``validate``, ``serialize``, ``deserialize``). The metrics that average a loss
(MeanSquaredError, BinaryCrossentropy, Hinge, ...) use the loss functions of :mod:`nbtrain.losses`,
computed in float64: each formula is written once.

``compile(metrics=[...])`` goes through :func:`validate` (at compile, so typos fail early) and
:func:`resolve` (at the first batch, when the shapes that decide what ``'accuracy'`` means are known).

Example:
    >>> m = BinaryAccuracy()
    >>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    >>> m.result()
    0.75
"""

from nbtrain.losses import EPSILON, squeeze_or_expand_to_same_rank
from nbtrain.metrics.accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from nbtrain.metrics.base import METRIC_FUNCTIONS, METRICS, Mean, MeanMetricWrapper, Metric, Sum
from nbtrain.metrics.confusion_metrics import (
    AUC,
    NEG_INF,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from nbtrain.metrics.correlation_metrics import (
    ConcordanceCorrelation,
    PearsonCorrelation,
    concordance_correlation,
    pearson_correlation,
)
from nbtrain.metrics.f_score_metrics import F1Score, FBetaScore
from nbtrain.metrics.hinge_metrics import CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge
from nbtrain.metrics.iou_metrics import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from nbtrain.metrics.probabilistic_metrics import (
    KLD,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    kld,
    poisson,
    sparse_categorical_crossentropy,
)
from nbtrain.metrics.registry import deserialize, get, resolve, serialize, unique_names, validate
from nbtrain.metrics.regression_metrics import (
    MAE,
    MAPE,
    MSE,
    MSLE,
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
    cosine_similarity,
    log_cosh,
    logcosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
)

__all__ = [
    # base classes
    "Metric",
    "Mean",
    "Sum",
    "MeanMetricWrapper",
    # accuracy
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    # regression
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "RootMeanSquaredError",
    "LogCoshError",
    "CosineSimilarity",
    "R2Score",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "log_cosh",
    "cosine_similarity",
    "mse",
    "MSE",
    "mae",
    "MAE",
    "mape",
    "MAPE",
    "msle",
    "MSLE",
    "logcosh",
    # probabilistic
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "KLDivergence",
    "Poisson",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "kl_divergence",
    "poisson",
    "kld",
    "KLD",
    # hinge
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    # confusion matrix and F-scores
    "TruePositives",
    "FalsePositives",
    "TrueNegatives",
    "FalseNegatives",
    "Precision",
    "Recall",
    "AUC",
    "PrecisionAtRecall",
    "RecallAtPrecision",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "FBetaScore",
    "F1Score",
    # intersection over union
    "IoU",
    "BinaryIoU",
    "MeanIoU",
    "OneHotIoU",
    "OneHotMeanIoU",
    # correlation
    "PearsonCorrelation",
    "ConcordanceCorrelation",
    "pearson_correlation",
    "concordance_correlation",
    # registry
    "METRICS",
    "METRIC_FUNCTIONS",
    "get",
    "resolve",
    "validate",
    "unique_names",
    "serialize",
    "deserialize",
    # constants and helpers
    "EPSILON",
    "NEG_INF",
    "squeeze_or_expand_to_same_rank",
]
