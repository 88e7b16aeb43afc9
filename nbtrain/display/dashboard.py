"""The live training dashboard for notebooks with a widget front end (ipywidgets 8).

One compact dashboard per ``fit`` call::

    Training 'mlp': 20 epochs, 1,600 samples, batch size 32            [Stop] or "Interrupt the kernel (■) ..."
    Epoch 3/20   [=========>                    ]
    Batch        [==================>           ]  37/50 · 12,300 samples/s · 3ms/step · 1.2 s elapsed · ETA 9 s
                                                   loss 0.4211 · accuracy 0.8800
    metric | train | best train | validation | best validation          (learning rate below)
    plot: epoch 2
    [ history plot: one panel per metric family, best epoch starred ]

The widgets are created when training starts. Each update sets the traits of one widget inside
``hold_sync()``, so it leaves as one comm message, and a bar tick is one message (both bars and the batch
status are one HTML widget). :class:`~nbtrain.display.live.LiveDisplay` says when: bars at most every 0.2 s
(and on an epoch's last batch), the metrics table with the bars after each epoch, the plot from the first epoch
past 0.5 s on, every 1 to 2 s, as one small PNG in an ``Image`` widget whose figure is updated in place, under
a line that says which epoch it shows. The batch status wraps as whole parts, under the bar when the output is
narrow (:func:`~nbtrain.display.text.status_row_html`).

The Stop button is a toggle: a click marks it pressed in the browser at once, and a style rule turns the
pressed button into "Stopping after this batch…" before the kernel has even seen the click (a cell that
awaits ``fit_async`` sees it between two batches); the kernel then confirms by disabling it.

When ``fit`` ends, however it ends, the dashboard is replaced through its display handle by the static record
(:mod:`nbtrain.display.static`) and the widgets are closed: the saved notebook needs no widget state.
"""

from __future__ import annotations

from nbtrain.display.format import escape
from nbtrain.display.live import LiveDisplay
from nbtrain.display.outputs import WIDGET_VIEW
from nbtrain.display.static import bar_html, metrics_table_html, title_text
from nbtrain.display.text import INTERRUPT_HINT, STOP_HINTS, status_parts, status_row_html

NO_WIDGETS_TEXT = ("The live dashboard needs the Jupyter widgets front end (ipywidgets 8 with JupyterLab 4, "
                   "Notebook 7 or VS Code). The result will appear here when training ends.")
STOPPING_LABEL = "Stopping after this batch\u2026"
_MUTED = "opacity:0.8;font-size:12px;"
# ipywidgets gives every line of an HTML widget the height of a widget row (28 px), which spreads a wrapped
# status or a two-line table header over the page; the dashboard's text gets ordinary line spacing.
_DASHBOARD_STYLE = ("<style>.nbtrain-dashboard .widget-html > .widget-html-content{line-height:1.45;min-width:0;}"
                    "</style>")
# The front end marks a pressed toggle button "mod-active" as soon as it is clicked, without the kernel: this
# rule gives the pressed Stop button its "Stopping" label then, and keeps a second click from un-pressing it.
_STOP_STYLE = ("<style>.nbtrain-stop.mod-active{pointer-events:none;font-size:0;}"
               ".nbtrain-stop.mod-active::after{content:'Stopping after this batch\\2026';"
               "font-size:var(--jp-widgets-font-size,13px);}</style>")


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
        """Create the widgets. Each widget model is a few comm messages, and on a fit of a second or two every
        message counts, so the dashboard has few widgets, each given its CSS class when created, and the plot's
        ``Image`` only appears with the first live frame."""
        import ipywidgets as w

        fit = self.state.mode == "fit"
        ws = {"header": w.HTML(self._header_html(), _dom_classes=["nbtrain-header"])}
        # The other HTML widgets share the header's (default) layout and style models instead of opening their own.
        shared = {"layout": ws["header"].layout, "style": ws["header"].style}

        def html(value, css_class):
            return w.HTML(value, _dom_classes=[css_class], **shared)

        top = ws["header"]
        if fit and self.stop_route in STOP_HINTS:
            # a toggle, not a Button: the browser shows it pressed (and "Stopping...") without the kernel
            ws["stop"] = w.ToggleButton(description="Stop", icon="stop", button_style="warning",
                                        tooltip="Stop after the current batch; the history so far is kept",
                                        layout=w.Layout(width="auto", flex="0 0 auto"),
                                        _dom_classes=["nbtrain-stop"])
            ws["stop"].observe(self._on_stop_click, names="value")
            top = w.HBox([ws["header"], ws["stop"]],
                         layout=w.Layout(justify_content="space-between", align_items="flex-start"))
        # Both bars and the batch status are one HTML widget, so a tick is one comm message: with epochs of a
        # few tens of milliseconds, each message costs the training loop about as much as the drawing itself.
        ws["bars"] = html(self._bars_html(), "nbtrain-bars")
        rows = [top, ws["bars"]]
        if fit:
            ws["table"] = html("", "nbtrain-table")
            rows.append(ws["table"])
        ws["box"] = w.VBox(rows, layout=shared["layout"], _dom_classes=["nbtrain-dashboard"])
        self.widgets = ws

    def _show_plot_frame(self, png: bytes) -> None:
        """Show a frame in the live plot's ``Image`` and its epoch above it; both are created (below the table)
        with the first frame."""
        ws = self.widgets
        stamp = self._plot_stamp_html()
        if "plot" in ws:
            self._sync(ws["plot_stamp"], value=stamp)
            ws["plot"].value = png
            return
        import ipywidgets as w

        ws["plot_stamp"] = w.HTML(stamp, _dom_classes=["nbtrain-plot-stamp"], layout=ws["header"].layout,
                                  style=ws["header"].style)
        # natural size, left-aligned: a flex column would otherwise stretch (and blur) the frame; in a narrow
        # notebook it shrinks to the width left by its margins (2 px each side)
        ws["plot"] = w.Image(value=png, format="png", _dom_classes=["nbtrain-plot"],
                             layout=w.Layout(max_width="calc(100% - 4px)", width="auto", align_self="flex-start"))
        ws["box"].children = (*ws["box"].children, ws["plot_stamp"], ws["plot"])

    def _plot_stamp_html(self) -> str:
        """``plot: epoch 7`` (the plot is drawn less often than the bars: this says how far it is)."""
        return f'<span style="{_MUTED}">plot: epoch {self.plot_epoch}</span>'

    def _header_html(self) -> str:
        """The title, and for a fit, below it how to stop training (and the Stop button's pressed look)."""
        html = self._title_html() + _DASHBOARD_STYLE
        if self.state.mode == "fit":
            html += f'<div class="nbtrain-hint">{self._hint_html()}</div>'
            if self.stop_route in STOP_HINTS:
                html += _STOP_STYLE
        return html

    def _title_html(self) -> str:
        state = self.state
        text = title_text(state) if state.mode == "fit" else f"{state.mode.capitalize()} '{state.model_name}'"
        return f'<span style="font-weight:600;font-size:13px;">{escape(text)}</span>'

    def _hint_html(self) -> str:
        text = STOP_HINTS.get(self.stop_route, INTERRUPT_HINT)
        return f'<span style="{_MUTED}">{escape(text)}</span>'

    def _epoch_html(self) -> str:
        state = self.state
        first = state.first_epoch if state.first_epoch is not None else 0
        shown = (state.epoch + 1) if state.epoch is not None else first + 1
        done = len(state.epoch_indices)
        return bar_html(done / max(1, state.epochs - first), f"Epoch {shown}/{state.epochs}",
                        css_class="nbtrain-bar nbtrain-epoch-bar")

    def _bars_html(self) -> str:
        if self.state.mode == "fit":
            return self._epoch_html() + self._batch_html()
        return self._batch_html()

    def _batch_html(self) -> str:
        state = self.state
        label = "Batch" if state.mode == "fit" else state.mode.capitalize()
        fraction = state.batches_done / state.steps if state.steps else 0.0
        parts = status_parts(state) if state.total_batches_done or state.validating else ["starting\u2026"]
        return status_row_html(bar_html(fraction, label, css_class="nbtrain-bar nbtrain-batch-bar"), parts)

    def _open(self) -> None:
        self._build()
        output = self._get_output()
        bundle = output.widget_bundle(self.widgets["box"])
        bundle["text/plain"] = f"{title_text(self.state)} (training; {NO_WIDGETS_TEXT})"
        bundle["text/html"] = (f'<div style="font-size:13px;"><b>{escape(title_text(self.state))}</b>'
                               f'<div style="{_MUTED}">{escape(NO_WIDGETS_TEXT)}</div></div>')
        self.handle = output.show(bundle)
        output.settle()

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
        self._sync(self.widgets["header"], value=self._header_html())
        self._draw_progress()

    def _draw_progress(self) -> None:
        self._sync(self.widgets["bars"], value=self._bars_html())

    def _draw_epoch(self) -> None:
        # the bars were drawn in the same tick (see LiveDisplay._tick); a table wider than a narrow notebook
        # scrolls sideways inside the dashboard instead of overflowing it
        table = metrics_table_html(self.state)
        self._sync(self.widgets["table"], value=f'<div style="overflow-x:auto;">{table}</div>')

    def _draw_plot(self, png: bytes) -> None:
        self._show_plot_frame(png)

    def _on_stop_click(self, change=None) -> None:
        """The Stop toggle was pressed (in the browser, it already reads "Stopping after this batch...")."""
        if change is not None and not change.get("new"):
            return
        self._button_clicked = True
        if self.model is not None:
            self.model.stop_training = True
        if self.state is not None:
            self.state.stop_requested = True
        button = self.widgets.get("stop")          # training may be finishing in its thread right now
        if button is not None:
            self._sync(button, description=STOPPING_LABEL, disabled=True)

    def _finish(self, bundle: dict) -> None:
        output = self._get_output()
        try:
            if self.handle is not None:
                output.update(self.handle, bundle)   # replace the widget view first, then close the models
            else:
                output.show(bundle)
        finally:
            widgets, self.widgets = self.widgets, {}
            self._close(widgets)
            self._opened = False
            output.settle()

    def _close(self, widgets: dict) -> None:
        """Close every widget model of the dashboard, and unhook the Stop button from it.

        The kernel keeps each open widget model in ipywidgets' registry, and with it everything the model
        holds: a Stop button still observed by this dashboard would keep the dashboard, and so the trained
        model, alive until the kernel restarts. The boxes, layouts and styles are widget models too.
        """
        stop = widgets.get("stop")
        if stop is not None:
            stop.unobserve(self._on_stop_click, names="value")
        for widget in widget_models(widgets.values()):
            try:
                widget.close()
            except Exception:      # a comm the kernel already closed: nothing left to free
                pass

    def __repr__(self):
        return f"<Dashboard {'running' if self.widgets else 'idle'}>"


def widget_models(roots) -> list:
    """``roots`` and every widget model they hold (children, layouts, styles, ...), each once.

    Example:
        >>> import ipywidgets as w
        >>> box = w.HBox([w.HTML("a")])
        >>> sorted(type(m).__name__ for m in widget_models([box]))
        ['HBox', 'HTML', 'HTMLStyle', 'Layout', 'Layout']
    """
    from ipywidgets import Widget

    found, pending = {}, list(roots)
    while pending:
        widget = pending.pop()
        if id(widget) in found:
            continue
        found[id(widget)] = widget
        for name in widget.keys:                 # the synced traits: where a widget refers to other models
            value = getattr(widget, name, None)
            values = value if isinstance(value, (list, tuple)) else (value,)
            pending.extend(item for item in values if isinstance(item, Widget))
    return list(found.values())


def widget_front_end_bundle_keys() -> tuple[str, ...]:
    """MIME types of the live dashboard's output: the widget view plus HTML and text for other front ends."""
    return (WIDGET_VIEW, "text/html", "text/plain")
