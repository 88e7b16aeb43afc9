"""The Playground widget without a browser: what it shows, what its controls do, and that it leaves nothing
running or open when closed (ipywidgets talk to a dummy comm here; tests/widgets/test_playground_kernel.py runs
a real kernel)."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from ipywidgets.widgets.widget import _instances as open_widgets  # noqa: E402

import nbtrain  # noqa: E402
from nbtrain.display.outputs import WIDGET_VIEW, RecordingOutput  # noqa: E402
from nbtrain.widgets import Playground  # noqa: E402
from nbtrain.widgets import playground as playground_module  # noqa: E402


def live_playground(**settings):
    output = RecordingOutput()
    playground = Playground(output=output, live=True, **({"dataset": "xor", "samples": 120} | settings))
    playground.show()
    return playground, output


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_shows_the_widget_and_under_it_the_static_record():
    playground, output = live_playground()
    try:
        widget, record = output.outputs
        assert WIDGET_VIEW in widget and "Playground xor" in widget["text/plain"]
        assert {"text/plain", "text/html", "image/png"} <= set(record)
        assert "nbtrain-playground-record" in record["text/html"] and "<style>" in record["text/html"]
        assert record["text/plain"].startswith("Playground: epoch 0 \u00b7 not trained yet")
    finally:
        playground.close()


def test_without_a_person_the_cell_shows_the_record_alone_and_it_is_deterministic():
    def run():
        nbtrain.utils.set_random_seed(0)
        output = RecordingOutput()
        playground = Playground(dataset="circles", samples=100, output=output, live=False)
        playground.train(5)
        playground.show()
        playground.train(5)          # a later cell: nbval compares each cell's own output, so no update
        return output.outputs

    first, second = run(), run()
    assert len(first) == 1 and WIDGET_VIEW not in first[0]
    assert first == second
    assert first[0]["text/plain"].startswith("Playground: epoch 5 \u00b7 train loss ")


def test_step_reset_and_the_network_controls():
    playground, output = live_playground()
    ws = playground.widgets
    try:
        ws["step"].click()
        assert playground.epoch == 1 and "000,001" in ws["stats"].value
        assert "epoch 1" in output.outputs[1]["text/plain"]           # the record follows a step
        model = playground.model
        ws["add_layer"].click()
        assert playground.config.hidden == [4, 2, 2] and playground.model is not model and playground.epoch == 0
        assert ws["layer:2"].layout.display == "flex" and ws["layer:3"].layout.display == "none"
        ws["layer:0"].children[2].click()                              # + on layer 1
        assert playground.config.hidden == [5, 2, 2]
        assert "<b>5</b> neurons" in ws["layer_label:0"].value
        ws["feature:x1*x2"].value = True
        assert playground.config.features == ["x1", "x2", "x1*x2"] and playground.model.input_shape[-1] == 3
        ws["feature:x1"].value = False
        ws["feature:x2"].value = False
        ws["feature:x1*x2"].value = False                              # the last feature stays on
        assert playground.config.features == ["x1*x2"] and ws["feature:x1*x2"].value
        ws["step"].click()
        ws["reset"].click()
        assert playground.epoch == 0 and playground.config.seed == 1
        ws["dataset"].value = "spiral"
        assert playground.session.config.dataset == "spiral" and playground.epoch == 0
    finally:
        playground.close()


def test_play_trains_in_the_background_and_pause_stops_it():
    playground, _ = live_playground()
    ws = playground.widgets
    try:
        images = []
        ws["boundary"].observe(lambda change: images.append(change["new"]), names="value")
        ws["play"].value = True                                   # the Play button
        assert playground.playing and ws["play"].description == "Pause"
        assert wait_for(lambda: len(images) >= 3), "no frames while playing"
        ws["learning_rate"].value = 0.3                           # while it runs: no reset
        model = playground.model
        assert wait_for(lambda: playground.model.optimizer.learning_rate == pytest.approx(0.3))
        assert playground.model is model and playground.playing
        ws["play"].value = False                                  # Pause
        assert not playground.playing and ws["play"].description == "Play"
        frames, epoch = len(images), playground.epoch
        time.sleep(0.3)
        assert playground.epoch == epoch and len(images) <= frames + 1
        assert not any(t.name == "nbtrain-playground" for t in threading.enumerate())
        ws["play"].value = True
        assert wait_for(lambda: playground.epoch > epoch)
        ws["add_layer"].click()                                   # a network change while playing: reset, play on
        assert playground.epoch < epoch + 50 and playground.playing
    finally:
        playground.close()
    assert not any(t.name == "nbtrain-playground" for t in threading.enumerate())


def test_a_diverging_run_stops_and_says_why_in_the_widget():
    playground, _ = live_playground(dataset="plane", learning_rate=10.0, hidden=[8, 8], activation="relu",
                                    features=["x1", "x2", "x1^2", "x2^2"])
    notice = playground.widgets["notice"]
    try:
        assert notice.layout.display == "none"
        playground.play()
        assert wait_for(lambda: playground.error is not None), "the loss never overflowed"
        assert wait_for(lambda: not playground.playing)
        assert notice.layout.display == "block" and "Lower the learning rate" in notice.value
        assert isinstance(playground.error, FloatingPointError)
        playground.widgets["learning_rate"].value = 0.01
        playground.widgets["reset"].click()
        assert notice.layout.display == "none" and playground.error is None
    finally:
        playground.close()


def test_close_leaves_no_thread_no_widget_model_and_frees_the_model():
    before = len(open_widgets)
    playground, output = live_playground()
    assert len(open_widgets) > before
    playground.play()
    assert wait_for(lambda: playground.epoch >= 2)
    model = weakref.ref(playground.model)
    playground.close()
    assert len(open_widgets) == before
    assert not any(t.name == "nbtrain-playground" for t in threading.enumerate())
    assert WIDGET_VIEW not in output.outputs[1] and "epoch" in output.outputs[1]["text/plain"]
    playground = None      # what re-running the cell does to the old one
    gc.collect()
    assert model() is None


def test_running_the_cell_again_closes_the_previous_playground(monkeypatch):
    monkeypatch.setattr(playground_module, "_cell_id", lambda: "cell-1")
    first, _ = live_playground()
    first.play()
    second, _ = live_playground()
    try:
        assert first._closed and not first.playing and not second._closed
    finally:
        second.close()


def test_training_pauses_when_the_last_view_goes():
    """The front end reports the views it shows (``_view_count``): an output cleared, or a cell re-run where the
    front end does not name the cell, leaves none, and nothing should train for nobody."""
    playground, _ = live_playground()
    root = playground.widgets["root"]
    try:
        root._view_count = 1               # as the front end reports it
        playground.play()
        assert wait_for(lambda: playground.epoch >= 1)
        root._view_count = 0
        assert not playground.playing
        assert not any(t.name == "nbtrain-playground" for t in threading.enumerate())
    finally:
        playground.close()


def test_the_code_button_shows_code_that_runs_as_it_stands():
    playground, _ = live_playground(features=["x1", "x2", "x1*x2"], hidden=[3], regularization="L2",
                                    regularization_rate=0.001, optimizer="adam", learning_rate=0.01)
    try:
        playground.widgets["code_button"].value = True
        shown = playground.widgets["code"].value
        assert "nbtrain.layers.Dense(3, activation=&quot;tanh&quot;" in shown
        code = playground.code()
        assert "nbtrain.regularizers.L2(0.001)" in code and "Adam(learning_rate=0.01)" in code
        assert max(len(line) for line in code.splitlines()) <= 88          # reads without scrolling
        namespace = {}
        exec(compile(code.replace("epochs=100", "epochs=3"), "<playground code>", "exec"), namespace)
        model = namespace["model"]
        assert model.input_shape == (None, 3) and [layer.units for layer in model.layers] == [3, 1]
        # the same data and features as the playground's
        np.testing.assert_array_equal(namespace["features_test"], playground.test_data[0])
    finally:
        playground.close()


def test_the_code_of_every_feature_fits_in_a_notebook_line():
    playground = Playground(features=list(nbtrain.widgets.FEATURES), hidden=[8] * 6, regularization="L1",
                            regularization_rate=0.003, live=False)
    code = playground.code()
    assert max(len(line) for line in code.splitlines()) <= 88, code
    namespace = {}
    exec(compile(code.replace("epochs=100", "epochs=1"), "<playground code>", "exec"), namespace)
    assert namespace["features_train"].shape[1] == 7


def test_your_own_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 2)) * 10
    y = (x[:, 0] ** 2 + x[:, 1] ** 2 < 100).astype(int)
    output = RecordingOutput()
    playground = Playground(x, y, output=output, live=True, hidden=[4])
    playground.show()
    try:
        playground.step(2)
        assert playground.widgets["dataset"].disabled and "your data" in output.outputs[1]["text/plain"]
        assert playground.code().splitlines()[3].startswith("# x, y: your data")
    finally:
        playground.close()


@pytest.mark.parametrize("kind", ["regression", "classes"])
def test_your_own_regression_or_multiclass_data(kind):
    rng = np.random.default_rng(2)
    x = rng.uniform(-3, 3, size=(90, 2))
    y = np.tanh(x[:, 0]) * 2.5 if kind == "regression" else (x[:, 0] > 0).astype(int) + (x[:, 1] > 1)
    output = RecordingOutput()
    playground = Playground(x, y, output=output, live=True, hidden=[5])
    playground.show()
    try:
        playground.step(2)
        assert playground.session.kind == kind and playground.epoch == 2
        assert "train loss" in output.outputs[1]["text/plain"]
        units = playground.model.layers[-1].units
        assert units == (1 if kind == "regression" else 3)
        assert ("mse" in playground.code()) == (kind == "regression")
    finally:
        playground.close()


def test_showing_twice_shows_the_same_widgets():
    playground, output = live_playground()
    try:
        before = len(open_widgets)
        playground.show()
        assert len(open_widgets) == before and len(output.outputs) == 4
    finally:
        playground.close()


def test_unknown_settings_get_a_suggestion():
    with pytest.raises(TypeError, match="Did you mean 'hidden'"):
        Playground(hiden=[4])


def test_frame_cost_and_traffic_are_small():
    playground, _ = live_playground(dataset="spiral", hidden=[8, 8])
    try:
        playground.step(3)
        sent = playground.bytes_sent
        playground._draw_frame()
        assert playground.bytes_sent - sent < 20_000       # boundary, network and curves of one frame
    finally:
        playground.close()
