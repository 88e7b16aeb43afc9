"""Probabilistic metrics: crossentropies, Kullback-Leibler divergence and Poisson.

The per-sample formulas are the losses' (:mod:`nbtrain.losses`), computed in float64, with the losses'
clipping of probabilities to ``[1e-7, 1 - 1e-7]`` (float32's, as in Keras).
"""

from __future__ import annotations

import numpy as np

from nbtrain import losses
from nbtrain.metrics.base import METRICS, Mean, MeanMetricWrapper, metric_function_of

# ----------------------------------------------------------------------------------------------------------
# Per-sample functions: the loss functions, computed in float64
# ----------------------------------------------------------------------------------------------------------

binary_crossentropy = metric_function_of(losses.binary_crossentropy)
categorical_crossentropy = metric_function_of(losses.categorical_crossentropy)
sparse_categorical_crossentropy = metric_function_of(losses.sparse_categorical_crossentropy)
kl_divergence = metric_function_of(losses.kl_divergence)
poisson = metric_function_of(losses.poisson)

# Keras's short names for the same function
kld = KLD = kl_divergence


# ----------------------------------------------------------------------------------------------------------
# Metric classes
# ----------------------------------------------------------------------------------------------------------


@METRICS.register("bce", name="binary_crossentropy")
class BinaryCrossentropy(MeanMetricWrapper):
    """Running mean of the per-sample binary crossentropy.

    Args:
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: move targets towards 0.5 by this fraction.

    Example:
        >>> round(BinaryCrossentropy()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), 6)
        0.814924
    """

    direction = "down"

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0.0):
        super().__init__(
            binary_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )


@METRICS.register(name="categorical_crossentropy")
class CategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the per-sample categorical crossentropy (one-hot labels).

    Args:
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: mix labels with the uniform distribution by this fraction.
        axis: the class axis.

    Example:
        >>> round(CategoricalCrossentropy()([[0, 1, 0]], [[0.05, 0.95, 0]]), 4)
        0.0513
    """

    direction = "down"

    def __init__(
        self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0.0, axis=-1
    ):
        super().__init__(
            categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


@METRICS.register(name="sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the per-sample crossentropy with integer labels.

    Args:
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        from_logits: y_pred holds logits rather than probabilities.
        ignore_class: a label to leave out of the mean (a padding id, a "void" class), or None.
        axis: the class axis of y_pred.

    Example:
        >>> round(SparseCategoricalCrossentropy()([1], [[0.05, 0.95, 0]]), 4)
        0.0513
        >>> round(SparseCategoricalCrossentropy(ignore_class=0)([1, 0], [[0.05, 0.95, 0], [0.5, 0.5, 0]]), 4)
        0.0513
    """

    direction = "down"

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None,
                 axis=-1):
        super().__init__(
            sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
            ignore_class=ignore_class, axis=axis,
        )
        self.from_logits = from_logits
        self.ignore_class = self._fn_kwargs["ignore_class"] = losses.SparseCategoricalCrossentropy(
            ignore_class=ignore_class).ignore_class  # checked as the loss checks it
        self.axis = axis

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's crossentropies; positions labelled ``ignore_class`` are left out of the mean.

        (Keras 3 leaves them out only when sample weights are given; without weights it averages their
        zeros in. nbtrain always leaves them out, like the loss does.)
        """
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if self.ignore_class is not None:
            valid = (np.asarray(y_true).reshape(values.shape) != self.ignore_class).astype(np.float64)
            sample_weight = valid if sample_weight is None else _weights_times(sample_weight, valid)
        Mean.update_state(self, values, sample_weight=sample_weight)


@METRICS.register("kld", name="kl_divergence")
class KLDivergence(MeanMetricWrapper):
    """Running mean of the per-sample Kullback-Leibler divergence.

    Example:
        >>> KLDivergence()([[0.5, 0.5]], [[0.5, 0.5]])
        0.0
    """

    direction = "down"

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, dtype=dtype)


@METRICS.register(name="poisson")
class Poisson(MeanMetricWrapper):
    """Running mean of the per-sample Poisson term ``y_pred - y_true * log(y_pred)``.

    Example:
        >>> round(Poisson()([[1.0]], [[1.0]]), 6)
        1.0
    """

    direction = "down"

    def __init__(self, name="poisson", dtype=None):
        super().__init__(poisson, name=name, dtype=dtype)


def _weights_times(sample_weight, valid):
    """Sample weights (one per sample, or per position) times the 0/1 mask of valid positions."""
    weights, valid = losses.squeeze_or_expand_to_same_rank(np.asarray(sample_weight, dtype=np.float64), valid)
    if 0 < weights.ndim < valid.ndim:
        weights = weights.reshape(weights.shape + (1,) * (valid.ndim - weights.ndim))
    return weights * valid
