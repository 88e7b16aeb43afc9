"""The widget dashboard, driven by simulated callback events and a fake clock (no kernel needed)."""

from __future__ import annotations

import base64
import warnings

import pytest

from display_helpers import FakeModel, fit_params, simulate_fit

pytest.importorskip("ipywidgets")

from nbtrain.display.dashboard import Dashboard  # noqa: E402
from nbtrain.display.text import INTERRUPT_HINT, status_text  # noqa: E402
from nbtrain.display.outputs import WIDGET_VIEW, RecordingOutput  # noqa: E402


def make(clock, **kwargs):
    """A dashboard on the fake clock; drawing costs nothing (the timer is the clock), unless a timer is given."""
    out = RecordingOutput()
    kwargs.setdefault("timer", clock)
    dash = Dashboard(clock=clock, output=out, raise_errors=True, **kwargs)
    return dash, out


def batch_bar_html(dash) -> str:
    return dash.widgets["bars"].value.split('<div class="nbtrain-bar nbtrain-batch-bar"')[1]


# ----- what is shown, event by event ---------------------------------------------------------------------------

def test_widgets_are_created_when_training_starts_not_before(clock):
    dash, out = make(clock)
    assert dash.widgets == {} and out.outputs == []
    dash.set_model(FakeModel())
    dash.set_params(fit_params())
    dash.on_train_begin()
    assert set(dash.widgets) == {"header", "bars", "table", "box"}   # the plot comes with its first frame
    assert len(out.outputs) == 1
    bundle = out.outputs[0]
    # a widget view for widget front ends, and HTML and text (never an "HBox(...)" repr) for the others
    assert set(bundle) == {WIDGET_VIEW, "text/html", "text/plain"}
    assert "HBox" not in bundle["text/plain"] and "VBox" not in bundle["text/plain"]
    assert "Training 'mlp': 3 epochs, 1,600 samples, batch size 32" in bundle["text/plain"]
    assert "Training &#x27;mlp&#x27;" in dash.widgets["header"].value


def test_state_after_batches_and_epochs(clock):
    dash, out = make(clock)
    seen = {}

    def look(epoch, batch):
        if (epoch, batch) == (1, 36):
            ws = dash.widgets
            epoch_bar, batch_bar = ws["bars"].value.split('<div class="nbtrain-bar nbtrain-batch-bar"')
            seen["batch"], seen["epoch"] = batch_bar, epoch_bar
            seen["table"] = ws["table"].value
            seen["plot_shown"] = ws["plot"] in ws["box"].children and bytes(ws["plot"].value).startswith(b"\x89PNG")

    # 0.2 s per batch: every batch is due for a redraw (the bars redraw at most every 0.2 s)
    simulate_fit(dash, clock, epochs=3, steps=50, batch_time=0.2, on_batch=look)
    assert "width:74.0%" in seen["batch"]      # 37 of 50 batches
    status = seen["batch"]
    assert "37/50" in status and "samples/s" in status and "ms/step" in status
    assert "elapsed" in status and "ETA" in status and "loss 0.0270" in status
    assert ">Epoch 2/3<" in seen["epoch"]
    assert "width:33.3%" in seen["epoch"]      # one epoch of three finished
    assert "accuracy" in seen["table"] and "validation" in seen["table"] and "learning rate" in seen["table"]
    assert "\u2605" in seen["table"]            # the best value is starred
    assert seen["plot_shown"]


def test_status_text_numbers(clock):
    from nbtrain.display.state import RunState

    state = RunState("fit", fit_params(epochs=2, steps=10), "m")
    state.begin(0.0)
    state.epoch_begin(0, 0.0)
    for b in range(4):
        state.batch_end(b, {"loss": 0.5}, now=0.5 + 0.25 * b)   # first batch slow, then 0.25 s per batch
    text = status_text(state)
    assert text.startswith("4/10 \u00b7 128 samples/s \u00b7 250ms/step \u00b7 1.2 s elapsed")
    # ETA: 6 batches left in this epoch + one more epoch of 10 batches, at 0.25 s per batch
    assert "ETA 4.0 s" in text and text.endswith("loss 0.5000")


def test_epoch_last_batch_is_always_drawn(clock):
    dash, out = make(clock)
    ends = []
    # 3.2 ms per batch, 0.16 s epochs: most batches are skipped, but the bar must read 50/50 at each epoch's end
    simulate_fit(dash, clock, epochs=4, steps=50, batch_time=0.0032,
                 on_batch=lambda e, b: b == 49 and ends.append("width:100.0%" in batch_bar_html(dash)))
    assert ends == [True] * 4


def test_epochs_of_a_few_milliseconds_do_not_flood_the_front_end(clock):
    dash, out = make(clock)
    drawn = []
    # a workshop fit: 20 epochs of 35 ms (0.7 s); drawing every epoch end would be 28 redraws a second
    simulate_fit(dash, clock, epochs=20, steps=50, batch_time=0.0007,
                 on_batch=lambda e, b: b == 49 and drawn.append(f">Epoch {e + 1}/20<" in dash.widgets["bars"].value
                                                                and "width:100.0%" in batch_bar_html(dash)))
    assert dash.draw_count <= 0.7 * 10 + 1
    assert 3 <= sum(drawn) <= 5          # every fifth epoch end: at least 0.15 s after the last one drawn


def test_a_long_validation_after_a_short_epoch_catches_up(clock):
    dash, out = make(clock)
    seen = []
    # epochs of 30 ms, each followed by a 1 s validation: the bar must not rest mid-epoch while validating
    dash.set_model(FakeModel())
    simulate_fit(dash, clock, epochs=3, steps=10, batch_time=0.003, validation_steps=20,
                 validation_batch_time=0.05,
                 on_batch=lambda e, b: b == 9 and seen.append(dash.widgets["bars"].value))
    assert dash.draw_count >= 3 * 1 / 0.2    # the elapsed time and ETA move during validation
    assert [f">Epoch {e + 1}/3<" in bars and "width:100.0%" in bars.split("nbtrain-batch-bar")[1]
            for e, bars in enumerate(seen)] == [True] * 3


def test_interrupt_hint_instead_of_a_button_without_a_route(clock):
    dash, _ = make(clock)
    dash.set_model(FakeModel())
    dash.set_params(fit_params())
    dash.on_train_begin()
    assert "stop" not in dash.widgets
    assert "interrupt the kernel" in dash.widgets["header"].value
    assert INTERRUPT_HINT.split(":")[0] in dash.widgets["header"].value


def test_stop_button_stops_after_the_current_batch_when_a_route_exists(clock):
    dash, out = make(clock, stop_route="background")
    model = FakeModel()

    def click(epoch, batch):
        if (epoch, batch) == (1, 10):
            dash.widgets["stop"].value = True     # what a click on the toggle sends to the kernel
            assert model.stop_training is True
            assert dash.widgets["stop"].disabled and dash.widgets["stop"].description.startswith("Stopping")
            assert dash.widgets["stop"].description == "Stopping after this batch\u2026"

    simulate_fit(dash, clock, model=model, epochs=5, steps=20, on_batch=click)
    record = out.outputs[0]
    assert "stopped with the Stop button after 2 of 5 epochs" in record["text/plain"]


# ----- the static record replaces the widgets ----------------------------------------------------------------------

def test_static_record_replaces_the_widget_and_widgets_are_closed(clock):
    dash, out = make(clock)
    simulate_fit(dash, clock, epochs=3, steps=20)
    assert len(out.outputs) == 1                       # the same output, updated in place
    record = out.outputs[0]
    assert WIDGET_VIEW not in record
    assert set(record) == {"image/png", "text/html", "text/plain"}
    png = base64.b64decode(record["image/png"])
    assert png.startswith(b"\x89PNG") and 3_000 < len(png) < 80_000
    assert "data:image/png;base64," in record["text/html"] and "<table" in record["text/html"]
    assert "completed 3 epochs" in record["text/plain"]
    assert "Epoch 3/3 - accuracy: 0.7000 - loss: 0.3333 - val_accuracy: 0.4500 - val_loss: 0.8667" in record["text/plain"]
    assert "best: loss 0.3333 (epoch 3), val_loss 0.5500 (epoch 2)" in record["text/plain"]
    assert dash.widgets == {}
    assert [e[0] for e in out.events] == ["show", "update"]


def test_record_after_interrupt_says_where(clock):
    dash, out = make(clock)
    model = simulate_fit(dash, clock, epochs=5, steps=50, stop_at=(2, 11, "interrupted"))
    assert model.stop_reason == "interrupted"
    text = out.outputs[0]["text/plain"]
    assert "interrupted at epoch 3, batch 12/50" in text
    assert "model.history holds the completed epochs" in text      # was "history so far" (fit returned it)
    assert "Run All stops here" in text
    assert "Epoch 2/5" in text                         # the last finished epoch
    assert "interrupted at epoch 3, batch 12/50" in out.outputs[0]["text/html"]


def test_record_after_an_error(clock):
    dash, out = make(clock)

    def boom(epoch, batch):
        if (epoch, batch) == (1, 3):
            raise ValueError("the data went wrong")

    model = FakeModel()
    with pytest.raises(ValueError):
        try:
            simulate_fit(dash, clock, model=model, epochs=3, steps=10, on_batch=boom)
        except ValueError:
            model.stop_reason = "error"
            raise
    # simulate_fit's finally ran on_train_end while the exception was propagating
    text = out.outputs[0]["text/plain"]
    # whole sentences: the duration ends the first one, the error is the next (issue 11; it ran on before)
    assert "ended by an error at epoch 2, batch 4/10 in 0.2 s (10ms/step). ValueError: the data went wrong.\n" in text
    assert "ended by an error at epoch 2, batch 4/10 in 0.2 s. ValueError: the data went wrong." in \
        out.outputs[0]["text/html"]


def test_record_after_early_stopping(clock):
    dash, out = make(clock)
    simulate_fit(dash, clock, epochs=10, steps=10, stop_at=(3, None, "stopped"))
    text = out.outputs[0]["text/plain"]
    assert "stopped early by a callback after 4 of 10 epochs" in text


def test_record_names_the_callback_that_stopped_and_why(clock):
    dash, out = make(clock)
    model = FakeModel()
    model.fit_outcome.detail = "EarlyStopping: val_loss did not improve for 2 epochs; weights restored from epoch 2"
    simulate_fit(dash, clock, model=model, epochs=10, steps=10, stop_at=(3, None, "stopped"))
    expected = ("stopped early after 4 of 10 epochs in 0.4 s{}. EarlyStopping: val_loss did not improve for 2 "
                "epochs; weights restored from epoch 2.")
    assert expected.format(" (10ms/step)") in out.outputs[0]["text/plain"]
    assert expected.format("") in out.outputs[0]["text/html"]


def test_record_when_no_epoch_finished(clock):
    dash, out = make(clock)
    simulate_fit(dash, clock, epochs=3, steps=50, stop_at=(0, 4, "interrupted"))
    record = out.outputs[0]
    assert "image/png" not in record                 # nothing to plot yet
    assert "interrupted at epoch 1, batch 5/50" in record["text/plain"]
    assert "no epoch finished; last batch" in record["text/plain"]


# ----- throttling and message budget ---------------------------------------------------------------------------------

def test_bars_update_at_most_five_times_a_second(clock):
    dash, _ = make(clock)
    # 2 epochs of 2000 batches at 1 ms: 4 s of training
    simulate_fit(dash, clock, epochs=2, steps=2000, batch_time=0.001, validation=False)
    assert 15 <= dash.draw_count <= 4 * 5 + 2 * 2 + 2


def test_plot_at_most_once_a_second_and_at_the_end(clock):
    dash, out = make(clock)
    # 30 epochs of 0.1 s: the plot may be drawn about 3 times, never 30
    simulate_fit(dash, clock, epochs=30, steps=10, batch_time=0.01, validation=False)
    assert 2 <= dash.plot_count <= 4
    assert "image/png" in out.outputs[0]             # the final plot is always drawn


def test_bars_back_off_when_sending_is_slow(clock):
    class SlowTimer:
        """Every draw seems to take 2 ms (a busy machine)."""
        def __init__(self):
            self.t = 0.0

        def __call__(self):
            self.t += 0.001
            return self.t

    dash, _ = make(clock, timer=SlowTimer())
    simulate_fit(dash, clock, epochs=2, steps=2000, batch_time=0.001, validation=False)
    # a 1 ms draw with a 0.5% budget: at most one draw per 0.2 s (4 s of training), not 10 per second
    assert dash.bar_throttle.interval == pytest.approx(0.2)
    assert dash.draw_count <= 4 / 0.2 + 2 * 2 + 2


def test_plot_backs_off_when_rendering_is_slow(clock):
    dash, _ = make(clock)
    dash.plot_throttle.mark(0.0, cost=0.02)          # a 20 ms render within a 1.5% budget: every 1.33 s
    assert dash.plot_throttle.interval == pytest.approx(0.02 / 0.015)
    dash.plot_throttle.reset()
    dash.plot_throttle.mark(0.0, cost=0.04)          # a 40 ms render: still every 2 s (2% of the time)
    assert dash.plot_throttle.interval == pytest.approx(2.0)
    dash.plot_throttle.reset()
    dash.plot_throttle.mark(0.0, cost=0.2)           # a 200 ms render: every 2 s all the same, once
    assert dash.plot_throttle.interval == pytest.approx(2.0)
    dash.plot_throttle.mark(0.0, cost=0.2)
    dash.plot_throttle.mark(0.0, cost=0.2)           # three in a row: every 8 s, so plots stay within 2.5%
    assert dash.plot_throttle.interval == pytest.approx(8.0)


def test_a_fit_that_ends_within_two_seconds_shows_its_plot_in_the_record_only(clock):
    dash, out = make(clock)
    # a 1.6-second fit: at 0.5 s the record is 1.1 s away, so building a live figure would only cost time
    simulate_fit(dash, clock, epochs=16, steps=10, batch_time=0.01, validation=False)
    assert dash.plot_count == 0 and "image/png" in out.outputs[0]


def messages_per_epoch(clock, counter, steps, epoch_seconds=1.0, epochs=3):
    dash, _ = make(clock)
    counter.clear()
    simulate_fit(dash, clock, epochs=epochs, steps=steps, batch_time=epoch_seconds / steps)
    updates = [m for m in counter if m[1] == "update"]
    return len(updates) / epochs


@pytest.mark.parametrize("steps", [10, 1_000, 20_000])
def test_comm_messages_per_epoch_are_bounded_whatever_the_number_of_batches(clock, comm_counter, steps):
    per_epoch = messages_per_epoch(clock, comm_counter, steps)
    # 1 s epochs: <= 11 bar ticks of one message each, + epoch row, table, plot, ...
    assert per_epoch <= 18, comm_counter[:50]


def test_building_the_dashboard_takes_few_messages(clock, comm_traffic):
    # Each message costs a short fit about 0.5 ms of wall time (kernel I/O thread wake-ups), so the dashboard
    # opens few widget models and sends no follow-up messages to style them.
    dash, _ = make(clock)
    dash.set_model(FakeModel())
    dash.set_params(fit_params())
    dash.on_train_begin()
    assert all(kind == "comm_open" for kind, _ in comm_traffic), comm_traffic
    assert len(comm_traffic) <= 10, comm_traffic


def test_one_message_per_widget_per_update(clock, comm_counter):
    dash, _ = make(clock)
    dash.set_model(FakeModel())
    dash.set_params(fit_params())
    dash.on_train_begin()
    dash.on_epoch_begin(0)
    comm_counter.clear()
    clock.advance(1.0)
    dash.on_train_batch_end(0, {"loss": 0.3})
    # one tick: the batch row (bar and status in one HTML widget) changed -> exactly one message
    assert [m[0] for m in comm_counter] == ["HTML"]


def test_tiny_epochs_do_not_flood_the_front_end(clock, comm_counter):
    # 1000 epochs of one 1 ms batch (XOR-style tutorials): 1 s of training
    dash, _ = make(clock)
    simulate_fit(dash, clock, epochs=1000, steps=1, batch_time=0.001, validation=False)
    updates = [m for m in comm_counter if m[1] == "update"]
    assert len(updates) <= 250   # per second of training; jupyter_server drops above 1000/s


def test_no_clear_output(clock, monkeypatch):
    import IPython.display

    def forbidden(*args, **kwargs):
        raise AssertionError("clear_output must not be used")

    monkeypatch.setattr(IPython.display, "clear_output", forbidden)
    dash, _ = make(clock)
    simulate_fit(dash, clock, epochs=2, steps=10)


def test_plot_lines_are_updated_in_place(clock):
    dash, _ = make(clock)
    lines = []

    def grab(epoch, batch):
        if batch == 0 and epoch in (2, 4) and dash._plot.figure is not None:
            lines.append(dash._plot.figure.axes[0].lines[0])

    simulate_fit(dash, clock, epochs=5, steps=10, batch_time=0.2, on_batch=grab)
    assert len(lines) == 2 and lines[0] is lines[1]     # the same Line2D, moved with set_data


# ----- evaluate and predict: a bar only ---------------------------------------------------------------------------

def test_evaluate_shows_a_bar_then_one_line(clock):
    dash, out = make(clock)
    dash.set_model(FakeModel())
    dash.set_params({"verbose": 1, "epochs": 1, "steps": 20, "mode": "evaluate"})
    dash.on_test_begin()
    assert "plot" not in dash.widgets and "table" not in dash.widgets and "bars" in dash.widgets
    for b in range(20):
        clock.advance(0.01)
        dash.on_test_batch_end(b, {"accuracy": 0.9, "loss": 0.25})
    dash.on_test_end({"accuracy": 0.9, "loss": 0.25})
    assert out.outputs == [{"text/plain": "Evaluate: 20/20 - 0.2 s - 10ms/step - accuracy: 0.9000 - loss: 0.2500"}]


def test_predict_shows_a_bar_then_one_line(clock):
    dash, out = make(clock)
    dash.set_model(FakeModel())
    dash.set_params({"verbose": 1, "epochs": 1, "steps": 5, "mode": "predict"})
    dash.on_predict_begin()
    for b in range(5):
        clock.advance(0.002)
        dash.on_predict_batch_end(b, {"outputs": [object()]})
    dash.on_predict_end()
    assert out.outputs == [{"text/plain": "Predict: 5/5 - 0.0 s - 2ms/step"}]


# ----- robustness ------------------------------------------------------------------------------------------------------

def test_a_failing_display_never_stops_training(clock):
    class Broken(RecordingOutput):
        def update(self, handle, bundle):
            raise OSError("front end went away")

    dash = Dashboard(clock=clock, output=Broken(), raise_errors=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        simulate_fit(dash, clock, epochs=2, steps=5)
    assert any("could not draw the final training record" in str(w.message) for w in caught)
    assert dash.widgets == {}                            # closed all the same


def test_a_display_that_failed_midway_still_leaves_the_record(clock, monkeypatch):
    dash, out = make(clock)
    dash.raise_errors = False
    monkeypatch.setattr(dash, "_draw_epoch", lambda: 1 / 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        simulate_fit(dash, clock, epochs=3, steps=5, batch_time=0.05)   # long enough to draw the table
    assert any("progress display failed (ZeroDivisionError" in str(w.message) for w in caught)
    assert "completed 3 epochs" in out.outputs[0]["text/plain"] and WIDGET_VIEW not in out.outputs[0]


def test_background_dashboard_opens_early_in_the_calling_cell(clock):
    dash, out = make(clock, stop_route="background")
    dash.open_early("mlp", epochs=4)
    assert len(out.outputs) == 1 and "stop" in dash.widgets
    simulate_fit(dash, clock, epochs=4, steps=5)
    assert len(out.outputs) == 1                         # the early output is the one replaced
    assert "completed 4 epochs" in out.outputs[0]["text/plain"]


def test_output_settles_after_building_and_after_the_record(clock):
    # the kernel's I/O thread sends the build and the record before training goes on (or fit returns)
    dash, out = make(clock)
    settled = []
    simulate_fit(dash, clock, epochs=2, steps=5, on_batch=lambda e, b: settled.append(out.settled))
    assert set(settled) == {1}       # once, right after the dashboard was built
    assert out.settled == 2          # and once more after the final record
