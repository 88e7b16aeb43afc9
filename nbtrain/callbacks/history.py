"""``History``: the per-epoch record that ``fit`` returns."""

from __future__ import annotations

from nbtrain.callbacks.callback import Callback


class History(Callback):
    """Records every epoch's logs; ``fit`` returns it and also keeps it as ``model.history``.

    Attributes:
        history: dict from log key (``loss``, ``accuracy``, ``val_loss``, ...) to a list of floats, one per epoch
            that reported it (``val_*`` lists are shorter when ``validation_freq`` skips epochs).
        epoch: the epoch indices recorded.
        params: ``verbose``, ``epochs`` and ``steps`` of the run.
        stop_reason: how the fit ended: ``"completed"``, ``"stopped"`` (a callback set ``stop_training``),
            ``"interrupted"`` (Kernel -> Interrupt or Ctrl-C; ``fit`` then raises ``TrainingInterrupted``, and
            this History is on ``model.history``), or ``"error"``.
        stop_detail: who stopped training and why, when ``stopped``: ``"EarlyStopping: val_loss did not improve
            for 10 epochs; weights restored from epoch 17"`` (``model.fit_outcome.detail``).

    Example:
        >>> import numpy as np, nbtrain
        >>> model = nbtrain.Sequential([nbtrain.Input((2,)), nbtrain.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=3, verbose=0)
        >>> len(history.history["loss"]), history.epoch  # one loss per epoch
        (3, [0, 1, 2])
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stop_reason: str | None = None
        self.stop_detail: str | None = None

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def on_train_end(self, logs=None):
        if self.model is not None:
            self.stop_reason = self.model.fit_outcome.reason
            self.stop_detail = self.model.fit_outcome.detail

    def __repr__(self):
        keys = ", ".join(self.history) or "no epochs yet"
        ended = ""
        if self.stop_reason in ("stopped", "interrupted", "error"):
            ended = f" {self.stop_reason}" + (f" ({self.stop_detail})" if self.stop_detail else "")
        return f"<History epochs={len(self.epoch)} keys=[{keys}]{ended}>"
