"""``Callback``: the hook interface of training, with Keras's hook names and arguments."""

from __future__ import annotations


class Callback:
    """Base class for objects that react to training events, with Keras's hook names and arguments.

    ``self.model`` is the model being trained and ``self.params`` a dict with at least ``verbose``,
    ``epochs`` and ``steps``. ``logs`` is always a dict of plain Python floats (``loss``, ``accuracy``,
    ``val_loss``, ...). Set ``self.model.stop_training = True`` to stop after the current batch: the record,
    the text bar and ``model.fit_outcome.detail`` then name this callback ("stopped by MyCallback at epoch 5"),
    or say why in its own words if it defines :meth:`stop_description`.

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
        __tracebackhide__ = True   # IPython shows the user's on_batch_begin, not this frame, in a traceback
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        __tracebackhide__ = True
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    def stop_description(self) -> str | None:
        """Why this callback set ``model.stop_training``, in words, or None to be named with the epoch only.

        Read once, when training has stopped, for ``model.fit_outcome.detail``, the record and the text bar,
        which show it after the callback's name: ``EarlyStopping: val_loss did not improve for 10 epochs``.
        Epochs and batches in it are counted from 1, as people count them.

        Example:
            >>> class StopAtTarget(Callback):
            ...     def on_epoch_end(self, epoch, logs=None):
            ...         self.model.stop_training = logs["accuracy"] >= 0.99
            ...     def stop_description(self):
            ...         return "accuracy reached 0.99"
        """
        return None
