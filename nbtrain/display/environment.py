"""Where are we running, and which progress display fits: the one choice the engine delegates to us.

The engine asks through one function, :func:`progress_display_for`, saying how the fit runs (in the cell,
awaited with ``fit_async``, or in a background thread); which Stop button that allows is decided here.

========================================  =========================================================
where ``fit(verbose="auto" or 1)`` runs    display
========================================  =========================================================
terminal, script, IPython console          text bar (:class:`~nbtrain.callbacks.ProgbarLogger`)
notebook kernel, a person at the screen   widget dashboard (:class:`~nbtrain.display.dashboard.Dashboard`)
  ... without ipywidgets                   HTML through a display handle, plus what to install
notebook executed by nbclient, nbval,     nothing while training, then the static record
papermill, ``jupyter nbconvert --execute``  (:class:`~nbtrain.display.live.RecordOnly`)
========================================  =========================================================

``verbose=2`` prints one line per epoch everywhere, and ``verbose=0`` shows nothing. The environment variable
``NBTRAIN_PROGRESS=widgets|html|text|epochs|off`` overrides the choice (``epochs`` is one line per epoch).

"Executed without a person" is detected from the request being run: notebook front ends (JupyterLab,
Notebook 7, VS Code, Colab) send ``allow_stdin=True`` so that ``input()`` works; nbclient (and so papermill and
nbconvert) and nbval send ``allow_stdin=False``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
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


def _shell():
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def in_notebook_kernel() -> bool:
    """True inside a Jupyter kernel (ipykernel) that can show rich output: JupyterLab, Notebook, VS Code, Colab.

    Spyder's kernel is excluded: its console shows text only.
    """
    if "ipykernel" not in sys.modules:
        return False
    shell = _shell()
    if shell is None:
        return False
    try:
        from ipykernel.zmqshell import ZMQInteractiveShell
    except ImportError:
        return False
    if not isinstance(shell, ZMQInteractiveShell):
        return False
    return "spyder" not in type(shell).__module__.lower() and "SPY_PYTHONPATH" not in os.environ


def executed_without_a_person() -> bool:
    """True when the running cell was sent by nbclient, nbval, papermill or nbconvert (``allow_stdin=False``)."""
    shell = _shell()
    kernel = getattr(shell, "kernel", None)
    allow_stdin = getattr(kernel, "_allow_stdin", None)
    return allow_stdin is not None and not allow_stdin


def widgets_available() -> bool:
    """ipywidgets can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec("ipywidgets") is not None
    except (ImportError, ValueError):
        return False


def _version(text: str) -> tuple[int, ...]:
    """``"7.4.0"`` -> ``(7, 4, 0)``; ``"8.0.0a1"`` -> ``(8, 0, 0)``."""
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def awaiting_cell_stop_route() -> str | None:
    """``"awaiting"`` when a Stop click can reach ``fit_async`` while it runs, else None.

    A click arrives on the kernel's shell channel, which a running cell blocks. ipykernel 7.4 added an
    exception: while a cell awaits, widget messages are handled at once (ipykernel PR #1565). So the route
    exists when the cell awaits ``fit_async`` on the kernel's own event loop in ipykernel 7.4 or later.
    """
    if not in_notebook_kernel():
        return None
    version = _version(str(getattr(sys.modules.get("ipykernel"), "__version__", "")))
    if version < (7, 4):
        return None
    kernel = getattr(_shell(), "kernel", None)
    kernel_loop = getattr(getattr(kernel, "io_loop", None), "asyncio_loop", None)
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return "awaiting" if running is kernel_loop else None


def background_widgets_problem() -> str | None:
    """Why widget updates from a training thread cannot work in this kernel, or None when they can.

    ipykernel 7.0.x raised ``LookupError`` on comm messages sent from a thread (ipykernel#1450, fixed in 7.1).
    """
    module = sys.modules.get("ipykernel")
    version = str(getattr(module, "__version__", ""))
    if version.startswith("7.0."):
        return (f"ipykernel {version} cannot send widget updates from a background thread (fixed in ipykernel 7.1). "
                "Upgrade ipykernel (pip install -U ipykernel), or train in the foreground and stop with "
                "Kernel \u2192 Interrupt.")
    return None


def live_widgets_wanted() -> bool:
    """Whether live widgets fit here: a notebook kernel with the widget front end, and a person watching (not
    nbval or nbconvert, which keep only a static record)."""
    return in_notebook_kernel() and widgets_available() and not executed_without_a_person()


def choose_display(verbose, mode: str = "fit") -> str:
    """The name of the display that fits here: ``dashboard``, ``html``, ``record``, ``text``, ``epochs`` or ``off``.

    Args:
        verbose: ``fit``'s ``verbose`` (``"auto"``, 0, 1 or 2).
        mode: ``"fit"``, ``"evaluate"`` or ``"predict"``.

    Example:
        >>> choose_display(0)
        'off'
    """
    choice = requested_progress()
    if verbose == 0 or choice == "off":
        return "off"
    if choice == "epochs" or (choice is None and verbose == 2):
        return "epochs"
    if choice == "text":
        return "text"
    notebook = in_notebook_kernel()
    if choice == "widgets" and notebook:
        return "dashboard" if widgets_available() else "html"
    if choice == "html" and notebook:
        return "html"
    if not notebook:
        return "text"
    if executed_without_a_person():
        return "record"
    return "dashboard" if widgets_available() else "html"


def progress_callback_for(verbose, mode: str, stop_route: str | None = None):
    """The progress callback for ``fit``/``evaluate``/``predict`` with this ``verbose`` here, or None.

    Args:
        verbose: ``"auto"``, 0, 1 or 2, as given to ``fit``.
        mode: ``"fit"``, ``"evaluate"`` or ``"predict"``.
        stop_route: how a Stop button can reach the training loop: ``"background"`` (training runs in a
            thread) or ``"awaiting"`` (the cell awaits ``fit_async``); None when no click can reach it.
    """
    kind = choose_display(verbose, mode)
    if kind == "off":
        return None
    if kind == "epochs":
        return ProgbarLogger(verbose=2)
    if kind == "text":
        # A live \r bar only where it redraws (a terminal); finished lines in logs, files and notebooks.
        level = 2 if verbose == 2 else 1
        return ProgbarLogger(verbose=level, live=False if in_notebook_kernel() else None)
    if kind == "record":
        from nbtrain.display.live import RecordOnly

        return RecordOnly()
    if kind == "html":
        from nbtrain.display.html_display import HtmlDashboard
        from nbtrain.display.text import INSTALL_NOTE

        return HtmlDashboard(note=None if widgets_available() else INSTALL_NOTE, stop_route=stop_route)
    from nbtrain.display.dashboard import Dashboard

    return Dashboard(stop_route=stop_route)


def progress_display_for(verbose, mode: str, run: str = "cell", model_name: str = "model", epochs=None):
    """The seam between the engine and the display: the progress callback for one fit, evaluate or predict.

    Args:
        verbose: ``"auto"``, 0, 1 or 2, as given to ``fit``.
        mode: ``"fit"``, ``"evaluate"`` or ``"predict"``.
        run: how training runs: ``"cell"`` (the cell blocks until it ends), ``"awaiting"`` (the cell awaits
            ``fit_async``), or ``"background"`` (a thread; the display opens at once, in this cell).
        model_name, epochs: what a background display shows before training starts.

    Raises:
        RuntimeError: for ``run="background"`` where widget updates from a thread cannot work.
    """
    if run == "background":
        return _background_display(verbose, model_name, epochs)
    stop_route = awaiting_cell_stop_route() if run == "awaiting" else None
    return progress_callback_for(verbose, mode, stop_route)


def _background_display(verbose, model_name, epochs):
    if choose_display(verbose, "fit") in ("dashboard", "html"):
        problem = background_widgets_problem()
        if problem:
            raise RuntimeError(problem)
    progress = progress_callback_for(verbose, "fit", stop_route="background")
    if progress is not None and hasattr(progress, "open_early"):
        progress.open_early(str(model_name), epochs)
    return progress
