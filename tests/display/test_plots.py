"""plot_history, plot_histories and the live HistoryPlot (Agg, no display)."""

from __future__ import annotations

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nbtrain.callbacks.history import History  # noqa: E402
from nbtrain.display.plots import HistoryPlot, plot_histories, plot_history  # noqa: E402


@pytest.fixture(autouse=True)
def no_show(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("plot functions must not call plt.show()")

    monkeypatch.setattr(plt, "show", forbidden)
    yield
    plt.close("all")


def make_history(n=5, validation=True, freq=1):
    h = History()
    for epoch in range(n):
        logs = {"accuracy": 0.5 + 0.05 * epoch, "loss": 1.0 / (epoch + 1)}
        if validation and (epoch + 1) % freq == 0:
            logs |= {"val_accuracy": 0.5 + 0.04 * epoch, "val_loss": 1.2 / (epoch + 1) + (0.3 if epoch == n - 1 else 0)}
        h.on_epoch_end(epoch, logs)
    return h


def test_plot_history_one_panel_per_metric_family():
    fig = plot_history(make_history())
    assert isinstance(fig, matplotlib.figure.Figure)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["loss", "accuracy"]
    loss_ax = fig.axes[0]
    labels = [line.get_label() for line in loss_ax.lines]
    assert labels[:2] == ["train", "validation"]
    # best validation loss is at epoch 4 (the last epoch got worse), starred with its value
    best = [line for line in loss_ax.lines if line.get_label().startswith("best")]
    assert best and list(best[0].get_xdata()) == [4] and "(epoch 4)" in best[0].get_label()
    assert list(loss_ax.lines[0].get_xdata()) == [1, 2, 3, 4, 5]


def test_plot_history_accepts_a_dict_a_model_and_chosen_metrics():
    h = make_history()
    fig = plot_history(h.history, metrics="loss")
    assert len(fig.axes) == 1

    class Model:
        history = h

    assert len(plot_history(Model(), metrics=["accuracy", "val_loss"]).axes) == 2
    with pytest.raises(ValueError, match="No metric 'auc' in this history; it has loss, accuracy"):
        plot_history(h, metrics=["auc"])
    with pytest.raises(TypeError, match="Expected a History"):
        plot_history([1, 2, 3])


def test_plot_history_into_given_axes():
    fig, axes = plt.subplots(1, 2)
    assert plot_history(make_history(), ax=axes) is axes
    assert axes[0].get_title(loc="left") == "loss"
    fig2, ax = plt.subplots()
    assert plot_history(make_history(), metrics="accuracy", ax=ax) is ax
    with pytest.raises(ValueError, match="Got 1 Axes for 2 metrics"):
        plot_history(make_history(), ax=ax)


def test_validation_freq_points_land_on_the_validated_epochs():
    fig = plot_history(make_history(n=6, freq=2), metrics="loss")
    val = [line for line in fig.axes[0].lines if line.get_label() == "validation"][0]
    assert list(val.get_xdata()) == [2, 4, 6]


def test_plot_histories_compares_runs():
    fig = plot_histories({"sgd": make_history(), "adam": make_history(validation=False)})
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["loss", "accuracy"]
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["sgd", "sgd (val)", "adam"]
    colors = {line.get_label(): line.get_color() for line in fig.axes[0].lines}
    assert colors["sgd"] == colors["sgd (val)"] != colors["adam"]
    with pytest.raises(TypeError, match="dict of named runs"):
        plot_histories([make_history()])


def test_figure_shows_once_when_it_is_the_last_expression(monkeypatch):
    # the mimebundle hook closes the pyplot figure under the inline backend so it is not shown twice
    fig = plot_history(make_history())
    assert plt.fignum_exists(fig.number)
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "module://matplotlib_inline.backend_inline")
    assert fig._repr_mimebundle_() is None
    assert not plt.fignum_exists(fig.number)


def test_live_plot_updates_lines_in_place_and_ships_small_pngs():
    from display_helpers import epoch_logs, fit_params
    from nbtrain.display.state import RunState

    state = RunState("fit", fit_params(epochs=30), "m", None)
    state.begin(0.0)
    plot = HistoryPlot()
    assert plot.update(state) is False                        # nothing to draw before the first epoch
    first_line = None
    for epoch in range(30):
        state.epoch_begin(epoch, epoch)
        state.epoch_end(epoch, epoch_logs(epoch % 3), epoch + 1.0)
        assert plot.update(state)
        first_line = first_line or plot.figure.axes[0].lines[0]
        assert plot.figure.axes[0].lines[0] is first_line       # set_data, never a new figure
    png = plot.png()
    assert png.startswith(b"\x89PNG") and len(png) < 25_000
    assert plot.figure.axes[0].get_xlim()[1] >= 30


# ----- every metric, readable, on any theme (issue 11) -------------------------------------------------------

from nbtrain.display import plots  # noqa: E402
from nbtrain.display.state import RunState  # noqa: E402

FAMILY_NAMES = ["loss", "accuracy", "mae", "auc", "precision", "recall", "mse", "top_k_accuracy",
                "mirrored_accuracy"]


def history_of(n_families, epochs=8, loss=None):
    """A dict history with ``n_families`` metric families (loss first), each with its validation twin."""
    history = {}
    for name in FAMILY_NAMES[:n_families]:
        rising = [0.95 - 0.45 * 0.8 ** e for e in range(epochs)]
        values = loss if (loss is not None and name == "loss") else rising
        history[name] = list(values)
        history[f"val_{name}"] = [v * (1.1 if name == "loss" else 0.97) for v in values]
    return history


def run_state(history, epochs=None):
    """A RunState that has seen the epochs of a dict history."""
    n = len(next(iter(history.values())))
    state = RunState("fit", {"epochs": epochs or n, "steps": 10}, "m")
    state.begin(0.0)
    for epoch in range(n):
        state.epoch_begin(epoch, float(epoch))
        state.epoch_end(epoch, {key: values[epoch] for key, values in history.items()}, epoch + 1.0)
    return state


def live_plot(history, **kwargs):
    plot = HistoryPlot(**kwargs)
    assert plot.update(run_state(history))
    plot.png()
    return plot


def visible_titles(fig):
    return [ax.get_title(loc="left").split()[0] for ax in fig.axes if ax.get_visible()]


@pytest.mark.parametrize("n", [5, 6, 9])
def test_no_metric_is_dropped_however_many_there_are(n):
    history = history_of(n)
    expected = FAMILY_NAMES[:n]
    assert visible_titles(plot_history(history)) == expected
    assert visible_titles(plot_histories({"a": history, "b": history})) == expected
    assert visible_titles(live_plot(history).figure) == expected       # 08_multi_output's mirrored_accuracy too


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 9])
def test_every_text_is_at_least_9_px_where_the_notebook_shows_it(n):
    history = history_of(n)
    figures = {"plot_history": plot_history(history), "plot_histories": plot_histories({"a": history, "b": history})}
    live = live_plot(history).figure
    figures["live frame (80 dpi)"] = live
    for name, fig in figures.items():
        fig.canvas.draw()                       # tick labels exist once drawn
        sizes = plots.text_sizes_px(fig)
        assert any(text == "epoch" for text, _ in sizes), name
        small = [(text, round(px, 1)) for text, px in sizes if px < plots.MIN_TEXT_PX]
        assert not small, f"{name}: {small}"
        # a figure wider than the output area would be scaled down, its text with it (the inline backend's
        # tight bounding box adds a little padding to the figures of plot_history)
        padding = 0 if name.startswith("live") else 2 * plots.INLINE_PAD
        assert (fig.get_figwidth() + padding) * fig.dpi <= plots.DISPLAY_WIDTH_PX, name
    live.set_dpi(100)                           # the record's resolution: the same layout, larger
    assert live.get_figwidth() * 100 <= plots.DISPLAY_WIDTH_PX
    assert min(px for _, px in plots.text_sizes_px(live)) >= plots.MIN_TEXT_PX


def test_the_x_axis_says_epoch_under_each_column():
    fig = plot_history(history_of(5))            # 2 rows x 3 columns: panels 3 and 4 end their columns, and 2
    assert [ax.get_xlabel() for ax in fig.axes] == ["", "", "epoch", "epoch", "epoch"]
    live = live_plot(history_of(5)).figure
    assert [ax.get_xlabel() for ax in live.axes] == ["", "", "epoch", "epoch", "epoch"]
    fig, axes = plt.subplots(1, 2)
    plot_history(history_of(2), ax=axes)
    assert [ax.get_xlabel() for ax in axes] == ["epoch", "epoch"]


FALLING_FAR = [10 * 0.1 ** (e / 2) for e in range(7)]           # 10 down to 0.01: three powers of ten
FALLING_LITTLE = [1.0 - 0.5 * e / 6 for e in range(7)]           # 1.0 down to 0.5


def yscales(fig):
    return [ax.get_yscale() for ax in fig.axes]


def test_a_loss_spanning_more_than_two_decades_gets_a_log_axis():
    assert plots.wants_log_scale(FALLING_FAR, True, None)
    assert not plots.wants_log_scale(FALLING_LITTLE, True, None)
    assert not plots.wants_log_scale(FALLING_FAR, False, None)          # not a loss
    assert not plots.wants_log_scale([1.0, 0.0, 0.001], True, None)     # a log axis cannot show 0
    far, little = history_of(2, 7, FALLING_FAR), history_of(2, 7, FALLING_LITTLE)
    assert yscales(plot_history(far)) == ["log", "linear"]
    assert yscales(plot_history(little)) == ["linear", "linear"]
    assert yscales(plot_histories({"a": far, "b": little})) == ["log", "linear"]
    assert yscales(live_plot(far).figure) == ["log", "linear"]
    assert yscales(live_plot(little).figure) == ["linear", "linear"]


def test_the_log_switch():
    far, little = history_of(2, 7, FALLING_FAR), history_of(2, 7, FALLING_LITTLE)
    assert yscales(plot_history(far, log=False)) == ["linear", "linear"]
    assert yscales(plot_history(little, log=True)) == ["log", "log"]
    assert yscales(plot_histories({"a": far}, log=False)) == ["linear", "linear"]
    assert yscales(plot_histories({"a": little}, metrics="loss", log=True)) == ["log"]
    assert yscales(live_plot(far, log=False).figure) == ["linear", "linear"]
    with pytest.raises(TypeError, match="log must be None .* True .* or False .*; got 'yes'"):
        plot_history(far, log="yes")
    zero = dict(little, accuracy=[0.0] + little["accuracy"][1:])
    with pytest.raises(ValueError, match="log=True needs positive values, but 'accuracy' has 0"):
        plot_history(zero, log=True)


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two hex colours."""
    def luminance(color):
        channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_backgrounds_are_transparent_and_text_reads_on_light_and_dark_themes():
    import io

    import numpy as np
    from PIL import Image

    for fig in (plot_history(history_of(2)), plot_histories({"a": history_of(2)})):
        assert fig.get_facecolor()[3] == 0 and all(ax.patch.get_alpha() == 0 for ax in fig.axes)
        # what the inline backend does: save with the figure's own facecolor
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", facecolor=fig.get_facecolor(), bbox_inches="tight")
        pixels = np.asarray(Image.open(buffer).convert("RGBA"))
        assert pixels[0, 0, 3] == 0 and pixels[-1, -1, 3] == 0
    plot = live_plot(history_of(2))
    for png in (plot.png(), plot.png(dpi=100, colors=128)):
        pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
        assert pixels[-1, 0, 3] == 0 and pixels[-1, -1, 3] == 0
    for background in ("#ffffff", "#111111"):                  # JupyterLab Light and Dark
        assert contrast(plots.TEXT_COLOR, background) >= 4.0
        for line in (plots.TRAIN_COLOR, plots.VAL_COLOR, *plots.RUN_COLORS):
            assert contrast(line, background) >= 3.0, line


# ----- the live frame -----------------------------------------------------------------------------------------

def decoded(png):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).astype(int)


def test_a_live_frame_is_stamped_with_its_epoch():
    history = history_of(2, 7)
    plot = HistoryPlot()
    assert plot.epoch is None
    state = run_state(history, epochs=30)
    assert plot.prepare(state) and plot.figure is not None
    plot.update(state)
    assert (plot.epoch, plot.epochs) == (7, 30)
    assert "epoch 7/30" in [text.get_text() for text in plot.figure.texts]
    plot.png()
    assert plot.update(state, final=True) and plot.epoch == 7


def test_a_blitted_frame_shows_what_a_full_redraw_shows():
    # 12 epochs drawn one by one, the loss crossing two decades on the way (its axes switch to log and are
    # redrawn), then the last frame compared pixel by pixel with the whole figure drawn at once
    loss = [10 * 0.5 ** e for e in range(12)]
    history = history_of(4, 12, loss)
    plot = HistoryPlot()
    for n in range(1, 13):
        plot.update(run_state({key: values[:n] for key, values in history.items()}, epochs=12))
        frame = plot.png()
    assert plot.figure.axes[0].get_yscale() == "log"
    for panel in plot._panels:                     # now draw everything in one go, as a plain savefig would
        for artist in panel.artists():
            artist.set_animated(False)
    plot._stamp.set_animated(False)
    plot.figure.canvas.draw()
    full = decoded(plots.rgba_png(plot.figure.canvas.buffer_rgba(), 64))
    blitted = decoded(frame)
    assert blitted.shape == full.shape
    differing = (abs(blitted - full).max(axis=2) > 40).mean()
    assert differing < 0.002, differing


def test_falling_losses_and_rising_scores_keep_their_axes():
    # the axes (the costly part of a frame) are drawn again only when the limits change
    assert plots.live_limits(None, 2.0, 2.3, False, "down") == (0.0, 2.5)
    assert plots.live_limits((0.0, 2.5), 0.1, 2.3, False, "down") == (0.0, 2.5)
    bottom, top = plots.live_limits(None, 0.3, 0.35, False, "up")
    assert bottom <= 0.28 and top > 1.0
    assert plots.live_limits((bottom, top), 0.3, 0.99, False, "up") == (bottom, top)
    assert plots.live_limits((0.0, 2.5), 0.1, 2.7, False, "down") == (0.0, 3.0)      # a rising val_loss
    assert plots.live_limits((0.01, 10.0), 0.02, 9.0, True, "down") == (0.01, 10.0)
    plot = HistoryPlot()
    history = history_of(2, 30, [2.3 * 0.9 ** e for e in range(30)])
    redraws = 0
    for n in range(1, 31):
        plot.update(run_state({key: values[:n] for key, values in history.items()}, epochs=30))
        redraws += bool(plot._stale)
        plot.png()
    assert redraws <= 2, redraws
