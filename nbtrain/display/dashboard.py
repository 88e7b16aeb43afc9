"""The live training dashboard for notebooks with a widget front end (ipywidgets 8).

One compact dashboard per ``fit`` call::

    Training 'mlp': 20 epochs, 1,600 samples, batch size 32            [Stop] or "Interrupt the kernel (■) ..."
    Epoch 3/20   [=========>                    ]
    Batch        [==================>           ]  37/50 · 12,300 samples/s · 3ms/step · 1.2 s elapsed · ETA 9 s
                                                    · loss 0.4211 · accuracy 0.8800
    metric | train | best train | validation | best validation          (learning rate below)
    [ history plot: one panel per metric family, best epoch starred ]

The widgets are created when training starts. Each update sets the traits of one widget inside
``hold_sync()``, so it leaves as one comm message, and a bar tick is one message (the batch bar and its
status are one HTML widget). Bars go out at most every 0.1 s (and on an epoch's last batch), the plot at
most every second, and less often when drawing it would cost more than 1.5% of the time, as one small PNG
in an ``Image`` widget whose figure is updated in place.
When ``fit`` ends, however it ends, the dashboard is replaced through its display handle by the static record
(:mod:`nbtrain.display.static`) and the widgets are closed: the saved notebook needs no widget state.
"""

from __future__ import annotations

from nbtrain.display.format import escape, format_duration, format_metric, format_rate, format_time_per_step
from nbtrain.display.live import LiveDisplay
from nbtrain.display.outputs import WIDGET_VIEW
from nbtrain.display.static import bar_html, metrics_table_html, title_text

INTERRUPT_HINT = ("To stop: interrupt the kernel (\u25a0 in the toolbar, or Kernel \u2192 Interrupt). Training stops "
                  "after the current batch and the history so far is kept.")
NO_WIDGETS_TEXT = ("The live dashboard needs the Jupyter widgets front end (ipywidgets 8 with JupyterLab 4, "
                   "Notebook 7 or VS Code). The result will appear here when training ends.")
_MUTED = "opacity:0.8;font-size:12px;"


def status_text(state) -> str:
    """The batch line: ``37/50 · 12,300 samples/s · 3ms/step · 1.2 s elapsed · ETA 9 s · loss 0.4211``."""
    parts = []
    if state.steps:
        parts.append(f"{state.batches_done}/{state.steps}")
    else:
        parts.append(f"{state.batches_done}")
    if state.validating:
        parts.append("validating\u2026")
    rate = state.samples_per_second()
    if rate:
        parts.append(format_rate(rate))
    per_step = state.time_per_step()
    if per_step:
        parts.append(format_time_per_step(per_step))
    parts.append(f"{format_duration(state.elapsed())} elapsed")
    eta = state.total_eta() if state.mode == "fit" else state.epoch_eta()
    if eta is not None:
        parts.append(f"ETA {format_duration(eta)}")
    parts += [f"{key} {format_metric(value)}" for key, value in state.batch_logs.items()]
    return " \u00b7 ".join(parts)


class Dashboard(LiveDisplay):
    """The ipywidgets dashboard (see the module docstring). ``fit`` picks it in notebooks; you rarely make one.

    Args:
        clock, output, stop_route, note, raise_errors: see :class:`~nbtrain.display.live.LiveDisplay`.

    Example:
        >>> model.fit(x, y, epochs=20, validation_split=0.2)   # doctest: +SKIP
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widgets = {}
        self.handle = None

    # ----- building ---------------------------------------------------------------------------------------------
    def _build(self) -> None:
        import ipywidgets as w

        state = self.state
        fit = state.mode == "fit"
        ws = {}
        ws["title"] = w.HTML(self._title_html()).add_class("nbtrain-title")
        header = [ws["title"]]
        if fit and self.stop_route:
            ws["stop"] = w.Button(description="Stop", icon="stop", button_style="warning",
                                  tooltip="Stop after the current batch; the history so far is kept",
                                  layout=w.Layout(width="auto", flex="0 0 auto")).add_class("nbtrain-stop")
            ws["stop"].on_click(self._on_stop_click)
            header.append(ws["stop"])
        rows = [w.HBox(header, layout=w.Layout(justify_content="space-between", align_items="center"))]
        if fit:
            ws["hint"] = w.HTML(self._hint_html()).add_class("nbtrain-hint")
            ws["epoch"] = w.HTML(self._epoch_html()).add_class("nbtrain-epoch-row")
            rows += [ws["hint"], ws["epoch"]]
        # The batch bar and its status line are one HTML widget, so a tick is one comm message.
        ws["batch"] = w.HTML(self._batch_html()).add_class("nbtrain-batch-row")
        rows.append(ws["batch"])
        if fit:
            ws["table"] = w.HTML("").add_class("nbtrain-table")
            # natural size, left-aligned: a flex column would otherwise stretch (and blur) the frame
            ws["plot"] = w.Image(format="png", layout=w.Layout(display="none", max_width="100%", width="auto",
                                                               align_self="flex-start")).add_class("nbtrain-plot")
            rows += [ws["table"], ws["plot"]]
        ws["box"] = w.VBox(rows).add_class("nbtrain-dashboard")
        self.widgets = ws

    def _title_html(self) -> str:
        state = self.state
        text = title_text(state) if state.mode == "fit" else f"{state.mode.capitalize()} '{state.model_name}'"
        return f'<span style="font-weight:600;font-size:13px;">{escape(text)}</span>'

    def _hint_html(self) -> str:
        if self.stop_route:
            text = "Stop (or handle.stop()) ends training after the current batch; the history so far is kept."
        else:
            text = INTERRUPT_HINT
        return f'<span style="{_MUTED}">{escape(text)}</span>'

    def _epoch_html(self) -> str:
        state = self.state
        first = state.first_epoch if state.first_epoch is not None else 0
        shown = (state.epoch + 1) if state.epoch is not None else first + 1
        done = len(state.epoch_indices)
        return bar_html(done / max(1, state.epochs - first), f"Epoch {shown}/{state.epochs}",
                        css_class="nbtrain-bar nbtrain-epoch-bar")

    def _batch_html(self) -> str:
        state = self.state
        label = "Batch" if state.mode == "fit" else state.mode.capitalize()
        fraction = state.batches_done / state.steps if state.steps else 0.0
        text = status_text(state) if state.total_batches_done or state.validating else "starting\u2026"
        return bar_html(fraction, label, text, css_class="nbtrain-bar nbtrain-batch-bar")

    def _open(self) -> None:
        self._build()
        output = self._get_output()
        bundle = output.widget_bundle(self.widgets["box"])
        bundle["text/plain"] = f"{title_text(self.state)} (training; {NO_WIDGETS_TEXT})"
        bundle["text/html"] = (f'<div style="font-size:13px;"><b>{escape(title_text(self.state))}</b>'
                               f'<div style="{_MUTED}">{escape(NO_WIDGETS_TEXT)}</div></div>')
        self.handle = output.show(bundle)

    # ----- drawing ------------------------------------------------------------------------------------------------
    def _sync(self, widget, **traits) -> None:
        """Set several traits of one widget as one comm message, skipping unchanged values."""
        changed = {k: v for k, v in traits.items() if getattr(widget, k) != v}
        if not changed:
            return
        with widget.hold_sync():
            for key, value in changed.items():
                setattr(widget, key, value)

    def _refresh(self) -> None:
        """After ``open_early``, the real parameters arrive with ``on_train_begin``."""
        self._sync(self.widgets["title"], value=self._title_html())
        self._draw_progress()

    def _draw_progress(self) -> None:
        ws = self.widgets
        if "epoch" in ws:
            self._sync(ws["epoch"], value=self._epoch_html())     # changes only when an epoch begins or ends
        self._sync(ws["batch"], value=self._batch_html())

    def _draw_epoch(self) -> None:
        ws = self.widgets
        self._sync(ws["epoch"], value=self._epoch_html())
        self._sync(ws["table"], value=metrics_table_html(self.state))

    def _draw_plot(self, png: bytes) -> None:
        plot = self.widgets["plot"]
        with plot.hold_sync():
            plot.value = png
            if plot.layout.display == "none":
                plot.layout.display = None

    def _on_stop_click(self, _button=None) -> None:
        self._button_clicked = True
        if self.model is not None:
            self.model.stop_training = True
        if self.state is not None:
            self.state.stop_requested = True
        button = self.widgets.get("stop")          # training may be finishing in its thread right now
        if button is not None:
            self._sync(button, description="Stopping\u2026", disabled=True)

    def _finish(self, bundle: dict) -> None:
        output = self._get_output()
        try:
            if self.handle is not None:
                output.update(self.handle, bundle)   # replace the widget view first, then close the models
            else:
                output.show(bundle)
        finally:
            widgets, self.widgets = self.widgets, {}
            for widget in widgets.values():
                try:
                    widget.close()
                except Exception:
                    pass
            self._opened = False

    def __repr__(self):
        return f"<Dashboard {'running' if self.widgets else 'idle'}>"


def widget_front_end_bundle_keys() -> tuple[str, ...]:
    """MIME types of the live dashboard's output: the widget view plus HTML and text for other front ends."""
    return (WIDGET_VIEW, "text/html", "text/plain")
