"""Tests for nbtrain.metrics.confusion_metrics: counts, Precision, Recall and AUC.

Reference values come from section 6 of the Keras API inventory (verified against keras 3.15.1) and from the
Keras docstrings and loss test vectors (section 4.3) for the per-sample formulas.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_classes import check_metric_against_keras, metric_cases_of
from metric_data import BINARY_PRED, BINARY_TRUE, C, MULTI_TRUE, PROBS, rng

from nbtrain import metrics


def test_precision_recall_reference():
    y_true, y_pred = [0, 1, 1, 1], [1, 0, 1, 1]
    assert metrics.Precision()(y_true, y_pred) == pytest.approx(2 / 3)
    assert metrics.Recall()(y_true, y_pred) == pytest.approx(2 / 3)


def test_auc_reference():
    assert metrics.AUC()([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    # Keras docstring: three thresholds, a prediction exactly at 0.5 is not above it
    assert metrics.AUC(num_thresholds=3)([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == pytest.approx(0.75)


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


# ----- the rate-at-rate metrics, AUC(curve="PRGAIN"), thresholds and configs as Keras has them -----------------

@pytest.mark.parametrize("name", metric_cases_of("PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
                                                 "SpecificityAtSensitivity", "AUC"))
def test_matches_keras(name):
    check_metric_against_keras(name)


def test_rate_at_rate_by_hand():
    y_true, y_pred = [0, 0, 0, 1, 1], [0.0, 0.3, 0.8, 0.3, 0.8]
    # thresholds 0, 0.5, 1 (num_thresholds=3), where as in Keras the first counts every prediction (0.0 too)
    # as positive: TP 2 FP 3 TN 0; above 0.5: TP 1 FP 1 TN 2; above 1: nothing (precision 0 by convention)
    assert metrics.PrecisionAtRecall(1.0, num_thresholds=3)(y_true, y_pred) == pytest.approx(0.4)
    assert metrics.RecallAtPrecision(0.5, num_thresholds=3)(y_true, y_pred) == pytest.approx(0.5)
    assert metrics.RecallAtPrecision(0.6, num_thresholds=3)(y_true, y_pred) == 0.0
    assert metrics.SensitivityAtSpecificity(0.6, num_thresholds=3)(y_true, y_pred) == pytest.approx(0.5)
    assert metrics.SpecificityAtSensitivity(0.5, num_thresholds=3)(y_true, y_pred) == pytest.approx(2 / 3)
    assert metrics.SpecificityAtSensitivity(1.0, num_thresholds=3)(y_true, y_pred) == 0.0
    m = metrics.PrecisionAtRecall(0.5, num_thresholds=3)
    assert m.thresholds == [0.0, 0.5, 1.0] and m.recall == 0.5 and m.direction == "up"
    assert metrics.PrecisionAtRecall(0.5, num_thresholds=1).thresholds == [0.5]


def test_rate_at_rate_arguments_are_checked():
    with pytest.raises(ValueError, match=r"recall to be a number in \[0, 1\], got 1.5"):
        metrics.PrecisionAtRecall(1.5)
    with pytest.raises(ValueError, match="num_thresholds to be an integer > 0"):
        metrics.SensitivityAtSpecificity(0.5, num_thresholds=0)
    with pytest.raises(ValueError, match="needs recall"):
        metrics.get("precision_at_recall")


def test_thresholds_are_lists_as_in_keras():
    assert metrics.TruePositives().thresholds == [0.5]
    assert metrics.FalseNegatives(thresholds=[0.2, 0.7]).thresholds == [0.2, 0.7]
    assert metrics.Precision(thresholds=0.3).thresholds == [0.3]
    assert metrics.Recall(top_k=2).thresholds == [metrics.NEG_INF]
    assert type(metrics.Precision().thresholds) is list
    assert metrics.Precision(thresholds=0.3).get_config()["thresholds"] == 0.3
    assert metrics.AUC(thresholds=[0.3, 0.6]).thresholds == pytest.approx([-1e-7, 0.3, 0.6, 1 + 1e-7])


def test_auc_config_matches_keras_exactly():
    assert metrics.AUC().get_config() == {
        "name": "auc", "dtype": "float32", "num_thresholds": 200, "curve": "ROC",
        "summation_method": "interpolation", "multi_label": False, "num_labels": None, "label_weights": None,
        "from_logits": False}
    config = metrics.AUC(thresholds=[0.3, 0.6]).get_config()
    assert config["thresholds"] == [0.3, 0.6] and config["num_thresholds"] == 4
    assert metrics.AUC.from_config(config).thresholds == metrics.AUC(thresholds=[0.3, 0.6]).thresholds
    assert metrics.AUC(curve="prgain").curve == "PRGAIN"


def test_prgain_of_a_perfect_ranking_is_one():
    assert metrics.AUC(curve="PRGAIN")([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(1.0, abs=1e-6)



# keras/src/metrics/confusion_metrics_test.py (v3.15.1)
KERAS_PRED = np.array([0.0, 0.1, 0.2, 0.5, 0.6, 0.2, 0.5, 0.6, 0.8, 0.9], dtype=np.float32)
KERAS_LABELS = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])


def test_keras_rate_at_rate_tests():
    assert metrics.PrecisionAtRecall(0.8)(KERAS_LABELS, KERAS_PRED) == pytest.approx(2 / 3, abs=1e-6)
    assert metrics.PrecisionAtRecall(0.6)(KERAS_LABELS, KERAS_PRED) == pytest.approx(0.75, abs=1e-6)
    one_hot = np.eye(3)[np.where(KERAS_LABELS == 1, 2, 0)]
    assert metrics.PrecisionAtRecall(0.6, class_id=2)(one_hot, np.stack([KERAS_PRED] * 3, axis=1)) == \
        pytest.approx(0.75, abs=1e-6)
    for labels in (KERAS_LABELS.astype(bool), KERAS_LABELS, KERAS_LABELS.astype(np.float32)):
        result = metrics.PrecisionAtRecall(7.0 / 8)(labels, KERAS_PRED, sample_weight=[2, 1, 2, 1, 2, 1, 2, 2, 1, 2])
        assert result == pytest.approx(0.7, abs=1e-6)
    spec_pred = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.1, 0.45, 0.5, 0.8, 0.9], dtype=np.float32)
    assert metrics.SensitivityAtSpecificity(0.8)(KERAS_LABELS, spec_pred) == pytest.approx(0.8, abs=1e-6)
    sens_pred = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.01, 0.02, 0.25, 0.26, 0.26], dtype=np.float32)
    assert metrics.SpecificityAtSensitivity(1.0)(KERAS_LABELS, sens_pred) == pytest.approx(0.2, abs=1e-6)
    result = metrics.SensitivityAtSpecificity(0.4)(KERAS_LABELS, sens_pred, sample_weight=np.arange(1, 11))
    assert result == pytest.approx(0.675, abs=1e-6)
    config = metrics.PrecisionAtRecall(0.4, num_thresholds=100, class_id=12, name="precision_at_recall_1").get_config()
    restored = metrics.PrecisionAtRecall.from_config(config)
    assert (restored.name, restored.recall, restored.num_thresholds, restored.class_id) == \
        ("precision_at_recall_1", 0.4, 100, 12)


@pytest.mark.parametrize("summation_method, expected", [("majoring", 1.0), ("minoring", 0.0),
                                                        ("interpolation", 0.5)])
def test_keras_prgain_tests(summation_method, expected):
    auc = metrics.AUC(num_thresholds=3, curve="PRGAIN", summation_method=summation_method)
    result = auc([0, 0, 1, 1], np.array([0, 0.5, 0.3, 0.9], np.float32), sample_weight=[1, 2, 3, 4])
    assert result == pytest.approx(expected, abs=1e-3)
