"""How nbtrain writes names and shapes for people: unique default names for layers and models, numbered the way
Keras numbers them (dense, dense_1, dense_2, ...), and shapes as they appear in messages and summaries."""

from __future__ import annotations

import re
from collections import defaultdict

_counters: defaultdict[str, int] = defaultdict(int)


def to_snake_case(name: str) -> str:
    """``BatchNormalization`` -> ``batch_normalization``; ``Conv2D`` -> ``conv2d``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base: str) -> str:
    """Return ``base`` the first time, then ``base_1``, ``base_2``, ..."""
    count = _counters[base]
    _counters[base] += 1
    return base if count == 0 else f"{base}_{count}"


def clear_session() -> None:
    """Restart default layer numbering (``dense``, ``dense_1``, ...), as ``keras.backend.clear_session()``.

    Example:
        >>> import nbtrain
        >>> nbtrain.utils.clear_session()
    """
    _counters.clear()


def shape_text(shape) -> str:
    """A shape written the way Python writes a tuple, with ``None`` for sizes not known yet.

    A list of shapes (a layer with several inputs or outputs) is written one shape after another, and a missing
    shape as ``?``. Unlike ``str(tuple(shape))``, NumPy integers print as plain numbers.

    Args:
        shape: a tuple or list of ints and Nones, a list of such shapes, or None.

    Example:
        >>> shape_text((None, 28, 28))
        '(None, 28, 28)'
        >>> shape_text((10,))
        '(10,)'
        >>> shape_text([(None, 4), (None, 2)])
        '(None, 4), (None, 2)'
    """
    if shape is None:
        return "?"
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return ", ".join(shape_text(s) for s in shape)
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    # a one-element tuple keeps its comma, as Python writes it: (10,) is a shape, (10) is just a number
    return f"({dims},)" if len(shape) == 1 else f"({dims})"
