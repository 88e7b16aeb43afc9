"""The live comparison of a sweep's runs, and its static record.

In a notebook, one output, updated through its display handle (no widgets: the sweep runs in the cell, so
nothing can reach the kernel before it ends but an interrupt, and an HTML output needs no widget state)::

    Sweep: 8 runs on dask, ranked by val_loss (min)           Interrupt the kernel (■) to stop ...
    run | status | optimizer | learning_rate | epochs [====    ] | val_loss | best val_loss
    ...                                                             (one row per run, in config order)
    Leaderboard: 1. run 3 [optimizer=adam, ...] 0.2101 · 2. ...
    [ one plot: every run's curve of the monitored metric, the best thick and starred ]

When to draw comes from the same :class:`~nbtrain.display.throttle.Throttle` rules as the training dashboard:
the table at most every 0.25 s, the plot at most every second and at least every 2 s while epochs finish,
backing off when frames get expensive. When the sweep ends the output is replaced by the static record
(:func:`~nbtrain.experiments.record.record_bundle`: leaderboard, plot PNG, text without timings). Notebooks
executed without a person (nbval, nbclient) get the record only; a terminal gets one line per finished run.
"""

from __future__ import annotations

import sys
import time

from nbtrain.display.format import escape, format_metric
from nbtrain.display.static import _CELL, _HEAD, _NAME, _NOTE, _TABLE, BAR_FILL, BAR_TRACK
from nbtrain.display.throttle import Throttle
from nbtrain.experiments.record import where_runs_train

SWEEP_INTERRUPT_HINT = ("To stop: interrupt the kernel (\u25a0 in the toolbar, or Kernel \u2192 Interrupt). "
                        "Queued runs are cancelled, running ones stop after their current batch, and the sweep "
                        "returns the runs so far.")
LEADERBOARD_SIZE = 5


def sweep_view_for(verbose, n_runs: int, background: bool = False):
    """The display that fits here: the live view in a notebook (the record only when nobody watches), one
    line per finished run in a terminal (or with ``verbose`` 1 or 2 in a notebook: lines are what was asked).
    A sweep in the background gets the Stop buttons too (its clicks can reach the kernel)."""
    from nbtrain.display.environment import (background_widgets_problem, executed_without_a_person,
                                             in_notebook_kernel, requested_progress, widgets_available)

    choice = requested_progress()
    if choice == "off":
        return None
    if verbose in (1, 2) or choice in ("text", "epochs") or not in_notebook_kernel():
        return TextSweepView()
    if executed_without_a_person():
        return RecordOnlySweepView()
    if background and widgets_available() and background_widgets_problem() is None:
        return WidgetSweepView()
    return LiveSweepView()


class TextSweepView:
    """One line when the sweep starts, one per finished run, and the best run at the end."""

    def __init__(self, out=None):
        self.out = out

    def _print(self, text: str) -> None:
        out = self.out or sys.stdout
        print(text, file=out, flush=True)

    def begin(self, progress, result, stop) -> None:
        self._print(f"Sweep: {len(result.runs)} runs {where_runs_train(result.executor)}, ranked by {result.monitor} "
                    f"({result.mode})")

    def changed(self, progress, run, epoch: bool, finished: bool = False) -> None:
        if finished:
            from nbtrain.experiments.record import run_line

            self._print(run_line(run, len(progress.runs)))

    def end(self, progress, result) -> None:
        best = result.best
        tail = " (interrupted)" if result.interrupted else ""
        if best is None:
            self._print(f"No run logged {result.monitor}{tail}.")
        else:
            self._print(f"Best: run {best.index} [{best.label}] {result.monitor} {format_metric(best.best_value)} "
                        f"(epoch {best.best_epoch}){tail}")


class LiveSweepView:
    """The notebook's live comparison (see the module docstring).

    Args:
        clock: seconds clock (``time.monotonic``); tests pass a fake one.
        timer: measures what drawing costs, for the back-off.
        output: where bundles go (:class:`~nbtrain.display.outputs.IPythonOutput` by default).
    """

    table_interval = 0.25
    plot_interval = 1.0
    plot_max_interval = 2.0
    plot_budget = 0.015
    plot_max_budget = 0.025
    record_dpi = 100
    live = True

    def __init__(self, clock=time.monotonic, timer=time.perf_counter, output=None):
        self.clock = clock
        self.timer = timer
        self.output = output
        self.handle = None
        self.record = None
        self.table_throttle = Throttle(self.table_interval)
        self.plot_throttle = Throttle(self.plot_interval, budget=self.plot_budget,
                                      max_interval=self.plot_max_interval, max_budget=self.plot_max_budget)
        self.plot = None
        self.png = None
        self.draw_count = 0
        self.plot_count = 0
        self._dirty = self._plot_dirty = False
        self._progress = self._result = None

    def _get_output(self):
        from nbtrain.display.outputs import output_or_ipython

        self.output = output_or_ipython(self.output)
        return self.output

    # ----- the sweep's events ----------------------------------------------------------------------------------
    def begin(self, progress, result, stop) -> None:
        self._progress, self._result = progress, result
        if self.live:
            self.plot = SweepPlot()
            self.handle = self._get_output().show(self._bundle())

    def changed(self, progress, run, epoch: bool, finished: bool = False) -> None:
        self._dirty = True
        self._plot_dirty = self._plot_dirty or epoch
        if self.live:
            self._tick(self.clock(), force=finished)

    def end(self, progress, result) -> None:
        from nbtrain.experiments.record import record_bundle

        plot = self.plot or SweepPlot()
        png = plot.png(result, dpi=self.record_dpi) if any(run.epochs_done for run in result.runs) else None
        plot.close()
        self.plot = None
        note = ("The sweep was interrupted: the finished runs are kept; the others are marked stopped or "
                "cancelled." if result.interrupted else None)
        self.record = record_bundle(result, png, note)
        output = self._get_output()
        if self.handle is not None:
            output.update(self.handle, self.record)
        else:
            output.show(self.record)
        output.settle()

    # ----- drawing ----------------------------------------------------------------------------------------------
    def _tick(self, now: float, force: bool = False) -> None:
        plot_due = self._plot_dirty and self.plot_throttle.due(now)
        if not (plot_due or (self._dirty and (force or self.table_throttle.due(now)))):
            return
        if plot_due:
            started = self.timer()
            self.png = self.plot.png(self._result)
            self.plot_count += 1
            self._plot_dirty = False
            # the first frame builds the figure: a one-time cost that does not count against the budget
            self.plot_throttle.mark(now, cost=None if self.plot_count == 1 else self.timer() - started)
        self.table_throttle.mark(now)
        self._dirty = False
        self.draw_count += 1

        self._push()

    def _push(self) -> None:
        self._get_output().update(self.handle, self._bundle())

    def _bundle(self) -> dict:
        return {"text/html": live_html(self._progress, self._result, self.png, self.hint),
                "text/plain": f"Sweep of {len(self._result.runs)} runs (the live view needs a notebook)"}

    hint = SWEEP_INTERRUPT_HINT

    def __repr__(self):
        return f"<LiveSweepView {'running' if self.handle is not None and self.record is None else 'idle'}>"


SWEEP_STOP_HINT = ("The sweep trains in the background: Stop all cancels the queued runs and stops the running ones "
                   "after their current batch; Stop run stops the one chosen. handle.result() returns the runs.")


class WidgetSweepView(LiveSweepView):
    """The live view with Stop buttons, for a sweep in the background (``sweep(..., background=True)``).

    One HTML widget holds the same view as :class:`LiveSweepView`; below it, **Stop all** and **Stop run**
    (with a list of the runs not finished). When the sweep ends the widgets are replaced by the record and
    closed, so the saved notebook needs no widget state.
    """

    hint = SWEEP_STOP_HINT

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widgets = {}
        self._stop = None

    def begin(self, progress, result, stop) -> None:
        import ipywidgets as w

        self._progress, self._result, self._stop = progress, result, stop
        self.plot = SweepPlot()
        ws = {"view": w.HTML(self._bundle()["text/html"])}
        ws["stop_all"] = w.Button(description="Stop all", icon="stop", button_style="warning",
                                  tooltip="Cancel the queued runs; stop the running ones after their current batch")
        ws["choice"] = w.Dropdown(options=self._run_options(), layout=w.Layout(width="auto"))
        ws["stop_run"] = w.Button(description="Stop run", icon="stop", tooltip="Stop the run chosen on the left")
        ws["stop_all"].on_click(self._on_stop_all)
        ws["stop_run"].on_click(self._on_stop_run)
        ws["box"] = w.VBox([ws["view"], w.HBox([ws["stop_all"], ws["choice"], ws["stop_run"]])])
        self.widgets = ws
        output = self._get_output()
        self.handle = output.show({**output.widget_bundle(ws["box"]), "text/plain": "Sweep (live)"})

    def _run_options(self) -> list:
        return [(f"run {run.index}: {run.label}", run.index) for run in self._result.runs
                if not run.finished and run.index not in self._stop.runs]

    def _push(self) -> None:
        ws = self.widgets
        if not ws:
            return
        with ws["view"].hold_sync():
            ws["view"].value = self._bundle()["text/html"]
        options = self._run_options()
        if [value for _, value in options] != [value for _, value in ws["choice"].options]:
            ws["choice"].options = options

    def _on_stop_all(self, button=None) -> None:
        self._stop.all = True
        for name in ("stop_all", "stop_run", "choice"):
            if name in self.widgets:
                self.widgets[name].disabled = True

    def _on_stop_run(self, button=None) -> None:
        index = self.widgets["choice"].value if self.widgets else None
        if index is not None:
            self._stop.runs.add(index)
            self.widgets["choice"].options = self._run_options()

    def end(self, progress, result) -> None:
        widgets, self.widgets = self.widgets, {}
        try:
            super().end(progress, result)
        finally:
            from nbtrain.display.dashboard import widget_models

            for name, event in (("stop_all", self._on_stop_all), ("stop_run", self._on_stop_run)):
                if name in widgets:
                    widgets[name].on_click(event, remove=True)
            for widget in widget_models(widgets.values()):
                try:
                    widget.close()
                except Exception:
                    pass


class RecordOnlySweepView(LiveSweepView):
    """For notebooks executed without a person: nothing while the runs train, then the record."""

    live = False


def live_html(progress, result, png: bytes | None, hint: str = SWEEP_INTERRUPT_HINT) -> str:
    """The live view: title and how to stop, one row per run, the leaderboard, and the plot."""
    from nbtrain.display.plots import png_base64

    title = (f"Sweep: {len(result.runs)} runs {where_runs_train(result.executor)}, ranked by {result.monitor} "
             f"({result.mode})")
    # line-height of its own: an HTML widget (the background view) would otherwise space every line 28 px apart
    parts = ['<div class="nbtrain-sweep" style="font-family:var(--jp-ui-font-family, sans-serif);line-height:1.4;">',
             f'<div style="font-size:13px;font-weight:600;margin:2px 0;">{escape(title)}</div>',
             f'<div style="{_NOTE}">{escape(hint)}</div>',
             runs_table_html(progress, result), leaderboard_line_html(result)]
    if png:
        parts.append(f'<img alt="the monitored metric of every run" style="max-width:100%;" '
                     f'src="data:image/png;base64,{png_base64(png)}"/>')
    parts.append("</div>")
    return "".join(parts)


def runs_table_html(progress, result) -> str:
    """One row per run in config order: status, config, an epoch bar, current and best monitored value."""
    from nbtrain.experiments.record import STATUS_GLYPHS, _config_text

    keys = list(dict.fromkeys(key for run in result.runs for key in run.config))
    head = ["run", "status", *keys, "epochs", result.monitor, f"best {result.monitor}"]
    cells = "".join(f'<th style="{_HEAD}{"text-align:left;" if 1 <= i < 2 + len(keys) else ""}">{escape(name)}</th>'
                    for i, name in enumerate(head))
    best = result.best
    rows = []
    for run in result.runs:
        status = f"{STATUS_GLYPHS.get(run.status, '')} {run.status}"
        if run.error:
            status += f": {run.error[:60]}"
        current = run.final.get(result.monitor)
        best_text = "\u2013" if run.best_value is None else f"{format_metric(run.best_value)} (epoch {run.best_epoch})"
        weight = "font-weight:600;" if best is not None and run is best else ""
        values = [(str(run.index), _CELL), (escape(status), _NAME),
                  *((escape(_config_text(run.config.get(key))), _NAME) for key in keys),
                  (_epoch_bar(run), _CELL), ("\u2013" if current is None else format_metric(current), _CELL),
                  (escape(best_text), _CELL + "white-space:nowrap;")]
        rows.append("<tr>" + "".join(f'<td style="{style}{weight}">{value}</td>' for value, style in values)
                    + "</tr>")
    return (f'<table class="nbtrain-sweep-runs" style="{_TABLE}"><thead><tr>{cells}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _epoch_bar(run) -> str:
    total = run.epochs or 1
    percent = max(0.0, min(100.0, 100.0 * run.epochs_done / total))
    return (f'<span style="display:inline-flex;align-items:center;gap:6px;">'
            f'<span style="display:inline-block;width:6em;height:8px;border-radius:4px;background:{BAR_TRACK};'
            f'overflow:hidden;"><span style="display:block;height:100%;width:{percent:.0f}%;background:{BAR_FILL};">'
            f'</span></span>{run.epochs_done}/{total}</span>')


def leaderboard_line_html(result, size: int = LEADERBOARD_SIZE) -> str:
    """``Leaderboard: 1. run 3 [optimizer=adam] 0.2101 · 2. ...``, the best ``size`` by the monitor."""
    ranked = [run for run in result.ranked() if run.best_value is not None][:size]
    if not ranked:
        return f'<div style="{_NOTE}">Leaderboard: no run has logged {escape(result.monitor)} yet.</div>'
    items = " \u00b7 ".join(f"{place}. run {run.index} [{escape(run.label)}] {format_metric(run.best_value)}"
                            for place, run in enumerate(ranked, 1))
    return f'<div class="nbtrain-leaderboard-line" style="{_NOTE}"><b>Leaderboard</b>: {items}</div>'


class SweepPlot:
    """One axes: every run's curve of the monitored metric, the best run thick and starred, the others thin.

    The figure is built once (object-oriented matplotlib on the Agg canvas, no pyplot) and redrawn in place.
    """

    def __init__(self, dpi: float = 80):
        self.dpi = dpi
        self.figure = None
        self.axes = None
        self.lines = {}

    def _build(self, result) -> None:
        from matplotlib.figure import Figure

        from nbtrain.display.plots import label_epoch_axis, style_axes

        self.figure = Figure(figsize=(6.4, 2.8), dpi=self.dpi, layout="constrained")
        self.figure.patch.set_alpha(0.0)
        self.axes = self.figure.add_subplot()
        style_axes(self.axes, result.monitor)
        label_epoch_axis(self.axes)
        self.star = self.axes.plot([], [], linestyle="none", marker="*", markersize=11, zorder=5)[0]

    def png(self, result, dpi: float | None = None) -> bytes:
        from nbtrain.display.plots import RUN_COLORS, TEXT_COLOR, apply_y_scale, figure_png, wants_log_scale

        if self.figure is None:
            self._build(result)
        best = result.best
        values = []
        for run in result.runs:
            ys = run.monitored()
            if not ys:
                continue
            xs = list(range(1, len(ys) + 1))
            color = RUN_COLORS[run.index % len(RUN_COLORS)]
            line = self.lines.get(run.index)
            if line is None:
                line = self.axes.plot([], [], color=color, label=f"run {run.index}")[0]
                self.lines[run.index] = line
            line.set_data(xs, ys)
            # a run's first epoch is a single point, which a line alone does not show
            line.set_marker("o" if len(ys) == 1 else "None")
            line.set_markersize(4)
            is_best = best is not None and run is best
            line.set_linewidth(2.6 if is_best else 1.1)
            line.set_alpha(1.0 if is_best or best is None else 0.55)
            line.set_zorder(4 if is_best else 2)
            values += ys
        if best is not None:
            self.star.set_data([best.best_epoch], [best.best_value])
            self.star.set_color(RUN_COLORS[best.index % len(RUN_COLORS)])
            self.star.set_markeredgecolor(TEXT_COLOR)
        apply_y_scale(self.axes, wants_log_scale(values, result.mode == "min", None))
        self.axes.relim()
        self.axes.autoscale_view()
        if len(self.lines) <= 10:
            legend = self.axes.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
            for text in legend.get_texts():
                text.set_color(TEXT_COLOR)
        return figure_png(self.figure, dpi=dpi or self.dpi, colors=128)

    def close(self) -> None:
        self.figure = self.axes = None
        self.lines = {}
