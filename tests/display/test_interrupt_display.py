"""Interrupting fit (SIGINT, as Kernel -> Interrupt sends) with a real model and the dashboard attached."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

import nbtrain
from nbtrain.display.live import RecordOnly
from nbtrain.display.outputs import RecordingOutput

pytestmark = pytest.mark.skipif(threading.current_thread() is not threading.main_thread() or os.name != "posix",
                                reason="needs SIGINT delivered to the main thread")


def small_model():
    model = nbtrain.Sequential([nbtrain.Input(shape=(4,)), nbtrain.layers.Dense(8, activation="relu"),
                                nbtrain.layers.Dense(3, activation="softmax")], name="small")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class InterruptAt(nbtrain.callbacks.Callback):
    """Sends SIGINT to this process after a given batch and keeps the weights at that moment."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = None
        self.weights = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            self.weights = [w.copy() for w in self.model.get_weights()]
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("display_class", ["Dashboard", "RecordOnly"])
def test_interrupt_keeps_history_and_last_batch_weights_finalizes_and_propagates(display_class):
    if display_class == "Dashboard":
        pytest.importorskip("ipywidgets")
        from nbtrain.display.dashboard import Dashboard as display_class
    else:
        display_class = RecordOnly
    rng = np.random.default_rng(0)
    x = rng.normal(size=(320, 4)).astype("float32")
    y = rng.integers(0, 3, size=320)
    model = small_model()
    out = RecordingOutput()
    display = display_class(output=out, raise_errors=True)
    stopper = InterruptAt(epoch=2, batch=4)
    # fit re-raises the interrupt after finishing (issue 11; it used to return the History)
    with pytest.raises(KeyboardInterrupt, match="interrupted at epoch 3, batch 5; model.history holds the 2"):
        model.fit(x, y, epochs=6, batch_size=32, verbose=0, callbacks=[stopper, display])
    history = model.history
    assert model.stop_reason == "interrupted" and model.interrupted_at == (2, 5)
    assert history is model.history and len(history.history["loss"]) == 2       # epochs 1 and 2 finished
    for kept, now in zip(stopper.weights, model.get_weights()):
        np.testing.assert_array_equal(kept, now)                                 # no half-applied update
    record = out.outputs[-1]
    assert "interrupted at epoch 3, batch 5/10" in record["text/plain"]
    assert "image/png" in record and "application/vnd.jupyter.widget-view+json" not in record


def test_the_record_names_the_callback_that_stopped_training():
    class StopAtThird(nbtrain.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 2

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 3, size=64)
    out = RecordingOutput()
    small_model().fit(x, y, epochs=10, verbose=0, callbacks=[StopAtThird(), RecordOnly(output=out, raise_errors=True)])
    text = out.outputs[-1]["text/plain"].splitlines()[1]
    assert text.startswith("stopped early after 3 of 10 epochs in ") and text.endswith(
        ". Stopped by StopAtThird at epoch 3."), text
