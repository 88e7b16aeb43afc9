"""Layers to and from plain, JSON-friendly configs: ``serialize(layer)``, ``deserialize(config)``.

A layer's config is ``{"module", "class_name", "config"}`` where ``config`` is ``layer.get_config()``;
``deserialize`` finds the class by name and calls its ``from_config``. Classes are found in this order:

1. ``custom_objects`` (a dict name -> class), for your own layers;
2. the built-in layers in ``nbtrain.layers.layer.LAYERS`` (every layer class nbtrain defines registers itself
   there, with Keras's other names such as ``Convolution2D``);
3. any other :class:`Layer` subclass already defined in this Python session (a layer class defined in an
   earlier notebook cell; re-running that cell redefines it, and the latest definition wins). If classes of
   that name are defined in different places, the name is ambiguous and ``custom_objects`` must choose.

Example:
    >>> from nbtrain.layers import Dense
    >>> config = serialize(Dense(3, activation="relu"))
    >>> deserialize(config).units
    3
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping

from nbtrain.layers.layer import LAYERS, Layer
from nbtrain.utils import registry
from nbtrain.utils.errors import did_you_mean
from nbtrain.utils.registry import AmbiguousNameError, build_from_config, defined_subclasses  # noqa: F401 (saving uses it)

# Keys of a layer config whose values are themselves serialized objects, so that user objects named in
# custom_objects (an activation, an initializer, ...) are resolved before the layer's constructor sees them.
_NESTED_FAMILIES = (
    ("activation", "nbtrain.activations"),
    ("initializer", "nbtrain.initializers"),
    ("regularizer", "nbtrain.regularizers"),
    ("constraint", "nbtrain.constraints"),
)


class UnknownLayerError(ValueError):
    """A config names a layer class that is neither built in nor given in ``custom_objects``."""


def builtin_layer_classes() -> dict[str, type]:
    """Every built-in :class:`Layer` class by class name (and Keras alias)."""
    _register_builtin_layers()
    return LAYERS.as_dict()


def _register_builtin_layers() -> None:
    import nbtrain.layers  # noqa: F401  (importing the layer modules registers their classes)


def pick_defined_class(class_name: str, candidates: list[type], what: str = "layer"):
    """The one class a name means: a class redefined in the same place (a re-run notebook cell) counts once,
    the latest definition winning; classes of that name from different places are ambiguous."""
    try:
        return registry.pick_defined_class(class_name, candidates, what)
    except AmbiguousNameError as error:
        raise UnknownLayerError(str(error)) from None


def get_layer_class(class_name: str, custom_objects: Mapping | None = None, where: str | None = None) -> type:
    """The layer class a config names.

    Args:
        class_name: e.g. ``"Dense"``.
        custom_objects: ``{name: class}`` for your own layers; checked first.
        where: what is being loaded (e.g. a file name), for the error message.

    Raises:
        UnknownLayerError: naming the class and showing the ``custom_objects`` to pass.

    Example:
        >>> get_layer_class("Dense").__name__
        'Dense'
    """
    if not isinstance(class_name, str):
        raise TypeError(f"A layer class name must be a string, got {class_name!r}.")
    custom = dict(custom_objects or {})
    if class_name in custom:
        found = custom[class_name]
        if not (inspect.isclass(found) and issubclass(found, Layer)):
            raise TypeError(f"custom_objects[{class_name!r}] must be a Layer subclass, got {found!r}.")
        return found
    _register_builtin_layers()
    try:
        found = LAYERS.find(class_name)
    except AmbiguousNameError as error:
        raise UnknownLayerError(str(error)) from None
    if found is not None:
        return found
    location = f" in {where}" if where else ""
    raise UnknownLayerError(
        f"Unknown layer '{class_name}'{location}: it is not a built-in nbtrain layer. If it is your own layer "
        f"class, define it and pass custom_objects={{'{class_name}': {class_name}}}."
        f"{did_you_mean(class_name, LAYERS.names())}"
    )


def serialize(layer: Layer) -> dict:
    """``{"module", "class_name", "config"}`` for a layer, where ``config`` is ``layer.get_config()``.

    Example:
        >>> from nbtrain.layers import Dropout
        >>> serialize(Dropout(0.5, name="drop"))["config"]["rate"]
        0.5
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"serialize() expects a layer, got {layer!r} ({type(layer).__name__}).")
    return LAYERS.serialize(layer)


def deserialize(config: Mapping, custom_objects: Mapping | None = None, where: str | None = None) -> Layer:
    """Create a layer from :func:`serialize`'s dict (or Keras's ``{"class_name", "config"}``).

    Args:
        config: ``{"class_name": "Dense", "config": {"units": 3, ...}}``.
        custom_objects: ``{name: object}`` for your own layers, activations, initializers, regularizers and
            constraints named in the config.
        where: what is being loaded (a file name), for error messages.

    Example:
        >>> deserialize({"class_name": "Dense", "config": {"units": 4, "activation": "tanh"}}).activation.name
        'tanh'
    """
    if not isinstance(config, Mapping) or "class_name" not in config:
        raise ValueError(
            f"A layer config must be a dict with 'class_name' and 'config' keys (as made by serialize()), "
            f"got {config!r}."
        )
    class_name = config["class_name"]
    cls = get_layer_class(class_name, custom_objects, where)
    options = dict(config.get("config") or {})
    if custom_objects:
        options = resolve_custom_objects(options, custom_objects)
    try:
        return _call_from_config(cls, options, custom_objects)
    except UnknownLayerError:
        raise
    except (TypeError, ValueError) as error:
        if type(error) not in (TypeError, ValueError):
            raise
        name = options.get("name", "?")
        location = f" from {where}" if where else ""
        unknown = re.search(r"Unknown [\w ]+: '([^']+)'", str(error))
        hint = ""
        if unknown:
            hint = (f" If '{unknown.group(1)}' is your own object, pass it as "
                    f"custom_objects={{'{unknown.group(1)}': {unknown.group(1)}}}.")
        raise type(error)(
            f"Could not rebuild layer '{name}' ({class_name}){location}: {error}{hint}"
        ) from error


def _call_from_config(cls, options, custom_objects):
    if _inherits_base_from_config(cls):
        # Layer.from_config is cls(**config): a wrapper without its own from_config (TimeDistributed(layer))
        # needs its inner layer as an object, so nested layer configs are rebuilt first.
        options = {key: _nested_layer(value, custom_objects) if key == "layer" or key.endswith("_layer") else value
                   for key, value in options.items()}
    return build_from_config(cls, options, custom_objects)


def _inherits_base_from_config(cls) -> bool:
    return getattr(cls.from_config, "__func__", None) is Layer.from_config.__func__


def _nested_layer(value, custom_objects):
    """A nested ``{"class_name", "config"}`` naming a layer class becomes that layer; anything else is kept."""
    if not (isinstance(value, Mapping) and isinstance(value.get("class_name"), str)
            and isinstance(value.get("config"), Mapping)):
        return value
    try:
        get_layer_class(value["class_name"], custom_objects)
    except (UnknownLayerError, TypeError):
        return value
    return deserialize(value, custom_objects)


def resolve_custom_objects(options: dict, custom_objects: Mapping) -> dict:
    """Replace config entries that name one of ``custom_objects`` (activations, initializers, ...) by the object.

    Layers' ``from_config`` takes no ``custom_objects``; resolving these entries first lets a layer built
    with ``activation=my_activation`` be loaded with ``custom_objects={"my_activation": my_activation}``.
    """
    import importlib

    resolved = dict(options)
    for key, value in options.items():
        if not isinstance(value, (str, Mapping)):
            continue
        for suffix, module_name in _NESTED_FAMILIES:
            if key == suffix or key.endswith("_" + suffix):
                if _names_custom_object(value, custom_objects):
                    module = importlib.import_module(module_name)
                    resolved[key] = module.deserialize(value, custom_objects)
                break
    return resolved


def _names_custom_object(value, custom_objects) -> bool:
    if isinstance(value, str):
        return value in custom_objects
    name = value.get("class_name")
    if name == "function":
        name = value.get("config")
    return isinstance(name, str) and name in custom_objects


__all__ = ["UnknownLayerError", "builtin_layer_classes", "defined_subclasses", "deserialize", "get_layer_class",
           "pick_defined_class", "resolve_custom_objects", "serialize"]
