"""Losses: the `Loss` base class, the Keras built-ins with their gradients, and the `get()` registry.

A loss turns ``(y_true, y_pred)`` into one number to minimise, and gives the gradient of that number with
respect to ``y_pred``: the built-ins by hand (fast, and fused with a final softmax or sigmoid), a loss of your
own by automatic differentiation of its ``nbtrain.ops`` code. The values follow Keras 3
(JAX backend): float32 by default, crossentropy from probabilities renormalised and clipped to
``[1e-7, 1 - 1e-7]``, and the same reductions and sample-weight rules.

Writing your own loss
---------------------
As in Keras: pass a function ``loss(y_true, y_pred)`` written with ``nbtrain.ops`` (``compile(loss=rmse)``), or
subclass `Loss` and implement ``call(y_true, y_pred)``, which returns the per-sample values, usually reducing
the last axis (shape ``y_pred.shape[:-1]``). The base class does the rest: casting, matching ranks, sample
weights, reduction, and the gradient, by recording ``call``'s ops and replaying their gradients::

    from nbtrain import ops

    def rmse(y_true, y_pred):
        return ops.sqrt(ops.mean(ops.square(y_pred - y_true), axis=-1))

    model.compile(optimizer="adam", loss=rmse, metrics=[rmse])

A loss written with NumPy instead can give its gradient by hand: ``call_gradient(y_true, y_pred, upstream)``
returns ``d sum(upstream * call(y_true, y_pred)) / d y_pred``, an array shaped like ``y_pred``; ``upstream`` has
the shape of ``call``'s result.

Example::

    import numpy as np
    import nbtrain

    class MeanFourthPower(nbtrain.losses.Loss):
        def call(self, y_true, y_pred):
            return np.mean((y_pred - y_true) ** 4, axis=-1)

        def call_gradient(self, y_true, y_pred, upstream):
            return upstream[..., None] * 4 * (y_pred - y_true) ** 3 / y_pred.shape[-1]

    model.compile(optimizer="adam", loss=MeanFourthPower())

Fused output layers
-------------------
A final softmax (or sigmoid) followed by categorical (or binary) crossentropy on probabilities is trained as
one step: `Loss.fused_activation` names the activation, and `Loss.logits_gradient` returns the gradient with
respect to the logits directly (``p - y`` scaled by the weights), which never divides by a tiny probability.
"""

from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np

from nbtrain.utils.errors import did_you_mean
from nbtrain.utils.naming import to_snake_case
from nbtrain.utils.registry import Registry

__all__ = [
    "ALL_LOSSES",
    "EPSILON",
    "REDUCTIONS",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "CategoricalHinge",
    "Circle",
    "CosineSimilarity",
    "Dice",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LossFunctionWrapper",
    "LogCosh",
    "Loss",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "Tversky",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy",
    "categorical_hinge",
    "circle",
    "cosine_similarity",
    "deserialize",
    "dice",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "resolve_crossentropy",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "squeeze_or_expand_to_same_rank",
    "tversky",
]

EPSILON = 1e-7
"""Keras's ``backend.epsilon()``: the clip margin for probabilities and the guard in divisions and logs."""

# Keras clips in float32, where 1 - 1e-7 rounds to 0.99999988; we use the same bounds in float64 too, so a
# float64 run gives the same values as a float32 one.
_CLIP_LOW = np.float32(EPSILON)
_CLIP_HIGH = np.float32(1.0) - np.float32(EPSILON)

REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none", None)
"""The accepted values of ``reduction`` (``None`` and ``"none"`` both mean no reduction)."""

_LOG2 = float(np.log(2.0))


# ----------------------------------------------------------------------------------------------------------
# Shape and reduction helpers
# ----------------------------------------------------------------------------------------------------------


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Make two arrays the same rank when they differ by a trailing axis of size 1 (Keras rule).

    When the ranks differ by one and the higher-rank array ends in 1: a rank-1 partner is expanded to
    ``(N, 1)`` (if ``expand_rank_1``), otherwise the trailing 1 is squeezed away. Anything else is returned
    unchanged. No data are copied.

    Args:
        x1: first array.
        x2: second array.
        expand_rank_1: expand a rank-1 partner instead of squeezing the other array.

    Example:
        >>> a, b = squeeze_or_expand_to_same_rank(np.zeros(4), np.zeros((4, 1)))
        >>> a.shape, b.shape
        ((4, 1), (4, 1))
    """
    rank1, rank2 = np.ndim(x1), np.ndim(x2)
    if rank1 == rank2 + 1 and np.shape(x1)[-1] == 1:
        if rank2 == 1 and expand_rank_1:
            x2 = np.expand_dims(x2, -1)
        else:
            x1 = np.squeeze(x1, -1)
    elif rank2 == rank1 + 1 and np.shape(x2)[-1] == 1:
        if rank1 == 1 and expand_rank_1:
            x1 = np.expand_dims(x1, -1)
        else:
            x2 = np.squeeze(x2, -1)
    return x1, x2


def _standardize_reduction(reduction):
    if reduction is None:
        return None
    if isinstance(reduction, str) and reduction.lower() in REDUCTIONS:
        return reduction.lower()
    valid = ", ".join(repr(r) for r in REDUCTIONS)
    hint = did_you_mean(reduction, [r for r in REDUCTIONS if r]) if isinstance(reduction, str) else ""
    raise ValueError(f"Invalid value for argument `reduction`: {reduction!r}. Expected one of {valid}.{hint}")


def _standardize_dtype(dtype):
    if dtype is None:
        return None
    if isinstance(dtype, dict):  # a Keras dtype-policy config
        dtype = dtype.get("config", {}).get("name", dtype.get("name"))
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise ValueError(f"Loss dtype must be a floating type such as 'float32', but got {dtype!r}.") from error
    if resolved.kind != "f":
        raise ValueError(f"Loss dtype must be a floating type such as 'float32', but got {dtype!r}.")
    return resolved


def _sum_to_shape(array, shape):
    """Undo broadcasting: sum ``array`` down to ``shape`` (the gradient of a broadcast)."""
    if array.shape == shape:
        return array
    lead = array.ndim - len(shape)
    if lead:
        array = array.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and array.shape[i] != 1)
    return array.sum(axis=axes, keepdims=True) if axes else array


def _check_label_smoothing(label_smoothing):
    label_smoothing = float(label_smoothing)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0 and 1, but got {label_smoothing}.")
    return label_smoothing


def _check_axis(axis):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an integer, but got {axis!r}.")
    return int(axis)


def _looks_sparse(y_true, y_pred):
    """True when y_true has one label per sample where y_pred has one score per class."""
    return y_pred.ndim >= 1 and y_pred.shape[-1] > 1 and (
        y_true.ndim == y_pred.ndim - 1 or (y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1)
    )


_LABELS_HINT = (
    " y_true looks like integer class labels: use loss='sparse_categorical_crossentropy', or one-hot encode "
    "the labels with nbtrain.utils.to_categorical(y, num_classes={classes})."
)


def _require_same_shape(loss, y_true, y_pred, hint=None):
    if y_true.shape == y_pred.shape:
        return
    if hint is None:
        if _looks_sparse(y_true, y_pred):
            hint = _LABELS_HINT.format(classes=y_pred.shape[-1])
        elif y_true.ndim == y_pred.ndim and y_true.shape[:-1] == y_pred.shape[:-1]:
            hint = (
                f" The model outputs {y_pred.shape[-1]} values per sample but y_true has {y_true.shape[-1]}:"
                f" give the last layer {y_true.shape[-1]} units."
            )
        else:
            hint = f" Reshape y_true to {y_pred.shape}, or change the model so its output matches y_true."
    raise ValueError(
        f"{type(loss).__name__} ('{loss.name}') needs y_true and y_pred of the same shape, but got y_true with "
        f"shape {y_true.shape} and y_pred with shape {y_pred.shape}.{hint}"
    )


def _to_last(x, axis):
    """Move ``axis`` to the end (a no-op, and no call, for the usual axis=-1)."""
    return x if axis == -1 or axis == x.ndim - 1 else np.moveaxis(x, axis, -1)


def _from_last(x, axis):
    return x if axis == -1 or axis == x.ndim - 1 else np.moveaxis(x, -1, axis)


def _pick(x, labels):
    """``x[..., labels]`` row by row: the score of each sample's label."""
    rows = x.reshape(-1, x.shape[-1])
    return rows[np.arange(rows.shape[0]), labels.reshape(-1)].reshape(labels.shape)


def _add_at_labels(grad, labels, amount):
    """``grad[..., labels] += amount`` row by row, in place; returns grad (made C-contiguous if needed)."""
    grad = np.ascontiguousarray(grad)
    rows = grad.reshape(-1, grad.shape[-1])
    rows[np.arange(rows.shape[0]), labels.reshape(-1)] += amount.reshape(-1)
    return grad


def _stable_sigmoid_parts(z):
    """Return (sigmoid(z), exp(-|z|)) without overflow for any z."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e), e


def _softmax_last(z):
    shifted = z - z.max(axis=-1, keepdims=True)  # subtract the row max so exp() cannot overflow
    e = np.exp(shifted)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def _log_softmax_last(z):
    shifted = z - z.max(axis=-1, keepdims=True)  # subtract the row max so exp() cannot overflow
    shifted -= np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return shifted


# ----------------------------------------------------------------------------------------------------------
# Base class
# ----------------------------------------------------------------------------------------------------------


class Loss:
    """Base class of every loss: the Keras reduction pipeline plus gradients with respect to ``y_pred``.

    Subclasses implement ``call(y_true, y_pred)`` (per-sample values) and ``call_gradient(y_true, y_pred,
    upstream)`` (the vector-Jacobian product ``d sum(upstream * call(...)) / d y_pred``); see the module
    docstring for a full example. Both receive arrays already cast to the compute dtype (the dtype of
    ``y_pred`` if it is float32 or float64, else float32, unless ``dtype`` is given) and already matched in
    rank by `squeeze_or_expand_to_same_rank`.

    Args:
        reduction: how per-sample values become one number: ``"sum_over_batch_size"`` (default, the same as
            ``"mean"``: sum divided by the number of values), ``"sum"``, ``"mean_with_sample_weight"`` (sum
            divided by the sum of the sample weights), or ``None``/``"none"`` for the per-sample array.
        name: the loss name; defaults to the snake_case class name (Keras defaults for the built-ins).
        dtype: compute dtype; ``None`` follows ``y_pred`` (float32 in training, float64 in gradient checks).

    Example:
        >>> class MeanFourthPower(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return np.mean((y_pred - y_true) ** 4, axis=-1)
        ...     def call_gradient(self, y_true, y_pred, upstream):
        ...         return upstream[..., None] * 4 * (y_pred - y_true) ** 3 / y_pred.shape[-1]
        >>> MeanFourthPower()([[0.0, 1.0]], [[1.0, 1.0]])
        0.5
    """

    # Class-level defaults keep a subclass working even if its __init__ forgets super().__init__().
    reduction = "sum_over_batch_size"
    name = None
    _dtype = None
    fused_activation = None
    """``"softmax"`` or ``"sigmoid"`` when `logits_gradient` may replace this activation's backward pass."""

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        self.reduction = _standardize_reduction(reduction)
        self.name = name if name is not None else to_snake_case(type(self).__name__)
        self._dtype = _standardize_dtype(dtype)

    # -- what a subclass implements ------------------------------------------------------------------------

    def call(self, y_true, y_pred):
        """Per-sample loss values, shape ``y_pred.shape`` minus the reduced axis. Subclasses implement this.

        Args:
            y_true: targets, cast and rank-matched.
            y_pred: predictions, cast and rank-matched.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement call(y_true, y_pred) returning per-sample values "
            "(see the nbtrain.losses module docstring for an example)."
        )

    def call_gradient(self, y_true, y_pred, upstream):
        """``d sum(upstream * call(y_true, y_pred)) / d y_pred``, shaped like ``y_pred``.

        By default `call` is run again while its ``nbtrain.ops`` are recorded, and their gradients are replayed
        (a `call` written with NumPy functions gets an error naming the ops to use). A subclass may give it by
        hand instead, as the built-ins do.

        Args:
            y_true: targets, as given to `call`.
            y_pred: predictions, as given to `call`.
            upstream: weights of each per-sample value, shaped like the result of `call`.
        """
        from nbtrain.ops import vjp    # the tape is loaded by the first loss that needs it

        _, backward = vjp(lambda predictions: self.call(y_true, predictions), y_pred)
        if not backward.connected:      # training on a zero gradient would silently learn nothing
            raise TypeError(f"The loss {self.name!r} does not depend on y_pred through nbtrain.ops, so it has no "
                            f"gradient: compute it from y_pred with ops (ops.mean(ops.square(y_pred - y_true), "
                            f"axis=-1)), not from converted arrays or constants.")
        (grad,), _ = backward(np.asarray(upstream, dtype=y_pred.dtype))
        return grad

    # -- the pipeline ---------------------------------------------------------------------------------------

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Loss value: cast, match ranks, per-sample values, sample weights, reduction.

        Args:
            y_true: targets.
            y_pred: predictions (or probabilities / logits for crossentropies).
            sample_weight: optional scalar or array broadcastable to the per-sample values.

        Returns:
            A Python float, or an array of per-sample values when ``reduction`` is ``None``/``"none"``.

        Example:
            >>> MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]])
            0.5
        """
        from nbtrain.ops.autodiff import Tensor

        if isinstance(y_pred, Tensor) or isinstance(y_true, Tensor) or isinstance(sample_weight, Tensor):
            return self._tracked_call(y_true, y_pred, sample_weight)
        y_true, y_pred = self._prepare(y_true, y_pred)
        values, cache = self._forward(y_true, y_pred)
        loss, _ = self._reduce(values, sample_weight, self._mask(cache), want_upstream=False)
        return loss

    def _tracked_call(self, y_true, y_pred, sample_weight):
        """The loss inside a layer's ``call()`` (Keras's LogisticEndpoint adds ``self.loss_fn(targets, logits)``
        with ``add_loss``): a tape result whose gradient reaches ``y_pred``, from this loss's own gradient."""
        from nbtrain.ops.autodiff import Tensor, make_result

        if isinstance(y_true, Tensor) and not isinstance(y_pred, Tensor):
            raise TypeError(f"{type(self).__name__} was called inside a call() with targets that carry a "
                            f"gradient but predictions that do not; nbtrain differentiates a loss in y_pred only.")
        if self.reduction in (None, "none"):
            raise TypeError(f"{type(self).__name__}(reduction={self.reduction!r}) gives one value per sample, which "
                            f"nbtrain cannot differentiate inside a call(); use a reduction such as "
                            f"'sum_over_batch_size' there, or write the loss with nbtrain.ops.")
        plain = [getattr(value, "value", value) for value in (y_true, y_pred, sample_weight)]
        loss, grad = self.value_and_gradient(*plain)
        grad = np.asarray(grad)
        return make_result(np.asarray(loss, grad.dtype), [y_pred], [lambda g: g * grad])

    def gradient(self, y_true, y_pred, sample_weight=None):
        """``d loss / d y_pred`` for the reduced loss, an array shaped like ``y_pred``.

        Args:
            y_true: targets.
            y_pred: predictions.
            sample_weight: optional sample weights, as in `__call__`.

        Example:
            >>> MeanSquaredError().gradient([[0.0, 1.0]], [[1.0, 1.0]])
            array([[1., 0.]])
        """
        return self.value_and_gradient(y_true, y_pred, sample_weight)[1]

    def value_and_gradient(self, y_true, y_pred, sample_weight=None):
        """The loss value and ``d loss / d y_pred`` in one pass (the training loop calls this every batch).

        Args:
            y_true: targets.
            y_pred: predictions.
            sample_weight: optional sample weights, as in `__call__`.

        Returns:
            ``(float, array shaped like y_pred)``.

        Example:
            >>> MeanAbsoluteError().value_and_gradient([[0.0, 0.0]], [[2.0, -1.0]])
            (1.5, array([[ 0.5, -0.5]]))
        """
        shape = np.shape(y_pred)
        y_true, y_pred = self._prepare(y_true, y_pred)
        values, cache = self._forward(y_true, y_pred)
        loss, upstream = self._reduce(values, sample_weight, self._mask(cache), want_upstream=True)
        self._require_scalar(upstream)
        return loss, self._backward(cache, upstream).reshape(shape)

    def logits_gradient(self, y_true, probs, sample_weight=None):
        """``d loss / d logits`` where ``probs = fused_activation(logits)`` came from the model's last layer.

        Only for losses whose `fused_activation` is not None. The result is ``(p - y)`` scaled by the sample
        weights and the reduction divisor (divided by the class count for binary crossentropy's mean), with
        no division by ``p``, so a saturated output still gets a useful gradient.

        Args:
            y_true: targets.
            probs: the softmax or sigmoid output of the model.
            sample_weight: optional sample weights, as in `__call__`.

        Example:
            >>> CategoricalCrossentropy().logits_gradient([[0.0, 1.0]], [[0.25, 0.75]])
            array([[ 0.25, -0.25]])
        """
        return self.value_and_logits_gradient(y_true, probs, sample_weight)[1]

    def value_and_logits_gradient(self, y_true, probs, sample_weight=None):
        """The loss of ``probs`` (as `__call__`) and `logits_gradient`, in one pass.

        Args:
            y_true: targets.
            probs: the softmax or sigmoid output of the model.
            sample_weight: optional sample weights, as in `__call__`.

        Example:
            >>> loss, grad = BinaryCrossentropy().value_and_logits_gradient([[1.0]], [[0.5]])
            >>> round(loss, 4), grad
            (0.6931, array([[-0.5]]))
        """
        if self.fused_activation is None:
            raise ValueError(
                f"{self!r} has no fused output activation, so logits_gradient() does not apply. It exists for "
                "softmax + (sparse_)categorical_crossentropy and sigmoid + binary_crossentropy with "
                "from_logits=False; use value_and_gradient() instead."
            )
        shape = np.shape(probs)
        y_true, probs = self._prepare(y_true, probs)
        values, cache = self._forward(y_true, probs)
        loss, upstream = self._reduce(values, sample_weight, self._mask(cache), want_upstream=True)
        self._require_scalar(upstream)
        return loss, self._logits_backward(cache, upstream).reshape(shape)

    def _require_scalar(self, upstream):
        if upstream is None:
            raise ValueError(
                f"{type(self).__name__} has reduction={self.reduction!r}, so it returns per-sample values and has "
                "no single gradient. Use a reduction such as 'sum_over_batch_size' for training, or call "
                "call_gradient(y_true, y_pred, upstream) with your own upstream weights."
            )

    # -- hooks the built-ins override for speed ------------------------------------------------------------

    def _compute_dtype(self, y_pred):
        if self._dtype is not None:
            return self._dtype
        if y_pred.dtype == np.float32 or y_pred.dtype == np.float64:
            return y_pred.dtype
        return np.dtype(np.float32)

    def _prepare(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        if y_pred.ndim == 0:
            raise ValueError(
                f"{type(self).__name__} expects y_pred with at least one axis (one row per sample), "
                f"but got a scalar {y_pred!r}."
            )
        dtype = self._compute_dtype(y_pred)
        y_pred = y_pred.astype(dtype, copy=False)
        y_true = self._cast_y_true(np.asarray(y_true), dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self._standardize(y_true, y_pred)

    def _cast_y_true(self, y_true, dtype):
        return y_true.astype(dtype, copy=False)

    def _standardize(self, y_true, y_pred):
        """Validate shapes (and transform labels) after the ranks were matched."""
        return y_true, y_pred

    def _forward(self, y_true, y_pred):
        """Return (per-sample values, cache for the backward pass)."""
        values = np.asarray(self.call(y_true, y_pred))
        return values, (y_true, y_pred)

    def _backward(self, cache, upstream):
        y_true, y_pred = cache
        grad = np.asarray(self.call_gradient(y_true, y_pred, np.ascontiguousarray(upstream)))
        if grad.shape != y_pred.shape:
            raise ValueError(
                f"{type(self).__name__}.call_gradient() returned shape {grad.shape}, but it must return the "
                f"gradient with respect to y_pred, shaped like y_pred {y_pred.shape}."
            )
        # a copy: the training loop scales gradients in place, and user code may return a view of its inputs
        return np.array(grad, dtype=y_pred.dtype)

    def _logits_backward(self, cache, upstream):
        raise NotImplementedError

    def _mask(self, cache):
        """Positions excluded from the loss (Keras masks), or None."""
        return None

    def _values(self, y_true, y_pred):
        """Per-sample values with casting and rank matching: what the plain loss functions return."""
        return self._forward(*self._prepare(y_true, y_pred))[0]

    def _reduce(self, values, sample_weight, mask, want_upstream):
        """Weight and reduce ``values``; return (loss, d loss / d values or None)."""
        dtype = values.dtype
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=dtype)
        weights = self._merge_mask(weights, mask, dtype)
        shaped_values = values
        if weights is None:
            weighted = values
        else:
            shaped_values, weights = squeeze_or_expand_to_same_rank(values, weights)
            if 0 < weights.ndim < shaped_values.ndim and weights.shape == shaped_values.shape[: weights.ndim]:
                # one weight per sample for per-timestep losses: weight every timestep of that sample
                weights = weights.reshape(weights.shape + (1,) * (shaped_values.ndim - weights.ndim))
            try:
                weighted = shaped_values * weights
            except ValueError:
                raise ValueError(
                    f"sample_weight with shape {np.shape(sample_weight)} does not fit the per-sample losses of "
                    f"shape {values.shape} from {type(self).__name__}. Pass a scalar, one weight per sample "
                    f"(shape ({values.shape[0] if values.ndim else 1},)), or weights of shape {values.shape}."
                ) from None
        if self.reduction in (None, "none") and weighted.ndim > 0:
            return weighted, None
        if weighted.size == 0:
            loss, divisor = 0.0, 0.0
        elif weighted.ndim == 0:
            loss, divisor = float(weighted), 1.0
        else:
            divisor = self._divisor(weighted, weights)
            loss = float(weighted.sum() / divisor) if divisor != 0 else 0.0
        if not want_upstream:
            return loss, None
        if divisor == 0:
            return loss, np.zeros(values.shape, dtype)
        if weights is None:
            return loss, np.full(values.shape, 1.0 / divisor, dtype=dtype)
        scale = np.broadcast_to(weights / np.asarray(divisor, dtype=dtype), weighted.shape)
        return loss, _sum_to_shape(scale, shaped_values.shape).reshape(values.shape)

    def _divisor(self, weighted, weights):
        if self.reduction == "sum":
            return 1.0
        if self.reduction == "mean_with_sample_weight" and weights is not None:
            return float(weights.sum())
        return float(weighted.size)

    def _merge_mask(self, weights, mask, dtype):
        """Keras ``apply_mask``: fold a mask into the sample weights (valid positions averaged over)."""
        if mask is None:
            return weights
        mask = mask.astype(dtype)
        if self.reduction in ("sum_over_batch_size", "mean"):
            # Keras scales valid entries by total/valid so that dividing by the element count averages over
            # the valid positions only; its epsilon keeps an all-masked batch at 0 instead of nan.
            mask *= mask.size / (mask.sum() + EPSILON)
        if weights is None:
            return mask
        mask, weights = squeeze_or_expand_to_same_rank(mask, weights)
        return weights * mask

    # -- configuration -------------------------------------------------------------------------------------

    @property
    def dtype(self):
        """The compute dtype name; ``"float32"`` unless set (``None`` in the config follows ``y_pred``)."""
        return "float32" if self._dtype is None else self._dtype.name

    def get_config(self):
        """Constructor arguments as a plain dict, so ``type(loss).from_config(loss.get_config())`` rebuilds it.

        Example:
            >>> Huber(delta=2.0).get_config()["delta"]
            2.0
        """
        return {
            "name": self.name,
            "reduction": self.reduction,
            "dtype": None if self._dtype is None else self._dtype.name,
        }

    @classmethod
    def from_config(cls, config):
        """Build a loss from `get_config`'s dict.

        Args:
            config: the dict returned by `get_config`.

        Example:
            >>> CategoricalCrossentropy.from_config({"from_logits": True})
            CategoricalCrossentropy(from_logits=True)
        """
        return cls(**config)

    _repr_always = ()

    def __repr__(self):
        try:
            defaults = {
                key: p.default
                for key, p in inspect.signature(type(self).__init__).parameters.items()
                if p.default is not inspect.Parameter.empty
            }
            config = self.get_config()
        except Exception:  # a user subclass with an unusual __init__ still gets a repr
            return f"{type(self).__name__}()"
        if defaults.get("name", "") is None:
            defaults["name"] = to_snake_case(type(self).__name__)
        parts = []
        for key, value in config.items():
            if key in self._repr_always or (key in defaults and defaults[key] != value):
                parts.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


# ----------------------------------------------------------------------------------------------------------
# Element-wise losses averaged over the last axis
# ----------------------------------------------------------------------------------------------------------


class _BuiltinLoss(Loss):
    """A built-in that implements `_forward`/`_backward` directly; `call` and `call_gradient` reuse them."""

    def call(self, y_true, y_pred):
        """Per-sample loss values.

        Args:
            y_true: targets.
            y_pred: predictions.
        """
        return self._forward(y_true, y_pred)[0]

    def call_gradient(self, y_true, y_pred, upstream):
        """``d sum(upstream * call(y_true, y_pred)) / d y_pred``.

        Args:
            y_true: targets.
            y_pred: predictions.
            upstream: weights shaped like the result of `call`.
        """
        return self._backward(self._forward(y_true, y_pred)[1], np.asarray(upstream, dtype=y_pred.dtype))


class _ElementwiseMeanLoss(_BuiltinLoss):
    """A loss ``mean_axis(f(y_true, y_pred))`` with an element-wise ``f``: subclasses give f and f'."""

    _axis = -1

    def _elements(self, y_true, y_pred):
        """Return (f(y_true, y_pred), cache)."""
        raise NotImplementedError

    def _element_gradient(self, cache):
        """Return d f / d y_pred as a fresh array (it is scaled in place)."""
        raise NotImplementedError

    def _standardize(self, y_true, y_pred):
        _require_same_shape(self, y_true, y_pred)
        return y_true, y_pred

    def _forward(self, y_true, y_pred):
        elements, cache = self._elements(y_true, y_pred)
        axis = self._axis % y_pred.ndim
        return elements.mean(axis=axis), (cache, axis, y_pred.shape[axis])

    def _backward(self, cache, upstream):
        cache, axis, count = cache
        grad = self._element_gradient(cache)
        grad *= np.expand_dims(upstream, axis) / count
        return grad


class MeanSquaredError(_ElementwiseMeanLoss):
    """Mean of the squared errors over the last axis: ``mean((y_true - y_pred) ** 2)``.

    Args:
        reduction: see `Loss`.
        name: defaults to ``"mean_squared_error"``.
        dtype: see `Loss`.

    Example:
        >>> MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]])
        0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def _elements(self, y_true, y_pred):
        diff = y_pred - y_true
        return diff * diff, diff

    def _element_gradient(self, diff):
        return 2.0 * diff


class MeanAbsoluteError(_ElementwiseMeanLoss):
    """Mean of the absolute errors over the last axis: ``mean(|y_true - y_pred|)``.

    Args:
        reduction: see `Loss`.
        name: defaults to ``"mean_absolute_error"``.
        dtype: see `Loss`.

    Example:
        >>> MeanAbsoluteError()([[0.0, 1.0]], [[2.0, 1.0]])
        1.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def _elements(self, y_true, y_pred):
        diff = y_pred - y_true
        return np.abs(diff), diff

    def _element_gradient(self, diff):
        return np.sign(diff)


class MeanAbsolutePercentageError(_ElementwiseMeanLoss):
    """``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7))`` over the last axis.

    Args:
        reduction: see `Loss`.
        name: defaults to ``"mean_absolute_percentage_error"``.
        dtype: see `Loss`.

    Example:
        >>> MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 4.0]])
        25.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def _elements(self, y_true, y_pred):
        diff = y_pred - y_true
        scale = 100.0 / np.maximum(np.abs(y_true), EPSILON)
        return np.abs(diff) * scale, (diff, scale)

    def _element_gradient(self, cache):
        diff, scale = cache
        return np.sign(diff) * scale


class MeanSquaredLogarithmicError(_ElementwiseMeanLoss):
    """``mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1)) ** 2)`` over the last axis.

    Args:
        reduction: see `Loss`.
        name: defaults to ``"mean_squared_logarithmic_error"``.
        dtype: see `Loss`.

    Example:
        >>> round(MeanSquaredLogarithmicError()([[0.0]], [[np.e - 1]]), 4)
        1.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def _elements(self, y_true, y_pred):
        shifted = np.maximum(y_pred, EPSILON) + 1.0
        diff = np.log(shifted) - np.log(np.maximum(y_true, EPSILON) + 1.0)
        return diff * diff, (diff, shifted, y_pred)

    def _element_gradient(self, cache):
        diff, shifted, y_pred = cache
        return np.where(y_pred > EPSILON, 2.0 * diff / shifted, 0.0).astype(y_pred.dtype, copy=False)


class LogCosh(_ElementwiseMeanLoss):
    """Mean over the last axis of ``log(cosh(y_pred - y_true))``, computed without overflow.

    Args:
        reduction: see `Loss`.
        name: defaults to ``"log_cosh"``.
        dtype: see `Loss`.

    Example:
        >>> round(LogCosh()([[0.0]], [[1.0]]), 4)
        0.4338
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def _elements(self, y_true, y_pred):
        x = y_pred - y_true
        # log(cosh x) = x + softplus(-2x) - log 2 stays finite for large |x|
        return x + np.logaddexp(0.0, -2.0 * x) - _LOG2, x

    def _element_gradient(self, x):
        return np.tanh(x)


class Huber(_ElementwiseMeanLoss):
    """Quadratic for small errors, linear beyond ``delta``: mean over the last axis.

    ``0.5 * e**2`` where ``|e| <= delta``, else ``delta * |e| - 0.5 * delta**2``, with ``e = y_pred - y_true``.

    Args:
        delta: where the loss turns from quadratic to linear (positive).
        reduction: see `Loss`.
        name: defaults to ``"huber_loss"``.
        dtype: see `Loss`.

    Example:
        >>> Huber(delta=1.0)([[0.0, 0.0]], [[0.5, 3.0]])
        1.3125
    """

    _repr_always = ("delta",)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        delta = float(delta)
        if not delta > 0:
            raise ValueError(f"Huber delta must be positive, but got delta={delta}.")
        self.delta = delta

    def _elements(self, y_true, y_pred):
        error = y_pred - y_true
        abs_error = np.abs(error)
        quadratic = 0.5 * error * error
        linear = self.delta * abs_error - 0.5 * self.delta**2
        return np.where(abs_error <= self.delta, quadratic, linear), error

    def _element_gradient(self, error):
        return np.clip(error, -self.delta, self.delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


def _hinge_labels(y_true):
    """Keras converts 0/1 labels to -1/+1, but only when every label is 0 or 1."""
    if np.all((y_true == 0) | (y_true == 1)):
        return 2.0 * y_true - 1.0
    return y_true


class Hinge(_ElementwiseMeanLoss):
    """``mean(max(1 - y_true * y_pred, 0))`` over the last axis; 0/1 labels become -1/+1.

    Args:
        reduction: see `Loss`.
        name: defaults to ``"hinge"``.
        dtype: see `Loss`.

    Example:
        >>> Hinge()([[0.0, 1.0]], [[0.6, 0.4]])
        1.1
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def _elements(self, y_true, y_pred):
        labels = _hinge_labels(y_true)
        margin = np.maximum(1.0 - labels * y_pred, 0.0)
        return margin, (labels, margin)

    def _element_gradient(self, cache):
        labels, margin = cache
        return np.where(margin > 0, -labels, 0.0).astype(margin.dtype, copy=False)


class SquaredHinge(_ElementwiseMeanLoss):
    """``mean(max(1 - y_true * y_pred, 0) ** 2)`` over the last axis; 0/1 labels become -1/+1.

    Args:
        reduction: see `Loss`.
        name: defaults to ``"squared_hinge"``.
        dtype: see `Loss`.

    Example:
        >>> round(SquaredHinge()([[0.0, 1.0]], [[0.6, 0.4]]), 4)
        1.46
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def _elements(self, y_true, y_pred):
        labels = _hinge_labels(y_true)
        margin = np.maximum(1.0 - labels * y_pred, 0.0)
        return margin * margin, (labels, margin)

    def _element_gradient(self, cache):
        labels, margin = cache
        return -2.0 * labels * margin


class Poisson(_ElementwiseMeanLoss):
    """``mean(y_pred - y_true * log(y_pred + 1e-7))`` over the last axis (for count targets).

    Args:
        reduction: see `Loss`.
        name: defaults to ``"poisson"``.
        dtype: see `Loss`.

    Example:
        >>> Poisson()([[0.0]], [[2.0]])
        2.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def _elements(self, y_true, y_pred):
        shifted = y_pred + EPSILON
        return y_pred - y_true * np.log(shifted), (y_true, shifted)

    def _element_gradient(self, cache):
        y_true, shifted = cache
        return 1.0 - y_true / shifted


class BinaryCrossentropy(_ElementwiseMeanLoss):
    """Binary crossentropy averaged over ``axis``, for 0/1 (or soft) targets.

    From probabilities (``from_logits=False``) the predictions are clipped to ``[1e-7, 1 - 1e-7]`` as in
    Keras; from logits the loss uses a log-sigmoid that cannot overflow. With ``label_smoothing`` the
    targets become ``y * (1 - ls) + 0.5 * ls``. After a sigmoid output layer the training loop uses the fused
    gradient `logits_gradient`.

    Args:
        from_logits: whether ``y_pred`` holds logits instead of probabilities.
        label_smoothing: in ``[0, 1]``.
        axis: the axis to average over.
        reduction: see `Loss`.
        name: defaults to ``"binary_crossentropy"``.
        dtype: see `Loss`.

    Example:
        >>> round(BinaryCrossentropy()([[1.0, 0.0]], [[0.8, 0.2]]), 4)
        0.2231
    """

    _repr_always = ("from_logits",)

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
        dtype=None,
    ):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = _check_axis(axis)

    @property
    def _axis(self):
        return self.axis

    @property
    def fused_activation(self):
        """``"sigmoid"`` for probabilities: a sigmoid output layer may use `logits_gradient`."""
        return None if self.from_logits else "sigmoid"

    def _standardize(self, y_true, y_pred):
        hint = None
        if _looks_sparse(y_true, y_pred):
            hint = (
                f" y_true looks like integer class labels for {y_pred.shape[-1]} classes: with a softmax output "
                "use loss='sparse_categorical_crossentropy'."
            )
        _require_same_shape(self, y_true, y_pred, hint)
        return y_true, y_pred

    def _smooth(self, y_true):
        if self.label_smoothing:
            return y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        return y_true

    def _elements(self, y_true, y_pred):
        target = self._smooth(y_true)
        if self.from_logits:
            # softplus(+-z) from one exp: log(1 + e^z) = max(z, 0) + log1p(e^-|z|)
            e = np.exp(-np.abs(y_pred))
            tail = np.log1p(e)
            softplus_pos = np.maximum(y_pred, 0.0) + tail
            softplus_neg = np.maximum(-y_pred, 0.0) + tail
            return target * softplus_neg + (1.0 - target) * softplus_pos, (target, y_pred, e)
        q = np.clip(y_pred, _CLIP_LOW, _CLIP_HIGH)
        return -(target * np.log(q) + (1.0 - target) * np.log(1.0 - q)), (target, y_pred, q)

    def _element_gradient(self, cache):
        target, y_pred, extra = cache
        if self.from_logits:
            e = extra
            return np.where(y_pred >= 0, 1.0, e) / (1.0 + e) - target
        q = extra
        inside = (y_pred >= _CLIP_LOW) & (y_pred <= _CLIP_HIGH)
        return np.where(inside, (q - target) / (q * (1.0 - q)), 0.0).astype(y_pred.dtype, copy=False)

    def _logits_backward(self, cache, upstream):
        (target, probs, _), axis, count = cache
        return (probs - target) * (np.expand_dims(upstream, axis) / count)

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


class BinaryFocalCrossentropy(BinaryCrossentropy):
    """Binary crossentropy down-weighting easy examples by ``(1 - p_t) ** gamma`` (Keras formula).

    ``p_t = y * p + (1 - y) * (1 - p)`` uses the unclipped probability; the crossentropy factor is clipped as
    in `BinaryCrossentropy`. With ``apply_class_balancing`` each term is also weighted by
    ``y * alpha + (1 - y) * (1 - alpha)``.

    Args:
        apply_class_balancing: weight the positive class by ``alpha`` and the negative by ``1 - alpha``.
        alpha: the balancing weight, in ``[0, 1]``.
        gamma: the focusing parameter, ``>= 0`` (0 gives plain binary crossentropy).
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in ``[0, 1]``.
        axis: the axis to average over.
        reduction: see `Loss`.
        name: defaults to ``"binary_focal_crossentropy"``.
        dtype: see `Loss`.

    Example:
        >>> round(BinaryFocalCrossentropy(gamma=2.0)([[1.0, 0.0]], [[0.9, 0.8]]), 4)
        0.5155
    """

    _repr_always = ("gamma", "from_logits")

    def __init__(
        self,
        apply_class_balancing=False,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_focal_crossentropy",
        dtype=None,
    ):
        super().__init__(
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
            reduction=reduction,
            name=name,
            dtype=dtype,
        )
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha = float(alpha)
        self.gamma = float(gamma)
        if self.gamma < 0:
            raise ValueError(f"gamma must be >= 0, but got gamma={self.gamma}.")

    fused_activation = None

    def _elements(self, y_true, y_pred):
        target = self._smooth(y_true)
        p = _stable_sigmoid_parts(y_pred)[0] if self.from_logits else y_pred
        q = np.clip(p, _CLIP_LOW, _CLIP_HIGH)
        bce = -(target * np.log(q) + (1.0 - target) * np.log(1.0 - q))
        one_minus_pt = 1.0 - (target * p + (1.0 - target) * (1.0 - p))
        focal = np.power(one_minus_pt, self.gamma)
        elements = focal * bce
        balance = None
        if self.apply_class_balancing:
            balance = target * self.alpha + (1.0 - target) * (1.0 - self.alpha)
            elements = elements * balance
        return elements, (target, p, q, bce, one_minus_pt, focal, balance)

    def _element_gradient(self, cache):
        target, p, q, bce, one_minus_pt, focal, balance = cache
        # d(1 - p_t)/dp = 1 - 2y; the power's derivative is guarded where its base is 0
        d_focal = np.zeros_like(p)
        if self.gamma:
            np.power(one_minus_pt, self.gamma - 1.0, out=d_focal, where=one_minus_pt > 0)
            d_focal *= self.gamma * (1.0 - 2.0 * target)
        inside = (p >= _CLIP_LOW) & (p <= _CLIP_HIGH)
        d_bce = np.where(inside, (q - target) / (q * (1.0 - q)), 0.0)
        grad = d_focal * bce + focal * d_bce
        if balance is not None:
            grad *= balance
        if self.from_logits:
            grad *= p * (1.0 - p)
        return grad.astype(p.dtype, copy=False)

    def _logits_backward(self, cache, upstream):
        raise NotImplementedError

    def get_config(self):
        return {
            **super().get_config(),
            "apply_class_balancing": self.apply_class_balancing,
            "alpha": self.alpha,
            "gamma": self.gamma,
        }


# ----------------------------------------------------------------------------------------------------------
# Losses over a whole axis
# ----------------------------------------------------------------------------------------------------------


class KLDivergence(_BuiltinLoss):
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))`` over the last axis.

    Both arrays are clipped to ``[1e-7, 1]`` first, as in Keras.

    Args:
        reduction: see `Loss`.
        name: defaults to ``"kl_divergence"``.
        dtype: see `Loss`.

    Example:
        >>> round(KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]]), 4)
        0.1438
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def _standardize(self, y_true, y_pred):
        _require_same_shape(self, y_true, y_pred)
        return y_true, y_pred

    def _forward(self, y_true, y_pred):
        target = np.clip(y_true, EPSILON, 1.0)
        q = np.clip(y_pred, EPSILON, 1.0)
        return np.sum(target * np.log(target / q), axis=-1), (target, y_pred, q)

    def _backward(self, cache, upstream):
        target, y_pred, q = cache
        inside = (y_pred >= EPSILON) & (y_pred <= 1.0)
        grad = np.where(inside, -target / q, 0.0).astype(y_pred.dtype, copy=False)
        grad *= upstream[..., None]
        return grad


class CosineSimilarity(_BuiltinLoss):
    """Negative cosine similarity along ``axis``: -1 when the vectors point the same way, +1 when opposite.

    Each vector is divided by ``sqrt(max(sum(x ** 2), 1e-12))``, so a zero vector gives 0, not nan.

    Args:
        axis: the axis holding the vector components.
        reduction: see `Loss`.
        name: defaults to ``"cosine_similarity"``.
        dtype: see `Loss`.

    Example:
        >>> CosineSimilarity()([[1.0, 0.0]], [[2.0, 0.0]])
        -1.0
    """

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.axis = _check_axis(axis)

    def _standardize(self, y_true, y_pred):
        _require_same_shape(self, y_true, y_pred)
        return y_true, y_pred

    def _forward(self, y_true, y_pred):
        axis = self.axis % y_pred.ndim
        unit_true = y_true / np.sqrt(np.maximum(np.sum(y_true * y_true, axis=axis, keepdims=True), 1e-12))
        squares = np.sum(y_pred * y_pred, axis=axis, keepdims=True)
        norm = np.sqrt(np.maximum(squares, 1e-12))
        unit_pred = y_pred / norm
        cosine = np.sum(unit_true * unit_pred, axis=axis, keepdims=True)
        return -np.squeeze(cosine, axis), (unit_true, unit_pred, norm, squares > 1e-12, cosine, axis)

    def _backward(self, cache, upstream):
        unit_true, unit_pred, norm, normalized, cosine, axis = cache
        # where the norm was not floored, the normalisation removes the component along y_pred
        grad = np.where(normalized, unit_pred * cosine, 0.0) - unit_true
        grad *= np.expand_dims(upstream, axis) / norm
        return grad.astype(unit_pred.dtype, copy=False)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class CategoricalHinge(_BuiltinLoss):
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis (one-hot labels).

    Args:
        reduction: see `Loss`.
        name: defaults to ``"categorical_hinge"``.
        dtype: see `Loss`.

    Example:
        >>> CategoricalHinge()([[0.0, 1.0]], [[0.6, 0.4]])
        1.2
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def _standardize(self, y_true, y_pred):
        _require_same_shape(self, y_true, y_pred)
        return y_true, y_pred

    def _forward(self, y_true, y_pred):
        positive = np.sum(y_true * y_pred, axis=-1)
        others = (1.0 - y_true) * y_pred
        index = np.argmax(others, axis=-1)[..., None]
        negative = np.take_along_axis(others, index, axis=-1)[..., 0]
        values = np.maximum(negative - positive + 1.0, 0.0)
        return values, (y_true, index, values)

    def _backward(self, cache, upstream):
        y_true, index, values = cache
        active = np.where(values > 0, upstream, 0.0)[..., None].astype(y_true.dtype, copy=False)
        grad = -y_true * active
        at_max = np.take_along_axis(grad, index, axis=-1) + (1.0 - np.take_along_axis(y_true, index, -1)) * active
        np.put_along_axis(grad, index, at_max, axis=-1)
        return grad


class CategoricalCrossentropy(_BuiltinLoss):
    """Crossentropy between one-hot (or soft) targets and class probabilities along ``axis``.

    From probabilities, as Keras: ``p = y_pred / sum(y_pred)`` (renormalised), clipped to ``[1e-7, 1 - 1e-7]``,
    then ``-sum(y_true * log p)``. From logits: ``-sum(y_true * log_softmax(y_pred))``. After a softmax output
    layer the training loop uses the fused gradient `logits_gradient` (``p - y``). For integer labels use
    `SparseCategoricalCrossentropy`.

    Args:
        from_logits: whether ``y_pred`` holds logits instead of probabilities.
        label_smoothing: in ``[0, 1]``; targets become ``y * (1 - ls) + ls / num_classes``.
        axis: the class axis.
        reduction: see `Loss`.
        name: defaults to ``"categorical_crossentropy"``.
        dtype: see `Loss`.

    Example:
        >>> round(CategoricalCrossentropy()([[0.0, 1.0, 0.0]], [[0.1, 0.8, 0.1]]), 4)
        0.2231
    """

    _repr_always = ("from_logits",)

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = _check_axis(axis)

    @property
    def fused_activation(self):
        """``"softmax"`` for probabilities over the last axis: a softmax output may use `logits_gradient`."""
        return "softmax" if not self.from_logits and self.axis == -1 else None

    def _standardize(self, y_true, y_pred):
        if y_pred.shape[self.axis % y_pred.ndim] == 1:
            warnings.warn(
                f"{type(self).__name__} received y_pred with a single class (shape {y_pred.shape}), so the loss "
                "is always 0. For two classes with one sigmoid output use loss='binary_crossentropy'.",
                SyntaxWarning,
                stacklevel=4,
            )
        _require_same_shape(self, y_true, y_pred)
        return y_true, y_pred

    def _targets(self, y_true):
        if self.label_smoothing:
            return y_true * (1.0 - self.label_smoothing) + self.label_smoothing / y_true.shape[-1]
        return y_true

    def _forward(self, y_true, y_pred):
        target = self._targets(_to_last(y_true, self.axis))
        scores = _to_last(y_pred, self.axis)
        if self.from_logits:
            log_probs = _log_softmax_last(scores)
            return -np.sum(target * log_probs, axis=-1), (target, scores, log_probs)
        total = scores.sum(axis=-1, keepdims=True)
        p = scores / total
        q = np.clip(p, _CLIP_LOW, _CLIP_HIGH)
        return -np.sum(target * np.log(q), axis=-1), (target, scores, (p, q, total))

    def _backward(self, cache, upstream):
        target, scores, extra = cache
        weight = upstream[..., None]
        if self.from_logits:
            grad = np.exp(extra) * target.sum(axis=-1, keepdims=True) - target
        else:
            # d/dp of -sum(t log clip(p)), then through p = y / sum(y)
            p, q, total = extra
            inside = (p >= _CLIP_LOW) & (p <= _CLIP_HIGH)
            d_p = np.where(inside, -target / q, 0.0)
            grad = (d_p - np.sum(d_p * p, axis=-1, keepdims=True)) / total
        grad *= weight
        return _from_last(grad.astype(scores.dtype, copy=False), self.axis)

    def _logits_backward(self, cache, upstream):
        target, probs, _ = cache
        # d/dz of -sum(t * log_softmax(z)) is softmax(z) * sum(t) - t; sum(t) is 1 for one-hot labels
        grad = probs * target.sum(axis=-1, keepdims=True) - target
        grad *= upstream[..., None]
        return grad

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


class CategoricalFocalCrossentropy(CategoricalCrossentropy):
    """Categorical crossentropy with each class term scaled by ``alpha * (1 - p) ** gamma`` (Keras formula).

    Args:
        alpha: the weighting factor.
        gamma: the focusing parameter, ``>= 0``.
        from_logits: whether ``y_pred`` holds logits (a softmax is applied first).
        label_smoothing: in ``[0, 1]``.
        axis: the class axis.
        reduction: see `Loss`.
        name: defaults to ``"categorical_focal_crossentropy"``.
        dtype: see `Loss`.

    Example:
        >>> round(CategoricalFocalCrossentropy()([[0.0, 1.0]], [[0.5, 0.5]]), 4)
        0.0433
    """

    _repr_always = ("gamma", "from_logits")
    fused_activation = None

    def __init__(
        self,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_focal_crossentropy",
        dtype=None,
    ):
        super().__init__(
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
            reduction=reduction,
            name=name,
            dtype=dtype,
        )
        self.alpha = float(alpha)
        self.gamma = float(gamma)
        if self.gamma < 0:
            raise ValueError(f"gamma must be >= 0, but got gamma={self.gamma}.")

    def _forward(self, y_true, y_pred):
        target = self._targets(_to_last(y_true, self.axis))
        scores = _to_last(y_pred, self.axis)
        probs = _softmax_last(scores) if self.from_logits else scores
        total = probs.sum(axis=-1, keepdims=True)
        p = probs / total
        q = np.clip(p, _CLIP_LOW, _CLIP_HIGH)
        log_q = np.log(q)
        modulation = np.power(1.0 - q, self.gamma)
        values = np.sum(self.alpha * modulation * (-target * log_q), axis=-1)
        return values, (target, scores, (probs, total, p, q, log_q, modulation))

    def _backward(self, cache, upstream):
        target, scores, (probs, total, p, q, log_q, modulation) = cache
        one_minus_q = 1.0 - q
        d_q = self.alpha * (
            self.gamma * np.power(one_minus_q, self.gamma - 1.0) * target * log_q - modulation * target / q
        )
        inside = (p >= _CLIP_LOW) & (p <= _CLIP_HIGH)
        d_p = np.where(inside, d_q, 0.0)
        grad = (d_p - np.sum(d_p * p, axis=-1, keepdims=True)) / total
        if self.from_logits:
            grad = probs * (grad - np.sum(grad * probs, axis=-1, keepdims=True))
        grad *= upstream[..., None]
        return _from_last(grad.astype(scores.dtype, copy=False), self.axis)

    def _logits_backward(self, cache, upstream):
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "gamma": self.gamma}


class SparseCategoricalCrossentropy(_BuiltinLoss):
    """Categorical crossentropy with integer class labels instead of one-hot vectors.

    ``y_true`` holds class ids with shape ``y_pred.shape`` minus the class axis (a trailing axis of size 1 is
    also accepted). Labels equal to ``ignore_class`` contribute 0 and are left out of the average.

    Args:
        from_logits: whether ``y_pred`` holds logits instead of probabilities.
        ignore_class: a label value to skip (for example a padding id), or None.
        axis: the class axis of ``y_pred``.
        reduction: see `Loss`.
        name: defaults to ``"sparse_categorical_crossentropy"``.
        dtype: see `Loss`.

    Example:
        >>> round(SparseCategoricalCrossentropy()([1], [[0.1, 0.8, 0.1]]), 4)
        0.2231
    """

    _repr_always = ("from_logits",)

    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        axis=-1,
        reduction="sum_over_batch_size",
        name="sparse_categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.from_logits = bool(from_logits)
        if ignore_class is not None:
            if isinstance(ignore_class, bool) or not float(ignore_class).is_integer():
                raise ValueError(f"ignore_class must be an integer label or None, but got {ignore_class!r}.")
            ignore_class = int(ignore_class)
        self.ignore_class = ignore_class
        self.axis = _check_axis(axis)

    @property
    def fused_activation(self):
        """``"softmax"`` for probabilities over the last axis: a softmax output may use `logits_gradient`."""
        return "softmax" if not self.from_logits and self.axis == -1 else None

    def _cast_y_true(self, y_true, dtype):
        return y_true

    def _standardize(self, y_true, y_pred):
        axis = self.axis % y_pred.ndim
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        expected = y_pred.shape[:axis] + y_pred.shape[axis + 1 :]
        classes = y_pred.shape[axis]
        if y_true.shape != expected:
            hint = f" Pass one integer label per sample, shape {expected}."
            if y_true.shape == y_pred.shape:
                hint = (
                    " y_true looks one-hot encoded: use loss='categorical_crossentropy', or convert it to labels "
                    "with y.argmax(axis=-1)."
                )
            raise ValueError(
                f"{type(self).__name__} ('{self.name}') expects integer labels of shape {expected} (or "
                f"{expected + (1,)}) for y_pred of shape {y_pred.shape}, but got y_true with shape "
                f"{y_true.shape}.{hint}"
            )
        return self._labels(y_true, classes), y_pred

    def _labels(self, y_true, classes):
        labels = y_true.astype(np.intp, copy=False)
        if y_true.dtype.kind not in "iub" and np.any(labels != y_true):
            bad = y_true[labels != y_true].flat[0]
            raise ValueError(
                f"{type(self).__name__} needs integer class labels, but y_true contains {bad!r}. For one-hot or "
                "probability targets use loss='categorical_crossentropy'."
            )
        checked = labels if self.ignore_class is None else labels[labels != self.ignore_class]
        if checked.size and (checked.min() < 0 or checked.max() >= classes):
            bad = checked.min() if checked.min() < 0 else checked.max()
            raise ValueError(
                f"{type(self).__name__} received label {int(bad)}, but y_pred has {classes} classes, so labels "
                f"must be integer class ids in [0, {classes}). Give the last layer more units, or remap the labels "
                "to 0..num_classes-1."
            )
        return labels

    def _forward(self, y_true, y_pred):
        labels = y_true
        valid = None
        if self.ignore_class is not None:
            valid = labels != self.ignore_class
            labels = np.where(valid, labels, 0)
        scores = _to_last(y_pred, self.axis)
        if self.from_logits:
            log_probs = _log_softmax_last(scores)
            values = -_pick(log_probs, labels)
            extra = log_probs
        else:
            total = scores.sum(axis=-1)
            p = _pick(scores, labels) / total
            q = np.clip(p, _CLIP_LOW, _CLIP_HIGH)
            values = -np.log(q)
            extra = (total, p, q)
        if valid is not None:
            values = np.where(valid, values, 0.0).astype(scores.dtype, copy=False)
        return values, (labels, valid, scores, extra)

    def _mask(self, cache):
        return cache[1]

    def _weight(self, valid, upstream, dtype):
        weight = np.asarray(upstream, dtype=dtype)
        return weight if valid is None else np.where(valid, weight, 0.0).astype(dtype, copy=False)

    def _backward(self, cache, upstream):
        labels, valid, scores, extra = cache
        weight = self._weight(valid, upstream, scores.dtype)
        if self.from_logits:
            grad = _add_at_labels(np.exp(extra) * weight[..., None], labels, -weight)
        else:
            # only p[label] enters the loss; p = y / sum(y) couples it to every class
            total, p, q = extra
            inside = (p >= _CLIP_LOW) & (p <= _CLIP_HIGH)
            d_p = np.where(inside, -1.0 / q, 0.0) * weight
            grad = np.empty(scores.shape, dtype=scores.dtype)
            grad[...] = (-d_p * p / total)[..., None]
            grad = _add_at_labels(grad, labels, d_p / total)
        return _from_last(grad.astype(scores.dtype, copy=False), self.axis)

    def _logits_backward(self, cache, upstream):
        labels, valid, probs, _ = cache
        weight = self._weight(valid, upstream, probs.dtype)
        return _add_at_labels(probs * weight[..., None], labels, -weight)

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "ignore_class": self.ignore_class,
            "axis": self.axis,
        }


# ----------------------------------------------------------------------------------------------------------
# Segmentation overlap (Dice, Tversky), metric learning (Circle), noise-robust crossentropy
# ----------------------------------------------------------------------------------------------------------


def _check_overlap_axis(axis):
    """None (every axis), an int, or a tuple/list of ints; a list becomes a tuple (JSON configs hold lists)."""
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        return tuple(_check_axis(a) for a in axis)
    return _check_axis(axis)


def _overlap_axes(loss, ndim):
    """The loss's ``axis`` as a tuple of non-negative axes of a rank-``ndim`` array."""
    if loss.axis is None:
        return tuple(range(ndim))
    axes = loss.axis if isinstance(loss.axis, tuple) else (loss.axis,)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{type(loss).__name__} ('{loss.name}') has axis={loss.axis!r}, but y_pred has only {ndim} axes. "
                f"Pass axes in [-{ndim}, {ndim}), e.g. axis={tuple(range(1, ndim))} for one value per sample."
            )
    return tuple(sorted({a % ndim for a in axes}))


class _OverlapLoss(_BuiltinLoss):
    """``1 - overlap`` of a soft prediction and a target mask, summed over ``axis`` (every axis by default)."""

    def _standardize(self, y_true, y_pred):
        _require_same_shape(self, y_true, y_pred)
        return y_true, y_pred

    def _sums(self, y_true, y_pred):
        axes = _overlap_axes(self, y_pred.ndim)
        intersection = np.sum(y_true * y_pred, axis=axes, keepdims=True)
        return axes, intersection

    @staticmethod
    def _squeeze(values, axes):
        return np.squeeze(values, axis=axes) if axes else values

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dice(_OverlapLoss):
    """Dice loss ``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7)`` (image segmentation).

    With ``axis=None`` (Keras's default) the sums run over every axis, batch included, so the loss is one
    number per batch; pass ``axis=(1, 2, 3)`` for one value per image of a ``(batch, height, width, channels)``
    mask.

    Args:
        reduction: see `Loss`.
        name: defaults to ``"dice"``.
        axis: the axes summed over: None (all), an int or a tuple of ints.
        dtype: see `Loss`.

    Example:
        >>> y_true = [[1.0, 1.0, 0.0, 0.0]]
        >>> round(Dice()(y_true, [[0.0, 1.0, 0.0, 1.0]]), 4)
        0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.axis = _check_overlap_axis(axis)

    def _forward(self, y_true, y_pred):
        axes, intersection = self._sums(y_true, y_pred)
        total = np.sum(y_true, axis=axes, keepdims=True) + np.sum(y_pred, axis=axes, keepdims=True) + EPSILON
        values = 1.0 - 2.0 * intersection / total
        return self._squeeze(values, axes), (y_true, axes, intersection, total)

    def _backward(self, cache, upstream):
        y_true, axes, intersection, total = cache
        upstream = np.expand_dims(upstream, axes) if axes else upstream
        # d/dp of -2 I / T with dI/dp = y_true and dT/dp = 1
        grad = (2.0 * intersection / total - 2.0 * y_true) / total
        grad *= upstream
        return grad.astype(y_true.dtype, copy=False)


class Tversky(_OverlapLoss):
    """Tversky loss ``1 - I / (I + alpha * A + beta * B + 1e-7)``: Dice with separate weights for the two errors.

    ``I = sum(y_true * y_pred)``, ``A = sum(y_true * (1 - y_pred))`` (target pixels missed) and
    ``B = sum((1 - y_true) * y_pred)`` (pixels predicted outside the target), summed over ``axis`` as in
    `Dice`; ``alpha = beta = 0.5`` gives the Dice loss. (Keras names the ``alpha`` term "false positives";
    the formula is the same.)

    Args:
        alpha: weight of ``A``.
        beta: weight of ``B``.
        reduction: see `Loss`.
        name: defaults to ``"tversky"``.
        axis: the axes summed over: None (all), an int or a tuple of ints.
        dtype: see `Loss`.

    Example:
        >>> round(Tversky(alpha=0.3, beta=0.7)([[1.0, 1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0, 1.0]]), 4)
        0.5
    """

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky", axis=None,
                 dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.alpha = _check_number("alpha", alpha)
        self.beta = _check_number("beta", beta)
        self.axis = _check_overlap_axis(axis)

    def _forward(self, y_true, y_pred):
        axes, intersection = self._sums(y_true, y_pred)
        missed = np.sum((1.0 - y_pred) * y_true, axis=axes, keepdims=True)
        extra = np.sum(y_pred * (1.0 - y_true), axis=axes, keepdims=True)
        total = intersection + self.alpha * missed + self.beta * extra + EPSILON
        values = 1.0 - intersection / total
        return self._squeeze(values, axes), (y_true, axes, intersection, total)

    def _backward(self, cache, upstream):
        y_true, axes, intersection, total = cache
        upstream = np.expand_dims(upstream, axes) if axes else upstream
        d_total = (1.0 - self.alpha) * y_true + self.beta * (1.0 - y_true)
        grad = (intersection * d_total / total - y_true) / total
        grad *= upstream
        return grad.astype(y_true.dtype, copy=False)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta}


def _check_number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, but got {value!r}.")
    return float(value)


def _masked_logsumexp(x, member):
    """``log(sum(exp(x)))`` over the members of each row, -inf for a row without members; and its softmax."""
    shift = np.max(np.where(member, x, -np.inf), axis=1, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    e = np.where(member, np.exp(np.where(member, x - shift, 0.0)), 0.0)
    total = e.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        lse = np.log(total) + shift
        weights = np.where(total > 0, e / total, 0.0)
    return lse[:, 0], weights


def _circle_terms(labels, embeddings, ref_labels, ref_embeddings, remove_diagonal, gamma, margin):
    """Circle loss per query row, and what its gradient needs."""
    similarity = embeddings @ ref_embeddings.T
    distance = np.maximum(1.0 - similarity, 0.0)
    positive = labels.reshape(-1, 1) == ref_labels.reshape(1, -1)
    negative = ~positive
    if remove_diagonal:
        positive &= ~np.eye(*positive.shape, dtype=bool)
    # positives are pulled below distance `margin`, negatives pushed beyond 1 - margin; each pair weighted by
    # how far it is from its optimum (margin + d for positives, 1 + margin - d for negatives), floored at 0
    pos_weight = np.maximum(margin + distance, 0.0)
    neg_weight = np.maximum(1.0 + margin - distance, 0.0)
    pos_scores = -gamma * pos_weight * (margin - distance)
    neg_scores = gamma * neg_weight * (1.0 - margin - distance)
    pos_lse, pos_soft = _masked_logsumexp(pos_scores, positive)
    neg_lse, neg_soft = _masked_logsumexp(neg_scores, negative)
    z = pos_lse + neg_lse  # -inf for a row without a positive or a negative pair: its loss is 0 and masked out
    values = np.logaddexp(0.0, z)
    return values, (z, similarity, distance, pos_weight, neg_weight, pos_soft, neg_soft)


def _circle_similarity_gradient(terms, upstream, gamma, margin):
    """``d sum(upstream * values) / d similarity`` for `_circle_terms`."""
    z, similarity, distance, pos_weight, neg_weight, pos_soft, neg_soft = terms
    with np.errstate(over="ignore"):
        d_z = np.where(np.isfinite(z), upstream / (1.0 + np.exp(-np.where(np.isfinite(z), z, 0.0))), 0.0)
    d_pos_scores = pos_soft * d_z[:, None]
    d_neg_scores = neg_soft * d_z[:, None]
    # scores as functions of the distance (the max(., 0) floors pass a gradient only where they are positive)
    d_pos = -gamma * ((margin + distance > 0) * (margin - distance) - pos_weight)
    d_neg = -gamma * ((1.0 + margin - distance > 0) * (1.0 - margin - distance) + neg_weight)
    d_distance = d_pos_scores * d_pos + d_neg_scores * d_neg
    return np.where(1.0 - similarity > 0, -d_distance, 0.0)


class Circle(_BuiltinLoss):
    """Circle loss for metric learning: integer labels and L2-normalised embeddings of one batch.

    Every pair of samples in the batch is compared by cosine distance ``d = max(1 - e_i . e_j, 0)``: pairs
    with the same label (positives, a sample and itself excluded unless ``remove_diagonal=False``) are pulled
    below ``margin``, pairs with different labels (negatives) are pushed beyond ``1 - margin``, each weighted
    by its distance from that optimum; per sample ``softplus(logsumexp(positive scores) + logsumexp(negative
    scores))``. A sample whose label occurs nowhere else in the batch (no positive pair), or a batch with a
    single class, gives 0 and is left out of the average, as in Keras. End the model with
    ``UnitNormalization`` so the embeddings have unit norm.

    Args:
        gamma: scale of the similarity scores.
        margin: the relaxation factor.
        remove_diagonal: leave each sample's similarity with itself out of its positives.
        reduction: see `Loss`.
        name: defaults to ``"circle"``.
        dtype: see `Loss`.

    Example:
        >>> e = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
        >>> round(Circle(gamma=2.0)([0, 0, 1], e), 4)
        0.915
    """

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction="sum_over_batch_size",
                 name="circle", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.gamma = _check_number("gamma", gamma)
        self.margin = _check_number("margin", margin)
        self.remove_diagonal = bool(remove_diagonal)

    def _cast_y_true(self, y_true, dtype):
        return y_true

    def _standardize(self, y_true, y_pred):
        return _circle_inputs(self, y_true, y_pred)

    def _forward(self, y_true, y_pred):
        values, terms = _circle_terms(y_true, y_pred, y_true, y_pred, self.remove_diagonal, self.gamma,
                                      self.margin)
        return values.astype(y_pred.dtype, copy=False), (y_pred, terms, values > 0)

    def _mask(self, cache):
        return cache[2]

    def _backward(self, cache, upstream):
        embeddings, terms, _ = cache
        d_similarity = _circle_similarity_gradient(terms, upstream, self.gamma, self.margin)
        # similarity = E E^T: each embedding appears as a query (rows) and as a reference (columns)
        grad = (d_similarity + d_similarity.T) @ embeddings
        return grad.astype(embeddings.dtype, copy=False)

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma, "margin": self.margin,
                "remove_diagonal": self.remove_diagonal}


def _circle_inputs(loss, y_true, y_pred):
    if y_pred.ndim != 2:
        raise ValueError(
            f"{type(loss).__name__} ('{loss.name}') expects embeddings of shape (batch, dimensions), but got "
            f"y_pred with shape {y_pred.shape}. Flatten the model output, e.g. end it with Dense(64) and "
            "UnitNormalization()."
        )
    labels = y_true[..., 0] if y_true.ndim == 2 and y_true.shape[-1] == 1 else y_true
    if labels.shape != y_pred.shape[:1]:
        raise ValueError(
            f"{type(loss).__name__} ('{loss.name}') expects one integer label per sample, shape "
            f"({y_pred.shape[0]},), for embeddings of shape {y_pred.shape}, but got y_true with shape "
            f"{y_true.shape}."
        )
    if labels.dtype.kind == "f" and np.any(labels != np.round(labels)):
        raise ValueError(f"{type(loss).__name__} needs integer class labels, but y_true holds fractions.")
    return labels.astype(np.int64, copy=False), y_pred


class CategoricalGeneralizedCrossEntropy(_BuiltinLoss):
    """Generalized crossentropy ``(1 - p ** q) / q`` with ``p`` the probability of the true class.

    A loss robust to noisy labels: ``q`` near 0 behaves like crossentropy, ``q = 1`` like mean absolute error.
    ``y_true`` holds integer class ids, one per sample (shape ``(batch,)`` or ``(batch, 1)``), ``y_pred`` the
    class probabilities (after a softmax).

    Args:
        q: the noise parameter, strictly between 0 and 1.
        reduction: see `Loss`.
        name: defaults to ``"categorical_generalized_cross_entropy"``.
        dtype: see `Loss`.

    Example:
        >>> round(CategoricalGeneralizedCrossEntropy()([1], [[0.2, 0.8]]), 4)
        0.2111
    """

    def __init__(self, q=0.5, reduction="sum_over_batch_size", name="categorical_generalized_cross_entropy",
                 dtype=None):
        q = _check_number("q", q)
        if not 0.0 < q < 1.0:
            raise ValueError(f"q must be in the interval (0, 1), but got {q}.")
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.q = q

    def _cast_y_true(self, y_true, dtype):
        return y_true

    def _standardize(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]  # Keras broadcasts (batch, 1) labels against every sample; nbtrain squeezes
        if y_true.shape != y_pred.shape[:-1]:
            hint = (" y_true looks one-hot encoded: convert it to labels with y.argmax(axis=-1)."
                    if y_true.shape == y_pred.shape else "")
            raise ValueError(
                f"{type(self).__name__} ('{self.name}') expects integer labels of shape {y_pred.shape[:-1]} for "
                f"y_pred of shape {y_pred.shape}, but got y_true with shape {y_true.shape}.{hint}"
            )
        labels = y_true.astype(np.intp, copy=False)
        if y_true.dtype.kind not in "iub" and np.any(labels != y_true):
            raise ValueError(f"{type(self).__name__} needs integer class labels, but y_true holds fractions.")
        classes = y_pred.shape[-1]
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            bad = labels.min() if labels.min() < 0 else labels.max()
            raise ValueError(
                f"{type(self).__name__} received label {int(bad)}, but y_pred has {classes} classes; labels must "
                f"be class ids in [0, {classes})."
            )
        return labels, y_pred

    def _forward(self, y_true, y_pred):
        p = _pick(y_pred, y_true)
        powered = p ** self.q
        return (1.0 - powered) / self.q, (y_true, y_pred, p, powered)

    def _backward(self, cache, upstream):
        labels, y_pred, p, powered = cache
        grad = np.zeros(y_pred.shape, dtype=y_pred.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_p = -powered / p  # d/dp of (1 - p**q)/q = -p**(q-1)
        return _add_at_labels(grad, labels, d_p * upstream).astype(y_pred.dtype, copy=False)

    def get_config(self):
        return {**super().get_config(), "q": self.q}


# ----------------------------------------------------------------------------------------------------------
# Plain functions (Keras names); each returns the per-sample values
# ----------------------------------------------------------------------------------------------------------


def mean_squared_error(y_true, y_pred):
    """Per-sample mean squared error over the last axis (see `MeanSquaredError`).

    Args:
        y_true: targets.
        y_pred: predictions.

    Example:
        >>> mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]])
        array([0.5])
    """
    return MeanSquaredError()._values(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean absolute error over the last axis (see `MeanAbsoluteError`).

    Args:
        y_true: targets.
        y_pred: predictions.

    Example:
        >>> mean_absolute_error([[0.0, 1.0]], [[2.0, 1.0]])
        array([1.])
    """
    return MeanAbsoluteError()._values(y_true, y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    """Per-sample mean absolute percentage error (see `MeanAbsolutePercentageError`).

    Args:
        y_true: targets.
        y_pred: predictions.

    Example:
        >>> mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 4.0]])
        array([25.])
    """
    return MeanAbsolutePercentageError()._values(y_true, y_pred)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Per-sample mean squared logarithmic error (see `MeanSquaredLogarithmicError`).

    Args:
        y_true: targets.
        y_pred: predictions.

    Example:
        >>> mean_squared_logarithmic_error([[0.0]], [[0.0]])
        array([0.])
    """
    return MeanSquaredLogarithmicError()._values(y_true, y_pred)


def log_cosh(y_true, y_pred):
    """Per-sample mean of ``log(cosh(y_pred - y_true))`` (see `LogCosh`).

    Args:
        y_true: targets.
        y_pred: predictions.

    Example:
        >>> log_cosh([[0.0]], [[0.0]])
        array([0.])
    """
    return LogCosh()._values(y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss (see `Huber`).

    Args:
        y_true: targets.
        y_pred: predictions.
        delta: where the loss turns from quadratic to linear.

    Example:
        >>> huber([[0.0, 0.0]], [[0.5, 3.0]])
        array([1.3125])
    """
    return Huber(delta=delta)._values(y_true, y_pred)


def hinge(y_true, y_pred):
    """Per-sample hinge loss (see `Hinge`).

    Args:
        y_true: -1/+1 or 0/1 labels.
        y_pred: predictions.

    Example:
        >>> hinge([[0.0, 1.0]], [[0.6, 0.4]])
        array([1.1])
    """
    return Hinge()._values(y_true, y_pred)


def squared_hinge(y_true, y_pred):
    """Per-sample squared hinge loss (see `SquaredHinge`).

    Args:
        y_true: -1/+1 or 0/1 labels.
        y_pred: predictions.

    Example:
        >>> squared_hinge([[0.0, 1.0]], [[0.6, 0.4]])
        array([1.46])
    """
    return SquaredHinge()._values(y_true, y_pred)


def categorical_hinge(y_true, y_pred):
    """Per-sample categorical hinge loss (see `CategoricalHinge`).

    Args:
        y_true: one-hot labels.
        y_pred: predictions.

    Example:
        >>> categorical_hinge([[0.0, 1.0]], [[0.6, 0.4]])
        array([1.2])
    """
    return CategoricalHinge()._values(y_true, y_pred)


def kl_divergence(y_true, y_pred):
    """Per-sample Kullback-Leibler divergence (see `KLDivergence`).

    Args:
        y_true: target distributions.
        y_pred: predicted distributions.

    Example:
        >>> kl_divergence([[0.5, 0.5]], [[0.5, 0.5]])
        array([0.])
    """
    return KLDivergence()._values(y_true, y_pred)


def poisson(y_true, y_pred):
    """Per-sample Poisson loss (see `Poisson`).

    Args:
        y_true: counts.
        y_pred: predicted rates.

    Example:
        >>> poisson([[0.0]], [[2.0]])
        array([2.])
    """
    return Poisson()._values(y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per-sample negative cosine similarity (see `CosineSimilarity`).

    Args:
        y_true: target vectors.
        y_pred: predicted vectors.
        axis: the component axis.

    Example:
        >>> cosine_similarity([[1.0, 0.0]], [[0.0, 3.0]])
        array([-0.])
    """
    return CosineSimilarity(axis=axis)._values(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary crossentropy (see `BinaryCrossentropy`).

    Args:
        y_true: 0/1 targets.
        y_pred: probabilities, or logits with ``from_logits=True``.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in ``[0, 1]``.
        axis: the axis to average over.

    Example:
        >>> binary_crossentropy([[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]]).round(3)
        array([0.916, 0.714])
    """
    return BinaryCrossentropy(from_logits, label_smoothing, axis)._values(y_true, y_pred)


def binary_focal_crossentropy(
    y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """Per-sample binary focal crossentropy (see `BinaryFocalCrossentropy`).

    Args:
        y_true: 0/1 targets.
        y_pred: probabilities, or logits with ``from_logits=True``.
        apply_class_balancing: weight classes by ``alpha``.
        alpha: the balancing weight.
        gamma: the focusing parameter.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in ``[0, 1]``.
        axis: the axis to average over.

    Example:
        >>> binary_focal_crossentropy([[1.0, 0.0]], [[0.9, 0.8]]).round(4)
        array([0.5155])
    """
    loss = BinaryFocalCrossentropy(apply_class_balancing, alpha, gamma, from_logits, label_smoothing, axis)
    return loss._values(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample categorical crossentropy (see `CategoricalCrossentropy`).

    Args:
        y_true: one-hot targets.
        y_pred: probabilities, or logits with ``from_logits=True``.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in ``[0, 1]``.
        axis: the class axis.

    Example:
        >>> categorical_crossentropy([[0.0, 1.0]], [[0.5, 0.5]]).round(4)
        array([0.6931])
    """
    return CategoricalCrossentropy(from_logits, label_smoothing, axis)._values(y_true, y_pred)


def categorical_focal_crossentropy(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """Per-sample categorical focal crossentropy (see `CategoricalFocalCrossentropy`).

    Args:
        y_true: one-hot targets.
        y_pred: probabilities, or logits with ``from_logits=True``.
        alpha: the weighting factor.
        gamma: the focusing parameter.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in ``[0, 1]``.
        axis: the class axis.

    Example:
        >>> categorical_focal_crossentropy([[0.0, 1.0]], [[0.5, 0.5]]).round(4)
        array([0.0433])
    """
    loss = CategoricalFocalCrossentropy(alpha, gamma, from_logits, label_smoothing, axis)
    return loss._values(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Per-sample crossentropy with integer labels (see `SparseCategoricalCrossentropy`).

    Args:
        y_true: integer class ids.
        y_pred: probabilities, or logits with ``from_logits=True``.
        from_logits: whether ``y_pred`` holds logits.
        ignore_class: a label value to skip, or None.
        axis: the class axis.

    Example:
        >>> sparse_categorical_crossentropy([1], [[0.5, 0.5]]).round(4)
        array([0.6931])
    """
    return SparseCategoricalCrossentropy(from_logits, ignore_class, axis)._values(y_true, y_pred)


def dice(y_true, y_pred, axis=None):
    """The Dice loss (see `Dice`): one value with ``axis=None``, else one per remaining index.

    Args:
        y_true: target masks.
        y_pred: predicted masks (probabilities).
        axis: the axes summed over: None (all), an int or a tuple of ints.

    Example:
        >>> round(float(dice([[1.0, 1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0, 1.0]])), 6)
        0.5
    """
    return Dice(axis=axis)._values(y_true, y_pred)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """The Tversky loss (see `Tversky`).

    Args:
        y_true: target masks.
        y_pred: predicted masks (probabilities).
        alpha: weight of the target pixels missed.
        beta: weight of the pixels predicted outside the target.
        axis: the axes summed over: None (all), an int or a tuple of ints.

    Example:
        >>> round(float(tversky([[1.0, 1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0, 1.0]], alpha=0.3, beta=0.7)), 6)
        0.5
    """
    return Tversky(alpha=alpha, beta=beta, axis=axis)._values(y_true, y_pred)


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80, margin=0.4):
    """Per-sample Circle loss (see `Circle`), optionally against reference labels and embeddings.

    Args:
        y_true: integer labels, shape ``(batch,)``.
        y_pred: L2-normalised embeddings, shape ``(batch, dimensions)``.
        ref_labels: labels of the reference embeddings; defaults to ``y_true``.
        ref_embeddings: reference embeddings; defaults to ``y_pred``.
        remove_diagonal: leave the pair (i, i) out of the positives.
        gamma: scale of the similarity scores.
        margin: the relaxation factor.

    Example:
        >>> e = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
        >>> circle([0, 0, 1], e, gamma=2.0).round(4)
        array([0.5459, 1.2842, 0.    ])
    """
    loss = Circle(gamma=gamma, margin=margin, remove_diagonal=remove_diagonal)
    labels, embeddings = loss._prepare(y_true, y_pred)
    if ref_labels is None and ref_embeddings is None:
        return loss._forward(labels, embeddings)[0]
    ref_embeddings = embeddings if ref_embeddings is None else np.asarray(ref_embeddings, dtype=embeddings.dtype)
    ref_labels = labels if ref_labels is None else loss._standardize(np.asarray(ref_labels), ref_embeddings)[0]
    values, _ = _circle_terms(labels, embeddings, ref_labels, ref_embeddings, loss.remove_diagonal, loss.gamma,
                              loss.margin)
    return values.astype(embeddings.dtype, copy=False)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Per-sample generalized crossentropy ``(1 - p ** q) / q`` (see `CategoricalGeneralizedCrossEntropy`).

    Args:
        y_true: integer class ids.
        y_pred: class probabilities.
        q: the noise parameter in (0, 1).

    Example:
        >>> categorical_generalized_cross_entropy([1], [[0.2, 0.8]], q=0.5).round(4)
        array([0.2111])
    """
    return CategoricalGeneralizedCrossEntropy(q=q)._values(y_true, y_pred)


# Keras-style short names and the Keras 2 names that nbtrain still accepts.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
huber_loss = huber
cosine_proximity = cosine_similarity
bce = BCE = binary_crossentropy


# ----------------------------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------------------------

def _loss_from_function(identifier):
    """A built-in loss function (or a partial of one) gives its class; other callables get a recipe."""
    if isinstance(identifier, type):
        raise TypeError(
            f"Could not interpret loss identifier {identifier!r}: a loss class must subclass nbtrain.losses.Loss."
        )
    if isinstance(identifier, functools.partial) and identifier.func in _FUNCTION_CLASSES and not identifier.args:
        return _FUNCTION_CLASSES[identifier.func](**identifier.keywords, name=identifier.func.__name__)
    if callable(identifier):
        if identifier in _FUNCTION_CLASSES:
            return _FUNCTION_CLASSES[identifier](name=identifier.__name__)
        return LossFunctionWrapper(identifier)
    return None


class LossFunctionWrapper(Loss):
    """A loss from a plain function ``fn(y_true, y_pred, **kwargs)`` of per-sample values (Keras's
    ``keras.losses.LossFunctionWrapper``); written with ``nbtrain.ops``, it is differentiated automatically.

    Args:
        fn: the function.
        reduction, name, dtype: as for `Loss`; the name defaults to the function's.
        **kwargs: passed to ``fn`` on every call.

    Example:
        >>> from nbtrain import ops
        >>> def rmse(y_true, y_pred):
        ...     return ops.sqrt(ops.mean(ops.square(y_pred - y_true), axis=-1))
        >>> round(float(LossFunctionWrapper(rmse)([[0.0, 0.0]], [[3.0, 4.0]])), 4)
        3.5355
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(reduction=reduction, name=name or getattr(fn, "__name__", None) or "loss", dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "fn": getattr(self.fn, "__name__", None)}


def _shape_resolved_error(name):
    return (
        f"The loss {name!r} means binary, categorical or sparse categorical crossentropy depending on the "
        "shapes of y_true and y_pred, so it is resolved when the model first sees data "
        "(nbtrain.losses.resolve_crossentropy(y_true_shape, y_pred_shape)). Name the loss explicitly, "
        "e.g. 'categorical_crossentropy', to choose it now."
    )


LOSSES = Registry(
    "loss", base=Loss, module="nbtrain.losses", convert=_loss_from_function, search_subclasses=True,
    expected="Pass a loss name such as 'mse', a nbtrain.losses.Loss instance, or a config dict.",
    reserved={name: _shape_resolved_error(name) for name in ("crossentropy", "ce")},
)
"""Every loss by name: class names, Keras function names and aliases (`get` ignores case). A `Loss` subclass
of your own is found by its class name too, or through ``custom_objects``."""

# Each class with the Keras function that gives its per-sample values (whose name is a name of the class)
# and its other Keras names.
_REGISTERED = (
    (MeanSquaredError, mean_squared_error, "mse"),
    (MeanAbsoluteError, mean_absolute_error, "mae"),
    (MeanAbsolutePercentageError, mean_absolute_percentage_error, "mape"),
    (MeanSquaredLogarithmicError, mean_squared_logarithmic_error, "msle"),
    (CosineSimilarity, cosine_similarity, "cosine_proximity"),
    (Huber, huber, "huber_loss"),
    (LogCosh, log_cosh, "logcosh"),
    (Hinge, hinge),
    (SquaredHinge, squared_hinge),
    (CategoricalHinge, categorical_hinge),
    (KLDivergence, kl_divergence, "kld", "kullback_leibler_divergence"),
    (Poisson, poisson),
    (BinaryCrossentropy, binary_crossentropy, "bce"),
    (BinaryFocalCrossentropy, binary_focal_crossentropy),
    (CategoricalCrossentropy, categorical_crossentropy),
    (CategoricalFocalCrossentropy, categorical_focal_crossentropy),
    (SparseCategoricalCrossentropy, sparse_categorical_crossentropy),
    (Dice, dice),
    (Tversky, tversky),
    (Circle, circle),
    (CategoricalGeneralizedCrossEntropy, categorical_generalized_cross_entropy),
)
# "logcosh", "huber_loss", "kullback_leibler_divergence" and "cosine_proximity" are Keras 2 names that
# Keras 3 rejects; nbtrain keeps them so older tutorials run.
for _cls, _function, *_aliases in _REGISTERED:
    LOSSES.register(_function.__name__, *_aliases)(_cls)
_FUNCTION_CLASSES = {function: cls for cls, function, *_ in _REGISTERED}

ALL_LOSSES = LOSSES.as_dict()
"""Every string `get` accepts (matching ignores case), mapped to its loss class."""


def get(identifier):
    """Resolve a loss from a name, an instance, a class, a built-in function or a config dict.

    Strings match case-insensitively: class names (``"MeanSquaredError"``), their snake_case
    (``"mean_squared_error"``), the Keras aliases (``"mse"``, ``"mae"``, ``"mape"``, ``"msle"``, ``"kld"``,
    ``"bce"``) and the Keras 2 names ``"logcosh"``, ``"huber_loss"``, ``"kullback_leibler_divergence"`` and
    ``"cosine_proximity"``. ``"crossentropy"``/``"ce"`` depend on the data; see `resolve_crossentropy`.

    Args:
        identifier: a string, a `Loss` instance (returned as is), a `Loss` subclass (instantiated), a built-in
            loss function such as ``nbtrain.losses.mean_squared_error``, a config dict from `serialize`, or
            None (returns None).

    Returns:
        A `Loss` instance, or None.

    Example:
        >>> get("MSE")
        MeanSquaredError()
        >>> get(mean_absolute_error).name
        'mean_absolute_error'
    """
    return LOSSES.get(identifier)


def resolve_crossentropy(y_true_shape, y_pred_shape):
    """Choose the crossentropy that ``loss="crossentropy"`` (or ``"ce"``) means, from the data shapes (Keras rule).

    A single output unit gives binary crossentropy; labels with fewer axes than ``y_pred``, or a trailing axis
    of 1 against several outputs, give sparse categorical crossentropy; anything else categorical.

    Args:
        y_true_shape: shape of the targets (of one batch or of the whole array).
        y_pred_shape: shape of the model output.

    Example:
        >>> resolve_crossentropy((32,), (32, 10))
        SparseCategoricalCrossentropy(from_logits=False)
        >>> resolve_crossentropy((32, 1), (32, 1))
        BinaryCrossentropy(from_logits=False)
    """
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    if not y_pred_shape:
        raise ValueError(f"Cannot choose a crossentropy for a scalar model output (y_pred shape {y_pred_shape}).")
    if y_pred_shape[-1] == 1:
        return BinaryCrossentropy()
    sparse = len(y_true_shape) < len(y_pred_shape) or (bool(y_true_shape) and y_true_shape[-1] == 1)
    return SparseCategoricalCrossentropy() if sparse else CategoricalCrossentropy()


def serialize(loss):
    """Turn a loss into a JSON-friendly dict (`deserialize` reverses it); a built-in function gives its name.

    Args:
        loss: a `Loss` instance or a built-in loss function.

    Example:
        >>> serialize(Huber(delta=2.0))["class_name"]
        'Huber'
    """
    if callable(loss) and not isinstance(loss, Loss) and loss in _FUNCTION_CLASSES:
        return loss.__name__
    return LOSSES.serialize(loss)


def deserialize(config, custom_objects=None):
    """Rebuild a loss from `serialize`'s dict (or a Keras-style ``{"class_name", "config"}`` dict, or a name).

    Args:
        config: the dict, or a loss name string.
        custom_objects: optional ``{class name: Loss subclass}`` for user-defined losses. Subclasses of `Loss`
            that are already defined are also found by their class name.

    Example:
        >>> deserialize(serialize(CategoricalCrossentropy(from_logits=True)))
        CategoricalCrossentropy(from_logits=True)
    """
    return LOSSES.deserialize(config, custom_objects)


def binary_label_problem(loss, y_true: np.ndarray) -> str | None:
    """Why ``y_true`` cannot be the labels of binary crossentropy (values outside [0, 1]), with the fix; or None.

    Binary crossentropy reads each label as the probability of class 1, so -1/+1 labels or class indices
    0, 1, 2 train a model without any error and give meaningless predictions; this says which case it is.

    Example:
        >>> binary_label_problem(BinaryCrossentropy(), np.array([-1.0, 1.0, 1.0]))[:60]
        'binary_crossentropy needs labels in [0, 1] (the probability '
    """
    if not isinstance(loss, (BinaryCrossentropy, BinaryFocalCrossentropy)) or y_true.size == 0:
        return None
    low, high = float(y_true.min()), float(y_true.max())
    if low >= 0 and high <= 1:
        return None
    values = np.unique(y_true) if y_true.size <= 1_000_000 else np.array([low, high])
    texts = [f"{v:g}" for v in values]
    found = (", ".join(texts[:-1]) + " and " + texts[-1] if len(texts) <= 6
             else f"{len(texts)} values from {low:g} to {high:g}")
    if set(values.tolist()) == {-1.0, 1.0}:
        fix = "these look like -1/+1 labels: use (y + 1) / 2 to make them 0/1"
    elif low == 0 and np.all(values == np.round(values)):
        fix = (f"these look like class indices of {int(high) + 1} classes: use "
               f"loss='sparse_categorical_crossentropy' with a last layer Dense({int(high) + 1}, "
               f"activation='softmax')")
    else:
        fix = "rescale the targets into [0, 1], or use a regression loss such as 'mse' for continuous targets"
    return (f"{loss.name} needs labels in [0, 1] (the probability of class 1), but the targets hold {found}; "
            f"{fix}.")
