"""Masks travel as in Keras 3 (issue 16): convolutions drop them, merge layers combine them, GroupNormalization
and Embedding(mask_zero=True) support masking. Outputs are compared with Keras's for the same models and
weights (``tests/fixtures/make_keras_mask_reference.py`` wrote them)."""

import json
from pathlib import Path

import numpy as np
import pytest
from fixtures.mask_models import build_cases

import nbtrain
from nbtrain import layers

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "keras_mask_reference.json").read_text())
CASES = build_cases(nbtrain, layers)


@pytest.mark.parametrize("name", sorted(REFERENCE["outputs"]))
def test_the_same_model_and_weights_give_keras_outputs(name):
    model, data = CASES[name]
    np.testing.assert_allclose(model.predict(data, verbose=0), REFERENCE["outputs"][name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer, supports", [
    (layers.Conv1D(2, 2), False), (layers.Conv2D(2, 2), False), (layers.SeparableConv1D(2, 2), False),
    (layers.DepthwiseConv1D(2), False), (layers.Conv1DTranspose(2, 2), False), (layers.MaxPooling1D(), False),
    (layers.Add(), True), (layers.Concatenate(), True), (layers.Dot(axes=1), True),
    (layers.GroupNormalization(groups=1), True), (layers.Embedding(3, 2), False),
    (layers.Embedding(3, 2, mask_zero=True), True), (layers.Dense(2), True),
])
def test_supports_masking_is_keras_3s(layer, supports):
    assert layer.supports_masking is supports


def test_merge_masks_are_ored_and_dropped_when_an_input_has_none():
    a = np.array([[True, False, False]])
    b = np.array([[False, True, False]])
    x = [np.zeros((1, 3, 2))] * 2
    np.testing.assert_array_equal(layers.Add().compute_mask(x, [a, b]), [[True, True, False]])
    assert layers.Add().compute_mask(x, [a, None]) is None
    assert layers.Add().compute_mask(x, None) is None
    with pytest.raises(ValueError, match="one mask per input: 2 inputs but 1 masks"):
        layers.Add().compute_mask(x, [a])


def test_concatenate_joins_masks_along_time_and_ors_them_across_features():
    a = np.array([[True, False]])
    along_time = [np.zeros((1, 2, 3)), np.zeros((1, 2, 3))]
    np.testing.assert_array_equal(layers.Concatenate(axis=1).compute_mask(along_time, [a, None]),
                                  [[True, False, True, True]])
    features = [np.zeros((1, 2, 3)), np.zeros((1, 2, 1))]
    np.testing.assert_array_equal(layers.Concatenate().compute_mask(features, [a, np.array([[False, False]])]),
                                  [[True, False]])
    np.testing.assert_array_equal(layers.Concatenate().compute_mask(features, [a, None]), [[True, True]])
