"""A Sequential model inside another model: the TensorFlow quickstart's probability model, autoencoders built from
an encoder and a decoder, and a frozen base model reused in a functional model. The layers are shared, not copied."""

from __future__ import annotations

import numpy as np
import pytest

import nbtrain
from nbtrain.layers import Dense, Dropout, Flatten, Input, Softmax


def digits():
    (x, y), _ = nbtrain.datasets.digits.load_data()
    return x.astype("float32") / 16, y


def test_the_tensorflow_quickstart_probability_model():
    nbtrain.utils.set_random_seed(0)
    x, y = digits()
    model = nbtrain.Sequential([Flatten(input_shape=(8, 8)), Dense(32, activation="relu"), Dropout(0.2), Dense(10)])
    model.compile(optimizer="adam", loss=nbtrain.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=3, verbose=0)
    probability_model = nbtrain.Sequential([model, Softmax()])
    logits = model(x[:5])
    probabilities = probability_model(x[:5])
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5)
    assert probability_model.built and probability_model.input_shape == (None, 8, 8)
    assert len(probability_model.layers) == 5 and probability_model.layers[0] is model.layers[0]


def test_an_autoencoder_from_an_encoder_and_a_decoder_shares_their_weights(rng):
    nbtrain.utils.set_random_seed(0)
    encoder = nbtrain.Sequential([Input(shape=(6,)), Dense(2, activation="tanh")], name="encoder")
    decoder = nbtrain.Sequential([Input(shape=(2,)), Dense(6)], name="decoder")
    autoencoder = nbtrain.Sequential([encoder, decoder])
    assert autoencoder.input_shape == (None, 6) and autoencoder.output_shape == (None, 6)
    x = rng.standard_normal((64, 6)).astype("float32")
    before = encoder.get_weights()[0].copy()
    autoencoder.compile(optimizer="adam", loss="mse")
    autoencoder.fit(x, x, epochs=2, verbose=0)
    assert not np.array_equal(encoder.get_weights()[0], before)          # training the whole trained the part
    np.testing.assert_allclose(decoder(encoder(x)), autoencoder(x), rtol=1e-5)


def test_a_model_built_from_data_passes_its_input_shape_on(rng):
    inner = nbtrain.Sequential([Dense(3)])
    inner(rng.standard_normal((2, 5)).astype("float32"))
    outer = nbtrain.Sequential([inner, Dense(1)])
    assert outer.built and outer.input_shape == (None, 5)


def test_a_frozen_sequential_base_in_a_functional_model(rng):
    nbtrain.utils.set_random_seed(0)
    base = nbtrain.Sequential([Input(shape=(4,)), Dense(8, activation="relu"), Dense(8, activation="relu")])
    frozen = [w.copy() for w in base.get_weights()]
    base.trainable = False
    inputs = Input(shape=(4,))
    outputs = Dense(1)(base(inputs, training=False))
    model = nbtrain.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    x, y = rng.standard_normal((32, 4)).astype("float32"), rng.standard_normal((32, 1)).astype("float32")
    model.fit(x, y, epochs=2, verbose=0)
    for before, after in zip(frozen, base.get_weights()):
        np.testing.assert_array_equal(before, after)
    head = model.layers[-1].get_weights()[0]
    np.testing.assert_allclose(model.predict(x, verbose=0), base(x) @ head + model.layers[-1].get_weights()[1],
                               rtol=1e-5)


def test_a_functional_model_in_a_sequential_one_says_what_to_do_instead():
    inputs = Input(shape=(3,))
    functional = nbtrain.Model(inputs, Dense(2)(inputs))
    with pytest.raises(TypeError, match="functional model .* build a single functional model"):
        nbtrain.Sequential([functional, Dense(1)])
    assert functional(Input(shape=(3,))).shape == (None, 2)     # called on new tensors it nests (shared layers)
    model = nbtrain.Sequential([Dense(2)])
    with pytest.raises(ValueError, match="cannot be added to itself"):
        model.add(model)


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_training_a_shared_part_alone_does_not_cut_the_gradient_of_the_whole(kind, rng):
    """The decoder's first layer needs no input gradient when the decoder trains alone, but does inside the
    autoencoder: each model must set that again before it trains, or the encoder would silently get no (or a stale)
    gradient."""

    def autoencoder_of(encoder, decoder):
        if kind == "sequential":
            model = nbtrain.Sequential([encoder, decoder])
        else:
            inputs = Input(shape=(6,))
            model = nbtrain.Model(inputs, decoder(encoder(inputs)))
        model.compile(optimizer=nbtrain.optimizers.SGD(learning_rate=0.0), loss="mse")   # gradients only
        return model

    def parts():
        nbtrain.utils.set_random_seed(0)
        return (nbtrain.Sequential([Input(shape=(6,)), Dense(2, activation="tanh")]),
                nbtrain.Sequential([Input(shape=(2,)), Dense(6)]))

    first, second = (rng.standard_normal((32, 6)).astype("float32") for _ in range(2))
    encoder, decoder = parts()
    autoencoder = autoencoder_of(encoder, decoder)
    decoder.compile(optimizer=nbtrain.optimizers.SGD(learning_rate=0.0), loss="mse")
    autoencoder.train_on_batch(first, first)
    decoder.train_on_batch(encoder(first), first)      # alone, its first layer's input gradient is skipped
    autoencoder.train_on_batch(second, second)
    fresh_encoder, fresh_decoder = parts()
    autoencoder_of(fresh_encoder, fresh_decoder).train_on_batch(second, second)
    np.testing.assert_allclose(encoder.layers[0].grads["kernel"], fresh_encoder.layers[0].grads["kernel"],
                               rtol=1e-5, atol=1e-7)
