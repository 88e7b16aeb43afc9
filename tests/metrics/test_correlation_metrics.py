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
