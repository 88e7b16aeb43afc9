"""Embedding and Masking: lookup, masks that recurrent layers consume, gradients and clear errors."""

import numpy as np
import pytest
from gradcheck import assert_gradients_close, numerical_gradient

from nbtrain.layers.core import Dense
from nbtrain.layers.embedding import Embedding, Masking
from nbtrain.layers.recurrent import GRU, LSTM


def test_lookup_shape_weights_and_default_initializer():
    layer = Embedding(10, 4)
    ids = np.array([[1, 2, 3], [9, 0, 0]])
    out = layer(ids)
    (table,) = layer.get_weights()
    assert table.shape == (10, 4) and table.dtype == np.float32
    assert np.abs(table).max() <= 0.05                        # 'uniform' is U(-0.05, 0.05)
    np.testing.assert_array_equal(out, table[ids])
    assert out.shape == (2, 3, 4)
    assert layer.compute_output_shape((None, 3)) == (None, 3, 4)


def test_float_ids_from_fit_are_accepted():
    layer = Embedding(5, 2)
    np.testing.assert_array_equal(layer(np.array([[1.0, 4.0]], np.float32)), layer(np.array([[1, 4]])))


def test_mask_zero_produces_a_mask():
    layer = Embedding(5, 2, mask_zero=True)
    ids = np.array([[3, 1, 0, 0]])
    np.testing.assert_array_equal(layer.compute_mask(ids, None), [[True, True, False, False]])
    assert Embedding(5, 2).compute_mask(ids, None) is None


def test_out_of_range_ids_name_the_id_and_input_dim():
    layer = Embedding(10, 3)
    with pytest.raises(ValueError) as error:
        layer(np.array([[1, 12, 3]]))
    message = str(error.value)
    assert "received id 12 but input_dim is 10" in message and "[0, 9]" in message
    with pytest.raises(ValueError, match="received id -1"):
        layer(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="integer ids but received 1.5"):
        layer(np.array([[1.5, 2.0]]))


def test_weights_argument_and_input_length():
    table = np.arange(12, dtype=np.float32).reshape(6, 2)
    layer = Embedding(6, 2, weights=[table], input_length=3)
    assert layer.declared_input_shape == (None, 3)
    np.testing.assert_array_equal(layer(np.array([[5, 0, 2]]))[0], table[[5, 0, 2]])


def test_gradient_accumulates_repeated_ids(rng):
    layer = Embedding(7, 3)
    ids = rng.integers(0, 7, (4, 6))
    ids[0, :3] = 2                                            # repeated ids must add up
    layer.build(ids.shape)
    layer.cast_weights(np.float64)
    upstream = rng.standard_normal((4, 6, 3))
    layer.forward(ids)
    assert layer.backward(upstream) is None                   # no gradient for integer ids
    expected = np.zeros((7, 3))
    np.add.at(expected, ids.ravel(), upstream.reshape(-1, 3))
    np.testing.assert_allclose(layer.grads["embeddings"], expected, rtol=1e-12)
    numeric = numerical_gradient(lambda: float(np.sum(layer.forward(ids) * upstream)), layer._weights["embeddings"])
    assert_gradients_close(layer.grads["embeddings"], numeric, "embeddings")


def test_masking_layer(rng):
    x = rng.standard_normal((2, 4, 3))
    x[0, 2:] = 0.0
    x[1, 1] = 0.0
    layer = Masking()
    np.testing.assert_array_equal(layer.compute_mask(x, None), [[1, 1, 0, 0], [1, 0, 1, 1]])
    upstream = rng.standard_normal(x.shape)
    layer.forward(x)
    numeric = numerical_gradient(lambda: float(np.sum(layer.forward(x) * upstream)), x)
    # Perturbing a padded entry un-pads its step, so compare only away from the padding.
    real = layer.compute_mask(x, None)
    assert_gradients_close(layer.backward(upstream)[real], numeric[real], "masking input")
    assert (Masking(mask_value=-1.0).compute_mask(np.full((1, 2, 2), -1.0), None) == False).all()  # noqa: E712


def test_embedding_mask_reaches_lstm_in_a_sequential_model(rng):
    from nbtrain.models import Sequential

    model = Sequential([Embedding(20, 4, mask_zero=True), LSTM(5)])
    padded = np.array([[3, 7, 9, 0, 0], [4, 0, 0, 0, 0]])
    out = model(padded)
    embedding, lstm = model.layers
    for row, length in ((0, 3), (1, 1)):
        unpadded = lstm.forward(embedding.forward(padded[row:row + 1, :length]))
        np.testing.assert_allclose(out[row:row + 1], unpadded, rtol=1e-5)


def test_masking_layer_feeds_gru(rng):
    from nbtrain.models import Sequential

    x = rng.standard_normal((1, 5, 2)).astype(np.float32)
    padded = np.concatenate([x, np.zeros((1, 2, 2), np.float32)], axis=1)
    model = Sequential([Masking(), GRU(3)])
    np.testing.assert_allclose(model(padded), model.layers[1].forward(x), rtol=1e-5)


def test_text_classifier_trains(rng):
    from nbtrain.models import Sequential
    from nbtrain.optimizers import Adam

    # The label is whether token 1 appears in the (zero-padded) sequence.
    ids = rng.integers(1, 10, (200, 8))
    ids[rng.random((200, 8)) < 0.3] = 0
    y = (ids == 1).any(axis=1).astype(np.float32)[:, None]
    model = Sequential([Embedding(10, 8, mask_zero=True), LSTM(8), Dense(1, activation="sigmoid")])
    model.compile(optimizer=Adam(learning_rate=0.02), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, y, epochs=12, batch_size=32, verbose=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["accuracy"][-1] > 0.85


def test_embedding_regularizer_and_constraint():
    layer = Embedding(4, 2, embeddings_regularizer="l2", embeddings_constraint="non_neg")
    layer.build((None, 3))
    assert len(layer.losses) == 1 and layer.losses[0] > 0
    layer.set_weights([-np.ones((4, 2))])
    layer.apply_constraints()
    assert (layer.get_weights()[0] == 0).all()
    config = layer.get_config()
    assert config["embeddings_regularizer"]["class_name"] == "L2"
    assert Embedding.from_config(config).embeddings_constraint is not None


def test_embedding_mask_reaches_global_average_pooling():
    from nbtrain.layers.pooling import GlobalAveragePooling1D
    from nbtrain.models import Sequential

    model = Sequential([Embedding(10, 3, mask_zero=True), GlobalAveragePooling1D()])
    ids = np.array([[4, 2, 0, 0], [7, 7, 7, 1]])
    out = model(ids)
    table = model.layers[0].get_weights()[0]
    expected = np.stack([table[[4, 2]].mean(axis=0), table[[7, 7, 7, 1]].mean(axis=0)])
    np.testing.assert_allclose(out, expected, rtol=1e-6)
