"""The sweep's live comparison view: when it draws (fake clock), what it shows, and its static record."""

import base64
import re

import pytest

from nbtrain.display.outputs import RecordingOutput
from nbtrain.display.sweep_view import LiveSweepView, RecordOnlySweepView, TextSweepView, sweep_view_for
from nbtrain.experiments.executors import StopRequests
from nbtrain.experiments.progress import SweepProgress
from nbtrain.experiments.record import summary_text
from nbtrain.experiments.result import Run, SweepResult
from nbtrain.experiments.runs import RunOutcome
from nbtrain.experiments import sweep

from display_helpers import FakeClock


def make(view, n=3, epochs=4):
    runs = [Run(i, {"optimizer": ["sgd", "adam", "rmsprop"][i % 3], "units": 8 * (i + 1)}, 100 + i, "val_loss",
                "min", epochs=epochs) for i in range(n)]
    result = SweepResult(runs, "val_loss", "min", executor="in-process")
    progress = SweepProgress(runs, view, clock=view.clock if hasattr(view, "clock") else None)
    view.begin(progress, result, StopRequests())
    return progress, result


def train(progress, clock, index, values, finish=True):
    progress.event("start", index, {"seed": 0})
    for epoch, value in enumerate(values):
        clock.advance(0.1)
        progress.event("epoch", index, {"epoch": epoch, "logs": {"loss": value + 0.1, "val_loss": value}})
    if finish:
        clock.advance(0.1)
        history = {"loss": [v + 0.1 for v in values], "val_loss": list(values)}
        progress.finish(RunOutcome(index, "done", history, list(range(len(values))), seconds=0.5))


def test_the_live_view_shows_a_row_per_run_and_draws_at_most_every_quarter_second():
    clock, output = FakeClock(), RecordingOutput()
    view = LiveSweepView(clock=clock, output=output, timer=lambda: 0.0)
    progress, result = make(view)
    assert len(output.outputs) == 1 and "nbtrain-sweep-runs" in output.outputs[0]["text/html"]
    train(progress, clock, 0, [0.9, 0.7, 0.5, 0.4])
    # 4 epochs 0.1 s apart and a finish: a table at most every 0.25 s, plus the finish
    updates = [event for event in output.events if event[0] == "update"]
    assert 2 <= len(updates) <= 4
    html = output.outputs[0]["text/html"]
    assert html.count("<tr>") == 4      # header + 3 runs
    assert "\u2713 done" in html and "\u2026 queued" in html and "0.4000 (epoch 4)" in html
    assert "Leaderboard</b>: 1. run 0 [optimizer=sgd, units=8] 0.4000" in html
    assert view.plot_count >= 1 and "data:image/png;base64," in html


def test_the_best_run_leads_the_leaderboard_while_others_run():
    clock, output = FakeClock(), RecordingOutput()
    view = LiveSweepView(clock=clock, output=output, timer=lambda: 0.0)
    progress, result = make(view)
    train(progress, clock, 0, [0.9, 0.8])
    train(progress, clock, 1, [0.6, 0.3], finish=False)
    clock.advance(1.0)
    progress.event("epoch", 1, {"epoch": 2, "logs": {"loss": 0.3, "val_loss": 0.25}})
    html = output.outputs[0]["text/html"]
    assert "1. run 1 [optimizer=adam, units=16] 0.2500 \u00b7 2. run 0" in html
    assert "\u25b6 running" in html and "3/4" in html


def test_the_record_replaces_the_live_view_and_is_the_same_for_the_same_runs():
    records = []
    for _ in range(2):
        clock, output = FakeClock(), RecordingOutput()
        view = LiveSweepView(clock=clock, output=output, timer=lambda: 0.0)
        progress, result = make(view)
        train(progress, clock, 0, [0.9, 0.7])
        train(progress, clock, 1, [0.8, 0.5])
        progress.finish(RunOutcome(2, "failed", error="RuntimeError: broken"))
        view.end(progress, result)
        assert len(output.outputs) == 1 and output.outputs[0] is not None
        records.append(output.outputs[0])
    first, again = records
    assert first == again                      # the same runs give the same record, bytes included
    assert set(first) == {"text/plain", "text/html", "image/png"}
    assert base64.b64decode(first["image/png"]).startswith(b"\x89PNG")
    assert first["text/plain"].splitlines() == [
        "Sweep: 3 runs in process, ranked by val_loss (min); 2 done, 1 failed",
        "  1. run 1 [optimizer=adam, units=16]: val_loss 0.5000 (epoch 2)",
        "  2. run 0 [optimizer=sgd, units=8]: val_loss 0.7000 (epoch 2)",
        "  3. run 2 [optimizer=rmsprop, units=24]: failed - RuntimeError: broken",
        "best: run 1 [optimizer=adam, units=16], seed 101"]
    assert "nbtrain-leaderboard" in first["text/html"] and "\u2605" in first["text/html"]


def test_record_only_shows_nothing_until_the_end():
    clock, output = FakeClock(), RecordingOutput()
    view = RecordOnlySweepView(clock=clock, output=output)
    progress, result = make(view, n=2)
    train(progress, clock, 0, [0.5])
    assert output.outputs == []
    view.end(progress, result)
    assert len(output.outputs) == 1 and output.outputs[0]["text/plain"].startswith("Sweep: 2 runs")


def test_an_interrupted_sweep_says_so():
    clock, output = FakeClock(), RecordingOutput()
    view = RecordOnlySweepView(clock=clock, output=output)
    progress, result = make(view, n=2)
    train(progress, clock, 0, [0.5], finish=False)
    progress.cancel_unfinished()
    result.interrupted = True
    view.end(progress, result)
    text = output.outputs[0]["text/plain"]
    assert "1 stopped, 1 cancelled (interrupted)" in text and "The sweep was interrupted" in text


def test_text_view_lines(capsys):
    import io

    out = io.StringIO()
    view = TextSweepView(out=out)
    view.clock = FakeClock()
    progress, result = make(view, n=2)
    train(progress, view.clock, 0, [0.5, 0.4])
    view.end(progress, result)
    assert out.getvalue().splitlines() == [
        "Sweep: 2 runs in process, ranked by val_loss (min)",
        "[1/2] optimizer=sgd, units=8: done, 2 epochs, val_loss 0.4000 (best 0.4000, epoch 2) in 0.5 s",
        "Best: run 0 [optimizer=sgd, units=8] val_loss 0.4000 (epoch 2)"]


def test_outside_a_notebook_the_view_is_text_and_verbose_0_is_silent(monkeypatch):
    assert isinstance(sweep_view_for("auto", 3), TextSweepView)
    monkeypatch.setenv("NBTRAIN_PROGRESS", "off")
    assert sweep_view_for("auto", 3) is None


def test_summary_text_of_a_real_sweep_has_no_timings():
    import sweep_models

    x, y = sweep_models.data()
    result = sweep(sweep_models.build, {"units": [4, 8]}, x, y, epochs=2, validation_split=0.25, verbose=0)
    text = summary_text(result)
    assert text.startswith("Sweep: 2 runs in process, ranked by val_loss (min); 2 done")
    assert re.search(r"\d s\b", text) is None        # no timings: a saved notebook's record stays the same


@pytest.mark.parametrize("n", [1, 12])
def test_the_plot_draws_any_number_of_runs(n):
    clock, output = FakeClock(), RecordingOutput()
    view = LiveSweepView(clock=clock, output=output, timer=lambda: 0.0)
    progress, result = make(view, n=n)
    for i in range(n):
        train(progress, clock, i, [1.0 / (i + 1), 0.5 / (i + 1)])
    view.end(progress, result)
    assert "image/png" in output.outputs[0]


def test_the_background_view_has_stop_buttons_and_leaves_the_record():
    from nbtrain.display.sweep_view import WidgetSweepView

    clock, output = FakeClock(), RecordingOutput()
    view = WidgetSweepView(clock=clock, output=output, timer=lambda: 0.0)
    runs = [Run(i, {"units": 4 * (i + 1)}, i, "val_loss", "min", epochs=2) for i in range(3)]
    result = SweepResult(runs, "val_loss", "min")
    stop = StopRequests()
    progress = SweepProgress(runs, view, clock=clock)
    view.begin(progress, result, stop)
    assert "application/vnd.jupyter.widget-view+json" in output.outputs[0]
    ws = view.widgets
    assert [value for _, value in ws["choice"].options] == [0, 1, 2]
    ws["choice"].value = 1
    ws["stop_run"].click()
    assert stop.runs == {1} and [value for _, value in ws["choice"].options] == [0, 2]
    train(progress, clock, 0, [0.5, 0.4])
    assert "Stop all cancels the queued runs" in ws["view"].value and "\u2713 done" in ws["view"].value
    assert [value for _, value in ws["choice"].options] == [2]
    ws["stop_all"].click()
    assert stop.all and ws["stop_run"].disabled
    progress.cancel_unfinished()
    view.end(progress, result)
    assert view.widgets == {} and output.outputs[0]["text/plain"].startswith("Sweep: 3 runs")
    assert "application/vnd.jupyter.widget-view+json" not in output.outputs[0]


def test_message_bounds_many_runs_stay_small_and_rare():
    clock, output = FakeClock(), RecordingOutput()
    view = LiveSweepView(clock=clock, output=output, timer=lambda: 0.0)
    progress, result = make(view, n=12, epochs=20)
    start = clock()
    for i in range(12):
        train(progress, clock, i, [(1.0 - 0.02 * epoch) / (i + 1) for epoch in range(20)])
    elapsed = clock() - start
    updates = [bundle for kind, _, bundle in output.events if kind == "update"]
    # at most 4 a second, plus one when each run finishes; each well under the 100 KB a kernel sends at ease
    assert len(updates) <= elapsed / view.table_interval + 12 + 1
    assert max(len(bundle["text/html"]) for bundle in updates) < 40_000
