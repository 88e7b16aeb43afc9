"""History plots: the dashboard's live figure, the static record's PNG, ``plot_history`` and ``plot_histories``.

matplotlib is imported inside the functions, never when nbtrain is imported. The live figure uses the
object-oriented API with the Agg canvas (no pyplot), so it can be drawn from a background training thread.

Every metric family gets a panel, in a grid of at most three columns, so nothing is dropped. Sizes are chosen
so that no text is smaller than 9 px where a notebook shows the figure: every text is at least 9 points, drawn
at 72 dpi or more, in a figure no wider than an output area (:data:`DISPLAY_WIDTH_PX`), so it is never scaled
down. Colours read on light and dark notebook themes and in exported HTML: a transparent background, mid-grey
text and axes, and mid-luminance line colours.
"""

from __future__ import annotations

import base64
import io
import math

from nbtrain.display.format import best_index, format_metric, guess_direction, metric_families, pretty_name

TEXT_COLOR = "#7a7a7a"      # readable on white (4.3:1) and on JupyterLab's dark #111 (4.5:1)
# Line colours of mid luminance: at least 3:1 (WCAG's contrast for graphics) on white and on #111.
TRAIN_COLOR = "#4a90e2"
VAL_COLOR = "#dd7418"
# Tableau 10, each made lighter or darker where needed to keep 3:1 on both themes.
RUN_COLORS = ("#4a90e2", "#dd7418", "#e15759", "#59a14f", "#b07aa1", "#4e9e98", "#ad8a1a", "#d96f8a",
              "#9c755f", "#8f857f")
FONT_SIZE = 9               # points, for every text: 10 px at the live 80 dpi, 12.5 px at 100 dpi
TITLE_SIZE = 10
MIN_TEXT_PX = 9             # the smallest text a notebook may show, in CSS pixels
# Outputs wider than the output area are scaled down to fit (max-width: 100%), and their text with them. 848 px
# is what JupyterLab 4 leaves for an output in a 1280 px window with its file browser open (the browser test
# measures it); a figure at most 840 px wide is shown pixel for pixel there.
DISPLAY_WIDTH_PX = 840
MAX_COLUMNS = 3
# inches: at 100 dpi, 820 px, and 840 px with the 0.1 in the inline backend's tight bounding box adds each side
MAX_FIGURE_WIDTH = 8.2
INLINE_PAD = 0.1
LOG_DECADES = 2             # a loss spanning more than this many powers of ten gets a log axis (log=None)


# ----- shared styling and layout ------------------------------------------------------------------------------

def grid_shape(n_panels: int) -> tuple[int, int]:
    """``(rows, columns)`` of a grid holding ``n_panels`` panels: one row up to three, 2 x 2 for four, then
    three columns and as many rows as needed.

    Example:
        >>> grid_shape(5)
        (2, 3)
    """
    n = max(1, n_panels)
    columns = 2 if n == 4 else min(n, MAX_COLUMNS)
    return math.ceil(n / columns), columns


def style_axes(ax, title: str | None = None) -> None:
    """Mid-grey text, ticks and spines on a transparent background, legible on light and dark themes."""
    from matplotlib.ticker import MaxNLocator

    ax.patch.set_alpha(0.0)
    for spine in ax.spines.values():
        spine.set_color(TEXT_COLOR)
        spine.set_alpha(0.6)
    ax.tick_params(colors=TEXT_COLOR, labelsize=FONT_SIZE, length=3)
    ax.xaxis.label.set_color(TEXT_COLOR)
    ax.yaxis.label.set_color(TEXT_COLOR)
    ax.grid(True, color=TEXT_COLOR, alpha=0.2, linewidth=0.6)
    # Few ticks: every tick label is a text to lay out, and text is most of what a frame costs.
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    if title is not None:
        set_title(ax, title)


def set_title(ax, title: str) -> None:
    ax.set_title(title, color=TEXT_COLOR, fontsize=TITLE_SIZE, loc="left")


def label_epoch_axis(ax) -> None:
    ax.set_xlabel("epoch", color=TEXT_COLOR, fontsize=FONT_SIZE, labelpad=2)


def _legend(ax, loc="best") -> None:
    legend = ax.legend(fontsize=FONT_SIZE, frameon=False, loc=loc, handlelength=1.8)
    for text in legend.get_texts():
        text.set_color(TEXT_COLOR)


def is_loss_like(name: str, direction: str | None = None) -> bool:
    """Losses and errors (lower is better), the metrics whose curves may span several powers of ten."""
    name = pretty_name(name)
    return name == "loss" or name.endswith("_loss") or (direction or guess_direction(name)) == "down"


def wants_log_scale(values, loss_like: bool, log: bool | None) -> bool:
    """Whether a panel's y axis is logarithmic: ``log`` when given, else a loss-like metric whose positive
    values span more than :data:`LOG_DECADES` powers of ten (10 to 0.01 does; 1.0 to 0.5 does not).

    Example:
        >>> wants_log_scale([10.0, 1.0, 0.01], True, None), wants_log_scale([1.0, 0.5], True, None)
        (True, False)
    """
    if log is not None:
        return log
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not loss_like or not finite or min(finite) <= 0:
        return False
    return max(finite) / min(finite) > 10 ** LOG_DECADES


def check_log_argument(log) -> None:
    if log is not None and not isinstance(log, bool):
        raise TypeError(f"log must be None (a log axis for losses spanning more than {LOG_DECADES} powers of ten), "
                        f"True (log axes) or False (linear axes); got {log!r}.")


def apply_y_scale(ax, log_scale: bool) -> None:
    """Set the y scale, with plain tick labels on a log axis (``0.01``, not mathtext ``10^-2``, which is
    slower to draw and smaller to read)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    scale = "log" if log_scale else "linear"
    if ax.get_yscale() == scale:
        return
    ax.set_yscale(scale)
    if log_scale:
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=5))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.tick_params(colors=TEXT_COLOR, labelsize=FONT_SIZE, length=3)


def text_sizes_px(fig, shown_width_px: float = DISPLAY_WIDTH_PX) -> list[tuple[str, float]]:
    """``(text, size in CSS pixels)`` of every visible, non-empty text of ``fig`` when shown in an output
    ``shown_width_px`` wide (wider figures are scaled down to fit). Used by the tests of readability."""
    from matplotlib.text import Text

    width_px = fig.get_figwidth() * fig.dpi
    scale = min(1.0, shown_width_px / width_px)
    sizes = []
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text() and (text.axes is None or text.axes.get_visible()):
            sizes.append((text.get_text(), text.get_fontsize() * fig.dpi / 72 * scale))
    return sizes


def figure_png(fig, dpi: float | None = None, colors: int | None = None) -> bytes:
    """PNG bytes of a figure, drawn with the Agg canvas whatever the pyplot backend.

    Args:
        fig: a matplotlib Figure.
        dpi: resolution; default the figure's.
        colors: reduce to a palette of this many colours (smaller PNG), or None for full RGBA.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    if colors is None:
        buffer = io.BytesIO()
        # No "Software" tag: the same history gives the same bytes whatever the matplotlib version.
        fig.savefig(buffer, format="png", dpi=dpi or fig.dpi, metadata={"Software": None})
        return buffer.getvalue()
    if dpi and dpi != fig.dpi:
        fig.set_dpi(dpi)
    fig.canvas.draw()
    return rgba_png(fig.canvas.buffer_rgba(), colors)


def rgba_png(rgba, colors: int) -> bytes:
    """A palette PNG of an RGBA buffer: about a third of the bytes of RGBA for a line plot, and quicker to
    encode; compression level 3 is nearly as small as the default 6 at half the time."""
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.fromarray(np.asarray(rgba))
    image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE).save(buffer, format="png", compress_level=3)
    return buffer.getvalue()


def png_base64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


# ----- the live (and final) figure of a run -------------------------------------------------------------------

# The live figure's geometry, in inches (so that the record, drawn at another dpi, has the same layout).
CELL_WIDTH = 2.75           # three columns: 660 px at 80 dpi, 825 px at 100 dpi
CELL_HEIGHT = 2.1
TOP_STRIP = 0.3             # the legend (left) and the epoch stamp (right) above the panels
AXES_MARGINS = {"left": 0.55, "right": 0.15, "top": 0.28, "bottom": 0.48}   # inside each cell: ticks, title, label
MAX_TITLE = 28              # characters: a longer title would run into the next panel's cell


def nice_limits(low: float, high: float, log_scale: bool, pad: float = 0.1) -> tuple[float, float]:
    """Axis limits around ``[low, high]`` (widened by ``pad`` times its span) rounded out to ticks, so that
    the next epochs usually fall inside them and the axes (their tick labels: the costly part of a frame) need
    no redraw.

    Example:
        >>> nice_limits(0.31, 0.69, False)
        (0.2, 0.8)
    """
    if log_scale:
        return 10.0 ** math.floor(math.log10(low)), 10.0 ** math.ceil(math.log10(high))
    from matplotlib.ticker import MaxNLocator

    margin = pad * (high - low) if high > low else max(abs(high) * 0.05, 0.05)
    ticks = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(low - margin, high + margin)
    return round(float(ticks[0]), 12), round(float(ticks[-1]), 12)


def live_limits(current, low: float, high: float, log_scale: bool, direction: str | None) -> tuple[float, float]:
    """The y limits of a live panel: ``current`` while the data fit in them, else new :func:`nice_limits`.

    A live frame is cheap only while the axes need no redraw, so the limits move as rarely as possible: a
    positive loss or error axis starts at 0 and a score within [0, 1] (accuracy, AUC) ends at 1, the side the
    curve is heading to, so only its first epochs set the other side. Other metrics keep their limits until the
    data leave them or fill less than a third of them.

    Args:
        current: the limits drawn so far (on the same scale), or None.
        low, high: the smallest and largest value to show.
        log_scale: the axis is logarithmic (limits are whole powers of ten).
        direction: ``"down"`` when lower is better, ``"up"`` when higher is, else None.

    Example:
        >>> live_limits(None, 0.3, 2.3, False, "down")
        (0.0, 2.5)
    """
    inside = current is not None and current[0] <= low and high <= current[1]
    if log_scale:
        return current if inside else nice_limits(low, high, True)
    floor_at_zero = direction == "down" and low >= 0
    ceiling_at_one = direction == "up" and 0 <= low and high <= 1
    if inside and (floor_at_zero or ceiling_at_one or high - low >= (current[1] - current[0]) / 3):
        return current
    if floor_at_zero:
        # a little room above the first epochs, which set the top, so they do not sit on the frame
        return nice_limits(0.0, high * 1.05, False, pad=0.0)
    if ceiling_at_one:
        bottom, _ = nice_limits(low - 0.05 * (1 - low), 1.0, False, pad=0.0)
        return bottom, 1.0 + 0.03 * (1.0 - bottom)     # a little room, so that a point at 1.0 shows whole
    return nice_limits(low, high, False)


class _Panel:
    """One metric family's axes in the live figure: its lines, its best-epoch star and what was last drawn."""

    def __init__(self, ax, family: str, train_key: str | None, val_key: str | None, direction: str | None):
        self.ax = ax
        self.family = family
        self.keys = {"train": train_key, "val": val_key}
        self.direction = direction
        self.loss_like = is_loss_like(family, direction)
        self.lines = {}
        for role, key, color, style in (("train", train_key, TRAIN_COLOR, "-"), ("val", val_key, VAL_COLOR, "--")):
            if key:
                self.lines[role] = ax.plot([], [], color=color, linewidth=1.6, linestyle=style, marker="o",
                                           markersize=2.5, animated=True)[0]
        self.best = ax.plot([], [], linestyle="none", marker="*", markersize=9, color=VAL_COLOR if val_key else
                            TRAIN_COLOR, markeredgecolor=TEXT_COLOR, markeredgewidth=0.5, animated=True)[0]
        self.drawn = None           # (x limits, y limits, log scale, title) the axes were last drawn with
        self.limits = None

    def artists(self) -> list:
        return [*self.lines.values(), self.best]

    def update(self, state, xlim, log) -> bool:
        """Move the lines to ``state``'s history; True when the axes themselves must be redrawn."""
        values = []
        for role, line in self.lines.items():
            xs, ys = state.series(self.keys[role])
            line.set_data(xs, ys)
            line.set_marker("o" if len(xs) <= 30 else "")
            values += ys
        best_key = self.keys["val"] or self.keys["train"]
        found = state.best(best_key)
        self.best.set_data(*(([found[0]], [found[1]]) if found else ([], [])))
        # the best value and its epoch are in the metrics table beside the plot; a title holding them too
        # would not fit a panel's width
        title = pretty_name(self.family)
        title = title if len(title) <= MAX_TITLE else title[:MAX_TITLE - 1] + "\u2026"
        finite = [v for v in values if math.isfinite(v)] or [0.0]
        # a log axis cannot show zero or less: such a panel stays linear whatever ``log`` says
        log_scale = min(finite) > 0 and wants_log_scale(finite, self.loss_like, log)
        current = self.limits if self.drawn and self.drawn[2] == log_scale else None
        self.limits = live_limits(current, min(finite), max(finite), log_scale, self.direction)
        wanted = (xlim, self.limits, log_scale, title)
        if wanted == self.drawn:
            return False
        apply_y_scale(self.ax, log_scale)
        self.ax.set_xlim(*xlim)
        self.ax.set_ylim(*self.limits)
        if self.ax.get_title(loc="left") != title:
            set_title(self.ax, title)
        self.drawn = wanted
        return True


class HistoryPlot:
    """The figure of one run, drawn again after each epoch at a small, steady cost.

    One panel per metric family (loss, accuracy, ...; a grid of up to three columns, none dropped), training
    solid, validation dashed, the best epoch starred, and the epoch shown stamped at the top right (and kept in
    :attr:`epoch`). Losses spanning more than two powers of ten get a log axis.

    A frame costs little because the figure is built once and only what changed is drawn: the axes (frames,
    ticks, titles; text is what costs) are drawn into a kept background when their limits change, which the
    rounded, sticky limits make rare; every frame copies that background and draws the lines, stars and stamp
    on it (``set_data`` on animated artists, matplotlib's blitting), then encodes a palette PNG.
    ``benchmarks/bench_plot_frame.py`` measures it.

    The interface the live displays use:

    * ``prepare(state) -> bool``: builds the figure (and draws its axes once) when the run has a finished
      epoch. A one-time cost (importing matplotlib, loading fonts): call it outside the timed part of a frame,
      at an epoch end. ``update`` calls it too when it was not called.
    * ``update(state, final=False) -> bool``: moves the lines to ``state``'s history and sets :attr:`epoch`;
      False when there is nothing to plot yet. ``final=True`` (the record): the x axis ends at the last epoch
      run, not the last planned.
    * ``png(dpi=None, colors=64) -> bytes``: the frame. At another dpi than the live one (the record's), the
      whole figure is drawn at that dpi.
    * ``close()``: forget the figure.

    Args:
        dpi: resolution of the live frames; 80 keeps one small (about 10-20 KB as a palette PNG) and its
            9-point text 10 px high.
        log: the y scale of loss panels: None (log when a loss spans more than two powers of ten), True (log for
            every panel with positive values), False (linear).

    Attributes:
        epoch: the 1-based epoch of the last point drawn (None before the first), to show beside the plot.
        epochs: the last epoch planned, for "epoch 7/30".

    Example:
        >>> plot = HistoryPlot()                                  # doctest: +SKIP
        >>> plot.prepare(state)                                   # doctest: +SKIP
        >>> plot.update(state); png = plot.png(); plot.epoch      # doctest: +SKIP
        7
    """

    def __init__(self, dpi: float = 80, log: bool | None = None):
        check_log_argument(log)
        self.dpi = dpi
        self.log = log
        self.figure = None
        self.epoch = None
        self.epochs = None
        self._families = None
        self._panels = []
        self._stamp = None
        self._background = None     # the RGBA pixels of the axes without the animated artists
        self._stale = set()         # panels whose axes must be redrawn into the background

    # ----- building -----------------------------------------------------------------------------------------
    def prepare(self, state) -> bool:
        """Build the figure for ``state``'s metrics (again only if a new metric appears); True when ready."""
        families = state.families() if state.epoch_logs else []
        if not families:
            return False
        if families != self._families:
            self._build(families, state)
            self._move(state, final=False)
            self._render_live()     # the first draw lays out every axes and loads the fonts: one-time costs
        return True

    def _build(self, families, state) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        rows, columns = grid_shape(len(families))
        width, height = CELL_WIDTH * columns, TOP_STRIP + CELL_HEIGHT * rows
        fig = Figure(figsize=(width, height), dpi=self.dpi)
        FigureCanvasAgg(fig)
        fig.patch.set_alpha(0.0)
        self._panels = []
        for i, (family, train_key, val_key) in enumerate(families):
            ax = fig.add_axes(self._axes_rect(i, rows, columns))
            style_axes(ax, pretty_name(family))
            if i + columns >= len(families):        # the lowest panel of its column
                label_epoch_axis(ax)
            self._panels.append(_Panel(ax, family, train_key, val_key, state.direction(family)))
        self._add_legend(fig, families)
        self._stamp = fig.text(1 - 0.1 / width, 1 - 0.06 / height, "", ha="right", va="top", color=TEXT_COLOR,
                               fontsize=FONT_SIZE, animated=True)
        self.figure = fig
        self._families = families
        self._background = None
        self._stale = set(range(len(self._panels)))

    def _axes_rect(self, index: int, rows: int, columns: int) -> list[float]:
        """``[left, bottom, width, height]`` in figure fractions of panel ``index``'s axes inside its cell."""
        width, height = CELL_WIDTH * columns, TOP_STRIP + CELL_HEIGHT * rows
        row, column = divmod(index, columns)
        left = column * CELL_WIDTH + AXES_MARGINS["left"]
        top = TOP_STRIP + row * CELL_HEIGHT + AXES_MARGINS["top"]
        axes_width = CELL_WIDTH - AXES_MARGINS["left"] - AXES_MARGINS["right"]
        axes_height = CELL_HEIGHT - AXES_MARGINS["top"] - AXES_MARGINS["bottom"]
        return [left / width, 1 - (top + axes_height) / height, axes_width / width, axes_height / height]

    def _add_legend(self, fig, families) -> None:
        """One legend for all panels, in the strip above them, where it never hides a curve."""
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=TRAIN_COLOR, linewidth=1.6, label="train")]
        if any(val_key for _, _, val_key in families):
            handles.append(Line2D([], [], color=VAL_COLOR, linewidth=1.6, linestyle="--", label="validation"))
        handles.append(Line2D([], [], linestyle="none", marker="*", markersize=9, color=TEXT_COLOR, label="best"))
        height = fig.get_figheight()
        legend = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, 1 - 0.02 / height),
                            ncols=len(handles), frameon=False, fontsize=FONT_SIZE, handlelength=1.8,
                            borderaxespad=0.2, columnspacing=1.2)
        for text in legend.get_texts():
            text.set_color(TEXT_COLOR)

    # ----- frames -------------------------------------------------------------------------------------------
    def update(self, state, final: bool = False) -> bool:
        """Move the lines to the history in ``state``; False when there is nothing to plot yet."""
        if not self.prepare(state):
            return False
        self._move(state, final)
        return True

    def _move(self, state, final: bool) -> None:
        first = (state.first_epoch or 0) + 1
        last_done = state.epoch_indices[-1] + 1
        last_planned = state.epochs
        right = last_done if final else max(last_planned, last_done)
        xlim = (first - 0.3, max(right, first + 1) + 0.3)
        for i, panel in enumerate(self._panels):
            if panel.update(state, xlim, self.log):
                self._stale.add(i)
        self.epoch, self.epochs = last_done, max(last_planned, last_done)
        self._stamp.set_text(f"epoch {self.epoch}/{self.epochs}")

    def png(self, dpi: float | None = None, colors: int = 64) -> bytes:
        """The current frame as a palette PNG (64 colours are plenty for a few lines and grey text)."""
        if dpi and dpi != self.dpi:
            return self._full_png(dpi, colors)
        self._render_live()
        return rgba_png(self.figure.canvas.buffer_rgba(), colors)

    def _render_live(self) -> None:
        """Draw a frame into the canvas: the kept background (its stale axes redrawn), then the animated parts."""
        import numpy as np

        canvas = self.figure.canvas
        if self._background is None:
            canvas.draw()                            # everything but the animated artists
            self._stale.clear()
            self._background = np.array(canvas.buffer_rgba())
        pixels = np.asarray(canvas.buffer_rgba())
        pixels[...] = self._background
        if self._stale:
            renderer = canvas.get_renderer()
            for i in sorted(self._stale):
                pixels[self._cell_pixels(i)] = 0     # transparent, as the figure's background
                self._panels[i].ax.draw(renderer)
            self._stale.clear()
            self._background = pixels.copy()
        for panel in self._panels:
            for artist in panel.artists():
                panel.ax.draw_artist(artist)
        self.figure.draw_artist(self._stamp)

    def _cell_pixels(self, index: int):
        """The rows and columns of pixels of panel ``index``'s cell (its axes, tick labels and title)."""
        columns = grid_shape(len(self._panels))[1]
        row, column = divmod(index, columns)
        dpi = self.figure.dpi
        top = round((TOP_STRIP + row * CELL_HEIGHT) * dpi)
        left = round(column * CELL_WIDTH * dpi)
        return slice(top, round(top + CELL_HEIGHT * dpi)), slice(left, round(left + CELL_WIDTH * dpi))

    def _full_png(self, dpi: float, colors: int) -> bytes:
        """The whole figure drawn at ``dpi`` (the record), the animated artists included."""
        artists = [self._stamp] + [a for panel in self._panels for a in panel.artists()]
        for artist in artists:
            artist.set_animated(False)
        try:
            return figure_png(self.figure, dpi, colors)
        finally:
            for artist in artists:
                artist.set_animated(True)
            self.figure.set_dpi(self.dpi)
            self._background = None

    def close(self) -> None:
        self.figure = None
        self._panels = []
        self._families = None
        self._background = None
        self._stamp = None


# ----- plots after training -----------------------------------------------------------------------------------

_FIGURE_CLASS = None


def _figure_class():
    """A Figure subclass that notebooks show once even when it is the cell's last expression."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure

        class HistoryFigure(Figure):
            """A matplotlib Figure made by :func:`plot_history` or :func:`plot_histories`."""

            def _repr_mimebundle_(self, include=None, exclude=None):
                # With the inline backend a pyplot figure returned as a cell's last expression is shown twice:
                # once as the result and once when the cell ends. Closing it here (pyplot forgets it, the object
                # lives on) leaves only the result; IPython's usual formatters then draw it as normal.
                import matplotlib

                if "inline" in str(matplotlib.get_backend()).lower():
                    import matplotlib.pyplot as plt

                    plt.close(self)
                return None

        _FIGURE_CLASS = HistoryFigure
    return _FIGURE_CLASS


def static_figure_size(rows: int, columns: int) -> tuple[float, float]:
    """Inches of a ``plot_history`` figure: panels up to 4.6 in wide, the whole at most
    :data:`MAX_FIGURE_WIDTH` so that a notebook shows it unscaled at up to 100 dpi."""
    return min(4.6 * columns, MAX_FIGURE_WIDTH), (3.0 if rows == 1 else 2.6) * rows


def _new_figure(n_panels: int):
    import matplotlib.pyplot as plt

    rows, columns = grid_shape(n_panels)
    fig = plt.figure(figsize=static_figure_size(rows, columns), FigureClass=_figure_class(), layout="constrained")
    # Transparent: the inline backend saves with the figure's facecolor, so the notebook's own background
    # (white, or #111 in a dark theme) shows through.
    fig.patch.set_alpha(0.0)
    axes = list(fig.subplots(rows, columns, squeeze=False).flat)
    for spare in axes[n_panels:]:
        spare.remove()
    return fig, axes[:n_panels]


def _history_dict(history) -> tuple[dict, list[int] | None]:
    """``(key -> values, epoch indices or None)`` from a History, a model, or a plain dict."""
    if hasattr(history, "history") and not isinstance(history, dict):
        inner = history.history
        if hasattr(inner, "history") and not isinstance(inner, dict):   # a model: model.history is a History
            return _history_dict(inner)
        epochs = list(getattr(history, "epoch", []) or []) or None
        return dict(inner), epochs
    if isinstance(history, dict):
        return dict(history), None
    raise TypeError(
        f"Expected a History (what fit() returns), a model, or a dict of lists such as history.history, "
        f"got {type(history).__name__}."
    )


def _x_values(values, epochs) -> list[int]:
    """1-based epochs for one series; a shorter (validation_freq) series is spread evenly over the epochs."""
    n = len(values)
    if epochs is None:
        return list(range(1, n + 1))
    total = len(epochs)
    if n == total:
        return [e + 1 for e in epochs]
    if n == 0:
        return []
    return [epochs[max(0, round((i + 1) * total / n) - 1)] + 1 for i in range(n)]


def _choose_families(keys, metrics) -> list[tuple[str, str | None, str | None]]:
    families = metric_families(keys)
    if metrics is None:
        return families
    wanted = [metrics] if isinstance(metrics, str) else list(metrics)
    by_name = {family[0]: family for family in families}
    chosen = []
    for name in wanted:
        family = by_name.get(pretty_name(str(name)))
        if family is None:
            raise ValueError(f"No metric {name!r} in this history; it has {', '.join(by_name) or 'nothing'}.")
        if family not in chosen:
            chosen.append(family)
    return chosen


def _target_axes(ax, n: int):
    """``(new figure or None, one Axes per panel)``; given Axes each get the "epoch" label."""
    if ax is None:
        fig, axes = _new_figure(n)
        columns = grid_shape(n)[1]
        for i, axis in enumerate(axes):
            if i + columns >= n:                    # the lowest panel of its column
                label_epoch_axis(axis)
        return fig, axes
    axes = list(ax) if isinstance(ax, (list, tuple)) or hasattr(ax, "flat") else [ax]
    axes = list(getattr(ax, "flat", axes))
    if len(axes) != n:
        raise ValueError(f"Got {len(axes)} Axes for {n} metrics. Pass one Axes per metric, or choose the "
                         f"metrics, e.g. metrics=['loss'].")
    for axis in axes:
        label_epoch_axis(axis)
    return None, axes


def _direction_of(family: str) -> str | None:
    return "down" if is_loss_like(family) else guess_direction(family)


def _scale_panel(axis, family: str, values, log) -> None:
    """The panel's y scale from ``log`` (see :func:`plot_history`); an error names a metric a log axis cannot
    show."""
    if log and any(v <= 0 for v in values if math.isfinite(v)):
        raise ValueError(f"log=True needs positive values, but {family!r} has {min(values):g}. Choose the "
                         f"metrics to plot on log axes with metrics=[...], or use log=None (automatic).")
    apply_y_scale(axis, wants_log_scale(values, is_loss_like(family), log))


def plot_history(history, metrics=None, ax=None, log=None):
    """Plot a training history: one panel per metric, training solid, validation dashed, best epoch starred.

    The figure has a transparent background and grey text, so it reads on light and dark notebook themes.

    Args:
        history: what ``fit`` returns (a History), a model that was fitted, or a dict such as
            ``history.history``.
        metrics: metric names to plot (``"loss"``, ``["loss", "accuracy"]``); default all, in a grid of up
            to three columns. ``val_`` curves come with their metric.
        ax: a matplotlib Axes (one metric) or a list of Axes (one per metric) to draw into; default a new
            figure.
        log: y axes on a log scale: None (default) for losses and errors spanning more than two powers of
            ten, True for every panel (their values must be positive), False for none.

    Returns:
        The new matplotlib Figure, or ``ax`` when given. Never calls ``plt.show()``.

    Example:
        >>> history = model.fit(x, y, epochs=10, validation_split=0.2, verbose=0)  # doctest: +SKIP
        >>> fig = nbtrain.plot_history(history, log=True)                            # doctest: +SKIP
        >>> fig.savefig("history.png")                                              # doctest: +SKIP
    """
    check_log_argument(log)
    data, epochs = _history_dict(history)
    families = _choose_families(data, metrics)
    if not families:
        raise ValueError("This history has no epochs to plot yet: train with fit() first.")
    fig, axes = _target_axes(ax, len(families))
    for axis, (family, train_key, val_key) in zip(axes, families):
        style_axes(axis, pretty_name(family))
        best_key = val_key or train_key
        values = []
        for key, color, style, label in ((train_key, TRAIN_COLOR, "-", "train"),
                                         (val_key, VAL_COLOR, "--", "validation")):
            if key is None:
                continue
            xs = _x_values(data[key], epochs)
            axis.plot(xs, data[key], color=color, linestyle=style, linewidth=1.6, label=label,
                      marker="o" if len(xs) <= 30 else None, markersize=2.5)
            values += [float(v) for v in data[key]]
            if key == best_key:
                _mark_best(axis, xs, data[key], _direction_of(family), color)
        _scale_panel(axis, family, values, log)
        _legend(axis)
    return fig if fig is not None else ax


def _mark_best(axis, xs, ys, direction, color) -> None:
    i = best_index(list(ys), direction)
    if i is not None:
        axis.plot([xs[i]], [ys[i]], linestyle="none", marker="*", markersize=10, color=color,
                  markeredgecolor=TEXT_COLOR, markeredgewidth=0.5, label=f"best {format_metric(ys[i])} (epoch {xs[i]})")


def plot_histories(histories: dict, metrics=None, ax=None, validation: bool = True, log=None):
    """Compare runs: one panel per metric, one colour per run, training solid and validation dashed.

    Args:
        histories: ``{"sgd": history_1, "adam": history_2}``; values as for :func:`plot_history`.
        metrics: metric names to plot; default the ones every run has.
        ax: an Axes or a list of Axes (one per metric); default a new figure.
        validation: also draw the ``val_`` curves when present.
        log: y axes on a log scale: None (default) for losses spanning more than two powers of ten, True for
            every panel, False for none (as in :func:`plot_history`).

    Returns:
        The new matplotlib Figure, or ``ax`` when given. Never calls ``plt.show()``.

    Example:
        >>> fig = nbtrain.plot_histories({"sgd": h_sgd, "adam": h_adam}, metrics="loss")  # doctest: +SKIP
    """
    check_log_argument(log)
    if not isinstance(histories, dict) or not histories:
        raise TypeError("plot_histories() takes a dict of named runs, e.g. {'sgd': history_1, 'adam': history_2}.")
    runs = {str(name): _history_dict(h) for name, h in histories.items()}
    common = None
    for data, _ in runs.values():
        names = [family[0] for family in metric_families(data)]
        common = names if common is None else [n for n in common if n in names]
    all_keys = [k for data, _ in runs.values() for k in data]
    families = [f for f in _choose_families(all_keys, metrics) if metrics is not None or f[0] in (common or [])]
    if not families:
        raise ValueError("These histories share no metric to compare; choose one with metrics=[...].")
    fig, axes = _target_axes(ax, len(families))
    for axis, (family, _, _) in zip(axes, families):
        style_axes(axis, pretty_name(family))
        values = []
        for (name, (data, epochs)), color in zip(runs.items(), _cycle(RUN_COLORS)):
            for key, style, suffix in ((family, "-", ""), (f"val_{family}", "--", " (val)")):
                if key not in data or (suffix and not validation):
                    continue
                xs = _x_values(data[key], epochs)
                axis.plot(xs, data[key], color=color, linestyle=style, linewidth=1.5, label=name + suffix)
                values += [float(v) for v in data[key]]
        _scale_panel(axis, family, values, log)
        _legend(axis)
    return fig if fig is not None else ax


def _cycle(colors):
    while True:
        yield from colors
