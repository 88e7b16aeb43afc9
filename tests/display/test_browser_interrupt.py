"""A real browser: Kernel -> Interrupt during Run All stops the run of cells (issue 11).

JupyterLab in headless Chromium runs a notebook of three cells with Run All: a long fit, a second fit and a
print. The test interrupts the kernel (Kernel menu -> Interrupt Kernel) while the first fit trains, then checks
what a person sees: the first cell shows the static record ("interrupted at epoch ...", the history kept) and the
one-line ``TrainingInterrupted`` message without a traceback, and the two queued cells never ran (no outputs,
no execution count), because the interrupt propagated out of ``fit``.

The JupyterLab set-up, the browser options and the screenshot folder come from ``test_browser.py`` (it skips,
saying what is missing, where Chromium or Playwright are not installed, and so does this module then).
"""

from __future__ import annotations


from test_browser import NOTEBOOK_CELLS, lab_page, open_and_run_all

INTERRUPT_EPOCHS = 40      # ~25 s of training: the interrupt always comes in the middle of it
INTERRUPT_CELLS = [
    NOTEBOOK_CELLS[0]
    + f"\nhistory = model.fit(x, y, epochs={INTERRUPT_EPOCHS}, batch_size=40, validation_split=0.2, "
      "callbacks=[Slow()])",
    "second = model.fit(x, y, epochs=3, batch_size=40, callbacks=[Slow()])",
    "print('the third cell ran')",
]

PROMPTS_JS = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim())"""
IDLE_JS = """() => {
    const ind = document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
    return ind && ind.getAttribute('data-status') === 'idle' && !prompts.some(t => t.includes('*'));
}"""


def test_interrupt_stops_run_all_and_the_first_cell_says_what_was_kept(tmp_path, shots):
    with lab_page(tmp_path, INTERRUPT_CELLS, shots, "interrupt") as (page, port):
        interrupt_during_the_first_fit(page, port, shots)
        check_that_run_all_stopped(page, shots)


def interrupt_during_the_first_fit(page, port, shots):
    """Run All, wait until the first fit is in its second epoch, then Kernel -> Interrupt Kernel."""
    open_and_run_all(page, port)
    page.locator(".nbtrain-dashboard").first.wait_for(timeout=60_000)
    page.wait_for_function("() => /Epoch ([2-9]|\\d\\d)\\//.test(document.querySelector('.nbtrain-epoch-bar span')"
                           "?.textContent || '')", timeout=60_000)
    prompts = page.evaluate(PROMPTS_JS)
    assert prompts[0] == "[*]:" and all(t in ("[*]:", "[ ]:") for t in prompts[1:]), prompts  # all queued
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    page.get_by_role("menuitem", name="Interrupt Kernel").click()
    page.wait_for_function(IDLE_JS, timeout=60_000)


def check_that_run_all_stopped(page, shots):
    """Cell 1: the record and the one-line message. Cells 2 and 3: never run (no output, no execution count)."""
    cells = page.locator(".jp-CodeCell")
    first = cells.nth(0).locator(".jp-OutputArea-output")
    img = first.locator("img[src^='data:image/png']").first
    img.wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(300)
    text = cells.nth(0).locator(".jp-OutputArea").first.text_content()
    assert "interrupted at epoch" in text and "model.history holds the completed epochs" in text, text
    assert "TrainingInterrupted: Training interrupted at epoch " in text, text
    assert "completed epoch" in text.split("TrainingInterrupted")[1], text
    assert "Traceback" not in text and "most recent call last" not in text, text   # one line, no frames
    assert page.locator(".nbtrain-dashboard").count() == 0                        # replaced by the record
    prompts = page.evaluate(PROMPTS_JS)
    assert prompts[0].startswith("[") and prompts[0][1:-2].isdigit(), prompts
    assert prompts[1:] == ["[ ]:", "[ ]:"], prompts                                # never ran
    for index in (1, 2):
        assert cells.nth(index).locator(".jp-OutputArea-output").count() == 0, index
    # and nothing starts later: the queued cells were dropped, not delayed
    page.wait_for_timeout(2000)   # not time.sleep: Playwright must keep serving page.route
    assert page.evaluate(PROMPTS_JS)[1:] == ["[ ]:", "[ ]:"]
    cells.nth(0).screenshot(path=str(shots / "interrupted_run_all.png"))
    page.screenshot(path=str(shots / "interrupted_run_all_page.png"))
