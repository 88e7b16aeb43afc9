"""The static record (PNG + HTML table + Keras-style text) and the pure text formatting behind it."""

from __future__ import annotations

import base64

import pytest

from display_helpers import epoch_logs, fit_params
from nbtrain.display import format as fmt
from nbtrain.display.live import RecordOnly
from nbtrain.display.outputs import RecordingOutput
from nbtrain.display.state import RunState
from nbtrain.display.static import metrics_table_html, progress_line, record_bundle, summary_text


def finished_state(epochs=3, validation=True, reason="completed", at=None):
    state = RunState("fit", fit_params(epochs=epochs, steps=10), "net", None)
    state.begin(0.0)
    now = 0.0
    for epoch in range(epochs):
        state.epoch_begin(epoch, now)
        for b in range(10):
            now += 0.01
            state.batch_end(b, {"loss": 0.5}, now)
        state.epoch_end(epoch, epoch_logs(epoch, validation), now)
    state.learning_rate = 0.001
    state.end(now + 0.04, reason, at)
    return state


def test_summary_text_is_keras_like_and_deterministic():
    text = summary_text(finished_state())
    assert text.splitlines() == [
        "Training 'net': 3 epochs, 320 samples, batch size 32",
        "completed 3 epochs in 0.3 s (10ms/step)",
        "Epoch 3/3 - accuracy: 0.7000 - loss: 0.3333 - val_accuracy: 0.4500 - val_loss: 0.8667",
        "best: loss 0.3333 (epoch 3), val_loss 0.5500 (epoch 2), accuracy 0.7000 (epoch 3), "
        "val_accuracy 0.5500 (epoch 2)",
    ]
    assert summary_text(finished_state()) == text


def test_table_has_train_and_validation_side_by_side_with_best_marked():
    html = metrics_table_html(finished_state())
    for header in ("metric", "train", "best train", "validation", "best validation"):
        assert f">{header}</th>" in html
    assert "<b>0.3333&nbsp;\u2605</b>" in html            # current training loss is the best: starred
    assert "0.5500 (epoch 2)" in html                        # validation best is an earlier epoch
    assert "learning rate" in html and ">0.001<" in html
    assert "background" not in html                          # theme colours, no fixed backgrounds


def test_table_without_validation_has_no_validation_columns():
    html = metrics_table_html(finished_state(validation=False))
    assert "validation" not in html


def test_bundle_has_png_html_and_text():
    png = b"\x89PNG fake"
    bundle = record_bundle(finished_state(), png)
    assert set(bundle) == {"image/png", "text/html", "text/plain"}
    assert base64.b64decode(bundle["image/png"]) == png
    assert f'src="data:image/png;base64,{bundle["image/png"]}"' in bundle["text/html"]
    assert "completed 3 epochs in 0.3 s" in bundle["text/html"]


def test_interrupted_record_says_where():
    state = finished_state(reason="interrupted", at=(3, 7))
    assert "interrupted at epoch 4, batch 7/10" in summary_text(state)


def test_html_escapes_names():
    state = RunState("fit", fit_params(), "<script>", None)
    state.begin(0.0)
    state.end(1.0, "completed")
    html = record_bundle(state)["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_record_only_shows_one_output_at_the_end(clock):
    from display_helpers import simulate_fit

    out = RecordingOutput()
    record = RecordOnly(clock=clock, output=out, raise_errors=True)
    seen = []
    simulate_fit(record, clock, epochs=3, steps=20, on_batch=lambda e, b: seen.append(len(out.outputs)))
    assert set(seen) == {0}                                   # nothing while training
    assert len(out.outputs) == 1 and [e[0] for e in out.events] == ["show"]
    assert set(out.outputs[0]) == {"image/png", "text/html", "text/plain"}


def test_evaluate_line():
    state = RunState("evaluate", {"steps": 4}, "net", None)
    state.begin(0.0)
    state.epoch_begin(0, 0.0)
    for b in range(4):
        state.batch_end(b, {"loss": 0.25}, 0.01 * (b + 1))
    state.end(0.04, "completed")
    assert progress_line(state) == "4/4 - 0.0 s - 10ms/step - loss: 0.2500"


# ----- format ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, text", [(0.04, "0.0 s"), (3.33, "3.3 s"), (42.4, "42 s"), (65.2, "1:05"),
                                           (3725, "1:02:05"), (None, "?"), (float("inf"), "?")])
def test_format_duration(seconds, text):
    assert fmt.format_duration(seconds) == text


@pytest.mark.parametrize("rate, text", [(12345.6, "12,300 samples/s"), (123.4, "123 samples/s"),
                                        (56.78, "56.8 samples/s"), (5.678, "5.68 samples/s"), (0, "? samples/s")])
def test_format_rate(rate, text):
    assert fmt.format_rate(rate) == text


def test_format_metric_and_learning_rate():
    assert fmt.format_metric(0.123456) == "0.1235"
    assert fmt.format_metric(0.00001234) == "1.2340e-05"
    assert fmt.format_metric(float("nan")) == "nan"
    assert fmt.format_learning_rate(0.001) == "0.001"
    assert fmt.format_learning_rate(3e-5) == "3e-05"


def test_metric_families_pair_train_and_validation_loss_first():
    keys = ["accuracy", "loss", "mae", "val_accuracy", "val_loss"]
    assert fmt.metric_families(keys) == [("loss", "loss", "val_loss"), ("accuracy", "accuracy", "val_accuracy"),
                                         ("mae", "mae", None)]


def test_best_index_and_directions():
    assert fmt.best_index([0.5, 0.3, 0.3, 0.4], "down") == 1
    assert fmt.best_index([0.5, 0.7, float("nan")], "up") == 1
    assert fmt.best_index([1.0], None) is None
    assert fmt.guess_direction("val_accuracy") == "up"
    assert fmt.guess_direction("mean_squared_error") == "down"
    assert fmt.guess_direction("something") is None


def test_state_uses_the_model_direction_first():
    state = RunState("fit", fit_params(), "m", direction=lambda name: {"custom": "up"}.get(name))
    assert state.direction("val_custom") == "up"
    assert state.direction("val_loss") == "down"
    assert state.direction("accuracy") == "up"               # from the name when the model says nothing
