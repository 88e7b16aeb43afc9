"""fit, evaluate and predict choose the BLAS thread count for their work and put the user's count back: after a
normal end, an error, an interrupt, and a background fit (a fake thread control; no timing is asserted)."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import nbtrain
from nbtrain.callbacks import Callback
from nbtrain.layers import Dense
from nbtrain.models import Sequential
from nbtrain.models.interrupts import TrainingInterrupted
from nbtrain.utils import threads as threads_module


class FakeControl:
    def __init__(self, threads=2):
        self.value = threads
        self.calls = []

    def get(self):
        return self.value

    def set(self, threads):
        self.calls.append(threads)
        self.value = threads
        return True

    def release(self):
        pass


@pytest.fixture
def control(monkeypatch):
    """The process's BLAS seen as two threads on a two-core budget, with no thread variable in the environment."""
    fake = FakeControl(threads=2)
    monkeypatch.setattr(threads_module, "blas_control", lambda: fake)
    monkeypatch.setattr(threads_module, "_cached_cpu_budget", lambda: 2)
    monkeypatch.setattr(threads_module, "cpu_jiffies", lambda cpus: None)   # no /proc/stat: the product decides
    for name in threads_module.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield fake
    nbtrain.config.set_blas_threads("auto")


class CountDuringBatches(Callback):
    """Records the thread count in force at each training batch; can raise at a chosen batch."""

    def __init__(self, control, raise_at=None, error=None):
        super().__init__()
        self.control, self.raise_at, self.error = control, raise_at, error
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(self.control.value)
        if batch == self.raise_at:
            raise self.error


def data(n=256):
    rng = np.random.default_rng(0)
    return rng.random((n, 8), dtype=np.float32), rng.random((n, 1), dtype=np.float32)


def model():
    m = Sequential([Dense(16, activation="relu", input_shape=(8,)), Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    return m


def test_fit_uses_one_thread_for_tiny_work_and_restores_the_count(control):
    x, y = data()
    spy = CountDuringBatches(control)
    model().fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[spy])
    assert spy.seen and set(spy.seen) == {1}     # tiny batches: one thread, decided by size
    assert control.value == 2 and control.calls[0] == 1 and control.calls[-1] == 2


@pytest.mark.parametrize("error", [RuntimeError("a callback failed"), KeyboardInterrupt()])
def test_the_count_is_restored_when_fit_raises(control, error):
    x, y = data()
    spy = CountDuringBatches(control, raise_at=3, error=error)
    with pytest.raises(type(error)):
        model().fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[spy])
    assert spy.seen[-1] == 1 and control.value == 2


def test_the_count_is_restored_after_kernel_interrupt(control):
    class InterruptAtBatch(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 5:
                os.kill(os.getpid(), signal.SIGINT)

    x, y = data()
    with pytest.raises(TrainingInterrupted):
        model().fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[InterruptAtBatch()])
    assert control.value == 2
    model().fit(x, y, batch_size=8, epochs=1, verbose=0)   # the interrupted run let go: the next one manages
    assert control.calls[-2:] == [1, 2]


def test_evaluate_and_predict_restore_the_count_and_remember_their_choice(control):
    x, y = data()
    m = model()
    m.evaluate(x, y, verbose=0)
    m.predict(x, verbose=0)
    assert control.value == 2 and control.calls == [1, 2, 1, 2]
    assert set(m._blas_memory) == {("evaluate", 32), ("predict", 32)}


def test_a_predict_inside_fit_leaves_the_count_to_fit(control):
    class PredictEachEpoch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.predict(x[:16], verbose=0)

    x, y = data()
    model().fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[PredictEachEpoch()])
    assert control.calls == [1, 2]


def test_user_settings_are_respected(control, monkeypatch):
    x, y = data()
    nbtrain.config.set_blas_threads(None)
    model().fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert control.calls == []
    nbtrain.config.set_blas_threads("auto")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    model().fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert control.calls == []
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    control.value = 1   # as threadpool_limits(1) leaves it
    model().fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert control.calls == []
    control.value = 2
    nbtrain.config.set_blas_threads(2)
    spy = CountDuringBatches(control)
    model().fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[spy])
    assert set(spy.seen) == {2} and control.value == 2


def test_a_background_fit_sets_the_count_for_its_run_and_restores_it(control):
    x, y = data()
    spy = CountDuringBatches(control)
    m = model()
    handle = m.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[spy], background=True)
    other = model()
    other.predict(x[:8], verbose=0)   # the notebook's own work meanwhile runs with the count in force
    handle.wait()
    assert set(spy.seen) == {1} and control.value == 2


def test_fit_with_the_real_thread_control_leaves_the_count_as_it_found_it():
    control = threads_module.blas_control()
    if control is None:
        pytest.skip("threadpoolctl finds no BLAS library here")
    x, y = data()
    before = control.get()
    model().fit(x, y, batch_size=8, epochs=2, verbose=0)
    model().predict(x, verbose=0)
    assert control.get() == before
