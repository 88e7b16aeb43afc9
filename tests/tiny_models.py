"""A tiny regression problem and model shared by the callback tests (a real fit in milliseconds)."""

from __future__ import annotations

import numpy as np

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
