"""The data package on its own: get_batches, ArrayData, EpochIterator and BatchStream, without a model."""

import threading
import warnings

import numpy as np
import pytest

from nbtrain.data.adapters import DEFAULT_BATCH_SIZE, get_batches
from nbtrain.data.arrays import ArrayData, EpochIterator
from nbtrain.data.generators import BatchStream, PyDataset


def numbered(n, features=2):
    """Arrays whose rows say which sample they are: row i of x is [i, i, ...], y[i] = i."""
    x = np.repeat(np.arange(n, dtype=np.float32)[:, None], features, axis=1)
    return ArrayData([x], [np.arange(n, dtype=np.float32)])


def served(batches):
    """The sample numbers of one epoch, batch by batch."""
    return [xs[0][:, 0].astype(int).tolist() for _, (xs, _, _) in batches.epoch()]


class Numbers(PyDataset):
    def __init__(self, batches=4, size=3, **kwargs):
        super().__init__(**kwargs)
        self.batches, self.size, self.epochs_ended, self.threads = batches, size, 0, set()

    def __len__(self):
        return self.batches

    def __getitem__(self, index):
        self.threads.add(threading.current_thread().name)
        x = np.full((self.size, 2), index, np.float32)
        return x, np.full(self.size, index, np.float32)

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_split_takes_the_validation_part_from_the_end_before_shuffling():
    train, validation = numbered(10).split(0.3)
    assert train.xs[0][:, 0].tolist() == list(range(7))
    assert validation.ys[0].tolist() == [7.0, 8.0, 9.0]


@pytest.mark.parametrize("fraction", [0.95, 1.0, -0.1, "0.2"])
def test_split_rejects_fractions_that_leave_nothing_or_are_not_fractions(fraction):
    with pytest.raises(ValueError, match="validation_split"):
        numbered(10).split(fraction)


def test_arrays_in_order_without_shuffle():
    batches = get_batches(numbered(10), batch_size=4)
    assert batches.num_batches == 3 and batches.num_samples == 10 and batches.batch_size == 4
    assert served(batches) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches.exhausted is False


def test_shuffle_true_reorders_every_sample_each_epoch_and_keeps_rows_together():
    batches = get_batches(numbered(12), batch_size=5, shuffle=True, rng=np.random.default_rng(0))
    first, second = served(batches), served(batches)
    assert sorted(sum(first, [])) == list(range(12)) and sorted(sum(second, [])) == list(range(12))
    assert first != second
    for _, (xs, ys, _) in batches.epoch():
        np.testing.assert_array_equal(xs[0][:, 0], ys[0])


def test_shuffle_batch_reorders_only_within_each_batch():
    batches = get_batches(numbered(10), batch_size=4, shuffle="batch", rng=np.random.default_rng(1))
    assert [sorted(b) for b in served(batches)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_steps_per_epoch_continues_where_the_last_epoch_stopped():
    batches = get_batches(numbered(10), batch_size=3, steps=2)
    assert served(batches) == [[0, 1, 2], [3, 4, 5]]
    assert served(batches) == [[6, 7, 8], [9]]
    assert served(batches) == [[0, 1, 2], [3, 4, 5]]


def test_steps_per_epoch_runs_on_into_the_next_pass_over_the_data():
    # 4 batches and 3 steps: the second epoch takes the last batch, then the first two of a new pass
    batches = get_batches(numbered(8), batch_size=2, steps=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert served(batches) == [[0, 1], [2, 3], [4, 5]]
        assert served(batches) == [[6, 7], [0, 1], [2, 3]]


def test_steps_without_batch_size_split_the_data_evenly():
    assert get_batches(numbered(10), steps=4).batch_size == 3
    assert get_batches(numbered(10)).batch_size == DEFAULT_BATCH_SIZE


def test_steps_past_the_data_warn_and_end_the_epoch_early():
    batches = get_batches(numbered(4), batch_size=2, steps=3)
    with pytest.warns(UserWarning, match="ran out after 2 of steps_per_epoch=3"):
        assert served(batches) == [[0, 1], [2, 3]]


def test_one_pass_caps_steps_at_the_data_without_a_warning():
    batches = get_batches(numbered(5), batch_size=2, steps=10, one_pass=True)
    assert batches.num_batches == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert served(batches) == [[0, 1], [2, 3], [4]]


def test_class_weight_multiplies_the_sample_weights():
    data = ArrayData([np.zeros((4, 1), np.float32)], [np.array([0, 1, 1, 0], np.float32)],
                     np.array([1, 2, 3, 4], np.float32))
    (_, (_, _, sample_weight)), = get_batches(data, batch_size=4, class_weight={1: 10.0}).epoch()
    np.testing.assert_allclose(sample_weight, [1, 20, 30, 4])


def test_to_arrays_converts_what_the_user_passed():
    calls = []

    def to_arrays(x, y, sample_weight):
        calls.append((x, y, sample_weight))
        return ArrayData([np.asarray(x, np.float32)], [np.asarray(y, np.float32)])

    batches = get_batches([[1.0], [2.0]], [0, 1], to_arrays=to_arrays, batch_size=1)
    assert isinstance(batches, EpochIterator) and calls == [([[1.0], [2.0]], [0, 1], None)]


def test_a_generator_becomes_a_stream_and_is_exhausted_once_read():
    def two_batches():
        for i in range(2):
            yield np.full((3, 2), i, np.float32), np.full(3, i, np.float32)

    batches = get_batches(two_batches())
    assert isinstance(batches, BatchStream) and batches.num_samples is None and batches.num_batches is None
    assert served(batches) == [[0, 0, 0], [1, 1, 1]]
    assert not batches.exhausted
    with pytest.warns(UserWarning, match="exhausted generator"):
        assert served(batches) == []
    assert batches.exhausted


def test_a_looping_generator_with_steps_continues_across_epochs():
    def counting():
        i = 0
        while True:
            yield np.full((1, 2), i, np.float32), np.zeros(1, np.float32)
            i += 1

    batches = get_batches(counting(), steps=2)
    assert served(batches) == [[0], [1]] and served(batches) == [[2], [3]]


def test_the_first_batch_check_runs_once_before_the_batch_is_used():
    seen = []
    batches = get_batches(Numbers(), check_first_batch=lambda xs, ys: seen.append((xs[0][0, 0], ys[0][0])))
    served(batches), served(batches)
    assert seen == [(0.0, 0.0)]


def test_a_failing_first_batch_check_stops_before_the_batch_is_served():
    def reject(xs, ys):
        raise ValueError("wrong shape")

    with pytest.raises(ValueError, match="wrong shape"):
        served(get_batches(Numbers(), check_first_batch=reject))


def test_pydataset_shuffle_visits_every_batch_in_a_new_order_and_ends_epochs():
    dataset = Numbers(batches=6, size=1)
    batches = get_batches(dataset, shuffle=True, rng=np.random.default_rng(3))
    orders = [sum(served(batches), []) for _ in range(3)]
    assert all(sorted(order) == list(range(6)) for order in orders) and len({tuple(o) for o in orders}) > 1
    assert dataset.epochs_ended == 3 and batches.num_batches == 6


def test_pydataset_prefetch_keeps_the_order_and_uses_worker_threads():
    dataset = Numbers(batches=8, size=1, workers=3, max_queue_size=4)
    assert sum(served(get_batches(dataset)), []) == list(range(8))
    assert any(name.startswith("nbtrain-data") for name in dataset.threads)


def test_streams_take_targets_from_the_stream_not_from_arguments():
    with pytest.raises(ValueError, match="do not pass y"):
        get_batches(Numbers(), np.zeros(3))
    with pytest.raises(ValueError, match="do not pass sample_weight"):
        get_batches(Numbers(), sample_weight=np.zeros(3))


def test_a_generator_function_gets_told_to_call_it():
    def make():
        yield np.zeros((1, 1)), np.zeros(1)

    with pytest.raises(TypeError, match=r"call it to pass the generator: fit\(make\(\), ...\)"):
        get_batches(make, what="x")
