"""Shared fixtures: a seeded generator and small, fixed data sets."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

# tests/gradcheck.py is a helper module shared by the test files.
sys.path.insert(0, str(Path(__file__).parent))

import nbtrain  # noqa: E402

# The scripts that made the Keras reference fixtures need Keras and run by hand; --doctest-modules (pyproject.toml)
# must not import them.
collect_ignore_glob = ["fixtures/make_*.py"]


@pytest.fixture(autouse=True)
def _fresh_session():
    """Every test starts with the same seed and fresh layer names (dense, dense_1, ...)."""
    nbtrain.utils.clear_session()
    nbtrain.utils.set_random_seed(1234)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
