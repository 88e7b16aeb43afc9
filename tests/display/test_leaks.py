"""No leaks across fits in a real kernel (issue 12): 20 runs of each kind of call leave no widget model open,
no trained model alive and no memory behind.

Each run is what re-running a notebook cell does: build a fresh model, train (or evaluate, or predict) it with
the widget dashboard (``NBTRAIN_PROGRESS=widgets``: the kernel has no browser, but the widget code runs and
its comm messages go out on iopub), and drop it. After a warm-up run, the kernel counts the open widget models,
the models still alive (a ``weakref.WeakSet`` fed by the factory) and the Python memory traced by
``tracemalloc``; after 20 more runs, all three must be back where they were (memory within 50 KB a run).
"""

from __future__ import annotations

import gc
import json
import weakref

import pytest

from display_helpers import FakeModel, simulate_fit

pytest.importorskip("ipywidgets")

from ipywidgets.widgets.widget import _instances as open_widgets  # noqa: E402  (ipywidgets 8's registry)

from nbtrain.display.dashboard import Dashboard  # noqa: E402
from nbtrain.display.outputs import RecordingOutput  # noqa: E402

# ----- in this process, on the fake clock: the dashboard closes what it opened and lets go of the model ---------

def finished_dashboard(clock, run, **kwargs):
    """A dashboard after ``run(dash, model)``, with the number of widget models it left open and a weak
    reference to the model it showed."""
    opened_before = len(open_widgets)
    dash = Dashboard(clock=clock, output=RecordingOutput(), raise_errors=True, timer=clock, **kwargs)
    model = FakeModel()
    run(dash, model)
    return dash, len(open_widgets) - opened_before, weakref.ref(model)


@pytest.mark.parametrize("stop_route", [None, "background", "awaiting"])
def test_a_fit_closes_every_widget_model_it_opened(clock, stop_route):
    seen = {}

    def fit_and_look(dash, model):
        simulate_fit(dash, clock, model=model, epochs=5, steps=50,
                     on_batch=lambda epoch, batch: seen.update(dash.widgets))
        assert dash.plot_count >= 1                        # the live plot's widgets were made and are closed too

    dash, left_open, model = finished_dashboard(clock, fit_and_look, stop_route=stop_route)
    assert left_open == 0
    assert ("stop" in seen) == (stop_route is not None)
    assert all(widget.comm is None for widget in seen.values())
    assert dash.model is None
    gc.collect()
    assert model() is None, "something the display left behind still holds the model"


def test_the_stop_button_lets_go_of_the_dashboard(clock):
    """A front end may still send a click on a closed button: nothing is observing it any more."""
    buttons = []

    def fit(dash, model):
        simulate_fit(dash, clock, model=model, epochs=2, steps=5,
                     on_batch=lambda epoch, batch: buttons.append(dash.widgets["stop"]))

    finished_dashboard(clock, fit, stop_route="background")
    assert buttons[-1]._trait_notifiers.get("value", {}).get("change", []) == []


@pytest.mark.parametrize("mode", ["evaluate", "predict"])
def test_evaluate_and_predict_close_their_widget_models(clock, mode):
    def run(dash, model):
        dash.set_model(model)
        dash.set_params({"verbose": 1, "epochs": 1, "steps": 5, "mode": mode})
        begin, batch_end, end = ((dash.on_test_begin, dash.on_test_batch_end, dash.on_test_end) if mode == "evaluate"
                                 else (dash.on_predict_begin, dash.on_predict_batch_end, dash.on_predict_end))
        begin()
        for batch in range(5):
            clock.advance(0.01)
            batch_end(batch, {"loss": 0.5})
        end({"loss": 0.5} if mode == "evaluate" else None)

    dash, left_open, model = finished_dashboard(clock, run)
    assert left_open == 0 and dash.widgets == {}
    gc.collect()
    assert model() is None


# ----- in a real kernel: 20 runs of each kind -------------------------------------------------------------------

RUNS = 20
MAX_BYTES_PER_RUN = 50 * 1024

SETUP = """\
%matplotlib inline
import gc, json, os, tracemalloc, weakref
import numpy as np
import ipywidgets
import nbtrain
from ipywidgets.widgets.widget import _instances as open_widgets   # the registry of ipywidgets 8

os.environ['NBTRAIN_PROGRESS'] = 'widgets'
nbtrain.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(128, 8)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype(int)
alive = weakref.WeakSet()

def fresh_model():
    model = nbtrain.Sequential([nbtrain.Input(shape=(8,)), nbtrain.layers.Dense(8, activation="relu"),
                                nbtrain.layers.Dense(2, activation="softmax")], name="tiny")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    alive.add(model)
    return model

def counts():
    gc.collect()
    return {"widgets": len(open_widgets), "models": len(alive), "bytes": tracemalloc.get_traced_memory()[0]}

tracemalloc.start()
"""

# One run of each kind; ``model`` is a fresh model, deleted after the run as a re-run cell would replace it.
CALLS = {
    "fit": "model.fit(x, y, epochs=2, batch_size=32, validation_split=0.25)",
    "fit_async": "await model.fit_async(x, y, epochs=2, batch_size=32, validation_split=0.25)",
    "background": "model.fit(x, y, epochs=2, batch_size=32, validation_split=0.25, background=True).wait()",
    "evaluate": "model.evaluate(x, y, batch_size=32)",
    "predict": "model.predict(x, batch_size=32)",
}


def runs_code(call: str, runs: int) -> str:
    """A cell running ``call`` on ``runs`` fresh models, then printing the counts as one JSON line."""
    return (f"for _ in range({runs}):\n"
            f"    model = fresh_model()\n"
            f"    result = {call}\n"
            f"    del model, result\n"
            f"print(json.dumps(counts()))\n")


@pytest.fixture(scope="module")
def leak_kernel():
    pytest.importorskip("ipykernel")
    pytest.importorskip("jupyter_client")
    from jupyter_client.manager import start_new_kernel

    from test_notebook_run import ROOT, execute, kernel_env

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(ROOT), env=kernel_env())
    try:
        execute(kc, SETUP)
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def printed_counts(kc, code: str) -> dict:
    from test_notebook_run import execute

    messages = execute(kc, code)
    lines = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream").strip().splitlines()
    return json.loads(lines[-1])


@pytest.mark.parametrize("kind", list(CALLS))
def test_runs_leave_no_widgets_models_or_memory_behind(leak_kernel, kind):
    kc = leak_kernel
    # the warm-up: imports, caches (matplotlib's fonts, the layer classes) and first-call allocations
    before = printed_counts(kc, runs_code(CALLS[kind], 2))
    after = printed_counts(kc, runs_code(CALLS[kind], RUNS))
    widgets_per_run = (after["widgets"] - before["widgets"]) / RUNS
    bytes_per_run = (after["bytes"] - before["bytes"]) / RUNS
    print(f"{kind}: {widgets_per_run:g} widget models left per run, {after['models']} models alive "
          f"(before: {before['models']}), {bytes_per_run / 1024:.1f} KB per run")
    assert after["widgets"] == before["widgets"], f"{widgets_per_run:g} widget models left open per {kind}"
    assert after["models"] == 0, f"{after['models']} of {RUNS + 2} models still alive after {kind}"
    assert bytes_per_run < MAX_BYTES_PER_RUN, f"{bytes_per_run / 1024:.1f} KB kept per {kind}"
