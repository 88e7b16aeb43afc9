"""Data shared by the metric tests (tests/metrics/): Keras test vectors and seeded random batches.

Reference values come from section 6 of the Keras API inventory (verified against keras 3.15.1) and from the
Keras docstrings and loss test vectors (section 4.3) for the per-sample formulas.
"""

from __future__ import annotations

import numpy as np

# Per-sample formulas (Keras docstrings and the loss test vectors of section 4.3)
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

# Random batches for accumulation, weighting and the curve metrics
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
WEIGHTS = rng.integers(0, 4, size=N).astype(float)


def assert_same_result(a, b):
    """Two metric results (floats or arrays) equal up to float64 rounding."""
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-10, atol=1e-12)
