"""Lion: the sign of an interpolated momentum, found by program search (Chen et al., 2023)."""

from __future__ import annotations

import numpy as np

from nbtrain.optimizers.optimizer import OPTIMIZERS, default_learning_rate, Optimizer
from nbtrain.utils.checks import KERAS, number


@OPTIMIZERS.register(name="lion")
class Lion(Optimizer):
    """Lion: ``w -= lr * sign(beta_1 m + (1 - beta_1) g)``, then ``m = beta_2 m + (1 - beta_2) g``.

    Every element moves by exactly ``lr``, so Lion usually wants a 3-10x smaller rate than Adam.

    Args:
        learning_rate: a number, schedule or callable (default 0.001).
        beta_1: in (0, 1]; the interpolation used for the update direction.
        beta_2: in [0, 1]; decay of the momentum.
        **kwargs: the common options of ``Optimizer``.

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0, 2.0])
        >>> Lion(learning_rate=0.5).apply([np.array([1.0, -6.0])], [w])
        >>> w
        array([0.5, 2.5])
    """

    def __init__(self, learning_rate=default_learning_rate(0.001), beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = number(beta_1, "beta_1", "Lion", low=0, high=1, low_open=True, wording=KERAS)
        self.beta_2 = number(beta_2, "beta_2", "Lion", low=0, high=1, wording=KERAS)

    def slot_initial_values(self):
        return {"momentum": 0.0}

    elementwise_update = True  # every element is updated on its own: apply may work in cache-sized pieces

    def update_step(self, gradient, variable, learning_rate, slots, scratch):
        m, step = slots["momentum"], scratch[0]
        # beta_1 m + (1 - beta_1) g, written as m + (1 - beta_1)(g - m) to need one buffer
        np.subtract(gradient, m, out=step)
        step *= 1.0 - self.beta_1
        step += m
        np.sign(step, out=step)
        step *= learning_rate
        variable -= step
        np.subtract(gradient, m, out=step)
        step *= 1.0 - self.beta_2
        m += step

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
