"""Which display fit/evaluate/predict get where, the NBTRAIN_PROGRESS override, and import hygiene."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nbtrain.callbacks.progbar import ProgbarLogger
from nbtrain.display import environment as env


@pytest.fixture
def place(monkeypatch):
    """Pretend to run in a given place: ``place(notebook=True, person=True, widgets=True)``."""
    monkeypatch.delenv(env.PROGRESS_ENV, raising=False)

    def set_place(notebook=True, person=True, widgets=True):
        monkeypatch.setattr(env, "in_notebook_kernel", lambda: notebook)
        monkeypatch.setattr(env, "executed_without_a_person", lambda: not person)
        monkeypatch.setattr(env, "widgets_available", lambda: widgets)

    return set_place


@pytest.mark.parametrize("notebook, person, widgets, verbose, expected", [
    (True, True, True, "auto", "dashboard"),
    (True, True, True, 1, "dashboard"),          # the Keras tutorials pass verbose=1 explicitly
    (True, True, True, 2, "epochs"),
    (True, True, True, 0, "off"),
    (True, True, False, "auto", "html"),         # no ipywidgets: HTML through a display handle
    (True, False, True, "auto", "record"),       # nbclient / nbval / papermill
    (True, False, True, 1, "record"),
    (False, True, True, "auto", "text"),         # terminal
    (False, True, True, 2, "epochs"),
])
def test_choice_by_place_and_verbose(place, notebook, person, widgets, verbose, expected):
    place(notebook=notebook, person=person, widgets=widgets)
    assert env.choose_display(verbose) == expected


@pytest.mark.parametrize("value, notebook, expected", [
    ("widgets", True, "dashboard"), ("html", True, "html"), ("text", True, "text"), ("epochs", True, "epochs"),
    ("off", True, "off"), ("widgets", False, "text"), ("html", False, "text"), ("  Widgets ", True, "dashboard"),
])
def test_environment_variable_overrides(place, monkeypatch, value, notebook, expected):
    place(notebook=notebook, person=False)
    monkeypatch.setenv(env.PROGRESS_ENV, value)
    assert env.choose_display("auto") == expected


def test_unknown_override_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(env.PROGRESS_ENV, "fancy")
    with pytest.raises(ValueError, match="NBTRAIN_PROGRESS='fancy' is not one of widgets, html, text, epochs, off"):
        env.choose_display("auto")


def test_callbacks_for_each_choice(place, monkeypatch):
    from nbtrain.display.dashboard import Dashboard
    from nbtrain.display.html_display import HtmlDashboard
    from nbtrain.display.text import INSTALL_NOTE
    from nbtrain.display.live import RecordOnly

    place(notebook=True, person=True, widgets=True)
    assert isinstance(env.progress_callback_for("auto", "fit"), Dashboard)
    assert env.progress_callback_for("auto", "fit", stop_route="background").stop_route == "background"
    place(notebook=True, person=True, widgets=False)
    html = env.progress_callback_for("auto", "fit")
    assert isinstance(html, HtmlDashboard) and html.note == INSTALL_NOTE and "pip install" in INSTALL_NOTE
    place(notebook=True, person=False)
    assert type(env.progress_callback_for(1, "evaluate")) is RecordOnly
    place(notebook=False)
    text = env.progress_callback_for("auto", "fit")
    assert isinstance(text, ProgbarLogger)
    epochs = env.progress_callback_for(2, "fit")
    assert isinstance(epochs, ProgbarLogger) and epochs.verbose == 2
    assert env.progress_callback_for(0, "fit") is None


def test_outside_a_kernel_nothing_is_a_notebook():
    assert env.in_notebook_kernel() is False
    assert env.executed_without_a_person() is False


def test_background_refused_on_ipykernel_7_0(monkeypatch):
    import types

    monkeypatch.setitem(sys.modules, "ipykernel", types.SimpleNamespace(__version__="7.0.1"))
    assert "ipykernel 7.0.1 cannot send widget updates from a background thread" in env.background_widgets_problem()
    monkeypatch.setitem(sys.modules, "ipykernel", types.SimpleNamespace(__version__="7.4.0"))
    assert env.background_widgets_problem() is None


def test_importing_nbtrain_imports_no_front_end_library():
    code = ("import sys, nbtrain, nbtrain.display, nbtrain.display.environment, nbtrain.display.plots, "
            "nbtrain.display.static, nbtrain.display.format, nbtrain.models.background\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('ipywidgets', 'matplotlib', 'IPython'))\n"
            "print(bad)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_terminal_fit_uses_the_text_bar(capsys):
    import numpy as np

    import nbtrain

    model = nbtrain.Sequential([nbtrain.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = (x[:, 0] > 0).astype(int)
    model.fit(x, y, epochs=2, batch_size=16)
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "4/4" in out
