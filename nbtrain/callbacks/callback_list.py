"""``CallbackList``: calls many callbacks in order, and adds the History and progress display ``fit`` uses."""

from __future__ import annotations

import threading
from typing import NamedTuple

from nbtrain.callbacks.callback import Callback
from nbtrain.callbacks.history import History
from nbtrain.callbacks.progbar import ProgbarLogger

_BATCH_HOOKS = {
    "on_train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "on_train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "on_test_batch_begin": ("on_test_batch_begin",),
    "on_test_batch_end": ("on_test_batch_end",),
    "on_predict_batch_begin": ("on_predict_batch_begin",),
    "on_predict_batch_end": ("on_predict_batch_end",),
}


class StoppedBy(NamedTuple):
    """The callback that set ``model.stop_training``, and where: epoch and batch indices (from 0; batch None
    when it stopped at an epoch's end)."""

    callback: Callback
    epoch: int | None
    batch: int | None


def _checked_user_callbacks(callbacks) -> list[Callback]:
    user = [] if callbacks is None else (list(callbacks) if isinstance(callbacks, (list, tuple)) else None)
    if user is None or any(not isinstance(c, Callback) for c in user):
        raise TypeError(
            "callbacks must be a list of nbtrain.callbacks.Callback objects, for example "
            f"callbacks=[nbtrain.callbacks.EarlyStopping(patience=3)], got {callbacks!r}."
        )
    return user


def _is_progress(callback: Callback) -> bool:
    """The Keras text bar, or a display that says it shows progress (``is_progress_display``)."""
    return isinstance(callback, ProgbarLogger) or getattr(callback, "is_progress_display", False)


def _overrides(callback: Callback, method_names) -> bool:
    return any(getattr(type(callback), name, None) is not getattr(Callback, name) for name in method_names)


def _dispatcher(hook: str, takes: str | None = None):
    """The CallbackList method ``hook``: calls it on the callbacks (batch hooks on their listeners only).

    ``takes`` is the hook's first argument: None, ``"epoch"`` or ``"batch"``. Each method is a frame of its own
    in a traceback, hidden by IPython like ``_call``.
    """
    if takes == "batch":
        def call(self, batch, logs=None):
            __tracebackhide__ = True
            self._call_batch(hook, batch, logs)
    elif takes == "epoch":
        def call(self, epoch, logs=None):
            __tracebackhide__ = True
            self._call(hook, epoch, logs=logs)
    else:
        def call(self, logs=None):
            __tracebackhide__ = True
            self._call(hook, logs=logs)
    call.__name__ = call.__qualname__ = hook
    return call


class CallbackList(Callback):
    """Calls a list of callbacks in order: the user's first, then History, then the progress display.

    Batch hooks are only dispatched to callbacks that override them, so a fit with a thousand batches
    does not make thousands of empty calls. The first callback that sets ``model.stop_training`` is kept as
    :attr:`stopped_by`, so that the training loop can say who stopped training.

    The dispatching frames set ``__tracebackhide__``: when a user's callback raises, IPython's traceback goes
    from the user's cell to the user's callback, without nbtrain's frames in between.

    Args:
        callbacks: the callbacks, or None.
        model: the model they observe.
        add_history: add a fresh :class:`~nbtrain.callbacks.History` (``fit`` does), kept as ``self.history``.
        add_progress: a factory ``() -> Callback or None`` for the default progress display, called unless
            ``verbose`` is 0 or the user's callbacks include a progress display already.
        **params: ``verbose``, ``epochs``, ``steps`` and other facts about the run.
    """

    def __init__(self, callbacks=None, model=None, add_history=False, add_progress=None, **params):
        super().__init__()
        self.callbacks = _checked_user_callbacks(callbacks)
        self.history = None
        self.stopped_by: StoppedBy | None = None
        self._epoch = None
        if add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progress is not None and params.get("verbose") != 0 and not any(map(_is_progress, self.callbacks)):
            progress = add_progress()
            if progress is not None:
                self.callbacks.append(progress)
        self._listeners = {
            hook: [c for c in self.callbacks if _overrides(c, names)] for hook, names in _BATCH_HOOKS.items()
        }
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)
        for hook, names in _BATCH_HOOKS.items():
            if _overrides(callback, names):
                self._listeners[hook].append(callback)
        callback.set_model(self.model)
        callback.set_params(self.params)

    def set_model(self, model):
        super().set_model(model)
        for c in self.callbacks:
            c.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for c in self.callbacks:
            c.set_params(params)

    def _stopping(self) -> bool:
        return bool(getattr(self.model, "stop_training", False))

    def _stopped_by_this_thread(self) -> bool:
        """``model.stop_training`` was set on this (the training) thread: by the callback just called, not by a
        Stop click or ``handle.stop()`` from another thread while that callback ran."""
        setter = getattr(self.model, "_stop_training_thread", None)
        return self._stopping() and setter in (None, threading.get_ident())

    def _call(self, hook: str, *args, logs=None):
        """Call ``hook`` on every callback."""
        __tracebackhide__ = True   # IPython shows the user's callback, not this frame, in a traceback
        self._dispatch(self.callbacks, hook, args, {} if logs is None else logs, batch=None)

    def _call_batch(self, hook: str, batch: int, logs=None):
        """A batch hook, on the callbacks that override it only (see the class docstring)."""
        __tracebackhide__ = True
        self._dispatch(self._listeners[hook], hook, (batch,), {} if logs is None else logs,
                       batch=batch if hook.startswith("on_train") else None)

    def _dispatch(self, callbacks, hook: str, args: tuple, logs: dict, batch: int | None):
        """Call ``hook`` on ``callbacks`` in order; note the first one that sets ``model.stop_training``."""
        __tracebackhide__ = True
        for c in callbacks:
            was_stopping = self._stopping()
            getattr(c, hook)(*args, logs)   # positional, as Keras calls them: `def on_epoch_end(self, epoch, log=None)` works
            if not was_stopping and self.stopped_by is None and self._stopped_by_this_thread():
                self.stopped_by = StoppedBy(c, self._epoch, batch)

    def on_train_begin(self, logs=None):
        __tracebackhide__ = True
        self.stopped_by, self._epoch = None, None
        self._call("on_train_begin", logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        __tracebackhide__ = True
        self._epoch = epoch
        self._call("on_epoch_begin", epoch, logs=logs)

    on_train_end = _dispatcher("on_train_end")
    on_epoch_end = _dispatcher("on_epoch_end", takes="epoch")
    on_test_begin = _dispatcher("on_test_begin")
    on_test_end = _dispatcher("on_test_end")
    on_predict_begin = _dispatcher("on_predict_begin")
    on_predict_end = _dispatcher("on_predict_end")
    on_train_batch_begin = _dispatcher("on_train_batch_begin", takes="batch")
    on_train_batch_end = _dispatcher("on_train_batch_end", takes="batch")
    on_test_batch_begin = _dispatcher("on_test_batch_begin", takes="batch")
    on_test_batch_end = _dispatcher("on_test_batch_end", takes="batch")
    on_predict_batch_begin = _dispatcher("on_predict_batch_begin", takes="batch")
    on_predict_batch_end = _dispatcher("on_predict_batch_end", takes="batch")

    def __iter__(self):
        return iter(self.callbacks)

    def __repr__(self):
        return f"CallbackList({[type(c).__name__ for c in self.callbacks]})"
