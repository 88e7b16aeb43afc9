"""``Callback``, the hook interface of training, and ``CallbackList``, which calls many of them in order."""

from __future__ import annotations


class Callback:
    """Base class for objects that react to training events, with Keras's hook names and arguments.

    ``self.model`` is the model being trained and ``self.params`` a dict with at least ``verbose``,
    ``epochs`` and ``steps``. ``logs`` is always a dict of plain Python floats (``loss``, ``accuracy``,
    ``val_loss``, ...). Set ``self.model.stop_training = True`` to stop after the current batch.

    Example:
        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(f"epoch {epoch}: loss {logs['loss']:.3f}")
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        # Keras routes the training batch hooks to the older on_batch_* names.
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


_BATCH_HOOKS = {
    "on_train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "on_train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "on_test_batch_begin": ("on_test_batch_begin",),
    "on_test_batch_end": ("on_test_batch_end",),
    "on_predict_batch_begin": ("on_predict_batch_begin",),
    "on_predict_batch_end": ("on_predict_batch_end",),
}


def _overrides(callback: Callback, method_names) -> bool:
    return any(getattr(type(callback), name, None) is not getattr(Callback, name) for name in method_names)


class CallbackList(Callback):
    """Calls a list of callbacks in order: the user's first, then History, then the progress display.

    Batch hooks are only dispatched to callbacks that override them, so a fit with a thousand batches
    does not make thousands of empty calls.

    Args:
        callbacks: the callbacks, or None.
        model: the model they observe.
        **params: ``verbose``, ``epochs``, ``steps`` and other facts about the run.
    """

    def __init__(self, callbacks=None, model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
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

    def _call(self, hook: str, *args, logs=None):
        logs = {} if logs is None else logs
        for c in self.callbacks:
            getattr(c, hook)(*args, logs=logs)

    def _call_batch(self, hook: str, batch: int, logs=None):
        logs = {} if logs is None else logs
        for c in self._listeners[hook]:
            getattr(c, hook)(batch, logs=logs)

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs=logs)
    def on_train_end(self, logs=None): self._call("on_train_end", logs=logs)
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs=logs)
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs=logs)
    def on_test_begin(self, logs=None): self._call("on_test_begin", logs=logs)
    def on_test_end(self, logs=None): self._call("on_test_end", logs=logs)
    def on_predict_begin(self, logs=None): self._call("on_predict_begin", logs=logs)
    def on_predict_end(self, logs=None): self._call("on_predict_end", logs=logs)
    def on_train_batch_begin(self, batch, logs=None): self._call_batch("on_train_batch_begin", batch, logs)
    def on_train_batch_end(self, batch, logs=None): self._call_batch("on_train_batch_end", batch, logs)
    def on_test_batch_begin(self, batch, logs=None): self._call_batch("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch, logs=None): self._call_batch("on_test_batch_end", batch, logs)
    def on_predict_batch_begin(self, batch, logs=None): self._call_batch("on_predict_batch_begin", batch, logs)
    def on_predict_batch_end(self, batch, logs=None): self._call_batch("on_predict_batch_end", batch, logs)

    def __iter__(self):
        return iter(self.callbacks)

    def __repr__(self):
        return f"CallbackList({[type(c).__name__ for c in self.callbacks]})"
