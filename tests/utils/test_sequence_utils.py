"""pad_sequences and timeseries_dataset_from_array: Keras's documented behaviour, edge cases, clear errors, and
training on the windows."""

from __future__ import annotations

import numpy as np
import pytest

import nbtrain
from nbtrain.utils import pad_sequences, timeseries_dataset_from_array

# ----- pad_sequences ---------------------------------------------------------------------------------------

SEQUENCES = [[1, 2, 3], [4, 5], [6]]


@pytest.mark.parametrize("kwargs, expected", [
    ({}, [[1, 2, 3], [0, 4, 5], [0, 0, 6]]),
    ({"padding": "post"}, [[1, 2, 3], [4, 5, 0], [6, 0, 0]]),
    ({"maxlen": 2}, [[2, 3], [4, 5], [0, 6]]),
    ({"maxlen": 2, "truncating": "post"}, [[1, 2], [4, 5], [0, 6]]),
    ({"maxlen": 4, "value": -1}, [[-1, 1, 2, 3], [-1, -1, 4, 5], [-1, -1, -1, 6]]),
    ({"maxlen": 0}, [[], [], []]),
])
def test_pad_sequences_matches_keras(kwargs, expected):
    out = pad_sequences(SEQUENCES, **kwargs)
    assert out.dtype == np.int32 and out.shape == (3, kwargs.get("maxlen", 3))
    np.testing.assert_array_equal(out, np.array(expected, dtype=np.int32).reshape(out.shape))


def test_pad_sequences_of_vectors_floats_and_empty_sequences():
    out = pad_sequences([[[1, 2], [3, 4]], [], [[5, 6]]], dtype="float32", padding="post", value=0.5)
    assert out.shape == (3, 2, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(out[1], 0.5)
    np.testing.assert_array_equal(out[2], [[5, 6], [0.5, 0.5]])
    assert pad_sequences([]).shape == (0, 0)
    np.testing.assert_array_equal(pad_sequences(np.array([[1, 2], [3, 4]]), maxlen=3), [[0, 1, 2], [0, 3, 4]])


def test_pad_sequences_of_words_needs_a_text_dtype():
    out = pad_sequences([["the", "cat"], ["hi"]], dtype=object, value="<pad>")
    assert out.tolist() == [["the", "cat"], ["<pad>", "hi"]]
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([["the"]], value="<pad>")


@pytest.mark.parametrize("call, message", [
    (lambda: pad_sequences(SEQUENCES, padding="begin"), "'pre' or 'post'"),
    (lambda: pad_sequences(SEQUENCES, truncating="pots"), "Did you mean 'post'"),
    (lambda: pad_sequences([1, 2, 3]), r"item 0 is 1\. For a single sequence, pass \[sequence\]"),
    (lambda: pad_sequences([[1, 2], [[3, 4]]]), "same shape"),
    (lambda: pad_sequences(SEQUENCES, maxlen=-1), "non-negative integer"),
    (lambda: pad_sequences("abc"), "list of sequences"),
])
def test_pad_sequences_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_pad_sequences_feeds_a_masked_lstm():
    nbtrain.utils.set_random_seed(0)
    x = pad_sequences([[3, 1, 4], [1, 5], [9, 2, 6, 5]], maxlen=4)
    model = nbtrain.Sequential([nbtrain.Input(shape=(4,)), nbtrain.layers.Embedding(10, 4, mask_zero=True),
                                nbtrain.layers.LSTM(3), nbtrain.layers.Dense(1)])
    assert model.predict(x, verbose=0).shape == (3, 1)


def test_the_old_keras_import_path_works():
    from nbtrain.preprocessing.sequence import pad_sequences as old_path

    assert old_path is pad_sequences
    assert nbtrain.preprocessing.timeseries_dataset_from_array is timeseries_dataset_from_array


# ----- timeseries_dataset_from_array -----------------------------------------------------------------------


def all_windows(dataset):
    batches = list(dataset)
    if isinstance(batches[0], tuple):
        return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])
    return np.concatenate(batches), None


def test_keras_docstring_example_strided_and_sampled_windows():
    dataset = timeseries_dataset_from_array(np.arange(99), None, sequence_length=10, sampling_rate=2,
                                            sequence_stride=3, batch_size=8)
    windows, _ = all_windows(dataset)
    np.testing.assert_array_equal(windows[0], np.arange(0, 20, 2))
    np.testing.assert_array_equal(windows[1], np.arange(3, 23, 2))
    np.testing.assert_array_equal(windows[-1], np.arange(78, 98, 2))
    assert len(windows) == 27 and len(dataset) == 4


def test_keras_docstring_example_predicting_the_next_step():
    data = np.arange(100)
    dataset = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10)
    inputs, targets = dataset[0]
    np.testing.assert_array_equal(inputs[0], data[:10])
    assert targets[0] == data[10]
    windows, all_targets = all_windows(dataset)
    np.testing.assert_array_equal(all_targets, windows[:, -1] + 1)     # every target is the step after
    assert len(windows) == 81


def test_start_and_end_index_select_a_part_and_targets_follow_absolute_positions():
    data = np.arange(50, dtype=np.float32)[:, None] * [1, -1]           # two features
    dataset = timeseries_dataset_from_array(data, np.arange(50) * 10, sequence_length=5, start_index=20,
                                            end_index=40, batch_size=4)
    windows, targets = all_windows(dataset)
    assert windows.shape == (16, 5, 2)
    np.testing.assert_array_equal(windows[0, :, 0], np.arange(20, 25))
    np.testing.assert_array_equal(windows[-1, :, 0], np.arange(35, 40))
    np.testing.assert_array_equal(targets, np.arange(20, 36) * 10)


def test_shuffle_serves_every_window_in_a_new_order_each_epoch():
    dataset = timeseries_dataset_from_array(np.arange(40), np.arange(40), sequence_length=4, batch_size=5,
                                            shuffle=True, seed=3)
    first, first_targets = all_windows(dataset)
    dataset.on_epoch_end()
    second, _ = all_windows(dataset)
    assert sorted(first[:, 0]) == sorted(second[:, 0]) == list(range(37))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first_targets, first[:, 0])           # targets stay with their windows
    again = timeseries_dataset_from_array(np.arange(40), np.arange(40), sequence_length=4, batch_size=5,
                                          shuffle=True, seed=3)
    np.testing.assert_array_equal(all_windows(again)[0], first)


def test_fit_evaluate_and_predict_take_the_windows():
    nbtrain.utils.set_random_seed(0)
    wave = np.sin(np.arange(600) * 0.1).astype(np.float32)[:, None]
    train = timeseries_dataset_from_array(wave[:-8], wave[8:, 0], sequence_length=8, end_index=400,
                                          batch_size=32, shuffle=True, seed=0)
    val = timeseries_dataset_from_array(wave[:-8], wave[8:, 0], sequence_length=8, start_index=400, batch_size=32)
    model = nbtrain.Sequential([nbtrain.Input(shape=(8, 1)), nbtrain.layers.LSTM(8), nbtrain.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(train, validation_data=val, epochs=8, verbose=0)
    assert history.history["val_loss"][-1] < 0.5 * history.history["val_loss"][0]
    windows_only = timeseries_dataset_from_array(wave, None, sequence_length=8, batch_size=50)
    assert model.predict(windows_only, verbose=0).shape == (593, 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"sequence_length": 0}, "sequence_length to be a positive integer"),
    ({"sequence_length": 11}, "no window of 11 steps"),
    ({"sequence_length": 4, "sampling_rate": 4}, "every 4 steps"),
    ({"sequence_length": 2, "start_index": 10}, "start_index in 0..9"),
    ({"sequence_length": 2, "start_index": 5, "end_index": 5}, "end_index after start_index=5"),
    ({"sequence_length": 2, "batch_size": 0}, "batch_size to be a positive integer"),
])
def test_timeseries_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timeseries_dataset_from_array(np.arange(10), None, **kwargs)


def test_indexing_past_the_end_raises_index_error():
    dataset = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3, batch_size=4)
    assert len(dataset) == 2 and dataset[-1].shape == (4, 3)
    with pytest.raises(IndexError):
        dataset[2]
    assert "8 windows of 3 steps in 2 batches of 4" in repr(dataset)
