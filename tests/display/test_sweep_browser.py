"""A sweep's live comparison in a real browser: JupyterLab in headless Chromium, as a learner uses it.

A small sweep trains in the background (``background=True``, so the view's Stop buttons reach the kernel). The
test sees every row go queued -> running -> done, the plot change while the runs train, the leaderboard fill
in; it presses Stop on the run that is training and sees that run end "stopped" while the others finish; then the
live view gives way to the static record, and the kernel's ``SweepResult`` agrees with what the page showed.
Screenshots in the light and dark themes go to ``$NBTRAIN_SCREENSHOTS`` when set (else a temporary folder).

Assertions hold for any timing of a loaded machine: what must change is seen changing, never at given moments.
Reuses the JupyterLab and Chromium helpers of ``tests/display/test_browser.py`` (it skips where they skip).
"""

from __future__ import annotations

import time

import pytest

browser = pytest.importorskip("test_browser")     # skips without Chromium, Playwright or JupyterLab

EPOCHS = 8
CELLS = [
    """\
import time
import numpy as np
import nbtrain
from nbtrain.experiments import sweep

rng = np.random.default_rng(0)
x = rng.normal(size=(200, 6)).astype("float32")
y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")

def build(optimizer="adam", units=8):
    model = nbtrain.Sequential([nbtrain.Input((6,)), nbtrain.layers.Dense(units, activation="relu"),
                                nbtrain.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

class Slow(nbtrain.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.3)        # time to watch the rows move and to press Stop""",
    f"""\
handle = sweep(build, {{"optimizer": ["sgd", "adam"], "units": [4, 8]}}, x, y, epochs={EPOCHS}, batch_size=32,
               validation_split=0.25, callbacks=[Slow()], background=True)""",
    """\
result = handle.result()
print("statuses", [run.status for run in result.runs], "epochs", [run.epochs_done for run in result.runs])""",
]

# What the page shows of the sweep: each row's status and epochs, the plot's frame, the leaderboard, the runs
# offered to Stop, and whether the record has replaced the live view.
STATE_JS = """() => {
    const live = document.querySelector('.nbtrain-sweep');
    const rows = live ? [...live.querySelectorAll('.nbtrain-sweep-runs tbody tr')].map(tr => {
        const cells = [...tr.querySelectorAll('td')].map(td => td.textContent.trim());
        return {status: cells[1].replace(/^\\S+\\s/, '').split(':')[0], epochs: cells[cells.length - 3]};
    }) : [];
    const img = live ? live.querySelector('img') : null;
    const board = live ? live.querySelector('.nbtrain-leaderboard-line') : null;
    const select = document.querySelector('.jp-OutputArea select');
    const record = document.querySelector('.nbtrain-sweep-record');
    const errors = [...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.textContent)
        .filter(t => /Error displaying widget|model not found|Traceback/.test(t));
    return {rows, src: img ? img.src : null, board: board ? board.textContent : '',
            options: select ? [...select.options].map(o => o.textContent.replace(/\u00a0/g, ' ')) : [],
            record: record ? record.textContent : null, errors};
}"""


def watch(page, seconds: float, until) -> list[dict]:
    """Read the page's state every 100 ms until ``until(states)`` holds or ``seconds`` pass."""
    states = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        states.append(page.evaluate(STATE_JS))
        if until(states):
            break
        page.wait_for_timeout(100)
    return states


def statuses_seen(states, row: int) -> list[str]:
    """The statuses row ``row`` showed, in order, each once."""
    seen = []
    for state in states:
        if len(state["rows"]) > row and (not seen or seen[-1] != state["rows"][row]["status"]):
            seen.append(state["rows"][row]["status"])
    return seen


def frames(states) -> int:
    values = [state["src"] for state in states if state["src"]]
    return len(set(values))


def run_cell(page, index: int) -> None:
    page.locator(".jp-CodeCell").nth(index).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")


def test_live_sweep_in_jupyterlab(tmp_path, shots):
    with browser.lab_page(tmp_path, CELLS, shots, "sweep", height=1200) as (page, port):
        started = time.time()
        page.goto(f"http://127.0.0.1:{port}/lab/workspaces/nbtrain-test/tree/train.ipynb?reset",
                  wait_until="domcontentloaded")
        page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(timeout=60_000)
        page.wait_for_function(browser.KERNEL_READY_JS, timeout=60_000)
        run_cell(page, 0)
        run_cell(page, 1)                  # the sweep trains in the background; the kernel stays free for clicks
        page.locator(".nbtrain-sweep").first.wait_for(timeout=60_000)
        view = page.locator(".jp-CodeCell").nth(1).locator(".jp-OutputArea").first

        # run 0 trains, the others wait; then press Stop on run 1 once it trains
        states = watch(page, 60, lambda s: len(s[-1]["rows"]) == 4 and s[-1]["rows"][1]["status"] == "running")
        assert states[-1]["rows"][1]["status"] == "running", states[-1]
        assert states[-1]["rows"][0]["status"] == "done" and "1. run " in states[-1]["board"], states[-1]
        assert statuses_seen(states, 2) == ["queued"] and frames(states) >= 1
        view.screenshot(path=str(shots / "sweep_live_light.png"))
        options = states[-1]["options"]
        assert options[0] == "run 1: optimizer=sgd, units=8", options    # the runs not finished
        page.locator(".jp-OutputArea select").first.select_option(index=0)
        page.get_by_role("button", name="Stop run").first.click()

        # the rest of the sweep, in the dark theme from the next run on
        states += watch(page, 60, lambda s: s[-1]["rows"] and s[-1]["rows"][2]["status"] == "running")
        browser.set_theme(page, "JupyterLab Dark", True)
        if page.locator(".nbtrain-sweep").count():
            view.screenshot(path=str(shots / "sweep_live_dark.png"))
        states += watch(page, 60, lambda s: s[-1]["record"] is not None)
        record = states[-1]
        assert record["record"] is not None, "the record never replaced the live view"
        assert not any(state["errors"] for state in states), states[-1]["errors"]

        # every row went queued -> running -> its end, in that order; run 1 stopped part way
        assert statuses_seen(states, 0)[-2:] == ["running", "done"], statuses_seen(states, 0)
        for row, end in ((1, "stopped"), (2, "done"), (3, "done")):
            seen = statuses_seen(states, row)
            if row == 3 and seen == ["queued", "running"]:
                # the last run's end ends the sweep, and the record may replace the live view before a read of
                # the page sees that row done; the kernel's statuses below check how it ended
                seen.append(end)
            assert seen == ["queued", "running", end], (row, statuses_seen(states, row))
        stopped_at = int(next(s["rows"][1]["epochs"] for s in reversed(states) if s["rows"]).split("/")[0])
        assert stopped_at < EPOCHS
        assert frames(states) >= 4, f"the plot changed {frames(states) - 1} times"
        assert "run 1" not in states[-2]["options"]    # a stopped run is no longer offered
        assert "Leaderboard" in record["record"] or "rank" in record["record"], record["record"]

        page.locator(".jp-CodeCell").nth(1).screenshot(path=str(shots / "sweep_record_dark.png"))
        browser.set_theme(page, "JupyterLab Light", False)
        page.locator(".jp-CodeCell").nth(1).screenshot(path=str(shots / "sweep_record_light.png"))

        # the kernel agrees with what the page showed
        run_cell(page, 2)
        page.wait_for_function("() => /statuses \\[/.test(document.body.innerText)", timeout=30_000)
        printed = page.locator(".jp-OutputArea-output", has_text="statuses [").first.text_content()
        assert f"statuses ['done', 'stopped', 'done', 'done'] epochs [{EPOCHS}, {stopped_at}, {EPOCHS}, {EPOCHS}]" \
            in printed, printed
        print(f"browser test body took {time.time() - started:.1f} s")
