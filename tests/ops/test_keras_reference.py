"""nbtrain.ops against Keras 3's numbers (values, dtypes and JAX gradients) for the cases of
``tests/fixtures/ops_cases.py`` (regenerate with ``tests/fixtures/make_keras_ops_reference.py``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from nbtrain import ops

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES))

from ops_cases import CASES, X

REFERENCE = json.loads((FIXTURES / "keras_ops_reference.json").read_text())["cases"]


def test_the_fixture_covers_every_case():
    assert sorted(REFERENCE) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_keras(name):
    fn, input_names, differentiable = CASES[name]
    expected = REFERENCE[name]
    inputs = [X[n] for n in input_names]
    output = np.asarray(fn(ops, *inputs))
    np.testing.assert_allclose(output, np.array(expected["output"]), rtol=2e-5, atol=2e-6, err_msg=name)
    assert output.dtype.kind == np.dtype(expected["dtype"]).kind, (output.dtype, expected["dtype"])
    if output.dtype.kind == "f":
        assert output.dtype == np.float32, f"{name}: {output.dtype}"
    if differentiable:
        with ops.GradientTape() as tape:
            first = tape.watch(inputs[0])
            tracked_output = fn(ops, first, *inputs[1:])
        upstream = np.random.default_rng(7).standard_normal(output.shape).astype(np.float32)
        grad = tape.gradient(tracked_output, first, output_gradients=upstream)
        np.testing.assert_allclose(grad, np.array(expected["grad"]), rtol=2e-5, atol=2e-6, err_msg=name)
