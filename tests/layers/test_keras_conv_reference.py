"""channels_first, grouped convolutions and the 3-D layers against Keras 3.15.1: the same layers, weights and
inputs (``tests/fixtures/conv_cases.py``) give Keras's outputs, output shapes, weight shapes and configuration
(``tests/fixtures/make_keras_conv_reference.py`` wrote them)."""

import json
from pathlib import Path

import numpy as np
import pytest
from fixtures.conv_cases import CASES, build_case, build_channels_first_model

import nbtrain
from nbtrain import layers

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "keras_conv_reference.json").read_text())


def _plain(value):
    return json.loads(json.dumps(value, default=list))


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_matches_keras(name):
    expected = REFERENCE["cases"][name]
    layer, x = build_case(layers, name)
    assert [list(w.shape) for w in layer.get_weights()] == expected["weight_shapes"]
    output = layer(x)
    np.testing.assert_allclose(output, np.asarray(expected["output"]), rtol=1e-5, atol=2e-5)
    assert list(layer.compute_output_shape((None,) + x.shape[1:])) == expected["output_shape"]
    config = _plain(layer.get_config())
    assert {key: config.get(key) for key in expected["config"]} == expected["config"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trip_keeps_the_layout_and_outputs(name):
    layer, x = build_case(layers, name)
    copy = type(layer).from_config(json.loads(json.dumps(layer.get_config(), default=list)))
    copy(x)
    copy.set_weights(layer.get_weights())
    np.testing.assert_array_equal(copy(x), layer(x))


def test_model_built_with_image_data_format_channels_first_matches_keras():
    model, x = build_channels_first_model(nbtrain)
    assert nbtrain.config.image_data_format() == "channels_last"      # restored by the builder
    assert [layer.data_format for layer in model.layers[:3]] == ["channels_first"] * 3
    np.testing.assert_allclose(model.predict(x, verbose=0), REFERENCE["channels_first_model"], rtol=1e-5, atol=2e-5)
