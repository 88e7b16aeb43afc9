"""The displays' shared wording: how to stop, what to install, the batch status line.

The widget dashboard, the HTML fallback and the record all say these things; keeping the words here lets
each display import them downward instead of from one another.
"""

from __future__ import annotations

from nbtrain.display.format import format_duration, format_metric, format_rate, format_time_per_step

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


def status_text(state) -> str:
    """The batch line: ``37/50 · 12,300 samples/s · 3ms/step · 1.2 s elapsed · ETA 9 s · loss 0.4211``."""
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
    return " \u00b7 ".join(parts)
