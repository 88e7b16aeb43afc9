"""Adagrad: per-parameter rates that shrink with the sum of squared gradients seen so far."""

from __future__ import annotations

import numpy as np

from nbtrain.optimizers.optimizer import OPTIMIZERS, default_learning_rate, Optimizer
from nbtrain.utils.checks import KERAS, number


@OPTIMIZERS.register(name="adagrad")
class Adagrad(Optimizer):
    """Adagrad: ``acc += g**2``; ``w -= learning_rate * g / sqrt(acc + epsilon)``.

    Args:
        learning_rate: a number, schedule or callable (default 0.001).
        initial_accumulator_value: >= 0; the starting value of ``acc``.
        epsilon: >= 0; added under the square root for stability.
        **kwargs: the common options of ``Optimizer``.

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0, 2.0, 3.0, 4.0])
        >>> Adagrad(learning_rate=0.5).apply([np.array([1.0, 6.0, 7.0, 2.0])], [w])
        >>> w.round(4)
        array([0.5233, 1.5007, 2.5005, 3.5061])
    """

    def __init__(
        self, learning_rate=default_learning_rate(0.001), initial_accumulator_value=0.1, epsilon=1e-7, **kwargs
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = number(initial_accumulator_value, "initial_accumulator_value", "Adagrad",
                                                low=0, wording=KERAS)
        self.epsilon = number(epsilon, "epsilon", "Adagrad", low=0, wording=KERAS)

    def slot_initial_values(self):
        return {"accumulator": self.initial_accumulator_value}

    elementwise_update = True  # every element is updated on its own: apply may work in cache-sized pieces

    def update_step(self, gradient, variable, learning_rate, slots, scratch):
        accumulator, step = slots["accumulator"], scratch[0]
        np.square(gradient, out=step)
        accumulator += step
        np.add(accumulator, self.epsilon, out=step)
        np.sqrt(step, out=step)
        np.divide(gradient, step, out=step)
        step *= learning_rate
        variable -= step

    def get_config(self):
        config = super().get_config()
        config.update(initial_accumulator_value=self.initial_accumulator_value, epsilon=self.epsilon)
        return config
