"""``sweep(..., background=True)``: the sweep trains in a thread and the cell returns a :class:`SweepHandle`.

The notebook stays usable while the runs train, and the live view's Stop buttons work (a click reaches the
kernel only when no cell is running). ``handle.result()`` waits for the :class:`SweepResult`;
``handle.stop()`` stops every run, ``handle.stop(run=3)`` one of them.
"""

from __future__ import annotations

import threading


class SweepHandle:
    """A sweep training in a background thread.

    Example:
        >>> handle = sweep(build, grid, x, y, epochs=10, validation_split=0.2, background=True)  # doctest: +SKIP
        >>> handle.stop(run=2)          # doctest: +SKIP
        >>> result = handle.result()    # doctest: +SKIP
    """

    def __init__(self, target, result, stop):
        self._result = result
        self._stop = stop
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(target,), name="nbtrain-sweep", daemon=True)
        self._thread.start()

    def _run(self, target) -> None:
        try:
            target()
        except BaseException as error:      # kept for result(): a thread's exception would otherwise vanish
            self._error = error

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def stop(self, run: int | None = None) -> None:
        """Stop every run (queued ones are cancelled, running ones stop after their current batch), or only
        run number ``run``."""
        if run is None:
            self._stop.all = True
            return
        if not isinstance(run, int) or not 0 <= run < len(self._result.runs):
            raise ValueError(f"run must be the number of one of the {len(self._result.runs)} runs "
                             f"(0 to {len(self._result.runs) - 1}), got {run!r}.")
        self._stop.runs.add(run)

    def result(self, timeout: float | None = None):
        """Wait for the sweep to end (at most ``timeout`` seconds) and return its :class:`SweepResult`."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"The sweep is still running after {timeout} s; call result() again, or stop() it.")
        if self._error is not None:
            raise self._error
        return self._result

    def __repr__(self):
        state = "done" if self.done else "running"
        return f"<SweepHandle {state}: {len(self._result.runs)} runs; result() waits for the SweepResult>"
