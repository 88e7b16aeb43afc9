"""Keras names nbtrain lacks get an explanation and an alternative; typos get the nearest name."""

import pytest

import nbtrain


@pytest.mark.parametrize("module, name, message", [
    (nbtrain.callbacks, "TensorBoard", "CSVLogger"),
    (nbtrain.layers, "MultiHeadAttention", "not implemented yet"),
    (nbtrain.layers, "TextVectorization", "pad_sequences"),
    (nbtrain, "applications", "pretrained"),
    (nbtrain.utils, "plot_model", "summary"),
])
def test_keras_names_nbtrain_lacks_say_what_to_use(module, name, message):
    with pytest.raises(AttributeError, match=f"has no {name} \\(Keras has one; nbtrain does not\\).*{message}"):
        getattr(module, name)


@pytest.mark.parametrize("module, typo, suggestion", [
    (nbtrain.layers, "Dnese", "Dense"),
    (nbtrain.callbacks, "EarlyStoping", "EarlyStopping"),
])
def test_typos_get_the_nearest_name(module, typo, suggestion):
    with pytest.raises(AttributeError, match=f"Did you mean '{suggestion}'"):
        getattr(module, typo)


def test_probing_still_works():
    assert not hasattr(nbtrain.layers, "MultiHeadAttention") and not hasattr(nbtrain.layers, "__wrapped__")
    assert hasattr(nbtrain.layers, "Dense") and callable(nbtrain.plot_history)
