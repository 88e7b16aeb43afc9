"""BackupAndRestore: a fit that dies (killed process, error, interrupt) resumes to the same final weights."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nbtrain
from nbtrain.callbacks import Callback, EarlyStopping
from nbtrain.callbacks.backup_and_restore import BackupAndRestore
from nbtrain.models import Sequential

pytestmark = pytest.mark.skipif(
    not (hasattr(Sequential, "save_weights") and hasattr(Sequential, "load_weights")),
    reason="model.save_weights/load_weights not available yet (the saving work is landing separately)")

# Shared by this file and the subprocesses it starts, so both build exactly the same model and data.
COMMON = textwrap.dedent("""
    import numpy as np
    import nbtrain
    from nbtrain.layers import Dense, Dropout, Input

    EPOCHS = 6

    def data():
        rng = np.random.default_rng(0)
        x = rng.normal(size=(20, 3)).astype(np.float32)
        y = (x @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
        return x, y

    def build(dropout=0.0):
        nbtrain.utils.set_random_seed(0)
        layers = [Input(shape=(3,)), Dense(8, activation="tanh")]
        layers += [Dropout(dropout)] if dropout else []
        model = nbtrain.Sequential(layers + [Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model

    def run(model, callbacks, shuffle=False, epochs=EPOCHS):
        x, y = data()
        return model.fit(x, y, batch_size=4, epochs=epochs, shuffle=shuffle, verbose=0, callbacks=callbacks)
""")

SCRIPT = COMMON + textwrap.dedent("""
    import os, signal, sys
    from nbtrain.callbacks import Callback
    from nbtrain.callbacks.backup_and_restore import BackupAndRestore

    backup_dir, out, kill_epoch, shuffle, dropout = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", \\
        float(sys.argv[5])

    class KillMidEpoch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.params and self._epoch == kill_epoch and batch == 2:
                os.kill(os.getpid(), signal.SIGKILL)   # as when a Binder session or a kernel dies
        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch

    model = build(dropout)
    history = run(model, [BackupAndRestore(backup_dir), KillMidEpoch()], shuffle=shuffle)
    np.savez(out, *model.get_weights(), epochs=np.array(history.epoch))
""")

helpers = {}
exec(COMMON, helpers)  # noqa: S102 - our own source above
build, run, EPOCHS = helpers["build"], helpers["run"], helpers["EPOCHS"]


def reference_weights(dropout=0.0, shuffle=False):
    model = build(dropout)
    run(model, [], shuffle=shuffle)
    return model.get_weights()


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


class FailAtEpochEnd(Callback):
    def __init__(self, epoch, error=RuntimeError("the session died")):
        super().__init__()
        self.epoch, self.error = epoch, error

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise self.error


# ----- the Binder story: a killed process, then a fresh one ------------------------------------------------

def test_a_killed_process_resumes_in_a_fresh_one_to_the_same_weights(tmp_path, shuffle=True, dropout=0.3):
    # Shuffling and dropout make this the strict case: their random streams must continue exactly too.
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    backup, out = tmp_path / "backup", tmp_path / "weights.npz"
    args = [sys.executable, str(script), str(backup), str(out), "3", "1" if shuffle else "0", str(dropout)]
    killed = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    assert not out.exists()
    assert json.loads((backup / "backup.json").read_text())["epoch"] == 2  # the last completed epoch

    args[4] = "-1"  # the same notebook, re-run: no kill this time
    resumed = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    saved = np.load(out)
    assert list(saved["epochs"]) == [3, 4, 5]  # continued after the backed-up epoch 2
    assert_same_weights([saved[f"arr_{i}"] for i in range(len(saved.files) - 1)],
                        reference_weights(dropout, shuffle))
    assert not backup.exists()  # completed: the backup is gone


# ----- in one process ------------------------------------------------------------------------------------

def test_an_error_keeps_the_backup_and_the_next_fit_resumes(tmp_path):
    backup = tmp_path / "backup"
    model = build()
    with pytest.raises(RuntimeError, match="the session died"):
        run(model, [BackupAndRestore(backup), FailAtEpochEnd(1)])
    assert model.stop_reason == "error"
    state = json.loads((backup / "backup.json").read_text())
    assert state["epoch"] == 1 and (backup / state["weights"]).exists()

    fresh = build()  # a new session: same code, fresh weights
    history = run(fresh, [BackupAndRestore(backup)])
    assert history.epoch == [2, 3, 4, 5]
    assert_same_weights(fresh.get_weights(), reference_weights())
    assert not backup.exists()


def test_an_interrupt_keeps_the_backup(tmp_path):
    backup = tmp_path / "backup"
    model = build()
    with pytest.raises(KeyboardInterrupt):
        run(model, [BackupAndRestore(backup), FailAtEpochEnd(0, KeyboardInterrupt())])
    assert model.stop_reason == "interrupted" and (backup / "backup.json").exists()


def test_early_stopping_counts_as_completion(tmp_path):
    backup = tmp_path / "backup"
    model = build()
    history = run(model, [BackupAndRestore(backup), EarlyStopping(monitor="loss", patience=0, min_delta=1e9)])
    assert history.epoch == [0, 1] and model.stop_reason == "stopped"
    assert not backup.exists()


def test_delete_checkpoint_false_keeps_the_last_backup(tmp_path):
    backup = tmp_path / "backup"
    run(build(), [BackupAndRestore(backup, delete_checkpoint=False)])
    state = json.loads((backup / "backup.json").read_text())
    assert state["epoch"] == EPOCHS - 1
    assert sorted(os.listdir(backup)) == sorted(["backup.json", state["weights"]])  # old backups are cleaned up
    # A later fit with more epochs continues from there.
    history = run(build(), [BackupAndRestore(backup)], epochs=EPOCHS + 2)
    assert history.epoch == [EPOCHS, EPOCHS + 1]


def test_other_files_in_the_folder_are_left_alone(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "notes.txt").write_text("mine")
    run(build(), [BackupAndRestore(backup)], epochs=2)
    assert os.listdir(backup) == ["notes.txt"]


def test_a_failed_backup_write_leaves_the_previous_backup_usable(tmp_path):
    backup = tmp_path / "backup"
    model = build()
    real_save = model.save_weights
    calls = []

    def flaky_save(path, **kwargs):
        calls.append(path)
        if len(calls) == 3:  # the third backup dies half-way through writing
            with open(path, "wb") as f:
                f.write(b"PK\x03\x04 truncated")
            raise OSError("disk full")
        real_save(path, **kwargs)

    model.save_weights = flaky_save
    with pytest.raises(OSError, match="disk full"):
        run(model, [BackupAndRestore(backup)])
    assert json.loads((backup / "backup.json").read_text())["epoch"] == 1
    resumed = build()
    history = run(resumed, [BackupAndRestore(backup)])
    assert history.epoch == [2, 3, 4, 5]
    assert_same_weights(resumed.get_weights(), reference_weights())


def test_save_freq_in_batches_backs_up_within_an_epoch(tmp_path):
    backup = tmp_path / "backup"
    model = build()

    class FailAtBatch(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1 and batch == 3:
                raise RuntimeError("died mid-epoch")

    with pytest.raises(RuntimeError):
        run(model, [BackupAndRestore(backup, save_freq=2), FailAtBatch()])
    state = json.loads((backup / "backup.json").read_text())
    # 5 batches per epoch; in the second epoch backups follow batches 2 and 4 (1-based), then it fails.
    assert (state["epoch"], state["batch"]) == (0, 3)
    history = run(build(), [BackupAndRestore(backup, save_freq=2)])
    assert history.epoch == [1, 2, 3, 4, 5]  # the interrupted epoch runs again, from the mid-epoch weights


def test_a_backup_from_another_model_gives_a_clear_error(tmp_path):
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError):
        run(build(), [BackupAndRestore(backup), FailAtEpochEnd(0)])
    other = nbtrain.Sequential([nbtrain.layers.Input(shape=(3,)), nbtrain.layers.Dense(2), nbtrain.layers.Dense(1)])
    other.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="found a backup in .*made after epoch 1.* but could not load it into this "
                                         "model.*delete the folder or use another backup_dir"):
        run(other, [BackupAndRestore(backup)])


def test_a_foreign_state_file_is_refused(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "backup.json").write_text('{"something": "else"}')
    with pytest.raises(ValueError, match="is not an nbtrain backup"):
        run(build(), [BackupAndRestore(backup)])
    (backup / "backup.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read"):
        run(build(), [BackupAndRestore(backup)])


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="needs a backup_dir"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq to be 'epoch' or a positive number of batches"):
        BackupAndRestore("b", save_freq="batch")
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        run(build(), [BackupAndRestore(file)])
    assert repr(BackupAndRestore("b")) == "BackupAndRestore('b', save_freq='epoch')"


# ----- batch backups are written in the background (issue 12) ----------------------------------------------

def test_batch_backups_are_written_by_a_helper_thread_while_training_goes_on(tmp_path, monkeypatch):
    import threading

    from nbtrain.models.saving import WeightsSnapshot

    backup, events, at_batch_1 = tmp_path / "backup", [], []
    release = threading.Event()
    real_save = WeightsSnapshot.save

    def slow_save(self, path, overwrite=True):
        events.append(f"write starts in {threading.current_thread().name}")
        if not release.wait(timeout=30):
            raise AssertionError("training waited for the write")
        real_save(self, path, overwrite)
        events.append("write done")
        written = build()
        written.load_weights(path)
        at_batch_1.append(written.get_weights())

    class Watch(Callback):  # placed before the backup, so it sees each batch first
        def on_train_batch_end(self, batch, logs=None):
            events.append(f"batch {batch} trained")
            if batch == 1:
                at_batch_1.append(self.model.get_weights())
            if batch == 3:
                release.set()

    monkeypatch.setattr(WeightsSnapshot, "save", slow_save)
    model = build()
    run(model, [Watch(), BackupAndRestore(backup, save_freq=2, delete_checkpoint=False)], epochs=1)
    first_write = events.index("write starts in nbtrain-backup")
    assert events[first_write - 1:first_write + 4] == [
        "batch 1 trained", "write starts in nbtrain-backup", "batch 2 trained", "batch 3 trained", "write done"]
    # what was written is the weights after batch 1, although batches 2 and 3 changed them during the write
    assert_same_weights(at_batch_1[1], at_batch_1[0])
    assert json.loads((backup / "backup.json").read_text())["epoch"] == 0  # the epoch's backup came last


def test_a_failed_background_backup_stops_the_fit_and_keeps_the_previous_backup(tmp_path, monkeypatch):
    from nbtrain.models.saving import WeightsSnapshot

    backup, calls = tmp_path / "backup", []
    real_save = WeightsSnapshot.save

    def failing_save(self, path, overwrite=True):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_save(self, path, overwrite)

    monkeypatch.setattr(WeightsSnapshot, "save", failing_save)
    with pytest.raises(OSError, match="No space left on device"):
        run(build(), [BackupAndRestore(backup, save_freq=2)])
    state = json.loads((backup / "backup.json").read_text())
    assert (state["epoch"], state["batch"]) == (-1, 1)  # the first batch backup, complete and usable
    build().load_weights(backup / state["weights"])


KILLED_DURING_BATCH_BACKUPS = COMMON + textwrap.dedent("""
    import os, signal, sys
    from nbtrain.callbacks import Callback
    from nbtrain.callbacks.backup_and_restore import BackupAndRestore

    backup_dir, kill_batch = sys.argv[1], int(sys.argv[2])

    class Kill(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == kill_batch:
                os.kill(os.getpid(), signal.SIGKILL)

    x = np.random.default_rng(1).normal(size=(2000, 3)).astype(np.float32)
    build().fit(x, x[:, :1], batch_size=4, epochs=1, verbose=0,
                callbacks=[BackupAndRestore(backup_dir, save_freq=1), Kill()])
""")


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX only")
@pytest.mark.parametrize("kill_batch", [40, 211, 377])
def test_a_kill_during_background_backups_never_leaves_a_torn_backup(tmp_path, kill_batch):
    backup = tmp_path / "backup"
    killed = subprocess.run([sys.executable, "-c", KILLED_DURING_BATCH_BACKUPS, str(backup), str(kill_batch)],
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    state = json.loads((backup / "backup.json").read_text())
    assert state["epoch"] == -1 and 0 <= state["batch"] <= kill_batch
    build().load_weights(backup / state["weights"])  # complete, whatever the write was doing when it died
    history = run(build(), [BackupAndRestore(backup)], epochs=2)  # and the next fit resumes from it
    assert history.epoch == [0, 1] and not backup.exists()
