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
        interrupted_at: ``(epoch, batches done in it)`` when interrupted, the epoch counted from 0.

    Example:
        >>> FitOutcome("interrupted", (2, 5))
        FitOutcome(reason='interrupted', interrupted_at=(2, 5))
    """

    reason: str | None = None
    interrupted_at: tuple[int, int] | None = None
