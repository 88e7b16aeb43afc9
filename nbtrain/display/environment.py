"""Where are we running, and which progress display fits: the one choice the engine delegates to us."""

from __future__ import annotations

import os
import sys

from nbtrain.callbacks.progbar import ProgbarLogger

PROGRESS_ENV = "NBTRAIN_PROGRESS"
PROGRESS_CHOICES = ("widgets", "html", "text", "epochs", "off")


def requested_progress() -> str | None:
    """The ``NBTRAIN_PROGRESS`` override, validated, or None when unset."""
    value = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if not value:
        return None
    if value not in PROGRESS_CHOICES:
        raise ValueError(f"{PROGRESS_ENV}={value!r} is not one of {', '.join(PROGRESS_CHOICES)}.")
    return value


def in_notebook_kernel() -> bool:
    """True inside a Jupyter kernel (ipykernel), whatever the front end."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def progress_callback_for(verbose, mode: str):
    """The progress callback for ``fit``/``evaluate``/``predict`` with this ``verbose`` here, or None."""
    choice = requested_progress()
    if verbose == 0 or choice == "off":
        return None
    if verbose == 2 or choice == "epochs":
        return ProgbarLogger(verbose=2)
    # In a notebook without the dashboard, plain finished lines read better than carriage-return redraws.
    return ProgbarLogger(verbose=1, live=False if in_notebook_kernel() or choice == "text" and
                         not sys.stdout.isatty() else None)
