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
