"""TerminateOnNaN through real fits that blow up: stop after the batch, or raise Keras's RuntimeError."""

import io
import re

import numpy as np
import pytest

from nbtrain.callbacks.terminate_on_nan import TerminateOnNaN
from nbtrain.layers import Dense, Input
from nbtrain.losses import Loss
from nbtrain.models import Sequential
from nbtrain.optimizers import SGD


def data(n=16):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32) * 100
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
    return x, y


def exploding_model():
    # A huge learning rate on large inputs makes the weights, and then the loss, overflow within a few batches.
    m = Sequential([Input(shape=(3,)), Dense(1)])
    m.compile(optimizer=SGD(learning_rate=1e6), loss="mse")
    return m


overflow_expected = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                                               "ignore:invalid value encountered:RuntimeWarning")


@overflow_expected
def test_nan_or_inf_loss_stops_training():
    m = exploding_model()
    x, y = data()
    out = io.StringIO()
    history = m.fit(x, y, batch_size=2, epochs=50, verbose=0, callbacks=[TerminateOnNaN(out=out)])
    assert len(history.epoch) == 1
    assert not np.isfinite(history.history["loss"][0])  # the epoch's invalid loss is still recorded
    assert m.stop_reason == "stopped"
    # Epochs and batches are counted from 1 where people read them (issue 11; Keras prints "Batch 2:", from 0).
    message = out.getvalue()
    match = re.fullmatch(r"Epoch 1, batch (\d+): invalid loss \((nan|inf)\), terminating training\n", message)
    assert match, message
    batch = int(match.group(1))
    assert 1 < batch <= 8  # stopped inside the first epoch, not at its end
    assert m.fit_outcome.detail == f"TerminateOnNaN: the loss was {match.group(2)} at epoch 1, batch {batch}"
    assert history.stop_detail == m.fit_outcome.detail


@overflow_expected
def test_raise_error_raises_keras_runtime_error():
    m = exploding_model()
    x, y = data()
    with pytest.raises(RuntimeError, match=r"^NaN or Inf loss encountered at epoch 1, batch \d+\. Loss value: "
                                           r"(nan|inf)\. Terminating training immediately\.$"):
        m.fit(x, y, batch_size=2, epochs=50, verbose=0, callbacks=[TerminateOnNaN(raise_error=True)])
    assert m.stop_reason == "error"


class NaNAfter(Loss):
    """MSE that turns NaN from the third call on."""

    def __init__(self):
        super().__init__(name="nan_after")
        self.calls = 0

    def call(self, y_true, y_pred):
        self.calls += 1
        value = np.mean((y_pred - y_true) ** 2, axis=-1)
        return value * np.nan if self.calls > 2 else value

    def call_gradient(self, y_true, y_pred, upstream):
        return upstream[..., None] * 2 * (y_pred - y_true) / y_pred.shape[-1]


def test_a_loss_that_returns_nan_stops_at_that_batch():
    x, y = data(8)
    callback = TerminateOnNaN(out=io.StringIO())
    m = Sequential([Input(shape=(3,)), Dense(1)])
    m.compile(optimizer=SGD(learning_rate=1e-6), loss=NaNAfter())
    history = m.fit(x / 100, y / 100, batch_size=2, epochs=3, verbose=0, callbacks=[callback])
    assert callback.out.getvalue() == "Epoch 1, batch 3: invalid loss (nan), terminating training\n"   # 1-based
    assert len(history.epoch) == 1


def test_finite_losses_do_not_stop():
    m = Sequential([Input(shape=(3,)), Dense(1)])
    m.compile(optimizer=SGD(learning_rate=0.001), loss="mse")
    x, y = data(8)
    history = m.fit(x / 100, y / 100, epochs=3, verbose=0, callbacks=[TerminateOnNaN()])
    assert len(history.epoch) == 3 and m.stop_reason == "completed"


def test_raise_error_must_be_a_bool():
    with pytest.raises(TypeError, match="raise_error to be True or False"):
        TerminateOnNaN(raise_error="yes")
    assert repr(TerminateOnNaN()) == "TerminateOnNaN(raise_error=False)"
