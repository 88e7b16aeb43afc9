"""Real kernels: notebooks executed by nbclient keep a static record, the widget dashboard finalizes to static,
comm traffic per epoch stays bounded whatever the batch count, and Kernel -> Interrupt keeps the history."""

from __future__ import annotations

import os
import queue
import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

SETUP = """\
%matplotlib inline
import os
import numpy as np
import nbtrain
nbtrain.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(600, 10)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1).astype(int)
model = nbtrain.Sequential([nbtrain.Input(shape=(10,)), nbtrain.layers.Dense(16, activation="relu"),
                            nbtrain.layers.Dense(3, activation="softmax")], name="tiny")
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
"""


def kernel_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}   # let ipykernel choose the inline backend
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONHASHSEED="0", **extra)
    return env


def run_notebook(cells, **env):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120, store_widget_state=False,
                                     resources={"metadata": {"path": str(ROOT)}})
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(kernel_env(**env))
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def mime_keys(output):
    return set(output.get("data", {}))


def test_executed_notebook_keeps_a_compact_static_record():
    nb = run_notebook([
        SETUP,
        "history = model.fit(x, y, epochs=5, batch_size=32, validation_split=0.2, verbose=1)",
        "loss, accuracy = model.evaluate(x, y, verbose=1)",
        "print(history.stop_reason, len(history.history['loss']))",
    ])
    fit_outputs = nb.cells[1].outputs
    assert 1 <= len(fit_outputs) <= 3, fit_outputs
    assert not any(WIDGET_VIEW in mime_keys(o) for o in fit_outputs)
    assert not any(o.output_type == "stream" for o in fit_outputs)     # no bar fragments in the saved notebook
    record = [o for o in fit_outputs if {"image/png", "text/plain"} <= mime_keys(o)]
    assert len(record) == 1
    text = record[0]["data"]["text/plain"]
    assert text.startswith("Training 'tiny': 5 epochs, 480 samples, batch size 32\ncompleted 5 epochs in ")
    assert "Epoch 5/5 - accuracy: " in text and "<table" in record[0]["data"]["text/html"]
    eval_outputs = nb.cells[2].outputs
    assert len(eval_outputs) == 1 and eval_outputs[0]["data"]["text/plain"].startswith("Evaluate: 19/19 - ")
    assert nb.cells[3].outputs[0]["text"] == "completed 5\n"


@pytest.mark.parametrize("progress", ["widgets", "html"])
def test_live_display_is_replaced_by_the_static_record(progress):
    nb = run_notebook([
        SETUP,
        f"os.environ['NBTRAIN_PROGRESS'] = {progress!r}\n"
        "history = model.fit(x, y, epochs=4, validation_split=0.2)",
        "print(len(history.history['val_loss']))",
    ])
    fit_outputs = nb.cells[1].outputs
    assert 1 <= len(fit_outputs) <= 3, fit_outputs
    assert not any(WIDGET_VIEW in mime_keys(o) for o in fit_outputs), "the live widget was not replaced"
    record = [o for o in fit_outputs if {"image/png", "text/html", "text/plain"} <= mime_keys(o)]
    assert len(record) == 1 and "completed 4 epochs" in record[0]["data"]["text/plain"]
    assert nb.cells[2].outputs[0]["text"] == "4\n"


# ----- direct kernel sessions: iopub traffic and interrupts ------------------------------------------------------

@pytest.fixture(scope="module")
def kernel():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(ROOT), env=kernel_env())
    try:
        execute(kc, SETUP)
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def execute(kc, code, on_message=None, timeout=120, allow_error=False):
    """Run ``code``; return its iopub messages (until idle). ``on_message(msg, t)`` sees each as it comes.

    An ``error`` message fails the test unless ``allow_error`` (then it is among the messages returned)."""
    msg_id = kc.execute(code, allow_stdin=True)     # as a notebook front end sends it: a person is there
    messages = []
    start = time.monotonic()
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=max(1.0, timeout - (time.monotonic() - start)))
        except queue.Empty:
            raise TimeoutError(f"no idle after {timeout} s running {code[:60]!r}")
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if on_message:
            on_message(msg, time.monotonic() - start)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages
        if msg["msg_type"] == "error" and not allow_error:
            raise AssertionError("\n".join(msg["content"]["traceback"]))


def comm_updates_per_epoch(kc, steps, epochs=3, epoch_seconds=0.6):
    code = f"""
os.environ['NBTRAIN_PROGRESS'] = 'widgets'
import time
class Slow(nbtrain.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep({epoch_seconds / steps})
xs = np.repeat(x[:20], {steps}, axis=0)[:{steps}]
ys = np.repeat(y[:20], {steps})[:{steps}]
h = model.fit(xs, ys, epochs={epochs}, batch_size=1, callbacks=[Slow()])
"""
    messages = execute(kc, code)
    comm = [m for m in messages if m["msg_type"] == "comm_msg"]
    return len(comm) / epochs, messages


def test_comm_messages_per_epoch_do_not_grow_with_the_batch_count(kernel):
    _, kc = kernel
    few, _ = comm_updates_per_epoch(kc, steps=10)
    many, messages = comm_updates_per_epoch(kc, steps=300)
    # ~0.6 s epochs: at most ~7 bar ticks of one message each + per-epoch table, epoch row, plot
    assert few <= 16 and many <= 16, (few, many)
    assert many <= few + 6, (few, many)
    final = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert final and WIDGET_VIEW not in final[-1]["content"]["data"]
    assert "image/png" in final[-1]["content"]["data"]


# the widget dashboard on a fit slow enough (10 ms a batch) to act on while it runs
SLOW_WIDGET_TRAINING = """
os.environ['NBTRAIN_PROGRESS'] = 'widgets'
import time
class Slow(nbtrain.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.01)
"""


@pytest.mark.parametrize("call", ["model.fit", "await model.fit_async"])
def test_kernel_interrupt_keeps_the_history_finalizes_the_display_and_stops_the_cell(kernel, call):
    # Until issue 11 the cell ended normally after an interrupt, so Run All went on; now the interrupt
    # propagates, as one line without a traceback, after the record and model.history are in place.
    km, kc = kernel
    code = SLOW_WIDGET_TRAINING + f"history = {call}(x, y, epochs=50, batch_size=16, callbacks=[Slow()])\n"
    sent = []

    def interrupt_later(msg, t):
        if not sent and t > 2.0:
            km.interrupt_kernel()
            sent.append(t)

    messages = execute(kc, code, on_message=interrupt_later, allow_error=True)
    assert sent, "training ended before the interrupt was sent"
    errors = [m["content"] for m in messages if m["msg_type"] == "error"]
    assert len(errors) == 1 and errors[0]["ename"] == "TrainingInterrupted", errors
    assert len(errors[0]["traceback"]) == 1, errors[0]["traceback"]        # one line, no traceback wall
    assert "Training interrupted at epoch " in errors[0]["traceback"][0]
    assert "completed epoch" in errors[0]["traceback"][0]
    finals = [m for m in messages if m["msg_type"] == "update_display_data"]
    text = finals[-1]["content"]["data"]["text/plain"]
    assert "interrupted at epoch" in text and "model.history holds the completed epochs" in text
    after = execute(kc, "print(model.stop_reason, model.interrupted_at, len(model.history.history['loss']))")
    printed = "".join(m["content"]["text"] for m in after if m["msg_type"] == "stream")
    reason, rest = printed.split(" ", 1)
    assert reason == "interrupted"
    epoch = int(rest.strip("()\n").split(",")[0])
    assert printed.strip().endswith(f" {epoch}")                          # the finished epochs are in the history


def test_a_callbacks_error_shows_the_users_frame_without_nbtrains(kernel):
    """IPython hides the frames that set ``__tracebackhide__``: the loop's and the callback dispatch's."""
    _, kc = kernel
    code = """
os.environ['NBTRAIN_PROGRESS'] = 'html'
class Fails(nbtrain.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 2:
            raise RuntimeError("my callback failed")
model.fit(x, y, epochs=5, callbacks=[Fails()])
"""
    messages = execute(kc, code, allow_error=True)
    errors = [m["content"] for m in messages if m["msg_type"] == "error"]
    assert len(errors) == 1 and errors[0]["ename"] == "RuntimeError", errors
    traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(errors[0]["traceback"]))   # without the colours
    assert 'raise RuntimeError("my callback failed")' in traceback           # the user's own frame
    assert "model.fit(x, y, epochs=5" in traceback                           # and the cell's line
    assert "skipping hidden" in traceback
    for internal in ("training.py", "callback_list.py", "run_to_end", "_fit_loop", "_call("):
        assert internal not in traceback, (internal, traceback)
    finals = [m for m in messages if m["msg_type"] == "update_display_data"]
    text = finals[-1]["content"]["data"]["text/plain"]
    assert "ended by an error at epoch 3, batch " in text
    assert ". RuntimeError: my callback failed.\n" in text                    # a sentence of its own


def test_stop_button_reaches_fit_async_in_an_awaiting_cell(kernel):
    """ipykernel 7.4+ handles widget messages while a cell awaits: a click on Stop ends ``fit_async``."""
    import ipykernel
    from nbtrain.display.environment import _version

    if _version(ipykernel.__version__) < (7, 4):
        pytest.skip(f"ipykernel {ipykernel.__version__} queues widget messages until the cell ends (7.4 needed)")
    _, kc = kernel
    code = SLOW_WIDGET_TRAINING + "history = await model.fit_async(x, y, epochs=50, batch_size=16, callbacks=[Slow()])\n"
    stop_buttons, clicked = [], []

    def click_stop_after_a_second(msg, t):
        if msg["msg_type"] == "comm_open":
            state = msg["content"]["data"].get("state", {})
            if "nbtrain-stop" in state.get("_dom_classes", []):
                stop_buttons.append(msg["content"]["comm_id"])
        if stop_buttons and not clicked and t > 1.0:
            # what JupyterLab sends when the Stop toggle is clicked
            kc.shell_channel.send(kc.session.msg("comm_msg", {
                "comm_id": stop_buttons[0],
                "data": {"method": "update", "state": {"value": True}, "buffer_paths": []}}))
            clicked.append(t)

    messages = execute(kc, code, on_message=click_stop_after_a_second, timeout=120)
    assert stop_buttons, "the dashboard showed no Stop button"
    assert clicked, "training ended before the click was sent"
    finals = [m for m in messages if m["msg_type"] == "update_display_data"]
    text = finals[-1]["content"]["data"]["text/plain"]
    assert "stopped with the Stop button" in text, text
    after = execute(kc, "print(model.stop_reason, len(history.history['loss']))")
    printed = "".join(m["content"]["text"] for m in after if m["msg_type"] == "stream").split()
    assert printed[0] == "stopped" and 1 <= int(printed[1]) < 50, printed
