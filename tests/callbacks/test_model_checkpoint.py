"""ModelCheckpoint through real fits: templates, save_best_only, modes, save_freq, messages and errors."""

import io
import os

import numpy as np
import pytest

import nbtrain
from nbtrain.callbacks.lambda_callback import LambdaCallback
from nbtrain.callbacks.model_checkpoint import ModelCheckpoint
from nbtrain.layers import Dense, Input
from nbtrain.models import Sequential
from nbtrain.optimizers import SGD

needs_saving = pytest.mark.skipif(
    not (hasattr(Sequential, "save") and hasattr(nbtrain.models, "load_model")),
    reason="model.save and nbtrain.models.load_model not available yet (the saving work is landing separately)")
needs_weights = pytest.mark.skipif(
    not (hasattr(Sequential, "save_weights") and hasattr(Sequential, "load_weights")),
    reason="model.save_weights/load_weights not available yet (the saving work is landing separately)")


def data(n=8):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
    return x, y


def model(fake_saving=True):
    m = Sequential([Input(shape=(3,)), Dense(1)])
    m.compile(optimizer=SGD(learning_rate=0.01), loss="mse", metrics=["mae"])
    if fake_saving:
        # Record what would be saved; the real writers are tested in the saving tests (and below).
        m.saved = []

        def save(path, kind):
            with open(path, "w") as f:
                f.write(kind)
            m.saved.append((kind, os.path.basename(path)))

        m.save = lambda path, **kw: save(path, "model")
        m.save_weights = lambda path, **kw: save(path, "weights")
    return m


def feed(values, key="score"):
    """A callback (placed before the checkpoint) that puts values[epoch] into the epoch logs under ``key``."""
    def on_epoch_end(epoch, logs):
        logs[key] = values[epoch]
    return LambdaCallback(on_epoch_end=on_epoch_end)


def fit(m, callbacks, epochs, **kwargs):
    x, y = data(kwargs.pop("n", 8))
    return m.fit(x, y, epochs=epochs, callbacks=callbacks, verbose=0, batch_size=kwargs.pop("batch_size", 4),
                 **kwargs)


def test_saves_every_epoch_with_a_filled_in_template(tmp_path):
    m = model()
    fit(m, [ModelCheckpoint(tmp_path / "{epoch:02d}-{loss:.2f}.keras")], epochs=3)
    names = sorted(os.listdir(tmp_path))
    assert [n[:3] for n in names] == ["01-", "02-", "03-"] and all(n.endswith(".keras") for n in names)
    loss_in_name = float(names[0][3:-6])
    assert loss_in_name == pytest.approx(m.history.history["loss"][0], abs=0.005)


def test_save_best_only_writes_a_file_only_on_improvement(tmp_path):
    m = model()
    fit(m, [feed([3.0, 1.0, 2.0, 0.5, 0.7]), ModelCheckpoint(tmp_path / "{epoch}.keras", monitor="score",
                                                             mode="min", save_best_only=True)], epochs=5)
    assert sorted(os.listdir(tmp_path)) == ["1.keras", "2.keras", "4.keras"]


def test_save_best_only_with_a_fixed_name_keeps_the_best_epoch(tmp_path):
    m = model()
    checkpoint = ModelCheckpoint(tmp_path / "best.keras", monitor="score", mode="min", save_best_only=True)
    fit(m, [feed([3.0, 1.0, 2.0]), checkpoint], epochs=3)
    assert m.saved == [("model", "best.keras"), ("model", "best.keras")] and checkpoint.best == 1.0


def test_mode_max_and_auto_for_accuracy_like_metrics(tmp_path):
    values = [0.2, 0.5, 0.4, 0.9]
    fit(model(), [feed(values), ModelCheckpoint(tmp_path / "max{epoch}.keras", monitor="score", mode="max",
                                                save_best_only=True)], epochs=4)
    # 'val_mae' is an error, so auto minimises it; feed it rising values: only the first epoch is saved.
    fit(model(), [feed(values, "val_mae"), ModelCheckpoint(tmp_path / "auto{epoch}.keras", monitor="val_mae",
                                                           save_best_only=True)], epochs=4)
    assert sorted(os.listdir(tmp_path)) == ["auto1.keras", "max1.keras", "max2.keras", "max4.keras"]


def test_auto_mode_minimises_val_loss_from_a_real_fit(tmp_path):
    m = model()
    fit(m, [ModelCheckpoint(tmp_path / "{epoch}.keras", save_best_only=True)], epochs=4,
        validation_data=data(4))
    val = m.history.history["val_loss"]
    improved = [e + 1 for e in range(4) if val[e] < min(val[:e], default=np.inf)]
    assert sorted(os.listdir(tmp_path)) == [f"{e}.keras" for e in improved]


def test_nan_never_counts_as_an_improvement(tmp_path):
    fit(model(), [feed([float("nan"), 2.0, float("nan"), 1.0]),
                  ModelCheckpoint(tmp_path / "{epoch}.keras", monitor="score", mode="min", save_best_only=True)],
        epochs=4)
    assert sorted(os.listdir(tmp_path)) == ["2.keras", "4.keras"]


def test_initial_value_threshold_must_be_beaten(tmp_path):
    fit(model(), [feed([3.0, 1.0, 2.5]), ModelCheckpoint(tmp_path / "{epoch}.keras", monitor="score", mode="min",
                                                         save_best_only=True, initial_value_threshold=2.0)],
        epochs=3)
    assert os.listdir(tmp_path) == ["2.keras"]


def test_missing_monitor_warns_and_saves(tmp_path):
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        fit(model(), [ModelCheckpoint(tmp_path / "{epoch}.keras", save_best_only=True)], epochs=2)
    assert sorted(os.listdir(tmp_path)) == ["1.keras", "2.keras"]


def test_save_weights_only_uses_save_weights(tmp_path):
    m = model()
    fit(m, [ModelCheckpoint(tmp_path / "w{epoch}.weights.h5", save_weights_only=True)], epochs=1)
    assert m.saved == [("weights", "w1.weights.h5")]


def test_save_freq_in_batches_counts_across_epochs(tmp_path):
    m = model()
    # 12 samples in batches of 4: 3 batches per epoch; a save every 2 batches.
    fit(m, [ModelCheckpoint(tmp_path / "e{epoch}-b{batch}.keras", monitor="loss", save_freq=2)], epochs=2, n=12)
    assert [name for _, name in m.saved] == ["e1-b2.keras", "e2-b1.keras", "e2-b3.keras"]


def test_creates_missing_parent_directories(tmp_path):
    fit(model(), [ModelCheckpoint(tmp_path / "runs" / "a" / "{epoch}.keras")], epochs=1)
    assert os.listdir(tmp_path / "runs" / "a") == ["1.keras"]


def test_verbose_messages_match_keras(tmp_path):
    out = io.StringIO()
    path = str(tmp_path / "best.keras")
    checkpoint = ModelCheckpoint(path, monitor="score", mode="min", save_best_only=True, verbose=1, out=out)
    fit(model(), [feed([2.0, 3.0]), checkpoint], epochs=2)
    assert out.getvalue() == (
        f"\nEpoch 1: score improved from None to 2.00000, saving model to {path}\n"
        f"\nEpoch 1: finished saving model to {path}\n"
        "\nEpoch 2: score did not improve from 2.00000\n"
    )
    out = io.StringIO()
    fit(model(), [ModelCheckpoint(path, verbose=1, out=out)], epochs=1)
    assert out.getvalue() == f"\nEpoch 1: saving model to {path}\n\nEpoch 1: finished saving model to {path}\n"


def test_extension_rules_follow_keras():
    with pytest.raises(ValueError, match=r"must end in `.keras` \(Keras model format\). Received: filepath=m.txt"):
        ModelCheckpoint("m.txt")
    with pytest.raises(ValueError, match=r"must end in\s+`.weights.h5` .* Received: filepath=w.h5"):
        ModelCheckpoint("w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match="a weights-only file name, but save_weights_only=False"):
        ModelCheckpoint("w.weights.h5")
    ModelCheckpoint("m.keras"), ModelCheckpoint("m.h5"), ModelCheckpoint("w.weights.h5", save_weights_only=True)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="mode to be 'auto', 'min' or 'max', got 'minimum'"):
        ModelCheckpoint("m.keras", mode="minimum")
    with pytest.raises(ValueError, match="save_freq to be 'epoch' or a positive number of batches"):
        ModelCheckpoint("m.keras", save_freq="batch")
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("m.keras", save_freq=0)
    with pytest.raises(TypeError, match="filepath to be a str"):
        ModelCheckpoint(None)


def test_unknown_template_key_names_the_available_ones(tmp_path):
    with pytest.raises(KeyError, match="no value 'val_accuracy'. Available: epoch, loss, mae"):
        fit(model(), [ModelCheckpoint(tmp_path / "{val_accuracy:.2f}.keras")], epochs=1)


def test_unknown_direction_asks_for_a_mode(tmp_path):
    with pytest.raises(ValueError, match="mode='max'"):
        fit(model(), [feed([1.0]), ModelCheckpoint(tmp_path / "m.keras", monitor="score", save_best_only=True)],
            epochs=1)


def test_repr_is_short():
    assert repr(ModelCheckpoint("best.keras", save_best_only=True)) == \
        "ModelCheckpoint('best.keras', monitor='val_loss', save_best_only=True)"


@needs_saving
def test_real_checkpoint_loads_back_with_the_best_weights(tmp_path):
    m = model(fake_saving=False)
    path = tmp_path / "ckpt" / "best.keras"
    weights_by_epoch = []
    fit(m, [feed([2.0, 1.0, 3.0]), ModelCheckpoint(path, monitor="score", mode="min", save_best_only=True),
            LambdaCallback(on_epoch_end=lambda epoch, logs: weights_by_epoch.append(m.get_weights()))], epochs=3)
    restored = nbtrain.models.load_model(str(path))
    for a, b in zip(restored.get_weights(), weights_by_epoch[1]):
        np.testing.assert_array_equal(a, b)


@needs_weights
def test_real_weights_checkpoint_loads_into_a_fresh_model(tmp_path):
    m = model(fake_saving=False)
    path = tmp_path / "last.weights.h5"
    fit(m, [ModelCheckpoint(path, save_weights_only=True)], epochs=2)
    fresh = model(fake_saving=False)
    fresh.load_weights(str(path))
    for a, b in zip(fresh.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)


# ----- temporary files that killed saves left behind (issue 12) -------------------------------------------

DEAD_PID = 2**31 - 2  # above any pid_max, so no process has it


@pytest.mark.skipif(os.name != "posix", reason="the stale-file cleanup is POSIX only")
def test_a_templated_checkpoint_cleans_up_what_killed_saves_of_its_template_left(tmp_path):
    from nbtrain.utils.temporary_files import process_start_time

    stale = tmp_path / f".ckpt-07.keras.tmp-{DEAD_PID}-0badcafe"        # epoch 7 of a killed run: never saved again
    reused = tmp_path / f".ckpt-09-0.50.keras.tmp-{os.getppid()}-0000abcd"  # its pid now belongs to a newer process
    mine = tmp_path / f".ckpt-08.keras.tmp-{os.getpid()}-1234abcd"      # this process may be writing it right now
    other = tmp_path / f".notes-07.keras.tmp-{DEAD_PID}-0badcafe"       # not this template's
    unlike = tmp_path / f".ckpt-07.keras.tmp-{DEAD_PID}-partial.bak"     # not the temporary naming pattern
    for file in (stale, reused, mine, other, unlike):
        file.write_bytes(b"half a model")
    parent_started = process_start_time(os.getppid())
    if parent_started is None:
        pytest.skip("process start times are not readable here (/proc)")
    os.utime(reused, (parent_started - 3600, parent_started - 3600))

    fit(model(fake_saving=False), [ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}.keras"))], epochs=2)
    remaining = set(os.listdir(tmp_path))
    assert {"ckpt-01.keras", "ckpt-02.keras", mine.name, other.name, unlike.name} == remaining


def test_the_template_pattern_matches_only_its_own_names():
    import re

    from nbtrain.utils.temporary_files import template_pattern, temporary_name, temporary_pattern

    pattern = temporary_pattern(template_pattern("ckpt-{epoch:02d}-{val_loss:.2f}.keras"))
    assert pattern.fullmatch(temporary_name("ckpt-03-0.25.keras"))
    assert not pattern.fullmatch(temporary_name("ckpt-03.keras"))
    assert not pattern.fullmatch(temporary_name("other-03-0.25.keras"))
    assert not pattern.fullmatch(".ckpt-03-0.25.keras")
    assert pattern.fullmatch(temporary_name("ckpt-03-0.25.keras")).group(1) == str(os.getpid())
    assert re.fullmatch(template_pattern("{{literal}}-{epoch}.keras"), "{literal}-1.keras")
