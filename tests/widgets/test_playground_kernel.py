"""The playground in a real kernel: the cell returns at once, frames come from the background thread while
other cells run, Pause stops them, and close (or running the cell again) leaves no thread and no widget model.

It runs on the ipykernel installed here (7.x), and on a second kernel named by ``NBTRAIN_EXTRA_KERNEL_PYTHON``
(the python of another environment, for example one with ``pip install ipykernel==6.29.5 ipywidgets numpy
pillow matplotlib``), so the threading is checked on both generations of ipykernel.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ipykernel")
pytest.importorskip("jupyter_client")
sys.path.insert(0, str(Path(__file__).parents[1] / "display"))

from test_notebook_run import ROOT, kernel_env  # noqa: E402

SETUP = """\
import gc, json, threading, time
import numpy as np
import nbtrain
from ipywidgets.widgets.widget import _instances as open_widgets
nbtrain.utils.set_random_seed(0)
def playground_threads():
    return sum(t.name == "nbtrain-playground" for t in threading.enumerate())
widgets_before = len(open_widgets)
"""

KERNELS = ["installed"] + (["extra"] if os.environ.get("NBTRAIN_EXTRA_KERNEL_PYTHON") else [])


@pytest.fixture(params=KERNELS)
def kernel_client(request, tmp_path):
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    if request.param == "extra":
        km.kernel_cmd = [os.environ["NBTRAIN_EXTRA_KERNEL_PYTHON"], "-m", "ipykernel_launcher", "-f",
                         "{connection_file}"]
    km.start_kernel(cwd=str(ROOT), env=kernel_env(PYTHONPATH=str(ROOT)))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    try:
        run(kc, SETUP)
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc, code, timeout=60, cell_id=None):
    """Run ``code`` as a notebook front end does (naming the cell, as JupyterLab does, when ``cell_id`` is
    given); return (seconds until idle, its messages, every other iopub message seen meanwhile: the background
    thread's widget updates)."""
    if cell_id is None:
        msg_id = kc.execute(code, allow_stdin=True)
    else:
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": True, "stop_on_error": True}
        msg = kc.session.msg("execute_request", content, metadata={"cellId": cell_id})
        kc.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
    mine, others = [], []
    start = time.monotonic()
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            others.append(msg)
            continue
        mine.append(msg)
        if msg["msg_type"] == "error":
            raise AssertionError("\n".join(msg["content"]["traceback"]))
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return time.monotonic() - start, mine, others


def printed(messages) -> dict:
    text = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    return json.loads(text.strip().splitlines()[-1])


def boundary_frames(messages, model_id) -> int:
    # an image's bytes travel as a binary buffer: the update names it in buffer_paths, not in its state
    return sum(1 for m in messages if m["msg_type"] == "comm_msg" and m["content"].get("comm_id") == model_id
               and ["value"] in m["content"]["data"].get("buffer_paths", []))


def test_play_runs_in_the_background_and_pause_and_close_end_it(kernel_client):
    kc = kernel_client
    seconds, mine, _ = run(kc, 'pg = nbtrain.widgets.Playground(dataset="spiral", hidden=[8, 8])\npg')
    views = [m for m in mine if m["msg_type"] == "display_data"]
    assert len(views) == 2, [m["content"]["data"].keys() for m in views]      # the widget, the record
    assert "application/vnd.jupyter.widget-view+json" in views[0]["content"]["data"]
    assert "nbtrain-playground-record" in views[1]["content"]["data"]["text/html"]
    print(f"showing the playground took {seconds:.2f} s")
    _, mine, _ = run(kc, "print(json.dumps({'boundary': pg.widgets['boundary'].model_id}))")
    boundary = printed(mine)["boundary"]

    # Play: the cell returns at once; frames keep coming while the kernel runs other cells
    run(kc, "pg.play()")
    seen = []
    start = time.monotonic()
    for _ in range(6):
        seconds, mine, others = run(kc, "print(json.dumps({'epoch': pg.epoch, 'playing': pg.playing}))")
        seen.extend(mine + others)     # the thread's messages carry whichever parent the kernel gives them
        assert seconds < 5, f"a cell took {seconds:.2f} s while the playground played"
        time.sleep(0.3)
    elapsed = time.monotonic() - start
    state = printed(mine)
    frames = boundary_frames(seen, boundary)
    print(f"{frames} boundary frames in {elapsed:.1f} s ({frames / elapsed:.1f} per second) at epoch "
          f"{state['epoch']}")
    assert state["playing"] and state["epoch"] > 0 and frames >= 3

    # Pause: training stops and the thread ends
    _, mine, others = run(kc, "pg.pause(); e = pg.epoch; time.sleep(0.5)\n"
                              "print(json.dumps({'same': e == pg.epoch, 'threads': playground_threads()}))")
    assert printed(mine) == {"same": True, "threads": 0}

    # running a cell again (JupyterLab names the cell) closes the playground it showed before
    run(kc, "spiral = pg")
    cell = "pg = nbtrain.widgets.Playground(dataset='xor')\npg.play()\npg"
    run(kc, cell, cell_id="cell-7")
    run(kc, "first = pg", cell_id="cell-8")
    run(kc, cell, cell_id="cell-7")
    _, mine, _ = run(kc, "print(json.dumps({'first closed': first._closed, 'second playing': pg.playing}))")
    assert printed(mine) == {"first closed": True, "second playing": True}

    # close() closes the rest: nothing left open
    _, mine, _ = run(kc, "pg.close(); spiral.close(); spiral = first = None; gc.collect()\n"
                         "print(json.dumps({'threads': playground_threads(), "
                         "'widgets': len(open_widgets) - widgets_before}))")
    assert printed(mine) == {"threads": 0, "widgets": 0}


def test_decision_boundary_live_next_to_the_dashboard_then_a_picture(kernel_client):
    """In a notebook with a person: the boundary is a live widget while fit runs (frames as Image updates), then
    its output is replaced by the final picture and its widget models are closed."""
    kc = kernel_client
    code = """\
x, y = nbtrain.widgets.make_2d_data("moons", samples=200, seed=0)
model = nbtrain.Sequential([nbtrain.Input(shape=(2,)), nbtrain.layers.Dense(8, activation="tanh"),
                            nbtrain.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy")
class Slow(nbtrain.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.05)
boundary = nbtrain.widgets.DecisionBoundary(x, y, interval=0.0)
history = model.fit(x, y, epochs=12, batch_size=50, callbacks=[boundary, Slow()])
gc.collect()
print(json.dumps({"frames": boundary.frames, "widgets": len(open_widgets) - widgets_before}))
"""
    _, mine, _ = run(kc, code)
    shown = [m for m in mine if m["msg_type"] == "display_data"]
    updates = [m for m in mine if m["msg_type"] == "update_display_data"]
    boundary_view = shown[0]["content"]
    assert "application/vnd.jupyter.widget-view+json" in boundary_view["data"]
    display_id = boundary_view["transient"]["display_id"]
    final = [u["content"]["data"] for u in updates if u["content"]["transient"]["display_id"] == display_id]
    assert final and "image/png" in final[-1] and "after 12 epochs" in final[-1]["text/plain"]
    assert printed(mine) == {"frames": 12, "widgets": 0}
