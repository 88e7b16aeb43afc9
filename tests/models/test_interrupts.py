"""Kernel -> Interrupt (SIGINT) during fit stops at a batch boundary, keeps the history, then propagates."""

import os
import signal

import numpy as np
import pytest

from nbtrain.callbacks import Callback
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
    # The handler is removed again: the next fit trains normally.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
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
