"""``EarlyStopping``: stop training when a monitored quantity has stopped improving."""

from __future__ import annotations

import math
import warnings

import numpy as np

from nbtrain.callbacks.callback import Callback
from nbtrain.utils.checks import number


def monitor_direction(model, monitor: str) -> str | None:
    """'down' for losses, else the compiled metric's own direction ('up' for accuracy), or None if unknown."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return "down"
    finder = getattr(model, "metric_direction", None)
    return finder(name) if finder else None


def comparison_for(mode: str, model, monitor: str, callback_name: str):
    """np.less or np.greater for ``mode`` ('min', 'max' or 'auto' resolved from the monitored metric)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{callback_name} expects mode to be 'auto', 'min' or 'max', got {mode!r}.")
    if mode == "auto":
        direction = monitor_direction(model, monitor)
        if direction is None:
            raise ValueError(
                f"{callback_name} cannot tell whether '{monitor}' should go up or down. "
                f"Pass mode='max' (for scores like accuracy) or mode='min' (for errors and losses)."
            )
        mode = "min" if direction == "down" else "max"
    return np.less if mode == "min" else np.greater


def monitored_value(logs, monitor: str, callback_name: str):
    """The monitored value in ``logs`` as one float, or None when it is missing.

    A metric that gives one value per class (``F1Score(average=None)``) logs a list; a list of one value is
    that value, as Keras compares it; a longer one cannot be ranked, so the error says how to get one number.
    """
    value = (logs or {}).get(monitor)
    if value is None or isinstance(value, (int, float)):
        return value
    values = np.asarray(value, dtype=np.float64).reshape(-1)
    if values.size == 1:
        return float(values[0])
    raise ValueError(
        f"{callback_name} monitors '{monitor}', which holds {values.size} values (one per class or output), so it "
        f"cannot tell whether an epoch improved. Monitor one number: a metric averaged over the classes (for "
        f"example F1Score(average='macro')), or another log key.")


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs (Keras semantics).

    Args:
        monitor: log key to watch, default ``"val_loss"``.
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints a line when it stops or restores weights.
        mode: ``"auto"``, ``"min"`` or ``"max"``; auto decreases for losses and errors, increases for scores.
        baseline: training stops unless the monitored value beats this within ``patience`` epochs.
        restore_best_weights: at the end of training, load the weights of the best epoch.
        start_from_epoch: epochs to wait before starting to monitor (warm-up).

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
        >>> # model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[stop])
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0, out=None):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping expects mode to be 'auto', 'min' or 'max', got {mode!r}.")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = number(patience, "patience", "EarlyStopping", low=0, integer=True)
        self.verbose = verbose
        self.mode = mode
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.out = out
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0
        self._compare = None

    def on_train_begin(self, logs=None):
        self._reset()

    def _improved(self, current, reference) -> bool:
        if reference is None:
            return True
        delta = -self.min_delta if self._compare is np.less else self.min_delta
        return bool(self._compare(current - delta, reference))

    def on_epoch_end(self, epoch, logs=None):
        current = monitored_value(logs, self.monitor, "EarlyStopping")
        if current is None:
            available = ",".join(sorted(logs or {}))
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {available}", stacklevel=2)
            return
        if self._compare is None:
            self._compare = comparison_for(self.mode, self.model, self.monitor, "EarlyStopping")
        if epoch < self.start_from_epoch or (isinstance(current, float) and math.isnan(current)):
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def stop_description(self) -> str | None:
        """``val_loss did not improve for 10 epochs; weights restored from epoch 17`` (1-based epochs).

        Called when training has stopped, before ``on_train_end`` restores the best weights, so it says what
        that restore is going to do.
        """
        if self.stopped_epoch == 0:
            return None
        epochs = f"{self.wait} epoch{'s' if self.wait != 1 else ''}"
        if self.baseline is not None and (self.best is None or not self._improved(self.best, self.baseline)):
            text = f"{self.monitor} did not beat the baseline {self.baseline:g} in {epochs}"
        elif self.min_delta:
            text = f"{self.monitor} did not improve by more than {self.min_delta:g} for {epochs}"
        else:
            text = f"{self.monitor} did not improve for {epochs}"
        if self.restore_best_weights and self.best_weights is not None:
            text += f"; weights restored from epoch {self.best_epoch + 1}"
        return text

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            self._print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                self._print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def _print(self, message):
        import sys

        print(message, file=self.out or sys.stdout)

    def __repr__(self):
        return f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience})"
