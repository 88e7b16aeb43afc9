"""Nadam: Adam with Nesterov momentum (Dozat's momentum schedule)."""

from __future__ import annotations

import numpy as np

from nbtrain.optimizers.optimizer import OPTIMIZERS, default_learning_rate, Optimizer
from nbtrain.utils.checks import KERAS, number


@OPTIMIZERS.register(name="nadam")
class Nadam(Optimizer):
    """Nadam, with Keras's momentum schedule ``mu_t = beta_1 * (1 - 0.5 * 0.96**t)``.

    Once per update ``U *= mu_t`` (U starts at 1; it is part of the saved state). Per variable:
    ``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``m_hat = mu_{t+1} m / (1 - U mu_{t+1}) + (1 - mu_t) g / (1 - U)``; ``v_hat = v / (1 - beta_2**t)``;
    ``w -= lr * m_hat / (sqrt(v_hat) + epsilon)``.

    Args:
        learning_rate: a number, schedule or callable (default 0.001).
        beta_1: in [0, 1); decay of the gradient average.
        beta_2: in [0, 1); decay of the squared-gradient average.
        epsilon: >= 0; added to the denominator.
        **kwargs: the common options of ``Optimizer``.

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0, 2.0, 3.0, 4.0])
        >>> Nadam(learning_rate=0.5).apply([np.array([1.0, 6.0, 7.0, 2.0])], [w])
        >>> w.round(4)
        array([0.4686, 1.4686, 2.4686, 3.4686])
    """

    scratch_buffers = 2

    def __init__(self, learning_rate=default_learning_rate(0.001), beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = number(beta_1, "beta_1", "Nadam", low=0, high=1, high_open=True, wording=KERAS)
        self.beta_2 = number(beta_2, "beta_2", "Nadam", low=0, high=1, high_open=True, wording=KERAS)
        self.epsilon = number(epsilon, "epsilon", "Nadam", low=0, wording=KERAS)

    def slot_initial_values(self):
        return {"momentum": 0.0, "velocity": 0.0}

    def initial_scalars(self):
        return {"u_product": 1.0}

    def begin_update(self, learning_rate, step):
        mu = self.beta_1 * (1.0 - 0.5 * 0.96**step)
        mu_next = self.beta_1 * (1.0 - 0.5 * 0.96 ** (step + 1))
        product = self._scalars["u_product"] * mu
        self._scalars["u_product"] = product
        self._momentum_weight = mu_next / (1.0 - product * mu_next)
        self._gradient_weight = (1.0 - mu) / (1.0 - product)
        self._velocity_scale = 1.0 / (1.0 - self.beta_2**step)

    elementwise_update = True  # every element is updated on its own: apply may work in cache-sized pieces

    def update_step(self, gradient, variable, learning_rate, slots, scratch):
        m, v = slots["momentum"], slots["velocity"]
        step, other = scratch
        np.subtract(gradient, m, out=step)
        step *= 1.0 - self.beta_1
        m += step
        np.square(gradient, out=step)
        step -= v
        step *= 1.0 - self.beta_2
        v += step
        np.multiply(m, self._momentum_weight, out=step)
        np.multiply(gradient, self._gradient_weight, out=other)
        step += other  # m_hat
        np.multiply(v, self._velocity_scale, out=other)
        np.sqrt(other, out=other)
        other += self.epsilon
        step /= other
        step *= learning_rate
        variable -= step

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return config
