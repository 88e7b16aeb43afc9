"""A real browser: JupyterLab in headless Chromium runs a notebook that trains with the live dashboard.

It checks what a person sees: the batch bar moves while training runs, then the dashboard is replaced by the
static record with the final plot; no widget errors. It also clicks the Stop button of a cell that awaits
``fit_async`` (the button answers before the kernel does) and checks that training ended there, runs once
without the widget front end, and once in Jupyter Notebook 7 (the same kernel and widgets, another front end).
A ~10 s fit shows the live plot changing while it trains, each frame stamped with an epoch close to the bar's,
and the batch status laid out cleanly at 800 px (with the side panel open) and at full width. Screenshots
(mid-training, final, final in the dark theme, both widths) go to a temporary directory, or to
``$NBTRAIN_SCREENSHOTS`` when set.

Assertions hold for any timing of a loaded machine: what must change is seen changing, never at given moments.

Needs Debian's ``chromium`` (``apt-get install -y chromium``) and the ``playwright`` Python package; Playwright's
own browser download is never used. Skips, saying which is missing, where they are not installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("NBTRAIN_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} not found: install it with 'apt-get install -y chromium' to run the browser test",
                allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no 'playwright install')")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("jupyterlab")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
EPOCHS = 6
NOTEBOOK_CELLS = [
    """\
%matplotlib inline
import time
import numpy as np
import nbtrain
import nbtrain.display.live
nbtrain.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(800, 10)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype(int)
model = nbtrain.Sequential([nbtrain.Input(shape=(10,)), nbtrain.layers.Dense(16, activation="relu"),
                            nbtrain.layers.Dense(2, activation="softmax")], name="browser_mlp")
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

class Slow(nbtrain.callbacks.Callback):
    # ~0.7 s per epoch whatever the machine, so the browser can watch the bar move
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.035)
""",
    f"history = model.fit(x, y, epochs={EPOCHS}, batch_size=40, validation_split=0.2, callbacks=[Slow()], verbose=1)",
    "print('done', history.stop_reason, len(history.history['loss']))",
]
# the same notebook, training in an awaiting cell: the dashboard has a Stop button (ipykernel 7.4 and later)
STOP_EPOCHS = 40
STOP_CELLS = [NOTEBOOK_CELLS[0],
              f"history = await model.fit_async(x, y, epochs={STOP_EPOCHS}, batch_size=40, validation_split=0.2, "
              "callbacks=[Slow()])",
              NOTEBOOK_CELLS[2]]
# a ~10 s fit (12 epochs of 20 batches of ~40 ms): long enough to watch the live plot grow
LIVE_EPOCHS = 12
LIVE_CELLS = [NOTEBOOK_CELLS[0],
              f"history = model.fit(x, y, epochs={LIVE_EPOCHS}, batch_size=32, validation_split=0.2, "
              "callbacks=[Slow()], verbose=1)",
              NOTEBOOK_CELLS[2]]
SCENARIOS = {"widgets": NOTEBOOK_CELLS, "no-widget-front-end": NOTEBOOK_CELLS, "stop-button": STOP_CELLS,
             "notebook7": NOTEBOOK_CELLS, "live-plot": LIVE_CELLS}

KERNEL_READY_JS = """() => {
    const kn = document.querySelector('.jp-NotebookPanel-toolbar [data-jp-item-name="kernelName"]');
    const ind = document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');
    const name = kn ? kn.innerText.trim() : '';
    return name !== '' && name !== 'No Kernel' && ind && ind.getAttribute('data-status') === 'idle';
}"""
RUN_STARTED_JS = """() => {
    const p = document.querySelector('.jp-CodeCell .jp-InputPrompt');
    return p && /^\\[(\\*|\\d+)\\]:$/.test(p.textContent.trim());
}"""
ALL_DONE_JS = """() => {
    const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
    return p.length > 0 && p.every(t => /^\\[\\d+\\]:$/.test(t));
}"""
BAR_WIDTH_JS = """() => {
    const bar = document.querySelector('.nbtrain-batch-bar .nbtrain-bar-fill');
    return bar ? bar.style.width : null;
}"""
# the live plot's frame (each new frame is a new blob: URL), its epoch stamp, and the epoch bar's label
LIVE_PLOT_JS = """() => {
    const img = document.querySelector('.nbtrain-dashboard img.nbtrain-plot');
    const stamp = document.querySelector('.nbtrain-dashboard .nbtrain-plot-stamp');
    const label = document.querySelector('.nbtrain-dashboard .nbtrain-epoch-bar span');
    if (!label) return null;
    return {src: img ? img.src : null, stamp: stamp ? stamp.textContent : null, bar: label.textContent};
}"""
# The batch status, line by line as it is seen: a part's separator counts when it is not clipped away.
STATUS_LAYOUT_JS = """() => {
    const status = document.querySelector('.nbtrain-dashboard .nbtrain-status');
    if (!status) return null;
    const row = status.closest('.nbtrain-batch-row');
    const dashboard = status.closest('.nbtrain-dashboard');
    const output = status.closest('.jp-OutputArea-output');
    const box = status.getBoundingClientRect();
    const lines = new Map();
    let clippedRight = 0;
    for (const part of status.querySelectorAll('.nbtrain-status-part')) {
        const r = part.getBoundingClientRect();
        const sep = part.querySelector('.nbtrain-sep').getBoundingClientRect();
        const seen = (sep.left >= box.left - 0.5 ? '\u00b7 ' : '') + part.textContent.slice(1);
        const top = Math.round(r.top);
        lines.set(top, [...(lines.get(top) || []), seen]);
        if (r.right > box.right + 0.5) clippedRight += 1;
    }
    const overflow = e => e ? e.scrollWidth - e.clientWidth : 0;
    const right = dashboard.getBoundingClientRect().right;
    const inScroller = e => {
        for (let a = e.parentElement; a && a !== dashboard; a = a.parentElement)
            if (getComputedStyle(a).overflowX !== 'visible') return true;
        return false;
    };
    const sticking = [...dashboard.querySelectorAll('*')]
        .filter(e => e.getBoundingClientRect().right > right + 1 && !inScroller(e))
        .slice(0, 5).map(e => `${e.tagName}.${e.className}: ${Math.round(e.getBoundingClientRect().right - right)}px`);
    return {lines: [...lines.keys()].sort((a, b) => a - b).map(k => lines.get(k).join(' ')), sticking,
            clippedRight, rowOverflow: overflow(row), dashboardOverflow: overflow(dashboard),
            outputOverflow: overflow(output), statusWidth: box.width, viewport: window.innerWidth,
            sidePanel: (document.querySelector('#jp-left-stack') || {}).offsetWidth || 0};
}"""
# Click Stop and read the button in the same task: what it shows before any message reaches the kernel.
CLICK_STOP_JS = """() => {
    const button = document.querySelector('.nbtrain-dashboard .nbtrain-stop');
    button.click();
    return {pressed: button.classList.contains('mod-active'), label: getComputedStyle(button, '::after').content,
            clickable: getComputedStyle(button).pointerEvents !== 'none'};
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(settings: Path) -> None:
    def put(plugin, data):
        path = settings / plugin
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))

    # offline and deterministic: no news toast, no update check, every cell attached to the DOM
    put("@jupyterlab/apputils-extension/notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False})
    put("@jupyterlab/notebook-extension/tracker.jupyterlab-settings", {"windowingMode": "none"})


def start_lab(root: Path, port: int, log: Path, widgets: bool = True, app: str = "jupyterlab") -> subprocess.Popen:
    """Start JupyterLab (or, with ``app="notebook"``, Notebook 7) on ``port``, serving ``root``."""
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "NBTRAIN_PROGRESS")}
    jp = root / ".jp"
    env.update(JUPYTERLAB_SETTINGS_DIR=str(jp / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(jp / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(jp / "runtime"), JUPYTER_CONFIG_DIR=str(jp / "config"),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    write_settings(jp / "settings")
    if not widgets:
        # a front end without the widget manager (as JupyterLab without jupyterlab_widgets)
        (jp / "config" / "labconfig").mkdir(parents=True, exist_ok=True)
        (jp / "config" / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {"@jupyter-widgets/jupyterlab-manager": True}}))
    cmd = [sys.executable, "-m", app, "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
           "--PasswordIdentityProvider.hashed_password=", f"--ServerApp.root_dir={root}",
           *(["--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"] if app == "jupyterlab" else []),
           *(["--allow-root"] if os.geteuid() == 0 else [])]
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=root)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.25)
    proc.terminate()
    raise RuntimeError(f"jupyter lab did not start; see {log}")


def stop_lab(proc: subprocess.Popen) -> None:
    # SIGTERM shuts the kernels down too (POST /api/shutdown wants an _xsrf token even without auth)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def write_notebook(root: Path, cells: list[str]) -> Path:
    """A fresh folder ``root`` holding ``train.ipynb`` with these code cells, for JupyterLab to serve."""
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "train.ipynb")
    return root / "train.ipynb"


def open_page(playwright, profile: Path, port: int, height: int = 1400):
    """Headless Chromium at 1280 px wide that may reach only the Jupyter server on ``port``."""
    ctx = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": height}, device_scale_factor=1)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.route("**/*", lambda route: route.continue_()
               if route.request.url.startswith((f"http://127.0.0.1:{port}/", "data:", "blob:"))
               else route.abort())
    return ctx, page


@contextlib.contextmanager
def lab_page(tmp_path: Path, cells: list[str], shots: Path, name: str, height: int = 1400):
    """JupyterLab serving a notebook of ``cells``, and a Chromium page that may reach only it: yields
    ``(page, port)``, saves ``FAILED-<name>.png`` when the body fails, and stops everything afterwards."""
    root = tmp_path / "root"
    write_notebook(root, cells)
    port = free_port()
    proc = start_lab(root, port, shots / f"jupyterlab-{name}.log")
    try:
        with playwright_api.sync_playwright() as p:
            ctx, page = open_page(p, tmp_path / "profile", port, height)
            try:
                yield page, port
            except Exception:
                page.screenshot(path=str(shots / f"FAILED-{name}.png"))
                raise
            finally:
                ctx.close()
    finally:
        stop_lab(proc)
        shutil.rmtree(root / ".jp", ignore_errors=True)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_dashboard_live_then_static_in_jupyterlab(tmp_path, shots, scenario):
    if scenario == "stop-button":
        require_ipykernel_that_handles_clicks_while_a_cell_awaits()
    app = "notebook" if scenario == "notebook7" else "jupyterlab"
    if app == "notebook":
        pytest.importorskip("notebook", reason="pip install notebook (Jupyter Notebook 7)")
    widgets = scenario != "no-widget-front-end"
    root = tmp_path / "root"
    write_notebook(root, SCENARIOS[scenario])
    port = free_port()
    proc = start_lab(root, port, shots / f"{app}-{scenario}.log", widgets, app)
    console = []
    try:
        with playwright_api.sync_playwright() as p:
            ctx, page = open_page(p, tmp_path / "profile", port)
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            try:
                if scenario in ("widgets", "notebook7"):
                    run_and_watch(page, port, shots, app)
                    check_saved_notebook(page, root / "train.ipynb")
                elif scenario == "live-plot":
                    run_and_watch_the_plot(page, port, shots)
                elif scenario == "stop-button":
                    run_and_click_stop(page, port, shots)
                else:
                    run_without_widget_front_end(page, port, shots)
            except Exception:
                page.screenshot(path=str(shots / f"FAILED-{scenario}.png"))
                raise
            finally:
                ctx.close()
    finally:
        stop_lab(proc)
        shutil.rmtree(root / ".jp", ignore_errors=True)


def open_and_run_all(page, port, app="jupyterlab"):
    url = (f"http://127.0.0.1:{port}/lab/workspaces/nbtrain-test/tree/train.ipynb?reset" if app == "jupyterlab"
           else f"http://127.0.0.1:{port}/notebooks/train.ipynb")
    page.goto(url, wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(timeout=60_000)
    page.wait_for_function(KERNEL_READY_JS, timeout=60_000)
    for _ in range(3):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            page.wait_for_function(RUN_STARTED_JS, timeout=10_000)
            break
        except playwright_api.TimeoutError:
            continue
    else:
        raise AssertionError("Run All Cells never started")


def require_ipykernel_that_handles_clicks_while_a_cell_awaits():
    import ipykernel

    from nbtrain.display.environment import _version

    if _version(ipykernel.__version__) < (7, 4):
        pytest.skip(f"ipykernel {ipykernel.__version__}: a click reaches an awaiting cell from 7.4 on")


def check_final_record(page, ended=f"completed {EPOCHS} epochs", printed=f"done completed {EPOCHS}"):
    """Every cell ran; the fit cell shows the static record: the plot, the table, how training ended."""
    page.wait_for_function(ALL_DONE_JS, timeout=60_000)
    fit_output = page.locator(".jp-CodeCell").nth(1).locator(".jp-OutputArea-output")
    img = fit_output.locator("img[src^='data:image/png']").first
    img.wait_for(state="visible", timeout=30_000)
    page.wait_for_function("im => im.complete && im.naturalWidth > 0", arg=img.element_handle())
    text = fit_output.first.text_content()
    assert ended in text and "best validation" in text, text
    dom = page.evaluate("""() => ({
        dashboards: document.querySelectorAll('.nbtrain-dashboard').length,
        errors: [...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.textContent)
                  .filter(t => /Error displaying widget|model not found|Traceback|HBox[(]|VBox[(]/.test(t)),
        stdout: [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]')]
                  .map(e => e.textContent.trim()),
    })""")
    assert dom["dashboards"] == 0 and not dom["errors"], dom
    assert any(line.startswith(printed) for line in dom["stdout"]), dom


def run_and_watch(page, port, shots, app="jupyterlab"):
    open_and_run_all(page, port, app)

    # live phase: the dashboard appears and its batch bar moves
    page.locator(".nbtrain-dashboard").first.wait_for(timeout=60_000)
    widths, epochs_seen, mid_shot = [], set(), False
    deadline = time.time() + 60
    while time.time() < deadline:
        width = page.evaluate(BAR_WIDTH_JS)
        if width is None:          # the dashboard is gone: training finished
            break
        widths.append(width)
        label = page.evaluate("() => document.querySelector('.nbtrain-epoch-bar span')?.textContent || ''")
        epochs_seen.add(label.strip())
        if not mid_shot and len(epochs_seen) >= 3 and page.locator("img.nbtrain-plot").count():
            page.locator(".nbtrain-dashboard").first.screenshot(path=str(shots / f"live_dashboard_{app}.png"))
            mid_shot = True
        page.wait_for_timeout(150)   # not time.sleep: Playwright must keep serving page.route
    # The bar is drawn at most every LiveDisplay.bar_interval (0.2 s): in these 0.6 s epochs that is a few
    # positions per epoch, which ones depending on timing. Moving means: two different positions inside an
    # epoch, and the bar seen changing again and again.
    inside_an_epoch = {w for w in widths if 0 < float(w.rstrip("%")) < 100}
    changes = sum(a != b for a, b in zip(widths, widths[1:]))
    assert len(inside_an_epoch) >= 2 and changes >= 3, f"the batch bar did not move: {widths}"
    assert len(epochs_seen) >= 2, epochs_seen

    # final phase: the widget is replaced by the static record with its plot
    check_final_record(page)
    page.locator(".jp-CodeCell").nth(1).screenshot(path=str(shots / f"final_record_{app}.png"))
    if app == "jupyterlab":
        dark_theme_screenshot(page, shots)


def run_and_click_stop(page, port, shots):
    """``await model.fit_async(...)``: the Stop button ends training after the current batch, mid-run."""
    open_and_run_all(page, port)
    stop = page.locator(".nbtrain-dashboard .nbtrain-stop").first
    stop.wait_for(state="visible", timeout=60_000)
    page.wait_for_function("() => /Epoch [3-9]/.test(document.querySelector('.nbtrain-epoch-bar span')"
                           "?.textContent || '')", timeout=60_000)
    page.locator(".nbtrain-dashboard").first.screenshot(path=str(shots / "live_dashboard_stop_button.png"))
    clicked = page.evaluate(CLICK_STOP_JS)
    # the browser itself shows the click taken, before the kernel reaches the end of the batch
    assert clicked["pressed"] and "Stopping after this batch" in clicked["label"], clicked
    assert not clicked["clickable"], clicked          # a second click cannot un-press it
    try:
        page.locator(".nbtrain-dashboard").first.screenshot(path=str(shots / "stop_clicked.png"), timeout=2_000)
    except playwright_api.Error:
        pass                                           # training may already have ended: the record is checked
    check_final_record(page, ended="stopped with the Stop button after", printed="done stopped ")
    stdout = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stdout']").last
    epochs_done = int(stdout.text_content().split()[-1])
    assert 2 <= epochs_done < STOP_EPOCHS, epochs_done
    page.locator(".jp-CodeCell").nth(1).screenshot(path=str(shots / "final_record_stopped.png"))


def check_saved_notebook(page, path: Path):
    """Save (Ctrl+S): the file holds the static record, nothing that needs a kernel or widget state."""
    page.locator(".jp-CodeCell").nth(2).click()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    deadline = time.time() + 20
    while time.time() < deadline:
        nb = nbformat.read(path, as_version=4)
        outputs = nb.cells[1].get("outputs", [])
        if any("image/png" in o.get("data", {}) for o in outputs):
            break
        page.wait_for_timeout(300)
    else:
        raise AssertionError("the saved notebook has no plot in the fit cell")
    assert len(outputs) <= 3, outputs
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    record = [o for o in outputs if "image/png" in o.get("data", {})][0]["data"]
    assert {"text/html", "text/plain"} <= set(record) and f"completed {EPOCHS} epochs" in record["text/plain"]


def run_without_widget_front_end(page, port, shots):
    """No widget manager: an honest line instead of the widget while training, then the same static record."""
    open_and_run_all(page, port)
    note = page.locator(".jp-OutputArea-output", has_text="The live dashboard needs the Jupyter widgets front end")
    note.first.wait_for(timeout=60_000)
    page.locator(".jp-CodeCell").nth(1).screenshot(path=str(shots / "no_widgets_while_training.png"))
    check_final_record(page)
    page.locator(".jp-CodeCell").nth(1).screenshot(path=str(shots / "no_widgets_final_record.png"))


def dark_theme_screenshot(page, shots):
    """The static record in JupyterLab Dark, to check the colours by eye (best effort, never fails the test)."""
    try:
        page.keyboard.press("Control+Shift+C")                     # the command palette
        palette = page.locator(".lm-CommandPalette-input").first
        palette.wait_for(timeout=5_000)
        palette.fill("JupyterLab Dark")
        page.locator(".lm-CommandPalette-item", has_text="JupyterLab Dark").first.click(timeout=5_000)
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=10_000)
        page.wait_for_timeout(500)
        page.locator(".jp-CodeCell").nth(1).screenshot(path=str(shots / "final_record_dark.png"))
    except Exception as error:  # the theme menu is not what this test is about
        print(f"dark theme screenshot skipped: {error}")


def run_and_watch_the_plot(page, port, shots):
    """A ~10 s fit: the live plot changes at least three times while training runs, and when a new frame
    shows, its epoch stamp is within two epochs of the epoch bar. Meanwhile the batch status is checked at
    800 px with JupyterLab's file browser open, and at full width."""
    open_and_run_all(page, port)
    page.locator(".nbtrain-dashboard").first.wait_for(timeout=60_000)
    frames, last_src, layouts = [], None, {}
    widths = [(800, "narrow"), (1600, "wide")]
    deadline = time.time() + 120
    while time.time() < deadline:
        seen = page.evaluate(LIVE_PLOT_JS)
        if seen is None:                   # the dashboard is gone: training finished
            break
        if seen["src"] and seen["src"] != last_src and seen["stamp"]:
            last_src = seen["src"]
            frames.append((int(seen["stamp"].split()[-1]), int(seen["bar"].split()[1].split("/")[0])))
        if len(frames) >= 3 and len(layouts) < len(widths):
            # after three frames, so that the second or so each check takes cannot hide them
            check_status_layout(page, shots, *widths[len(layouts)], layouts)
        page.wait_for_timeout(100)         # not time.sleep: Playwright must keep serving page.route
    print(f"live plot frames seen, as (plot epoch, bar epoch): {frames}")
    assert len(frames) >= 3, f"the live plot changed {len(frames)} times while training: {frames}"
    assert all(abs(bar - stamp) <= 2 for stamp, bar in frames), f"(plot epoch, bar epoch) per frame: {frames}"
    assert [stamp for stamp, _ in frames] == sorted(stamp for stamp, _ in frames), frames
    assert set(layouts) == {"narrow", "wide"}, f"training ended before the layout was checked: {layouts}"
    check_final_record(page, ended=f"completed {LIVE_EPOCHS} epochs", printed=f"done completed {LIVE_EPOCHS}")


def check_status_layout(page, shots, width, name, layouts):
    """At this viewport width (with the file browser open), the batch status lays out cleanly: no line of it
    starts with a dangling "·", no part is cut off, nothing in the dashboard overflows sideways."""
    page.set_viewport_size({"width": width, "height": 1000})
    show_file_browser(page)
    page.wait_for_timeout(600)             # a few bar ticks at the new width
    layout = page.evaluate(STATUS_LAYOUT_JS)
    if layout is None:
        return
    page.locator(".nbtrain-dashboard").first.screenshot(path=str(shots / f"live_dashboard_{name}_{width}px.png"))
    page.screenshot(path=str(shots / f"jupyterlab_{name}_{width}px.png"))
    layouts[name] = layout
    assert layout["lines"] and not any(line.startswith("\u00b7") for line in layout["lines"]), layout
    assert layout["clippedRight"] == 0, layout
    assert max(layout["rowOverflow"], layout["dashboardOverflow"], layout["outputOverflow"]) <= 1, layout
    assert layout["sidePanel"] > 0, layout     # the narrow case is the one with the side panel open
    if name == "wide":
        assert len(layout["lines"]) == 1, layout   # full width: the status is one line beside the bar


def show_file_browser(page):
    """Open JupyterLab's left side panel (the file browser) if it is closed."""
    if page.evaluate("() => (document.querySelector('#jp-left-stack') || {}).offsetWidth || 0"):
        return
    tab = page.locator(".jp-SideBar.jp-mod-left [data-id='filebrowser']").first
    if tab.count():
        tab.click()
        page.wait_for_timeout(300)


PLOT_HISTORY_CELLS = [
    """\
%matplotlib inline
import nbtrain
epochs = range(30)
history = {"loss": [10 * 0.8 ** e for e in epochs], "val_loss": [11 * 0.81 ** e for e in epochs]}
for name in ("accuracy", "auc", "precision", "recall"):
    history[name] = [0.95 - 0.45 * 0.85 ** e for e in epochs]
    history["val_" + name] = [0.93 - 0.45 * 0.86 ** e for e in epochs]
""",
    "nbtrain.plot_history(history)",
]
PLOT_IMAGE_JS = """() => {
    const img = document.querySelectorAll('.jp-CodeCell')[1]?.querySelector('.jp-OutputArea-output img');
    if (!img || !img.complete || !img.naturalWidth) return null;
    const area = img.closest('.jp-OutputArea-output');
    const box = img.getBoundingClientRect();
    return {natural: img.naturalWidth, shown: box.width, area: area.getBoundingClientRect().width,
            x: box.x, y: box.y, height: box.height,
            background: getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim()};
}"""


def test_plot_history_reads_in_light_and_dark_themes(tmp_path, shots):
    """``plot_history`` in JupyterLab Light and Dark: all five panels shown unscaled (so its 9-point text is at
    least 9 px), and its background is the notebook's own, not a white box, in both themes."""
    import io

    import numpy as np
    from PIL import Image

    with lab_page(tmp_path, PLOT_HISTORY_CELLS, shots, "plot-history", height=1000) as (page, port):
        open_and_run_all(page, port)
        page.wait_for_function(ALL_DONE_JS, timeout=60_000)
        page.wait_for_function(PLOT_IMAGE_JS, timeout=30_000)
        for theme, dark in (("JupyterLab Light", False), ("JupyterLab Dark", True)):
            set_theme(page, theme, dark)
            image = page.evaluate(PLOT_IMAGE_JS)
            path = shots / f"plot_history_{'dark' if dark else 'light'}.png"
            page.locator(".jp-CodeCell").nth(1).screenshot(path=str(path))
            # shown pixel for pixel: nothing scales the figure (and its text) down
            assert abs(image["shown"] - image["natural"]) < 1 and image["natural"] <= image["area"], image
            # the figure's background is transparent: its corner has the notebook's colour
            shot = np.asarray(Image.open(io.BytesIO(page.screenshot(clip={
                "x": image["x"] + 1, "y": image["y"] + 1, "width": 4, "height": 4}))).convert("RGB"))
            corner = shot.reshape(-1, 3).mean(axis=0)
            assert (corner.mean() < 60) if dark else (corner.mean() > 200), (theme, corner, image)


def set_theme(page, theme: str, dark: bool) -> None:
    """Switch JupyterLab's theme through the command palette and wait until it applies."""
    wanted = "false" if dark else "true"
    if page.evaluate("() => document.body.dataset.jpThemeLight") == wanted:
        return
    # On a busy machine the palette can open before its commands are listed: try again a few times.
    for attempt in range(3):
        page.keyboard.press("Control+Shift+C")
        palette = page.locator(".lm-CommandPalette-input").first
        palette.wait_for(timeout=10_000)
        palette.fill(theme)
        try:
            page.locator(".lm-CommandPalette-item", has_text=theme).first.click(timeout=10_000)
            break
        except Exception:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            page.wait_for_timeout(1_000)
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{wanted}'", timeout=15_000)
    page.wait_for_timeout(500)
