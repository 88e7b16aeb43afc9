"""Keras outputs for the classes issue 16 added, stored by tests/fixtures/make_keras_classes_reference.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nbtrain

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "keras_classes_reference.json").read_text())
CASES = REFERENCE["optimizers"]


def cases_of(class_name):
    return sorted(name for name, case in CASES.items() if case["class_name"] == class_name)


def check_against_keras(name, rtol=2e-5, atol=2e-6):
    """Run the stored gradients through nbtrain's optimizer and compare every variable after every step."""
    case = CASES[name]
    optimizer = getattr(nbtrain.optimizers, case["class_name"])(**case["config"])
    variables = [np.array(w, dtype=np.float32) for w in case["initial"]]
    for step, (grads, expected) in enumerate(zip(case["grads"], case["after"]), start=1):
        optimizer.apply([np.array(g, dtype=np.float32) for g in grads], variables)
        for i, (got, want) in enumerate(zip(variables, expected)):
            np.testing.assert_allclose(got, np.asarray(want, dtype=np.float32), rtol=rtol, atol=atol,
                                       err_msg=f"{name}: variable {i} (shape {got.shape}) after step {step}")
    ours = optimizer.get_config()
    assert set(ours) == set(case["keras_config"]), f"{name}: config keys differ from Keras's"
    for key, value in case["keras_config"].items():
        if key == "name":  # Keras numbers its optimizers (lamb_1) in the order they were made
            continue
        # Keras reports its float32 learning-rate variable (0.05000000074505806 for 0.05)
        same = ours[key] == pytest.approx(value, rel=1e-7) if isinstance(value, float) else ours[key] == value
        assert same, f"{name}: config[{key!r}] is {ours[key]!r}, Keras has {value!r}"
