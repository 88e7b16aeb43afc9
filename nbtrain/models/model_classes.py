"""nbtrain's own model classes by name, recorded where each class is defined.

Loading a saved model turns the class name in the file (``"Sequential"``) back into a class. The saving code
cannot import ``nbtrain.models`` to find it, because models import the saving code (``Model.save``). So the
lookup points down instead: ``model.py``, ``sequential.py`` and ``functional.py`` record their classes here
with :func:`builtin_model_class`, and the saving code reads them with :func:`builtin_model_classes`.
"""

from __future__ import annotations

_BUILTIN_MODEL_CLASSES: dict[str, type] = {}


def builtin_model_class(cls: type) -> type:
    """Class decorator: record one of nbtrain's model classes under its class name."""
    _BUILTIN_MODEL_CLASSES[cls.__name__] = cls
    return cls


def builtin_model_classes() -> dict[str, type]:
    """nbtrain's model classes by name: ``Model`` (the base of every model), ``Functional``, ``Sequential``.

    Example:
        >>> import nbtrain
        >>> sorted(builtin_model_classes())
        ['Functional', 'Model', 'Sequential']
    """
    return dict(_BUILTIN_MODEL_CLASSES)
