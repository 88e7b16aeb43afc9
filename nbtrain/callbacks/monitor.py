"""``MonitorCallback``: the shared base of callbacks that watch one log value for improvement."""

from __future__ import annotations

import numbers
import sys

import numpy as np

from nbtrain.callbacks.callback import Callback
from nbtrain.callbacks.early_stopping import comparison_for, monitored_value
from nbtrain.utils.checks import Wording, number

MODES = ("auto", "min", "max")

#: How callbacks word a rejected real number: ``ReduceLROnPlateau expects min_lr >= 0.0, got -1.``
CALLBACK_WORDING = Wording(wrong_type="{owner} expects {what} to be {kind}, got {value}.",
                           out_of_range="{owner} expects {what} {bound}, got {value}.", type_error=ValueError)


def check_mode(owner: str, mode) -> str:
    """Return ``mode`` if it is 'auto', 'min' or 'max', else raise a ValueError saying which to pick."""
    if mode not in MODES:
        raise ValueError(
            f"{owner} expects mode to be 'auto', 'min' or 'max', got {mode!r}. Use 'min' when smaller is better "
            f"(losses, errors), 'max' when larger is better (accuracy, AUC), or 'auto' to decide from the monitor."
        )
    return mode


def is_scalar_number(value) -> bool:
    """True for a plain real number (or a NumPy scalar / 0-d array holding one), not for bools."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and np.issubdtype(value.dtype, np.number)
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


class MonitorCallback(Callback):
    """Base for callbacks that compare a monitored log value (``val_loss``, ``accuracy``) against the best so far.

    The comparison is chosen on first use: ``mode='min'`` or ``'max'`` as given, and ``'auto'`` from the metric
    (losses go down, accuracy-like metrics go up). A value improves when it beats the best by more than
    ``min_delta``; anything improves on ``best=None``.

    Args:
        monitor: the log key to watch, e.g. ``"val_loss"``.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        baseline: the value to beat at first (None: the first value always improves).
        min_delta: the smallest change that counts as an improvement.
        out: text stream for verbose messages (default ``sys.stdout`` at the time of printing).

    Example:
        >>> class SayWhenBetter(MonitorCallback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         current = self.get_monitor_value(logs)
        ...         if current is not None and self._is_improvement(current, self.best):
        ...             self.best = current
        ...             print(f"epoch {epoch + 1}: new best {current:.3f}")
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0, out=None):
        super().__init__()
        owner = type(self).__name__
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"{owner} expects monitor to be a log key such as 'val_loss' or 'accuracy', "
                             f"got {monitor!r}.")
        self.monitor = monitor
        self.mode = check_mode(owner, mode)
        self.best = number(baseline, "the baseline value", owner, optional=True, wording=CALLBACK_WORDING)
        self.min_delta = abs(number(min_delta, "min_delta", owner, wording=CALLBACK_WORDING))
        self.monitor_op = None
        self.out = out

    def _set_monitor_op(self) -> None:
        self.monitor_op = comparison_for(self.mode, self.model, self.monitor, type(self).__name__)

    def get_monitor_value(self, logs):
        """The monitored value from ``logs``, or None when it is missing."""
        return monitored_value(logs, self.monitor, type(self).__name__)

    def _is_improvement(self, current, reference) -> bool:
        if self.monitor_op is None:
            self._set_monitor_op()
        if np.isnan(current):
            # A NaN never improves; taken as the first "best" it would block every later improvement.
            return False
        if reference is None:
            return True
        delta = -self.min_delta if self.monitor_op is np.less else self.min_delta
        return bool(self.monitor_op(current - delta, reference))

    def _print(self, message: str) -> None:
        stream = self.out or sys.stdout
        stream.write(message + "\n")
        stream.flush()
