"""A model that trains in the background is guarded: other threads get a clear error, the training thread
(its callbacks) keeps working, and an error in the thread is reported at once (issue 12, item 2).

The probes that found the problems: ``predict`` with another batch size killed the background fit with a
broadcasting error seen only at ``wait()``; with the same batch size the training came out silently different;
re-running the training cell raced two fits on one model.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import nbtrain
from nbtrain.callbacks import Callback, EarlyStopping, ModelCheckpoint

EPOCHS = 3


def data(n=128):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)


def model(seed=0):
    nbtrain.utils.set_random_seed(seed)
    m = nbtrain.Sequential([nbtrain.Input(shape=(4,)), nbtrain.layers.Dense(8, activation="relu"),
                            nbtrain.layers.Dense(2, activation="softmax")], name="guarded")
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


FIT = dict(epochs=EPOCHS, batch_size=32, shuffle=False, verbose=0)


class Hold(Callback):
    """Holds the training thread after its first batch until the test releases it: the fit is certainly
    running (in epoch 1) while the test acts, without relying on timing."""

    def __init__(self):
        super().__init__()
        self.reached = threading.Event()
        self.release = threading.Event()

    def on_train_batch_end(self, batch, logs=None):
        if not self.reached.is_set():
            self.reached.set()
            assert self.release.wait(60), "the test never released the training thread"


def held_background_fit(m, x, y, **options):
    hold = Hold()
    handle = m.fit(x, y, **FIT, callbacks=[hold], background=True, **options)
    assert hold.reached.wait(60)
    return handle, hold


def calls(x, y, folder):
    """Every public method the guard covers, called as a user would, by name."""
    return {
        "fit": lambda m: m.fit(x, y, verbose=0),
        "fit_async": lambda m: asyncio.run(m.fit_async(x, y, verbose=0)),
        "fit(background=True)": lambda m: m.fit(x, y, verbose=0, background=True),
        "evaluate": lambda m: m.evaluate(x, y, verbose=0),
        "predict": lambda m: m.predict(x[:50], batch_size=50, verbose=0),   # the batch size that broke training
        "compile": lambda m: m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy"),
        "save": lambda m: m.save(folder / "model.keras"),
        "save_weights": lambda m: m.save_weights(folder / "model.weights.h5"),
        "set_weights": lambda m: m.set_weights(m.get_weights()),
        "load_weights": lambda m: m.load_weights(folder / "before.weights.h5"),
        "train_on_batch": lambda m: m.train_on_batch(x[:8], y[:8]),
        "test_on_batch": lambda m: m.test_on_batch(x[:8], y[:8]),
        "predict_on_batch": lambda m: m.predict_on_batch(x[:8]),
    }


@pytest.fixture(scope="module")
def reference_weights():
    """The weights the fit gives when nobody touches the model while it trains."""
    x, y = data()
    m = model()
    m.fit(x, y, **FIT)
    return m.get_weights()


METHODS = list(calls(None, None, None))


@pytest.mark.parametrize("method", METHODS)
def test_other_threads_are_refused_while_the_model_trains_and_the_training_is_unchanged(
        method, tmp_path, reference_weights):
    x, y = data()
    m = model()
    m.save_weights(tmp_path / "before.weights.h5")
    handle, hold = held_background_fit(m, x, y)
    name = "fit" if method.startswith("fit(") else method
    expected = (rf"^Model 'guarded' is training in the background \(epoch 1/{EPOCHS}\), so {name}\(\) cannot use "
                rf"it now: .* Call handle.wait\(\) to wait for it, or handle.stop\(\) to stop it after the current "
                rf"batch, before using the model.$")
    with pytest.raises(RuntimeError, match=expected):
        calls(x, y, tmp_path)[method](m)
    assert not (tmp_path / "model.keras").exists() and not (tmp_path / "model.weights.h5").exists()
    hold.release.set()
    history = handle.wait(timeout=60)
    assert handle.status == "completed" and len(history.history["loss"]) == EPOCHS
    for weight, expected_weight in zip(m.get_weights(), reference_weights):
        np.testing.assert_array_equal(weight, expected_weight)   # bitwise: the refused call changed nothing


class UsesTheModel(Callback):
    """Calls every guarded method (but fit itself) from the training thread, as callbacks do."""

    def __init__(self, x, y, folder):
        super().__init__()
        self.x, self.y, self.folder = x, y, folder
        self.done = []

    def on_epoch_end(self, epoch, logs=None):
        if epoch != 0:
            return
        skip = ("fit", "fit_async", "fit(background=True)", "compile")   # nested fits, a new optimizer mid-fit
        for method, call in calls(self.x, self.y, self.folder).items():
            if method not in skip:
                call(self.model)
                self.done.append(method)


def test_the_training_thread_itself_may_use_the_model(tmp_path):
    x, y = data()
    m = model()
    m.save_weights(tmp_path / "before.weights.h5")
    user = UsesTheModel(x, y, tmp_path)
    handle = m.fit(x, y, **FIT, callbacks=[user], background=True)
    handle.wait(timeout=60)
    assert handle.status == "completed"
    assert set(user.done) == set(METHODS) - {"fit", "fit_async", "fit(background=True)", "compile"}
    assert (tmp_path / "model.keras").exists() and (tmp_path / "model.weights.h5").exists()


def test_keras_callbacks_that_save_restore_and_validate_work_in_a_background_fit(tmp_path):
    x, y = data()
    m = model()
    callbacks = [ModelCheckpoint(str(tmp_path / "best.keras"), save_best_only=False),
                 EarlyStopping(patience=1, restore_best_weights=True, start_from_epoch=0)]
    handle = m.fit(x, y, epochs=6, batch_size=32, verbose=0, validation_split=0.25, callbacks=callbacks,
                   background=True)
    history = handle.wait(timeout=60)
    assert handle.status in ("completed", "stopped") and "val_loss" in history.history
    assert (tmp_path / "best.keras").exists()


def test_rerunning_the_cell_that_started_training_gets_the_same_error_and_leaves_the_first_fit_alone(
        reference_weights):
    x, y = data()
    m = model()
    handle, hold = held_background_fit(m, x, y)
    for _ in range(2):                          # the cell run twice more while the first fit holds
        with pytest.raises(RuntimeError, match=r"handle.wait\(\) to wait for it, or handle.stop\(\)"):
            m.fit(x, y, **FIT, background=True)
    assert not m.stop_training                  # the refused rerun did not touch the running fit
    hold.release.set()
    history = handle.wait(timeout=60)
    assert len(history.history["loss"]) == EPOCHS and m.history is history
    for weight, expected_weight in zip(m.get_weights(), reference_weights):
        np.testing.assert_array_equal(weight, expected_weight)


class FailsInEpoch(Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch
        self.reason_at_train_end = None

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise ValueError("boom in a callback")

    def on_train_end(self, logs=None):
        self.reason_at_train_end = self.model.fit_outcome.reason


def end_by(how, m, x, y):
    """Finish a background fit on ``m`` the way ``how`` says and return its handle, once done."""
    if how == "completed":
        handle = m.fit(x, y, **FIT, background=True)
        handle.wait(timeout=60)
    elif how == "stopped":
        handle, hold = held_background_fit(m, x, y)
        handle.stop()
        hold.release.set()
        handle.wait(timeout=60)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            handle = m.fit(x, y, **FIT, callbacks=[FailsInEpoch(0)], background=True)
            with pytest.raises(ValueError):
                handle.wait(timeout=60)
    assert handle.status == how
    return handle


@pytest.mark.parametrize("how", ["completed", "stopped", "error"])
def test_the_guard_is_released_when_training_ends(how, tmp_path):
    x, y = data()
    m = model()
    end_by(how, m, x, y)
    assert m._background is None
    m.predict(x, verbose=0)
    m.evaluate(x, y, verbose=0)
    m.save(tmp_path / "after.keras")
    m.set_weights(m.get_weights())
    again = m.fit(x, y, **FIT, background=True)       # and a new background fit may start
    assert again.wait(timeout=60) is m.history and again.status == "completed"


def test_an_error_in_the_thread_is_recorded_and_reported_at_once_not_only_at_wait():
    x, y = data()
    m = model()
    failing = FailsInEpoch(1)
    with pytest.warns(RuntimeWarning) as caught:
        handle = m.fit(x, y, **FIT, callbacks=[failing], background=True)
        assert handle._finished.wait(60)           # without calling wait(): the handle already knows
    assert handle.status == "error" and isinstance(handle.exception, ValueError)
    assert failing.reason_at_train_end == "error"  # what the dashboard's record reads in on_train_end
    messages = [str(w.message) for w in caught if "background training" in str(w.message)]
    assert messages == ["nbtrain: the background training of model 'guarded' failed: ValueError: boom in a "
                        "callback. The model is free again; handle.wait() raises the error with its traceback."]
    assert caught[0].filename == __file__           # located at the line that raised, the user's callback
    with pytest.raises(ValueError, match="boom in a callback"):
        handle.wait(timeout=1)


def test_the_same_error_twice_is_reported_twice():
    # A rerun that fails the same way must not be swallowed by the warnings module's once-per-location memory.
    x, y = data()
    m = model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(2):
            handle = m.fit(x, y, **FIT, callbacks=[FailsInEpoch(0)], background=True)
            assert handle._finished.wait(60)
    assert sum("background training of model 'guarded' failed" in str(w.message) for w in caught) == 2


KERNEL_SETUP = """\
import time
import numpy as np
import nbtrain
rng = np.random.default_rng(0)
x = rng.normal(size=(600, 10)).astype("float32")
y = (x[:, 0] > 0).astype(int)
model = nbtrain.Sequential([nbtrain.Input(shape=(10,)), nbtrain.layers.Dense(2, activation="softmax")], name="tiny")
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")

class Slow(nbtrain.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.01)

class Fails(nbtrain.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise ValueError("boom in epoch " + str(epoch + 1))
"""


def test_in_a_real_kernel_a_rerun_and_a_predict_are_refused_and_a_failure_shows_in_the_cell_output():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    start = "handle = model.fit(x, y, epochs=200, batch_size=32, callbacks=[Slow()], verbose=0, background=True)"
    cells = [KERNEL_SETUP, start, start, "model.predict(x[:50], batch_size=50, verbose=0)",
             "handle.stop(); history = handle.wait(); print(handle.status, model.predict(x, verbose=0).shape)",
             # one cell, so that it is still running when the thread's warning arrives: nbclient keeps no output
             # that comes after a cell has finished (a notebook front end shows it under that cell)
             "failing = model.fit(x, y, epochs=5, callbacks=[Fails()], verbose=0, background=True)\n"
             "failing._finished.wait(60); time.sleep(0.5); print(failing.status)"]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    root = Path(__file__).resolve().parents[2]      # the kernel imports this checkout's nbtrain
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True,
                            resources={"metadata": {"path": str(root)}}).execute()
    outputs = [cell.outputs for cell in nb.cells]
    assert not any(o.output_type == "error" for o in outputs[0] + outputs[1]), outputs[:2]
    for refused, method in ((outputs[2], "fit"), (outputs[3], "predict")):
        errors = [o for o in refused if o.output_type == "error"]
        assert len(errors) == 1 and errors[0].ename == "RuntimeError", refused
        assert errors[0].evalue.startswith("Model 'tiny' is training in the background (epoch ")
        assert f"so {method}() cannot use it now" in errors[0].evalue and "handle.wait()" in errors[0].evalue
    assert [o.get("text") for o in outputs[4]] == ["stopped (600, 2)\n"]
    streams = "".join(o.get("text", "") for cell in outputs[5:] for o in cell if o.output_type == "stream")
    assert ("nbtrain: the background training of model 'tiny' failed: ValueError: boom in epoch 1. The model is "
            "free again; handle.wait() raises the error with its traceback.") in streams, outputs[5:]
    assert "error\n" in streams
