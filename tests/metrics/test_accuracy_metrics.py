"""Tests for nbtrain.metrics.accuracy_metrics: Keras reference values of the accuracy metrics.

Reference values come from section 6 of the Keras API inventory (verified against keras 3.15.1) and from the
Keras docstrings and loss test vectors (section 4.3) for the per-sample formulas.
"""

from __future__ import annotations

import pytest
from keras_classes import check_metric_against_keras, metric_cases_of

from nbtrain import metrics


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


def test_binary_accuracy_function_keeps_element_shape_like_keras3():
    assert metrics.binary_accuracy([[1], [0]], [[0.7], [0.5]]).shape == (2, 1)
    assert metrics.categorical_accuracy([[0, 1]], [[0.2, 0.8]]).shape == (1,)


@pytest.mark.parametrize("name", metric_cases_of("TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy"))
def test_top_k_matches_keras(name):
    check_metric_against_keras(name)


def test_top_k_exposes_k_as_keras_does():
    assert metrics.TopKCategoricalAccuracy().k == 5
    assert metrics.TopKCategoricalAccuracy(k=2).k == 2
    m = metrics.SparseTopKCategoricalAccuracy(k=3, from_sorted_ids=True)
    assert m.k == 3 and m.from_sorted_ids is True

