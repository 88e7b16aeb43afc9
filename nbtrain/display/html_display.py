"""The dashboard without ipywidgets: HTML redrawn through one display handle, then the static record.

Used in a notebook kernel where ipywidgets is not installed (or with ``NBTRAIN_PROGRESS=html``). Each update
replaces the whole output (``update_display_data``), so updates are rarer than the widget dashboard's: the
bars (and the table with them) at most twice a second, the plot (embedded as a PNG) every two seconds.
"""

from __future__ import annotations

from nbtrain.display.format import escape
from nbtrain.display.live import LiveDisplay
from nbtrain.display.plots import png_base64
from nbtrain.display.static import bar_html, metrics_table_html, summary_text, title_text
from nbtrain.display.text import BACKGROUND_HINT, INTERRUPT_HINT, status_parts, status_row_html, status_text

class HtmlDashboard(LiveDisplay):
    """Live progress as HTML through a display handle (no ipywidgets needed), then the static record.

    Args:
        clock, output, stop_route, note, raise_errors: see :class:`~nbtrain.display.live.LiveDisplay`.
    """

    bar_interval = 0.5
    plot_interval = 2.0

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.handle = None
        self._png_b64 = None
        self._dirty = False

    def _html(self) -> str:
        state = self.state
        parts = ['<div class="nbtrain-html-dashboard" style="font-family:var(--jp-ui-font-family, sans-serif);">']
        if state.mode == "fit":
            parts.append(f'<div style="font-weight:600;font-size:13px;">{escape(title_text(state))}</div>')
            hint = BACKGROUND_HINT if self.stop_route == "background" else INTERRUPT_HINT
            parts.append(f'<div style="opacity:0.8;font-size:12px;">{escape(hint)}</div>')
            first = state.first_epoch or 0
            done = len(state.epoch_indices)
            shown = (state.epoch + 1) if state.epoch is not None else first + 1
            parts.append(bar_html(done / max(1, state.epochs - first), f"Epoch {shown}/{state.epochs}"))
        fraction = state.batches_done / state.steps if state.steps else 0.0
        bar = bar_html(fraction, "Batch" if state.mode == "fit" else state.mode.capitalize())
        parts.append(status_row_html(bar, status_parts(state)))
        if state.epoch_logs:
            parts.append(f'<div style="overflow-x:auto;">{metrics_table_html(state)}</div>')
        if self._png_b64:
            parts.append(f'<div class="nbtrain-plot-stamp" style="opacity:0.8;font-size:12px;">'
                         f"plot: epoch {self.plot_epoch}</div>")
            parts.append(f'<img alt="training history plot" style="max-width:100%;" '
                         f'src="data:image/png;base64,{self._png_b64}"/>')
        if self.note:
            parts.append(f'<div style="opacity:0.8;font-size:12px;">{escape(self.note)}</div>')
        parts.append("</div>")
        return "".join(parts)

    def _bundle(self) -> dict:
        text = title_text(self.state) if self.state.mode == "fit" else self.state.mode.capitalize()
        return {"text/html": self._html(), "text/plain": f"{text}: {status_text(self.state)}"}

    def _open(self) -> None:
        self.handle = self._get_output().show(self._bundle())

    # Each _draw_* only marks the output stale; _flush sends one update per tick whatever changed.
    def _draw_progress(self) -> None:
        self._dirty = True

    def _draw_epoch(self) -> None:
        self._dirty = True

    def _draw_plot(self, png: bytes) -> None:
        self._png_b64 = png_base64(png)
        self._dirty = True

    def _refresh(self) -> None:
        self._dirty = True

    def _flush(self) -> None:
        if self._dirty and self.handle is not None:
            self._dirty = False
            self._get_output().update(self.handle, self._bundle())

    def _finish(self, bundle: dict) -> None:
        output = self._get_output()
        if self.handle is not None:
            output.update(self.handle, bundle)
        else:
            output.show(bundle)
        self.handle = None
        self._opened = False
        self._png_b64 = None


__all__ = ["HtmlDashboard", "summary_text"]
