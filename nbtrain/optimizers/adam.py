"""Adam: momentum on the gradient and on its square, with bias correction."""

from __future__ import annotations

import math

import numpy as np

from nbtrain.optimizers.optimizer import OPTIMIZERS, check_flag, default_learning_rate, Optimizer
from nbtrain.utils.checks import KERAS, number


def update_moments(gradient, m, v, scratch, beta_1: float, beta_2: float) -> None:
    """Adam's moving averages, in place and without temporaries: ``m += (1 - beta_1) * (g - m)`` and
    ``v += (1 - beta_2) * (g**2 - v)`` (``scratch`` is a buffer shaped like ``gradient``; Lamb shares this)."""
    np.subtract(gradient, m, out=scratch)
    scratch *= 1.0 - beta_1
    m += scratch
    np.square(gradient, out=scratch)
    scratch -= v
    scratch *= 1.0 - beta_2
    v += scratch


@OPTIMIZERS.register(name="adam")
class Adam(Optimizer):
    """Adam, optionally AMSGrad.

    ``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``w -= alpha * m / (sqrt(v) + epsilon)`` with ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``,
    ``t = iterations + 1``. As in Keras, ``epsilon`` is added to the *uncorrected* ``sqrt(v)``.
    With ``amsgrad`` the running maximum of ``v`` is used in place of ``v``.

    Args:
        learning_rate: a number, schedule or callable (default 0.001).
        beta_1: in [0, 1); decay of the gradient average.
        beta_2: in [0, 1); decay of the squared-gradient average.
        epsilon: >= 0; added to the denominator.
        amsgrad: use the AMSGrad variant.
        **kwargs: the common options of ``Optimizer``.

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0, 2.0, 3.0, 4.0])
        >>> Adam(learning_rate=0.5).apply([np.array([1.0, 6.0, 7.0, 2.0])], [w])
        >>> w.round(4)
        array([0.5, 1.5, 2.5, 3.5])
    """

    def __init__(
        self,
        learning_rate=default_learning_rate(0.001),
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        owner = type(self).__name__
        self.beta_1 = number(beta_1, "beta_1", owner, low=0, high=1, high_open=True, wording=KERAS)
        self.beta_2 = number(beta_2, "beta_2", owner, low=0, high=1, high_open=True, wording=KERAS)
        self.epsilon = number(epsilon, "epsilon", owner, low=0, wording=KERAS)
        self.amsgrad = check_flag(owner, "amsgrad", amsgrad)

    def slot_initial_values(self):
        slots = {"momentum": 0.0, "velocity": 0.0}
        if self.amsgrad:
            slots["velocity_hat"] = 0.0
        return slots

    def begin_update(self, learning_rate, step):
        self._alpha = learning_rate * math.sqrt(1.0 - self.beta_2**step) / (1.0 - self.beta_1**step)

    elementwise_update = True  # every element is updated on its own: apply may work in cache-sized pieces

    def update_step(self, gradient, variable, learning_rate, slots, scratch):
        m, v, step = slots["momentum"], slots["velocity"], scratch[0]
        update_moments(gradient, m, v, step, self.beta_1, self.beta_2)
        if self.amsgrad:
            v = np.maximum(slots["velocity_hat"], v, out=slots["velocity_hat"])
        np.sqrt(v, out=step)
        step += self.epsilon
        np.divide(m, step, out=step)
        step *= self._alpha
        variable -= step

    def fused_update_step(self, loops):
        # float32 scalars: a Python float meets float32 arrays as np.float32(value) in the NumPy update
        one_minus_beta_1, one_minus_beta_2, epsilon = (
            np.float32(value) for value in (1.0 - self.beta_1, 1.0 - self.beta_2, self.epsilon))
        if self.amsgrad:
            def run_amsgrad(gradient, variable, learning_rate, slots):
                loops.adam_amsgrad(gradient, variable, slots["momentum"], slots["velocity"], slots["velocity_hat"],
                                   one_minus_beta_1, one_minus_beta_2, epsilon, np.float32(self._alpha))
            return run_amsgrad

        def run(gradient, variable, learning_rate, slots):
            loops.adam(gradient, variable, slots["momentum"], slots["velocity"], one_minus_beta_1, one_minus_beta_2,
                       epsilon, np.float32(self._alpha))
        return run

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, amsgrad=self.amsgrad)
        return config
