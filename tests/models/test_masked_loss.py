"""Padded time steps (Embedding(mask_zero=True)) are left out of the loss and metrics, as in Keras."""

import numpy as np

import nbtrain as keras
from nbtrain.layers import LSTM, Dense, Embedding
from nbtrain.models import Sequential


def tagger():
    keras.utils.set_random_seed(0)
    model = Sequential([Embedding(10, 4, mask_zero=True), LSTM(5, return_sequences=True),
                        Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def sequences():
    x = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8], [9, 1, 0, 0, 0]], dtype=np.float32)
    y = np.array([[0, 1, 2, 0, 0], [1, 1, 2, 2, 0], [2, 0, 0, 0, 0]], dtype=np.float32)
    return x, y


def test_padded_steps_do_not_count_in_loss_or_accuracy():
    x, y = sequences()
    model = tagger()
    probabilities = model.predict(x, verbose=0)
    real = x != 0
    picked = np.take_along_axis(probabilities, y[..., None].astype(int), axis=-1)[..., 0]
    expected_loss = float(np.mean(-np.log(picked[real])))
    expected_accuracy = float(np.mean(probabilities.argmax(-1)[real] == y[real]))
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(result["loss"], expected_loss, rtol=1e-5)
    np.testing.assert_allclose(result["accuracy"], expected_accuracy, rtol=1e-6)


def test_targets_at_padded_steps_do_not_change_training():
    x, y = sequences()
    other = y.copy()
    other[x == 0] = 2  # different labels where there is only padding
    first, second = tagger(), tagger()
    first.fit(x, y, epochs=3, batch_size=3, shuffle=False, verbose=0)
    second.fit(x, other, epochs=3, batch_size=3, shuffle=False, verbose=0)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
