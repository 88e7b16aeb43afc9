"""What the small registries (initializers, regularizers, constraints) share: case-insensitive name lookup
with custom objects, and turning a Keras-style ``{"class_name", "config"}`` dict back into an object."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

from nbtrain.utils.errors import unknown_name_error


def lookup_name(family: str, name: str, names: Mapping, custom_objects: Mapping | None = None, hidden=()):
    """The object registered as ``name`` (any case), a custom object first, or a did-you-mean error.

    Args:
        family: what is looked up, for the error (``"constraint"``).
        name: the name the user gave.
        names: the registry, name -> object.
        custom_objects: the user's own objects by exact name, looked up first.
        hidden: registered names not to list in the error (abstract base classes).
    """
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    by_key = {key.lower(): value for key, value in names.items()}
    found = by_key.get(name.strip().lower())
    if found is None:
        known = [n for n in names if n not in hidden] + list(custom_objects or {})
        raise unknown_name_error(family, name, known)
    return found


def deserialize_config(family: str, config, lookup: Callable, custom_objects: Mapping | None, example: str):
    """The object a Keras-style config describes: ``{"class_name": "MaxNorm", "config": {...}}``, a name, or None.

    Args:
        family: what is deserialized, for errors (``"constraint"``).
        config: the config dict, a registered name, or None (gives None).
        lookup: ``lookup(name, custom_objects)``, the family's name lookup.
        custom_objects: the user's own classes or functions by name.
        example: a valid config, quoted in the error for a malformed one.
    """
    if config is None:
        return None
    if isinstance(config, str):
        found = lookup(config, custom_objects)
        return found() if inspect.isclass(found) else found
    if not isinstance(config, Mapping) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"A {family} config must be a dict like {example}, got {config!r}.")
    class_name, options = config["class_name"], config.get("config")
    if class_name == "function":   # a plain function, saved by name
        if custom_objects and options in custom_objects:
            return custom_objects[options]
        raise ValueError(f"The {family} function '{options}' is not known here; pass it in "
                         f"custom_objects={{'{options}': fn}}.")
    found = lookup(class_name, custom_objects)
    if not inspect.isclass(found):
        return found
    options = dict(options or {})
    return found.from_config(options) if hasattr(found, "from_config") else found(**options)
