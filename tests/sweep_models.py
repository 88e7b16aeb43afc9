"""Small data and model builders shared by the experiments tests. They are module-level functions of an
importable module (tests/ is on sys.path; the Dask workers get it on theirs), so that every executor, local
processes and Dask workers included, can run them."""

from __future__ import annotations

import os
import signal

import numpy as np

import nbtrain
from nbtrain.callbacks import Callback


def data(n=96, features=6, seed=0):
    """A two-class problem that a small MLP learns in a few epochs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    return x, y


def build(optimizer="adam", units=8, learning_rate=None, fail=False, die=False):
    """A compiled 6-units-2 MLP; ``fail`` raises in build, ``die`` names the model so that ``KillAtEpoch`` ends
    the process running it."""
    if fail:
        raise RuntimeError("this config is broken on purpose")
    model = nbtrain.Sequential([nbtrain.Input((6,)), nbtrain.layers.Dense(units, activation="relu"),
                                nbtrain.layers.Dense(2, activation="softmax")], name="doomed" if die else None)
    if learning_rate is not None:
        optimizer = nbtrain.optimizers.get(optimizer).__class__(learning_rate=learning_rate)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class KillAtEpoch(Callback):
    """Kills the process training a model named ``doomed`` at the end of its ``epoch``-th epoch (a worker
    that dies mid-run)."""

    def __init__(self, epoch=1):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.model.name == "doomed" and epoch + 1 >= self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


class InterruptAtEpoch(Callback):
    """Sends this process SIGINT (Kernel -> Interrupt) at the end of epoch ``epoch`` of the model with ``units``."""

    def __init__(self, units, epoch=1):
        super().__init__()
        self.units, self.epoch = units, epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.model.layers[0].units == self.units and epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)
