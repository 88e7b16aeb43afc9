"""Decision boundaries of models with 2-D inputs: a grid, a colour map in NumPy, a PNG, and their displays.

A frame is cheap by construction: the grid of input points is made once (:class:`BoundaryGrid`), a model's
outputs on it become colours through a 256-entry lookup table (no matplotlib per frame), and the image is
encoded as a small PNG by Pillow (matplotlib's ``imsave`` when Pillow is missing). The training and test points
are drawn once per data set as a transparent layer: the live widgets stack it over the boundary in the browser,
so a frame only sends the small boundary image; the static record and :func:`plot_decision_boundary` composite
the two.

Colours follow TensorFlow Playground: orange for class 0 (or -1), blue for class 1 (or +1), a light grey
between; more classes get one colour each, faded where the model is unsure. The regions are a little lighter
than the points, so that a point on its own class's region still stands out.

* :class:`DecisionBoundary`: a callback that shows the boundary of any 2-D model while ``fit`` trains it.
* :func:`plot_decision_boundary`: the boundary once, as a matplotlib figure.
"""

from __future__ import annotations

import io
import time

import numpy as np

from nbtrain.callbacks.callback import Callback

NEGATIVE = (232, 131, 31)     # orange: class 0 (or -1 in regression)
POSITIVE = (36, 118, 186)     # blue: class 1 (or +1)
MIDDLE = (236, 238, 240)      # where the model says 0.5 (or 0)
# more classes: Tableau-like hues that stay apart on light and dark themes
CLASS_COLORS = ((232, 131, 31), (36, 118, 186), (89, 161, 79), (176, 122, 161), (225, 87, 89), (78, 158, 152),
                (173, 138, 26), (156, 117, 95), (217, 111, 138), (143, 133, 127))
POINT_RADIUS = 3.2            # pixels, at the display size
DISPLAY_SIZE = 280            # the boundary's side in CSS pixels


def diverging_lut(negative=NEGATIVE, middle=MIDDLE, positive=POSITIVE, n: int = 256) -> np.ndarray:
    """An ``(n, 3)`` uint8 table from ``negative`` through ``middle`` to ``positive``.

    Example:
        >>> lut = diverging_lut()
        >>> lut.shape, lut[0].tolist(), lut[-1].tolist()
        ((256, 3), [232, 131, 31], [36, 118, 186])
    """
    t = np.linspace(-1.0, 1.0, n)[:, None]
    low, mid, high = (np.asarray(c, dtype=np.float64) for c in (negative, middle, positive))
    colours = np.where(t < 0, mid + (low - mid) * -t, mid + (high - mid) * t)
    return np.round(colours).astype(np.uint8)


def _faded(colour, strength: float):
    return tuple(round(m + strength * (c - m)) for c, m in zip(colour, MIDDLE))


BOUNDARY_STRENGTH = 0.7       # the regions a little lighter than the points, so that points stand out on them
LUT = diverging_lut()                      # points and neurons: the full colours
BOUNDARY_LUT = diverging_lut(_faded(NEGATIVE, BOUNDARY_STRENGTH), MIDDLE, _faded(POSITIVE, BOUNDARY_STRENGTH))


class BoundaryGrid:
    """A square grid of ``resolution²`` input points over ``extent = (x1_min, x1_max, x2_min, x2_max)``, made
    once. Row 0 is the top of the picture (largest ``x2``), as an image is stored.

    Example:
        >>> grid = BoundaryGrid((-6, 6, -6, 6), resolution=4)
        >>> grid.points.shape, grid.points.dtype.name
        ((16, 2), 'float32')
    """

    def __init__(self, extent, resolution: int = 64):
        if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
            raise ValueError(f"resolution must be an integer of at least 2 (grid points per side), "
                             f"got {resolution!r}.")
        self.extent = tuple(float(v) for v in extent)
        self.resolution = int(resolution)
        x1_min, x1_max, x2_min, x2_max = self.extent
        # cell centres, so that the picture's pixels sit where their points are
        step1, step2 = (x1_max - x1_min) / resolution, (x2_max - x2_min) / resolution
        x1 = x1_min + step1 * (np.arange(resolution) + 0.5)
        x2 = x2_max - step2 * (np.arange(resolution) + 0.5)
        grid1, grid2 = np.meshgrid(x1, x2)
        self.points = np.column_stack([grid1.ravel(), grid2.ravel()]).astype(np.float32)

    def __repr__(self):
        return f"<BoundaryGrid {self.resolution}x{self.resolution} over {self.extent}>"


def data_extent(x, pad: float = 0.08) -> tuple[float, float, float, float]:
    """A square-ish extent around points ``x`` (shape ``(n, 2)``), padded by ``pad`` of each side's span.

    Example:
        >>> data_extent(np.array([[0.0, 0.0], [1.0, 2.0]]), pad=0.0)
        (0.0, 1.0, 0.0, 2.0)
    """
    x = np.asarray(x, dtype=np.float64)
    low, high = x.min(axis=0), x.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    low, high = low - pad * span, high + pad * span
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def to_unit_range(values: np.ndarray, kind: str, value_range=None) -> np.ndarray:
    """Values in ``[-1, 1]`` for the diverging map: probabilities ``p`` become ``2p - 1``; regression values are
    divided by ``value_range`` (default their largest magnitude)."""
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    if kind == "binary":
        return values * 2.0 - 1.0
    scale = value_range if value_range else float(np.max(np.abs(values))) or 1.0
    return values / scale


def colour_values(values: np.ndarray, resolution: int, kind: str = "binary", value_range=None,
                  out: np.ndarray | None = None) -> np.ndarray:
    """An RGB uint8 image ``(resolution, resolution, 3)`` of a model's outputs on a :class:`BoundaryGrid`.

    Args:
        values: the outputs, one row per grid point: probabilities of class 1 (``kind="binary"``), values
            (``"regression"``, coloured on ``[-value_range, value_range]``), or class probabilities of shape
            ``(points, classes)`` (``"classes"``: each class its colour, faded where the top probability is low).
        resolution: the grid's side.
        kind: ``"binary"``, ``"regression"`` or ``"classes"``.
        value_range: see ``values``.
        out: an array to fill (a live display reuses one).

    Example:
        >>> colour_values(np.array([0.0, 0.5, 1.0, 1.0]), 2)[0].tolist()
        [[233, 163, 94], [236, 238, 239]]
    """
    if kind == "classes":
        rgb = _class_colours(np.asarray(values, dtype=np.float32))
    else:
        unit = to_unit_range(values, kind, value_range)
        index = np.clip((unit + 1.0) * 127.5, 0, 255).astype(np.intp)
        rgb = BOUNDARY_LUT[index]
    rgb = rgb.reshape(resolution, resolution, 3)
    if out is not None:
        out[...] = rgb
        return out
    return rgb


def _class_colours(probabilities: np.ndarray) -> np.ndarray:
    """Each point the colour of its likeliest class, mixed toward the middle grey where the model is unsure
    (top probability ``1/classes``: all grey; 1: the full colour)."""
    classes = probabilities.shape[1]
    palette = np.array([CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(classes)], dtype=np.float32)
    top = probabilities.argmax(axis=1)
    confidence = (probabilities.max(axis=1) - 1.0 / classes) / (1.0 - 1.0 / classes)
    weight = np.clip(confidence, 0.0, 1.0)[:, None] * BOUNDARY_STRENGTH
    mixed = np.asarray(MIDDLE, dtype=np.float32) * (1.0 - weight) + palette[top] * weight
    return np.round(mixed).astype(np.uint8)


def output_kind(model_or_values, y=None) -> str:
    """``"binary"``, ``"classes"`` or ``"regression"``: how to colour a model's outputs (from its last
    activation and output width, or from ``y`` when it is given)."""
    layers = getattr(model_or_values, "layers", None)
    if layers:
        last = layers[-1]
        units = getattr(last, "units", None)
        activation = getattr(getattr(last, "activation", None), "__name__", str(getattr(last, "activation", "")))
        if units and units > 1:
            return "classes"
        if "sigmoid" in str(activation).lower():
            return "binary"
    if y is not None:
        labels = np.asarray(y)
        if labels.ndim == 2 and labels.shape[1] > 1:
            return "classes"
        if np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.bool_):
            return "binary" if len(np.unique(labels)) <= 2 else "classes"
    return "regression"


# ----- the points layer -------------------------------------------------------------------------------------------

def _disc_offsets(radius: float):
    r = int(np.ceil(radius + 1.5))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    distance = np.sqrt(dx ** 2 + dy ** 2)
    return dy.ravel(), dx.ravel(), distance.ravel()


def label_colours(y, kind: str) -> np.ndarray:
    """The fill colour of each point, float32 ``(n, 3)``: its class's colour, or its value on the diverging
    map for regression."""
    y = np.asarray(y)
    if kind == "regression":
        unit = np.clip(y.reshape(-1).astype(np.float32), -1.0, 1.0)
        return LUT[np.clip((unit + 1.0) * 127.5, 0, 255).astype(np.intp)].astype(np.float32)
    labels = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1).astype(np.int64)
    if kind == "binary":
        palette = np.array([NEGATIVE, POSITIVE], dtype=np.float32)
        return palette[np.clip(labels, 0, 1)]
    palette = np.array(CLASS_COLORS, dtype=np.float32)
    return palette[labels % len(CLASS_COLORS)]


def points_layer(x, y, extent, size: int = DISPLAY_SIZE, kind: str = "binary", x_test=None, y_test=None,
                 radius: float = POINT_RADIUS, scale: int = 2) -> np.ndarray:
    """An RGBA uint8 image ``(size*scale, size*scale, 4)``, transparent but for the points: training points
    with a white rim, test points with a dark rim (as in TensorFlow Playground). ``scale=2`` keeps them sharp
    on high-density screens. Drawn with NumPy (anti-aliased discs), once per data set."""
    side = size * scale
    layer = np.zeros((side, side, 4), dtype=np.float32)
    for points, labels, rim in ((x, y, (255.0, 255.0, 255.0)), (x_test, y_test, (40.0, 40.0, 40.0))):
        if points is None or len(points) == 0:
            continue
        _stamp(layer, np.asarray(points, dtype=np.float64), label_colours(labels, kind), extent, side,
               radius * scale, np.asarray(rim, dtype=np.float32))
    return np.round(layer).astype(np.uint8)


def _stamp(layer, points, fills, extent, side, radius, rim) -> None:
    x1_min, x1_max, x2_min, x2_max = extent
    cols = (points[:, 0] - x1_min) / (x1_max - x1_min) * side
    rows = (x2_max - points[:, 1]) / (x2_max - x2_min) * side
    dy, dx, distance = _disc_offsets(radius)
    # coverage of the disc and of its inner fill, each with one pixel of anti-aliasing
    outer = np.clip(radius + 0.5 - distance, 0.0, 1.0)
    inner = np.clip(radius - 0.9 - distance, 0.0, 1.0)
    for row, col, fill in zip(rows.astype(int), cols.astype(int), fills):
        rr, cc = row + dy, col + dx
        keep = (rr >= 0) & (rr < side) & (cc >= 0) & (cc < side) & (outer > 0)
        rr, cc = rr[keep], cc[keep]
        colour = rim[None, :] * (1.0 - inner[keep, None]) + fill[None, :] * inner[keep, None]
        alpha = outer[keep, None]
        below = layer[rr, cc]
        layer[rr, cc, :3] = colour * alpha + below[:, :3] * (1.0 - alpha)
        layer[rr, cc, 3] = 255.0 * alpha[:, 0] + below[:, 3] * (1.0 - alpha[:, 0])


# ----- images -----------------------------------------------------------------------------------------------------

def encode_png(image: np.ndarray, compress_level: int = 1) -> bytes:
    """PNG bytes of an RGB or RGBA uint8 array: Pillow when installed (fast, level 1 is nearly as small as 6 on
    smooth images), else matplotlib's ``imsave``."""
    try:
        from PIL import Image
    except ImportError:                       # pragma: no cover - Pillow comes with matplotlib
        from matplotlib.image import imsave

        buffer = io.BytesIO()
        imsave(buffer, image, format="png")
        return buffer.getvalue()
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="png", compress_level=compress_level)
    return buffer.getvalue()


def composite(boundary_rgb: np.ndarray, points_rgba: np.ndarray | None) -> np.ndarray:
    """The boundary scaled up smoothly to the points layer's size, with the points on top (RGB uint8): what the
    static record shows, and what the browser shows by stacking the two live images."""
    from PIL import Image

    side = points_rgba.shape[0] if points_rgba is not None else DISPLAY_SIZE * 2
    picture = Image.fromarray(boundary_rgb).resize((side, side), Image.Resampling.BILINEAR).convert("RGBA")
    if points_rgba is not None:
        picture = Image.alpha_composite(picture, Image.fromarray(points_rgba))
    return np.asarray(picture.convert("RGB"))


def check_2d_model(model, what: str = "DecisionBoundary") -> None:
    """Raise a ``ValueError`` naming the input shape unless ``model`` takes 2-D points ``(batch, 2)``."""
    shape = _input_shape(model)
    if shape is None:
        return              # not built yet: the first batch shows it, and predict then checks it
    if len(shape) != 2 or shape[-1] != 2:
        shown = "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{what} draws models whose inputs are 2-D points, shape (batch, 2), but model "
                         f"'{getattr(model, 'name', 'model')}' takes inputs of shape {shown}. Use it with a model "
                         f"built on nbtrain.Input(shape=(2,)).")


def _input_shape(model):
    shape = getattr(model, "input_shape", None)
    if shape is None:
        return None
    if isinstance(shape, list):
        if len(shape) != 1:
            return tuple(shape)
        shape = shape[0]
    return tuple(shape)


def check_points(x, y, what: str):
    """``x`` as float32 ``(n, 2)`` and ``y`` as an array of n labels or values, or a clear error."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"{what}: x must hold 2-D points, shape (n, 2), but got shape {x.shape}. For a model "
                         f"with more inputs, plot two of them against each other in your own figure.")
    if y is None:
        raise ValueError(f"{what}: y (the labels or targets of x) is required, to colour the points.")
    y = np.asarray(y)
    if len(y) != len(x):
        raise ValueError(f"{what}: x has {len(x)} points but y has {len(y)} labels; they must match.")
    return x.astype(np.float32), y


def predict_grid(model, grid: BoundaryGrid) -> np.ndarray:
    """The model's outputs on the grid's points, in one batch."""
    outputs = model.predict_on_batch(grid.points)
    if isinstance(outputs, (list, tuple)):
        outputs = outputs[0]
    return np.asarray(outputs)


def boundary_values(outputs: np.ndarray, kind: str) -> np.ndarray:
    """What :func:`colour_values` colours: column 0 of a one-unit output, the whole of a softmax."""
    return outputs if kind == "classes" else outputs.reshape(len(outputs), -1)[:, 0]


# ----- plot_decision_boundary -------------------------------------------------------------------------------------

def plot_decision_boundary(model, x, y, x_test=None, y_test=None, resolution: int = 200, ax=None, title=None):
    """Draw a 2-D model's decision boundary once, with the points on it, as a matplotlib figure.

    Class probability is a diverging colour map over the input plane (orange for class 0, blue for class 1,
    light grey where the model is unsure), with the training points (white rim) and test points (dark rim).

    Args:
        model: a model taking inputs of shape ``(batch, 2)``.
        x, y: the points and their labels (or regression targets).
        x_test, y_test: more points to draw with a dark rim (optional).
        resolution: grid points per side.
        ax: a matplotlib Axes to draw into; default a new figure.
        title: the panel's title (default the model's name).

    Returns:
        The new matplotlib Figure, or ``ax`` when given.

    Example:
        >>> fig = nbtrain.plot_decision_boundary(model, x, y)   # doctest: +SKIP
    """
    check_2d_model(model, "plot_decision_boundary")
    x, y = check_points(x, y, "plot_decision_boundary")
    points = x if x_test is None else np.concatenate([x, np.asarray(x_test, dtype=np.float32)])
    extent = data_extent(points)
    grid = BoundaryGrid(extent, resolution)
    kind = output_kind(model, y)
    outputs = predict_grid(model, grid)
    value_range = float(np.max(np.abs(y))) if kind == "regression" else None
    rgb = colour_values(boundary_values(outputs, kind), resolution, kind, value_range)
    size = 360
    overlay = points_layer(x, y if kind != "regression" else np.asarray(y) / (value_range or 1.0), extent, size,
                           kind, x_test, None if y_test is None else
                           (np.asarray(y_test) / (value_range or 1.0) if kind == "regression" else y_test))
    picture = composite(rgb, overlay)
    from nbtrain.display.plots import _figure_class, style_axes

    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(4.2, 4.0), FigureClass=_figure_class(), layout="constrained")
        fig.patch.set_alpha(0.0)
        axis = fig.add_subplot()
    else:
        fig, axis = None, ax
    style_axes(axis, title if title is not None else f"{getattr(model, 'name', 'model')}: decision boundary")
    axis.grid(False)
    axis.imshow(picture, extent=extent, interpolation="bilinear", aspect="auto")
    axis.set_xlabel("x\u2081")
    axis.set_ylabel("x\u2082")
    return fig if fig is not None else ax


# ----- DecisionBoundary ---------------------------------------------------------------------------------------------

class DecisionBoundary(Callback):
    """A callback that draws a 2-D model's decision boundary while it trains, next to the dashboard.

    In a notebook with widgets it shows the boundary live (a few frames a second, each only the small boundary
    image; the points are sent once), and leaves a static picture when training ends, so the saved notebook
    shows it without a kernel. In a notebook run without a person (nbclient, nbval) it shows the final
    picture only; in a terminal, nothing.

    Args:
        x, y: the points to draw and their labels (or targets); usually the training data.
        validation_data: ``(x_val, y_val)`` drawn with a dark rim (optional).
        resolution: grid points per side (64: 4,096 points, one small predict per frame).
        interval: seconds between two live frames at least.
        size: the picture's side in pixels.
        clock, output: for tests (a fake clock, a :class:`~nbtrain.display.outputs.RecordingOutput`).
        live: True/False to force the live widget on or off; None decides from the environment.

    Example:
        >>> boundary = nbtrain.widgets.DecisionBoundary(x, y)                      # doctest: +SKIP
        >>> model.fit(x, y, epochs=200, callbacks=[boundary])                       # doctest: +SKIP
    """

    def __init__(self, x, y, validation_data=None, resolution: int = 64, interval: float = 0.2,
                 size: int = DISPLAY_SIZE, clock=time.monotonic, output=None, live=None):
        super().__init__()
        self.x, self.y = check_points(x, y, "DecisionBoundary")
        self.x_val = self.y_val = None
        if validation_data is not None:
            self.x_val, self.y_val = check_points(validation_data[0], validation_data[1],
                                                  "DecisionBoundary validation_data")
        points = self.x if self.x_val is None else np.concatenate([self.x, self.x_val])
        self.grid = BoundaryGrid(data_extent(points), resolution)
        self.interval = float(interval)
        self.size = int(size)
        self.clock = clock
        self.output = output
        self.live = live
        self.frames = 0
        self.png = None              # the last frame (the boundary alone)
        self.record = None           # the final bundle
        self._kind = None
        self._value_range = None
        self._overlay = None
        self._widgets = {}
        self._handle = None
        self._last_draw = None
        self._rgb = np.empty((resolution, resolution, 3), dtype=np.uint8)

    # ----- setup --------------------------------------------------------------------------------------------------
    def set_model(self, model) -> None:
        check_2d_model(model)
        super().set_model(model)

    def _get_output(self):
        from nbtrain.display.outputs import output_or_ipython

        self.output = output_or_ipython(self.output)
        return self.output

    def _wants_live(self) -> bool:
        if self.live is not None:
            return bool(self.live)
        from nbtrain.display.environment import live_widgets_wanted

        return live_widgets_wanted()

    def _wants_record(self) -> bool:
        if self.live is not None or self.output is not None:
            return True
        from nbtrain.display.environment import in_notebook_kernel

        return in_notebook_kernel()

    def on_train_begin(self, logs=None):
        self._kind = output_kind(self.model, self.y)
        self._value_range = (float(np.max(np.abs(self.y))) or 1.0) if self._kind == "regression" else None
        scale = (lambda v: None if v is None else np.asarray(v, dtype=np.float32) / self._value_range) \
            if self._kind == "regression" else (lambda v: v)
        self._overlay = points_layer(self.x, scale(self.y), self.grid.extent, self.size, self._kind,
                                     self.x_val, scale(self.y_val))
        self._last_draw = None
        if self._wants_live():
            self._open()

    # ----- frames ---------------------------------------------------------------------------------------------------
    def render(self) -> np.ndarray:
        """The boundary of the model as it is now, RGB uint8 ``(resolution, resolution, 3)``."""
        outputs = predict_grid(self.model, self.grid)
        return colour_values(boundary_values(outputs, self._kind), self.grid.resolution, self._kind,
                             self._value_range, out=self._rgb)

    def on_epoch_end(self, epoch, logs=None):
        if not self._widgets:
            return
        now = self.clock()
        if self._last_draw is not None and now - self._last_draw < self.interval - 1e-6:
            return
        self._last_draw = now
        self.png = encode_png(self.render())
        self.frames += 1
        self._widgets["boundary"].value = self.png
        self._widgets["caption"].value = self._caption(epoch, logs)

    def _caption(self, epoch, logs) -> str:
        loss = (logs or {}).get("loss")
        text = f"epoch {epoch + 1}" + (f" \u00b7 loss {loss:.4f}" if loss is not None else "")
        return f'<span style="font-size:12px;opacity:0.8;">{text}</span>'

    def on_train_end(self, logs=None):
        widgets, self._widgets = self._widgets, {}
        if self.model is None or self._overlay is None:
            return
        if not (widgets or self._wants_record()):
            return
        picture = composite(self.render(), self._overlay)
        png = encode_png(picture, compress_level=6)
        from nbtrain.display.static import png_base64

        epochs = len(getattr(getattr(self.model, "history", None), "epoch", None) or [])
        text = f"Decision boundary of '{getattr(self.model, 'name', 'model')}' after {epochs} epochs"
        encoded = png_base64(png)
        self.record = {"text/plain": text, "image/png": encoded,
                       "text/html": (f'<div style="font-size:12px;opacity:0.85;margin:2px 0;">{text}</div>'
                                     f'<img alt="{text}" width="{self.size}" height="{self.size}" '
                                     f'src="data:image/png;base64,{encoded}"/>')}
        output = self._get_output()
        if self._handle is not None:
            output.update(self._handle, self.record)
        else:
            output.show(self.record)
        _close_widgets(widgets.values())
        self._handle = None
        output.settle()

    def _open(self) -> None:
        import ipywidgets as w

        side = f"{self.size}px"
        points_png = encode_png(self._overlay, compress_level=6)
        first = encode_png(self.render())
        boundary = w.Image(value=first, format="png", layout=w.Layout(width=side, height=side, grid_area="1 / 1"))
        points = w.Image(value=points_png, format="png",
                         layout=w.Layout(width=side, height=side, grid_area="1 / 1"))
        stack = w.GridBox([boundary, points], layout=w.Layout(width=side, height=side,
                                                              grid_template_columns=side, grid_template_rows=side))
        caption = w.HTML('<span style="font-size:12px;opacity:0.8;">starting\u2026</span>')
        box = w.VBox([caption, stack], _dom_classes=["nbtrain-boundary"])
        self._widgets = {"box": box, "boundary": boundary, "points": points, "stack": stack, "caption": caption}
        output = self._get_output()
        bundle = output.widget_bundle(box)
        bundle["text/plain"] = "Decision boundary (live while training; the picture appears here when it ends)"
        self._handle = output.show(bundle)

    def __repr__(self):
        return f"<DecisionBoundary {self.grid.resolution}x{self.grid.resolution} grid, {self.frames} frames>"


def _close_widgets(roots) -> None:
    """Close the widget models under ``roots`` (boxes, images, layouts, styles)."""
    if not roots:
        return
    from nbtrain.display.dashboard import widget_models

    for widget in widget_models(list(roots)):
        try:
            widget.close()
        except Exception:          # a comm the kernel already closed
            pass
