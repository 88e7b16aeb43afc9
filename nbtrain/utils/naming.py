"""Unique default names for layers and models, the way Keras numbers them: dense, dense_1, dense_2, ..."""

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
