"""``fit(..., background=True)``: train in a thread, so the kernel stays free and a Stop button works.

A widget click travels browser -> kernel on the shell channel, which a running cell blocks until it ends
(measured on ipykernel 6.29 to 7.4). Training in a thread lets the cell end at once: the kernel is idle,
clicks are handled within tens of milliseconds, and the dashboard's Stop button sets
``model.stop_training``, which the training loop honours after the current batch.

The cell that starts training shows the dashboard and returns a :class:`TrainingHandle`; a later cell calls
``handle.wait()`` to get the History (Run All and nbclient need that line, or they race ahead of training).

While the thread trains, the model is guarded: its handle is the model's ``_background`` marker, and
:func:`check_not_training_in_background`, called at the top of every public method that reads or changes the
weights, refuses calls from any other thread (a ``predict`` with another batch size used to break the training,
one with the same batch size to change it silently). The training thread itself is free to call them: callbacks
save, restore weights and evaluate from it.
"""

from __future__ import annotations

import threading
import traceback
import warnings

from nbtrain.models.interrupts import TrainingInterrupted
from nbtrain.models.progress import default_progress_callback


class TrainingHandle:
    """A ``fit`` running in a background thread.

    Attributes:
        model: the model being trained.
        exception: the exception ``fit`` raised, or None.

    Example:
        >>> handle = model.fit(x, y, epochs=50, background=True)   # doctest: +SKIP
        >>> history = handle.wait()                               # in a later cell   # doctest: +SKIP
    """

    def __init__(self, model, epochs=None, initial_epoch=0):
        self.model = model
        self.exception = None
        self._history = None
        self._finished = threading.Event()
        self._thread = None
        self.stop_requested = False
        self._interrupted = False   # Kernel -> Interrupt while wait() waited
        self._epochs = epochs
        self._initial_epoch = initial_epoch or 0
        self._history_before = getattr(model, "history", None)   # the fit replaces it once its loop starts

    @property
    def done(self) -> bool:
        """True once ``fit`` has returned or raised."""
        return self._finished.is_set()

    @property
    def history(self):
        """The History: complete once done, the epochs so far while training runs."""
        return self._history if self._history is not None else getattr(self.model, "history", None)

    @property
    def status(self) -> str:
        """``running``, or how it ended: ``completed``, ``stopped``, ``interrupted`` or ``error``."""
        if not self.done:
            return "running"
        if self.exception is not None:
            return "error"
        if self._interrupted:
            return "interrupted"
        return self.model.fit_outcome.reason or "completed"

    def stop(self) -> None:
        """Ask training to stop after the current batch (the history so far is kept)."""
        self.stop_requested = True
        self.model.stop_training = True

    def wait(self, timeout: float | None = None):
        """Block until training ends and return its History; re-raise the exception ``fit`` raised.

        After ``handle.stop()`` (or the Stop button) it returns the History of the epochs run. Kernel ->
        Interrupt (Ctrl-C) while waiting stops training after the current batch, waits for it, and then raises
        :class:`~nbtrain.models.interrupts.TrainingInterrupted` (the History is on ``model.history``), so that
        Run All stops here, as it does when ``fit`` itself is interrupted. A second interrupt gives up waiting.

        Args:
            timeout: seconds to wait at most; on timeout raises ``TimeoutError`` (training continues).
        """
        __tracebackhide__ = True   # IPython shows the user's frames (a failing callback), not this one
        try:
            finished = self._finished.wait(timeout)
        except KeyboardInterrupt:
            self.stop()
            self._finished.wait()
            self._interrupted = True
            raise self._interrupt_error() from None
        if not finished:
            raise TimeoutError(f"Training is still running after {timeout} s; call wait() again or stop().")
        if self.exception is not None:
            raise self.exception
        return self.history

    def _is_training_thread(self) -> bool:
        return self._thread is not None and threading.get_ident() == self._thread.ident

    def _epoch_text(self) -> str:
        """``epoch 3/20`` while the epochs run (``starting`` before the first), for the guard's message."""
        history = self.model.history
        if history is None or history is self._history_before:
            return "starting"
        epochs = list(history.epoch or [])
        current = epochs[-1] + 2 if epochs else self._initial_epoch + 1
        if self._epochs is None:
            return f"epoch {current}"
        return f"epoch {min(current, self._epochs)}/{self._epochs}"

    def _busy_error(self, method: str) -> RuntimeError:
        name = getattr(self.model, "name", "model")
        return RuntimeError(
            f"Model '{name}' is training in the background ({self._epoch_text()}), so {method}() cannot use it "
            f"now: it would change or race the training. Call handle.wait() to wait for it, or handle.stop() to "
            f"stop it after the current batch, before using the model.")

    def _report_error(self, error: BaseException) -> None:
        """Say at once, as a warning, that training failed, instead of waiting for ``wait()`` to raise it.

        The warning is located where the error was raised (a user's callback, say), and given without the
        warnings module's once-per-location memory, so a rerun that fails the same way is reported again.
        """
        name = getattr(self.model, "name", "model")
        frames = traceback.extract_tb(error.__traceback__)
        filename, lineno = (frames[-1].filename, frames[-1].lineno) if frames else (__file__, 0)
        first_line = f"{type(error).__name__}: {error}".splitlines()[0][:300].rstrip(".")
        warnings.warn_explicit(
            f"nbtrain: the background training of model '{name}' failed: {first_line}. The model is free "
            f"again; handle.wait() raises the error with its traceback.",
            RuntimeWarning, filename, lineno or 0, module=__name__, registry=None)

    def _interrupt_error(self) -> TrainingInterrupted:
        epochs = list(getattr(self.history, "epoch", None) or [])
        epoch = epochs[-1] + 1 if epochs else 1
        return TrainingInterrupted(self.history, epoch, None, epochs_done=len(epochs))

    def __repr__(self):
        # Shown under the cell that started training, and kept in the saved notebook: while running it says
        # "when shown", so that an old output does not read as a state that still holds.
        name = getattr(self.model, "name", "model")
        status = self.status
        if status == "running":
            return (f"<TrainingHandle for '{name}': running in the background when shown. handle.wait() returns "
                    f"the History; handle.stop() stops after the current batch.>")
        if status == "error":
            error = f"{type(self.exception).__name__}: {self.exception}".splitlines()[0][:200]
            return f"<TrainingHandle for '{name}': failed ({error}); handle.wait() raises it.>"
        epochs = len(getattr(self.history, "epoch", None) or [])
        plural = f"{epochs} epoch{'s' if epochs != 1 else ''}"
        ended = f"completed {plural}" if status == "completed" else f"{status} after {plural}"
        detail = self.model.fit_outcome.detail if status == "stopped" else None
        if detail:
            ended += f" ({detail})"
        return f"<TrainingHandle for '{name}': {ended}; handle.wait() returns the History.>"


# Makes "is the model free? then it is mine" one step, so two threads starting a background fit at once cannot
# both claim the model.
_CLAIM = threading.Lock()


def check_not_training_in_background(model, method: str) -> None:
    """Raise a ``RuntimeError`` naming ``handle.wait()`` and ``handle.stop()`` if ``model`` trains in the
    background on another thread; do nothing otherwise (and on the training thread itself).

    Args:
        model: any model.
        method: the public method being called, for the message (``"predict"``).
    """
    handle = getattr(model, "_background", None)
    if handle is not None and not handle.done and not handle._is_training_thread():
        raise handle._busy_error(method)


def _claim(model, handle: TrainingHandle) -> None:
    with _CLAIM:
        check_not_training_in_background(model, "fit")
        model._background = handle


def _release(model, handle: TrainingHandle) -> None:
    with _CLAIM:
        if getattr(model, "_background", None) is handle:
            model._background = None


def start_background_fit(model, fit_kwargs: dict) -> TrainingHandle:
    """Start ``model.fit(**fit_kwargs)`` in a daemon thread and return its :class:`TrainingHandle` at once.

    The progress display is chosen and shown here, in the calling cell, with a working Stop button; the
    thread runs ``fit`` with it. ``fit_kwargs`` are ``fit``'s keyword arguments (``background`` excluded).
    Until the thread ends, other threads cannot use the model (see :func:`check_not_training_in_background`);
    an error in the thread is reported at once as a ``RuntimeWarning``, and ``wait()`` raises it.

    Args:
        model: a compiled model.
        fit_kwargs: ``dict(x=x, y=y, epochs=..., verbose=..., callbacks=..., ...)``.

    Example:
        >>> handle = start_background_fit(model, dict(x=x, y=y, epochs=20))   # doctest: +SKIP
    """
    kwargs = dict(fit_kwargs)
    kwargs.pop("background", None)
    verbose = kwargs.pop("verbose", "auto")
    callbacks = kwargs.pop("callbacks", None)
    callbacks = [] if callbacks is None else list(callbacks) if isinstance(callbacks, (list, tuple)) else callbacks
    handle = TrainingHandle(model, kwargs.get("epochs"), kwargs.get("initial_epoch"))
    _claim(model, handle)     # before the display opens: a busy model gets its error, not a second dashboard
    try:
        progress = default_progress_callback(verbose, "fit", run="background", model_name=model.name,
                                             epochs=kwargs.get("epochs"))
    except BaseException:
        _release(model, handle)
        raise
    if progress is not None and isinstance(callbacks, list):
        callbacks = callbacks + [progress]
    model.stop_training = False

    def run():
        __tracebackhide__ = True
        try:
            handle._history = model.fit(**kwargs, verbose=0, callbacks=callbacks)
        except BaseException as error:  # a thread has nowhere to raise it: kept for wait(), reported now
            handle.exception = error
            handle._report_error(error)
        finally:
            _release(model, handle)   # first: once wait() returns, the model is free
            handle._finished.set()

    handle._thread = threading.Thread(target=run, name=f"nbtrain-fit-{getattr(model, 'name', 'model')}",
                                      daemon=True)
    try:
        handle._thread.start()
    except BaseException:
        _release(model, handle)
        raise
    return handle
