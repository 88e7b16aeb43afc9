"""The playground in a real browser: JupyterLab in headless Chromium, as a learner uses it.

Press Play and see the boundary image change several times; press Pause and see it stop; change the learning
rate (no reset) and a layer's neurons (a reset to epoch 0); press Reset; save, shut the kernel down and reload:
the cell shows the static record (the boundary, the curves, the configuration) and no widget error. Screenshots
in the light and dark themes go to ``$NBTRAIN_SCREENSHOTS`` when set (else a temporary folder).

Assertions hold for any timing of a loaded machine: what must change is seen changing, never at given moments.
Reuses the JupyterLab and Chromium helpers of ``tests/display/test_browser.py`` (it skips where they skip).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "display"))

browser = pytest.importorskip("test_browser")     # skips without Chromium, Playwright or JupyterLab
nbformat = pytest.importorskip("nbformat")

CELLS = [
    """\
import nbtrain
nbtrain.utils.set_random_seed(0)
playground = nbtrain.widgets.Playground(dataset="spiral", noise=0.1, hidden=[6, 6],
                                        features=["x1", "x2", "sin(x1)", "sin(x2)"])
playground""",
    "print(f'settings lr={playground.config.learning_rate} hidden={playground.config.hidden} "
    "epoch={playground.epoch} views={playground.widgets[\"root\"]._view_count}')",
    """\
import time
x, y = nbtrain.widgets.make_2d_data("moons", samples=300, noise=0.1, seed=1)
moons = nbtrain.Sequential([nbtrain.Input(shape=(2,)), nbtrain.layers.Dense(12, activation="relu"),
                            nbtrain.layers.Dense(1, activation="sigmoid")], name="moons")
moons.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])

class Slow(nbtrain.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.25)        # ~4 s in all: time to see the boundary move

history = moons.fit(x, y, epochs=16, validation_split=0.2,
                    callbacks=[nbtrain.widgets.DecisionBoundary(x, y), Slow()])""",
]
BOUNDARY_JS = """() => {
    const img = document.querySelector('.nbtrain-boundary img');
    return img ? img.src : null;
}"""

STATE_JS = """() => {
    const root = document.querySelector('.nbtrain-playground');
    if (!root) return null;
    const img = root.querySelector('.nbtrain-pg-boundary-image img, img.nbtrain-pg-boundary-image');
    const stats = root.querySelector('.nbtrain-pg-stats');
    const layer = root.querySelector('.nbtrain-pg-layer-0');
    const play = root.querySelector('.nbtrain-pg-play');
    const record = document.querySelector('.nbtrain-playground-record');
    return {src: img ? img.src : null, stats: stats ? stats.textContent : '', layer: layer ? layer.textContent : '',
            play: play ? play.textContent.trim() : '',
            recordShown: record ? record.getBoundingClientRect().height > 0 : null};
}"""
RECORD_JS = """() => {
    const record = document.querySelector('.nbtrain-playground-record');
    const img = record && record.querySelector('img');
    const errors = [...document.querySelectorAll('.jp-OutputArea-output')]
        .filter(e => e.getBoundingClientRect().height > 0)
        .map(e => e.textContent).filter(t => /Error displaying widget|model not found|Traceback/.test(t));
    return {shown: !!record && record.getBoundingClientRect().height > 0,
            image: !!img && img.complete && img.naturalWidth > 0, text: record ? record.textContent : '',
            live: document.querySelectorAll('.nbtrain-playground').length, errors};
}"""


def epoch_of(state) -> int:
    digits = "".join(ch for ch in state["stats"].split("epoch")[1].split("train")[0] if ch.isdigit())
    return int(digits)


def watch(page, seconds: float, until=None) -> list[dict]:
    """Read the playground's state every 100 ms for ``seconds`` (or until ``until(states)``)."""
    states = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        states.append(page.evaluate(STATE_JS))
        if until is not None and until(states):
            break
        page.wait_for_timeout(100)        # not time.sleep: Playwright must keep serving page.route
    return states


def changes(states, key="src") -> int:
    values = [s[key] for s in states if s and s[key]]
    return sum(a != b for a, b in zip(values, values[1:]))


def test_playground_in_jupyterlab(tmp_path, shots):
    with browser.lab_page(tmp_path, CELLS, shots, "playground", height=1100) as (page, port):
        started = time.time()
        browser.open_and_run_all(page, port)

        # the third cell: DecisionBoundary live next to the dashboard, then the final picture
        page.locator(".nbtrain-boundary").first.wait_for(timeout=60_000)
        sources, deadline = [], time.time() + 30
        while time.time() < deadline:
            src = page.evaluate(BOUNDARY_JS)
            if src is None:
                break
            if not sources or sources[-1] != src:
                sources.append(src)
            if len(sources) == 3:
                page.locator(".jp-CodeCell").nth(2).screenshot(path=str(shots / "decision_boundary_live.png"))
            page.wait_for_timeout(100)
        assert len(sources) >= 3, f"the live boundary changed {len(sources) - 1} times"
        page.wait_for_function(browser.ALL_DONE_JS, timeout=60_000)
        fit_cell = page.locator(".jp-CodeCell").nth(2)
        fit_cell.locator("img[alt^='Decision boundary of']").first.wait_for(timeout=30_000)
        fit_cell.screenshot(path=str(shots / "decision_boundary_record.png"))
        page.locator(".nbtrain-playground").first.wait_for(timeout=30_000)
        page.locator(".jp-CodeCell").first.scroll_into_view_if_needed()
        playground = page.locator(".nbtrain-playground").first
        first = watch(page, 0.3)[-1]
        assert first["play"] == "Play" and epoch_of(first) == 0, first
        assert first["recordShown"] is False, "the static record shows under the live widget"

        # Play: the boundary changes again and again, the epoch counts up
        page.locator(".nbtrain-pg-play").first.click()
        states = watch(page, 20, until=lambda s: changes(s) >= 6)
        assert changes(states) >= 6, f"the boundary changed {changes(states)} times while playing"
        assert epoch_of(states[-1]) > epoch_of(first) and states[-1]["play"] == "Pause"
        playground.screenshot(path=str(shots / "playground_playing_light.png"))

        # Pause: nothing changes any more
        page.locator(".nbtrain-pg-play").first.click()
        page.wait_for_function("() => document.querySelector('.nbtrain-pg-play').textContent.trim() === 'Play'",
                               timeout=10_000)
        page.wait_for_timeout(400)                 # a frame already on its way may still land
        paused = watch(page, 1.5)
        assert changes(paused) == 0 and changes(paused, "stats") == 0, paused[-1]
        epoch = epoch_of(paused[-1])

        # the learning rate applies without a reset; one more neuron in layer 1 resets to epoch 0
        page.locator(".nbtrain-pg-learning-rate select").first.select_option(label="0.1")
        page.wait_for_timeout(300)
        assert epoch_of(watch(page, 0.1)[-1]) == epoch
        page.locator(".nbtrain-pg-more-0").first.click()
        page.wait_for_function("() => /7 neurons/.test(document.querySelector('.nbtrain-pg-layer-0').textContent)",
                               timeout=10_000)
        assert epoch_of(watch(page, 0.1)[-1]) == 0

        # Step twice, then Reset: back to epoch 0
        page.locator(".nbtrain-pg-step").first.click()
        page.locator(".nbtrain-pg-step").first.click()
        states = watch(page, 10, until=lambda s: epoch_of(s[-1]) == 2)
        assert epoch_of(states[-1]) == 2, states[-1]
        page.locator(".nbtrain-pg-reset").first.click()
        states = watch(page, 10, until=lambda s: epoch_of(s[-1]) == 0)
        assert epoch_of(states[-1]) == 0

        # the kernel agrees: run the second cell
        page.locator(".jp-CodeCell").nth(1).click()
        page.keyboard.press("Shift+Enter")
        page.wait_for_function("() => /settings lr=/.test(document.body.innerText)", timeout=20_000)
        printed = page.locator(".jp-OutputArea-output", has_text="settings lr=").first.text_content()
        # the front end counts its views of the playground (training pauses when the last one goes)
        assert "lr=0.1 hidden=[7, 6] epoch=0 views=1" in printed, printed

        # train a little more for the record, in both themes
        page.locator(".nbtrain-pg-play").first.click()
        watch(page, 20, until=lambda s: epoch_of(s[-1]) >= 40)
        playground.screenshot(path=str(shots / "playground_trained_light.png"))
        browser.set_theme(page, "JupyterLab Dark", True)
        page.wait_for_timeout(400)
        playground.screenshot(path=str(shots / "playground_playing_dark.png"))
        page.locator(".nbtrain-pg-play").first.click()
        page.wait_for_function("() => document.querySelector('.nbtrain-pg-play').textContent.trim() === 'Play'",
                               timeout=10_000)
        page.get_by_role("button", name="Code").first.click()
        page.wait_for_function("() => /nbtrain.Sequential/.test(document.querySelector('.nbtrain-playground')"
                               ".textContent)", timeout=10_000)
        playground.screenshot(path=str(shots / "playground_code_dark.png"))
        page.get_by_role("button", name="Code").first.click()

        # save, shut the kernel down, reload: the static record, and no widget error
        page.wait_for_timeout(500)                 # the record refreshed on Pause reaches the page
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        page.wait_for_timeout(1_000)
        page.get_by_role("menuitem", name="Kernel", exact=True).click()
        page.get_by_role("menuitem", name="Shut Down Kernel", exact=True).click()
        page.wait_for_timeout(1_000)
        page.reload(wait_until="domcontentloaded")
        page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(timeout=60_000)
        page.wait_for_function("() => !!document.querySelector('.nbtrain-playground-record img')", timeout=30_000)
        page.wait_for_timeout(1_500)               # the widget manager gives up on the missing models
        record = page.evaluate(RECORD_JS)
        assert record["shown"] and record["image"] and not record["errors"] and record["live"] == 0, record
        assert "Playground: epoch" in record["text"] and "hidden layers: 7, 6 (tanh)" in record["text"], record
        page.locator(".jp-CodeCell").first.screenshot(path=str(shots / "playground_record_dark.png"))
        browser.set_theme(page, "JupyterLab Light", False)
        page.locator(".jp-CodeCell").first.screenshot(path=str(shots / "playground_record_light.png"))
        print(f"browser test body took {time.time() - started:.1f} s")


def test_playground_in_notebook7(tmp_path, shots):
    """Jupyter Notebook 7: the same widget plays and pauses, and the record under it stays hidden."""
    pytest.importorskip("notebook", reason="pip install notebook (Jupyter Notebook 7)")
    root = tmp_path / "root"
    browser.write_notebook(root, CELLS[:1])
    port = browser.free_port()
    proc = browser.start_lab(root, port, shots / "notebook7-playground.log", app="notebook")
    try:
        with browser.playwright_api.sync_playwright() as p:
            ctx, page = browser.open_page(p, tmp_path / "profile", port, height=1000)
            try:
                browser.open_and_run_all(page, port, app="notebook")
                page.locator(".nbtrain-playground").first.wait_for(timeout=60_000)
                assert watch(page, 0.3)[-1]["recordShown"] is False
                page.locator(".nbtrain-pg-play").first.click()
                states = watch(page, 20, until=lambda s: changes(s) >= 4)
                assert changes(states) >= 4, f"the boundary changed {changes(states)} times while playing"
                page.locator(".nbtrain-pg-play").first.click()
                page.wait_for_function("() => document.querySelector('.nbtrain-pg-play').textContent.trim() "
                                       "=== 'Play'", timeout=10_000)
                page.locator(".nbtrain-playground").first.screenshot(path=str(shots / "playground_notebook7.png"))
            except Exception:
                page.screenshot(path=str(shots / "FAILED-playground-notebook7.png"))
                raise
            finally:
                ctx.close()
    finally:
        browser.stop_lab(proc)
