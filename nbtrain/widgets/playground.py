"""``Playground``: TensorFlow Playground in the notebook, on a real nbtrain model.

One widget: data on the left, input features and the network (with each neuron's output over the input plane)
in the middle, the decision boundary with the points and the loss curves on the right, the training settings
below, and a Code button that shows the nbtrain code of the current configuration.

How it stays responsive and cheap (see :mod:`nbtrain.widgets.controller` for the logic):

* Play runs frames on a background thread, about 12 a second: each frame trains the epochs that fit in about
  50 ms with ``model.fit`` and then draws (2 ms); the cell has returned long before, so clicks and other cells
  run meanwhile.
* A frame draws with NumPy: one forward pass of a preallocated 64 x 64 grid gives the boundary and every
  neuron's output, a lookup table colours them, Pillow encodes two small PNGs. The points are a transparent
  image stacked over the boundary in the browser, sent once per data set. The loss curves are a small SVG.
* Saved notebooks: under the widget the cell holds a static record (the last boundary, the curves, the
  configuration as text), refreshed whenever training pauses. A style rule hides it while the live widget is
  shown above it (JupyterLab, Notebook 7); when the kernel is gone, the record is what the cell shows. A
  notebook executed without a person (nbclient, nbval) gets the record alone.
"""

from __future__ import annotations

import time
import weakref

import numpy as np

from html import escape
from nbtrain.widgets import boundary as bd
from nbtrain.widgets import datasets2d
from nbtrain.widgets.controller import (ACTIVATIONS, LEARNING_RATES, MAX_LAYERS, MAX_NEURONS, OPTIMIZERS,
                                        REGULARIZATION_RATES, REGULARIZATIONS, RESET_FIELDS, PlayLoop,
                                        PlaygroundConfig, PlaygroundSession)

# The network view is drawn at half its shown size and scaled up smoothly by the browser: a neuron's picture is
# 16 x 16 samples of the boundary grid, shown 32 px wide; the whole view is a few KB.
THUMB = 16            # a neuron's picture, in image pixels
THUMB_GAP = 3
COLUMN_PITCH = 28     # image pixels from one layer's column of neurons to the next
NETWORK_SCALE = 2     # shown size / image size
TRAIN_COLOR = "#4a90e2"
TEST_COLOR = "#dd7418"
_MUTED = "opacity:0.75;font-size:11px;"
# The static record under the live widget hides itself while the widget is there (JupyterLab's and Notebook 7's
# output areas), and hides the "model not found" message of a widget whose kernel is gone.
_RECORD_STYLE = ("<style>"
                 ".jp-OutputArea-child:has(.nbtrain-playground) + .jp-OutputArea-child .nbtrain-playground-record"
                 "{display:none;}"
                 ".jp-OutputArea-child:has(+ .jp-OutputArea-child .nbtrain-playground-record)"
                 ":not(:has(.nbtrain-playground)){display:none;}"
                 "</style>")
_STYLE = ("<style>.nbtrain-playground .widget-html > .widget-html-content{line-height:1.35;}"
          ".nbtrain-playground .nbtrain-pg-title{font-weight:600;font-size:12px;letter-spacing:0.04em;"
          "text-transform:uppercase;opacity:0.7;margin:2px 0 4px 0;}"
          ".nbtrain-playground .nbtrain-pg-image img{border-radius:4px;}"
          ".nbtrain-playground .nbtrain-pg-panel{padding:0 10px;}"
          ".nbtrain-playground .nbtrain-pg-stats{font-variant-numeric:tabular-nums;}</style>")

# Playgrounds shown from a notebook cell, by the cell's id: running the cell again closes the previous one.
_BY_CELL: dict = {}


class Playground:
    """A neural-network playground: pick data, features and a network, press Play, watch the boundary form.

    The model underneath is an nbtrain ``Sequential`` trained with ``compile``/``fit``: the next cell can
    ``summary()``, ``evaluate``, ``predict`` or ``save`` ``playground.model``; ``playground.history`` is its
    History; ``playground.code()`` returns the nbtrain code of the current configuration.

    Args:
        x, y: your own 2-D data (points of shape ``(n, 2)``; labels for classification, floats for regression);
            default a built-in data set.
        dataset: ``circles``, ``xor``, ``blobs``, ``spiral``, ``moons``, ``plane`` or ``curve``.
        noise, test_fraction, samples: the data.
        features: input features (``x1``, ``x2``, ``x1^2``, ``x2^2``, ``x1*x2``, ``sin(x1)``, ``sin(x2)``).
        hidden: neurons per hidden layer, e.g. ``[4, 2]``.
        activation, learning_rate, optimizer, batch_size, regularization, regularization_rate, seed: see
            :class:`~nbtrain.widgets.PlaygroundConfig`.
        resolution: boundary grid points per side.
        frame_seconds: the time between two frames while playing (0.08: about 12 frames a second).
        clock: seconds clock for the frame budget (tests pass a fake one).
        output: where the widget and the record are shown (default the notebook, through display handles).
        live: True/False forces the live widget on or off; None decides (off when run without a person).

    Example:
        >>> playground = nbtrain.widgets.Playground(dataset="spiral", hidden=[8, 8])   # doctest: +SKIP
        >>> playground                                   # shows it; press Play        # doctest: +SKIP
        >>> playground.model.evaluate(*playground.test_data)                        # doctest: +SKIP
    """

    def __init__(self, x=None, y=None, *, resolution: int = 64, frame_seconds: float = 0.08,
                 clock=time.monotonic, output=None, live=None, **settings):
        config = PlaygroundConfig(**_config_kwargs(settings))
        self.session = PlaygroundSession(config, x, y, clock=clock, frame_seconds=frame_seconds)
        self.loop = PlayLoop(self.session, on_frame=self._draw_frame, on_error=self._on_error)
        self.resolution = int(resolution)
        self.output = output
        self.live = live
        self.frames_drawn = 0
        self.bytes_sent = 0
        self.error = None
        self.widgets: dict = {}
        self._record_handle = None
        self._widget_handle = None
        self._closed = False
        self._loss_drawn_at = None
        self._handlers = []
        self._record_frozen = False
        self._new_data()
        self.session.subscribe(self._on_session_event)

    # ----- the model and its training, for code ---------------------------------------------------------------------
    @property
    def model(self):
        """The nbtrain ``Sequential`` being trained (a new one after a change of data, features or network)."""
        return self.session.model

    @property
    def history(self):
        """The History of every epoch since the last reset."""
        return self.session.history

    @property
    def epoch(self) -> int:
        """Epochs trained since the last reset."""
        return self.session.epoch

    @property
    def config(self) -> PlaygroundConfig:
        """The current settings (change them with :meth:`update` or the controls)."""
        return self.session.config

    @property
    def train_data(self):
        """``(features, labels)`` the model trains on (the input features of the training points)."""
        return self.session.features_train, self.session.y_train

    @property
    def test_data(self):
        """``(features, labels)`` of the test points (the test loss is computed on them)."""
        return self.session.features_test, self.session.y_test

    @property
    def playing(self) -> bool:
        """True while Play trains in the background."""
        return self.loop.playing

    def play(self) -> None:
        """Start training in the background (as the Play button)."""
        self.error = None
        self._show_notice("")
        self.loop.play()
        self._sync_controls()

    def pause(self) -> None:
        """Stop after the current batch (as the Pause button), and refresh the saved record."""
        self.loop.pause()
        self._sync_controls()
        self._draw_now()
        self._update_record()

    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` epochs now, in this cell (the Step button is one epoch)."""
        if self.loop.playing:
            self.loop.pause()
        for _ in range(int(epochs)):
            self.session.step()
        self._draw_now()
        self._sync_controls()
        self._update_record()

    def train(self, epochs: int) -> None:
        """Train ``epochs`` epochs now (in frames, drawn as it goes), then refresh the record."""
        if self.loop.playing:
            self.loop.pause()
        target = self.session.epoch + int(epochs)
        self.session.pause_requested = False
        while self.session.epoch < target:
            self.session.train(min(target - self.session.epoch, max(1, self.session.epochs_per_frame())))
            self._draw_now()
        self._sync_controls()
        self._update_record()

    def reset(self) -> None:
        """New weights and epoch 0 (the Reset button); keeps playing if it was."""
        was_playing = self.loop.playing
        self.loop.pause()
        self.session.reset()
        if was_playing:
            self.loop.play()
        else:
            self._update_record()

    def update(self, **settings) -> None:
        """Change settings as the controls do (``playground.update(hidden=[8, 8], learning_rate=0.1)``)."""
        was_playing = self.loop.playing
        needs_model = bool(set(settings) & set(RESET_FIELDS))
        if needs_model:
            self.loop.pause()
        rebuilt = self.session.update(**_config_kwargs(settings))
        if needs_model and was_playing:
            self.loop.play()
        elif rebuilt:
            self._update_record()
        self._sync_controls()

    def close(self) -> None:
        """Stop training for good and close the widgets; the cell keeps the static record."""
        if self._closed:
            return
        self.loop.close()
        self._update_record()
        self._closed = True
        widgets, self.widgets = self.widgets, {}
        for widget, handler, names in self._handlers:
            if handler is None:
                widget.unobserve()
            else:
                widget.unobserve(handler, names=names)
        self._handlers = []
        from nbtrain.widgets.boundary import _close_widgets

        _close_widgets(list(widgets.values()))

    # ----- code -----------------------------------------------------------------------------------------------------
    def code(self) -> str:
        """The nbtrain code that builds and trains the current configuration, runnable in a new cell."""
        return configuration_code(self.session)

    # ----- display --------------------------------------------------------------------------------------------------
    def _get_output(self):
        from nbtrain.display.outputs import output_or_ipython

        self.output = output_or_ipython(self.output)
        return self.output

    def _wants_live(self) -> bool:
        if self.live is not None:
            return bool(self.live)
        from nbtrain.display.environment import live_widgets_wanted

        return live_widgets_wanted()

    def _ipython_display_(self):
        self.show()

    def show(self) -> None:
        """Show the playground: the live widget and, under it, the static record (see the module docstring)."""
        output = self._get_output()
        live = self._wants_live()
        # Without a person (nbclient, nbval) the record is shown as it is now and not updated from later cells:
        # nbval compares each cell's own output, and an update from a later cell would not be in it.
        self._record_frozen = not live
        if live and not self._closed:
            _close_previous_in_cell(self)
            if not self.widgets:           # shown again: one more view of the same widgets
                self._build()
            bundle = output.widget_bundle(self.widgets["root"])
            bundle["text/plain"] = repr(self)
            self._widget_handle = output.show(bundle)
        self._record_handle = output.show(self.record_bundle())
        output.settle()

    def record_bundle(self) -> dict:
        """The static record: the boundary with its points, the network's neurons, the loss curves and the
        configuration (``image/png``, ``text/html``, ``text/plain``)."""
        picture = bd.composite(self._boundary_rgb(), self._points_rgba)
        boundary_png = bd.encode_png(picture, compress_level=6)
        network = self._network_rgb()
        network_png = bd.encode_png(network, compress_level=6)
        from nbtrain.display.static import png_base64

        text = self._record_text()
        html = ['<div class="nbtrain-playground-record" style="font-family:var(--jp-ui-font-family,sans-serif);'
                'font-size:12px;">', _RECORD_STYLE,
                f'<div style="font-weight:600;font-size:13px;margin:2px 0;">{escape(text.splitlines()[0])}</div>',
                '<div style="display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start;">',
                f'<img alt="decision boundary" width="{bd.DISPLAY_SIZE}" height="{bd.DISPLAY_SIZE}" '
                f'style="border-radius:4px;" src="data:image/png;base64,{png_base64(boundary_png)}"/>',
                '<div>', f'<div style="{_MUTED}">neurons (features, then each hidden layer)</div>',
                f'<img alt="neuron outputs" width="{network.shape[1] * NETWORK_SCALE}" '
                f'src="data:image/png;base64,{png_base64(network_png)}"/>',
                f'<div style="{_MUTED}margin-top:6px;">loss: <span style="color:{TRAIN_COLOR};">\u2501 train</span> '
                f'&nbsp; <span style="color:{TEST_COLOR};">\u2505 test</span></div>',
                # an image, not inline SVG: its bytes are masked like the PNGs when notebooks are compared
                f'<img alt="loss curves" src="data:image/svg+xml;base64,{svg_base64(self._loss_svg())}"/>',
                '</div></div>',
                f'<pre style="font-size:11px;opacity:0.85;margin:6px 0 0 0;">'
                f'{escape(chr(10).join(text.splitlines()[1:]))}</pre></div>']
        return {"text/plain": text, "text/html": "".join(html), "image/png": png_base64(boundary_png)}

    def _record_text(self) -> str:
        c, s = self.config, self.session
        loss, val = s.logs.get("loss"), s.logs.get("val_loss")
        losses = (f"train loss {loss:.4f} \u00b7 test loss {val:.4f}" if loss is not None and val is not None
                  else "not trained yet")
        data = "your data" if s.custom is not None else f"{c.dataset} (noise {c.noise:g})"
        reg = "none" if c.regularization == "none" else f"{c.regularization} {c.regularization_rate:g}"
        layers = ", ".join(str(n) for n in c.hidden) or "none"
        return "\n".join([
            f"Playground: epoch {s.epoch} \u00b7 {losses}",
            f"data: {data}, {len(s.x_train)} training and {len(s.x_test)} test points",
            f"features: {', '.join(c.features)}",
            f"hidden layers: {layers} ({c.activation})",
            f"training: {c.optimizer}, learning rate {c.learning_rate:g}, batch size {c.batch_size}, "
            f"regularization {reg}"])

    def _update_record(self) -> None:
        if self._record_handle is None or self._closed or self._record_frozen:
            return
        try:
            self._get_output().update(self._record_handle, self.record_bundle())
        except Exception:          # the cell's output is gone (cleared, kernel restarting): nothing to refresh
            pass

    def __repr__(self):
        c = self.config
        state = "playing" if self.playing else "closed" if self._closed else "paused"
        return (f"<Playground {c.dataset}: features {', '.join(c.features)}; hidden {c.hidden} {c.activation}; "
                f"epoch {self.epoch}, {state}>")

    # ----- drawing --------------------------------------------------------------------------------------------------
    def _new_data(self) -> None:
        s = self.session
        self.grid = bd.BoundaryGrid(s.extent, self.resolution)
        self._grid_features = np.empty((len(self.grid.points), len(s.config.features)), dtype=np.float32)
        self._rgb = np.empty((self.resolution, self.resolution, 3), dtype=np.uint8)
        kind = s.kind
        # regression targets are coloured on [-largest, largest], the points with them
        scale = (float(np.max(np.abs(s.y))) or 1.0) if kind == "regression" else 1.0
        self._value_range = scale if kind == "regression" else None
        y_train = s.y_train / scale if kind == "regression" else s.y_train
        y_test = s.y_test / scale if kind == "regression" else s.y_test
        self._points_rgba = bd.points_layer(s.x_train, y_train, s.extent, bd.DISPLAY_SIZE, kind, s.x_test, y_test)
        self._points_png = None

    def _outputs(self):
        c = self.session.config
        if self._grid_features.shape[1] != len(c.features):
            self._grid_features = np.empty((len(self.grid.points), len(c.features)), dtype=np.float32)
        return self.session.grid_outputs(self.grid.points, self._grid_features)

    def _boundary_rgb(self, outputs=None) -> np.ndarray:
        outputs = outputs if outputs is not None else self._outputs()
        kind = self.session.kind
        return bd.colour_values(bd.boundary_values(outputs[-1], kind), self.resolution, kind, self._value_range,
                                out=self._rgb)

    def _network_rgb(self, outputs=None) -> np.ndarray:
        outputs = outputs if outputs is not None else self._outputs()
        return network_picture(outputs[:-1], self.resolution, self.session.config.activation)

    def _draw_frame(self) -> None:
        """After a frame (on the loop's thread): the boundary, the neurons, the numbers, the curves."""
        ws = self.widgets
        if not ws:
            return
        outputs = self._outputs()
        boundary_png = bd.encode_png(self._boundary_rgb(outputs))
        ws["boundary"].value = boundary_png
        ws["stats"].value = self._stats_html()
        self.bytes_sent += len(boundary_png)
        now = self.session.clock()
        # the neurons and the curves change more slowly than the boundary catches the eye: ~3 times a second
        if self._loss_drawn_at is None or now - self._loss_drawn_at >= 0.3 or not self.loop.playing:
            self._loss_drawn_at = now
            self._show_network(outputs)
            svg = self._loss_svg()
            ws["loss"].value = svg
            self.bytes_sent += len(svg)
        self.frames_drawn += 1

    def _show_network(self, outputs=None) -> None:
        picture = self._network_rgb(outputs)
        png = bd.encode_png(picture)
        image = self.widgets["network"]
        width = f"{picture.shape[1] * NETWORK_SCALE}px"
        with image.hold_sync():
            image.value = png
            if image.layout.width != width:
                image.layout.width = width
        self.bytes_sent += len(png)

    def _draw_now(self) -> None:
        self._loss_drawn_at = None
        self._draw_frame()

    def _stats_html(self) -> str:
        s = self.session
        loss, val = s.logs.get("loss"), s.logs.get("val_loss")
        cell = 'style="padding:0 14px 0 0;white-space:nowrap;"'
        shown = (lambda v: "\u2013" if v is None else f"{v:.3f}")
        return (f'<div class="nbtrain-pg-stats" style="display:flex;align-items:baseline;">'
                f'<span {cell}><span style="{_MUTED}">epoch</span><br><b style="font-size:18px;">'
                f'{s.epoch:07,d}</b></span>'
                f'<span {cell}><span style="{_MUTED}">train loss</span><br><b style="font-size:15px;'
                f'color:{TRAIN_COLOR};">{shown(loss)}</b></span>'
                f'<span {cell}><span style="{_MUTED}">test loss</span><br><b style="font-size:15px;'
                f'color:{TEST_COLOR};">{shown(val)}</b></span></div>')

    def _loss_svg(self) -> str:
        return loss_svg(self.session.history.history.get("loss", []),
                        self.session.history.history.get("val_loss", []))

    def _on_session_event(self, event: str) -> None:
        if event == "data":
            self._new_data()
            if self.widgets:
                self._points_png = bd.encode_png(self._points_rgba, compress_level=6)
                self.widgets["points"].value = self._points_png
        elif event == "model" and self.widgets:
            self.error = None
            self._show_notice("")
            self._draw_now()
            self._sync_controls()

    def _on_error(self, error: BaseException) -> None:
        """A frame failed on the loop's thread (a loss that overflowed, say): say so in the widget, where the
        learner looks, rather than as a warning in whichever cell happens to run."""
        self.error = error
        first = str(error).split(". ")[0].rstrip(".")
        if isinstance(error, FloatingPointError):
            hint = "Lower the learning rate (or add regularization), then press Reset."
        else:
            hint = "Change the settings or press Reset to go on."
        said = first if first.lower().startswith("training stopped") else f"Training stopped: {first}"
        self._show_notice(f"{said}. {hint}")
        if not self.widgets:
            import warnings

            warnings.warn(f"nbtrain: the playground stopped: {type(error).__name__}: {error}", RuntimeWarning,
                          stacklevel=2)
        self._sync_controls()

    def _show_notice(self, text: str) -> None:
        notice = self.widgets.get("notice")
        if notice is None:
            return
        with notice.hold_sync():
            notice.value = (f'<div style="font-size:12px;padding:4px 8px;border-radius:4px;'
                            f'background:rgba(221,116,24,0.15);">{escape(text)}</div>') if text else ""
            notice.layout.display = "block" if text else "none"

    # ----- widgets --------------------------------------------------------------------------------------------------
    def _build(self) -> None:
        import ipywidgets as w

        c = self.config
        ws = {}
        self._handlers = []

        def on(widget, handler, names="value"):
            widget.observe(handler, names=names)
            self._handlers.append((widget, handler, names))

        def click(button, handler):
            button.on_click(handler)
            self._handlers.append((_ClickOff(button, handler), None, None))

        def title(text):
            return w.HTML(f'<div class="nbtrain-pg-title">{escape(text)}</div>')

        # ----- the top bar: Play/Pause, Step, Reset, the numbers, Code
        ws["play"] = w.ToggleButton(value=False, description="Play", icon="play", button_style="primary",
                                    tooltip="Train in the background; press again to pause",
                                    layout=w.Layout(width="92px"), _dom_classes=["nbtrain-pg-play"])
        ws["step"] = w.Button(description="Step", icon="step-forward", tooltip="Train one epoch",
                              layout=w.Layout(width="78px"), _dom_classes=["nbtrain-pg-step"])
        ws["reset"] = w.Button(description="Reset", icon="undo", tooltip="New weights, back to epoch 0",
                               layout=w.Layout(width="80px"), _dom_classes=["nbtrain-pg-reset"])
        ws["stats"] = w.HTML(self._stats_html(), layout=w.Layout(margin="0 0 0 18px"),
                             _dom_classes=["nbtrain-pg-stats-box"])
        ws["code_button"] = w.ToggleButton(value=False, description="Code", icon="code",
                                           tooltip="Show the nbtrain code of this configuration",
                                           layout=w.Layout(width="84px"))
        on(ws["play"], self._on_play)
        click(ws["step"], lambda _: self.step())
        click(ws["reset"], lambda _: self.reset())
        on(ws["code_button"], self._on_code)
        bar = w.HBox([ws["play"], ws["step"], ws["reset"], ws["stats"], w.HBox(layout=w.Layout(flex="1")),
                      ws["code_button"]], layout=w.Layout(align_items="center", margin="0 0 8px 0"))

        # ----- data
        data_names = list(datasets2d.DATASETS) if self.session.custom is None else ["custom"]
        custom = self.session.custom is not None
        ws["dataset"] = w.Dropdown(options=data_names, value=c.dataset, description="data set",
                                   style={"description_width": "92px"}, layout=w.Layout(width="222px"),
                                   disabled=custom)
        ws["noise"] = w.FloatSlider(value=c.noise, min=0.0, max=0.5, step=0.05, description="noise",
                                    readout_format=".2f", continuous_update=False, style={"description_width": "92px"},
                                    layout=w.Layout(width="222px"), disabled=custom)
        ws["ratio"] = w.IntSlider(value=round(100 * (1 - c.test_fraction)), min=10, max=90, step=10,
                                  description="training %", continuous_update=False,
                                  style={"description_width": "92px"}, layout=w.Layout(width="222px"))
        ws["regenerate"] = w.Button(description="Regenerate", icon="refresh", disabled=custom,
                                    layout=w.Layout(width="126px", margin="2px 0 0 96px"))
        on(ws["dataset"], lambda ch: self.update(dataset=ch["new"]))
        on(ws["noise"], lambda ch: self.update(noise=round(float(ch["new"]), 2)))
        on(ws["ratio"], lambda ch: self.update(test_fraction=round(1 - ch["new"] / 100, 2)))
        click(ws["regenerate"], lambda _: self._regenerate())
        data_panel = w.VBox([title("Data"), ws["dataset"], ws["noise"], ws["ratio"], ws["regenerate"]],
                            layout=w.Layout(width="240px"), _dom_classes=["nbtrain-pg-panel"])

        # ----- features and network
        toggles = []
        for name in datasets2d.FEATURES:
            toggle = w.ToggleButton(value=name in c.features, description=datasets2d.FEATURE_LABELS[name],
                                    tooltip=f"input feature {name}", layout=w.Layout(width="62px"),
                                    button_style="info" if name in c.features else "")
            on(toggle, lambda ch, name=name: self._on_feature(name, ch["new"]))
            ws[f"feature:{name}"] = toggle
            toggles.append(toggle)
        features = w.GridBox(toggles, layout=w.Layout(grid_template_columns="repeat(4, 64px)", grid_gap="3px"))
        ws["layers_label"] = w.HTML(layout=w.Layout(width="124px"))
        ws["add_layer"] = w.Button(icon="plus", tooltip="Add a hidden layer",
                                   layout=w.Layout(width="28px", padding="0"))
        ws["remove_layer"] = w.Button(icon="minus", tooltip="Remove the last hidden layer",
                                      layout=w.Layout(width="28px", padding="0"))
        click(ws["add_layer"], lambda _: self._change_layers(+1))
        click(ws["remove_layer"], lambda _: self._change_layers(-1))
        rows = []
        for index in range(MAX_LAYERS):
            minus = w.Button(icon="minus", tooltip=f"One neuron fewer in layer {index + 1}",
                             layout=w.Layout(width="28px", height="24px", padding="0"),
                             _dom_classes=[f"nbtrain-pg-fewer-{index}"])
            plus = w.Button(icon="plus", tooltip=f"One more neuron in layer {index + 1}",
                            layout=w.Layout(width="28px", height="24px", padding="0"),
                            _dom_classes=[f"nbtrain-pg-more-{index}"])
            label = w.HTML(layout=w.Layout(width="124px"), _dom_classes=[f"nbtrain-pg-layer-{index}"])
            click(minus, lambda _, i=index: self._change_neurons(i, -1))
            click(plus, lambda _, i=index: self._change_neurons(i, +1))
            ws[f"layer:{index}"] = w.HBox([label, minus, plus], layout=w.Layout(align_items="center"))
            ws[f"layer_label:{index}"] = label
            rows.append(ws[f"layer:{index}"])
        ws["activation"] = w.Dropdown(options=list(ACTIVATIONS), value=c.activation, description="activation",
                                      style={"description_width": "70px"}, layout=w.Layout(width="200px"))
        on(ws["activation"], lambda ch: self.update(activation=ch["new"]))
        ws["network"] = w.Image(format="png", layout=w.Layout(margin="6px 0 0 0"),
                                _dom_classes=["nbtrain-pg-image"])
        caption = w.HTML(f'<div style="{_MUTED}margin-top:6px;">each neuron\'s output over the input plane: '
                         f'the features, then each hidden layer</div>')
        network_panel = w.VBox([title("Features"), features, title("Network"),
                                w.HBox([ws["layers_label"], ws["remove_layer"], ws["add_layer"]],
                                       layout=w.Layout(align_items="center")),
                                *rows, ws["activation"], caption, ws["network"]],
                               layout=w.Layout(width="290px"), _dom_classes=["nbtrain-pg-panel"])

        # ----- output: the boundary over its points, the loss curves
        side = f"{bd.DISPLAY_SIZE}px"
        self._points_png = bd.encode_png(self._points_rgba, compress_level=6)
        ws["boundary"] = w.Image(value=bd.encode_png(self._boundary_rgb()), format="png",
                                 layout=w.Layout(width=side, height=side, grid_area="1 / 1"),
                                 _dom_classes=["nbtrain-pg-boundary-image"])
        ws["points"] = w.Image(value=self._points_png, format="png",
                               layout=w.Layout(width=side, height=side, grid_area="1 / 1"))
        stack = w.GridBox([ws["boundary"], ws["points"]],
                          layout=w.Layout(grid_template_columns=side, grid_template_rows=side, width=side),
                          _dom_classes=["nbtrain-pg-image", "nbtrain-pg-boundary"])
        ws["loss"] = w.HTML(self._loss_svg())
        legend = (f'<div style="{_MUTED}">points: white rim for training, dark rim for test</div>'
                  f'<div style="{_MUTED}margin-top:6px;">loss: <span style="color:{TRAIN_COLOR};">\u2501 train</span>'
                  f' &nbsp; <span style="color:{TEST_COLOR};">\u2505 test</span></div>')
        output_panel = w.VBox([title("Output"), stack, w.HTML(legend), ws["loss"]],
                              layout=w.Layout(width="300px"), _dom_classes=["nbtrain-pg-panel"])

        # ----- training settings, in the left column under the data
        label = {"description_width": "92px"}
        wide = w.Layout(width="222px")
        ws["learning_rate"] = w.Dropdown(options=[(f"{r:g}", r) for r in LEARNING_RATES], value=c.learning_rate,
                                         description="learning rate", style=label, layout=wide,
                                         _dom_classes=["nbtrain-pg-learning-rate"])
        ws["optimizer"] = w.Dropdown(options=list(OPTIMIZERS), value=c.optimizer, description="optimizer",
                                     style=label, layout=wide)
        ws["batch_size"] = w.IntSlider(value=c.batch_size, min=1, max=30, description="batch size",
                                       continuous_update=False, style=label, layout=wide)
        ws["regularization"] = w.Dropdown(options=list(REGULARIZATIONS), value=c.regularization,
                                          description="regularization", style=label, layout=wide)
        ws["regularization_rate"] = w.Dropdown(options=[(f"{r:g}", r) for r in REGULARIZATION_RATES],
                                               value=c.regularization_rate, description="its rate", style=label,
                                               layout=wide)
        for name in ("learning_rate", "optimizer", "batch_size", "regularization", "regularization_rate"):
            on(ws[name], lambda ch, name=name: self.update(**{name: ch["new"]}))
        data_panel.children = (*data_panel.children, title("Training"), ws["learning_rate"], ws["optimizer"],
                               ws["batch_size"], ws["regularization"], ws["regularization_rate"])
        ws["code"] = w.HTML(layout=w.Layout(display="none"))
        ws["notice"] = w.HTML(layout=w.Layout(display="none", margin="0 0 8px 0"),
                              _dom_classes=["nbtrain-pg-notice"])
        ws["root"] = w.VBox([w.HTML(_STYLE), bar, ws["notice"], w.HBox([data_panel, network_panel, output_panel],
                                                         layout=w.Layout(flex_flow="row wrap")),
                             ws["code"]],
                            _dom_classes=["nbtrain-playground"], layout=w.Layout(padding="4px 0"))
        # The front end reports how many views the playground has: when the last one goes (its output cleared,
        # the cell re-run in a front end that does not say which cell runs), nobody watches, so training pauses.
        ws["root"]._view_count = 0
        on(ws["root"], self._on_view_count, names="_view_count")
        self.widgets = ws
        self._show_network()
        self._sync_controls()

    def _sync_controls(self) -> None:
        """Bring the controls in line with the session (after code changed it, or a change was refused)."""
        ws = self.widgets
        if not ws:
            return
        c = self.config
        playing = self.loop.playing
        with ws["play"].hold_sync():
            if ws["play"].value != playing:
                self._syncing = True
                try:
                    ws["play"].value = playing
                finally:
                    self._syncing = False
            ws["play"].description = "Pause" if playing else "Play"
            ws["play"].icon = "pause" if playing else "play"
        count = len(c.hidden)
        ws["layers_label"].value = (f'<span style="font-size:12px;">{count} hidden layer'
                                    f'{"" if count == 1 else "s"}</span>')
        ws["add_layer"].disabled = count >= MAX_LAYERS
        ws["remove_layer"].disabled = count == 0
        for index in range(MAX_LAYERS):
            row = ws[f"layer:{index}"]
            shown = index < count
            row.layout.display = "flex" if shown else "none"
            if shown:
                units = c.hidden[index]
                ws[f"layer_label:{index}"].value = (f'<span style="font-size:12px;">layer {index + 1}: '
                                                    f'<b>{units}</b> neuron{"" if units == 1 else "s"}</span>')
                row.children[1].disabled = units <= 1
                row.children[2].disabled = units >= MAX_NEURONS
        for name in datasets2d.FEATURES:
            toggle = ws[f"feature:{name}"]
            style = "info" if name in c.features else ""
            if toggle.button_style != style:
                toggle.button_style = style
        ws["stats"].value = self._stats_html()
        if ws["code"].layout.display != "none":
            ws["code"].value = self._code_html()

    def _on_view_count(self, change) -> None:
        if change["new"] == 0 and (change["old"] or 0) > 0 and self.loop.playing:
            self.pause()

    def _on_play(self, change) -> None:
        if getattr(self, "_syncing", False):
            return
        if change["new"]:
            self.play()
        else:
            self.pause()

    def _on_code(self, change) -> None:
        code = self.widgets["code"]
        code.value = self._code_html() if change["new"] else ""
        code.layout.display = "block" if change["new"] else "none"

    def _code_html(self) -> str:
        return (f'<div style="{_MUTED}margin-top:8px;">The nbtrain code of this configuration: copy it into a new '
                f'cell (or use playground.code()).</div><pre style="font-size:12px;padding:8px;border-radius:4px;'
                f'white-space:pre;'
                f'background:var(--jp-layout-color2,rgba(128,128,128,0.12));overflow-x:auto;user-select:text;">'
                f'{escape(self.code())}</pre>')

    def _on_feature(self, name: str, on: bool) -> None:
        features = [f for f in datasets2d.FEATURES if (f in self.config.features or f == name) and
                    (on or f != name)]
        if not features:                        # the last feature cannot go: turn its toggle back on
            self.widgets[f"feature:{name}"].value = True
            return
        self.update(features=features)

    def _change_layers(self, delta: int) -> None:
        hidden = list(self.config.hidden)
        hidden = hidden + [hidden[-1] if hidden else 2] if delta > 0 else hidden[:-1]
        self.update(hidden=hidden[:MAX_LAYERS])

    def _change_neurons(self, index: int, delta: int) -> None:
        hidden = list(self.config.hidden)
        hidden[index] = max(1, min(MAX_NEURONS, hidden[index] + delta))
        self.update(hidden=hidden)

    def _regenerate(self) -> None:
        was_playing = self.loop.playing
        self.loop.pause()
        self.session.regenerate_data(new_seed=True)
        if was_playing:
            self.loop.play()
        else:
            self._update_record()


class _ClickOff:
    """Undoes ``button.on_click(handler)`` when the playground closes."""

    def __init__(self, button, handler):
        self.button, self.handler = button, handler

    def unobserve(self, _=None):
        self.button.on_click(self.handler, remove=True)


def _config_kwargs(settings: dict) -> dict:
    """Settings as :class:`PlaygroundConfig` fields, with a clear error for an unknown name."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(PlaygroundConfig)}
    for name in settings:
        if name not in fields:
            from nbtrain.utils.errors import did_you_mean

            raise TypeError(f"Playground() got an unexpected setting {name!r}.{did_you_mean(name, fields)} "
                            f"Settings: {', '.join(sorted(fields))}.")
    out = dict(settings)
    for name in ("features", "hidden"):
        if name in out and not isinstance(out[name], str):
            out[name] = list(out[name])
    return out


def _cell_id():
    """The id of the notebook cell running now (JupyterLab, Notebook 7 and VS Code send it), or None."""
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        parent = kernel.get_parent() if kernel is not None and hasattr(kernel, "get_parent") else None
        return ((parent or {}).get("metadata") or {}).get("cellId")
    except Exception:
        return None


def _close_previous_in_cell(playground: Playground) -> None:
    """Running a cell again replaces its output: the playground it showed before stops and closes."""
    cell = _cell_id()
    if cell is None:
        return
    previous = _BY_CELL.get(cell)
    previous = previous() if previous is not None else None
    if previous is not None and previous is not playground:
        previous.close()
    _BY_CELL[cell] = weakref.ref(playground)


# ----- pictures -----------------------------------------------------------------------------------------------------

def network_picture(layer_outputs, resolution: int, activation: str) -> np.ndarray:
    """The network view: one column per layer (the input features first), each neuron's output over the input
    plane as a ``THUMB``-pixel picture, on a transparent background (RGBA uint8)."""
    step = max(1, resolution // THUMB)
    columns = len(layer_outputs)
    rows = max(out.shape[1] for out in layer_outputs)
    width = (columns - 1) * COLUMN_PITCH + THUMB
    height = rows * (THUMB + THUMB_GAP) - THUMB_GAP
    picture = np.zeros((height, width, 4), dtype=np.uint8)
    for column, outputs in enumerate(layer_outputs):
        scaled = _neuron_scale(outputs, activation if column > 0 else "linear")
        top = (rows - outputs.shape[1]) * (THUMB + THUMB_GAP) // 2      # each column centred vertically
        for neuron in range(outputs.shape[1]):
            image = _block_mean(scaled[:, neuron].reshape(resolution, resolution), step)[:THUMB, :THUMB]
            rgb = bd.LUT[np.clip((image + 1.0) * 127.5, 0, 255).astype(np.intp)]
            y0, x0 = top + neuron * (THUMB + THUMB_GAP), column * COLUMN_PITCH
            h, w = rgb.shape[:2]
            picture[y0:y0 + h, x0:x0 + w, :3] = rgb
            picture[y0:y0 + h, x0:x0 + w, 3] = 255
    return picture


def _block_mean(image: np.ndarray, step: int) -> np.ndarray:
    """``image`` made ``step`` times smaller by averaging blocks (smooth, unlike taking every ``step``-th)."""
    if step == 1:
        return image
    side = image.shape[0] // step * step
    return image[:side, :side].reshape(side // step, step, side // step, step).mean(axis=(1, 3))


def _neuron_scale(outputs: np.ndarray, activation: str) -> np.ndarray:
    """Outputs in ``[-1, 1]``: tanh as it is, sigmoid as ``2s - 1``, others divided by their largest magnitude."""
    if activation == "tanh":
        return outputs
    if activation == "sigmoid":
        return outputs * 2.0 - 1.0
    peak = np.max(np.abs(outputs), axis=0, keepdims=True)
    return outputs / np.where(peak > 0, peak, 1.0)


def svg_base64(svg: str) -> str:
    import base64

    document = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    return base64.b64encode(document.encode("utf-8")).decode("ascii")


def loss_svg(train, test, width: int = bd.DISPLAY_SIZE, height: int = 64) -> str:
    """The loss curves as a small inline SVG (train solid, test dashed), y from 0 to the largest loss."""
    values = [v for v in list(train) + list(test) if np.isfinite(v)]
    if not values:
        return (f'<svg width="{width}" height="{height}" role="img" aria-label="no loss yet">'
                f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="none" '
                f'stroke="rgba(128,128,128,0.35)"/></svg>')
    top = max(values) or 1.0

    def points(series):
        series = np.asarray(series, dtype=np.float64)
        if len(series) > 240:          # at most 240 points: the SVG stays small on long runs
            series = series[np.linspace(0, len(series) - 1, 240).astype(int)]
        xs = np.linspace(1, width - 1, len(series)) if len(series) > 1 else np.array([1.0])
        ys = height - 2 - (np.clip(series, 0, top) / top) * (height - 4)
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))

    lines = [f'<svg width="{width}" height="{height}" role="img" aria-label="loss curves">',
             f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="none" '
             f'stroke="rgba(128,128,128,0.35)"/>']
    for series, colour, dash in ((test, TEST_COLOR, ' stroke-dasharray="4 2"'), (train, TRAIN_COLOR, "")):
        if len(series):
            lines.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6"{dash} '
                         f'points="{points(series)}"/>')
    lines.append(f'<text x="{width - 4}" y="12" font-size="10" text-anchor="end" fill="#7a7a7a">'
                 f'{top:.3g}</text></svg>')
    return "".join(lines)


# ----- code ---------------------------------------------------------------------------------------------------------

def configuration_code(session: PlaygroundSession) -> str:
    """Runnable nbtrain code for the session's configuration (data, features, model, compile, fit), in lines of
    at most 88 characters, so that it reads in a notebook cell without scrolling."""
    c = session.config
    lines = ["import numpy as np", "import nbtrain", ""]
    if session.custom is None:
        lines += [f'x, y = nbtrain.widgets.make_2d_data("{c.dataset}", samples={c.samples}, noise={c.noise:g}, '
                  f'seed={c.data_seed})']
    else:
        lines += ["# x, y: your data, as given to Playground(x, y)"]
    lines += ["x_train, y_train, x_test, y_test = nbtrain.widgets.train_test_split(",
              f"    x, y, test_fraction={c.test_fraction:g}, seed={c.data_seed}", ")"]
    lines += ["", "", "def features(x):", '    """The input features of 2-D points x, one column each:',
              f'    {", ".join(c.features)}."""']
    columns = [datasets2d.FEATURES[name][1] for name in c.features]
    if len(", ".join(columns)) + 16 <= 88:
        lines += [f"    columns = [{', '.join(columns)}]"]
    else:
        lines += ["    columns = ["] + [f"        {column}," for column in columns] + ["    ]"]
    lines += ['    return np.column_stack(columns).astype("float32")', "", "",
              "features_train, features_test = features(x_train), features(x_test)", ""]
    reg = ""
    if c.regularization != "none" and c.regularization_rate > 0:
        lines += [f"regularizer = nbtrain.regularizers.{c.regularization}({c.regularization_rate:g})"]
        reg = ", kernel_regularizer=regularizer"
    lines += ["model = nbtrain.Sequential([", f"    nbtrain.Input(shape=({len(c.features)},)),"]
    lines += [f'    nbtrain.layers.Dense({units}, activation="{c.activation}"{reg}),' for units in c.hidden]
    lines += [f'    nbtrain.layers.Dense({session._output_units()}, activation="{session._output_activation()}"'
              f'{reg}),', '], name="playground")']
    optimizer = "SGD" if c.optimizer == "sgd" else "Adam"
    metrics = "" if session.kind == "regression" else ', metrics=["accuracy"]'
    lines += ["model.compile(", f"    optimizer=nbtrain.optimizers.{optimizer}(learning_rate={c.learning_rate:g}),",
              f'    loss="{session.loss_name()}"{metrics},', ")"]
    lines += ["history = model.fit(",
              f"    features_train, y_train, batch_size={c.batch_size}, epochs={max(session.epoch, 100)},",
              "    validation_data=(features_test, y_test), verbose=0,", ")",
              'loss, test_loss = history.history["loss"][-1], history.history["val_loss"][-1]',
              'print(f"train loss {loss:.3f}, test loss {test_loss:.3f}")']
    return "\n".join(lines)
