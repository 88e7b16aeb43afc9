"""``ReduceLROnPlateau``: lower the learning rate when a monitored value stops improving."""

from __future__ import annotations

import warnings

from nbtrain.callbacks.early_stopping import monitored_value
from nbtrain.callbacks.monitor import CALLBACK_WORDING, MonitorCallback
from nbtrain.utils.checks import number
from nbtrain.utils.errors import check_keyword_arguments

_ARGUMENTS = ("monitor", "factor", "patience", "verbose", "mode", "min_delta", "cooldown", "min_lr", "out", "epsilon")


def uses_schedule(optimizer) -> bool:
    """True when the optimizer's learning rate comes from a schedule (and so cannot be set to a number)."""
    return not isinstance(getattr(optimizer, "_learning_rate", 0.0), (int, float))


def schedule_conflict(owner: str, optimizer) -> TypeError:
    return TypeError(
        f"{owner} sets the learning rate, but this {type(optimizer).__name__} was created with a learning-rate "
        f"schedule ({optimizer._learning_rate!r}) that already decides it. Use one or the other: create the "
        f"optimizer with a number, e.g. {type(optimizer).__name__}(learning_rate=0.001), or drop the callback."
    )


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` once ``monitor`` has not improved for ``patience`` epochs.

    After a reduction it waits ``cooldown`` epochs before counting again, and never goes below ``min_lr``.
    Every epoch it writes the learning rate used in that epoch to ``logs['learning_rate']``, so
    ``history.history['learning_rate']`` and the progress line show it.

    Args:
        monitor: log key to watch, default ``"val_loss"``.
        factor: multiplier for the learning rate, ``0 <= factor < 1``.
        patience: epochs without improvement before reducing.
        verbose: 1 prints a line at every reduction.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        min_delta: smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before resuming normal operation.
        min_lr: lower bound on the learning rate.
        out: text stream for verbose messages (default ``sys.stdout``).
        **kwargs: only the legacy ``epsilon`` (taken as ``min_delta``, with a warning); any other unknown
            keyword raises a TypeError suggesting the nearest argument (Keras silently ignores them).

    Example:
        >>> reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=0.001)
        >>> # model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[reduce_lr])
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, out=None, **kwargs):
        if "epsilon" in kwargs:
            warnings.warn("ReduceLROnPlateau(epsilon=...) is deprecated: use min_delta=... instead.", stacklevel=2)
            min_delta = kwargs.pop("epsilon")
        # Keras ignores unknown keywords; a misspelled `patiance=` silently doing nothing is worse than an error.
        check_keyword_arguments("ReduceLROnPlateau()", kwargs, _ARGUMENTS)
        super().__init__(monitor=monitor, mode=mode, min_delta=min_delta, out=out)
        factor = number(factor, "factor", "ReduceLROnPlateau", low=0.0, wording=CALLBACK_WORDING)
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}. The new learning "
                f"rate is lr * factor, so use a factor below 1, e.g. factor=0.5 to halve it."
            )
        self.factor = factor
        self.patience = number(patience, "patience", "ReduceLROnPlateau", low=0, integer=True)
        self.cooldown = number(cooldown, "cooldown", "ReduceLROnPlateau", low=0, integer=True)
        self.min_lr = number(min_lr, "min_lr", "ReduceLROnPlateau", low=0.0, wording=CALLBACK_WORDING)
        self.verbose = verbose
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.cooldown_counter = 0
        self.best = None
        if uses_schedule(self.model.optimizer):
            raise schedule_conflict("ReduceLROnPlateau", self.model.optimizer)

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = monitored_value(logs, self.monitor, "ReduceLROnPlateau")
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs)}", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = float(current)
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch, optimizer)

    def _reduce(self, epoch, optimizer) -> None:
        old_lr = float(optimizer.learning_rate)
        if old_lr <= self.min_lr:
            return
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            self._print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        self.cooldown_counter = self.cooldown
        self.wait = 0

    def __repr__(self):
        return (f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.factor}, patience={self.patience}, "
                f"min_lr={self.min_lr})")
