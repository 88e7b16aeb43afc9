"""The displays' shared wording: how to stop, what to install, the batch status line.

The widget dashboard, the HTML fallback and the record all say these things; keeping the words here lets
each display import them downward instead of from one another.
"""

from __future__ import annotations

from nbtrain.display.format import escape, format_duration, format_metric, format_rate, format_time_per_step

INTERRUPT_HINT = ("To stop: interrupt the kernel (\u25a0 in the toolbar, or Kernel \u2192 Interrupt). Training stops "
                  "after the current batch and the history so far is kept.")
STOP_HINTS = {   # how to stop, for each route by which a click on Stop reaches the training loop
    "background": "Stop (or handle.stop()) ends training after the current batch; the history so far is kept.",
    "awaiting": "Stop ends training after the current batch; the history so far is kept.",
}
BACKGROUND_HINT = ("Training runs in the background: handle.wait() returns the History; handle.stop() (or the Stop "
                   "button) stops after the current batch. Do not use the model in other cells until wait() returns.")
INSTALL_NOTE = ("For the live widget dashboard: pip install 'ipywidgets>=8' in this kernel's environment, "
                "then restart the kernel.")
INTERRUPT_NOTE = ("Training stopped between two batches: the model keeps the weights of the last completed batch "
                  "and model.history holds the completed epochs. The interrupt then stopped the cell, so that Run "
                  "All stops here too.")


SEPARATOR = " \u00b7 "


def status_parts(state) -> list[str]:
    """The parts of the batch line, in order: ``["37/50", "12,300 samples/s", ..., "loss 0.4211"]``."""
    parts = []
    if state.steps:
        parts.append(f"{state.batches_done}/{state.steps}")
    else:
        parts.append(f"{state.batches_done}")
    if state.validating:
        parts.append("validating\u2026")
    rate = state.samples_per_second()
    if rate:
        parts.append(format_rate(rate))
    per_step = state.time_per_step()
    if per_step:
        parts.append(format_time_per_step(per_step))
    parts.append(f"{format_duration(state.elapsed())} elapsed")
    eta = state.total_eta() if state.mode == "fit" else state.epoch_eta()
    if eta is not None:
        parts.append(f"ETA {format_duration(eta)}")
    parts += [f"{key} {format_metric(value)}" for key, value in state.batch_logs.items()]
    return parts


def status_text(state) -> str:
    """The batch line: ``37/50 · 12,300 samples/s · 3ms/step · 1.2 s elapsed · ETA 9 s · loss 0.4211``."""
    return SEPARATOR.join(status_parts(state))


def status_row_html(bar: str, parts: list[str], css_class: str = "nbtrain-batch-row") -> str:
    """A bar and its status parts as one row that wraps cleanly at any width.

    The status sits right of the bar, or below it when less than ``18em`` is left. Its parts wrap as whole
    items ("12,300 samples/s" never breaks), and no line starts with a dangling "·": each part carries its
    separator in front of it, the parts are shifted left by one separator's width, and the status clips what
    sticks out on the left, so the separator of the first part of every line is out of sight. Inline styles only.

    Args:
        bar: the bar's HTML (:func:`~nbtrain.display.static.bar_html` without a text).
        parts: the status parts (:func:`status_parts`).
        css_class: the row's class.
    """
    separator = ('<span class="nbtrain-sep" style="display:inline-block;width:1.4em;text-align:center;'
                 'opacity:0.7;">\u00b7</span>')
    items = "".join(f'<span class="nbtrain-status-part" style="white-space:nowrap;">{separator}{escape(part)}</span>'
                    for part in parts)
    return (f'<div class="{css_class}" style="display:flex;flex-wrap:wrap;align-items:center;column-gap:4px;">'
            f"{bar}"
            '<div class="nbtrain-status" style="flex:1 1 18em;min-width:0;overflow:hidden;font-size:12px;">'
            f'<div style="display:flex;flex-wrap:wrap;margin-left:-1.4em;">{items}</div></div></div>')
