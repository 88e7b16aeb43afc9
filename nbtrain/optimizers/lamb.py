"""LAMB: Adam's step rescaled per variable by the ratio of the weight norm to the step norm (You et al., 2019)."""

from __future__ import annotations

import math

import numpy as np

from nbtrain.optimizers.adam import update_moments
from nbtrain.optimizers.optimizer import OPTIMIZERS, default_learning_rate, Optimizer
from nbtrain.utils.checks import KERAS, number


@OPTIMIZERS.register(name="lamb")
class Lamb(Optimizer):
    """LAMB (layer-wise adaptive moments), for large-batch training.

    ``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``; the Adam direction
    ``d = (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)``; then ``w -= lr * ratio * d`` with
    ``ratio = ||w|| / ||d||`` over the whole variable (1 when either norm is 0), so every layer moves by about
    ``lr`` times its own size.

    Args:
        learning_rate: a number, schedule or callable (default 0.001).
        beta_1: decay of the gradient average.
        beta_2: decay of the squared-gradient average.
        epsilon: added to the denominator.
        **kwargs: the common options of ``Optimizer``.

    Example:
        >>> import numpy as np
        >>> w = np.array([3.0, 4.0])
        >>> Lamb(learning_rate=0.1).apply([np.array([1.0, -1.0])], [w])
        >>> w.round(4)
        array([2.6464, 4.3536])
    """

    def __init__(self, learning_rate=default_learning_rate(0.001), beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        owner = type(self).__name__
        self.beta_1 = number(beta_1, "beta_1", owner, low=0, high=1, high_open=True, wording=KERAS)
        self.beta_2 = number(beta_2, "beta_2", owner, low=0, high=1, high_open=True, wording=KERAS)
        self.epsilon = number(epsilon, "epsilon", owner, low=0, wording=KERAS)

    def slot_initial_values(self):
        return {"momentum": 0.0, "velocity": 0.0}

    def begin_update(self, learning_rate, step):
        self._momentum_correction = 1.0 - self.beta_1**step
        self._velocity_correction = 1.0 - self.beta_2**step

    def update_step(self, gradient, variable, learning_rate, slots, scratch):
        m, v, step = slots["momentum"], slots["velocity"], scratch[0]
        update_moments(gradient, m, v, step, self.beta_1, self.beta_2)
        np.divide(v, self._velocity_correction, out=step)
        np.sqrt(step, out=step)
        step += self.epsilon
        np.divide(m, step, out=step)
        step /= self._momentum_correction
        weight_norm, step_norm = _norm(variable), _norm(step)
        ratio = weight_norm / step_norm if weight_norm > 0 and step_norm > 0 else 1.0
        step *= ratio * learning_rate
        variable -= step

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


def _norm(x) -> float:
    flat = x.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)))
