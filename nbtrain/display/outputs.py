"""Where displays put their output: IPython display handles in a kernel, or a recorder in tests.

A display shows a MIME bundle once and later replaces it through the same handle (``update_display_data``),
so a cell keeps one output per display instead of growing a new one per update.
"""

from __future__ import annotations

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def output_or_ipython(output):
    """``output``, or a new :class:`IPythonOutput` when it is None (what a display uses unless a test gave one)."""
    return IPythonOutput() if output is None else output


class IPythonOutput:
    """Shows and updates MIME bundles through IPython display handles (``display(..., display_id=True)``)."""

    def show(self, bundle: dict):
        from IPython.display import display

        return display(dict(bundle), raw=True, display_id=True)

    def update(self, handle, bundle: dict) -> None:
        handle.update(dict(bundle), raw=True)

    def settle(self) -> None:
        """Wait until the kernel's I/O thread has sent what was queued so far (a few milliseconds).

        ipykernel sends output from a thread of its own; flushing ``sys.stdout`` waits for that thread to work
        through its queue. Called after building the dashboard and after the final record, it keeps their
        sending out of the training that follows (where it would compete for the interpreter) and gets the
        record out before the cell's next output.
        """
        import sys

        flush = getattr(sys.stdout, "flush", None)
        if flush is not None:
            flush()

    def widget_bundle(self, widget) -> dict:
        """The widget-view bundle of ``widget`` (without its ``text/plain`` repr, which callers replace)."""
        data = widget._repr_mimebundle_() or {}
        data = data[0] if isinstance(data, tuple) else data
        return {WIDGET_VIEW: data[WIDGET_VIEW]}


class RecordingOutput:
    """Keeps every show and update in memory; tests read ``outputs`` (what a saved notebook would hold).

    Example:
        >>> out = RecordingOutput()
        >>> h = out.show({"text/plain": "a"}); out.update(h, {"text/plain": "b"})
        >>> out.outputs
        [{'text/plain': 'b'}]
    """

    def __init__(self):
        self.outputs: list[dict] = []
        self.events: list[tuple[str, int, dict]] = []
        self.settled = 0

    def show(self, bundle: dict) -> int:
        self.outputs.append(dict(bundle))
        self.events.append(("show", len(self.outputs) - 1, dict(bundle)))
        return len(self.outputs) - 1

    def update(self, handle: int, bundle: dict) -> None:
        self.outputs[handle] = dict(bundle)
        self.events.append(("update", handle, dict(bundle)))

    def settle(self) -> None:
        self.settled += 1

    def widget_bundle(self, widget) -> dict:
        return {WIDGET_VIEW: {"model_id": getattr(widget, "model_id", "test"), "version_major": 2,
                              "version_minor": 0}}
