"""A tiny regression problem and model shared by the callback tests (a real fit in milliseconds), and a callback
that slows training down for the tests that act while a fit runs."""

from __future__ import annotations

import threading
import time

import numpy as np

from nbtrain.callbacks import Callback

from nbtrain.layers import Dense, Input
from nbtrain.models import Sequential
from nbtrain.optimizers import SGD


def data(n=8):
    """``n`` samples of 3 features with a linear target."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
    return x, y


def model(metrics=("mae",)):
    """A compiled one-layer linear model."""
    m = Sequential([Input(shape=(3,)), Dense(1)])
    m.compile(optimizer=SGD(learning_rate=0.01), loss="mse", metrics=list(metrics) if metrics else None)
    return m


class SlowBatches(Callback):
    """Makes each training batch last ``seconds`` longer, so a fit runs long enough to act on; counts the batches
    and records which threads ran them."""

    def __init__(self, seconds=0.003):
        super().__init__()
        self.seconds = seconds
        self.batches = 0
        self.threads = set()

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        self.threads.add(threading.current_thread().name)
        time.sleep(self.seconds)
