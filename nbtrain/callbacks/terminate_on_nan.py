"""``TerminateOnNaN``: stop training as soon as the loss becomes NaN or infinite."""

from __future__ import annotations

import math
import sys

from nbtrain.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Stop training when a batch's loss is NaN or infinite (checked after every training batch).

    The current epoch still ends normally (``on_epoch_end`` runs, History records the invalid loss) and
    no further epochs start. The message counts epochs and batches from 1: ``Epoch 1, batch 4: invalid
    loss (nan), terminating training``. With ``raise_error=True`` it raises a ``RuntimeError`` at once instead.

    Args:
        raise_error: raise ``RuntimeError`` instead of stopping quietly.
        out: text stream for the message (default ``sys.stdout``).

    Example:
        >>> stop_on_nan = TerminateOnNaN()
        >>> # model.fit(x, y, epochs=50, callbacks=[stop_on_nan])
    """

    def __init__(self, raise_error=False, out=None):
        super().__init__()
        if not isinstance(raise_error, bool):
            raise TypeError(f"TerminateOnNaN expects raise_error to be True or False, got {raise_error!r}.")
        self.raise_error = raise_error
        self.out = out

    def on_train_begin(self, logs=None):
        self._epoch = 0
        self._invalid = None   # (epoch, batch, loss) of the first invalid loss, counted from 1

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        epoch = getattr(self, "_epoch", 0)
        self._invalid = (epoch + 1, batch + 1, loss)
        where = f"epoch {epoch + 1}, batch {batch + 1}"
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at {where}. Loss value: {loss}. Terminating training immediately."
            )
        stream = self.out or sys.stdout
        stream.write(f"{where.capitalize()}: invalid loss ({loss}), terminating training\n")
        stream.flush()
        self.model.stop_training = True

    def stop_description(self) -> str | None:
        """``the loss was nan at epoch 3, batch 7`` (see :meth:`Callback.stop_description`)."""
        if getattr(self, "_invalid", None) is None:
            return None
        epoch, batch, loss = self._invalid
        return f"the loss was {loss} at epoch {epoch}, batch {batch}"

    def __repr__(self):
        return f"TerminateOnNaN(raise_error={self.raise_error})"
