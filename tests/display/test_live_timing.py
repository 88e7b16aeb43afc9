"""When the live display draws: the first plot frame, the cadence of the next ones, and bars, table and plot
agreeing. Fake clock, a fake plot whose renders cost what a test says, and the widget dashboard."""

from __future__ import annotations

import re

import pytest

from display_helpers import FakeClock, FakeModel, fit_params, simulate_fit

pytest.importorskip("ipywidgets")

import nbtrain.display.live  # noqa: E402
from nbtrain.display.dashboard import STOPPING_LABEL, Dashboard  # noqa: E402
from nbtrain.display.outputs import RecordingOutput  # noqa: E402
from nbtrain.display.throttle import Throttle  # noqa: E402


class FakePlot:
    """``HistoryPlot``'s interface; each render advances ``timer`` by its cost, the first (which builds the
    figure) by ``first_cost``."""

    def __init__(self, timer, first_cost=0.0, cost=0.0):
        self.timer, self.first_cost, self.cost = timer, first_cost, cost
        self.figure = None

    def prepare(self, state):
        if not state.epoch_logs:
            return False
        if self.figure is None:
            self.figure = object()
            self.timer.advance(self.first_cost)
        return True

    def update(self, state, final=False):
        if not self.prepare(state):
            return False
        self.timer.advance(self.cost)
        return True

    def png(self, dpi=None, colors=64):
        return b"\x89PNG fake frame"

    def close(self):
        self.figure = None


class Watched(Dashboard):
    """The dashboard, noting when each plot frame, table and epoch end happened (fake-clock seconds into
    training) and what the bars showed then."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.frames, self.tables, self.epoch_ends = [], [], []

    def _elapsed(self):
        return self.clock() - self.state.start_time

    def _draw_plot(self, png):
        super()._draw_plot(png)
        self.frames.append((self._elapsed(), self.plot_epoch, self.widgets["bars"].value))

    def _draw_epoch(self):
        super()._draw_epoch()
        self.tables.append((self._elapsed(), self.state.epochs_done, self.widgets["bars"].value))

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_ends.append(self.clock() - self.state.start_time)
        super().on_epoch_end(epoch, logs)


@pytest.fixture
def watched(monkeypatch):
    """``watched(first_cost, cost)``: a dashboard on a fake clock whose plot renders cost that much time."""
    def make(first_cost=0.0, cost=0.0):
        clock, timer = FakeClock(), FakeClock(0.0)
        monkeypatch.setattr("nbtrain.display.plots.HistoryPlot", lambda: FakePlot(timer, first_cost, cost))
        return Watched(clock=clock, timer=timer, output=RecordingOutput(), raise_errors=True), clock
    return make


def epochs_done_in(bars_html: str, epochs: int) -> int:
    """How many epochs the epoch bar shows as done (its fill width)."""
    epoch_bar = bars_html.split("nbtrain-batch-bar")[0]
    percent = float(re.search(r'nbtrain-bar-fill" style="[^"]*width:([0-9.]+)%', epoch_bar).group(1))
    return round(percent * epochs / 100)


# ----- the first frame ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("epoch_seconds", [0.05, 0.2, 0.3, 0.45, 0.7, 1.2, 1.9])
def test_first_frame_by_the_end_of_the_first_epoch_past_half_a_second(watched, epoch_seconds):
    dash, clock = watched(first_cost=0.8, cost=0.03)      # building the figure is slow on a loaded machine
    steps = 20
    simulate_fit(dash, clock, epochs=int(6 / epoch_seconds), steps=steps, batch_time=epoch_seconds / steps,
                 validation=False)
    first_epoch_past = min(t for t in dash.epoch_ends if t >= 0.5 - 1e-9)
    shown_at, epoch, _ = dash.frames[0]
    assert 0.5 - 1e-9 <= shown_at <= first_epoch_past + 1e-9
    assert shown_at <= 2.0 + 1e-9
    assert epoch >= 1


def test_a_slow_first_render_does_not_delay_the_next_frames(watched):
    # the first render builds the figure (0.8 s under load), later ones move lines (30 ms); epochs of 0.25 s
    dash, clock = watched(first_cost=0.8, cost=0.03)
    simulate_fit(dash, clock, epochs=40, steps=25, batch_time=0.01, validation=False)
    times = [t for t, _, _ in dash.frames]
    assert times[0] <= 0.5 + 0.25
    gaps = [b - a for a, b in zip(times, times[1:])]
    # at least every 2 s (plus the wait for the next epoch end), and never more often than every second
    assert len(times) >= 10 / 2.25 and all(1.0 - 1e-9 <= gap <= 2.0 + 0.25 + 1e-9 for gap in gaps), gaps


def test_frames_keep_coming_every_two_seconds_when_they_cost_more_than_the_budget(watched):
    # 45 ms frames would be every 3 s within 1.5%; every 2 s costs 2.25%, which the live plot may spend
    dash, clock = watched(first_cost=0.3, cost=0.045)
    simulate_fit(dash, clock, epochs=60, steps=10, batch_time=0.02, validation=False)
    times = [t for t, _, _ in dash.frames]
    assert all(gap <= 2.0 + 0.2 + 1e-9 for gap in (b - a for a, b in zip(times, times[1:])))
    assert len(times) >= 12 / 2.2


def test_very_slow_frames_space_out_to_stay_within_two_and_a_half_percent(watched):
    dash, clock = watched(first_cost=0.3, cost=0.125)     # 125 ms frames: every 5 s at least
    simulate_fit(dash, clock, epochs=60, steps=10, batch_time=0.05, validation=False)
    times = [t for t, _, _ in dash.frames]
    gaps = [b - a for a, b in zip(times, times[1:])]
    # the first frame's cost (building the figure) does not count: the second comes a second later; the next
    # two every 2 s (one or two slow frames may be a busy moment), then every 5 s once three in a row were slow
    assert gaps[0] == pytest.approx(1.0, abs=0.06) and gaps[1:3] == pytest.approx([2.0, 2.0], abs=0.06)
    assert len(gaps) >= 5 and all(gap >= 5.0 - 1e-9 for gap in gaps[3:]), gaps


# ----- bars, table and plot agree --------------------------------------------------------------------------------

def test_each_frame_shows_the_last_finished_epoch_with_the_bars_of_that_moment(watched):
    dash, clock = watched(cost=0.02)
    epochs = 30
    simulate_fit(dash, clock, epochs=epochs, steps=20, batch_time=0.02, validation=True)
    assert len(dash.frames) >= 5
    for when, epoch, bars in dash.frames:
        finished = sum(t <= when + 1e-9 for t in dash.epoch_ends)
        assert epoch == finished                              # the frame is of the latest epoch
        assert epochs_done_in(bars, epochs) == epoch          # and the bars were drawn in the same tick


@pytest.mark.parametrize("epoch_seconds", [0.035, 0.12, 0.6])
def test_the_table_is_never_more_than_one_bar_interval_behind(watched, epoch_seconds):
    dash, clock = watched()
    steps = 10
    simulate_fit(dash, clock, epochs=int(4 / epoch_seconds), steps=steps, batch_time=epoch_seconds / (steps + 1))
    interval = dash.bar_throttle.interval
    slack = interval + epoch_seconds / steps + 1e-9
    for epoch, ended in enumerate(dash.epoch_ends, start=1):
        if ended + slack >= dash.epoch_ends[-1]:
            break        # the record, not the live table, shows the last epochs
        # a table with this epoch in it is drawn within one bar interval (and a batch) of its end
        shown = [t for t, done, _ in dash.tables if done >= epoch]
        assert shown and shown[0] <= ended + slack, (epoch, ended, shown[:1])
    for _, done, bars in dash.tables:
        assert epochs_done_in(bars, len(dash.epoch_ends)) == done     # table and epoch bar agree


def test_a_fit_that_ends_within_one_and_a_half_seconds_of_its_first_epochs_draws_no_live_frame(watched):
    # workshop fits of a second or two: the record (with the plot) comes by 2 s into training
    dash, clock = watched(first_cost=0.3, cost=0.03)
    simulate_fit(dash, clock, epochs=20, steps=10, batch_time=0.009, validation=False)
    assert dash.frames == [] and dash.plot_count == 0


def test_plot_timing_starts_afresh_for_each_fit(watched):
    dash, clock = watched(first_cost=0.5, cost=0.2)
    simulate_fit(dash, clock, epochs=40, steps=10, batch_time=0.02, validation=False)
    first_run = len(dash.frames)
    dash.frames.clear()
    dash.epoch_ends.clear()
    simulate_fit(dash, clock, epochs=40, steps=10, batch_time=0.02, validation=False)
    assert first_run >= 2 and dash.frames and dash.frames[0][0] <= 0.5 + 0.2


# ----- the throttle --------------------------------------------------------------------------------------------

def test_throttle_takes_the_least_of_recent_costs():
    t = Throttle(1.0, budget=0.01)
    for cost in (0.01, 0.5, 0.5):                   # slow draws after a quick one: a busy moment
        t.mark(0.0, cost=cost)
    assert t.interval == pytest.approx(1.0)
    t.mark(0.0, cost=0.6)                           # the last three all slow: drawing is slow now, back off
    assert t.interval == pytest.approx(50.0)


def test_one_slow_draw_does_not_stop_a_two_second_cadence():
    t = Throttle(1.0, budget=0.015, max_interval=2.0, max_budget=0.025, cost_window=3)
    t.mark(0.0, cost=0.3)                           # the first measured frame after the build: slow
    assert t.interval == 2.0
    t.mark(2.0, cost=0.03)
    t.mark(4.0, cost=0.3)
    assert t.interval == 2.0                        # one quick draw among the last three: still every 2 s


def test_throttle_ignores_a_cost_marked_as_one_time():
    t = Throttle(1.0, budget=0.015, max_interval=2.0, max_budget=0.05)
    t.mark(0.0, cost=None)
    assert t.interval == 1.0 and t.count == 1 and t.due(1.0)
    t.reset()
    assert t.count == 0 and t.last is None and t.interval == 1.0


# ----- Stop answers at once --------------------------------------------------------------------------------------

def test_stop_is_a_toggle_whose_pressed_look_says_stopping_without_the_kernel(clock):
    dash = Dashboard(clock=clock, output=RecordingOutput(), raise_errors=True, stop_route="awaiting")
    model = FakeModel()
    dash.set_model(model)
    dash.set_params(fit_params())
    dash.on_train_begin()
    button = dash.widgets["stop"]
    assert type(button).__name__ == "ToggleButton" and "nbtrain-stop" in button._dom_classes
    # the browser adds "mod-active" to a toggle the moment it is clicked; this rule relabels it then
    header = dash.widgets["header"].value
    assert ".nbtrain-stop.mod-active::after{content:'Stopping after this batch\\2026'" in header
    assert ".nbtrain-stop.mod-active{pointer-events:none" in header
    button.value = True                              # the click reaches the kernel: it confirms
    assert model.stop_training and button.disabled and button.description == STOPPING_LABEL
    assert STOPPING_LABEL == "Stopping after this batch\u2026"


def test_no_stop_style_without_a_stop_button(clock):
    dash = Dashboard(clock=clock, output=RecordingOutput(), raise_errors=True)
    dash.set_model(FakeModel())
    dash.set_params(fit_params())
    dash.on_train_begin()
    assert "stop" not in dash.widgets and "nbtrain-stop" not in dash.widgets["header"].value


# ----- the plot's epoch stamp --------------------------------------------------------------------------------------

def test_the_live_plot_says_which_epoch_it_shows(watched):
    dash, clock = watched()
    stamps = []
    simulate_fit(dash, clock, epochs=12, steps=10, batch_time=0.03, validation=False,
                 on_batch=lambda e, b: "plot_stamp" in dash.widgets and stamps.append(
                     (dash.widgets["plot_stamp"].value, dash.plot_epoch)))
    assert stamps
    for html, epoch in stamps:
        assert f"plot: epoch {epoch}<" in html
    # the stamp widget shares the header's layout and style models (no extra comm_open for them)
    assert len({html for html, _ in stamps}) >= 2


def test_html_dashboard_stamps_its_plot_too(monkeypatch):
    from nbtrain.display.html_display import HtmlDashboard

    clock, timer = FakeClock(), FakeClock(0.0)
    monkeypatch.setattr("nbtrain.display.plots.HistoryPlot", lambda: FakePlot(timer))
    dash = HtmlDashboard(clock=clock, timer=timer, output=RecordingOutput(), raise_errors=True)
    seen = []
    simulate_fit(dash, clock, epochs=12, steps=10, batch_time=0.03, validation=False,
                 on_batch=lambda e, b: dash._png_b64 and seen.append((dash._html(), dash.plot_epoch)))
    assert seen and all(f"plot: epoch {epoch}</div>" in html for html, epoch in seen)


def test_live_display_keeps_no_table_throttle():
    # the table is drawn with the bars: a separate, slower throttle is what let it lag 6 epochs behind
    assert not hasattr(nbtrain.display.live.LiveDisplay, "table_interval")


# ----- the batch status wraps as whole parts -------------------------------------------------------------------------

def test_status_parts_are_whole_items_each_with_its_own_separator():
    from nbtrain.display.text import status_row_html

    html = status_row_html('<div class="bar"></div>', ["37/50", "12,300 samples/s", "loss 0.4211"])
    items = re.findall(r'<span class="nbtrain-status-part" style="white-space:nowrap;">(.*?)</span>(?=<span|</div>)',
                       html)
    assert [re.sub(r"<[^>]+>", "", item) for item in items] == ["\u00b737/50", "\u00b712,300 samples/s",
                                                               "\u00b7loss 0.4211"]
    # the parts sit in a wrapping row shifted left by one separator, inside a box that clips it: the separator
    # of whichever part starts a line is out of sight
    assert 'class="nbtrain-status" style="flex:1 1 18em;min-width:0;overflow:hidden;' in html
    assert '<div style="display:flex;flex-wrap:wrap;margin-left:-1.4em;">' in html
    assert 'class="nbtrain-sep" style="display:inline-block;width:1.4em;' in html
    assert html.startswith('<div class="nbtrain-batch-row" style="display:flex;flex-wrap:wrap;')
    assert " \u00b7 " not in html            # no loose separator between parts that could start a line
