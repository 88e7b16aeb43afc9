"""Keras-style text progress for terminals and logs: ``Progbar`` and the ``ProgbarLogger`` callback."""

from __future__ import annotations

import sys
import time

from nbtrain.callbacks.callback import Callback
from nbtrain.callbacks.formatting import as_sentence, format_keras_eta, format_time_per_step

BAR_WIDTH = 20
REFRESH_INTERVAL = 0.05  # seconds between redraws of a live bar, as Keras


def format_value(value) -> str:
    """Four decimals, or scientific notation for tiny magnitudes (Keras's rule)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def format_logs(logs: dict) -> str:
    return "".join(f" - {key}: {format_value(value)}" for key, value in logs.items())


class Progbar:
    """One progress line that either redraws in place (terminals) or prints once when done (logs).

    Args:
        target: total number of steps, or None when unknown (generators).
        live: redraw in place with carriage returns and colours; False prints only the final line.
        out: a text stream; None means ``sys.stdout`` at the time of printing.
        clock: a function returning seconds, injectable for tests.
        unit_name: ``"step"`` in ``4ms/step``.
    """

    def __init__(self, target, live: bool, out=None, clock=time.monotonic, unit_name="step", compact=False):
        self.target = target
        self.live = live
        self.out = out
        self.clock = clock
        self.unit_name = unit_name
        self.compact = compact
        self._start = clock()
        self._first_step_end = None
        self._last_draw = None
        self._previous_width = 0

    def _stream(self):
        return self.out or sys.stdout

    def _time_per_step(self, current: int, now: float) -> float:
        # Skip the first step, which pays one-off costs, once there is anything else to average.
        if current > 1 and self._first_step_end is not None:
            return (now - self._first_step_end) / (current - 1)
        return (now - self._start) / max(current, 1)

    def update(self, current: int, logs: dict | None = None, finalize: bool = False) -> None:
        now = self.clock()
        if current == 1 and self._first_step_end is None:
            self._first_step_end = now
        if not finalize:
            if not self.live:
                return
            if self._last_draw is not None and now - self._last_draw < REFRESH_INTERVAL:
                return
        self._last_draw = now
        line = self._line(current, logs or {}, finalize, now)
        self._write(line, finalize)

    def _line(self, current, logs, finalize, now) -> str:
        per_step = format_time_per_step(self._time_per_step(current, now), self.unit_name)
        elapsed = now - self._start
        if self.compact:
            # Keras's verbose=2 line: no bar.
            counter = f"{current}/{self.target}" if self.target else f"{current}"
            return f"{counter} - {elapsed:.0f}s - {per_step}{format_logs(logs)}"
        if finalize or not self.target:
            timing = f"{elapsed:.0f}s"
        else:
            timing = format_keras_eta(self._time_per_step(current, now) * (self.target - current))
        return f"{self._bar(current)} {self._bold(timing)} {per_step}{format_logs(logs)}"

    def _bar(self, current: int) -> str:
        if not self.target:
            return "%7d/Unknown" % current
        digits = len(str(self.target))
        done = min(BAR_WIDTH, int(BAR_WIDTH * current / self.target))
        counter = self._bold(f"{current:>{digits}}/{self.target}")
        if not self.live:
            return f"{counter} " + "━" * done + "─" * (BAR_WIDTH - done)
        return f"{counter} \x1b[32m{'━' * done}\x1b[0m\x1b[37m{'━' * (BAR_WIDTH - done)}\x1b[0m"

    def _bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.live else text

    def _write(self, line: str, finalize: bool) -> None:
        stream = self._stream()
        if self.live:
            padding = " " * max(0, self._previous_width - len(line))
            self._previous_width = len(line)
            stream.write("\r" + line + padding + ("\n" if finalize else ""))
        else:
            stream.write(line + "\n")
        stream.flush()


def stream_is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgbarLogger(Callback):
    """Prints training progress as Keras does, and reads cleanly in logs and executed notebooks.

    In a terminal, ``verbose=1`` redraws one bar per epoch in place. When the output is not a terminal
    (CI logs, files, notebooks run by nbclient) it prints one finished line per epoch instead of
    carriage-return updates. ``verbose=2`` prints one line per epoch without a bar.

    Args:
        verbose: 1 (bar) or 2 (one line per epoch); set from ``fit(verbose=...)`` when left as None.
        out: text stream (default ``sys.stdout``, looked up when printing).
        clock: seconds clock, injectable for tests.
        live: force redrawing in place (True) or not (False); None decides from ``out.isatty()``.
    """

    def __init__(self, verbose=None, out=None, clock=time.monotonic, live=None):
        super().__init__()
        self.verbose = verbose
        self.out = out
        self.clock = clock
        self.live = live
        self._bar = None
        self._in_fit = False
        self._epoch_open = False      # an epoch's bar is drawn but not finished (no newline yet)
        self._last_epoch = None
        self._last_epoch_logs = {}

    def _stream(self):
        return self.out or sys.stdout

    def _verbose(self) -> int:
        verbose = self.verbose if self.verbose is not None else self.params.get("verbose", 1)
        return 1 if verbose == "auto" else int(verbose)

    def _new_bar(self, target) -> Progbar:
        live = self.live if self.live is not None else stream_is_terminal(self._stream())
        return Progbar(target, live=live and self._verbose() == 1, out=self.out, clock=self.clock,
                       compact=self._verbose() == 2)

    def _print(self, text: str) -> None:
        stream = self._stream()
        stream.write(text + "\n")
        stream.flush()

    # ----- fit -----
    def on_train_begin(self, logs=None):
        self._in_fit = True
        self._last_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs", 1)
        if epochs > 1:
            self._print(f"Epoch {epoch + 1}/{epochs}")
        self._bar = self._new_bar(self.params.get("steps"))
        self._seen = 0
        self._epoch_open = True

    def on_train_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        self._bar.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._bar.update(self._seen, logs, finalize=True)
        self._epoch_open = False
        self._last_epoch = epoch

    def on_train_end(self, logs=None):
        self._in_fit = False
        if self._epoch_open and self._bar is not None and self._bar.live:
            self._stream().write("\n")   # end the half-drawn bar's line before saying why training ended
        self._epoch_open = False
        outcome = None if self.model is None else self.model.fit_outcome
        if outcome is not None:
            line = self._end_line(outcome)
            if line:
                self._print(line)

    def _end_line(self, outcome) -> str | None:
        """One line on an early end (epochs and batches counted from 1); None when training completed."""
        if outcome.reason == "interrupted" and outcome.interrupted_at is not None:
            epoch, batch = outcome.interrupted_at
            steps = self.params.get("steps")
            return (f"Training interrupted at epoch {epoch + 1}, batch {batch}{f'/{steps}' if steps else ''}. "
                    "The model keeps the weights of the last completed batch; model.history holds the "
                    "completed epochs.")
        if outcome.reason == "stopped" and outcome.detail:
            epochs = self.params.get("epochs")
            after = "" if self._last_epoch is None else f" after epoch {self._last_epoch + 1}" + (
                f"/{epochs}" if epochs else "")
            return f"Training stopped{after}. {as_sentence(outcome.detail)}"
        return None

    # ----- evaluate and predict (silent inside fit, where validation results join the epoch line) -----
    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._bar = self._new_bar(self.params.get("steps"))
            self._seen = 0

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._seen = batch + 1
            self._bar.update(batch + 1, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._bar.update(self._seen, logs, finalize=True)

    def on_predict_begin(self, logs=None):
        self._bar = self._new_bar(self.params.get("steps"))
        self._seen = 0

    def on_predict_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        self._bar.update(batch + 1)

    def on_predict_end(self, logs=None):
        self._bar.update(self._seen, finalize=True)
