"""Weight constraints: projections applied to a weight after every optimizer step, as in Keras.

``Dense(64, kernel_constraint=max_norm(3))`` keeps the norm of every kernel column at most 3. A constraint
is called on a weight array and returns the projected array (a new array of the same shape and dtype); the
training loop writes it back into the weight in place after each update.

The formulas are Keras's, including its ``epsilon = 1e-7`` in the denominators (so a column whose norm is
exactly ``max_value`` is scaled by ``max_value / (max_value + 1e-7)``, a hair below 1).

Example:
    >>> import numpy as np
    >>> from nbtrain import constraints
    >>> constraints.NonNeg()(np.array([-1.0, 2.0]))
    array([0., 2.])
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nbtrain.utils.checks import number
from nbtrain.utils.config import Configurable
from nbtrain.utils.registry import Registry, function_config

EPSILON = 1e-7


def _axis(axis, owner: str):
    if isinstance(axis, (list, tuple)):
        return tuple(_axis(a, owner) for a in axis)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{owner}() expects axis to be an int or a tuple of ints, got axis={axis!r}.")
    return int(axis)


def _float_array(w) -> np.ndarray:
    w = np.asarray(w)
    return w if np.issubdtype(w.dtype, np.floating) else w.astype(np.float32)


def _norms(w: np.ndarray, axis) -> np.ndarray:
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class Constraint(Configurable):
    """Base class of constraints: ``__call__(w)`` returns ``w`` projected onto the allowed set.

    The base class allows everything (returns ``w`` unchanged). Subclass it and override ``__call__`` (and
    ``get_config`` to save the model).

    Example:
        >>> class Clip(Constraint):
        ...     def __init__(self, limit=1.0):
        ...         self.limit = limit
        ...     def __call__(self, w):
        ...         return np.clip(w, -self.limit, self.limit)
        ...     def get_config(self):
        ...         return {"limit": self.limit}
        >>> Clip(0.5)(np.array([-2.0, 0.1]))
        array([-0.5,  0.1])
    """

    def __call__(self, w) -> np.ndarray:
        return w


def _function_as_constraint(identifier):
    # a projection needs no derivative, so a plain function w -> w works as in Keras
    return identifier if callable(identifier) else None


CONSTRAINTS = Registry(
    "constraint", base=Constraint, module="nbtrain.constraints", registered_name=True,
    convert=_function_as_constraint,
    expected="Expected None, a name such as 'max_norm', or a constraint such as nbtrain.constraints.MaxNorm(3).",
)
"""Every constraint by name (``"max_norm"``, ``"MaxNorm"``, ...); `get` and `deserialize` read it."""
CONSTRAINTS.register(listed=False)(Constraint)


@CONSTRAINTS.register("max_norm", "maxnorm")
class MaxNorm(Constraint):
    """Scales down the slices of ``w`` whose L2 norm along ``axis`` is above ``max_value``.

    ``w * clip(norms, 0, max_value) / (norms + 1e-7)``, norms taken along ``axis`` (0: each column of a
    Dense kernel, i.e. the weights into one unit; for a Conv2D kernel use ``axis=[0, 1, 2]``).

    Args:
        max_value: the largest norm allowed (default 2).
        axis: the axis (or axes) along which norms are computed (default 0).

    Example:
        >>> MaxNorm(1.0)(np.array([[3.0], [4.0]])).round(6)
        array([[0.6],
               [0.8]])
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = number(max_value, "max_value", "MaxNorm", low=0.0, finite=True)
        self.axis = _axis(axis, "MaxNorm")

    def __call__(self, w) -> np.ndarray:
        w = _float_array(w)
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0.0, self.max_value)
        return (w * (desired / (EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


@CONSTRAINTS.register("non_neg", "nonneg")
class NonNeg(Constraint):
    """Sets negative weights to zero.

    Example:
        >>> NonNeg()(np.array([-0.5, 0.0, 1.5]))
        array([0. , 0. , 1.5])
    """

    def __call__(self, w) -> np.ndarray:
        w = _float_array(w)
        # Keras's w * (w >= 0); adding 0.0 turns the -0.0 of negative entries into 0.0 (NaN stays NaN)
        return (w * (w >= 0.0) + 0.0).astype(w.dtype, copy=False)


@CONSTRAINTS.register("unit_norm", "unitnorm")
class UnitNorm(Constraint):
    """Scales the slices of ``w`` along ``axis`` to unit L2 norm: ``w / (1e-7 + norms)``.

    Args:
        axis: the axis (or axes) along which norms are computed (default 0).

    Example:
        >>> UnitNorm()(np.array([[3.0], [4.0]])).round(6)
        array([[0.6],
               [0.8]])
    """

    def __init__(self, axis=0):
        self.axis = _axis(axis, "UnitNorm")

    def __call__(self, w) -> np.ndarray:
        w = _float_array(w)
        return (w / (EPSILON + _norms(w, self.axis))).astype(w.dtype, copy=False)

    def get_config(self) -> dict:
        return {"axis": self.axis}


@CONSTRAINTS.register("min_max_norm")
class MinMaxNorm(Constraint):
    """Moves the norms of the slices of ``w`` along ``axis`` into ``[min_value, max_value]``.

    ``desired = rate * clip(norms, min_value, max_value) + (1 - rate) * norms`` and
    ``w * desired / (1e-7 + norms)``: ``rate=1`` enforces the bounds at once, smaller rates step towards them.

    Args:
        min_value: the smallest norm allowed (default 0.0).
        max_value: the largest norm allowed (default 1.0).
        rate: how far to move towards the interval each time, in [0, 1] (default 1.0).
        axis: the axis (or axes) along which norms are computed (default 0).

    Example:
        >>> MinMaxNorm(min_value=1.0, max_value=2.0)(np.array([[0.3], [0.4]])).round(6)
        array([[0.6],
               [0.8]])
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = number(min_value, "min_value", "MinMaxNorm", low=0.0, finite=True)
        self.max_value = number(max_value, "max_value", "MinMaxNorm", low=0.0, finite=True)
        if self.min_value > self.max_value:
            raise ValueError(
                f"MinMaxNorm() expects min_value <= max_value, got min_value={min_value!r}, max_value={max_value!r}."
            )
        self.rate = number(rate, "rate", "MinMaxNorm", low=0.0, finite=True)
        self.axis = _axis(axis, "MinMaxNorm")

    def __call__(self, w) -> np.ndarray:
        w = _float_array(w)
        norms = _norms(w, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1.0 - self.rate) * norms
        return (w * (desired / (EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


# Keras's lower-case spellings of the classes
max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm


def get(identifier):
    """Resolve a constraint the way Keras layers do (``kernel_constraint="max_norm"``).

    Args:
        identifier: None (returns None), a name (``"max_norm"``, ``"non_neg"``, ``"unit_norm"``,
            ``"min_max_norm"``, or the class name, case-insensitive), a :class:`Constraint` (returned as is)
            or subclass (instantiated), a config dict from :func:`serialize`, or a function ``w -> w``
            (returned as is).

    Example:
        >>> get("non_neg")
        NonNeg()
    """
    return CONSTRAINTS.get(identifier)


def serialize(constraint) -> dict | None:
    """Keras's layout ``{"module", "class_name", "config", "registered_name"}``; :func:`deserialize` reverses it.

    A plain function is stored by name (``{"class_name": "function", "config": name}``); loading it needs
    ``custom_objects={name: function}``.

    Example:
        >>> serialize(MaxNorm(3))["config"]
        {'max_value': 3.0, 'axis': 0}
    """
    constraint = get(constraint)
    if constraint is None:
        return None
    if isinstance(constraint, Constraint):
        return CONSTRAINTS.serialize(constraint)
    return function_config(constraint)


def deserialize(config, custom_objects: Mapping | None = None):
    """Rebuild a constraint from :func:`serialize`'s dict (or a Keras config dict, or a name).

    Args:
        config: ``{"class_name": "MaxNorm", "config": {"max_value": 3}}``, a name, or None.
        custom_objects: ``{name: Constraint subclass or function}`` for your own constraints.

    Example:
        >>> deserialize({"class_name": "MaxNorm", "config": {"max_value": 3}})
        MaxNorm(max_value=3.0, axis=0)
    """
    return CONSTRAINTS.deserialize(config, custom_objects)


__all__ = ["CONSTRAINTS", "Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "deserialize", "get",
           "max_norm", "min_max_norm", "non_neg", "serialize", "unit_norm"]
