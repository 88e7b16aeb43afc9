"""Kernel -> Interrupt (SIGINT) during fit stops at a batch boundary, keeps the history, then propagates."""

import io
import os
import signal

import numpy as np
import pytest

from nbtrain.callbacks import Callback, ProgbarLogger
from nbtrain.layers import Dense
from nbtrain.models import Sequential
from nbtrain.models.interrupts import TrainingInterrupted


class InterruptAt(Callback):
    """Sends SIGINT to this process in the middle of a chosen batch, like Kernel -> Interrupt does."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = None
        self.weights_after_batch = None
        self.ended_with = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            os.kill(os.getpid(), signal.SIGINT)

    def on_train_batch_end(self, batch, logs=None):
        self.weights_after_batch = self.model.get_weights()

    def on_train_end(self, logs=None):
        self.ended_with = self.model.stop_reason


def make_model():
    model = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_interrupt_keeps_history_and_consistent_weights_then_propagates():
    # Until issue 11 fit returned the History after an interrupt, so Run All went on with the next cell; now it
    # keeps the History on model.history and raises a KeyboardInterrupt with a one-line message.
    x, y = np.random.default_rng(0).random((64, 3)), np.random.default_rng(1).random((64, 1))
    model = make_model()
    spy = InterruptAt(epoch=2, batch=3)
    handler_before = signal.getsignal(signal.SIGINT)   # Python's own, or SIG_IGN in a shell's background job
    with pytest.raises(TrainingInterrupted) as raised:
        model.fit(x, y, epochs=10, batch_size=8, verbose=0, callbacks=[spy])
    assert isinstance(raised.value, KeyboardInterrupt)
    assert str(raised.value) == ("Training interrupted at epoch 3, batch 4; model.history holds the 2 completed "
                                 "epochs and the weights are those of the last completed batch.")
    history = model.history
    assert raised.value.history is history and (raised.value.epoch, raised.value.batch) == (3, 4)
    assert history.epoch == [0, 1] and len(history.history["loss"]) == 2
    assert model.stop_reason == "interrupted" and model.interrupted_at == (2, 4)
    assert history.stop_reason == "interrupted" and spy.ended_with == "interrupted"
    for expected, actual in zip(spy.weights_after_batch, model.get_weights()):
        np.testing.assert_array_equal(expected, actual)
    # The handler that was there before fit is back: the next fit trains normally.
    assert signal.getsignal(signal.SIGINT) is handler_before
    assert len(model.fit(x, y, epochs=1, verbose=0).epoch) == 1


def test_second_interrupt_raises_at_once():
    class DoubleInterrupt(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    model = make_model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, verbose=0, callbacks=[DoubleInterrupt()])
    assert model.stop_reason == "interrupted"


def test_errors_still_finalize_callbacks():
    ended = []

    class Boom(Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise RuntimeError("boom")

        def on_train_end(self, logs=None):
            ended.append(self.model.stop_reason)

    model = make_model()
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(np.ones((8, 3)), np.ones((8, 1)), verbose=0, callbacks=[Boom()])
    assert ended == ["error"]


class InterruptAtEpochEnd(Callback):
    """Sends SIGINT in on_epoch_end, after the epoch's last batch (as if it came during validation)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)


def test_an_interrupt_after_the_last_batch_of_an_epoch_still_stops_and_propagates():
    x, y = np.ones((16, 3)), np.ones((16, 1))
    model = make_model()
    with pytest.raises(TrainingInterrupted, match=r"^Training interrupted at epoch 2, batch 2; model.history holds "
                                                  r"the 2 completed epochs and"):
        model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[InterruptAtEpochEnd(1)])
    assert model.interrupted_at == (1, 2) and model.history.epoch == [0, 1]


def test_fit_async_propagates_an_interrupt_too():
    import asyncio

    model = make_model()
    with pytest.raises(TrainingInterrupted, match="at epoch 1, batch 2; model.history holds no completed epoch"):
        asyncio.run(model.fit_async(np.ones((64, 3)), np.ones((64, 1)), epochs=3, batch_size=8, verbose=0,
                                    callbacks=[InterruptAt(epoch=0, batch=1)]))
    assert model.stop_reason == "interrupted" and model.history.epoch == []


def test_ipython_shows_the_interrupt_as_one_line():
    error = TrainingInterrupted(history=None, epoch=4, batch=18, epochs_done=1)
    lines = error._render_traceback_()     # IPython calls this instead of formatting the traceback
    assert len(lines) == 1 and lines[0].endswith(": Training interrupted at epoch 4, batch 18; model.history "
                                                 "holds 1 completed epoch and the weights are those of the "
                                                 "last completed batch.")


def test_the_text_bar_ends_its_line_and_says_where_it_stopped():
    out = io.StringIO()
    model = make_model()
    with pytest.raises(TrainingInterrupted):
        model.fit(np.ones((64, 3)), np.ones((64, 1)), epochs=3, batch_size=8,
                  callbacks=[InterruptAt(epoch=1, batch=2), ProgbarLogger(out=out, live=True)])
    text = out.getvalue()
    assert text.endswith("\nTraining interrupted at epoch 2, batch 3/8. The model keeps the weights of the last "
                         "completed batch; model.history holds the completed epochs.\n")
    message_line = text.split("\n")[-2]
    assert message_line.startswith("Training interrupted")    # the half-drawn bar's line was ended first
