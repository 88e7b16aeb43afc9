"""Name lookup shared by the small registries (regularizers, constraints): case-insensitive, with custom objects."""

from __future__ import annotations

from collections.abc import Mapping

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
