"""The terminal progress bar: Keras's format, throttled redraws, and clean lines when not a terminal."""

import io

import numpy as np

from nbtrain.callbacks.formatting import format_keras_eta as format_duration
from nbtrain.callbacks.formatting import format_time_per_step
from nbtrain.callbacks.progbar import Progbar, ProgbarLogger, format_value
from nbtrain.layers import Dense
from nbtrain.models import Sequential


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_formatting_rules_match_keras():
    assert format_duration(42) == "42s" and format_duration(65) == "1:05" and format_duration(3723) == "1:02:03"
    assert format_time_per_step(0.004) == "4ms/step" and format_time_per_step(2) == "2s/step"
    assert format_time_per_step(0.0005) == "500us/step"
    assert format_value(0.12345) == "0.1235" and format_value(0.0001) == "1.0000e-04"


def test_live_bar_is_throttled_and_always_shows_the_last_step():
    clock, out = FakeClock(), FakeTerminal()
    bar = Progbar(100, live=True, out=out, clock=clock)
    for step in range(1, 101):
        clock.now += 0.001
        bar.update(step, {"loss": 0.5})
    bar.update(100, {"loss": 0.5}, finalize=True)
    draws = out.getvalue().count("\r")
    assert 2 <= draws <= 5  # 0.1 s of steps at a 0.05 s refresh interval, plus the final line
    assert out.getvalue().endswith("\n") and "100/100" in out.getvalue()


def test_fit_to_a_non_terminal_prints_one_clean_line_per_epoch():
    out = io.StringIO()
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = np.zeros((100, 2), np.float32), np.zeros((100, 1), np.float32)
    model.fit(x, y, epochs=2, batch_size=10, validation_split=0.2, callbacks=[ProgbarLogger(out=out)])
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and "\b" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert lines[1].startswith("8/8 ━━━━━━━━━━━━━━━━━━━━ ")
    assert lines[1].endswith(" - loss: 0.0000e+00 - mae: 0.0000e+00 - val_loss: 0.0000e+00 - val_mae: 0.0000e+00")


def test_verbose_two_prints_keras_compact_line():
    out, clock = io.StringIO(), FakeClock()
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, batch_size=2, verbose=2,
              callbacks=[ProgbarLogger(verbose=2, out=out, clock=clock)])
    assert out.getvalue().startswith("2/2 - 0s - 0s/step - loss: ")


def test_evaluate_and_predict_show_a_bar_but_validation_inside_fit_is_silent():
    out = io.StringIO()
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    model.evaluate(np.ones((4, 2)), np.ones((4, 1)), batch_size=2, callbacks=[ProgbarLogger(out=out)])
    model.predict(np.ones((4, 2)), batch_size=2, callbacks=[ProgbarLogger(out=out)])
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("2/2") and "loss" in lines[0] and lines[1].startswith("2/2")
