"""The live state of a sweep: fed by the executors, read by the displays.

:class:`SweepProgress` is the *sink* every executor feeds (``event`` for a run's start and each epoch,
``finish`` with its outcome), always in the thread that called ``sweep``. It keeps the :class:`Run` objects up
to date and tells its view that something changed; the view decides when to draw.
"""

from __future__ import annotations

import os
import time
import warnings

from nbtrain.experiments.result import Run


class SweepProgress:
    """The runs of a sweep as they train (see the module docstring).

    Args:
        runs: the sweep's :class:`Run` objects (updated in place).
        view: the display (``begin``, ``changed``, ``end``), or None.
        clock: seconds clock for the run times shown while training.
        build: kept on runs trained elsewhere, to rebuild their model from the weights they send back.
    """

    def __init__(self, runs: list[Run], view=None, clock=time.monotonic, build=None):
        self.runs = runs
        self.by_index = {run.index: run for run in runs}
        self.view = view
        self.clock = clock
        self.build = build
        self.started_at = {}
        self.finished_order: list[int] = []

    def event(self, kind: str, index: int, payload: dict) -> None:
        run = self.by_index.get(index)
        if run is None or run.finished:
            return      # an epoch event that arrives after the run's outcome adds nothing
        if kind == "start":
            # a run that starts again (Dask retried it on another worker after its worker died) starts afresh
            run.status = "running"
            run.history.history, run.history.epoch = {}, []
            self.started_at[index] = self.clock()
            self._changed(run, epoch=False)
        elif kind == "epoch":
            epoch, logs = payload["epoch"], payload["logs"]
            if epoch in run.history.epoch:
                return
            run.history.epoch.append(epoch)
            for key, value in logs.items():
                run.history.history.setdefault(key, []).append(value)
            self._changed(run, epoch=True)

    def finish(self, outcome, model=None) -> None:
        run = self.by_index[outcome.index]
        # a run stopped before its first epoch ended never really ran (a Stop reached it as it started)
        run.status = "cancelled" if outcome.status == "stopped" and not outcome.epochs else outcome.status
        if outcome.history or outcome.status != "failed":
            run.history.history = {key: list(values) for key, values in outcome.history.items()}
            run.history.epoch = list(outcome.epochs) or list(range(len(next(iter(outcome.history.values()), []))))
        run.history.stop_reason = {"done": "completed", "failed": "error"}.get(outcome.status, outcome.status)
        run.error, run.traceback = outcome.error, outcome.traceback
        run.seconds = outcome.seconds or None
        run._model, run._weights, run._build = model, outcome.weights, self.build
        self.finished_order.append(run.index)
        self._changed(run, epoch=True, finished=True)

    def cancel_unfinished(self) -> None:
        """After an interrupt: runs that were training are ``stopped``, runs never started ``cancelled``."""
        for run in self.runs:
            if not run.finished:
                run.status = "stopped" if run.status == "running" else "cancelled"
                if run.status == "stopped" and run.epochs_done:
                    run.history.stop_reason = "interrupted"

    def running_seconds(self, run: Run) -> float | None:
        if run.seconds is not None:
            return run.seconds
        started = self.started_at.get(run.index)
        return None if started is None else self.clock() - started

    def _changed(self, run: Run, epoch: bool, finished: bool = False) -> None:
        if self.view is not None:
            self._guard(self.view.changed, self, run, epoch=epoch, finished=finished)

    def end_view(self, result) -> None:
        """Let the view leave its record (or its last line)."""
        if self.view is not None:
            self._guard(self.view.end, self, result)

    def _guard(self, method, *args, **kwargs) -> None:
        """A display error never stops the sweep: the view is switched off, once, and the runs go on."""
        try:
            method(*args, **kwargs)
        except Exception as error:
            if os.environ.get("NBTRAIN_DISPLAY_DEBUG", "") not in ("", "0"):
                raise
            self.view = None
            warnings.warn(f"nbtrain: the sweep's display failed ({type(error).__name__}: {error}) and is off for the "
                          f"rest of the sweep; the runs go on.", RuntimeWarning, stacklevel=3)
