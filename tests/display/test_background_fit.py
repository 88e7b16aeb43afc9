"""fit in a background thread: the handle, stopping, errors, and the Stop button's route."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
from tiny_models import SlowBatches

import nbtrain
from nbtrain.models.background import TrainingHandle, start_background_fit
from nbtrain.models.interrupts import TrainingInterrupted


def data(n=256):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype(int)


def model():
    m = nbtrain.Sequential([nbtrain.Input(shape=(4,)), nbtrain.layers.Dense(2, activation="softmax")], name="bg")
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_background_fit_returns_at_once_and_wait_gives_the_history():
    x, y = data()
    m, slow = model(), SlowBatches(0.02)      # 40 batches: training takes 0.8 s at least, so "running" is certain
    started = time.perf_counter()
    handle = start_background_fit(m, dict(x=x, y=y, epochs=5, batch_size=32, verbose=0, callbacks=[slow]))
    assert isinstance(handle, TrainingHandle)
    assert time.perf_counter() - started < 0.5 and not handle.done and handle.status == "running"
    history = handle.wait(timeout=60)
    assert handle.done and handle.status == "completed"
    assert history is m.history and len(history.history["loss"]) == 5
    assert slow.threads == {"nbtrain-fit-bg"}
    assert "handle.wait() returns the History" in repr(handle) and "running" not in repr(handle)


def test_stop_ends_after_the_current_batch_and_keeps_the_history():
    x, y = data(2048)
    m = model()
    handle = start_background_fit(m, dict(x=x, y=y, epochs=200, batch_size=32, verbose=0, callbacks=[SlowBatches(0.002)]))
    while not m.history or len(m.history.history.get("loss", [])) < 1:
        time.sleep(0.01)
    handle.stop()
    history = handle.wait(timeout=60)
    assert handle.status == "stopped" and m.stop_reason == "stopped"
    assert 1 <= len(history.history["loss"]) < 200


def test_exceptions_reach_wait():
    m = model()
    handle = start_background_fit(m, dict(x=np.zeros((10, 7), "float32"), y=np.zeros(10, int), epochs=1, verbose=0))
    with pytest.raises(ValueError):
        handle.wait(timeout=60)
    assert handle.status == "error" and isinstance(handle.exception, ValueError)


def test_wait_timeout():
    x, y = data(2048)
    m = model()
    handle = start_background_fit(m, dict(x=x, y=y, epochs=100, verbose=0, callbacks=[SlowBatches(0.01)]))
    with pytest.raises(TimeoutError, match="still running"):
        handle.wait(timeout=0.05)
    handle.stop()
    handle.wait(timeout=60)


def test_stop_button_reaches_a_background_fit():
    pytest.importorskip("ipywidgets")
    from nbtrain.display.dashboard import Dashboard
    from nbtrain.display.outputs import RecordingOutput

    x, y = data(2048)
    m = model()
    out = RecordingOutput()
    dash = Dashboard(output=out, stop_route="background", raise_errors=True)
    dash.open_early("bg", epochs=100)                       # in the calling cell, before the thread starts
    handle = start_background_fit(m, dict(x=x, y=y, epochs=100, verbose=0, callbacks=[SlowBatches(0.002), dash]))
    while "stop" not in dash.widgets or dash.state.epochs_done < 1:
        time.sleep(0.01)
    dash.widgets["stop"].value = True                      # what a click on the toggle sends to the kernel
    handle.wait(timeout=60)
    assert m.stop_reason == "stopped"
    assert len(out.outputs) == 1
    assert "stopped with the Stop button" in out.outputs[0]["text/plain"]


def test_handle_repr_follows_its_state():
    # Issue 11: the repr said "training in the background" whatever had happened since.
    x, y = data(2048)
    m = model()
    handle = start_background_fit(m, dict(x=x, y=y, epochs=200, batch_size=32, verbose=0,
                                          callbacks=[SlowBatches(0.002)]))
    assert "running in the background when shown" in repr(handle) and "handle.stop()" in repr(handle)
    while not m.history or len(m.history.history.get("loss", [])) < 1:
        time.sleep(0.01)
    handle.stop()
    handle.wait(timeout=60)
    epochs = len(m.history.epoch)
    assert repr(handle) == (f"<TrainingHandle for 'bg': stopped after {epochs} epoch{'s' if epochs != 1 else ''} "
                            f"({m.fit_outcome.detail}); handle.wait() returns the History.>")
    assert "Stop button" in m.fit_outcome.detail and "handle.stop()" in m.fit_outcome.detail

    done = start_background_fit(model(), dict(x=x[:64], y=y[:64], epochs=2, verbose=0))
    done.wait(timeout=60)
    assert repr(done) == "<TrainingHandle for 'bg': completed 2 epochs; handle.wait() returns the History.>"

    failed = start_background_fit(model(), dict(x=np.zeros((10, 7), "float32"), y=np.zeros(10, int), verbose=0))
    with pytest.raises(ValueError):
        failed.wait(timeout=60)
    assert repr(failed).startswith("<TrainingHandle for 'bg': failed (ValueError: ")
    assert repr(failed).endswith("; handle.wait() raises it.>")


# A process started in the background by a non-interactive shell ignores SIGINT, and Python keeps that.
@pytest.mark.skipif(os.name != "posix" or threading.current_thread() is not threading.main_thread()
                    or signal.getsignal(signal.SIGINT) is signal.SIG_IGN,
                    reason="needs SIGINT delivered to the main thread, and Python's handler for it")
def test_an_interrupt_while_waiting_stops_training_and_propagates():
    x, y = data(2048)
    m = model()
    handle = start_background_fit(m, dict(x=x, y=y, epochs=200, batch_size=32, verbose=0,
                                          callbacks=[SlowBatches(0.002)]))
    while not m.history or len(m.history.history.get("loss", [])) < 1:
        time.sleep(0.01)
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()   # Kernel -> Interrupt while waiting
    with pytest.raises(TrainingInterrupted, match=r"^Training interrupted in epoch \d+; model.history holds the"):
        handle.wait(timeout=60)
    assert handle.done and handle.status == "interrupted" and "interrupted after" in repr(handle)
    assert 1 <= len(m.history.history["loss"]) < 200
    assert handle.wait(timeout=1) is m.history          # later calls return the History
