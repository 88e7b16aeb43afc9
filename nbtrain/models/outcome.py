"""How the last ``fit`` ended: one small object on the model that callbacks, displays and handles read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FitOutcome:
    """How the model's last ``fit`` ended (``model.fit_outcome``), set by the training loop.

    History, the text bar, the dashboard, ``BackupAndRestore`` and the background ``TrainingHandle`` read it
    in ``on_train_end`` or after ``fit`` returned.

    Attributes:
        reason: ``"completed"``; ``"stopped"`` (a callback or the Stop button set ``stop_training``, or a
            one-shot generator ran dry); ``"interrupted"`` (Kernel -> Interrupt, Ctrl-C, a cancelled
            ``fit_async``); ``"error"``; None before the first fit.
        interrupted_at: ``(epoch, batches)`` when interrupted: the epoch *index* as callbacks and
            ``History.epoch`` count it (from 0, as Keras does, so ``fit(..., initial_epoch=epoch)`` reruns that
            epoch), and the number of batches completed in it (so also the 1-based number of the last one).
            People read it 1-based: ``(3, 18)`` is "epoch 4, batch 18".
        detail: who stopped training and why, in words, for ``"stopped"`` (for example ``"EarlyStopping:
            val_loss did not improve for 10 epochs; weights restored from epoch 17"`` or ``"stopped by
            MyCallback at epoch 5"``); None otherwise.

    Example:
        >>> FitOutcome("interrupted", (2, 5))
        FitOutcome(reason='interrupted', interrupted_at=(2, 5), detail=None)
    """

    reason: str | None = None
    interrupted_at: tuple[int, int] | None = None
    detail: str | None = None


def stop_detail(stopped_by, epoch: int, ran_out: bool = False, data: str = "training data") -> str:
    """Who stopped training and why, for :attr:`FitOutcome.detail`; epochs and batches counted from 1.

    Args:
        stopped_by: the :class:`~nbtrain.callbacks.callback_list.StoppedBy` record of the callback that set
            ``model.stop_training`` (``CallbackList.stopped_by``), or None when no callback did.
        epoch: the index of the last epoch (from 0).
        ran_out: the data ran out (a one-shot generator is exhausted).
        data: which data ran out, ``"training data"`` or ``"validation data"``.

    Example:
        >>> stop_detail(None, 2, ran_out=True)
        'the training data ran out in epoch 3 (the generator yields no more batches)'
    """
    if stopped_by is not None:
        callback = stopped_by.callback
        name = type(callback).__name__
        reason = callback.stop_description()
        if reason:
            return f"{name}: {reason}"
        where = f"epoch {stopped_by.epoch + 1}" if stopped_by.epoch is not None else f"epoch {epoch + 1}"
        if stopped_by.batch is not None:
            where += f", batch {stopped_by.batch + 1}"
        return f"stopped by {name} at {where}"
    if ran_out:
        return f"the {data} ran out in epoch {epoch + 1} (the generator yields no more batches)"
    return "stopped on request (the Stop button, handle.stop() or model.stop_training set outside a callback)"
