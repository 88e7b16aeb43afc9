"""RMSprop: divide each gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

import numpy as np

from nbtrain.optimizers.optimizer import OPTIMIZERS, check_flag, default_learning_rate, Optimizer
from nbtrain.utils.checks import KERAS, number


@OPTIMIZERS.register(name="rmsprop")
class RMSprop(Optimizer):
    """RMSprop, optionally centered and with (plain) momentum.

    ``v = rho * v + (1 - rho) * g**2``; the step is ``learning_rate * g / sqrt(v + epsilon)``. Centered,
    ``a = rho * a + (1 - rho) * g`` and the denominator is ``sqrt(v - a**2 + epsilon)``. With momentum,
    ``m = momentum * m + step`` and ``w -= m``; otherwise ``w -= step``.

    Args:
        learning_rate: a number, schedule or callable (default 0.001).
        rho: in [0, 1]; the discount of the squared-gradient average.
        momentum: in [0, 1].
        epsilon: >= 0; added under the square root for stability.
        centered: normalise by the estimated variance instead of the second moment.
        **kwargs: the common options of ``Optimizer``.

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0, 2.0, 3.0, 4.0])
        >>> RMSprop(learning_rate=0.5).apply([np.array([1.0, 6.0, 7.0, 2.0])], [w])
        >>> w.round(4)
        array([-0.5811,  0.4189,  1.4189,  2.4189])
    """

    def __init__(
        self,
        learning_rate=default_learning_rate(0.001),
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = number(rho, "rho", "RMSprop", low=0, high=1, wording=KERAS)
        self.momentum = number(momentum, "momentum", "RMSprop", low=0, high=1, wording=KERAS)
        self.epsilon = number(epsilon, "epsilon", "RMSprop", low=0, wording=KERAS)
        self.centered = check_flag("RMSprop", "centered", centered)

    def slot_initial_values(self):
        slots = {"velocity": 0.0}
        if self.momentum > 0:
            slots["momentum"] = 0.0
        if self.centered:
            slots["average_gradient"] = 0.0
        return slots

    elementwise_update = True  # every element is updated on its own: apply may work in cache-sized pieces

    def update_step(self, gradient, variable, learning_rate, slots, scratch):
        rho, step = self.rho, scratch[0]
        velocity = slots["velocity"]
        np.square(gradient, out=step)
        step *= 1.0 - rho
        velocity *= rho
        velocity += step
        if self.centered:
            average = slots["average_gradient"]
            np.multiply(gradient, 1.0 - rho, out=step)
            average *= rho
            average += step
            np.square(average, out=step)
            np.subtract(velocity, step, out=step)
            step += self.epsilon
        else:
            np.add(velocity, self.epsilon, out=step)
        np.sqrt(step, out=step)
        np.divide(gradient, step, out=step)
        step *= learning_rate
        if self.momentum > 0:
            momentum = slots["momentum"]
            momentum *= self.momentum
            momentum += step
            variable -= momentum
        else:
            variable -= step

    def fused_update_step(self, loops):
        if self.centered:
            return None
        # float32 scalars: a Python float meets float32 arrays as np.float32(value) in the NumPy update
        rho, one_minus_rho, epsilon = (np.float32(value) for value in (self.rho, 1.0 - self.rho, self.epsilon))
        if self.momentum > 0:
            momentum_rate = np.float32(self.momentum)

            def run_with_momentum(gradient, variable, learning_rate, slots):
                loops.rmsprop_momentum(gradient, variable, slots["velocity"], slots["momentum"], rho, one_minus_rho,
                                       epsilon, np.float32(learning_rate), momentum_rate)
            return run_with_momentum

        def run(gradient, variable, learning_rate, slots):
            loops.rmsprop(gradient, variable, slots["velocity"], rho, one_minus_rho, epsilon,
                          np.float32(learning_rate))
        return run

    def get_config(self):
        config = super().get_config()
        config.update(rho=self.rho, momentum=self.momentum, epsilon=self.epsilon, centered=self.centered)
        return config
