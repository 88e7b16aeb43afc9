"""Generators, iterables and PyDataset in fit, evaluate and predict."""

import threading
import warnings

import numpy as np
import pytest

import nbtrain as keras
from nbtrain.data.generators import PyDataset, Sequence
from nbtrain.layers import Dense
from nbtrain.models import Sequential


def model():
    m = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(1)])
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return m


def batches(n_batches, size=4, loop=False, seed=0):
    rng = np.random.default_rng(seed)
    while True:
        for _ in range(n_batches):
            x = rng.random((size, 3))
            yield x, x.sum(1, keepdims=True)
        if not loop:
            return


class Squares(PyDataset):
    def __init__(self, n_batches=5, **kwargs):
        super().__init__(**kwargs)
        self.n_batches, self.epochs_ended, self.threads = n_batches, 0, set()
        self.rng = np.random.default_rng(1)
        self.data = [self.rng.random((4, 3)) for _ in range(n_batches)]

    def __len__(self):
        return self.n_batches

    def __getitem__(self, index):
        self.threads.add(threading.current_thread().name)
        x = self.data[index]
        return x, x.sum(1, keepdims=True)

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_looping_generator_with_steps_per_epoch():
    history = model().fit(batches(3, loop=True), steps_per_epoch=5, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3 and history.params["steps"] == 5


def test_finite_generator_without_steps_trains_one_epoch_then_stops_with_a_warning():
    m = model()
    with pytest.warns(UserWarning, match="exhausted generator"):
        history = m.fit(batches(4), epochs=3, verbose=0)
    assert history.epoch == [0] and m.stop_reason == "stopped"


def test_generator_running_dry_before_steps_per_epoch_says_how_many_it_gave():
    with pytest.warns(UserWarning, match=r"ran out of data after 2 of steps_per_epoch=5 batches"):
        model().fit(batches(2), steps_per_epoch=5, epochs=1, verbose=0)


def test_pydataset_runs_every_epoch_and_calls_on_epoch_end():
    data = Squares()
    history = model().fit(data, epochs=3, verbose=0)
    assert len(history.epoch) == 3 and data.epochs_ended == 3 and history.params["steps"] == 5
    assert Sequence is PyDataset


def test_pydataset_with_workers_prefetches_in_threads_and_matches_serial_results():
    serial, threaded = Squares(), Squares(workers=2)
    keras.utils.set_random_seed(0)
    a = model()
    keras.utils.set_random_seed(0)
    b = model()
    a.fit(serial, epochs=2, shuffle=False, verbose=0)
    b.fit(threaded, epochs=2, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert any(name.startswith("nbtrain-data") for name in threaded.threads)


def test_fit_accepts_keras2_data_arguments():
    model().fit(Squares(), epochs=1, verbose=0, workers=2, use_multiprocessing=False, max_queue_size=4)


def test_generator_validation_data_and_validation_steps():
    m = model()
    history = m.fit(Squares(), epochs=2, verbose=0, validation_data=batches(2, loop=True), validation_steps=2)
    assert len(history.history["val_loss"]) == 2


def test_evaluate_and_predict_on_generators_and_pydataset():
    m = model()
    data = Squares()
    xs = np.concatenate(data.data)
    ys = xs.sum(1, keepdims=True)
    np.testing.assert_allclose(m.evaluate(data, verbose=0), m.evaluate(xs, ys, batch_size=4, verbose=0), rtol=1e-6)
    prediction = m.predict(((x,) for x in data.data), verbose=0)
    np.testing.assert_allclose(prediction, m.predict(xs, verbose=0), rtol=1e-6)
    assert m.predict(data, verbose=0).shape == (20, 1)


def test_lazy_model_builds_from_the_first_generator_batch():
    m = Sequential([Dense(2), Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    m.fit(batches(3, loop=True), steps_per_epoch=3, epochs=2, verbose=0)
    assert m.input_shape == (None, 3)


def test_class_weight_applies_to_generator_batches():
    def labelled():
        while True:
            yield np.zeros((4, 3)), np.array([0, 0, 1, 1])

    m = Sequential([Dense(2, activation="softmax", input_shape=(3,), kernel_initializer="zeros")])
    m.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    loss = m.fit(labelled(), steps_per_epoch=1, class_weight={1: 3.0}, verbose=0).history["loss"][0]
    np.testing.assert_allclose(loss, np.log(2) * 2, rtol=1e-6)


def test_clear_errors_for_generator_misuse():
    m = model()
    with pytest.raises(TypeError, match=r"call it to pass the generator: fit\(batches\(\), ...\)"):
        m.fit(batches, epochs=1)
    with pytest.raises(ValueError, match="do not pass y"):
        m.fit(batches(2), np.zeros(3))
    with pytest.raises(ValueError, match="validation_split works with arrays only"):
        m.fit(batches(2), validation_split=0.2)

    def lists():
        yield [np.zeros((2, 3)), np.zeros((2, 1))]

    with pytest.raises(TypeError, match="yield a tuple"):
        m.fit(lists(), verbose=0)


def test_legacy_generator_methods_warn_and_delegate():
    m = model()
    with pytest.warns(DeprecationWarning, match="fit_generator"):
        history = m.fit_generator(batches(3, loop=True), steps_per_epoch=2, epochs=2, verbose=0)
    assert len(history.epoch) == 2
    with pytest.warns(DeprecationWarning, match="evaluate_generator"):
        m.evaluate_generator(Squares(), verbose=0)
    with pytest.warns(DeprecationWarning, match="predict_generator"):
        assert m.predict_generator(Squares(), verbose=0).shape == (20, 1)


def test_reiterable_collection_restarts_every_epoch():
    class Batches:
        def __iter__(self):
            return iter([(np.ones((2, 3)), np.ones((2, 1)))] * 3)

    collection = Batches()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model().fit(collection, epochs=3, verbose=0)
    assert len(history.epoch) == 3
