"""Turn Ctrl-C (Kernel -> Interrupt in Jupyter) into a request that training honours between batches."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class InterruptRequest:
    """Set when the user asked to stop; the training loop checks it after every batch."""

    def __init__(self):
        self.requested = False


@contextmanager
def deferred_interrupts():
    """While active, the first SIGINT only sets a flag, so no optimizer update is ever cut in half.

    A second SIGINT raises KeyboardInterrupt at once, as an escape hatch for a batch that never ends.
    Outside the main thread (where Python delivers signals) this yields a flag that is never set.
    """
    request = InterruptRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum, frame):
        if request.requested:
            raise KeyboardInterrupt
        request.requested = True

    try:
        signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # signals unavailable in this interpreter (embedded, some IDEs)
        yield request
        return
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


class TrainingInterrupted(KeyboardInterrupt):
    """Raised by ``fit`` after Kernel -> Interrupt (Ctrl-C) stopped training between two batches.

    ``fit`` first finishes cleanly: the callbacks see ``on_train_end``, the record is drawn, the History is on
    ``model.history`` and the weights are those of the last completed batch. Then it raises this, so that a
    notebook's Run All (and a script) stops instead of going on with the next cell. It is a
    ``KeyboardInterrupt``, so ``except KeyboardInterrupt`` still catches it.

    IPython shows it as one line, without a traceback: only nbtrain's own frames would be in it.

    Attributes:
        history: the History of the interrupted fit (also ``model.history``).
        epoch: the 1-based epoch that was running.
        batch: the batches completed in that epoch (so the 1-based number of the last one), or None when
            not known (an interrupt while ``handle.wait()`` waits on a background fit).

    Example:
        >>> error = TrainingInterrupted(history=None, epoch=4, batch=18, epochs_done=3)
        >>> print(error)
        Training interrupted at epoch 4, batch 18; model.history holds the 3 completed epochs and the weights are those of the last completed batch.
    """

    def __init__(self, history, epoch: int, batch: int | None, epochs_done: int):
        self.history = history
        self.epoch = epoch
        self.batch = batch
        held = "no completed epoch" if epochs_done == 0 else (
            "1 completed epoch" if epochs_done == 1 else f"the {epochs_done} completed epochs")
        where = f"at epoch {epoch}, batch {batch}" if batch is not None else f"in epoch {epoch}"
        super().__init__(f"Training interrupted {where}; model.history holds {held} "
                         f"and the weights are those of the last completed batch.")

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of formatting a traceback: the frames would all be nbtrain's loop.
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]
