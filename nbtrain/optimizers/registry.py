"""Look optimizers up by name, class, instance or config: ``get('adam')``, ``serialize``, ``deserialize``."""

from __future__ import annotations

# importing every optimizer module registers its class in OPTIMIZERS
from nbtrain.optimizers.adadelta import Adadelta  # noqa: F401
from nbtrain.optimizers.adafactor import Adafactor  # noqa: F401
from nbtrain.optimizers.adagrad import Adagrad  # noqa: F401
from nbtrain.optimizers.adam import Adam  # noqa: F401
from nbtrain.optimizers.adamax import Adamax  # noqa: F401
from nbtrain.optimizers.adamw import AdamW  # noqa: F401
from nbtrain.optimizers.ftrl import Ftrl  # noqa: F401
from nbtrain.optimizers.lamb import Lamb  # noqa: F401
from nbtrain.optimizers.lion import Lion  # noqa: F401
from nbtrain.optimizers.nadam import Nadam  # noqa: F401
from nbtrain.optimizers.optimizer import OPTIMIZERS, Optimizer
from nbtrain.optimizers.rmsprop import RMSprop  # noqa: F401
from nbtrain.optimizers.sgd import SGD  # noqa: F401


def get(identifier) -> Optimizer | None:
    """Resolve an optimizer: a name (any case), an instance (returned as is), a class, or a config dict.

    Args:
        identifier: ``"adam"``, ``"SGD"``, ``Adam()``, ``Adam``, ``serialize(opt)``, or None (returns None).

    Example:
        >>> get("RMSprop")
        RMSprop(learning_rate=0.001)
        >>> get("adm")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Unknown optimizer: 'adm'. Did you mean 'adam'? Known optimizers: ...
    """
    return OPTIMIZERS.get(identifier)


def serialize(optimizer: Optimizer) -> dict:
    """Return ``{"module", "class_name", "config"}`` describing ``optimizer`` (its settings, not its state).

    Example:
        >>> serialize(SGD())["class_name"]
        'SGD'
    """
    return OPTIMIZERS.serialize(optimizer)


def deserialize(config: dict, custom_objects: dict | None = None) -> Optimizer:
    """Create an optimizer from ``serialize()``'s output.

    Args:
        config: ``{"class_name": "Adam", "config": {...}}``; the class name is matched case-insensitively.
        custom_objects: extra ``{name: Optimizer subclass}`` for your own optimizers.

    Example:
        >>> deserialize({"class_name": "Adam", "config": {"learning_rate": 0.01}})
        Adam(learning_rate=0.01)
    """
    return OPTIMIZERS.deserialize(config, custom_objects)
