"""Hinge metrics: hinge, squared hinge and categorical hinge, for -1/+1 (or 0/1) labels and scores.

The per-sample formulas are the losses' (:mod:`nbtrain.losses`), computed in float64.
"""

from __future__ import annotations

from nbtrain import losses
from nbtrain.metrics.base import MeanMetricWrapper, computed_in_float64

hinge = computed_in_float64(losses.hinge)
squared_hinge = computed_in_float64(losses.squared_hinge)
categorical_hinge = computed_in_float64(losses.categorical_hinge)


class Hinge(MeanMetricWrapper):
    """Running mean of the per-sample hinge loss (0/1 labels are mapped to -1/+1).

    Example:
        >>> round(Hinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), 6)
        1.3
    """

    direction = "down"

    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """Running mean of the per-sample squared hinge loss.

    Example:
        >>> round(SquaredHinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), 6)
        1.86
    """

    direction = "down"

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """Running mean of the per-sample categorical hinge loss.

    Example:
        >>> round(CategoricalHinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), 6)
        1.4
    """

    direction = "down"

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)
