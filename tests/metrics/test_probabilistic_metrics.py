"""Tests for nbtrain.metrics.probabilistic_metrics: crossentropies, KL divergence and Poisson.

Reference values come from section 6 of the Keras API inventory (verified against keras 3.15.1) and from the
Keras docstrings and loss test vectors (section 4.3) for the per-sample formulas.
"""

from __future__ import annotations

import numpy as np
import pytest
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
