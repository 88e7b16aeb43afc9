"""Learning-rate schedules: functions of the optimizer step, evaluated once per update.

An optimizer given a schedule calls ``schedule(optimizer.iterations)`` before every update, so the first
update uses ``schedule(0)``. Every schedule returns a plain Python float.

Example:
    >>> from nbtrain.optimizers import SGD, schedules
    >>> lr = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    >>> round(lr(2), 6)
    0.05
    >>> opt = SGD(learning_rate=lr)
"""

from __future__ import annotations

import math

from nbtrain.utils.registry import Registry
from nbtrain.utils.checks import KERAS, number

__all__ = [
    "SCHEDULES",
    "LearningRateSchedule",
    "ExponentialDecay",
    "InverseTimeDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "serialize",
    "deserialize",
]


def _whole(steps: float):
    """Step counts stay ints when they are whole, so configs and reprs show ``decay_steps=1000``, not ``1000.0``."""
    return int(steps) if steps.is_integer() else steps


def _step(step) -> float:
    # Accept Python and NumPy integers, floats and 0-d arrays; the optimizer passes a Python int.
    return float(step)


class LearningRateSchedule:
    """Base class for learning-rate schedules: subclasses implement ``__call__(step)`` and ``get_config()``.

    Args:
        (none): subclasses define their own arguments.

    Example:
        >>> class Halving(LearningRateSchedule):
        ...     def __init__(self, initial_learning_rate):
        ...         self.initial_learning_rate = initial_learning_rate
        ...     def __call__(self, step):
        ...         return self.initial_learning_rate / 2 ** step
        ...     def get_config(self):
        ...         return {"initial_learning_rate": self.initial_learning_rate}
        >>> Halving(1.0)(3)
        0.125
    """

    def __call__(self, step) -> float:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`.")

    def get_config(self) -> dict:
        """Return the constructor arguments as a dict, so ``from_config`` can rebuild the schedule."""
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        """Rebuild a schedule from the output of ``get_config()``.

        Example:
            >>> s = ExponentialDecay(0.1, 10, 0.5)
            >>> ExponentialDecay.from_config(s.get_config())(10)
            0.05
        """
        return cls(**config)

    def __repr__(self) -> str:
        try:
            config = self.get_config()
        except NotImplementedError:
            return f"{type(self).__name__}()"
        args = ", ".join(f"{k}={v!r}" for k, v in config.items() if k != "name")
        return f"{type(self).__name__}({args})"


SCHEDULES = Registry("learning rate schedule", base=LearningRateSchedule, module="nbtrain.optimizers.schedules",
                     config_only=True)
"""Every schedule by class name (``"ExponentialDecay"``, ...); each class registers itself."""


@SCHEDULES.register()
class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``, optionally in whole stairs.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive; the rate is multiplied by ``decay_rate`` every ``decay_steps`` steps.
        decay_rate: the multiplier per ``decay_steps``.
        staircase: if True, ``step / decay_steps`` is floored, so the rate changes in jumps.
        name: kept for Keras compatibility.

    Example:
        >>> s = ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
        >>> [round(s(step), 6) for step in range(5)]
        [0.1, 0.070711, 0.05, 0.035355, 0.025]
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        owner = "ExponentialDecay"
        self.initial_learning_rate = number(initial_learning_rate, "initial_learning_rate", owner, low=0, wording=KERAS)
        self.decay_steps = _whole(number(decay_steps, "decay_steps", owner, low=0, low_open=True, wording=KERAS))
        self.decay_rate = number(decay_rate, "decay_rate", owner, low=0, wording=KERAS)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step) -> float:
        p = _step(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate**p

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


@SCHEDULES.register()
class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``, optionally in whole stairs.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive; the time unit of the decay.
        decay_rate: how fast the rate falls.
        staircase: if True, ``step / decay_steps`` is floored.
        name: kept for Keras compatibility.

    Example:
        >>> s = InverseTimeDecay(1.0, decay_steps=2, decay_rate=0.5)
        >>> [round(s(step), 4) for step in (0, 1, 2, 4)]
        [1.0, 0.8, 0.6667, 0.5]
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        owner = "InverseTimeDecay"
        self.initial_learning_rate = number(initial_learning_rate, "initial_learning_rate", owner, low=0, wording=KERAS)
        self.decay_steps = _whole(number(decay_steps, "decay_steps", owner, low=0, low_open=True, wording=KERAS))
        self.decay_rate = number(decay_rate, "decay_rate", owner, low=0, wording=KERAS)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step) -> float:
        p = _step(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


@SCHEDULES.register()
class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate on each interval: ``values[0]`` while ``step <= boundaries[0]``, and so on.

    Args:
        boundaries: strictly increasing step numbers.
        values: one more value than boundaries: ``values[i]`` holds for
            ``boundaries[i-1] < step <= boundaries[i]``, and ``values[-1]`` after the last boundary.
        name: kept for Keras compatibility.

    Example:
        >>> s = PiecewiseConstantDecay(boundaries=[2, 4], values=[1.0, 0.5, 0.1])
        >>> [s(step) for step in range(7)]
        [1.0, 1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        owner = "PiecewiseConstantDecay"
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                f"{owner}: `values` must have exactly one more entry than `boundaries`. Received "
                f"boundaries={boundaries} (length {len(boundaries)}) and values={values} (length {len(values)})."
            )
        boundaries = [_whole(number(b, "boundaries", owner, wording=KERAS)) for b in boundaries]
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(f"{owner}: `boundaries` must be strictly increasing. Received boundaries={boundaries}.")
        self.boundaries = boundaries
        self.values = [number(v, "values", owner, low=0, wording=KERAS) for v in values]
        self.name = name

    def __call__(self, step) -> float:
        step = _step(step)
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self) -> dict:
        return {"boundaries": list(self.boundaries), "values": list(self.values), "name": self.name}


@SCHEDULES.register()
class PolynomialDecay(LearningRateSchedule):
    """Decay from ``initial_learning_rate`` to ``end_learning_rate`` along ``(1 - step/decay_steps) ** power``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive; the rate reaches ``end_learning_rate`` at this step.
        end_learning_rate: the final rate (default 1e-4).
        power: the polynomial's power (1.0 is linear).
        cycle: if True, restart the decay (over a ``decay_steps`` multiple) instead of staying at the end rate.
        name: kept for Keras compatibility.

    Example:
        >>> s = PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.1)
        >>> [round(s(step), 4) for step in (0, 5, 10, 20)]
        [1.0, 0.55, 0.1, 0.1]
    """

    def __init__(
        self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False, name="PolynomialDecay"
    ):
        owner = "PolynomialDecay"
        self.initial_learning_rate = number(initial_learning_rate, "initial_learning_rate", owner, low=0, wording=KERAS)
        self.decay_steps = _whole(number(decay_steps, "decay_steps", owner, low=0, low_open=True, wording=KERAS))
        self.end_learning_rate = number(end_learning_rate, "end_learning_rate", owner, low=0, wording=KERAS)
        self.power = number(power, "power", owner, wording=KERAS)
        self.cycle = bool(cycle)
        self.name = name

    def __call__(self, step) -> float:
        step, decay_steps = _step(step), self.decay_steps
        if self.cycle:
            # stretch the horizon to the first multiple of decay_steps at or beyond step (1 at step 0)
            decay_steps *= max(1.0, math.ceil(step / decay_steps))
        else:
            step = min(step, decay_steps)
        fraction_left = 1.0 - step / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * fraction_left**self.power + self.end_learning_rate

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


@SCHEDULES.register()
class CosineDecay(LearningRateSchedule):
    """Cosine decay to ``alpha`` times the starting rate, after an optional linear warmup.

    Without ``warmup_target`` the rate falls from ``initial_learning_rate`` over ``decay_steps``.
    With it, the rate first climbs linearly from ``initial_learning_rate`` to ``warmup_target`` over
    ``warmup_steps``, then falls from ``warmup_target`` over ``decay_steps``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive length of the cosine part.
        alpha: the final rate as a fraction of the rate the decay starts from.
        name: kept for Keras compatibility.
        warmup_target: the rate reached at the end of warmup, or None for no warmup.
        warmup_steps: the length of the warmup.

    Example:
        >>> s = CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=5)
        >>> [round(s(step), 4) for step in (0, 1, 5, 10, 15, 20)]
        [0.0, 0.2, 1.0, 0.5, 0.0, 0.0]
    """

    def __init__(
        self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None, warmup_steps=0
    ):
        owner = "CosineDecay"
        self.initial_learning_rate = number(initial_learning_rate, "initial_learning_rate", owner, low=0, wording=KERAS)
        self.decay_steps = _whole(number(decay_steps, "decay_steps", owner, low=0, low_open=True, wording=KERAS))
        self.alpha = number(alpha, "alpha", owner, low=0, wording=KERAS)
        self.name = name
        self.warmup_target = number(warmup_target, "warmup_target", owner, low=0, optional=True, wording=KERAS)
        self.warmup_steps = _whole(number(warmup_steps, "warmup_steps", owner, low=0, wording=KERAS))

    def _decayed(self, step: float, start_rate: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step) -> float:
        step = _step(step)
        if self.warmup_target is None:
            return self._decayed(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return self.initial_learning_rate + (self.warmup_target - self.initial_learning_rate) * fraction
        return self._decayed(step - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


@SCHEDULES.register()
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): each period is ``t_mul`` times longer and ``m_mul`` times lower.

    Args:
        initial_learning_rate: the rate at step 0.
        first_decay_steps: positive length of the first period.
        t_mul: how much longer each period is than the one before.
        m_mul: the starting rate of each period relative to the one before.
        alpha: the lowest rate, as a fraction of ``initial_learning_rate``.
        name: kept for Keras compatibility.

    Example:
        >>> s = CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=1.0)
        >>> [round(s(step), 4) for step in (0, 5, 10, 15)]
        [1.0, 0.5, 1.0, 0.5]
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        owner = "CosineDecayRestarts"
        self.initial_learning_rate = number(initial_learning_rate, "initial_learning_rate", owner, low=0, wording=KERAS)
        self.first_decay_steps = _whole(number(first_decay_steps, "first_decay_steps", owner, low=0, low_open=True,
                                               wording=KERAS))
        self.t_mul = number(t_mul, "t_mul", owner, low=0, low_open=True, wording=KERAS)
        self.m_mul = number(m_mul, "m_mul", owner, low=0, wording=KERAS)
        self.alpha = number(alpha, "alpha", owner, low=0, wording=KERAS)
        self.name = name

    def _period_and_fraction(self, fraction: float) -> tuple[float, float]:
        """Which restart ``fraction`` (steps / first_decay_steps) falls in, and how far into it."""
        if self.t_mul == 1.0:
            restart = math.floor(fraction)
            return restart, fraction - restart
        # periods have lengths 1, t, t^2, ...; their running sum is (1 - t^i) / (1 - t)
        restart = math.floor(math.log(1.0 - fraction * (1.0 - self.t_mul)) / math.log(self.t_mul))
        elapsed = (1.0 - self.t_mul**restart) / (1.0 - self.t_mul)
        return restart, (fraction - elapsed) / self.t_mul**restart

    def __call__(self, step) -> float:
        restart, fraction = self._period_and_fraction(_step(step) / self.first_decay_steps)
        cosine = 0.5 * self.m_mul**restart * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


def serialize(schedule: LearningRateSchedule) -> dict:
    """Return ``{"module", "class_name", "config"}`` for a schedule, for saving with the optimizer's config.

    Args:
        schedule: a ``LearningRateSchedule``.

    Example:
        >>> serialize(ExponentialDecay(0.1, 10, 0.5))["class_name"]
        'ExponentialDecay'
    """
    return SCHEDULES.serialize(schedule)


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """Rebuild a schedule from ``serialize()``'s output (``{"class_name": ..., "config": {...}}``).

    Args:
        config: the serialized schedule.
        custom_objects: extra ``{name: class}`` for your own ``LearningRateSchedule`` subclasses.

    Example:
        >>> deserialize({"class_name": "InverseTimeDecay", "config": {
        ...     "initial_learning_rate": 1.0, "decay_steps": 2, "decay_rate": 0.5}})(2)
        0.6666666666666666
    """
    return SCHEDULES.deserialize(config, custom_objects)
