"""PearsonCorrelation and ConcordanceCorrelation: Keras results and configs, and the functions."""

import numpy as np
import pytest
from keras_classes import check_metric_against_keras, metric_cases_of

from nbtrain import metrics


@pytest.mark.parametrize("name", metric_cases_of("PearsonCorrelation", "ConcordanceCorrelation"))
def test_matches_keras(name):
    check_metric_against_keras(name)


def test_pearson_is_numpys_correlation_per_sample(rng):
    y_true, y_pred = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    expected = [np.corrcoef(t, p)[0, 1] for t, p in zip(y_true, y_pred)]
    np.testing.assert_allclose(metrics.pearson_correlation(y_true, y_pred), expected, rtol=1e-12)
    np.testing.assert_allclose(metrics.PearsonCorrelation()(y_true, y_pred), np.mean(expected), rtol=1e-12)


def test_concordance_is_one_for_identical_vectors_and_penalises_a_shift():
    y = np.array([[1.0, 2.0, 4.0]])
    assert metrics.concordance_correlation(y, y)[0] == pytest.approx(1.0, abs=1e-6)
    variance = np.var(y)
    assert metrics.concordance_correlation(y, y + 1.0)[0] == pytest.approx(2 * variance / (2 * variance + 1.0))


def test_direction_config_and_registry():
    m = metrics.get("pearson_correlation")
    assert type(m) is metrics.PearsonCorrelation and m.direction == "up"
    assert metrics.ConcordanceCorrelation(axis=0).get_config() == {"name": "concordance_correlation",
                                                                   "dtype": "float32", "axis": 0}


# keras/src/metrics/correlation_metrics_test.py (v3.15.1)
KERAS_TRUE = np.array([[0, 1, 0.5], [1, 1, 0.2], [1, 1, 0.1], [0.1, 0.7, 0.0]], dtype=np.float32)
KERAS_PRED = np.array([[0.1, 0.9, 0.5], [1, 0.9, 0.2], [0.2, 0.8, 0], [0.3, 0.3, 0.9]], dtype=np.float32)
KERAS_CCC = np.array([0.97560976, 0.98765432, 0.46511628, -0.46376812])


def test_keras_correlation_tests():
    pearson = [np.corrcoef(t, p)[0, 1] for t, p in zip(KERAS_TRUE.astype(float), KERAS_PRED.astype(float))]
    np.testing.assert_allclose(metrics.pearson_correlation(KERAS_TRUE, KERAS_PRED, axis=-1), pearson, rtol=1e-5)
    np.testing.assert_allclose(metrics.concordance_correlation(KERAS_TRUE, KERAS_PRED, axis=-1), KERAS_CCC,
                               rtol=1e-5)
    for cls, expected in [(metrics.PearsonCorrelation, pearson), (metrics.ConcordanceCorrelation, KERAS_CCC)]:
        m = cls(axis=-1, dtype="float32")
        m.update_state(KERAS_TRUE[:2], KERAS_PRED[:2])
        assert m.result() == pytest.approx(np.mean(expected[:2]), rel=1e-5)
        m.update_state(KERAS_TRUE[2:], KERAS_PRED[2:])
        assert m.result() == pytest.approx(np.mean(expected), rel=1e-5)
