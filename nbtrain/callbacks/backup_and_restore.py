"""``BackupAndRestore``: back up training as it goes, so a fit that died can continue where it stopped."""

from __future__ import annotations

import json
import os
import re
import threading

from nbtrain.callbacks.callback import Callback
from nbtrain.callbacks.model_checkpoint import BatchSaveClock, check_save_freq
from nbtrain.utils.random import global_generator

STATE_FILE = "backup.json"
_FORMAT = "nbtrain-backup"
_WEIGHTS_NAME = re.compile(r"^backup-\d+\.weights\.h5$")


def _write_json_atomically(path: str, data: dict) -> None:
    import tempfile   # here: it loads shutil, bz2, lzma and random, which `import nbtrain` need not pay for

    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(prefix=".backup-", suffix=".json.tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


class BackgroundWriter:
    """Runs one write at a time in a helper thread, so that training does not wait for the disk.

    An error in the thread is raised by the next :meth:`start` or :meth:`wait`, in the caller's thread.

    Example:
        >>> writer = BackgroundWriter()
        >>> written = []
        >>> writer.start(lambda: written.append("backup"))
        >>> writer.wait()
        >>> written
        ['backup']
    """

    def __init__(self):
        self._thread = None
        self._error = None

    def start(self, write) -> None:
        """Wait for the previous write, then run ``write()`` in a new thread."""
        self.wait()
        # A daemon thread: a kernel that exits mid-write leaves the previous backup, as a kill would.
        self._thread = threading.Thread(target=self._run, args=(write,), name="nbtrain-backup", daemon=True)
        self._thread.start()

    def _run(self, write) -> None:
        try:
            write()
        except BaseException as error:  # handed to the training thread by wait()
            self._error = error

    def wait(self, raise_error=True) -> None:
        """Wait until the running write (if any) has finished; raise its error unless ``raise_error=False``."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        if error is not None and raise_error:
            raise error


class BackupAndRestore(Callback):
    """Back up the model and optimizer during ``fit``; the next ``fit`` with the same folder resumes from it.

    At the end of every epoch (and every ``save_freq`` batches, if given) the weights, the optimizer state
    and the epoch reached are written to ``backup_dir``. Each write is atomic: a crash or a killed kernel in
    the middle of a backup leaves the previous backup intact. When ``fit`` starts and a backup exists, the
    weights and optimizer state are loaded and training continues with the epoch after the backed-up one,
    so a run that died (Binder session ended, kernel restarted, an error) can be re-run cell for cell and
    finishes with the same weights as an uninterrupted run (with ``shuffle=False``, or the default shuffling,
    whose random state is backed up too; dropout masks are not).

    When the fit finishes (all epochs, or stopped early by a callback) the backup is deleted, unless
    ``delete_checkpoint=False``. When it is interrupted or fails, the backup is kept for the next run.
    Only the files this callback wrote are deleted, and the folder only if it is then empty.

    A backup made during an epoch (integer ``save_freq``) is resumed by running that epoch again from its
    start, with the weights of the backup (as Keras does). These backups cost training almost nothing: the
    weights are copied at the batch and written to disk by a helper thread while training goes on (only if
    the previous backup is still being written when the next is due does training wait for it). An epoch's
    backup is on disk when the epoch ends.

    Put ``BackupAndRestore`` last in the ``callbacks`` list: callbacks run in list order, so it then backs up
    the learning rate after ``ReduceLROnPlateau`` or ``LearningRateScheduler`` have changed it. The state of
    other callbacks (EarlyStopping's patience count, ReduceLROnPlateau's best value) is not backed up and
    starts afresh in the resumed fit, as in Keras; ``CSVLogger(append=True)`` continues its file.

    Args:
        backup_dir: folder for the backup (created if missing). Use one folder per training run.
        save_freq: ``"epoch"``, or a number of training batches between extra backups within an epoch.
        delete_checkpoint: delete the backup when training completes.

    Example:
        >>> backup = BackupAndRestore("backup")
        >>> # model.fit(x, y, epochs=50, callbacks=[EarlyStopping(patience=5), backup])  # dies at epoch 20
        >>> # ... rebuild and compile the same model in a new session, then run the same fit: it starts at epoch 21
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if backup_dir is None or backup_dir == "":
            raise ValueError("BackupAndRestore needs a backup_dir, the folder to keep the backup in, "
                             "e.g. BackupAndRestore('backup').")
        try:
            self.backup_dir = os.fspath(backup_dir)
        except TypeError:
            raise TypeError(f"BackupAndRestore expects backup_dir to be a str or os.PathLike, "
                            f"got {backup_dir!r}.") from None
        self.save_freq = check_save_freq("BackupAndRestore", save_freq)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._state = None
        self._current_epoch = 0
        self._save_clock = BatchSaveClock(self.save_freq)
        self._writer = BackgroundWriter()

    @property
    def _state_path(self) -> str:
        return os.path.join(self.backup_dir, STATE_FILE)

    # ----- hooks -----------------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        if os.path.exists(self.backup_dir) and not os.path.isdir(self.backup_dir):
            raise NotADirectoryError(f"BackupAndRestore: backup_dir '{self.backup_dir}' exists and is not a "
                                     f"folder. Give the path of a folder (it is created if missing).")
        self._save_clock.reset()
        self._state = self._read_state()
        if self._state is not None:
            self._restore(self._state)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._save_clock.batch_done():
            self._backup_in_background(completed_epoch=self._current_epoch - 1, batch=batch)

    def on_epoch_end(self, epoch, logs=None):
        self._save_clock.reset()       # the epoch's backup below starts the count again
        self._writer.wait()
        self._backup(completed_epoch=epoch, batch=None)

    def on_train_end(self, logs=None):
        failed = self.model.fit_outcome.reason in ("interrupted", "error")
        # A failed fit raises its own error; a backup that failed as well must not hide it.
        self._writer.wait(raise_error=not failed)
        if failed:
            return
        if self.delete_checkpoint:
            self.delete_backup()

    # ----- backup and restore ----------------------------------------------------------------------------

    def _backup(self, completed_epoch: int, batch) -> None:
        """Back up now, in this thread: when it returns, the backup is on disk."""
        state = self._next_state(completed_epoch, batch)
        self.model.save_weights(os.path.join(self.backup_dir, state["weights"]))
        self._commit(state)

    def _backup_in_background(self, completed_epoch: int, batch) -> None:
        """Copy the weights now (the model trains on meanwhile) and write them from the helper thread."""
        snapshot = self.model._weights_snapshot()
        state = self._next_state(completed_epoch, batch)
        path = os.path.join(self.backup_dir, state["weights"])

        def write():
            snapshot.save(path)
            self._commit(state)

        self._writer.start(write)

    def _next_state(self, completed_epoch: int, batch) -> dict:
        """The state file of the next backup, with the random state of this moment."""
        os.makedirs(self.backup_dir, exist_ok=True)
        count = (self._state or {}).get("count", 0) + 1
        self._state = {
            "format": _FORMAT,
            "version": 1,
            "count": count,
            "epoch": int(completed_epoch),
            "batch": None if batch is None else int(batch),
            "weights": f"backup-{count}.weights.h5",
            "rng": self._rng_state(),
        }
        return self._state

    def _commit(self, state: dict) -> None:
        # The weights are written to a new file first; the small state file that points at them is replaced
        # atomically afterwards, so whenever the process dies the state file names a complete set of weights.
        _write_json_atomically(self._state_path, state)
        self._remove_stale_weights(keep=state["weights"])

    def _restore(self, state: dict) -> None:
        if not getattr(self.model, "built", True):
            raise ValueError("To use BackupAndRestore the model must be built before fit() starts: give the "
                             "first layer an input shape, or call model.build(input_shape) first.")
        weights = os.path.join(self.backup_dir, state["weights"])
        try:
            self.model.load_weights(weights)
        except Exception as error:
            raise ValueError(
                f"BackupAndRestore found a backup in '{self.backup_dir}' ({_describe(state)}) but "
                f"could not load it into this model: {error} If the backup belongs to another model or run, "
                f"delete the folder or use another backup_dir."
            ) from error
        self._set_rng_state(state.get("rng"))
        self.model._resume_from_epoch = state["epoch"] + 1

    def _read_state(self):
        try:
            with open(self._state_path, encoding="utf-8") as f:
                state = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise ValueError(f"BackupAndRestore: the backup state file '{self._state_path}' cannot be read "
                             f"({error}). Delete the folder '{self.backup_dir}' to start afresh.") from error
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(f"BackupAndRestore: '{self._state_path}' is not an nbtrain backup. Use a folder of "
                             f"its own for backup_dir.")
        return state

    @staticmethod
    def _rng_state():
        state = global_generator().bit_generator.state
        return state if _is_jsonable(state) else None

    @staticmethod
    def _set_rng_state(saved) -> None:
        # Shuffling draws from the global generator, so restoring it replays the same batch order.
        generator = global_generator()
        if saved and saved.get("bit_generator") == generator.bit_generator.state.get("bit_generator"):
            generator.bit_generator.state = saved

    def _remove_stale_weights(self, keep: str) -> None:
        for name in os.listdir(self.backup_dir):
            if _WEIGHTS_NAME.match(name) and name != keep:
                _remove(os.path.join(self.backup_dir, name))

    def delete_backup(self) -> None:
        """Delete this callback's files in ``backup_dir``, and the folder if nothing else is in it."""
        self._state = None
        if not os.path.isdir(self.backup_dir):
            return
        for name in os.listdir(self.backup_dir):
            if (name == STATE_FILE or _WEIGHTS_NAME.match(name)
                    or (name.startswith(".backup-") and name.endswith(".tmp"))):
                _remove(os.path.join(self.backup_dir, name))
        try:
            os.rmdir(self.backup_dir)
        except OSError:
            pass  # the folder holds other files: leave them

    def __repr__(self):
        return f"BackupAndRestore({self.backup_dir!r}, save_freq={self.save_freq!r})"


def _describe(state: dict) -> str:
    if state.get("batch") is None:
        return f"made after epoch {state['epoch'] + 1}"
    return f"made at batch {state['batch'] + 1} of epoch {state['epoch'] + 2}"


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _is_jsonable(value) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
