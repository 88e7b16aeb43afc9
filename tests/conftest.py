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


class _RecordingLoops:
    """Stands in for a module of compiled loops and records the name of each loop called."""

    def __init__(self, loops, ran):
        self._loops, self._ran = loops, ran

    def __getattr__(self, name):
        loop = getattr(self._loops, name)

        def recorded(*args):
            self._ran.append(name)
            return loop(*args)
        return recorded


@pytest.fixture
def compiled_loops_run(monkeypatch):
    """The names of the compiled loops (nbtrain.utils.compiled) called during the test, in order; the setting is
    back to "auto" afterwards."""
    from nbtrain.utils import compiled

    real, ran = compiled.loops, []

    def recording(module):
        found = real(module)
        return None if found is None else _RecordingLoops(found, ran)

    monkeypatch.setattr(compiled, "loops", recording)
    yield ran
    compiled.set_compiled_loops("auto")
