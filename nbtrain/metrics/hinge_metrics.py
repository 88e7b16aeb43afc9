"""Hinge metrics: hinge, squared hinge and categorical hinge, for -1/+1 (or 0/1) labels and scores.

The per-sample formulas are the losses' (:mod:`nbtrain.losses`), computed in float64.
"""

from __future__ import annotations

from nbtrain import losses
from nbtrain.metrics.base import METRICS, MeanMetricWrapper, metric_function_of

hinge = metric_function_of(losses.hinge)
squared_hinge = metric_function_of(losses.squared_hinge)
categorical_hinge = metric_function_of(losses.categorical_hinge)


@METRICS.register(name="hinge")
class Hinge(MeanMetricWrapper):
    """Running mean of the per-sample hinge loss (0/1 labels are mapped to -1/+1).

    Example:
        >>> round(Hinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), 6)
        1.3
    """

    direction = "down"

    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name=name, dtype=dtype)


@METRICS.register(name="squared_hinge")
class SquaredHinge(MeanMetricWrapper):
    """Running mean of the per-sample squared hinge loss.

    Example:
        >>> round(SquaredHinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), 6)
        1.86
    """

    direction = "down"

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, dtype=dtype)


@METRICS.register(name="categorical_hinge")
class CategoricalHinge(MeanMetricWrapper):
    """Running mean of the per-sample categorical hinge loss.

    Example:
        >>> round(CategoricalHinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), 6)
        1.4
    """

    direction = "down"

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)
