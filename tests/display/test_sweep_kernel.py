"""The sweep's live comparison in a real kernel: one output, updated in place while the runs train, replaced
by the static record; Kernel -> Interrupt cancels the rest and the cell returns the runs so far."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ipykernel")
pytest.importorskip("jupyter_client")
sys.path.insert(0, str(Path(__file__).parent))

from test_notebook_run import ROOT, kernel_env  # noqa: E402

SETUP = """\
import sys, time
sys.path.insert(0, "tests")
import nbtrain
from nbtrain.experiments import sweep
import sweep_models
class Slow(nbtrain.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.12)
x, y = sweep_models.data()
"""

SWEEP = ("result = sweep(sweep_models.build, {'optimizer': ['sgd', 'adam'], 'units': [4, 8]}, x, y, epochs=5, "
         "batch_size=16, validation_split=0.25, callbacks=[Slow()])\nprint(repr(result))")


@pytest.fixture
def kernel():
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(ROOT), env=kernel_env(PYTHONPATH=str(ROOT)))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    try:
        run(kc, SETUP)
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc, code, timeout=90, on_message=None):
    """Run ``code`` as a person at a notebook would (``allow_stdin=True``); return its iopub messages."""
    msg_id = kc.execute(code, allow_stdin=True)
    messages = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if on_message is not None:
            on_message(msg)
        if msg["msg_type"] == "error":
            raise AssertionError("\n".join(msg["content"]["traceback"]))
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages


def displays(messages):
    return [m for m in messages if m["msg_type"] in ("display_data", "update_display_data")]


def printed(messages) -> str:
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")


def test_the_comparison_is_live_and_leaves_its_record(kernel):
    km, kc = kernel
    messages = run(kc, SWEEP)
    shown = displays(messages)
    assert shown[0]["msg_type"] == "display_data" and "nbtrain-sweep-runs" in shown[0]["content"]["data"]["text/html"]
    display_id = shown[0]["content"]["transient"]["display_id"]
    updates = shown[1:]
    assert all(m["msg_type"] == "update_display_data" for m in updates)
    assert all(m["content"]["transient"]["display_id"] == display_id for m in updates)
    live = [m["content"]["data"]["text/html"] for m in updates[:-1]]
    # 4 runs x 5 epochs of 0.12 s: the rows change while the runs train, at most every 0.25 s
    assert 4 <= len(live) <= 20
    assert any("\u25b6 running" in html and "\u2026 queued" in html for html in live)
    assert any("data:image/png;base64," in html for html in live)          # the plot appears while runs train
    record = updates[-1]["content"]["data"]
    assert set(record) == {"text/plain", "text/html", "image/png"}
    assert record["text/plain"].startswith("Sweep: 4 runs in process, ranked by val_loss (min); 4 done")
    assert "<SweepResult 4 runs (4 done); best val_loss=" in printed(messages)


def test_interrupting_the_kernel_returns_the_runs_so_far(kernel):
    km, kc = kernel
    sent = []

    def interrupt_when_running(msg):
        data = msg["content"].get("data", {})
        if not sent and "\u25b6 running" in data.get("text/html", "") and "optimizer=adam" in data["text/html"] \
                and "\u2713 done" in data["text/html"]:
            sent.append(time.monotonic())
            km.interrupt_kernel()

    messages = run(kc, SWEEP, on_message=interrupt_when_running)
    assert sent, "the sweep never showed a running run after a finished one"
    record = displays(messages)[-1]["content"]["data"]["text/plain"]
    assert "(interrupted)" in record and "cancelled" in record and "stopped" in record
    assert "<SweepResult 4 runs (" in printed(messages)


def test_in_the_background_the_stop_all_button_reaches_the_runs(kernel):
    km, kc = kernel
    code = SWEEP.replace("callbacks=[Slow()])", "callbacks=[Slow()], background=True)").replace(
        "print(repr(result))", "handle = result\nprint(repr(handle))")
    start = time.monotonic()
    messages = run(kc, code)
    assert time.monotonic() - start < 10 and "<SweepHandle running" in printed(messages)
    buttons = [m for m in messages if m["msg_type"] == "comm_open"
               and m["content"]["data"]["state"].get("_model_name") == "ButtonModel"
               and m["content"]["data"]["state"].get("description") == "Stop all"]
    assert len(buttons) == 1
    click = kc.session.msg("comm_msg", {"comm_id": buttons[0]["content"]["comm_id"],
                                        "data": {"method": "custom", "content": {"event": "click"}}})
    kc.shell_channel.send(click)
    done = run(kc, "r = handle.result(60)\nprint(r.counts())")
    counts = eval(printed(done).strip().splitlines()[-1])
    assert counts.get("cancelled", 0) + counts.get("stopped", 0) >= 2, counts
