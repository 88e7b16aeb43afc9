"""FTRL-Proximal: Follow The Regularized Leader, for wide sparse models with L1/L2 (McMahan et al., 2013)."""

from __future__ import annotations

import numpy as np

from nbtrain.optimizers.optimizer import OPTIMIZERS, default_learning_rate, Optimizer
from nbtrain.utils.checks import KERAS, number


@OPTIMIZERS.register(name="ftrl")
class Ftrl(Optimizer):
    """FTRL-Proximal, with L1, L2 and L2-shrinkage regularisation as in Keras.

    Per element, with ``p = -learning_rate_power``, accumulator ``n`` and linear term ``z``:
    ``n' = n + g**2``; ``z += g + 2 * l2_shrinkage * w - (n'**p - n**p) / lr * w``;
    ``w = (clip(z, -l1, l1) - z) / (n'**p / lr + 2 * (l2 + beta / (2 lr)))``. With ``l1 > 0`` every weight
    whose ``|z|`` stays below ``l1`` is exactly 0.

    Args:
        learning_rate: a number, schedule or callable (default 0.001).
        learning_rate_power: <= 0; how the per-element rate shrinks as gradients accumulate (-0.5: Adagrad-like).
        initial_accumulator_value: >= 0; the starting accumulator ``n``.
        l1_regularization_strength: >= 0.
        l2_regularization_strength: >= 0.
        l2_shrinkage_regularization_strength: >= 0; an L2 penalty on the weights added to the gradient.
        beta: the ``beta`` of the FTRL paper, added to the L2 strength as ``beta / (2 * lr)``.
        **kwargs: the common options of ``Optimizer``.

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0, 2.0])
        >>> Ftrl(learning_rate=0.5).apply([np.array([1.0, -2.0])], [w])
        >>> w.round(4)
        array([0.2218, 2.1815])
    """

    def __init__(
        self,
        learning_rate=default_learning_rate(0.001),
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        owner = type(self).__name__
        self.learning_rate_power = number(learning_rate_power, "learning_rate_power", owner, high=0, wording=KERAS)
        self.initial_accumulator_value = number(initial_accumulator_value, "initial_accumulator_value", owner,
                                                low=0, wording=KERAS)
        self.l1_regularization_strength = number(l1_regularization_strength, "l1_regularization_strength", owner,
                                                 low=0, wording=KERAS)
        self.l2_regularization_strength = number(l2_regularization_strength, "l2_regularization_strength", owner,
                                                 low=0, wording=KERAS)
        self.l2_shrinkage_regularization_strength = number(
            l2_shrinkage_regularization_strength, "l2_shrinkage_regularization_strength", owner, low=0, wording=KERAS)
        self.beta = number(beta, "beta", owner, wording=KERAS)

    def slot_initial_values(self):
        return {"accumulator": self.initial_accumulator_value, "linear": 0.0}

    def update_step(self, gradient, variable, learning_rate, slots, scratch):
        n, z, step = slots["accumulator"], slots["linear"], scratch[0]
        power = -self.learning_rate_power
        # z += g + 2 * shrinkage * w - (n_new**p - n**p) / lr * w, with n_new**p kept in `step`
        old_scaled = n**power
        np.square(gradient, out=step)
        n += step
        np.power(n, power, out=step)
        z += gradient
        if self.l2_shrinkage_regularization_strength:
            z += (2.0 * self.l2_shrinkage_regularization_strength) * variable
        old_scaled -= step
        old_scaled /= learning_rate
        old_scaled *= variable
        z += old_scaled
        # w = (clip(z, -l1, l1) - z) / (n_new**p / lr + 2 * l2_total)
        step /= learning_rate
        step += 2.0 * (self.l2_regularization_strength + self.beta / (2.0 * learning_rate))
        l1 = self.l1_regularization_strength
        np.clip(z, -l1, l1, out=variable)
        variable -= z
        variable /= step

    def get_config(self):
        return {
            **super().get_config(),
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }
