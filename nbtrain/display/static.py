"""The static record a progress display leaves behind: a plot, a table and a text summary, no widgets needed.

When ``fit`` ends, however it ends, the live display is replaced (through its display handle) by one output
whose MIME bundle holds:

* ``image/png``: the final history plot (what PDF export and image-only viewers show);
* ``text/html``: a table of final and best metrics, how training ended, and the same plot inline
  (JupyterLab, Notebook 7, VS Code, nbviewer and nbconvert prefer HTML and show one MIME type per output);
* ``text/plain``: a Keras-style summary (terminals, ``git diff``, nbval comparisons).

So a saved notebook shows the result on GitHub, nbviewer, in VS Code, exported HTML or PDF, and reopened
without a kernel. Everything here is pure string building from a :class:`~nbtrain.display.state.RunState`.
"""

from __future__ import annotations

from nbtrain.display.format import (escape, format_duration, format_learning_rate, format_metric,
                                    format_time_per_step, pretty_name)
from nbtrain.display.plots import png_base64

# Inline styles only: GitHub and nbviewer drop <style> blocks. No background colours, so that the table takes
# the notebook's own colours in light and dark themes.
_TABLE = "border-collapse:collapse;font-size:12px;margin:4px 0;"
_CELL = "padding:2px 10px;text-align:right;border-bottom:1px solid rgba(128,128,128,0.35);"
_HEAD = "padding:2px 10px;text-align:right;border-bottom:1px solid rgba(128,128,128,0.7);font-weight:600;"
_NAME = "padding:2px 10px;text-align:left;border-bottom:1px solid rgba(128,128,128,0.35);"
_NOTE = "font-size:12px;margin:2px 0;opacity:0.85;"
BEST_MARK = "\u2605"   # a star: the best value is marked by a glyph and bold, not by colour alone


def title_text(state) -> str:
    """``Training 'mlp': 20 epochs, 1,600 samples, batch size 32``."""
    parts = [f"{state.epochs} epoch{'s' if state.epochs != 1 else ''}"]
    if state.samples:
        parts.append(f"{state.samples:,} samples")
    if state.batch_size:
        parts.append(f"batch size {state.batch_size}")
    return f"Training '{state.model_name}': " + ", ".join(parts)


def epoch_line(state, logs: dict | None = None, epoch: int | None = None) -> str:
    """Keras's end-of-epoch line: ``Epoch 3/20 - loss: 0.4200 - accuracy: 0.8800``."""
    logs = state.epoch_logs[-1] if logs is None and state.epoch_logs else (logs or {})
    epoch = (state.epoch_indices[-1] if state.epoch_indices else 0) if epoch is None else epoch
    metrics = "".join(f" - {key}: {format_metric(value)}" for key, value in logs.items())
    return f"Epoch {epoch + 1}/{state.epochs}{metrics}"


def summary_text(state) -> str:
    """The ``text/plain`` record: how training ended, the last epoch line and the best epochs.

    Example output::

        Training 'mlp': 20 epochs, 1,600 samples, batch size 32
        completed 20 epochs in 3.1 s (2ms/step)
        Epoch 20/20 - accuracy: 0.9500 - loss: 0.1234 - val_accuracy: 0.9300 - val_loss: 0.2000
        best: loss 0.1234 (epoch 20), val_loss 0.1900 (epoch 17)
    """
    lines = [title_text(state), state.end_text(f"in {format_duration(state.elapsed())}"
             + (f" ({format_time_per_step(state.time_per_step())})" if state.time_per_step() else ""))]
    if state.epoch_logs:
        lines.append(epoch_line(state))
        bests = []
        for family, train_key, val_key in state.families():
            for key in (train_key, val_key):
                found = state.best(key) if key else None
                if found:
                    bests.append(f"{key} {format_metric(found[1])} (epoch {found[0]})")
        if bests:
            lines.append("best: " + ", ".join(bests))
    elif state.batch_logs:
        lines.append("no epoch finished; last batch:" +
                     "".join(f" - {k}: {format_metric(v)}" for k, v in state.batch_logs.items()))
    return "\n".join(lines)


def _value_cell(state, key: str | None, current: float | None) -> str:
    if key is None or current is None:
        return f'<td style="{_CELL}">&ndash;</td><td style="{_CELL}"></td>'
    found = state.best(key)
    is_best = found is not None and found[1] == current and found[0] == _last_epoch_with(state, key)
    value = format_metric(current)
    shown = f"<b>{value}&nbsp;{BEST_MARK}</b>" if is_best else value
    best = "" if found is None else f"{format_metric(found[1])} (epoch {found[0]})"
    return f'<td style="{_CELL}">{shown}</td><td style="{_CELL}opacity:0.8;">{escape(best)}</td>'


def _last_epoch_with(state, key: str) -> int | None:
    xs, _ = state.series(key)
    return xs[-1] if xs else None


def metrics_table_html(state, logs: dict | None = None) -> str:
    """Train and validation side by side, the best value starred (or shown with its epoch), and the LR.

    Args:
        state: the run.
        logs: the values to show as current; default the last finished epoch's.
    """
    logs = logs if logs is not None else (state.epoch_logs[-1] if state.epoch_logs else dict(state.batch_logs))
    families = state.families()
    validating = any(val for _, _, val in families)
    head = [f'<th style="{_HEAD}text-align:left;">metric</th>', f'<th style="{_HEAD}">train</th>',
            f'<th style="{_HEAD}">best train</th>']
    if validating:
        head += [f'<th style="{_HEAD}">validation</th>', f'<th style="{_HEAD}">best validation</th>']
    rows = []
    for family, train_key, val_key in families:
        cells = [f'<td style="{_NAME}">{escape(pretty_name(family))}</td>',
                 _value_cell(state, train_key, logs.get(train_key) if train_key else None)]
        if validating:
            cells.append(_value_cell(state, val_key, logs.get(val_key) if val_key else None))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if state.learning_rate is not None:
        span = 4 if validating else 2
        rows.append(f'<tr><td style="{_NAME}">learning rate</td><td style="{_NAME}" colspan="{span}">'
                    f"{escape(format_learning_rate(state.learning_rate))}</td></tr>")
    return (f'<table style="{_TABLE}"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def record_html(state, png: bytes | None = None, note: str | None = None) -> str:
    """The ``text/html`` record: title, how training ended, the metrics table and the plot."""
    ended = state.end_text(f"in {format_duration(state.elapsed())}")
    parts = ['<div class="nbtrain-record" style="font-family:var(--jp-ui-font-family, sans-serif);">',
             f'<div style="font-size:13px;font-weight:600;margin:2px 0;">{escape(title_text(state))}</div>',
             f'<div style="{_NOTE}">{escape(ended)}</div>']
    if state.epoch_logs or state.batch_logs:
        parts.append(metrics_table_html(state))
    if png:
        parts.append(f'<img alt="training history plot" style="max-width:100%;" '
                     f'src="data:image/png;base64,{png_base64(png)}"/>')
    if note:
        parts.append(f'<div style="{_NOTE}">{escape(note)}</div>')
    parts.append("</div>")
    return "".join(parts)


def record_bundle(state, png: bytes | None = None, note: str | None = None) -> dict:
    """The static MIME bundle that replaces a live display (see the module docstring)."""
    bundle = {"text/plain": summary_text(state) + (f"\n{note}" if note else ""),
              "text/html": record_html(state, png, note)}
    if png:
        bundle["image/png"] = png_base64(png)
    return bundle


BAR_FILL = "var(--jp-brand-color1, #4a90e2)"
BAR_TRACK = "rgba(128,128,128,0.28)"


def bar_html(fraction: float, label: str, text: str = "", css_class: str = "nbtrain-bar") -> str:
    """One progress row as plain HTML: a label, a bar and a status text, in one element (one update).

    The bar is two nested <span>s, not <progress>, which every browser draws differently. The fill uses the
    notebook theme's accent colour when there is one; the track is translucent grey on any background.
    """
    percent = max(0.0, min(100.0, 100.0 * fraction))
    # lines may break between the parts of the status, never inside one ("12,300 samples/s")
    parts = "<span> \u00b7 </span>".join(f'<span style="white-space:nowrap;">{escape(part)}</span>'
                                          for part in text.split(" \u00b7 ")) if text else ""
    return (f'<div class="{css_class}" style="display:flex;align-items:center;gap:10px;margin:1px 0;">'
            f'<span style="flex:0 0 7em;font-size:12px;">{escape(label)}</span>'
            f'<span style="flex:0 0 20em;height:9px;border-radius:5px;background:{BAR_TRACK};overflow:hidden;">'
            f'<span class="nbtrain-bar-fill" style="display:block;height:100%;width:{percent:.1f}%;'
            f'background:{BAR_FILL};"></span></span>'
            f'<span class="nbtrain-bar-text" style="font-size:12px;">{parts}</span></div>')


def progress_line(state, logs: dict | None = None) -> str:
    """The one line that ``evaluate``/``predict`` leave: ``63/63 - 0.4 s - 2ms/step - loss: 0.3000``."""
    steps = f"{state.total_batches_done}/{state.steps}" if state.steps else f"{state.total_batches_done}"
    logs = state.batch_logs if logs is None else logs
    metrics = "".join(f" - {key}: {format_metric(value)}" for key, value in logs.items())
    per_step = state.time_per_step()
    timing = f" - {format_duration(state.elapsed())}" + (f" - {format_time_per_step(per_step)}" if per_step else "")
    return f"{steps}{timing}{metrics}"


class StaticRecord:
    """A finished run's record as a displayable object (its ``_repr_mimebundle_`` is the static bundle).

    Example:
        >>> from IPython.display import display   # doctest: +SKIP
        >>> display(record)                       # doctest: +SKIP
    """

    def __init__(self, bundle: dict):
        self.bundle = bundle

    def _repr_mimebundle_(self, include=None, exclude=None):
        return dict(self.bundle)

    def __repr__(self):
        return self.bundle.get("text/plain", "<StaticRecord>")
