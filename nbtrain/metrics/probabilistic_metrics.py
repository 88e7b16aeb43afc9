"""Probabilistic metrics: crossentropies, Kullback-Leibler divergence and Poisson.

The per-sample formulas are the losses' (:mod:`nbtrain.losses`), computed in float64, with the losses'
clipping of probabilities to ``[1e-7, 1 - 1e-7]`` (float32's, as in Keras).
"""

from __future__ import annotations

from nbtrain import losses
from nbtrain.metrics.base import METRICS, MeanMetricWrapper, metric_function_of

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
        axis: the class axis of y_pred.

    Example:
        >>> round(SparseCategoricalCrossentropy()([1], [[0.05, 0.95, 0]]), 4)
        0.0513
    """

    direction = "down"

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, axis=-1):
        super().__init__(
            sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits, axis=axis
        )


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
