"""The shared logic of the notebook progress displays: events, throttling, finishing with the static record.

:class:`LiveDisplay` is a :class:`~nbtrain.callbacks.Callback`. It keeps a
:class:`~nbtrain.display.state.RunState`, decides *when* to draw, and at the end replaces its live output by
the static record. Subclasses decide *how* to draw: widgets (:mod:`~nbtrain.display.dashboard`), HTML through a
display handle (:mod:`~nbtrain.display.html_display`), or nothing until the end (:class:`RecordOnly`).

When to draw, in one tick (see ``_tick``):

* the bars at most every ``bar_interval`` seconds, and on an epoch's last batch (see ``_epoch_end_due``);
* the metrics table in the same tick as the bars, whenever an epoch has finished since it was drawn, so bars
  and table never disagree by more than one bar interval;
* the history plot first at the first tick at least ``first_plot_after`` seconds into training once an epoch
  has finished (unless training ends within ``first_plot_min_eta`` seconds: then the record, with its plot,
  comes within 2 s of the start), then at most every ``plot_interval`` and at least every ``plot_max_interval``
  seconds while epochs finish, backing off only when frames get expensive (see
  :class:`~nbtrain.display.throttle.Throttle`). Building the figure is a one-time cost: it does not count
  against the plot's time budget. A plot frame is drawn with the bars and table of the same moment, and
  ``plot_epoch`` says which epoch it shows.

Every time comes from the injected ``clock``, so tests replay a run with made-up times.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
import weakref

from nbtrain.callbacks.callback import Callback
from nbtrain.display.state import RunState
from nbtrain.display.static import progress_line, record_bundle
from nbtrain.display.text import INTERRUPT_NOTE
from nbtrain.display.throttle import Throttle

def weak_metric_direction(model):
    """``model.metric_direction`` without holding the model: the run's state outlives the run (in the display,
    in the record), the trained model need not. Once the model is gone the state guesses from the metric names.

    Example:
        >>> class Model:
        ...     def metric_direction(self, name):
        ...         return "up"
        >>> model = Model()
        >>> direction = weak_metric_direction(model)
        >>> direction("accuracy")
        'up'
        >>> del model; direction("accuracy") is None
        True
    """
    method = getattr(model, "metric_direction", None)
    try:
        reference = weakref.WeakMethod(method)
    except TypeError:                 # not a bound method of a weakly referable object: keep it as it is
        return method

    def direction(name):
        bound = reference()
        return None if bound is None else bound(name)

    return direction


class LiveDisplay(Callback):
    """Base class of the notebook progress displays (see the module docstring).

    Args:
        clock: seconds clock (``time.monotonic``); tests pass a fake one.
        timer: measures what drawing costs, for the back-off (``time.perf_counter``).
        output: where bundles go (:class:`~nbtrain.display.outputs.IPythonOutput` by default).
        stop_route: ``"background"`` or ``"awaiting"`` when a Stop button can reach the training loop (see
            :func:`~nbtrain.display.environment.progress_callback_for`), None otherwise.
        note: an extra line for the final record (for example what to install for the full dashboard).
        raise_errors: re-raise display errors instead of switching the display off (tests; also
            ``NBTRAIN_DISPLAY_DEBUG=1``).
    """

    bar_interval = 0.2        # seconds between bar updates: 5 per second at most (smooth enough to read),
    bar_budget = 0.005        # and fewer when one costs more than 0.5% of the time between two
    epoch_end_gap = 0.15      # an epoch's last batch is drawn too, but not within 0.15 s of the previous epoch's
    first_plot_after = 0.5    # the first live frame: the first tick this far into training once an epoch is done
    plot_interval = 1.0       # then a frame at most every second,
    plot_max_interval = 2.0   # and at least every 2 s while epochs finish,
    plot_budget = 0.015       # slower when frames would take more than 1.5% of the wall time,
    plot_max_budget = 0.025   # but a frame every 2 s is kept up to 2.5% (a 50 ms frame); beyond, frames space out
    first_plot_min_eta = 1.5  # no first frame when training ends sooner: the record shows the plot by 2 s
    record_dpi = 100          # the final plot: sharper than the live frames (80 dpi)
    live_plot = True
    is_progress_display = True   # tells fit not to add its default progress display next to this one

    def __init__(self, clock=time.monotonic, output=None, stop_route=None, note=None, raise_errors=None,
                 timer=time.perf_counter):
        super().__init__()
        self.clock = clock
        self.timer = timer
        self.output = output
        self.stop_route = stop_route
        self.note = note
        self.raise_errors = (os.environ.get("NBTRAIN_DISPLAY_DEBUG", "") not in ("", "0")
                             if raise_errors is None else raise_errors)
        self.state = None
        self.record = None
        self.bar_throttle = Throttle(self.bar_interval, budget=self.bar_budget)
        self.plot_throttle = Throttle(self.plot_interval, budget=self.plot_budget,
                                      max_interval=self.plot_max_interval, max_budget=self.plot_max_budget)
        self.draw_count = 0
        self.plot_count = 0
        self.plot_epoch = None       # the (1-based) epoch the live plot shows, once it shows one
        self._plot = None
        self._plot_dirty = False
        self._table_dirty = False
        self._opened = False
        self._disabled = False
        self._button_clicked = False
        self._epoch_end_drawn_at = None

    # ----- subclass interface -----------------------------------------------------------------------------------
    def _open(self) -> None:
        """Create and show the live output for ``self.state``."""

    def _draw_progress(self) -> None:
        """Show the current batch, speed, times and running metrics."""

    def _draw_epoch(self) -> None:
        """Show the metrics table of the epochs finished so far (the bars are drawn in the same tick)."""

    def _draw_plot(self, png: bytes) -> None:
        """Show a new frame of the history plot; it shows epoch ``self.plot_epoch``."""

    def _finish(self, bundle: dict) -> None:
        """Replace the live output by the static ``bundle``."""

    def _refresh(self) -> None:
        """The live output was opened early (``open_early``); show the parameters known now."""

    def _flush(self) -> None:
        """Send what the ``_draw_*`` calls of one tick prepared (for displays that redraw everything at once)."""

    # ----- plumbing -------------------------------------------------------------------------------------------------
    def _get_output(self):
        from nbtrain.display.outputs import output_or_ipython

        self.output = output_or_ipython(self.output)
        return self.output

    def _guard(self, method, *args):
        """Run a drawing step; a display error never stops training (it switches the display off once)."""
        if self._disabled:
            return None
        try:
            return method(*args)
        except Exception as error:
            if self.raise_errors:
                raise
            self._disabled = True
            warnings.warn(f"nbtrain: the progress display failed ({type(error).__name__}: {error}) and is off for "
                          f"the rest of this run; training continues.", RuntimeWarning, stacklevel=3)
            return None

    def _model_name(self) -> str:
        return str(getattr(self.model, "name", None) or type(self.model).__name__ if self.model else "model")

    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)
        value = getattr(optimizer, "learning_rate", None)
        if value is None:
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            try:
                return float(value(getattr(optimizer, "iterations", 0)))
            except Exception:
                return None

    def _start(self, mode: str) -> None:
        self.state = RunState(mode, self.params, self._model_name(), weak_metric_direction(self.model))
        self.state.learning_rate = self._learning_rate() if mode == "fit" else None
        self.state.begin(self.clock())
        self.bar_throttle.reset()
        self.plot_throttle.reset()
        self._epoch_end_drawn_at = None
        self.plot_epoch = None
        self._plot_dirty = self._table_dirty = False
        reopened = self._opened
        if mode == "fit" and self.live_plot:
            from nbtrain.display.plots import HistoryPlot

            self._plot = HistoryPlot()
        self._guard(self._refresh if reopened else self._open_once)

    def open_early(self, model_name: str = "model", epochs: int | None = None) -> None:
        """Show the live output now, before training starts: ``fit(background=True)`` calls this in the cell
        that started training, so the output lands there and not in whatever cell runs later."""
        if self.state is None:
            self.state = RunState("fit", {"epochs": epochs or 1}, model_name)
        self._guard(self._open_once)

    def _open_once(self) -> None:
        if not self._opened:
            self._opened = True
            self._open()

    def _tick(self, now: float, last_batch: bool = False) -> None:
        """Draw what is due. Bars, table and plot are drawn in the same tick, so they show the same moment: the
        table whenever the bars are drawn after an epoch finished, the bars whenever a plot frame is drawn."""
        plot_due = self._plot_due(now)
        if not (plot_due or self.bar_throttle.due(now) or (last_batch and self._epoch_end_due(now))):
            return
        self._draw_bars(now, last_batch)
        if self._table_dirty:
            self._table_dirty = False
            self._guard(self._draw_epoch)
        if plot_due:
            self._render_plot(now)
        self._guard(self._flush)

    def _draw_bars(self, now: float, last_batch: bool) -> None:
        started = self.timer()
        self.draw_count += 1
        self._guard(self._draw_progress)
        # Back off when sending is slow (a busy machine, a remote kernel): the cost is measured, not assumed.
        self.bar_throttle.mark(now, cost=self.timer() - started)
        if last_batch:
            self._epoch_end_drawn_at = now

    def _epoch_end_due(self, now: float) -> bool:
        """An epoch's last batch is drawn even between two bar ticks, so the bar never rests at 47/50 while
        validation runs or the next epoch starts. Epochs shorter than ``epoch_end_gap`` are the exception: drawing
        all their ends would mean more than 10 redraws a second, each costing the training loop about a
        millisecond (the kernel's I/O thread wakes to send it), which on a workshop fit of 35 ms epochs adds up
        to more than the 3% the dashboard may cost. There, the first epoch end at least ``epoch_end_gap`` after
        the last one drawn is drawn, and the bar ticks and validation batches catch up in between."""
        if self._epoch_end_drawn_at is None:
            return True
        throttle = self.bar_throttle
        return now - self._epoch_end_drawn_at >= self.epoch_end_gap * throttle.interval / throttle.base_interval - 1e-6

    def _plot_due(self, now: float) -> bool:
        """A new frame is due: an epoch finished since the last one, and it is time (see the module docstring)."""
        if not self._plot_dirty or self._plot is None or self._disabled:
            return False
        if self.plot_throttle.count > 0:
            return self.plot_throttle.due(now)
        if now - self.state.start_time < self.first_plot_after - 1e-6:
            return False
        # Building the figure for a first frame that the record replaces within a moment only costs time: a
        # workshop fit of a second or two shows its plot in the record, by 2 s into training all the same.
        eta = self.state.total_eta()
        return eta is None or eta >= self.first_plot_min_eta

    def _render_plot(self, now: float) -> None:
        plot = self._plot
        first = self.plot_throttle.count == 0
        prepare = getattr(plot, "prepare", None)
        if prepare is not None:
            self._guard(prepare, self.state)     # building the figure: a one-time cost, before the timed part
        figure = getattr(plot, "figure", None)
        started = self.timer()
        drawn = self._guard(plot.update, self.state)
        if drawn:
            png = self._guard(plot.png)
            if png:
                self.plot_epoch = self.state.epoch_indices[-1] + 1
                self._guard(self._draw_plot, png)
                self.plot_count += 1
        self._plot_dirty = False
        # Building the figure (the first frame, or a new metric appearing) is paid once: counted against the
        # running budget, one slow build would space the next frames out by tens of seconds.
        built = first or getattr(plot, "figure", None) is not figure
        self.plot_throttle.mark(now, cost=None if built else self.timer() - started)

    # ----- fit --------------------------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._start("fit")

    def on_epoch_begin(self, epoch, logs=None):
        now = self.clock()
        self.state.epoch_begin(epoch, now)
        self._tick(now)

    def on_train_batch_end(self, batch, logs=None):
        now = self.clock()
        state = self.state
        state.batch_end(batch, logs, now)
        self._tick(now, bool(state.steps) and batch + 1 >= state.steps)

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        state = self.state
        state.epoch_end(epoch, logs, now)
        state.learning_rate = self._learning_rate()
        self._table_dirty = self._plot_dirty = True
        self._tick(now)

    def on_train_end(self, logs=None):
        if self.state is None:
            return
        error = sys.exc_info()[1]
        try:
            # even a display that failed earlier must not leave a live (soon stale) output behind
            self._finalize(error)
        except Exception as failure:
            if self.raise_errors:
                raise
            warnings.warn(f"nbtrain: could not draw the final training record ({type(failure).__name__}: "
                          f"{failure}); showing the text summary only.", RuntimeWarning, stacklevel=2)
            try:
                from nbtrain.display.static import summary_text

                self._finish({"text/plain": summary_text(self.state)})
            except Exception:
                pass
        finally:
            self._release()

    def _release(self) -> None:
        """Let go of the model and the figure once the record is shown.

        Whatever still holds the display after the run (a handle, a front end's callback, the user's own
        callback list) must not keep the trained model, its weights and optimizer state, alive with it:
        a workshop re-runs the training cell tens of times. The next run sets the model again.
        """
        self.model = None
        if self._plot is not None:
            self._plot.close()
            self._plot = None

    def _end_reason(self, error):
        model = self.model
        reason = model.fit_outcome.reason or "completed"
        at = model.fit_outcome.interrupted_at
        if error is not None and reason not in ("error", "interrupted"):
            reason = "interrupted" if isinstance(error, KeyboardInterrupt) else "error"
        if reason in ("interrupted", "error") and at is None and self.state.epoch is not None:
            at = (self.state.epoch, self.state.batches_done)
        text = None
        if reason == "error" and error is not None:
            text = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        return reason, at, text

    def _finalize(self, error=None) -> None:
        state = self.state
        reason, at, text = self._end_reason(error)
        state.stopped_by_button = self._button_clicked and reason == "stopped"
        state.end(self.clock(), reason, at, text, detail=self.model.fit_outcome.detail)
        png = None
        if self._plot is not None and self._plot.update(state, final=True):
            png = self._plot.png(dpi=self.record_dpi, colors=128)
        note = INTERRUPT_NOTE if reason == "interrupted" else None
        if self.note:
            note = f"{note} {self.note}" if note else self.note
        bundle = record_bundle(state, png, note)
        self.record = bundle
        self._finish(bundle)

    # ----- evaluate and predict: a progress bar only ------------------------------------------------------------------
    def _in_fit(self) -> bool:
        return self.params.get("mode", "fit") == "fit"

    def on_test_begin(self, logs=None):
        if self._in_fit():
            if self.state is not None:
                self.state.validating = True
                self._tick(self.clock())
            return
        self._start("evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit():
            self._batch_only(batch, logs)
        elif self.state is not None:
            self._tick(self.clock())     # a long validation keeps the elapsed time and ETA moving

    def on_test_end(self, logs=None):
        if not self._in_fit():
            self._finish_simple(logs)

    def on_predict_begin(self, logs=None):
        self._start("predict")

    def on_predict_batch_end(self, batch, logs=None):
        self._batch_only(batch, None)

    def on_predict_end(self, logs=None):
        self._finish_simple(None)

    def _batch_only(self, batch, logs) -> None:
        now = self.clock()
        state = self.state
        if state.epoch is None:
            state.epoch_begin(0, state.start_time)
        state.batch_end(batch, logs, now)
        self._tick(now, bool(state.steps) and batch + 1 >= state.steps)

    def _finish_simple(self, logs) -> None:
        state = self.state
        if state is None:
            return
        state.end(self.clock(), "completed")
        numbers = {k: v for k, v in (logs or state.batch_logs).items() if isinstance(v, (int, float))}
        line = progress_line(state, numbers)
        title = "Evaluate" if state.mode == "evaluate" else "Predict"
        self.record = {"text/plain": f"{title}: {line}"}
        self._guard(self._finish, self.record)
        self._release()


class RecordOnly(LiveDisplay):
    """For notebooks executed without a person (nbclient, nbval, papermill): nothing while training runs,
    then one output with the static record (or the final line of ``evaluate``/``predict``).

    The saved notebook gets one compact output per call, and nothing in it changes from run to run except
    the timings (``in 3.1 s``, ``2ms/step``), which a sanitize rule can mask.
    """

    live_plot = True

    def _tick(self, now, last_batch=False):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        self.state.epoch_begin(epoch, self.clock())

    def on_epoch_end(self, epoch, logs=None):
        self.state.epoch_end(epoch, logs, self.clock())
        self.state.learning_rate = self._learning_rate()

    def on_test_begin(self, logs=None):
        if not self._in_fit():
            self._start("evaluate")

    def _finish(self, bundle):
        self._get_output().show(bundle)
