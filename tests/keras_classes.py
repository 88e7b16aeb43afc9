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


METRIC_CASES = REFERENCE["metrics"]


def metric_cases_of(*class_names):
    return sorted(name for name, case in METRIC_CASES.items() if case["class_name"] in class_names)


# config keys nbtrain keeps where Keras 3.15 drops them (its config would not rebuild the same metric)
NBTRAIN_EXTRA_CONFIG = {"SparseTopKCategoricalAccuracy": {"from_sorted_ids"}}


def check_metric_against_keras(name, rtol=1e-5, atol=1e-6):
    """Feed the stored batches to nbtrain's metric; compare the result, the config and the thresholds."""
    case = METRIC_CASES[name]
    metric = getattr(nbtrain.metrics, case["class_name"])(**case["arguments"])
    for batch in case["batches"]:
        weights = batch["sample_weight"]
        metric.update_state(np.asarray(batch["y_true"]), np.asarray(batch["y_pred"], dtype=np.float32),
                            sample_weight=None if weights is None else np.asarray(weights))
    np.testing.assert_allclose(metric.result(), case["result"], rtol=rtol, atol=atol, err_msg=name)
    config = metric.get_config()
    extra = NBTRAIN_EXTRA_CONFIG.get(case["class_name"], set())
    compared = {k: v for k, v in config.items() if k not in extra}
    assert compared == case["config"], f"{name}: config {config} != Keras's {case['config']}"
    if case["thresholds"]:
        assert metric.thresholds == pytest.approx(case["thresholds"], abs=1e-12)
    rebuilt = type(metric).from_config(config)
    assert rebuilt.get_config() == config
    return metric
