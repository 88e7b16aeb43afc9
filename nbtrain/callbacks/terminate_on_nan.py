"""``TerminateOnNaN``: stop training as soon as the loss becomes NaN or infinite."""

from __future__ import annotations

import math
import sys

from nbtrain.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Stop training when a batch's loss is NaN or infinite (checked after every training batch).

    The current epoch still ends normally (``on_epoch_end`` runs, History records the invalid loss) and
    no further epochs start. With ``raise_error=True`` it raises a ``RuntimeError`` at once instead.

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

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. Terminating training immediately."
            )
        stream = self.out or sys.stdout
        stream.write(f"Batch {batch}: Invalid loss, terminating training\n")
        stream.flush()
        self.model.stop_training = True

    def __repr__(self):
        return f"TerminateOnNaN(raise_error={self.raise_error})"
