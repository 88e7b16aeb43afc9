"""``await model.fit_async(...)``: the same training as ``fit``, with pauses in which the event loop runs."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from tiny_models import SlowBatches

import nbtrain
from nbtrain.display.environment import awaiting_cell_stop_route
from nbtrain.models.training import run_to_end, run_to_end_async


def data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)


def model(seed=0):
    nbtrain.utils.set_random_seed(seed)
    m = nbtrain.Sequential([nbtrain.Input(shape=(4,)), nbtrain.layers.Dense(8, activation="relu"),
                            nbtrain.layers.Dropout(0.2), nbtrain.layers.Dense(2, activation="softmax")], name="aw")
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_fit_async_trains_exactly_as_fit():
    x, y = data()
    options = dict(epochs=3, batch_size=32, validation_split=0.25, verbose=0)
    nbtrain.utils.set_random_seed(1)
    sync_model = model()
    nbtrain.utils.set_random_seed(1)
    history = sync_model.fit(x, y, **options)
    nbtrain.utils.set_random_seed(1)
    async_model = model()
    nbtrain.utils.set_random_seed(1)
    async_history = asyncio.run(async_model.fit_async(x, y, **options))
    assert async_history is async_model.history
    assert async_history.history == history.history
    for ours, theirs in zip(async_model.get_weights(), sync_model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_other_tasks_run_while_fit_async_trains():
    x, y = data(512)
    m, slow = model(), SlowBatches()
    ticks = []

    async def ticker():
        while True:
            ticks.append(slow.batches)
            await asyncio.sleep(0)

    async def main():
        task = asyncio.ensure_future(ticker())
        try:
            return await m.fit_async(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[slow])
        finally:
            task.cancel()

    asyncio.run(main())
    during = sorted(set(t for t in ticks if 0 < t < slow.batches))
    # 32 batches of 3 ms: the event loop got control back several times while training ran (about every 50 ms)
    assert len(during) >= 1, ticks


def test_a_stop_request_from_another_task_ends_after_the_current_batch():
    x, y = data(2048)
    m, slow = model(), SlowBatches()

    async def click_stop_after_the_first_epoch():
        while not (m.history and m.history.history.get("loss")):
            await asyncio.sleep(0)
        m.stop_training = True             # what the dashboard's Stop button does
        return slow.batches

    async def main():
        clicker = asyncio.ensure_future(click_stop_after_the_first_epoch())
        history = await m.fit_async(x, y, epochs=50, batch_size=32, verbose=0, callbacks=[slow])
        return history, await clicker

    history, batches_at_click = asyncio.run(main())
    assert m.stop_reason == "stopped"
    assert 1 <= len(history.history["loss"]) < 50
    assert slow.batches < batches_at_click + 64        # stopped within the epoch running at the click


def test_cancelling_fit_async_ends_training_cleanly():
    x, y = data(2048)
    m, slow = model(), SlowBatches()
    events = []

    class Ends(nbtrain.callbacks.Callback):
        def on_train_end(self, logs=None):
            events.append(("end", slow.batches))

    async def main():
        task = asyncio.ensure_future(m.fit_async(x, y, epochs=50, batch_size=32, verbose=0,
                                                 callbacks=[slow, Ends()]))
        while slow.batches < 5:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert events and events[0][1] >= 5           # on_train_end ran: callbacks and displays finished
    assert m.stop_reason == "interrupted"
    # the model is usable, with the weights of the last completed batch
    assert np.isfinite(m.predict(x[:4], verbose=0)).all()


def test_fit_async_checks_its_arguments_like_fit():
    x, y = data()
    with pytest.raises(TypeError, match="validation_split"):
        asyncio.run(model().fit_async(x, y, validaton_split=0.2))
    with pytest.raises(ValueError, match="epochs must be a non-negative integer"):
        asyncio.run(model().fit_async(x, y, epochs=-1))


def test_no_stop_route_outside_a_notebook_kernel():
    async def route():
        return awaiting_cell_stop_route()

    assert awaiting_cell_stop_route() is None
    assert asyncio.run(route()) is None


def test_run_to_end_returns_what_the_steps_return():
    def steps():
        yield
        yield
        return "done"

    assert run_to_end(steps()) == "done"
    assert asyncio.run(run_to_end_async(steps(), interval=0.0)) == "done"
