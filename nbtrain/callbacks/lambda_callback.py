"""``LambdaCallback``: a callback made from plain functions, one per hook."""

from __future__ import annotations

import inspect

from nbtrain.callbacks.callback import Callback
from nbtrain.utils.errors import check_keyword_arguments

# Hook name -> the positional arguments before ``logs``.
HOOKS = {
    "on_train_begin": 0, "on_train_end": 0,
    "on_epoch_begin": 1, "on_epoch_end": 1,
    "on_train_batch_begin": 1, "on_train_batch_end": 1,
    "on_batch_begin": 1, "on_batch_end": 1,
    "on_test_begin": 0, "on_test_end": 0,
    "on_test_batch_begin": 1, "on_test_batch_end": 1,
    "on_predict_begin": 0, "on_predict_end": 0,
    "on_predict_batch_begin": 1, "on_predict_batch_end": 1,
}


def _accepts(function, count: int) -> bool:
    """Whether ``function`` can be called with ``count`` positional arguments (True when unknown)."""
    try:
        inspect.signature(function).bind(*range(count))
    except TypeError:
        return False
    except ValueError:  # no signature available (some builtins)
        return True
    return True


class LambdaCallback(Callback):
    """A callback built from functions, for quick one-off actions without writing a class.

    Functions are called positionally, as Keras calls them:

    - ``on_epoch_begin`` and ``on_epoch_end``: ``f(epoch, logs)``
    - ``on_train_begin`` and ``on_train_end``: ``f(logs)``
    - ``on_train_batch_begin`` and ``on_train_batch_end`` (or ``on_batch_begin``/``on_batch_end``): ``f(batch, logs)``
    - ``on_test_*`` and ``on_predict_*`` hooks, given as keyword arguments, likewise.

    A function that takes one argument fewer (``lambda epoch: ...``, ``lambda: ...``) is called without ``logs``.

    Args:
        on_epoch_begin, on_epoch_end, on_train_begin, on_train_end, on_train_batch_begin, on_train_batch_end:
            the functions, or None.
        **kwargs: any other hook by name (``on_batch_end=``, ``on_test_end=``, ...). An unknown name raises
            ``TypeError`` with the nearest hook name.

    Example:
        >>> losses = []
        >>> record = LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
        >>> # model.fit(x, y, epochs=5, callbacks=[record])
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        check_keyword_arguments("LambdaCallback()", kwargs, HOOKS)
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        self._functions = {}
        for name, function in given.items():
            if function is None:
                continue
            if not callable(function):
                raise TypeError(f"LambdaCallback expects {name} to be a function, got {function!r}.")
            self._functions[name] = self._adapt(name, function)

    @staticmethod
    def _adapt(name: str, function):
        leading = HOOKS[name]
        if _accepts(function, leading + 1):
            return function
        if _accepts(function, leading):
            return lambda *args: function(*args[:leading])
        expected = "(logs)" if leading == 0 else ("(epoch, logs)" if "epoch" in name else "(batch, logs)")
        raise TypeError(f"LambdaCallback: {name} is called as f{expected}, but the function given cannot take "
                        f"those arguments: {function!r}.")

    def _run(self, name: str, *args, logs=None) -> bool:
        function = self._functions.get(name)
        if function is None:
            return False
        function(*args, logs)
        return True

    def on_train_begin(self, logs=None): self._run("on_train_begin", logs=logs)
    def on_train_end(self, logs=None): self._run("on_train_end", logs=logs)
    def on_epoch_begin(self, epoch, logs=None): self._run("on_epoch_begin", epoch, logs=logs)
    def on_epoch_end(self, epoch, logs=None): self._run("on_epoch_end", epoch, logs=logs)
    def on_batch_begin(self, batch, logs=None): self._run("on_batch_begin", batch, logs=logs)
    def on_batch_end(self, batch, logs=None): self._run("on_batch_end", batch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        # As in Keras, the training batch hooks fall back to the older on_batch_* names.
        if not self._run("on_train_batch_begin", batch, logs=logs):
            self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        if not self._run("on_train_batch_end", batch, logs=logs):
            self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None): self._run("on_test_begin", logs=logs)
    def on_test_end(self, logs=None): self._run("on_test_end", logs=logs)
    def on_test_batch_begin(self, batch, logs=None): self._run("on_test_batch_begin", batch, logs=logs)
    def on_test_batch_end(self, batch, logs=None): self._run("on_test_batch_end", batch, logs=logs)
    def on_predict_begin(self, logs=None): self._run("on_predict_begin", logs=logs)
    def on_predict_end(self, logs=None): self._run("on_predict_end", logs=logs)
    def on_predict_batch_begin(self, batch, logs=None): self._run("on_predict_batch_begin", batch, logs=logs)
    def on_predict_batch_end(self, batch, logs=None): self._run("on_predict_batch_end", batch, logs=logs)

    def __repr__(self):
        return f"LambdaCallback({', '.join(self._functions) or 'no hooks'})"
