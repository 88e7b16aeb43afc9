"""Keras 3's forgiving input rank: (samples,) feeds an input of shape (None, 1); one extra axis of 1 is dropped."""

from __future__ import annotations

import numpy as np
import pytest

import nbtrain
from nbtrain.layers import Dense, Flatten, Input, Normalization


def one_feature_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(50, 200, size=n).astype("float32")           # one feature, as a 1-D column
    return x, (0.2 * x + 3 + rng.normal(0, 1, size=n)).astype("float32")


def test_the_regression_tutorials_one_feature_model_trains_on_a_1d_array():
    # TensorFlow's "Basic regression" tutorial, horsepower section, with only the imports changed
    x, y = one_feature_data()
    normalizer = Normalization(input_shape=[1], axis=None)
    normalizer.adapt(x)
    model = nbtrain.Sequential([normalizer, Dense(units=1)])
    model.compile(optimizer=nbtrain.optimizers.Adam(learning_rate=0.1), loss="mean_absolute_error")
    history = model.fit(x, y, epochs=60, verbose=0, validation_split=0.2)
    assert history.history["val_loss"][-1] < 2.0
    assert model.predict(np.linspace(0, 250, 5), verbose=0).shape == (5, 1)
    assert np.isfinite(model.evaluate(x, y, verbose=0))


def test_a_trailing_axis_of_one_is_dropped_for_a_functional_input():
    inputs = Input(shape=(3,))
    model = nbtrain.Model(inputs, Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 3, 1), dtype="float32")
    assert model.predict(x, verbose=0).shape == (4, 1)
    model.fit(x, np.zeros((4, 1)), verbose=0)


def test_other_rank_mismatches_still_get_the_clear_error():
    model = nbtrain.Sequential([Input(shape=(4, 2)), Flatten(), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 4, 2\) but got an array of shape \(5, 8\)"):
        model.predict(np.ones((5, 8), dtype="float32"), verbose=0)
