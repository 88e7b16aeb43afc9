"""Text and HTML of a sweep: the terminal's line per finished run, the run table, the leaderboard, and the
static record that replaces the live view when the sweep ends. Pure string building; the formatting helpers
come from :mod:`nbtrain.display.format` and :mod:`nbtrain.display.static` (pure modules, imported lazily so
that importing the experiments loads nothing of the front end).

The text record holds no timings, so a saved notebook's record is the same from run to run.
"""

from __future__ import annotations

STATUS_GLYPHS = {"queued": "\u2026", "running": "\u25b6", "done": "\u2713", "stopped": "\u25a0",
                 "failed": "\u2717", "cancelled": "\u2013"}


def where_runs_train(executor: str) -> str:
    """``"in process"``, ``"on dask"``: the title's words for where the runs train."""
    return "in process" if executor == "in-process" else f"on {executor}"


def _fmt(value) -> str:
    from nbtrain.display.format import format_metric

    return "\u2013" if value is None else format_metric(value)


def run_line(run, total: int) -> str:
    """``[3/8] optimizer=adam, units=64: done, 10 epochs, val_loss 0.2345 (best 0.2101, epoch 8) in 1.2 s``."""
    from nbtrain.display.format import format_duration

    parts = [f"[{run.index + 1}/{total}] {run.label}: {run.status}, {run.epochs_done} "
             f"epoch{'s' if run.epochs_done != 1 else ''}"]
    final = run.final.get(run.monitor)
    if final is not None:
        parts.append(f", {run.monitor} {_fmt(final)} (best {_fmt(run.best_value)}, epoch {run.best_epoch})")
    if run.error:
        parts.append(f" - {run.error}")
    if run.seconds is not None:
        parts.append(f" in {format_duration(run.seconds)}")
    return "".join(parts)


def summary_text(result) -> str:
    """The ``text/plain`` record: what ran, the leaderboard by the monitor, the best run (no timings)."""
    counts = ", ".join(f"{n} {status}" for status, n in result.counts().items())
    lines = [f"Sweep: {len(result.runs)} runs {where_runs_train(result.executor)}, ranked by {result.monitor} ({result.mode}); "
             f"{counts}" + (" (interrupted)" if result.interrupted else "")]
    for place, run in enumerate(result.ranked(), 1):
        value = run.best_value
        score = f"{result.monitor} {_fmt(value)} (epoch {run.best_epoch})" if value is not None else run.status
        error = f" - {run.error}" if run.error else ""
        lines.append(f"{place:>3}. run {run.index} [{run.label}]: {score}{error}")
    best = result.best
    if best is not None:
        lines.append(f"best: run {best.index} [{best.label}], seed {best.seed}")
    return "\n".join(lines)


def leaderboard_html(result, limit: int | None = None) -> str:
    """One row per run, best first: place, status, the config, epochs, current and best monitored value.

    Args:
        result: a :class:`~nbtrain.experiments.result.SweepResult` (or a live one made from the progress).
        limit: show at most this many rows (the best ones), with a line saying how many more there are.
    """
    from nbtrain.display.format import escape
    from nbtrain.display.static import _CELL, _HEAD, _NAME, _TABLE, BEST_MARK

    keys = list(dict.fromkeys(key for run in result.runs for key in run.config))
    head = ["#", "run", "status", *keys, "epochs", result.monitor, f"best {result.monitor}"]
    cells = "".join(f'<th style="{_HEAD}{"text-align:left;" if i == 2 or name in keys else ""}">{escape(name)}</th>'
                    for i, name in enumerate(head))
    ranked = result.ranked()
    best = result.best
    rows = []
    for place, run in enumerate(ranked[:limit] if limit else ranked, 1):
        epochs = f"{run.epochs_done}/{run.epochs}" if run.epochs else str(run.epochs_done)
        status = f"{STATUS_GLYPHS.get(run.status, '')} {run.status}"
        if run.error:
            status += f": {run.error[:80]}"
        best_cell = _fmt(run.best_value)
        weight = ""
        if best is not None and run is best:
            best_cell = f"{best_cell}&nbsp;{BEST_MARK}"
            weight = "font-weight:600;"
        values = [str(place) if run.best_value is not None else "", str(run.index), escape(status),
                  *(escape(_config_text(run.config.get(key))) for key in keys), epochs,
                  _fmt(run.final.get(result.monitor)), best_cell]
        row = "".join(f'<td style="{_NAME if i == 2 or 3 <= i < 3 + len(keys) else _CELL}{weight}">{v}</td>'
                      for i, v in enumerate(values))
        rows.append(f"<tr>{row}</tr>")
    more = ""
    if limit and len(ranked) > limit:
        more = f'<div style="font-size:12px;opacity:0.8;">and {len(ranked) - limit} more runs</div>'
    return (f'<table class="nbtrain-leaderboard" style="{_TABLE}"><thead><tr>{cells}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>{more}')


def _config_text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else getattr(value, "__name__", None) or repr(value)


def record_html(result, png: bytes | None = None, note: str | None = None) -> str:
    from nbtrain.display.format import escape
    from nbtrain.display.plots import png_base64
    from nbtrain.display.static import _NOTE

    title = summary_text(result).splitlines()[0]
    parts = ['<div class="nbtrain-record nbtrain-sweep-record" '
             'style="font-family:var(--jp-ui-font-family, sans-serif);">',
             f'<div style="font-size:13px;font-weight:600;margin:2px 0;">{escape(title)}</div>',
             leaderboard_html(result)]
    if png:
        parts.append(f'<img alt="validation curves of every run" style="max-width:100%;" '
                     f'src="data:image/png;base64,{png_base64(png)}"/>')
    if note:
        parts.append(f'<div style="{_NOTE}">{escape(note)}</div>')
    parts.append("</div>")
    return "".join(parts)


def record_bundle(result, png: bytes | None = None, note: str | None = None) -> dict:
    """The static MIME bundle a sweep's live view leaves: text, HTML (leaderboard and plot) and the PNG."""
    from nbtrain.display.plots import png_base64

    bundle = {"text/plain": summary_text(result) + (f"\n{note}" if note else ""),
              "text/html": record_html(result, png, note)}
    if png:
        bundle["image/png"] = png_base64(png)
    return bundle
