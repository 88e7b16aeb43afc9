"""Adamax: Adam with the infinity norm in place of the squared-gradient average."""

from __future__ import annotations

import numpy as np

from nbtrain.optimizers.optimizer import OPTIMIZERS, default_learning_rate, Optimizer
from nbtrain.utils.checks import KERAS, number


@OPTIMIZERS.register(name="adamax")
class Adamax(Optimizer):
    """Adamax: ``m += (g - m)(1 - beta_1)``; ``u = max(beta_2 * u, |g|)``;
    ``w -= lr * m / ((1 - beta_1**t) * (u + epsilon))``.

    Args:
        learning_rate: a number, schedule or callable (default 0.001).
        beta_1: in [0, 1); decay of the gradient average.
        beta_2: in [0, 1); decay of the infinity norm.
        epsilon: >= 0; added to the denominator.
        **kwargs: the common options of ``Optimizer``.

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0, 2.0, 3.0, 4.0])
        >>> Adamax(learning_rate=0.5).apply([np.array([1.0, 6.0, 7.0, 2.0])], [w])
        >>> w.round(4)
        array([0.5, 1.5, 2.5, 3.5])
    """

    def __init__(self, learning_rate=default_learning_rate(0.001), beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = number(beta_1, "beta_1", "Adamax", low=0, high=1, high_open=True, wording=KERAS)
        self.beta_2 = number(beta_2, "beta_2", "Adamax", low=0, high=1, high_open=True, wording=KERAS)
        self.epsilon = number(epsilon, "epsilon", "Adamax", low=0, wording=KERAS)

    def slot_initial_values(self):
        return {"m": 0.0, "u": 0.0}

    def begin_update(self, learning_rate, step):
        self._rate = learning_rate / (1.0 - self.beta_1**step)

    elementwise_update = True  # every element is updated on its own: apply may work in cache-sized pieces

    def update_step(self, gradient, variable, learning_rate, slots, scratch):
        m, u, step = slots["m"], slots["u"], scratch[0]
        np.subtract(gradient, m, out=step)
        step *= 1.0 - self.beta_1
        m += step
        u *= self.beta_2
        np.abs(gradient, out=step)
        np.maximum(u, step, out=u)
        np.add(u, self.epsilon, out=step)
        np.divide(m, step, out=step)
        step *= self._rate
        variable -= step

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return config
