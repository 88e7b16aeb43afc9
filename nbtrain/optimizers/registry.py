"""Look optimizers up by name, class, instance or config: ``get('adam')``, ``serialize``, ``deserialize``."""

from __future__ import annotations

from nbtrain.optimizers.adadelta import Adadelta
from nbtrain.optimizers.adagrad import Adagrad
from nbtrain.optimizers.adam import Adam
from nbtrain.optimizers.adamax import Adamax
from nbtrain.optimizers.adamw import AdamW
from nbtrain.optimizers.lion import Lion
from nbtrain.optimizers.nadam import Nadam
from nbtrain.optimizers.optimizer import Optimizer
from nbtrain.optimizers.rmsprop import RMSprop
from nbtrain.optimizers.sgd import SGD
from nbtrain.utils.errors import unknown_name_error

# Keras's names are the lower-cased class names
_OPTIMIZERS = {cls.__name__.lower(): cls for cls in (SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam, AdamW, Lion)}


def _lookup(name: str, custom_objects=None) -> type:
    custom = {k.lower(): v for k, v in (custom_objects or {}).items()}
    known = {**_OPTIMIZERS, **custom}
    key = name.strip().lower()
    if key not in known:
        raise unknown_name_error("optimizer", name, known)
    return known[key]


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
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(
        f"Could not interpret optimizer identifier: {identifier!r} ({type(identifier).__name__}). Pass a name "
        "such as 'adam' or 'sgd', an optimizer such as nbtrain.optimizers.Adam(learning_rate=1e-3), an "
        "optimizer class, or a dict from nbtrain.optimizers.serialize()."
    )


def serialize(optimizer: Optimizer) -> dict:
    """Return ``{"module", "class_name", "config"}`` describing ``optimizer`` (its settings, not its state).

    Example:
        >>> serialize(SGD())["class_name"]
        'SGD'
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"serialize() expects an Optimizer; received {optimizer!r} ({type(optimizer).__name__}).")
    return {"module": "nbtrain.optimizers", "class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Optimizer:
    """Create an optimizer from ``serialize()``'s output.

    Args:
        config: ``{"class_name": "Adam", "config": {...}}``; the class name is matched case-insensitively.
        custom_objects: extra ``{name: Optimizer subclass}`` for your own optimizers.

    Example:
        >>> deserialize({"class_name": "Adam", "config": {"learning_rate": 0.01}})
        Adam(learning_rate=0.01)
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise TypeError(
            "deserialize() expects a dict like {'class_name': 'Adam', 'config': {'learning_rate': 0.001}}; "
            f"received {config!r}."
        )
    cls = _lookup(config["class_name"], custom_objects)
    return cls.from_config(dict(config.get("config") or {}), custom_objects)
