"""Tests for nbtrain.metrics.f_score_metrics: F1Score and FBetaScore.

Reference values come from section 6 of the Keras API inventory (verified against keras 3.15.1) and from the
Keras docstrings and loss test vectors (section 4.3) for the per-sample formulas.
"""

from __future__ import annotations

import numpy as np
import pytest

from nbtrain import metrics


def test_f1_reference():
    y_true = [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    y_pred = [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]
    per_class = metrics.F1Score(threshold=0.5)(y_true, y_pred)
    assert isinstance(per_class, np.ndarray)
    np.testing.assert_allclose(per_class, [0.5, 0.8, 2 / 3], atol=1e-5)
    assert metrics.F1Score(average="macro", threshold=0.5)(y_true, y_pred) == pytest.approx(0.65556, abs=1e-5)


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
    fbeta = metrics.FBetaScore(beta=2.0, threshold=0.5)(y_true, y_pred)
    assert fbeta[1] == pytest.approx(5 * (2 / 3) / (4 * 2 / 3 + 1), abs=1e-5)


def test_f1_needs_2d_inputs():
    with pytest.raises(ValueError, match="2-D inputs"):
        metrics.F1Score()(np.zeros((2, 3, 1, 1)), np.zeros((2, 3, 1, 1)))


@pytest.mark.parametrize("arguments, message", [
    ({"beta": 1}, r"beta to be a float > 0, got beta=1 \(int\)\. Write beta=1\.0\."),
    ({"beta": -1.0}, "beta to be a float > 0, got beta=-1.0"),
    ({"threshold": 1}, r"threshold to be a float .* got threshold=1 \(int\)\. Write threshold=1\.0\."),
    ({"threshold": 1.5}, "0 < threshold <= 1"),
])
def test_beta_and_threshold_must_be_floats_as_in_keras(arguments, message):
    with pytest.raises(ValueError, match=message):
        metrics.FBetaScore(**arguments)


def test_f1_threshold_must_be_a_float_too():
    with pytest.raises(ValueError, match="Write threshold=1.0"):
        metrics.F1Score(threshold=1)
    assert metrics.F1Score(threshold=np.float64(0.5)).threshold == 0.5
