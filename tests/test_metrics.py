"""Tests for nbtrain.metrics: Keras reference values, accumulation, weighting, resolution and the registry.

Reference values come from section 6 of the Keras API inventory (verified against keras 3.15.1) and from the
Keras docstrings and loss test vectors (section 4.3) for the per-sample formulas.
"""

from __future__ import annotations

import numpy as np
import pytest

from nbtrain import metrics

# ------------------------------------------------------------------------------------------------------------
# Reference values (section 6)
# ------------------------------------------------------------------------------------------------------------


def test_binary_accuracy_reference():
    y_true, y_pred = [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]
    assert metrics.BinaryAccuracy()(y_true, y_pred) == pytest.approx(0.75)
    weighted = metrics.BinaryAccuracy()(y_true, y_pred, sample_weight=[1, 0, 0, 1])
    assert weighted == pytest.approx(0.5)


def test_binary_accuracy_threshold_is_strict():
    assert metrics.BinaryAccuracy()([[0], [1]], [[0.5], [0.5]]) == pytest.approx(0.5)
    assert metrics.BinaryAccuracy(threshold=0.3)([[1]], [[0.4]]) == 1.0


def test_categorical_and_sparse_accuracy_reference():
    y_pred = [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
    assert metrics.CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], y_pred) == pytest.approx(0.5)
    sparse_pred = [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]
    assert metrics.SparseCategoricalAccuracy()([[2], [1]], sparse_pred) == pytest.approx(0.5)
    assert metrics.SparseCategoricalAccuracy()([2, 1], sparse_pred) == pytest.approx(0.5)


def test_top_k_reference():
    y_pred = [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
    assert metrics.TopKCategoricalAccuracy(k=1)([[0, 0, 1], [0, 1, 0]], y_pred) == pytest.approx(0.5)
    assert metrics.SparseTopKCategoricalAccuracy(k=1)([2, 1], y_pred) == pytest.approx(0.5)
    assert metrics.TopKCategoricalAccuracy(k=2)([[0, 0, 1], [0, 1, 0]], y_pred) == 1.0
    assert metrics.SparseTopKCategoricalAccuracy(k=2)([[2], [1]], y_pred) == 1.0


def test_top_k_ties_count_as_hits():
    # Keras/JAX in_top_k: the label is a hit unless k classes score strictly higher
    assert metrics.top_k_categorical_accuracy([[0, 0, 1]], [[0.5, 0.2, 0.5]], k=1).tolist() == [1.0]


def test_sparse_top_k_from_sorted_ids():
    m = metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True)
    assert m([3, 1], [[3, 0, 2], [2, 0, 1]]) == pytest.approx(0.5)


def test_precision_recall_reference():
    y_true, y_pred = [0, 1, 1, 1], [1, 0, 1, 1]
    assert metrics.Precision()(y_true, y_pred) == pytest.approx(2 / 3)
    assert metrics.Recall()(y_true, y_pred) == pytest.approx(2 / 3)


def test_auc_reference():
    assert metrics.AUC()([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    # Keras docstring: three thresholds, a prediction exactly at 0.5 is not above it
    assert metrics.AUC(num_thresholds=3)([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == pytest.approx(0.75)


def test_f1_reference():
    y_true = [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    y_pred = [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]
    per_class = metrics.F1Score(threshold=0.5)(y_true, y_pred)
    assert isinstance(per_class, np.ndarray)
    np.testing.assert_allclose(per_class, [0.5, 0.8, 2 / 3], atol=1e-5)
    assert metrics.F1Score(average="macro", threshold=0.5)(y_true, y_pred) == pytest.approx(0.65556, abs=1e-5)


def test_regression_reference():
    y_true, y_pred = [[0, 1], [0, 0]], [[1, 1], [0, 0]]
    assert metrics.MeanSquaredError()(y_true, y_pred) == pytest.approx(0.25)
    assert metrics.MeanAbsoluteError()(y_true, y_pred) == pytest.approx(0.25)
    assert metrics.MeanSquaredError()(y_true, y_pred, sample_weight=[1, 0]) == pytest.approx(0.5)
    assert metrics.RootMeanSquaredError()(y_true, y_pred) == pytest.approx(0.5)
    assert metrics.R2Score()([[1], [4], [3]], [[2], [4], [4]]) == pytest.approx(0.571429, abs=1e-6)


def test_binary_crossentropy_reference():
    y_true, y_pred = [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]
    assert metrics.BinaryCrossentropy()(y_true, y_pred) == pytest.approx(0.814924, abs=1e-6)


def test_mean_accumulates_weighted_values():
    m = metrics.Mean()
    m.update_state([1, 3, 5, 7])
    assert m.result() == pytest.approx(4.0)
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == pytest.approx(20 / 6)


def test_sum():
    m = metrics.Sum()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == 4.0


def test_mean_with_scalar_weight_is_one_weighted_value_per_call():
    # the training loop's loss tracker: update_state(batch_mean, sample_weight=batch_size)
    m = metrics.Mean(name="loss")
    m.update_state(2.0, sample_weight=3)
    m.update_state(4.0, sample_weight=1)
    assert m.result() == pytest.approx(2.5)


# ------------------------------------------------------------------------------------------------------------
# Per-sample formulas (Keras docstrings and the loss test vectors of section 4.3)
# ------------------------------------------------------------------------------------------------------------

REG_TRUE = [[1, 9, 2], [-5, -2, 6]]
REG_PRED = [[4, 8, 12], [8, 1, 3]]
HINGE_TRUE = [[0, 1], [0, 0]]
HINGE_PRED = [[0.6, 0.4], [0.4, 0.6]]
KLD_TRUE = np.array([0.5, 0.8, 0.12, 0.7, 0.43, 0.8]).reshape(2, 3)
KLD_PRED = np.array([0.4, 0.9, 0.12, 0.36, 0.3, 0.4]).reshape(2, 3)
POISSON_TRUE = np.array([4, 8, 12, 8, 1, 3]).reshape(2, 3)
POISSON_PRED = np.array([1, 9, 2, 5, 2, 6]).reshape(2, 3)
CCE_PRED = [[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]]
CCE_LOGITS = [[8.0, 1, 1], [0, 9, 1], [2, 3, 5]]


@pytest.mark.parametrize(
    "function, y_true, y_pred, kwargs, expected",
    [
        (metrics.mean_squared_error, REG_TRUE, REG_PRED, {}, [110 / 3, 187 / 3]),
        (metrics.mean_absolute_error, REG_TRUE, REG_PRED, {}, [14 / 3, 19 / 3]),
        (metrics.mean_absolute_percentage_error, REG_TRUE, REG_PRED, {}, None),
        (metrics.log_cosh, REG_TRUE, REG_PRED, {}, [4.016654, 5.641836]),
        (metrics.cosine_similarity, REG_TRUE, REG_PRED, {}, [0.720488, -0.346050]),
        (metrics.hinge, HINGE_TRUE, HINGE_PRED, {}, [1.1, 1.5]),
        (metrics.squared_hinge, HINGE_TRUE, HINGE_PRED, {}, [1.46, 2.26]),
        (metrics.categorical_hinge, HINGE_TRUE, HINGE_PRED, {}, [1.2, 1.6]),
        (metrics.kl_divergence, KLD_TRUE, KLD_PRED, {}, [0.0173454, 1.1748023]),
        (metrics.poisson, POISSON_TRUE, POISSON_PRED, {}, [-4.6318545, -1.9813098]),
        (metrics.binary_crossentropy, HINGE_TRUE, HINGE_PRED, {}, [0.916291, 0.713558]),
        (metrics.categorical_crossentropy, np.eye(3), CCE_PRED, {}, [0.10536, 0.80467, 0.06188]),
        (
            metrics.categorical_crossentropy,
            np.eye(3),
            CCE_LOGITS,
            {"from_logits": True},
            [0.001822, 0.000459, 0.169846],
        ),
        (metrics.sparse_categorical_crossentropy, [0, 1, 2], CCE_PRED, {}, [0.10536, 0.80467, 0.06188]),
        (
            metrics.sparse_categorical_crossentropy,
            [[0], [1], [2]],
            CCE_LOGITS,
            {"from_logits": True},
            [0.001822, 0.000459, 0.169846],
        ),
        (
            metrics.binary_crossentropy,
            [[1, 0, 1], [0, 1, 1]],
            [[10.0, -10, 10], [10, 10, -10]],
            {"from_logits": True},
            [0.0, 6.666695],
        ),
    ],
)
def test_per_sample_functions(function, y_true, y_pred, kwargs, expected):
    values = function(y_true, y_pred, **kwargs)
    assert values.shape == (np.shape(y_pred)[0],)
    if expected is None:  # MAPE: only the mean is a published value
        assert values.mean() == pytest.approx(211.8518, abs=1e-3)
    else:
        np.testing.assert_allclose(values, expected, atol=1e-4)


@pytest.mark.parametrize(
    "metric, expected",
    [
        (metrics.MeanSquaredError(), 49.5),
        (metrics.MeanAbsoluteError(), 5.5),
        (metrics.MeanAbsolutePercentageError(), 211.8518),
        (metrics.MeanSquaredLogarithmicError(), 1.4370),
    ],
)
def test_regression_metrics_on_loss_vectors(metric, expected):
    assert metric(REG_TRUE, REG_PRED) == pytest.approx(expected, abs=1e-3)


def test_logcosh_and_cosine_docstring_values():
    y_true, y_pred = [[0, 1], [0, 0]], [[1, 1], [0, 0]]
    assert metrics.LogCoshError()(y_true, y_pred) == pytest.approx(0.10844523, abs=1e-6)
    assert metrics.LogCoshError()(y_true, y_pred, sample_weight=[1, 0]) == pytest.approx(0.21689045, abs=1e-6)
    cos_true, cos_pred = [[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]
    assert metrics.CosineSimilarity(axis=1)(cos_true, cos_pred) == pytest.approx(0.5, abs=1e-6)
    weighted = metrics.CosineSimilarity(axis=1)(cos_true, cos_pred, sample_weight=[0.3, 0.7])
    assert weighted == pytest.approx(0.7, abs=1e-6)


def test_crossentropy_options():
    smoothing = {"from_logits": True, "label_smoothing": 0.1}
    smoothed = metrics.binary_crossentropy([[1, 0, 1]], [[10.0, -10, -10]], **smoothing)
    assert smoothed.tolist() == pytest.approx([3.5], abs=1e-4)
    cce = metrics.categorical_crossentropy([[1, 0, 0]], [[100.0, -100, -100]], **smoothing)
    assert cce.tolist() == pytest.approx([400 * 0.1 / 3], abs=1e-4)
    # clipping at float32's 1 - 1e-7, as Keras: one saturated wrong term costs 15.942
    clipped = metrics.BinaryCrossentropy()([[1, 0], [1, 0]], [[1, 1], [1, 0]])
    assert clipped == pytest.approx(3.98559, abs=1e-4)
    from_logits = metrics.CategoricalCrossentropy(from_logits=True)(np.eye(3), CCE_LOGITS)
    assert from_logits == pytest.approx(0.0573, abs=1e-4)
    assert metrics.SparseCategoricalCrossentropy()([0, 1, 2], CCE_PRED) == pytest.approx(0.3239, abs=1e-4)


def test_binary_accuracy_function_keeps_element_shape_like_keras3():
    assert metrics.binary_accuracy([[1], [0]], [[0.7], [0.5]]).shape == (2, 1)
    assert metrics.categorical_accuracy([[0, 1]], [[0.2, 0.8]]).shape == (1,)


def test_sparse_labels_out_of_range_are_explained():
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        metrics.SparseCategoricalCrossentropy()([0, 3], CCE_PRED[:2])


# ------------------------------------------------------------------------------------------------------------
# Accumulation, reset and weights, for every built-in
# ------------------------------------------------------------------------------------------------------------

rng = np.random.default_rng(0)
N, C = 24, 4
PROBS = rng.dirichlet(np.ones(C), size=N)
LABEL_IDS = rng.integers(0, C, size=N)
ONE_HOT = np.eye(C)[LABEL_IDS]
BINARY_TRUE = rng.integers(0, 2, size=(N, 1)).astype(float)
BINARY_PRED = rng.uniform(size=(N, 1))
REG_Y = rng.normal(size=(N, 3))
REG_P = REG_Y + rng.normal(scale=0.5, size=(N, 3))
POS_Y = rng.uniform(0.1, 3, size=(N, 3))
POS_P = rng.uniform(0.1, 3, size=(N, 3))
MULTI_TRUE = rng.integers(0, 2, size=(N, C)).astype(float)

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
    "fbeta_weighted": (lambda: metrics.FBetaScore(average="weighted", beta=2), ONE_HOT, PROBS),
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
WEIGHTS = rng.integers(0, 4, size=N).astype(float)
SPLITS = [0, 5, 13, N]


def _batches(*arrays):
    for start, stop in zip(SPLITS[:-1], SPLITS[1:]):
        yield tuple(None if a is None else a[start:stop] for a in arrays)


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-10, atol=1e-12)


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
    _close(in_batches.result(), at_once.result())


@pytest.mark.parametrize("case", sorted(CASES))
def test_integer_weights_equal_repeated_samples(case):
    factory, y_true, y_pred = CASES[case]
    weighted = factory()
    weighted.update_state(y_true, y_pred, sample_weight=WEIGHTS)
    repeats = WEIGHTS.astype(int)
    repeated = factory()
    repeated.update_state(np.repeat(y_true, repeats, axis=0), np.repeat(y_pred, repeats, axis=0))
    _close(weighted.result(), repeated.result())


@pytest.mark.parametrize("case", sorted(CASES))
def test_reset_state_forgets_everything(case):
    factory, y_true, y_pred = CASES[case]
    metric = factory()
    metric.update_state(y_true[:7], y_pred[:7])
    metric.reset_state()
    metric.update_state(y_true[7:], y_pred[7:])
    fresh = factory()
    fresh.update_state(y_true[7:], y_pred[7:])
    _close(metric.result(), fresh.result())


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


def test_call_is_update_then_result():
    m = metrics.BinaryAccuracy()
    assert m([[1], [0]], [[0.9], [0.9]]) == 0.5
    assert m([[1], [0]], [[0.9], [0.1]]) == 0.75  # accumulates across calls
    assert m.result() == 0.75


def test_empty_metrics_report_zero():
    assert metrics.Mean().result() == 0.0
    assert metrics.Precision().result() == 0.0
    assert metrics.AUC().result() == 0.0
    assert metrics.R2Score().result() == 0.0


def test_trailing_one_is_reconciled():
    assert metrics.MeanSquaredError()([1.0, 2.0], [[1.0], [4.0]]) == pytest.approx(2.0)
    assert metrics.BinaryAccuracy()([1, 0], [[0.9], [0.2]]) == 1.0
    assert metrics.Precision()([[1], [0]], [0.9, 0.7]) == 0.5


def test_mean_metric_wrapper_weights_per_timestep():
    # values (batch, time) with weights (batch, time): Keras averages both over time per sample
    m = metrics.MeanMetricWrapper(lambda t, p: np.abs(np.subtract(t, p)), name="err")
    m.update_state(np.zeros((2, 3)), [[1, 2, 3], [4, 5, 6]], sample_weight=[[1, 1, 0], [0, 0, 2]])
    assert m.result() == pytest.approx((1 + 2 + 12) / 3 / ((2 + 2) / 3))


def test_confusion_counts():
    y_true, y_pred = [0, 1, 1, 1, 0], [0.6, 0.2, 0.7, 0.5, 0.1]
    assert metrics.TruePositives()(y_true, y_pred) == 1.0
    assert metrics.FalseNegatives()(y_true, y_pred) == 2.0  # 0.5 is not above 0.5
    assert metrics.FalsePositives()(y_true, y_pred) == 1.0
    assert metrics.TrueNegatives()(y_true, y_pred) == 1.0
    counts = metrics.TruePositives(thresholds=[0.0, 0.45, 0.9])(y_true, y_pred)
    np.testing.assert_array_equal(counts, [3, 2, 0])


def test_precision_top_k_and_class_id():
    y_true, y_pred = [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
    assert metrics.Precision(top_k=1)(y_true, y_pred) == 0.5
    assert metrics.Precision(top_k=2)(y_true, y_pred) == 0.5  # every kept score counts without a threshold
    assert metrics.Precision(top_k=2, thresholds=0.5)(y_true, y_pred) == pytest.approx(2 / 3)
    assert metrics.Recall(class_id=2)(y_true, y_pred) == 1.0
    assert metrics.Precision(class_id=1)(y_true, y_pred) == 0.5
    np.testing.assert_allclose(metrics.Precision(thresholds=[0.5, 0.85])(y_true, y_pred), [2 / 3, 0.5])


def _mann_whitney_auc(y_true, scores):
    positive, negative = scores[y_true == 1], scores[y_true == 0]
    greater = (positive[:, None] > negative[None, :]).mean()
    ties = (positive[:, None] == negative[None, :]).mean()
    return greater + 0.5 * ties


def test_auc_converges_to_exact_roc_auc():
    y_true = rng.integers(0, 2, size=400)
    scores = np.clip(0.3 * y_true + rng.uniform(size=400) * 0.8, 0, 1)
    exact = _mann_whitney_auc(y_true, scores)
    assert metrics.AUC(num_thresholds=20001)(y_true, scores) == pytest.approx(exact, abs=1e-3)


def test_auc_pr_interpolation_matches_numeric_integral():
    y_true, y_pred = np.array([0, 0, 1, 1, 1, 0, 1]), np.array([0.1, 0.4, 0.35, 0.8, 0.62, 0.7, 0.2])
    m = metrics.AUC(curve="PR", num_thresholds=11)
    m.update_state(y_true, y_pred)
    # integrate precision d(recall) with TP linear in P = TP + FP between neighbouring thresholds
    tp, fp, fn = m.true_positives, m.false_positives, m.false_negatives
    area = 0.0
    for i in range(len(tp) - 1):
        p0, p1 = tp[i] + fp[i], tp[i + 1] + fp[i + 1]
        if p0 == p1:
            continue
        s = np.linspace(0.0, 1.0, 20001)
        tps, ps = tp[i + 1] + s * (tp[i] - tp[i + 1]), p1 + s * (p0 - p1)
        recall = tps / (tp[i + 1] + fn[i + 1])
        # where nothing is predicted positive, precision is the limit along the segment: its slope
        slope = (tp[i] - tp[i + 1]) / (p0 - p1)
        precision = np.where(ps > 0, tps / np.where(ps > 0, ps, 1.0), slope)
        area += np.sum(0.5 * (precision[1:] + precision[:-1]) * np.diff(recall))
    assert m.result() == pytest.approx(area, abs=1e-6)


def test_auc_from_logits_and_multi_label():
    y_true, probs = BINARY_TRUE, BINARY_PRED
    logits = np.log(probs / (1 - probs))
    from_logits = metrics.AUC(from_logits=True)(y_true, logits)
    assert from_logits == pytest.approx(metrics.AUC()(y_true, probs), abs=1e-12)
    per_label = [metrics.AUC()(MULTI_TRUE[:, j], PROBS[:, j]) for j in range(C)]
    assert metrics.AUC(multi_label=True)(MULTI_TRUE, PROBS) == pytest.approx(np.mean(per_label))
    weights = [1.0, 2.0, 0.0, 1.0]
    expected = np.dot(per_label, weights) / np.sum(weights)
    assert metrics.AUC(multi_label=True, label_weights=weights)(MULTI_TRUE, PROBS) == pytest.approx(expected)


def test_auc_majoring_minoring_bracket_interpolation():
    args = ([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.5, 0.45])
    low = metrics.AUC(num_thresholds=5, summation_method="minoring")(*args)
    mid = metrics.AUC(num_thresholds=5)(*args)
    high = metrics.AUC(num_thresholds=5, summation_method="majoring")(*args)
    assert low <= mid <= high and low < high


def test_f1_variants():
    y_true = [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    y_pred = [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]
    # threshold None: each row's maximum (ties included) is the positive class
    np.testing.assert_allclose(metrics.F1Score()(y_true, y_pred), [0.0, 0.5, 2 / 3], atol=1e-5)
    # micro pools the counts: tp 4, fp 2, fn 2
    assert metrics.F1Score(average="micro", threshold=0.5)(y_true, y_pred) == pytest.approx(8 / 12, abs=1e-5)
    support = np.array([3, 2, 1]) / 6
    weighted = metrics.F1Score(average="weighted", threshold=0.5)(y_true, y_pred)
    assert weighted == pytest.approx(np.dot([0.5, 0.8, 2 / 3], support), abs=1e-5)
    # beta = 2 on class 1: precision 2/3, recall 1
    fbeta = metrics.FBetaScore(beta=2, threshold=0.5)(y_true, y_pred)
    assert fbeta[1] == pytest.approx(5 * (2 / 3) / (4 * 2 / 3 + 1), abs=1e-5)


def test_f1_needs_2d_inputs():
    with pytest.raises(ValueError, match="2-D inputs"):
        metrics.F1Score()(np.zeros((2, 3, 1, 1)), np.zeros((2, 3, 1, 1)))


def test_r2_matches_formula_and_adjusted():
    residual = np.sum((REG_Y - REG_P) ** 2, axis=0)
    total = np.sum((REG_Y - REG_Y.mean(axis=0)) ** 2, axis=0)
    per_output = 1 - residual / total
    np.testing.assert_allclose(metrics.R2Score(class_aggregation=None)(REG_Y, REG_P), per_output)
    assert metrics.R2Score()(REG_Y, REG_P) == pytest.approx(per_output.mean())
    n, p = REG_Y.size, 2  # Keras counts elements as samples
    adjusted = 1 - (1 - per_output.mean()) * (n - 1) / (n - p - 1)
    assert metrics.R2Score(num_regressors=p)(REG_Y, REG_P) == pytest.approx(adjusted)


def test_rmse_is_root_of_running_mean_not_mean_of_roots():
    m = metrics.RootMeanSquaredError()
    m.update_state([[0.0]], [[3.0]])
    m.update_state([[0.0], [0.0], [0.0]], [[1.0], [1.0], [1.0]])
    assert m.result() == pytest.approx(np.sqrt((9 + 3) / 4))


# ------------------------------------------------------------------------------------------------------------
# Directions, configs, reprs
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metric, direction",
    [
        (metrics.BinaryAccuracy(), "up"),
        (metrics.SparseTopKCategoricalAccuracy(), "up"),
        (metrics.AUC(), "up"),
        (metrics.Precision(), "up"),
        (metrics.F1Score(), "up"),
        (metrics.R2Score(), "up"),
        (metrics.CosineSimilarity(), "up"),
        (metrics.MeanSquaredError(), "down"),
        (metrics.RootMeanSquaredError(), "down"),
        (metrics.LogCoshError(), "down"),
        (metrics.CategoricalCrossentropy(), "down"),
        (metrics.KLDivergence(), "down"),
        (metrics.SquaredHinge(), "down"),
        (metrics.TruePositives(), None),
        (metrics.FalseNegatives(), None),
        (metrics.Mean(), None),
    ],
)
def test_direction(metric, direction):
    assert metric.direction == direction


@pytest.mark.parametrize(
    "metric",
    [
        metrics.BinaryAccuracy(threshold=0.7, name="acc_70"),
        metrics.TopKCategoricalAccuracy(k=3),
        metrics.Precision(thresholds=[0.3, 0.6], class_id=1),
        metrics.AUC(curve="PR", num_thresholds=50, from_logits=True),
        metrics.AUC(thresholds=[0.2, 0.5]),
        metrics.F1Score(average="macro", threshold=0.4),
        metrics.FBetaScore(beta=0.5),
        metrics.R2Score(class_aggregation=None, num_regressors=1),
        metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
        metrics.MeanMetricWrapper(metrics.mean_squared_error, name="wrapped"),
    ],
)
def test_config_round_trip(metric):
    rebuilt = metrics.deserialize(metrics.serialize(metric))
    assert type(rebuilt) is type(metric)
    assert rebuilt.get_config() == metric.get_config()
    assert metrics.get(metrics.serialize(metric)).get_config() == metric.get_config()
    _close(rebuilt(ONE_HOT, PROBS), metric(ONE_HOT, PROBS))


def test_repr_is_short_and_shows_non_defaults():
    assert repr(metrics.BinaryAccuracy()) == "BinaryAccuracy(name='binary_accuracy')"
    assert repr(metrics.AUC(curve="PR")) == "AUC(name='auc', curve='PR')"
    assert repr(metrics.resolve("acc", (8, 1), (8, 1))) == "BinaryAccuracy(name='acc')"


def test_invalid_arguments_are_explained():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        metrics.BinaryAccuracy(threshold=1.5)
    with pytest.raises(ValueError, match="average"):
        metrics.F1Score(average="mcro")
    with pytest.raises(ValueError, match=r"Did you mean 'PR'"):
        metrics.AUC(curve="PRR")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 2.0])
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)


# ------------------------------------------------------------------------------------------------------------
# Resolution (section 3), registry, naming
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "y_true_shape, y_pred_shape, expected",
    [
        ((8, 1), (8, 1), metrics.BinaryAccuracy),
        ((8,), (8, 1), metrics.BinaryAccuracy),
        ((8, 3), (8, 3), metrics.CategoricalAccuracy),
        ((8,), (8, 3), metrics.SparseCategoricalAccuracy),
        ((8, 1), (8, 3), metrics.SparseCategoricalAccuracy),
        ((8, 5, 1), (8, 5, 3), metrics.SparseCategoricalAccuracy),
        ((8, 5), (8, 5, 3), metrics.SparseCategoricalAccuracy),
        ((8,), (8,), metrics.BinaryAccuracy),
    ],
)
@pytest.mark.parametrize("name", ["accuracy", "acc", "Accuracy", "ACC"])
def test_accuracy_resolves_by_shapes(y_true_shape, y_pred_shape, expected, name):
    metric = metrics.resolve(name, y_true_shape, y_pred_shape)
    assert type(metric) is expected
    assert metric.name == name


def test_resolved_names_are_as_passed():
    assert metrics.resolve("mse", (8, 1), (8, 1)).name == "mse"
    assert type(metrics.resolve("mse", (8, 1), (8, 1))) is metrics.MeanSquaredError
    assert metrics.resolve("MAE", (8, 1), (8, 1)).name == "MAE"
    assert metrics.resolve("auc", (8, 1), (8, 1)).name == "auc"
    assert metrics.resolve("binary_accuracy", (8, 1), (8, 1)).name == "binary_accuracy"
    auc = metrics.AUC(name="my_auc")
    assert metrics.resolve(auc, (8, 1), (8, 1)) is auc
    assert metrics.resolve(metrics.AUC, (8, 1), (8, 1)).name == "auc"
    from_function = metrics.resolve(metrics.mean_absolute_error, (8, 1), (8, 1))
    assert type(from_function) is metrics.MeanAbsoluteError and from_function.name == "mean_absolute_error"
    assert metrics.resolve(metrics.mae, (8, 1), (8, 1)).name == "mean_absolute_error"


@pytest.mark.parametrize(
    "name, cls",
    [
        ("mse", metrics.MeanSquaredError),
        ("MSE", metrics.MeanSquaredError),
        ("mean_squared_error", metrics.MeanSquaredError),
        ("MeanSquaredError", metrics.MeanSquaredError),
        ("mae", metrics.MeanAbsoluteError),
        ("mape", metrics.MeanAbsolutePercentageError),
        ("msle", metrics.MeanSquaredLogarithmicError),
        ("bce", metrics.BinaryCrossentropy),
        ("acc", metrics.Accuracy),
        ("accuracy", metrics.Accuracy),
        ("cosine_proximity", metrics.CosineSimilarity),
        ("cosine_similarity", metrics.CosineSimilarity),
        ("auc", metrics.AUC),
        ("AUC", metrics.AUC),
        ("precision", metrics.Precision),
        ("recall", metrics.Recall),
        ("f1_score", metrics.F1Score),
        ("fbeta_score", metrics.FBetaScore),
        ("r2_score", metrics.R2Score),
        ("root_mean_squared_error", metrics.RootMeanSquaredError),
        ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
        ("sparse_top_k_categorical_accuracy", metrics.SparseTopKCategoricalAccuracy),
        ("logcosh", metrics.LogCoshError),
        ("kl_divergence", metrics.KLDivergence),
        ("true_positives", metrics.TruePositives),
        ("categorical_hinge", metrics.CategoricalHinge),
    ],
)
def test_get_strings(name, cls):
    metric = metrics.get(name)
    assert type(metric) is cls
    metrics.validate(name)


def test_get_other_identifiers():
    assert metrics.get(None) is None
    instance = metrics.Recall()
    assert metrics.get(instance) is instance
    assert type(metrics.get(metrics.Recall)) is metrics.Recall
    assert metrics.get("AUC").name == "auc"  # a class name keeps the default name
    assert type(metrics.get(metrics.binary_accuracy)) is metrics.BinaryAccuracy
    from_config = metrics.get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.3}})
    assert type(from_config) is metrics.BinaryAccuracy and from_config.get_config()["threshold"] == 0.3
    with pytest.raises(TypeError, match="Could not interpret metric identifier"):
        metrics.get(42)


def test_unknown_names_suggest_the_nearest():
    with pytest.raises(ValueError, match=r"Unknown metric: 'acuracy'\. Did you mean 'accuracy'\?"):
        metrics.validate("acuracy")
    with pytest.raises(ValueError, match=r"Did you mean 'precision'\?"):
        metrics.resolve("precison", (8, 1), (8, 1))
    with pytest.raises(ValueError, match=r"Did you mean 'mean_squared_error'\?"):
        metrics.get("mean_squared_eror")
    with pytest.raises(ValueError, match="Known metrics: 'acc', 'accuracy', 'auc'"):
        metrics.get("nothing_like_it")


@pytest.mark.parametrize("name", ["crossentropy", "ce", "CE"])
def test_crossentropy_shortcut_is_loss_only(name):
    with pytest.raises(ValueError, match="not a metric"):
        metrics.validate(name)
    with pytest.raises(ValueError, match="'sparse_categorical_crossentropy'"):
        metrics.resolve(name, (8,), (8, 10))
    with pytest.raises(ValueError, match="'binary_crossentropy'"):
        metrics.resolve(name, (8, 1), (8, 1))


def test_unique_names_follow_keras():
    names = ["acc", "mse", "auc", "precision", "auc"]
    names += ["binary_accuracy", "binary_accuracy", "mean_absolute_error"]
    assert metrics.unique_names(names) == [
        "acc",
        "mse",
        "auc",
        "precision",
        "auc_1",
        "binary_accuracy",
        "binary_accuracy_1",
        "mean_absolute_error",
    ]
    assert metrics.unique_names(["x", "x", "x"]) == ["x", "x_1", "x_2"]
    assert metrics.unique_names(["x_1", "x", "x"]) == ["x_1", "x", "x_2"]


def test_keras_example_resolves_to_the_logged_keys():
    y_true_shape, y_pred_shape = (8, 1), (8, 1)
    identifiers = [
        "acc",
        "mse",
        metrics.AUC(),
        metrics.Precision(),
        metrics.AUC(),
        metrics.BinaryAccuracy(),
        "binary_accuracy",
        metrics.mean_absolute_error,
    ]
    for identifier in identifiers:
        metrics.validate(identifier)
    resolved = [metrics.resolve(i, y_true_shape, y_pred_shape) for i in identifiers]
    keys = metrics.unique_names([m.name for m in resolved])
    assert sorted(keys + ["loss"]) == [
        "acc",
        "auc",
        "auc_1",
        "binary_accuracy",
        "binary_accuracy_1",
        "loss",
        "mean_absolute_error",
        "mse",
        "precision",
    ]


# ------------------------------------------------------------------------------------------------------------
# Functions and losses as metrics
# ------------------------------------------------------------------------------------------------------------


def max_abs_error(y_true, y_pred):
    return np.max(np.abs(np.subtract(y_true, y_pred)), axis=-1)


def test_function_as_metric():
    metrics.validate(max_abs_error)
    metric = metrics.resolve(max_abs_error, (2, 2), (2, 2))
    assert isinstance(metric, metrics.MeanMetricWrapper)
    assert metric.name == "max_abs_error"
    assert metric.direction is None
    assert metric([[0, 1], [0, 0]], [[1, 1], [0, 0.5]]) == pytest.approx(0.75)
    metric.reset_state()
    assert metric([[0, 1], [0, 0]], [[1, 1], [0, 0.5]], sample_weight=[0, 2]) == pytest.approx(0.5)


def test_scalar_function_as_metric_counts_one_value_per_batch():
    def batch_max(y_true, y_pred):
        return np.max(y_pred)

    metric = metrics.resolve(batch_max, (2, 1), (2, 1))
    metric.update_state([[0], [0]], [[1.0], [3.0]])
    metric.update_state([[0]], [[1.0]])
    assert metric.result() == pytest.approx(2.0)
    metric.reset_state()
    metric.update_state([[0], [0]], [[1.0], [3.0]], sample_weight=[1, 1])
    assert metric.result() == pytest.approx(3.0)


def _losses_module():
    """nbtrain.losses, or None while it does not exist (then the loss-as-metric tests are skipped)."""
    try:
        from nbtrain import losses

        return losses
    except ImportError:  # pragma: no cover - only while losses.py is being written
        return None


def test_loss_object_as_metric():
    losses = _losses_module()
    if losses is None:  # pragma: no cover
        pytest.skip("nbtrain.losses is not available")
    y_true = np.array([[1, 0, 1], [1, 0, 0]], dtype=float)
    y_pred = np.array([[0.9, 0.2, 0.2], [0.8, 0.4, 0.6]])
    loss = losses.Huber()
    metrics.validate(loss)
    metric = metrics.resolve(loss, y_true.shape, y_pred.shape)
    assert isinstance(metric, metrics.MeanMetricWrapper)
    assert metric.name == loss.name
    assert metric.direction == "down"
    assert metric(y_true, y_pred) == pytest.approx(0.104167, abs=1e-5)
    metric.reset_state()
    assert metric(y_true, y_pred, sample_weight=[1.2, 3.4]) == pytest.approx(
        (0.115 * 1.2 + 0.093333 * 3.4) / 4.6, abs=1e-5
    )


def test_loss_string_that_is_no_metric_name_becomes_a_loss_metric():
    losses = _losses_module()
    if losses is None:  # pragma: no cover
        pytest.skip("nbtrain.losses is not available")
    metrics.validate("huber")
    metric = metrics.resolve("huber", (2, 3), (2, 3))
    assert metric.name == "huber"
    assert metric.direction == "down"
    y_true = [[1, 0, 1], [1, 0, 0]]
    y_pred = [[0.9, 0.2, 0.2], [0.8, 0.4, 0.6]]
    assert metric(y_true, y_pred) == pytest.approx(0.104167, abs=1e-5)


def test_sparse_loss_object_as_metric_matches_the_metric_class():
    losses = _losses_module()
    if losses is None:  # pragma: no cover
        pytest.skip("nbtrain.losses is not available")
    metric = metrics.resolve(losses.SparseCategoricalCrossentropy(), LABEL_IDS.shape, PROBS.shape)
    expected = metrics.SparseCategoricalCrossentropy()(LABEL_IDS, PROBS)
    assert metric(LABEL_IDS, PROBS.astype(np.float32)) == pytest.approx(expected, rel=1e-5)


def test_custom_loss_subclass_as_metric():
    losses = _losses_module()
    if losses is None:  # pragma: no cover
        pytest.skip("nbtrain.losses is not available")

    class MeanFourthPower(losses.Loss):
        def call(self, y_true, y_pred):
            return np.mean((y_pred - y_true) ** 4, axis=-1)

    metric = metrics.resolve(MeanFourthPower(), (2, 2), (2, 2))
    assert metric.name == "mean_fourth_power"
    assert metric([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 2.0]]) == pytest.approx((0.5 + 8.0) / 2)


def test_loss_function_as_metric():
    losses = _losses_module()
    if losses is None:  # pragma: no cover
        pytest.skip("nbtrain.losses is not available")
    metric = metrics.resolve(losses.mean_squared_error, (2, 2), (2, 2))
    assert type(metric) is metrics.MeanSquaredError and metric.name == "mean_squared_error"
    huber = metrics.resolve(losses.huber, (2, 3), (2, 3))
    assert huber.name == "huber" and huber.direction == "down"
    y_true = [[1, 0, 1], [1, 0, 0]]
    assert huber(y_true, [[0.9, 0.2, 0.2], [0.8, 0.4, 0.6]]) == pytest.approx(0.104167, abs=1e-5)
