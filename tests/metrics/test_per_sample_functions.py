"""The per-sample metric functions, which are the loss formulas of nbtrain.losses computed in float64.

Reference values come from section 6 of the Keras API inventory (verified against keras 3.15.1) and from the
Keras docstrings and loss test vectors (section 4.3) for the per-sample formulas.
"""

from __future__ import annotations

import numpy as np
import pytest
from metric_data import (
    CCE_LOGITS,
    CCE_PRED,
    HINGE_PRED,
    HINGE_TRUE,
    KLD_PRED,
    KLD_TRUE,
    POISSON_PRED,
    POISSON_TRUE,
    REG_PRED,
    REG_TRUE,
)

from nbtrain import metrics


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
