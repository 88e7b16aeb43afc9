"""Stochastic gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

import numpy as np

from nbtrain.optimizers.optimizer import OPTIMIZERS, check_flag, default_learning_rate, Optimizer
from nbtrain.utils.checks import KERAS, number


@OPTIMIZERS.register(name="sgd")
class SGD(Optimizer):
    """Gradient descent, with optional momentum and Nesterov momentum.

    Without momentum: ``w -= learning_rate * g``. With momentum:
    ``velocity = momentum * velocity - learning_rate * g``, then ``w += velocity``, or with Nesterov
    ``w += momentum * velocity - learning_rate * g``.

    Args:
        learning_rate: a number, schedule or callable (default 0.01).
        momentum: in [0, 1]; 0 is plain gradient descent.
        nesterov: use Nesterov momentum.
        **kwargs: the common options of ``Optimizer`` (clipnorm, weight_decay, use_ema, name, ...).

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0, 2.0])
        >>> SGD(learning_rate=0.1, momentum=0.9).apply([np.array([1.0, -1.0])], [w])
        >>> w
        array([0.9, 2.1])
    """

    def __init__(self, learning_rate=default_learning_rate(0.01), momentum=0.0, nesterov=False, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = number(momentum, "momentum", "SGD", low=0, high=1, wording=KERAS)
        self.nesterov = check_flag("SGD", "nesterov", nesterov)

    def slot_initial_values(self):
        return {"momentum": 0.0} if self.momentum != 0 else {}

    elementwise_update = True  # every element is updated on its own: apply may work in cache-sized pieces

    def update_step(self, gradient, variable, learning_rate, slots, scratch):
        step = scratch[0]
        np.multiply(gradient, learning_rate, out=step)
        if self.momentum == 0:
            variable -= step
            return
        velocity = slots["momentum"]
        velocity *= self.momentum
        velocity -= step
        if self.nesterov:
            variable -= step
            np.multiply(velocity, self.momentum, out=step)
            variable += step
        else:
            variable += velocity

    def fused_update_step(self, loops):
        if self.momentum == 0:
            def run_plain(gradient, variable, learning_rate, slots):
                loops.sgd(gradient, variable, np.float32(learning_rate))
            return run_plain
        momentum, loop = np.float32(self.momentum), loops.sgd_nesterov if self.nesterov else loops.sgd_momentum

        def run(gradient, variable, learning_rate, slots):
            loop(gradient, variable, slots["momentum"], momentum, np.float32(learning_rate))
        return run

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
