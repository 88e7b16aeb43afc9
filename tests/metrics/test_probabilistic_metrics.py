"""Tests for nbtrain.metrics.probabilistic_metrics: crossentropies, KL divergence and Poisson.

Reference values come from section 6 of the Keras API inventory (verified against keras 3.15.1) and from the
Keras docstrings and loss test vectors (section 4.3) for the per-sample formulas.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_classes import check_metric_against_keras, metric_cases_of
from metric_data import CCE_LOGITS, CCE_PRED

from nbtrain import metrics


def test_binary_crossentropy_reference():
    y_true, y_pred = [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]
    assert metrics.BinaryCrossentropy()(y_true, y_pred) == pytest.approx(0.814924, abs=1e-6)


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


def test_sparse_labels_out_of_range_are_explained():
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        metrics.SparseCategoricalCrossentropy()([0, 3], CCE_PRED[:2])


@pytest.mark.parametrize("name", metric_cases_of("SparseCategoricalCrossentropy"))
def test_sparse_categorical_crossentropy_ignore_class_matches_keras_with_weights(name):
    check_metric_against_keras(name)


def test_ignored_labels_are_left_out_of_the_mean():
    y_true = np.array([0, 1, 2, 1])
    y_pred = np.array([[0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.1, 0.1, 0.8], [0.2, 0.2, 0.6]])
    m = metrics.SparseCategoricalCrossentropy(ignore_class=1)
    # Keras 3.15 gives (0.3567 + 0.2231) / 4 here (it applies the mask only with sample weights);
    # nbtrain averages over the two valid labels, as the loss and as Keras with weights do
    assert m(y_true, y_pred) == pytest.approx((-np.log(0.7) - np.log(0.8)) / 2, rel=1e-6)
    m.reset_state()
    m.update_state(y_true[:, None], y_pred, sample_weight=[1.0, 2.0, 3.0, 4.0])
    assert m.result() == pytest.approx((-np.log(0.7) - 3 * np.log(0.8)) / 4, rel=1e-6)
    assert m.get_config() == {"name": "sparse_categorical_crossentropy", "dtype": "float32", "from_logits": False,
                              "ignore_class": 1, "axis": -1}
    with pytest.raises(ValueError, match="ignore_class must be an integer"):
        metrics.SparseCategoricalCrossentropy(ignore_class=0.5)

