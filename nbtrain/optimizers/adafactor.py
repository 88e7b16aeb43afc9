"""Adafactor: Adam-like steps with factored second moments, sized relative to the weights (Shazeer & Stern, 2018)."""

from __future__ import annotations

import math

import numpy as np

from nbtrain.optimizers.optimizer import OPTIMIZERS, check_flag, default_learning_rate, Optimizer
from nbtrain.utils.checks import KERAS, number


def _rms(x) -> float:
    flat = x.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)) / max(flat.size, 1))


@OPTIMIZERS.register(name="adafactor")
class Adafactor(Optimizer):
    """Adafactor: a second-moment estimate kept as row and column averages, and steps relative to the weights.

    At step ``t = iterations + 1``, with ``beta_2 = 1 - t ** beta_2_decay`` and ``G = g**2 + epsilon_1``:

    - a variable of rank 2 or more keeps ``r`` (the average of ``G`` over the last axis) and ``c`` (over the
      second-to-last axis) as running averages, and uses ``v = (r / mean(r)) c`` (outer product on the last
      two axes): memory ``rows + columns`` instead of ``rows * columns``;
    - a vector or scalar keeps ``v`` itself as a running average of ``G``;
    - ``u = g / sqrt(v)`` is scaled down to RMS at most ``clip_threshold``, and
      ``w -= max(epsilon_2, rms(w)) * min(learning_rate, 1 / sqrt(t)) * u``.

    Args:
        learning_rate: a number, schedule or callable (default 0.001); capped by ``1 / sqrt(t)``.
        beta_2_decay: <= 0; how fast the second-moment decay approaches 1.
        epsilon_1: >= 0; added to the squared gradients.
        epsilon_2: >= 0; the smallest weight RMS a step is relative to.
        clip_threshold: > 0; the largest RMS of the normalised update.
        relative_step: Keras's flag (the rate is capped by ``1 / sqrt(t)`` either way, as in Keras 3).
        **kwargs: the common options of ``Optimizer``.

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0, 2.0, 3.0, 4.0])
        >>> Adafactor(learning_rate=0.5).apply([np.array([1.0, 6.0, 7.0, 2.0])], [w])
        >>> w.round(4)
        array([-0.3693,  0.6307,  1.6307,  2.6307])
    """

    scratch_buffers = 2

    def __init__(
        self,
        learning_rate=default_learning_rate(0.001),
        beta_2_decay=-0.8,
        epsilon_1=1e-30,
        epsilon_2=1e-3,
        clip_threshold=1.0,
        relative_step=True,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        owner = type(self).__name__
        self.beta_2_decay = number(beta_2_decay, "beta_2_decay", owner, high=0, wording=KERAS)
        self.epsilon_1 = number(epsilon_1, "epsilon_1", owner, low=0, wording=KERAS)
        self.epsilon_2 = number(epsilon_2, "epsilon_2", owner, low=0, wording=KERAS)
        self.clip_threshold = number(clip_threshold, "clip_threshold", owner, low=0, low_open=True, wording=KERAS)
        self.relative_step = check_flag(owner, "relative_step", relative_step)

    def slot_initial_values(self):
        return {"row_average": 0.0, "column_average": 0.0, "velocity": 0.0}

    def slot_shape(self, name, variable_shape):
        factored = len(variable_shape) >= 2
        if name == "row_average":
            return variable_shape[:-1] if factored else ()
        if name == "column_average":
            return variable_shape[:-2] + variable_shape[-1:] if factored else ()
        if name == "velocity":
            # a factored variable rebuilds v from r and c every step, so it keeps no full-size copy
            return () if factored else variable_shape
        return variable_shape

    def begin_update(self, learning_rate, step):
        self._rho = min(learning_rate, 1.0 / math.sqrt(step))
        self._beta_2 = 1.0 - step**self.beta_2_decay

    def update_step(self, gradient, variable, learning_rate, slots, scratch):
        v, u = scratch
        alpha = max(self.epsilon_2, _rms(variable)) * self._rho  # relative to the weights before this step
        np.square(gradient, out=u)
        u += self.epsilon_1
        if variable.ndim >= 2:
            r, c = slots["row_average"], slots["column_average"]
            r *= self._beta_2
            r += (1.0 - self._beta_2) * u.mean(axis=-1)
            c *= self._beta_2
            c += (1.0 - self._beta_2) * u.mean(axis=-2)
            np.multiply((r / r.mean(axis=-1, keepdims=True))[..., None], c[..., None, :], out=v)
        else:
            v = slots["velocity"]
            v *= self._beta_2
            u *= 1.0 - self._beta_2
            v += u
        np.sqrt(v, out=u)
        np.divide(gradient, u, out=u)
        u *= alpha / max(1.0, _rms(u) / self.clip_threshold)
        variable -= u

    def get_config(self):
        return {
            **super().get_config(),
            "beta_2_decay": self.beta_2_decay,
            "epsilon_1": self.epsilon_1,
            "epsilon_2": self.epsilon_2,
            "clip_threshold": self.clip_threshold,
            "relative_step": self.relative_step,
        }
