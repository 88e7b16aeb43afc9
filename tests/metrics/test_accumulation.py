"""Accumulation, reset and weights, for every built-in metric: batches add up to one call."""

from __future__ import annotations

import numpy as np
import pytest
from metric_data import (
    BINARY_PRED,
    BINARY_TRUE,
    LABEL_IDS,
    MULTI_TRUE,
    N,
    ONE_HOT,
    POS_P,
    POS_Y,
    PROBS,
    REG_P,
    REG_Y,
    WEIGHTS,
    assert_same_result,
)

from nbtrain import metrics


CASES = {
    "accuracy": (metrics.Accuracy, LABEL_IDS[:, None] % 2, (BINARY_PRED > 0.5).astype(float)),
    "binary_accuracy": (metrics.BinaryAccuracy, BINARY_TRUE, BINARY_PRED),
    "categorical_accuracy": (metrics.CategoricalAccuracy, ONE_HOT, PROBS),
    "sparse_categorical_accuracy": (metrics.SparseCategoricalAccuracy, LABEL_IDS, PROBS),
    "top_k": (lambda: metrics.TopKCategoricalAccuracy(k=2), ONE_HOT, PROBS),
    "sparse_top_k": (lambda: metrics.SparseTopKCategoricalAccuracy(k=2), LABEL_IDS[:, None], PROBS),
    "precision": (metrics.Precision, BINARY_TRUE, BINARY_PRED),
    "recall": (metrics.Recall, BINARY_TRUE, BINARY_PRED),
    "precision_thresholds": (lambda: metrics.Precision(thresholds=[0.2, 0.5, 0.8]), BINARY_TRUE, BINARY_PRED),
    "precision_top_k": (lambda: metrics.Precision(top_k=2), ONE_HOT, PROBS),
    "recall_class_id": (lambda: metrics.Recall(class_id=1), ONE_HOT, PROBS),
    "auc": (metrics.AUC, BINARY_TRUE, BINARY_PRED),
    "auc_pr": (lambda: metrics.AUC(curve="PR"), BINARY_TRUE, BINARY_PRED),
    "auc_thresholds": (lambda: metrics.AUC(thresholds=[0.1, 0.3, 0.7]), BINARY_TRUE, BINARY_PRED),
    "auc_multi_label": (lambda: metrics.AUC(multi_label=True), MULTI_TRUE, PROBS),
    "true_positives": (metrics.TruePositives, BINARY_TRUE, BINARY_PRED),
    "true_negatives": (metrics.TrueNegatives, BINARY_TRUE, BINARY_PRED),
    "false_positives": (metrics.FalsePositives, BINARY_TRUE, BINARY_PRED),
    "false_negatives": (lambda: metrics.FalseNegatives(thresholds=[0.3, 0.6]), BINARY_TRUE, BINARY_PRED),
    "f1_none": (lambda: metrics.F1Score(threshold=0.3), MULTI_TRUE, PROBS),
    "f1_micro": (lambda: metrics.F1Score(average="micro"), ONE_HOT, PROBS),
    "f1_macro": (lambda: metrics.F1Score(average="macro", threshold=0.25), MULTI_TRUE, PROBS),
    "fbeta_weighted": (lambda: metrics.FBetaScore(average="weighted", beta=2.0), ONE_HOT, PROBS),
    "mse": (metrics.MeanSquaredError, REG_Y, REG_P),
    "mae": (metrics.MeanAbsoluteError, REG_Y, REG_P),
    "mape": (metrics.MeanAbsolutePercentageError, REG_Y, REG_P),
    "msle": (metrics.MeanSquaredLogarithmicError, POS_Y, POS_P),
    "rmse": (metrics.RootMeanSquaredError, REG_Y, REG_P),
    "logcosh": (metrics.LogCoshError, REG_Y, REG_P),
    "cosine": (metrics.CosineSimilarity, REG_Y, REG_P),
    "r2": (metrics.R2Score, REG_Y, REG_P),
    "r2_per_output": (lambda: metrics.R2Score(class_aggregation=None), REG_Y, REG_P),
    "r2_variance_weighted": (
        lambda: metrics.R2Score(class_aggregation="variance_weighted_average"),
        REG_Y,
        REG_P,
    ),
    "bce": (metrics.BinaryCrossentropy, BINARY_TRUE, BINARY_PRED),
    "bce_logits": (
        lambda: metrics.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        BINARY_TRUE,
        REG_P[:, :1],
    ),
    "cce": (metrics.CategoricalCrossentropy, ONE_HOT, PROBS),
    "scce": (metrics.SparseCategoricalCrossentropy, LABEL_IDS, PROBS),
    "kld": (metrics.KLDivergence, ONE_HOT, PROBS),
    "poisson": (metrics.Poisson, POS_Y, POS_P),
    "hinge": (metrics.Hinge, BINARY_TRUE, REG_P[:, :1]),
    "squared_hinge": (metrics.SquaredHinge, BINARY_TRUE, REG_P[:, :1]),
    "categorical_hinge": (metrics.CategoricalHinge, ONE_HOT, PROBS),
}
SPLITS = [0, 5, 13, N]


def _batches(*arrays):
    for start, stop in zip(SPLITS[:-1], SPLITS[1:]):
        yield tuple(None if a is None else a[start:stop] for a in arrays)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("weighted", [False, True])
def test_batches_accumulate_like_one_call(case, weighted):
    factory, y_true, y_pred = CASES[case]
    weights = WEIGHTS if weighted else None
    in_batches = factory()
    for t, p, w in _batches(y_true, y_pred, weights):
        in_batches.update_state(t, p, sample_weight=w)
    at_once = factory()
    at_once.update_state(y_true, y_pred, sample_weight=weights)
    assert_same_result(in_batches.result(), at_once.result())


@pytest.mark.parametrize("case", sorted(CASES))
def test_integer_weights_equal_repeated_samples(case):
    factory, y_true, y_pred = CASES[case]
    weighted = factory()
    weighted.update_state(y_true, y_pred, sample_weight=WEIGHTS)
    repeats = WEIGHTS.astype(int)
    repeated = factory()
    repeated.update_state(np.repeat(y_true, repeats, axis=0), np.repeat(y_pred, repeats, axis=0))
    assert_same_result(weighted.result(), repeated.result())


@pytest.mark.parametrize("case", sorted(CASES))
def test_reset_state_forgets_everything(case):
    factory, y_true, y_pred = CASES[case]
    metric = factory()
    metric.update_state(y_true[:7], y_pred[:7])
    metric.reset_state()
    metric.update_state(y_true[7:], y_pred[7:])
    fresh = factory()
    fresh.update_state(y_true[7:], y_pred[7:])
    assert_same_result(metric.result(), fresh.result())


@pytest.mark.parametrize("case", sorted(CASES))
def test_results_are_python_floats_and_float32_inputs_work(case):
    factory, y_true, y_pred = CASES[case]
    metric = factory()
    labels = y_true.astype(np.float32) if y_true.dtype.kind == "f" else y_true
    result = metric(labels, y_pred.astype(np.float32))
    if isinstance(result, np.ndarray):
        assert result.dtype == np.float64
    else:
        assert type(result) is float
    np.testing.assert_allclose(result, factory()(y_true, y_pred), rtol=1e-5, atol=1e-6)
