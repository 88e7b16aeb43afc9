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
