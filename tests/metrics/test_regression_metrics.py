"""Tests for nbtrain.metrics.regression_metrics: errors, cosine similarity, RMSE and R2.

Reference values come from section 6 of the Keras API inventory (verified against keras 3.15.1) and from the
Keras docstrings and loss test vectors (section 4.3) for the per-sample formulas.
"""

from __future__ import annotations

import numpy as np
import pytest
from metric_data import REG_P, REG_PRED, REG_TRUE, REG_Y

from nbtrain import metrics


def test_regression_reference():
    y_true, y_pred = [[0, 1], [0, 0]], [[1, 1], [0, 0]]
    assert metrics.MeanSquaredError()(y_true, y_pred) == pytest.approx(0.25)
    assert metrics.MeanAbsoluteError()(y_true, y_pred) == pytest.approx(0.25)
    assert metrics.MeanSquaredError()(y_true, y_pred, sample_weight=[1, 0]) == pytest.approx(0.5)
    assert metrics.RootMeanSquaredError()(y_true, y_pred) == pytest.approx(0.5)
    assert metrics.R2Score()([[1], [4], [3]], [[2], [4], [4]]) == pytest.approx(0.571429, abs=1e-6)


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
