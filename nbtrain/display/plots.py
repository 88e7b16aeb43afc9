"""History plots: the dashboard's live figure, the static record's PNG, ``plot_history`` and ``plot_histories``.

matplotlib is imported inside the functions, never when nbtrain is imported. The live figure uses the
object-oriented API with the Agg canvas (no pyplot), so it can be drawn from a background training thread.

Colours are chosen to read on light and dark notebook themes: a transparent background, mid-grey text and
axes, and mid-luminance line colours.
"""

from __future__ import annotations

import base64
import io

from nbtrain.display.format import format_metric, metric_families, pretty_name

TEXT_COLOR = "#7a7a7a"      # readable on white (4.3:1) and on JupyterLab's dark #111 (4.5:1)
TRAIN_COLOR = "#4a90e2"
VAL_COLOR = "#f28e2b"
# Tableau 10 with a lighter blue first: distinct, and none too dark for a dark theme.
RUN_COLORS = ("#4a90e2", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
              "#9c755f", "#bab0ac")
PANEL_WIDTH = 3.3           # inches per metric panel
PANEL_HEIGHT = 2.4
MAX_PANELS = 4


# ----- shared styling ---------------------------------------------------------------------------------------

def style_axes(ax, title: str | None = None) -> None:
    """Mid-grey text, ticks and spines on a transparent background, legible on light and dark themes."""
    ax.patch.set_alpha(0.0)
    for spine in ax.spines.values():
        spine.set_color(TEXT_COLOR)
        spine.set_alpha(0.6)
    ax.tick_params(colors=TEXT_COLOR, labelsize=8, length=3)
    ax.xaxis.label.set_color(TEXT_COLOR)
    ax.yaxis.label.set_color(TEXT_COLOR)
    ax.grid(True, color=TEXT_COLOR, alpha=0.2, linewidth=0.6)
    from matplotlib.ticker import MaxNLocator

    # Few ticks: every tick label is a text to lay out on each live frame.
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    if title is not None:
        ax.set_title(title, color=TEXT_COLOR, fontsize=9, loc="left")


def _legend(ax, loc="best") -> None:
    legend = ax.legend(fontsize=7, frameon=False, loc=loc, handlelength=1.8)
    for text in legend.get_texts():
        text.set_color(TEXT_COLOR)


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
    buffer = io.BytesIO()
    if colors is None:
        # No "Software" tag: the same history gives the same bytes whatever the matplotlib version.
        fig.savefig(buffer, format="png", dpi=dpi or fig.dpi, metadata={"Software": None})
        return buffer.getvalue()
    # A palette PNG: about a third of the bytes of RGBA for a line plot, and quicker to encode.
    import numpy as np
    from PIL import Image

    if dpi and dpi != fig.dpi:
        fig.set_dpi(dpi)
    fig.canvas.draw()
    image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba()))
    image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE).save(buffer, format="png")
    return buffer.getvalue()


def png_base64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


# ----- the live (and final) figure of a run -------------------------------------------------------------------

class HistoryPlot:
    """One figure per run whose lines are updated in place (``set_data``) as epochs finish.

    One panel per metric family (loss, accuracy, ...) with the training curve solid, the validation curve
    dashed, and the best epoch starred. The figure is built once; later updates only move data, rescale and
    re-render, and the figure is rebuilt only if a new metric family appears.

    Args:
        dpi: resolution of the live frames; 80 keeps one small (about 10-15 KB as a palette PNG).
        max_panels: metric families shown (the first ones: loss first).

    Example:
        >>> plot = HistoryPlot()                      # doctest: +SKIP
        >>> plot.update(state); png = plot.png()      # doctest: +SKIP
    """

    def __init__(self, dpi: float = 80, max_panels: int = MAX_PANELS):
        self.dpi = dpi
        self.max_panels = max_panels
        self.figure = None
        self._families = None
        self._artists = {}

    def _build(self, families) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self._families = families
        n = max(1, len(families))
        fig = Figure(figsize=(PANEL_WIDTH * n, PANEL_HEIGHT), dpi=self.dpi)
        FigureCanvasAgg(fig)
        fig.patch.set_alpha(0.0)
        # Fixed margins: a layout engine would re-measure every text on every frame.
        width = PANEL_WIDTH * n
        fig.subplots_adjust(left=0.5 / width, right=1 - 0.15 / width, bottom=0.12, top=0.87, wspace=0.3)
        axes = fig.subplots(1, n, squeeze=False)[0]
        self._artists = {}
        for ax, (family, train_key, val_key) in zip(axes, families):
            style_axes(ax, pretty_name(family))
            lines = {}
            if train_key:
                lines["train"] = ax.plot([], [], color=TRAIN_COLOR, linewidth=1.6, label="train")[0]
            if val_key:
                lines["val"] = ax.plot([], [], color=VAL_COLOR, linewidth=1.6, linestyle="--", label="validation")[0]
            best = ax.plot([], [], linestyle="none", marker="*", markersize=9, color=VAL_COLOR if val_key else
                           TRAIN_COLOR, markeredgecolor=TEXT_COLOR, markeredgewidth=0.5)[0]
            if not self._artists:
                # one legend for all panels, at a fixed place ("best" would search for a spot on every frame)
                _legend(ax, loc="upper right")
            self._artists[family] = (ax, lines, best, train_key, val_key)
        self.figure = fig

    def update(self, state, final: bool = False) -> bool:
        """Move the lines to the history in ``state``; False when there is nothing to plot yet."""
        families = state.families()[: self.max_panels]
        if not state.epoch_logs or not families:
            return False
        if families != self._families:
            self._build(families)
        first = (state.first_epoch or 0) + 1
        last_planned = first + state.epochs - 1 - (state.first_epoch or 0)
        for family, (ax, lines, best, train_key, val_key) in self._artists.items():
            for role, key in (("train", train_key), ("val", val_key)):
                if role in lines:
                    xs, ys = state.series(key)
                    lines[role].set_data(xs, ys)
                    lines[role].set_marker("o" if len(xs) <= 30 else "")
                    lines[role].set_markersize(2.5)
            best_key = val_key or train_key
            found = state.best(best_key) if best_key else None
            best.set_data([found[0]], [found[1]]) if found else best.set_data([], [])
            title = pretty_name(family)
            if found:
                title += f"   \u2605 best {format_metric(found[1])} (epoch {found[0]})"
            if ax.get_title(loc="left") != title:
                ax.set_title(title, color=TEXT_COLOR, fontsize=9, loc="left")
            ax.relim()
            ax.autoscale_view(scalex=False)
            right = state.epoch_indices[-1] + 1 if final else max(last_planned, state.epoch_indices[-1] + 1)
            ax.set_xlim(first - 0.3, max(right, first + 1) + 0.3)
        return True

    def png(self, dpi: float | None = None, colors: int = 64) -> bytes:
        """The current frame as a palette PNG (64 colours are plenty for a few lines and grey text)."""
        return figure_png(self.figure, dpi or self.dpi, colors=colors)

    def close(self) -> None:
        self.figure = None
        self._artists = {}
        self._families = None


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


def _new_figure(n_panels: int):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(PANEL_WIDTH * 1.25 * n_panels, PANEL_HEIGHT * 1.35),
                     FigureClass=_figure_class(), layout="constrained")
    axes = fig.subplots(1, n_panels, squeeze=False)[0]
    return fig, list(axes)


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
    if ax is None:
        return _new_figure(n)
    axes = list(ax) if isinstance(ax, (list, tuple)) or hasattr(ax, "flat") else [ax]
    axes = list(getattr(ax, "flat", axes))
    if len(axes) != n:
        raise ValueError(f"Got {len(axes)} Axes for {n} metrics. Pass one Axes per metric, or choose the "
                         f"metrics, e.g. metrics=['loss'].")
    return None, axes


def _direction_of(family: str) -> str | None:
    from nbtrain.display.format import guess_direction

    return "down" if family == "loss" or family.endswith("_loss") else guess_direction(family)


def plot_history(history, metrics=None, ax=None):
    """Plot a training history: one panel per metric, training solid, validation dashed, best epoch starred.

    Args:
        history: what ``fit`` returns (a History), a model that was fitted, or a dict such as
            ``history.history``.
        metrics: metric names to plot (``"loss"``, ``["loss", "accuracy"]``); default all. ``val_`` curves
            come with their metric.
        ax: a matplotlib Axes (one metric) or a list of Axes (one per metric) to draw into; default a new
            figure.

    Returns:
        The new matplotlib Figure, or ``ax`` when given. Never calls ``plt.show()``.

    Example:
        >>> history = model.fit(x, y, epochs=10, validation_split=0.2, verbose=0)  # doctest: +SKIP
        >>> fig = nbtrain.plot_history(history)                                      # doctest: +SKIP
        >>> fig.savefig("history.png")                                              # doctest: +SKIP
    """
    data, epochs = _history_dict(history)
    families = _choose_families(data, metrics)
    if not families:
        raise ValueError("This history has no epochs to plot yet: train with fit() first.")
    fig, axes = _target_axes(ax, len(families))
    for axis, (family, train_key, val_key) in zip(axes, families):
        style_axes(axis, pretty_name(family))
        axis.set_xlabel("epoch")
        best_key = val_key or train_key
        for key, color, style, label in ((train_key, TRAIN_COLOR, "-", "train"),
                                         (val_key, VAL_COLOR, "--", "validation")):
            if key is None:
                continue
            xs = _x_values(data[key], epochs)
            axis.plot(xs, data[key], color=color, linestyle=style, linewidth=1.6, label=label,
                      marker="o" if len(xs) <= 30 else None, markersize=2.5)
            if key == best_key:
                _mark_best(axis, xs, data[key], _direction_of(family), color)
        _legend(axis)
    return fig if fig is not None else ax


def _mark_best(axis, xs, ys, direction, color) -> None:
    from nbtrain.display.format import best_index

    i = best_index(list(ys), direction)
    if i is not None:
        axis.plot([xs[i]], [ys[i]], linestyle="none", marker="*", markersize=10, color=color,
                  markeredgecolor=TEXT_COLOR, markeredgewidth=0.5, label=f"best {format_metric(ys[i])} (epoch {xs[i]})")


def plot_histories(histories: dict, metrics=None, ax=None, validation: bool = True):
    """Compare runs: one panel per metric, one colour per run, training solid and validation dashed.

    Args:
        histories: ``{"sgd": history_1, "adam": history_2}``; values as for :func:`plot_history`.
        metrics: metric names to plot; default the ones every run has.
        ax: an Axes or a list of Axes (one per metric); default a new figure.
        validation: also draw the ``val_`` curves when present.

    Returns:
        The new matplotlib Figure, or ``ax`` when given. Never calls ``plt.show()``.

    Example:
        >>> fig = nbtrain.plot_histories({"sgd": h_sgd, "adam": h_adam}, metrics="loss")  # doctest: +SKIP
    """
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
        axis.set_xlabel("epoch")
        for (name, (data, epochs)), color in zip(runs.items(), _cycle(RUN_COLORS)):
            for key, style, suffix in ((family, "-", ""), (f"val_{family}", "--", " (val)")):
                if key not in data or (suffix and not validation):
                    continue
                xs = _x_values(data[key], epochs)
                axis.plot(xs, data[key], color=color, linestyle=style, linewidth=1.5, label=name + suffix)
        _legend(axis)
    return fig if fig is not None else ax


def _cycle(colors):
    while True:
        yield from colors
