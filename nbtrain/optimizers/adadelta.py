"""Adadelta: steps scaled by the ratio of running RMS of past updates to running RMS of gradients."""

from __future__ import annotations

import numpy as np

from nbtrain.optimizers.optimizer import OPTIMIZERS, default_learning_rate, Optimizer
from nbtrain.utils.checks import KERAS, number


@OPTIMIZERS.register(name="adadelta")
class Adadelta(Optimizer):
    """Adadelta (Keras form: the step is also multiplied by ``learning_rate``, default 0.001, not 1.0).

    ``Eg = rho*Eg + (1-rho)*g**2``; ``d = -sqrt(Ed + eps) * g / sqrt(Eg + eps)``;
    ``Ed = rho*Ed + (1-rho)*d**2``; ``w += learning_rate * d``.

    Args:
        learning_rate: a number, schedule or callable (default 0.001; the paper uses 1.0).
        rho: in [0, 1]; the decay of both running averages.
        epsilon: >= 0; added under the square roots.
        **kwargs: the common options of ``Optimizer``.

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0, 2.0])
        >>> Adadelta(learning_rate=0.5).apply([np.array([1.0, 6.0])], [w])
        >>> w.round(4)
        array([0.9993, 1.9993])
    """

    scratch_buffers = 2

    def __init__(self, learning_rate=default_learning_rate(0.001), rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = number(rho, "rho", "Adadelta", low=0, high=1, wording=KERAS)
        self.epsilon = number(epsilon, "epsilon", "Adadelta", low=0, wording=KERAS)

    def slot_initial_values(self):
        return {"accumulated_grad": 0.0, "accumulated_delta_var": 0.0}

    elementwise_update = True  # every element is updated on its own: apply may work in cache-sized pieces

    def update_step(self, gradient, variable, learning_rate, slots, scratch):
        rho, eps = self.rho, self.epsilon
        grad_average, delta_average = slots["accumulated_grad"], slots["accumulated_delta_var"]
        step, other = scratch
        np.square(gradient, out=step)
        step *= 1.0 - rho
        grad_average *= rho
        grad_average += step
        # step = -d = sqrt(Ed + eps) * g / sqrt(Eg + eps)
        np.add(delta_average, eps, out=step)
        np.sqrt(step, out=step)
        step *= gradient
        np.add(grad_average, eps, out=other)
        np.sqrt(other, out=other)
        step /= other
        np.square(step, out=other)
        other *= 1.0 - rho
        delta_average *= rho
        delta_average += other
        step *= learning_rate
        variable -= step

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
