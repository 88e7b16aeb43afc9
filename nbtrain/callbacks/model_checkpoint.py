"""``ModelCheckpoint``: save the model (or its weights) during training, every epoch or only on improvement."""

from __future__ import annotations

import os
import warnings

from nbtrain.callbacks.monitor import MonitorCallback, is_scalar_number
from nbtrain.utils.checks import number
from nbtrain.utils.temporary_files import remove_stale_temporaries, template_pattern


def check_save_freq(owner: str, save_freq):
    """``'epoch'`` or a positive number of batches, else a ValueError saying so."""
    if save_freq == "epoch":
        return save_freq
    if isinstance(save_freq, str):
        raise ValueError(f"{owner} expects save_freq to be 'epoch' or a positive number of batches, "
                         f"got {save_freq!r}.")
    return number(save_freq, "save_freq (a number of batches, or 'epoch')", owner, low=1, integer=True)


class BatchSaveClock:
    """Says after which batches a callback with ``save_freq`` saves: never for ``"epoch"``, else every Nth.

    Example:
        >>> clock = BatchSaveClock(2)
        >>> [clock.batch_done() for _ in range(5)]
        [False, True, False, True, False]
    """

    def __init__(self, save_freq):
        self.save_freq = save_freq
        self.batches_since_save = 0

    def batch_done(self) -> bool:
        """Count one batch; True when a save is due now."""
        if self.save_freq == "epoch":
            return False
        self.batches_since_save += 1
        if self.batches_since_save < self.save_freq:
            return False
        self.batches_since_save = 0
        return True

    def reset(self) -> None:
        self.batches_since_save = 0


def _check_extension(filepath: str, save_weights_only: bool) -> None:
    if save_weights_only:
        if not filepath.endswith(".weights.h5"):
            raise ValueError(
                "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end in "
                f"`.weights.h5` (Keras weights format). Received: filepath={filepath}. "
                "For example: ModelCheckpoint('checkpoints/{epoch:02d}.weights.h5', save_weights_only=True)."
            )
    elif filepath.endswith(".weights.h5"):
        raise ValueError(
            f"ModelCheckpoint got filepath={filepath}, a weights-only file name, but save_weights_only=False "
            "saves the whole model. Pass save_weights_only=True, or use a name ending in '.keras'."
        )
    elif not filepath.endswith((".keras", ".h5")):
        raise ValueError(
            "The filepath provided must end in `.keras` (Keras model format). "
            f"Received: filepath={filepath}. For example: ModelCheckpoint('best.keras', save_best_only=True), "
            "or save_weights_only=True with a name ending in '.weights.h5'."
        )


class ModelCheckpoint(MonitorCallback):
    """Save the model, or only its weights, at the end of every epoch or every ``save_freq`` batches.

    ``filepath`` may contain ``{epoch}`` (1-based), ``{batch}`` (1-based, when saving by batches) and any log
    key, with Python format specs: ``"ckpt/{epoch:02d}-{val_loss:.2f}.keras"``. Missing folders are created.
    Every save is atomic, and removes the temporary files that saves of the same template killed half way
    (by a dead kernel) left behind.
    With ``save_best_only=True`` a file is written only when ``monitor`` improves on the best value so far
    (which starts at ``initial_value_threshold``); if the monitored value is missing it warns and saves.

    Args:
        filepath: where to save; must end in ``.keras`` (or ``.weights.h5`` with ``save_weights_only``).
            ``.h5`` is accepted as in Keras, but the file is nbtrain's own format, not HDF5.
        monitor: log key compared by ``save_best_only``, default ``"val_loss"``.
        verbose: 1 prints a line for every save (and every non-improvement).
        save_best_only: only save when the monitored value improves.
        save_weights_only: save with ``model.save_weights`` instead of ``model.save``.
        mode: ``"auto"``, ``"min"`` or ``"max"``: whether smaller or larger values of ``monitor`` are better.
        save_freq: ``"epoch"``, or an integer number of training batches between saves.
        initial_value_threshold: the value the first save must beat (with ``save_best_only``).
        out: text stream for verbose messages (default ``sys.stdout``).

    Example:
        >>> checkpoint = ModelCheckpoint("best.keras", monitor="val_accuracy", save_best_only=True)
        >>> # model.fit(x, y, validation_split=0.2, epochs=20, callbacks=[checkpoint])
        >>> # best = nbtrain.models.load_model("best.keras")
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None, out=None):
        super().__init__(monitor=monitor, mode=mode, baseline=initial_value_threshold, out=out)
        try:
            filepath = os.fspath(filepath)
        except TypeError:
            raise TypeError(f"ModelCheckpoint expects filepath to be a str or os.PathLike, got {filepath!r}.") from None
        _check_extension(filepath, save_weights_only)
        self.filepath = filepath
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.save_freq = check_save_freq("ModelCheckpoint", save_freq)
        self._current_epoch = 0
        self._save_clock = BatchSaveClock(self.save_freq)   # counts on across epochs, as in Keras

    # ----- hooks -----------------------------------------------------------------------------------------

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._save_clock.batch_done():
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    # ----- saving ----------------------------------------------------------------------------------------

    def _save(self, epoch: int, batch, logs) -> None:
        logs = dict(logs or {})
        filepath = self._format_filepath(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        directory = os.path.dirname(filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        # A save killed half way leaves a temporary file; each save cleans up those of its own name, but with
        # a template ("ckpt-{epoch:02d}.keras") that name never comes again, so clean up the whole template's.
        remove_stale_temporaries(directory or ".", template_pattern(os.path.basename(self.filepath)))
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                f"ModelCheckpoint cannot save to '{filepath}': it is an existing directory. "
                "Give a file name ending in '.keras' (or '.weights.h5' with save_weights_only=True)."
            )
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)
        if self.verbose > 0:
            self._print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _format_filepath(self, epoch: int, batch, logs: dict) -> str:
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as error:
            available = ", ".join(sorted(fields)) or "none"
            when = "this epoch's" if batch is None else "this batch's"
            hint = (" Validation values (val_...) exist only at epoch ends and when fit() has validation data."
                    if str(error.args[0]).startswith("val_") else "")
            raise KeyError(
                f"ModelCheckpoint could not fill in the filepath template '{self.filepath}': {when} logs have no "
                f"value {error}. Available: {available}.{hint}"
            ) from None
        except (ValueError, IndexError) as error:
            raise ValueError(
                f"ModelCheckpoint could not fill in the filepath template '{self.filepath}': {error}. "
                "Use named fields such as '{epoch:02d}' or '{val_loss:.2f}'."
            ) from None

    def _should_save(self, epoch: int, logs: dict, filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                self._print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Can save best model only with {self.monitor} available. Available log keys: "
                f"{', '.join(sorted(logs)) or 'none'}. Saving anyway.", stacklevel=3)
            return True
        if not is_scalar_number(current):
            warnings.warn(f"Can save best model only when `monitor` is a scalar value; {self.monitor} is "
                          f"{current!r}. Saving anyway.", stacklevel=3)
            return True
        current = float(current)
        best_text = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                self._print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_text} to {current:.5f}, "
                            f"saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            self._print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_text}")
        return False

    def __repr__(self):
        best = ", save_best_only=True" if self.save_best_only else ""
        return f"ModelCheckpoint({self.filepath!r}, monitor={self.monitor!r}{best})"
