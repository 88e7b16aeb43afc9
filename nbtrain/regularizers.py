"""Weight penalties added to the loss: ``Dense(64, kernel_regularizer=l2(1e-4))``, as in Keras.

A regularizer is called on a weight array (or, as an ``activity_regularizer``, on a layer's output) and
returns a float penalty that the training loop adds to the loss. Because nbtrain has no automatic
differentiation, each regularizer also gives ``gradient(x)``, the derivative of its penalty with respect to
``x``, which the loop adds to that weight's gradient.

The formulas are Keras's: ``L1`` is ``l1 * sum(|x|)`` and ``L2`` is ``l2 * sum(x ** 2)`` (no factor 1/2,
so its gradient is ``2 * l2 * x``).

Example:
    >>> import numpy as np
    >>> from nbtrain import regularizers
    >>> w = np.array([1.0, -2.0], dtype=np.float32)
    >>> regularizers.L2(0.1)(w)
    0.5
    >>> regularizers.L2(0.1).gradient(w)
    array([ 0.2, -0.4], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nbtrain.utils.checks import Wording, number
from nbtrain.utils.config import Configurable
from nbtrain.utils.registry import Registry

# Keras's backend.epsilon(): the smallest norm OrthogonalRegularizer divides by.
EPSILON = 1e-7


# Keras's validate_float_arg words every rejection alike (and raises ValueError for a wrong type too).
_PENALTY_WORDING = Wording(wrong_type="{owner}() expects {what} to be a non-negative number, got {what}={value}.",
                           out_of_range="{owner}() expects {what} to be a non-negative number, got {what}={value}.",
                           type_error=ValueError)


def _penalty_factor(value, name: str, owner: str, default: float) -> float:
    """A non-negative, finite number (None means ``default``), as Keras's ``validate_float_arg``."""
    if value is None:
        return default
    return number(value, name, owner, low=0, finite=True, wording=_PENALTY_WORDING)


def _as_float_array(x) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float32)


class Regularizer(Configurable):
    """Base class of regularizers: ``__call__(x)`` gives the penalty, ``gradient(x)`` its derivative.

    Subclass it for your own penalty and implement both methods, plus ``get_config`` if the model is to be
    saved (``nbtrain.models.load_model(path, custom_objects={"MyPenalty": MyPenalty})`` rebuilds it).

    Example:
        >>> class SumPenalty(Regularizer):
        ...     def __init__(self, factor=0.01):
        ...         self.factor = factor
        ...     def __call__(self, x):
        ...         return self.factor * float(np.sum(x))
        ...     def gradient(self, x):
        ...         return np.full_like(x, self.factor)
        ...     def get_config(self):
        ...         return {"factor": self.factor}
        >>> SumPenalty(0.5)(np.ones(4))
        2.0
    """

    def __call__(self, x) -> float:
        """The penalty for ``x``, a Python float (the base class penalizes nothing)."""
        return 0.0

    def gradient(self, x) -> np.ndarray:
        """d penalty / d x, an array shaped and typed like ``x``."""
        if type(self).__call__ is Regularizer.__call__:
            return np.zeros_like(_as_float_array(x))
        raise NotImplementedError(
            f"{type(self).__name__} gives a penalty but no gradient. nbtrain computes gradients without automatic "
            "differentiation, so a regularizer must also implement gradient(x) -> d penalty / d x, an array "
            "shaped like x."
        )


def _refuse_plain_function(identifier):
    if callable(identifier):
        name = getattr(identifier, "__name__", type(identifier).__name__)
        raise TypeError(
            f"Regularizer {name!r} is a plain function, but nbtrain also needs the gradient of the penalty. "
            "Subclass nbtrain.regularizers.Regularizer and implement __call__(x) -> float and "
            "gradient(x) -> array."
        )
    return None


REGULARIZERS = Registry(
    "regularizer", base=Regularizer, module="nbtrain.regularizers", registered_name=True,
    convert=_refuse_plain_function,
    expected="Expected None, a name such as 'l2', or a regularizer such as nbtrain.regularizers.L2(1e-4).",
)
"""Every regularizer by name (``"l2"``, ``"L1L2"``, ...); `get` and `deserialize` read it."""
REGULARIZERS.register(listed=False)(Regularizer)


@REGULARIZERS.register("l1")
class L1(Regularizer):
    """The L1 penalty ``l1 * sum(|x|)``; it pushes weights to exactly zero (sparse weights).

    Args:
        l1: the penalty factor (default 0.01).

    Example:
        >>> L1(0.1)(np.array([1.0, -2.0]))
        0.30000000000000004
    """

    def __init__(self, l1=0.01):
        self.l1 = _penalty_factor(l1, "l1", "L1", 0.01)

    def __call__(self, x) -> float:
        return self.l1 * float(np.sum(np.abs(_as_float_array(x)), dtype=np.float64))

    def gradient(self, x) -> np.ndarray:
        x = _as_float_array(x)
        # sign(0) = 0: the subgradient TensorFlow and JAX also use for |x| at 0
        return (np.sign(x) * self.l1).astype(x.dtype, copy=False)

    def get_config(self) -> dict:
        return {"l1": self.l1}


@REGULARIZERS.register("l2")
class L2(Regularizer):
    """The L2 penalty ``l2 * sum(x ** 2)`` (weight decay added to the loss); no factor 1/2, as in Keras.

    Args:
        l2: the penalty factor (default 0.01).

    Example:
        >>> L2(0.1)(np.array([1.0, -2.0]))
        0.5
    """

    def __init__(self, l2=0.01):
        self.l2 = _penalty_factor(l2, "l2", "L2", 0.01)

    def __call__(self, x) -> float:
        x = _as_float_array(x)
        return self.l2 * float(np.sum(np.square(x, dtype=np.float64)))

    def gradient(self, x) -> np.ndarray:
        x = _as_float_array(x)
        return (x * (2.0 * self.l2)).astype(x.dtype, copy=False)

    def get_config(self) -> dict:
        return {"l2": self.l2}


@REGULARIZERS.register("l1_l2", "l1l2")
class L1L2(Regularizer):
    """Both penalties: ``l1 * sum(|x|) + l2 * sum(x ** 2)``.

    Args:
        l1: the L1 factor (default 0.0, as in Keras 3; Keras 2's ``l1_l2()`` function defaulted to 0.01).
        l2: the L2 factor (default 0.0).

    Example:
        >>> L1L2(l1=0.1, l2=0.1)(np.array([1.0, -2.0]))
        0.8
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _penalty_factor(l1, "l1", "L1L2", 0.0)
        self.l2 = _penalty_factor(l2, "l2", "L1L2", 0.0)

    def __call__(self, x) -> float:
        x = _as_float_array(x)
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.sum(np.abs(x), dtype=np.float64))
        if self.l2:
            penalty += self.l2 * float(np.sum(np.square(x, dtype=np.float64)))
        return penalty

    def gradient(self, x) -> np.ndarray:
        x = _as_float_array(x)
        return (np.sign(x) * self.l1 + x * (2.0 * self.l2)).astype(x.dtype, copy=False)

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


@REGULARIZERS.register("orthogonal_regularizer")
class OrthogonalRegularizer(Regularizer):
    """Encourages the rows (or columns) of a 2-D weight to be orthogonal to each other.

    The penalty is ``factor * 0.5 * sum_{i != j} |u_i . u_j| / (n * (n - 1) / 2)``, where ``u_i`` are the
    rows (``mode="rows"``) or columns (``mode="columns"``) scaled to unit length (their norm is taken as at
    least 1e-7), and ``n`` is their number: ``factor`` times the mean absolute cosine between pairs, over 2.

    Args:
        factor: the penalty factor (default 0.01).
        mode: ``"rows"`` or ``"columns"``.

    Example:
        >>> OrthogonalRegularizer(factor=1.0)(np.array([[1.0, 0.0], [1.0, 1.0]]))  # 0.5 * 2 * cos(45 deg)
        0.7071067811865475
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _penalty_factor(factor, "factor", "OrthogonalRegularizer", 0.01)
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer() expects mode 'rows' or 'columns', got mode={mode!r}.")
        self.mode = mode

    def _vectors(self, x) -> np.ndarray:
        """The vectors to orthogonalize as the rows of a float64 matrix."""
        x = _as_float_array(x)
        if x.ndim != 2:
            raise ValueError(
                f"OrthogonalRegularizer applies to 2-D weights such as a Dense kernel, got an array of shape "
                f"{x.shape}."
            )
        return (x if self.mode == "rows" else x.T).astype(np.float64)

    def _parts(self, v):
        norms = np.maximum(np.sqrt(np.sum(v * v, axis=1, keepdims=True)), EPSILON)
        unit = v / norms
        product = unit @ unit.T
        n = v.shape[0]
        scale = self.factor * 0.5 / (n * (n - 1) / 2.0) if n > 1 else 0.0
        return norms, unit, product, scale

    def __call__(self, x) -> float:
        v = self._vectors(x)
        _, _, product, scale = self._parts(v)
        np.fill_diagonal(product, 0.0)
        return float(scale * np.sum(np.abs(product)))

    def gradient(self, x) -> np.ndarray:
        x = _as_float_array(x)
        v = self._vectors(x)
        norms, unit, product, scale = self._parts(v)
        grad_product = np.sign(product) * scale
        np.fill_diagonal(grad_product, 0.0)
        # product = U U^T with a symmetric upstream gradient G gives dU = 2 G U
        grad_unit = 2.0 * grad_product @ unit
        # through u = v / |v| (only where |v| is above the floor; below it u = v / eps is linear in v)
        projected = grad_unit - unit * np.sum(grad_unit * unit, axis=1, keepdims=True)
        above = norms > EPSILON
        grad_v = np.where(above, projected, grad_unit) / norms
        grad = grad_v if self.mode == "rows" else grad_v.T
        return grad.astype(x.dtype)

    def get_config(self) -> dict:
        return {"factor": self.factor, "mode": self.mode}


# Keras's lower-case spellings of the classes
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer


def get(identifier):
    """Resolve a regularizer the way Keras layers do (``kernel_regularizer="l2"``).

    Args:
        identifier: None (returns None), a name (``"l1"``, ``"l2"``, ``"l1_l2"``, ``"L2"``, ...,
            case-insensitive; the factor is the default 0.01), a :class:`Regularizer` (returned as is) or
            subclass (instantiated), or a config dict from :func:`serialize`.

    Example:
        >>> get("l2")
        L2(l2=0.01)
    """
    return REGULARIZERS.get(identifier)


def serialize(regularizer) -> dict | None:
    """Keras's layout ``{"module", "class_name", "config", "registered_name"}``; :func:`deserialize` reverses it.

    Example:
        >>> serialize(L1L2(l1=0.1))["config"]
        {'l1': 0.1, 'l2': 0.0}
    """
    regularizer = get(regularizer)
    return None if regularizer is None else REGULARIZERS.serialize(regularizer)


def deserialize(config, custom_objects: Mapping | None = None):
    """Rebuild a regularizer from :func:`serialize`'s dict (or a Keras config dict, or a name).

    Args:
        config: ``{"class_name": "L2", "config": {"l2": 0.001}}``, a name, or None.
        custom_objects: ``{class name: Regularizer subclass}`` for your own regularizers.

    Example:
        >>> deserialize({"class_name": "L2", "config": {"l2": 0.001}})
        L2(l2=0.001)
    """
    return REGULARIZERS.deserialize(config, custom_objects)


def activity_penalty(regularizer, output) -> float:
    """The penalty an ``activity_regularizer`` adds for one batch of a layer's output: Keras 3 divides it by
    the batch size, so its strength does not depend on ``batch_size``.

    Example:
        >>> activity_penalty(L2(0.1), np.ones((4, 2), np.float32))     # 0.1 * 8 / 4
        0.2
    """
    output = np.asarray(output)
    batch = output.shape[0] if output.ndim and output.shape[0] else 1
    return round(float(regularizer(output)) / batch, 12)


def activity_penalty_gradient(regularizer, output) -> np.ndarray:
    """d(:func:`activity_penalty`)/d(output)."""
    output = np.asarray(output)
    batch = output.shape[0] if output.ndim and output.shape[0] else 1
    gradient = regularizer.gradient(output)
    return gradient / np.asarray(batch, gradient.dtype)


__all__ = ["REGULARIZERS", "L1", "L1L2", "L2", "OrthogonalRegularizer", "Regularizer", "deserialize", "get", "l1",
           "l1_l2", "l2", "orthogonal_regularizer", "serialize"]
