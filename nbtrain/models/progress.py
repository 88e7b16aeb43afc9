"""The one place the engine reaches into ``nbtrain.display``: the default progress display of a run.

The engine says how a fit runs (in the cell, awaited, in a background thread); the display package decides
what to show for it. The import is made when a display is needed, never when nbtrain is imported, so the
engine works with no front-end library installed.
"""

from __future__ import annotations


def default_progress_callback(verbose, mode: str, run: str = "cell", **details):
    """The progress callback for this environment, or None (``verbose=0``, or nothing to show).

    Args:
        verbose: ``"auto"``, 0, 1 or 2.
        mode: ``"fit"``, ``"evaluate"`` or ``"predict"``.
        run: ``"cell"``, ``"awaiting"`` (``fit_async``) or ``"background"`` (``fit(background=True)``).
        **details: ``model_name`` and ``epochs``, shown by a display opened before training starts.
    """
    from nbtrain.display.environment import progress_display_for

    return progress_display_for(verbose, mode, run, **details)
