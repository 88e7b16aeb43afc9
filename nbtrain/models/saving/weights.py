"""The state a model trains: every layer's weights and random generators, and the optimizer's state.

``model.weights.json`` lists each layer's weights (name, key, shape, dtype) in Keras order and the state of
its random generators; ``model.weights.npz`` holds the arrays. ``optimizer.json`` and ``optimizer.npz`` hold
the optimizer's ``get_state()`` (``iterations``, the learning rate, slot arrays such as Adam's moments), so
training continues exactly where it stopped.
"""

from __future__ import annotations

import warnings

import numpy as np

from nbtrain.layers.layer import Layer
from nbtrain.models.saving.archive import (OPTIMIZER_ARRAYS, OPTIMIZER_STATE, WEIGHTS_ARRAYS, WEIGHTS_MANIFEST,
                                           Archive, contiguous, invalid_file, json_bytes, json_kind, npz_bytes,
                                           shape_from_json)
from nbtrain.models.saving.config import build_config

# ================================================================================================
# saving
# ================================================================================================


def weights_members(model) -> dict[str, bytes]:
    """The weights manifest and arrays of every layer, as archive members."""
    return state_members(weights_state(model))


def state_members(state) -> dict[str, bytes]:
    """Archive members from :func:`weights_state` or :func:`optimizer_state` (nothing for ``None``)."""
    if state is None:
        return {}
    (json_name, document), (arrays_name, arrays) = state
    return {json_name: json_bytes(document), arrays_name: npz_bytes(arrays)}


def weights_state(model):
    """``((WEIGHTS_MANIFEST, manifest), (WEIGHTS_ARRAYS, arrays))``: copies, detached from the training model."""
    arrays, layers = {}, []
    for index, layer in enumerate(model.layers):
        entries = []
        for weight_name, value in zip(_weight_names(layer), layer.get_weights()):
            key = f"layers/{index}/{layer.name}/{weight_name}"
            arrays[key] = contiguous(value)
            entries.append({"name": weight_name, "key": key, "shape": list(value.shape), "dtype": value.dtype.name})
        layers.append({"name": layer.name, "class_name": type(layer).__name__, "weights": entries,
                       "generators": _generator_states(layer)})
    manifest = {"model_class": type(model).__name__, "model_name": model.name,
                "input_shape": (build_config(model) or {}).get("input_shape"), "layers": layers}
    return (WEIGHTS_MANIFEST, manifest), (WEIGHTS_ARRAYS, arrays)


def _weight_names(layer) -> list[str]:
    names = list(getattr(layer, "_weights", {}) or {})
    count = len(layer.weights)
    return names if len(names) == count else [f"weight_{i}" for i in range(count)]


def _generator_states(layer, prefix="", seen=None) -> dict:
    """The ``bit_generator.state`` of every NumPy generator a layer (or a layer inside it) draws from.

    Saving them lets Dropout, GaussianNoise and recurrent dropout continue their random sequence after a
    reload, so a resumed fit matches an uninterrupted one.
    """
    seen = set() if seen is None else seen
    if id(layer) in seen:
        return {}
    seen.add(id(layer))
    states = {}
    for attribute, value in sorted(vars(layer).items()):
        if isinstance(value, np.random.Generator):
            states[prefix + attribute] = value.bit_generator.state
        elif isinstance(value, Layer):
            states.update(_generator_states(value, f"{prefix}{attribute}.", seen))
    return states


def optimizer_members(model) -> dict[str, bytes]:
    """The optimizer's state and slot arrays as archive members (none for a model without an optimizer)."""
    return state_members(optimizer_state(model))


def optimizer_state(model):
    """``((OPTIMIZER_STATE, state), (OPTIMIZER_ARRAYS, slots))`` as copies, or None without an optimizer."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "get_state"):
        return None
    state = optimizer.get_state()
    slots = state.pop("slots")
    arrays = {f"{i}/{name}": contiguous(array) for i, saved in enumerate(slots)
              for name, array in saved.items()}
    state["slot_names"] = [list(saved) for saved in slots]
    return (OPTIMIZER_STATE, state), (OPTIMIZER_ARRAYS, arrays)


# ================================================================================================
# loading
# ================================================================================================


def restore_weights(model, archive: Archive, skip_mismatch: bool, where: str, restore_optimizer: bool) -> None:
    """Copy the saved weights (and generator states, and optionally optimizer state) into ``model``."""
    manifest = archive.json(WEIGHTS_MANIFEST)
    arrays = archive.arrays(WEIGHTS_ARRAYS)
    saved_layers = _checked_layers(manifest, arrays, where)
    if not getattr(model, "built", False):
        shape = manifest.get("input_shape")
        if shape is None or not hasattr(model, "build"):
            raise ValueError(f"Model '{model.name}' is not built, so weights from {where} cannot be loaded into it. "
                             "Build it first: model.build(input_shape), or give Input(shape=...).")
        model.build(shape_from_json(shape))
    _match_and_set(model, saved_layers, arrays, skip_mismatch, where)
    layers = list(model.layers)
    if len(layers) == len(saved_layers) and all(type(layer).__name__ == saved["class_name"]
                                                for layer, saved in zip(layers, saved_layers)):
        for layer, saved in zip(layers, saved_layers):
            _set_generator_states(layer, saved.get("generators") or {}, where)
    if restore_optimizer:
        restore_optimizer_state(model, archive, where, strict=False)


def _checked_layers(manifest, arrays: dict, where: str) -> list[dict]:
    """The layer records of ``model.weights.json``, checked to be what nbtrain writes and to name saved arrays."""
    layers = manifest.get("layers") if isinstance(manifest, dict) else None
    if not isinstance(layers, list):
        raise invalid_file(where, f"its {WEIGHTS_MANIFEST} has no list of layers")
    for index, saved in enumerate(layers):
        if not (isinstance(saved, dict) and isinstance(saved.get("name"), str)
                and isinstance(saved.get("class_name"), str) and isinstance(saved.get("weights", []), list)
                and isinstance(saved.get("generators") or {}, dict)):
            raise invalid_file(where, f"layer {index} in its {WEIGHTS_MANIFEST} is not a record of a layer's name, "
                                      "class, weights and random generators")
        for entry in saved.get("weights", []):
            key = entry.get("key") if isinstance(entry, dict) else None
            if not (isinstance(key, str) and key in arrays):
                raise invalid_file(where, f"layer '{saved['name']}' in its {WEIGHTS_MANIFEST} names the array "
                                          f"{key!r}, which its {WEIGHTS_ARRAYS} does not hold")
    return layers


def _match_and_set(model, saved_layers, arrays, skip_mismatch: bool, where: str) -> None:
    """Pair the model's layers that have weights with the saved ones, in order, and copy the arrays in."""
    targets = [layer for layer in model.layers if layer.weights]
    sources = [saved for saved in saved_layers if saved.get("weights")]
    if len(targets) != len(sources):
        message = (f"The model '{model.name}' has {len(targets)} layers with weights but {where} holds weights for "
                   f"{len(sources)} layers ({_layer_list(sources)}).")
        if not skip_mismatch:
            raise ValueError(message + " Build the same architecture, or pass skip_mismatch=True to load the layers "
                                       "that match in order and skip the rest.")
        warnings.warn(message + " Loading the layers that match in order (skip_mismatch=True).", stacklevel=4)
    for layer, saved in zip(targets, sources):
        values = [arrays[entry["key"]] for entry in saved["weights"]]
        expected = [tuple(w.shape) for w in layer.weights]
        received = [tuple(v.shape) for v in values]
        if expected != received:
            message = (f"Layer '{layer.name}' ({type(layer).__name__}) has weights of shapes {expected} but {where} "
                       f"holds {received} for layer '{saved['name']}' ({saved['class_name']}).")
            if not skip_mismatch:
                raise ValueError(message + " Pass skip_mismatch=True to skip it.")
            warnings.warn(message + " Skipped (skip_mismatch=True).", stacklevel=4)
            continue
        layer.set_weights(values)


def _layer_list(saved_layers) -> str:
    names = [f"{s['name']} ({s['class_name']})" for s in saved_layers]
    return ", ".join(names) if names else "none"


def _set_generator_states(layer, states: dict, where: str) -> None:
    for path, state in states.items():
        owner = layer
        *parents, attribute = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent, None)
        generator = getattr(owner, attribute, None)
        if not isinstance(generator, np.random.Generator):
            continue
        try:
            generator.bit_generator.state = state
        except (TypeError, ValueError, LookupError, AttributeError, OverflowError) as error:
            warnings.warn(f"Layer '{layer.name}': the random generator state saved in {where} could not be "
                          f"restored ({error}); its random draws will differ from the saved run.", stacklevel=4)


def restore_optimizer_state(model, archive: Archive, where: str, strict: bool) -> None:
    """Put the saved optimizer state into ``model.optimizer`` (warn and skip when it does not fit)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not archive.has(OPTIMIZER_STATE) or not archive.has(OPTIMIZER_ARRAYS):
        return
    state = archive.json(OPTIMIZER_STATE)
    arrays = archive.arrays(OPTIMIZER_ARRAYS)
    if not isinstance(state, dict):
        raise invalid_file(where, f"its {OPTIMIZER_STATE} is {json_kind(state)}, not a JSON object")
    state = dict(state)
    try:
        problem = _optimizer_problem(model, optimizer, state)
        if problem:
            warnings.warn(f"The optimizer state in {where} was not restored: {problem} Training continues with a "
                          "fresh optimizer state.", stacklevel=4)
            return
        state["slots"] = [{name: arrays[f"{i}/{name}"] for name in names}
                          for i, names in enumerate(state.pop("slot_names", []))]
        optimizer.set_state(state)
    except (LookupError, ValueError, TypeError, AttributeError, OverflowError) as error:
        if strict:
            raise invalid_file(where, f"its optimizer state cannot be restored ({type(error).__name__}: "
                                      f"{error})") from error
        warnings.warn(f"The optimizer state in {where} was not restored: {error}", stacklevel=4)


def _optimizer_problem(model, optimizer, state: dict) -> str | None:
    if state.get("class_name") != type(optimizer).__name__:
        return (f"it belongs to a {state.get('class_name')} optimizer but the model is compiled with "
                f"{type(optimizer).__name__}.")
    shapes = state.get("variable_shapes")
    if shapes is None:
        return None
    trainable = [tuple(w.shape) for layer in model.layers for w in layer.params.values()]
    if [tuple(s) for s in shapes] != trainable:
        return ("it was saved for trainable weights of other shapes (was a layer frozen or unfrozen, or the "
                "architecture changed?).")
    return None
