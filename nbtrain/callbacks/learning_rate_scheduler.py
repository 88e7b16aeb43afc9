"""``LearningRateScheduler``: set the learning rate at the start of every epoch from a function."""

from __future__ import annotations

import inspect
import sys

from nbtrain.callbacks.callback import Callback
from nbtrain.callbacks.monitor import is_scalar_number
from nbtrain.callbacks.reduce_lr_on_plateau import schedule_conflict, uses_schedule


def _positional_arity(function) -> int | None:
    """How many positional arguments ``function`` accepts (2 for ``*args``), or None if unknown."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    count = 0
    for p in parameters:
        if p.kind is p.VAR_POSITIONAL:
            return 2
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


class LearningRateScheduler(Callback):
    """At the start of every epoch, set the learning rate to ``schedule(epoch, lr)`` (or ``schedule(epoch)``).

    ``epoch`` is 0-based and ``lr`` is the current learning rate. The result must be a number. The rate of
    each epoch is written to ``logs['learning_rate']``, so it appears in ``history.history`` and the progress line.

    Args:
        schedule: a function ``(epoch, lr) -> new_lr`` or ``(epoch) -> new_lr``.
        verbose: 1 prints the new rate at the start of every epoch.
        out: text stream for verbose messages (default ``sys.stdout``).

    Example:
        >>> def schedule(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> scheduler = LearningRateScheduler(schedule, verbose=1)
        >>> # model.fit(x, y, epochs=15, callbacks=[scheduler])
    """

    def __init__(self, schedule, verbose=0, out=None):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler expects schedule to be a function (epoch, lr) -> new learning rate, got "
                f"{schedule!r}. For example: LearningRateScheduler(lambda epoch, lr: lr * 0.95)."
            )
        self.schedule = schedule
        self.verbose = verbose
        self.out = out
        self._arity = _positional_arity(schedule)

    def on_train_begin(self, logs=None):
        if uses_schedule(self.model.optimizer):
            raise schedule_conflict("LearningRateScheduler", self.model.optimizer)

    def _call_schedule(self, epoch: int, lr: float):
        if self._arity == 1:
            return self.schedule(epoch)
        if self._arity is not None:
            return self.schedule(epoch, lr)
        # Signature unknown (some builtins): try the two-argument form first, as Keras does.
        try:
            return self.schedule(epoch, lr)
        except TypeError:
            return self.schedule(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        learning_rate = self._call_schedule(epoch, float(optimizer.learning_rate))
        if not is_scalar_number(learning_rate):
            raise ValueError(
                f"The output of the `schedule` function should be a number (the new learning rate). "
                f"Got: {learning_rate!r} ({type(learning_rate).__name__}) at epoch {epoch}."
            )
        optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            stream = self.out or sys.stdout
            stream.write(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                         f"{float(learning_rate)}.\n")
            stream.flush()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)

    def __repr__(self):
        name = getattr(self.schedule, "__name__", type(self.schedule).__name__)
        return f"LearningRateScheduler(schedule={name})"
