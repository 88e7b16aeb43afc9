"""Saving and loading: the .keras layout, exact resumption of training, custom objects, atomic writes, errors."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import warnings
import zipfile
from datetime import datetime

import numpy as np
import pytest

import nbtrain
from nbtrain import losses, optimizers
from nbtrain.activations import ActivationFunction
from nbtrain.layers import Dense, Dropout, Input, Layer
from nbtrain.layers.serialization import UnknownLayerError
from nbtrain.models import Model, Sequential
from nbtrain.models.saving import SavedFileError, load_model, load_weights, save_model, save_weights
from nbtrain.models.saving import archive as saving_archive


@pytest.fixture
def data(rng):
    x = rng.standard_normal((96, 5)).astype(np.float32)
    y = rng.integers(0, 3, 96)
    return x, y


def mlp(dropout=0.0, batch_norm=False, hidden=16):
    layers = [Input(shape=(5,)), Dense(hidden, activation="tanh")]
    if batch_norm:
        from nbtrain.layers.normalization import BatchNormalization

        layers.append(BatchNormalization())
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(3, activation="softmax"))
    return Sequential(layers)


def compiled_mlp(optimizer="adam", **kwargs):
    model = mlp(**kwargs)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rewrite(path, changes: dict[str, bytes]) -> None:
    contents = members(path) | changes
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def leftovers(directory) -> list[str]:
    return sorted(n for n in os.listdir(directory) if ".tmp-" in n)


# ================================================================================================
# the file
# ================================================================================================


def test_keras_file_is_a_zip_with_metadata_config_weights_and_optimizer_state(tmp_path, data):
    model = compiled_mlp()
    model.fit(*data, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    save_model(model, path)
    contents = members(path)
    assert list(contents) == ["metadata.json", "config.json", "model.weights.json", "model.weights.npz",
                              "optimizer.json", "optimizer.npz"]
    metadata = json.loads(contents["metadata.json"])
    assert metadata["format"] == "nbtrain.keras" and metadata["format_version"] == 1
    assert metadata["nbtrain_version"] == nbtrain.__version__
    datetime.fromisoformat(metadata["date_saved"])

    config = json.loads(contents["config.json"])
    assert config["class_name"] == "Sequential" and config["config"] == json.loads(json.dumps(model.get_config()))
    assert config["build_config"] == {"input_shape": [None, 5]}
    compile_config = config["compile_config"]
    assert compile_config["optimizer"] == json.loads(json.dumps(optimizers.serialize(model.optimizer)))
    assert compile_config["loss"] == "sparse_categorical_crossentropy"
    assert compile_config["metrics"] == ["accuracy"]

    state = json.loads(contents["optimizer.json"])
    assert state["class_name"] == "Adam" and state["iterations"] == 3  # 96 samples in batches of 32


def test_weights_are_stored_in_keras_order(tmp_path, data):
    model = compiled_mlp(batch_norm=True)
    model.fit(*data, epochs=1, verbose=0)
    save_model(model, tmp_path / "m.keras")
    with np.load(io.BytesIO(members(tmp_path / "m.keras")["model.weights.npz"])) as npz:
        stored = [npz[key] for key in npz.files]
        keys = list(npz.files)
    assert keys[:2] == ["layers/0/dense/kernel", "layers/0/dense/bias"]
    assert len(stored) == len(model.get_weights())
    for saved, current in zip(stored, model.get_weights()):
        np.testing.assert_array_equal(saved, current)


def test_round_trip_keeps_architecture_weights_and_compile_state(tmp_path, data):
    model = compiled_mlp(optimizer=optimizers.RMSprop(learning_rate=0.01, momentum=0.5), dropout=0.2)
    model.fit(*data, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert type(loaded) is Sequential and loaded.name == model.name
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(data[0], verbose=0), model.predict(data[0], verbose=0))
    assert loaded.compiled and type(loaded.optimizer) is optimizers.RMSprop
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6
    assert loaded.evaluate(*data, verbose=0, return_dict=True) == model.evaluate(*data, verbose=0, return_dict=True)


def test_load_without_compile_gives_an_uncompiled_model(tmp_path, data):
    model = compiled_mlp()
    model.fit(*data, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras", compile=False, safe_mode=True)
    assert not loaded.compiled and loaded.optimizer is None
    np.testing.assert_array_equal(loaded.predict(data[0], verbose=0), model.predict(data[0], verbose=0))


def test_an_uncompiled_model_round_trips(tmp_path, data):
    model = mlp()
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert not loaded.compiled
    np.testing.assert_array_equal(loaded.predict(data[0], verbose=0), model.predict(data[0], verbose=0))


def test_include_optimizer_false_keeps_the_compile_arguments_but_not_the_state(tmp_path, data):
    model = compiled_mlp()
    model.fit(*data, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras", include_optimizer=False)
    assert "optimizer.npz" not in members(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert loaded.compiled and loaded.optimizer.iterations == 0


def test_a_changed_learning_rate_is_kept(tmp_path, data):
    model = compiled_mlp()
    model.fit(*data, epochs=1, verbose=0)
    model.optimizer.learning_rate = 0.0005  # as ReduceLROnPlateau does
    model.save(tmp_path / "m.keras")
    assert load_model(tmp_path / "m.keras").optimizer.learning_rate == pytest.approx(0.0005)


def test_model_methods_and_package_exports():
    assert callable(Model.save) and callable(Model.save_weights) and callable(Model.load_weights)
    if not hasattr(nbtrain.models, "load_model"):
        pytest.skip("nbtrain.models does not export load_model yet")
    assert nbtrain.models.load_model is load_model


# ================================================================================================
# resuming training exactly
# ================================================================================================

OPTIMIZERS = {
    "adam": lambda: optimizers.Adam(learning_rate=0.01),
    "adam-amsgrad": lambda: optimizers.Adam(learning_rate=0.01, amsgrad=True),
    "rmsprop": lambda: optimizers.RMSprop(learning_rate=0.005),
    "rmsprop-momentum-centered": lambda: optimizers.RMSprop(learning_rate=0.005, momentum=0.5, centered=True),
    "sgd-nesterov": lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    "adam-schedule": lambda: optimizers.Adam(
        learning_rate=optimizers.schedules.ExponentialDecay(0.01, decay_steps=3, decay_rate=0.5)),
}


def _train(make_optimizer, data, epochs, seed=7, **model_options):
    nbtrain.utils.set_random_seed(seed)
    model = compiled_mlp(optimizer=make_optimizer(), **model_options)
    history = model.fit(*data, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
    return model, history


def _assert_same_weights(a, b):
    for u, v in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_save_after_two_epochs_load_and_one_more_equals_three_uninterrupted(name, tmp_path, data):
    uninterrupted, history = _train(OPTIMIZERS[name], data, epochs=3)
    first, _ = _train(OPTIMIZERS[name], data, epochs=2)
    first.save(tmp_path / "m.keras")
    resumed = load_model(tmp_path / "m.keras")
    resumed_history = resumed.fit(*data, batch_size=16, epochs=3, initial_epoch=2, shuffle=False, verbose=0)
    _assert_same_weights(resumed, uninterrupted)
    assert resumed_history.history["loss"] == history.history["loss"][2:]
    assert resumed_history.history["accuracy"] == history.history["accuracy"][2:]
    assert resumed.optimizer.iterations == uninterrupted.optimizer.iterations == 18


def test_resumed_training_is_exact_with_dropout_and_batch_normalization(tmp_path, data):
    # The layers' random generators are saved too, so Dropout draws the masks it would have drawn.
    uninterrupted, history = _train(OPTIMIZERS["adam"], data, epochs=3, dropout=0.3, batch_norm=True)
    first, _ = _train(OPTIMIZERS["adam"], data, epochs=2, dropout=0.3, batch_norm=True)
    first.save(tmp_path / "m.keras")
    nbtrain.utils.set_random_seed(99)  # the global seed does not matter to the loaded layers
    resumed = load_model(tmp_path / "m.keras")
    resumed_history = resumed.fit(*data, batch_size=16, epochs=1, shuffle=False, verbose=0)
    _assert_same_weights(resumed, uninterrupted)
    assert resumed_history.history["loss"] == history.history["loss"][2:]


def test_resuming_from_save_weights_into_a_compiled_model_is_exact(tmp_path, data):
    uninterrupted, _ = _train(OPTIMIZERS["adam"], data, epochs=3, dropout=0.2)
    first, _ = _train(OPTIMIZERS["adam"], data, epochs=2, dropout=0.2)
    first.save_weights(tmp_path / "w.weights.h5")
    fresh, _ = _train(OPTIMIZERS["adam"], data, epochs=0, seed=123, dropout=0.2)
    fresh.load_weights(tmp_path / "w.weights.h5")
    assert fresh.optimizer.iterations == 12
    fresh.fit(*data, batch_size=16, epochs=1, shuffle=False, verbose=0)
    _assert_same_weights(fresh, uninterrupted)


def two_headed_model():
    inputs = Input(shape=(5,), name="features")
    hidden = Dense(8, activation="relu")(inputs)
    score = Dense(1, name="score")(hidden)
    label = Dense(1, activation="sigmoid", name="label")(hidden)
    model = Model(inputs, [score, label], name="two_heads")
    model.compile(optimizer=optimizers.Adam(0.01), loss=["mse", "binary_crossentropy"], loss_weights=[0.7, 0.3],
                  metrics={"label": ["accuracy"], "score": ["mae"]})
    return model


def test_functional_multi_output_model_round_trips_and_resumes_exactly(tmp_path, data):
    x = data[0]
    ys = [x[:, :1] * 2.0, (x[:, 1:2] > 0).astype(np.float32)]
    nbtrain.utils.set_random_seed(3)
    uninterrupted = two_headed_model()
    expected = uninterrupted.fit(x, ys, batch_size=16, epochs=3, shuffle=False, verbose=0).history
    nbtrain.utils.set_random_seed(3)
    first = two_headed_model()
    first.fit(x, ys, batch_size=16, epochs=2, shuffle=False, verbose=0)
    first.save(tmp_path / "f.keras")
    resumed = load_model(tmp_path / "f.keras")
    assert type(resumed) is type(first) and resumed.name == "two_heads"
    assert resumed.output_names == first.output_names
    history = resumed.fit(x, ys, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    assert sorted(history) == sorted(expected)
    assert {k: v[0] for k, v in history.items()} == {k: v[2] for k, v in expected.items()}
    _assert_same_weights(resumed, uninterrupted)


# ================================================================================================
# weights files
# ================================================================================================


def test_save_weights_requires_the_keras_suffix(tmp_path):
    model = mlp()
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`. Received: filepath=.*w\.h5"):
        model.save_weights(tmp_path / "w.h5")


def test_weights_file_is_nbtrain_zip_not_hdf5_and_loads_into_a_fresh_model(tmp_path, data):
    model = compiled_mlp()
    model.fit(*data, epochs=1, verbose=0)
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    assert zipfile.is_zipfile(path)
    assert json.loads(members(path)["metadata.json"])["format"] == "nbtrain.weights"
    other = mlp()  # other layer names (dense_2, ...): layers are matched in order
    assert [layer.name for layer in other.layers] != [layer.name for layer in model.layers]
    other.load_weights(path)
    _assert_same_weights(other, model)


def test_load_weights_builds_an_unbuilt_model_from_the_saved_input_shape(tmp_path, data):
    model = mlp()
    model.save_weights(tmp_path / "w.weights.h5")
    unbuilt = Sequential([Dense(16, activation="tanh"), Dense(3, activation="softmax")])
    assert not unbuilt.built
    load_weights(unbuilt, tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(unbuilt.predict(data[0], verbose=0), model.predict(data[0], verbose=0))


def test_load_weights_from_a_keras_file(tmp_path):
    model = mlp()
    model.save(tmp_path / "m.keras")
    other = mlp()
    other.load_weights(tmp_path / "m.keras")
    _assert_same_weights(other, model)


def test_mismatched_shapes_raise_or_are_skipped(tmp_path):
    model = mlp()
    model.save_weights(tmp_path / "w.weights.h5")
    different = Sequential([Input(shape=(5,)), Dense(16, activation="tanh"), Dense(4)])
    with pytest.raises(ValueError, match=r"Layer 'dense_3' \(Dense\) has weights of shapes \[\(16, 4\), \(4,\)\] "
                                         r"but '.*w\.weights\.h5' holds \[\(16, 3\), \(3,\)\].*skip_mismatch=True"):
        different.load_weights(tmp_path / "w.weights.h5")
    with pytest.warns(UserWarning, match="Skipped"):
        different.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(different.layers[0].get_weights()[0], model.layers[0].get_weights()[0])


def test_a_different_number_of_layers_raises(tmp_path):
    mlp().save_weights(tmp_path / "w.weights.h5")
    deeper = Sequential([Input(shape=(5,)), Dense(16), Dense(16), Dense(3)])
    with pytest.raises(ValueError, match="has 3 layers with weights but .* holds weights for 2 layers"):
        deeper.load_weights(tmp_path / "w.weights.h5")


def test_optimizer_state_of_another_optimizer_is_skipped_with_a_warning(tmp_path, data):
    model = compiled_mlp("adam")
    model.fit(*data, epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    other = compiled_mlp("sgd")
    with pytest.warns(UserWarning, match="belongs to a Adam optimizer but the model is compiled with SGD"):
        other.load_weights(tmp_path / "w.weights.h5")
    _assert_same_weights(other, model)
    assert other.optimizer.iterations == 0


# ================================================================================================
# custom objects
# ================================================================================================


class Scale(Layer):
    """A user layer: multiplies by a trainable vector."""

    def __init__(self, initial=1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial = initial

    def build(self, input_shape):
        self.add_weight("scale", (input_shape[-1],), initializer=nbtrain.initializers.Constant(self.initial))
        super().build(input_shape)

    def forward(self, x, training=False):
        self._x = x
        return x * self._weights["scale"]

    def backward(self, grad_output):
        self.grads["scale"] = (grad_output * self._x).reshape(-1, self._x.shape[-1]).sum(0)
        return grad_output * self._weights["scale"]

    def get_config(self):
        return super().get_config() | {"initial": self.initial}


class HalfSquaredError(losses.Loss):
    def call(self, y_true, y_pred):
        return 0.5 * np.mean((y_pred - y_true) ** 2, axis=-1)

    def call_gradient(self, y_true, y_pred, upstream):
        return upstream[..., None] * (y_pred - y_true) / y_pred.shape[-1]


def max_abs_error(y_true, y_pred):
    return np.max(np.abs(y_true - y_pred), axis=-1)


cube = ActivationFunction("cube", lambda x: x ** 3, lambda g, x, y: g * 3 * x ** 2)


def custom_model():
    model = Sequential([Input(shape=(5,)), Scale(0.5), Dense(2, activation=cube)])
    model.compile(optimizer="adam", loss=HalfSquaredError(), metrics=[max_abs_error])
    return model


CUSTOM_OBJECTS = {"Scale": Scale, "HalfSquaredError": HalfSquaredError, "max_abs_error": max_abs_error, "cube": cube}


def test_custom_layers_losses_metrics_and_activations_load_with_custom_objects(tmp_path, data):
    x = data[0]
    y = x[:, :2] * 0.1
    model = custom_model()
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "c.keras")
    loaded = load_model(tmp_path / "c.keras", custom_objects=CUSTOM_OBJECTS)
    assert isinstance(loaded.layers[0], Scale) and loaded.layers[0].initial == 0.5
    assert loaded.layers[1].activation is cube
    assert type(loaded._compiled_loss.losses[0]) is HalfSquaredError
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    expected = model.fit(x, y, epochs=1, shuffle=False, verbose=0).history
    assert loaded.fit(x, y, epochs=1, shuffle=False, verbose=0).history == expected
    assert "max_abs_error" in expected


def test_a_missing_custom_function_names_the_custom_objects_to_pass(tmp_path, data):
    model = custom_model()
    model.fit(data[0], data[0][:, :2], epochs=1, verbose=0)
    model.save(tmp_path / "c.keras")
    without_metric = {k: v for k, v in CUSTOM_OBJECTS.items() if k != "max_abs_error"}
    with pytest.raises(ValueError, match=r"metric function 'max_abs_error' .*c\.keras.*"
                                         r"custom_objects=\{'max_abs_error': max_abs_error\}"):
        load_model(tmp_path / "c.keras", custom_objects=without_metric)
    without_activation = {k: v for k, v in CUSTOM_OBJECTS.items() if k != "cube"}
    with pytest.raises(ValueError, match=r"Unknown activation: 'cube'.*custom_objects=\{'cube': cube\}"):
        load_model(tmp_path / "c.keras", custom_objects=without_activation)
    # compile=False needs no loss or metric
    load_model(tmp_path / "c.keras", custom_objects={"Scale": Scale, "cube": cube}, compile=False)


def test_an_unknown_layer_class_names_the_file_and_the_fix(tmp_path):
    model = Sequential([Input(shape=(5,)), Scale(2.0)])
    path = tmp_path / "u.keras"
    model.save(path)
    config = members(path)["config.json"].replace(b'"Scale"', b'"MyLayer"')
    rewrite(path, {"config.json": config})
    with pytest.raises(UnknownLayerError) as error:
        load_model(path)
    message = str(error.value)
    assert f"Unknown layer 'MyLayer' in '{path}'" in message
    assert "pass custom_objects={'MyLayer': MyLayer}" in message
    loaded = load_model(path, custom_objects={"MyLayer": Scale})
    assert isinstance(loaded.layers[0], Scale)


def test_unsaveable_compile_arguments_warn_and_the_model_loads_uncompiled(tmp_path, data):
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=[lambda y_true, y_pred: np.zeros(len(y_true))])
    with pytest.warns(UserWarning, match="cannot be saved.*uncompiled"):
        model.save(tmp_path / "m.keras")
    assert not load_model(tmp_path / "m.keras").compiled


# ================================================================================================
# file names and overwriting
# ================================================================================================


def test_extension_rules(tmp_path):
    model = mlp()
    with pytest.raises(ValueError, match="Invalid filepath extension for saving.*Received: filepath=.*model.txt"):
        model.save(tmp_path / "model.txt")
    with pytest.raises(ValueError, match="weights-only file name: use model.save_weights"):
        model.save(tmp_path / "model.weights.h5")
    with pytest.raises(ValueError, match="zipped=False"):
        model.save(tmp_path / "model.keras", zipped=False)
    with pytest.warns(UserWarning, match="NOT HDF5"):
        model.save(tmp_path / "legacy.h5")
    assert isinstance(load_model(tmp_path / "legacy.h5"), Sequential)
    with pytest.raises(TypeError, match="unexpected keyword argument 'overwite'. Did you mean 'overwrite'"):
        save_model(model, tmp_path / "model.keras", overwite=False)


def test_an_unbuilt_model_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="has not been built yet"):
        Sequential([Dense(3)]).save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="has not been built yet"):
        Sequential([Dense(3)]).save_weights(tmp_path / "m.weights.h5")


def test_overwrite_false_refuses_to_replace_an_existing_file(tmp_path):
    path = tmp_path / "m.keras"
    mlp().save(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match=r"already exists and overwrite=False\. Pass overwrite=True"):
        mlp().save(path, overwrite=False)
    save_weights(mlp(), tmp_path / "w.weights.h5")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        save_weights(mlp(), tmp_path / "w.weights.h5", overwrite=False)
    assert path.read_bytes() == before
    mlp().save(tmp_path / "new.keras", overwrite=False)
    mlp().save(path, overwrite=True)
    assert path.read_bytes() != before


def test_saving_into_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="the directory .* does not exist"):
        mlp().save(tmp_path / "nowhere" / "m.keras")


def test_saved_files_get_normal_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    mlp().save(tmp_path / "m.keras")
    assert (tmp_path / "m.keras").stat().st_mode & 0o777 == 0o666 & ~umask


# ================================================================================================
# atomic writes
# ================================================================================================


def _fail_after_first_member(monkeypatch, exception):
    original = saving_archive._write_member
    written = []

    def write_then_fail(archive, name, data):
        original(archive, name, data)
        written.append(name)
        if len(written) == 2:
            raise exception

    monkeypatch.setattr(saving_archive, "_write_member", write_then_fail)
    return written


@pytest.mark.parametrize("exception", [OSError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_save_keeps_the_previous_file_and_leaves_nothing_behind(exception, tmp_path, monkeypatch,
                                                                              data):
    model = compiled_mlp()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    model.fit(*data, epochs=1, verbose=0)
    written = _fail_after_first_member(monkeypatch, exception)
    with pytest.raises(type(exception)):
        model.save(path)
    assert written == ["metadata.json", "config.json"]  # it really stopped half way
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]
    assert load_model(path).optimizer.iterations == 0


def test_a_new_file_interrupted_while_saving_does_not_appear(tmp_path, monkeypatch):
    _fail_after_first_member(monkeypatch, OSError("disk full"))
    with pytest.raises(OSError):
        save_weights(mlp(), tmp_path / "w.weights.h5")
    assert os.listdir(tmp_path) == []


KILLED_SAVE = textwrap.dedent("""
    import sys, time
    import nbtrain
    from nbtrain.layers import Dense, Input
    from nbtrain.models import Sequential, saving
    from nbtrain.models.saving import archive as saving_archive

    model = Sequential([Input(shape=(512,)), Dense(2048), Dense(512)])
    original = saving_archive._write_member

    def slow_write(archive, name, data):
        original(archive, name, data)
        if name == "config.json":
            print("PARTIAL", flush=True)
            time.sleep(60)

    saving_archive._write_member = slow_write
    saving.save_model(model, sys.argv[1])
""")


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and the stale-file cleanup are POSIX only")
def test_a_killed_save_leaves_the_previous_file_readable_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "big.keras"
    previous = mlp()
    previous.save(path)
    before = path.read_bytes()
    process = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "PARTIAL"
        assert len(leftovers(tmp_path)) == 1  # the half-written temporary file
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    assert path.read_bytes() == before
    _assert_same_weights(load_model(path), previous)
    assert len(leftovers(tmp_path)) == 1  # SIGKILL gave it no chance to clean up ...
    previous.save(path)
    assert leftovers(tmp_path) == []  # ... so the next save to that name removes it


def test_stale_temporary_files_of_live_processes_are_kept(tmp_path):
    dead = tmp_path / f".m.keras.tmp-{2**31 - 2}-dead"
    alive = tmp_path / f".m.keras.tmp-{os.getpid()}-live"
    other = tmp_path / ".other.keras.tmp-999999-x"
    for file in (dead, alive, other):
        file.write_bytes(b"partial")
    mlp().save(tmp_path / "m.keras")
    remaining = set(os.listdir(tmp_path))
    assert dead.name not in remaining and alive.name in remaining and other.name in remaining


# ================================================================================================
# loading bad files
# ================================================================================================


@pytest.fixture
def saved(tmp_path):
    model = compiled_mlp()
    path = tmp_path / "good.keras"
    model.save(path)
    return path


def test_a_truncated_file_is_reported_with_its_name(saved, tmp_path):
    path = tmp_path / "truncated.keras"
    path.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(SavedFileError, match=r"Cannot load '.*truncated\.keras': it is not a complete zip archive "
                                             r"\(\d+ bytes; it may be truncated"):
        load_model(path)


def test_a_corrupted_member_is_reported_with_its_name(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo("model.weights.npz")
    data = bytearray(saved.read_bytes())
    position = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    data[position] ^= 0xFF
    path = tmp_path / "corrupt.keras"
    path.write_bytes(bytes(data))
    with pytest.raises(SavedFileError, match=r"Cannot load '.*corrupt\.keras': the file is corrupt or truncated "
                                             r"\(BadZipFile: Bad CRC-32"):
        load_model(path)


def test_text_empty_and_missing_files(tmp_path):
    text = tmp_path / "notes.keras"
    text.write_text("these are not weights")
    with pytest.raises(SavedFileError, match=r"'.*notes\.keras': it is not a complete zip archive.*expected a model "
                                             r"saved by nbtrain"):
        load_model(text)
    empty = tmp_path / "empty.weights.h5"
    empty.write_bytes(b"")
    with pytest.raises(SavedFileError, match="it is empty"):
        load_weights(mlp(), empty)
    with pytest.raises(FileNotFoundError, match=r"No file '.*missing\.keras' to load"):
        load_model(tmp_path / "missing.keras")
    with pytest.raises(SavedFileError, match="is a directory"):
        load_model(tmp_path)


def test_a_foreign_zip_is_recognised(tmp_path):
    path = tmp_path / "photos.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday.jpg", b"\xff\xd8")
    with pytest.raises(SavedFileError, match=r"is a zip archive but not an nbtrain file \(it contains holiday\.jpg, "
                                             r"no metadata\.json\)"):
        load_model(path)


def test_keras_files_are_recognised(tmp_path):
    keras_file = tmp_path / "from_keras.keras"
    with zipfile.ZipFile(keras_file, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1", "date_saved": "2026-01-01"}))
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    with pytest.raises(SavedFileError, match="saved by Keras 3.15.1, not by nbtrain"):
        load_model(keras_file)
    hdf5 = tmp_path / "keras.weights.h5"
    hdf5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(SavedFileError, match=r"is an HDF5 file \(written by Keras or h5py\).*np\.savez"):
        load_weights(mlp(), hdf5)


def test_a_file_from_a_newer_nbtrain_asks_for_an_upgrade(saved):
    metadata = json.loads(members(saved)["metadata.json"]) | {"format_version": 99, "nbtrain_version": "9.0"}
    rewrite(saved, {"metadata.json": json.dumps(metadata).encode()})
    with pytest.raises(SavedFileError, match="format version 99 by nbtrain 9.0.*Upgrade nbtrain"):
        load_model(saved)


def test_a_file_missing_its_weights_is_incomplete(saved, tmp_path):
    path = tmp_path / "partial.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members(saved).items():
            if name != "model.weights.npz":
                archive.writestr(name, data)
    with pytest.raises(SavedFileError, match=r"incomplete, it has no model\.weights\.npz"):
        load_model(path)


def test_a_weights_file_given_to_load_model_points_to_load_weights(tmp_path):
    mlp().save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(SavedFileError, match=r"holds only weights.*model\.load_weights"):
        load_model(tmp_path / "w.weights.h5")


def test_no_warnings_on_a_plain_round_trip(tmp_path, data):
    model = compiled_mlp()
    model.fit(*data, epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.save(tmp_path / "m.keras")
        load_model(tmp_path / "m.keras")
        model.save_weights(tmp_path / "m.weights.h5")
        model.load_weights(tmp_path / "m.weights.h5")


# ================================================================================================
# interrupts, full disks, truncation and crafted files (issue 12)
# ================================================================================================


def _interrupt_on_call(monkeypatch, owner, attribute, call=2):
    """Make ``owner.attribute`` raise KeyboardInterrupt on its ``call``-th call (the first ones run normally)."""
    original = getattr(owner, attribute)
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(attribute)
        if len(calls) == call:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, attribute, interrupted)
    return calls


class _InterruptingStream:
    """A file object that raises KeyboardInterrupt on its ``at``-th write: Ctrl-C at any point of the zip."""

    def __init__(self, stream, at):
        self.stream, self.at, self.writes = stream, at, 0

    def write(self, data):
        self.writes += 1
        if self.writes == self.at:
            raise KeyboardInterrupt
        return self.stream.write(data)

    def __getattr__(self, name):
        return getattr(self.stream, name)


INTERRUPT_POINTS = {
    # zipfile marks the archive busy, then builds the member's writer: Ctrl-C in between once surfaced as
    # "ValueError: Can't close the ZIP file while there is an open writing handle on it".
    "opening a member": (zipfile._ZipWriteFile, "__init__"),
    "writing a member": (zipfile._ZipWriteFile, "write"),
    "closing a member": (zipfile._ZipWriteFile, "close"),
    "writing the zip directory": (zipfile.ZipFile, "_write_end_record"),
    "syncing to disk": (os, "fsync"),
    "renaming over the file": (os, "replace"),
}


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("point", INTERRUPT_POINTS)
def test_ctrl_c_anywhere_in_save_raises_keyboard_interrupt_and_keeps_the_previous_file(point, tmp_path, monkeypatch,
                                                                                      data):
    model = compiled_mlp()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    model.fit(*data, epochs=1, verbose=0)
    owner, attribute = INTERRUPT_POINTS[point]
    calls = _interrupt_on_call(monkeypatch, owner, attribute, call=1 if attribute in ("fsync", "replace",
                                                                                   "_write_end_record") else 2)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    monkeypatch.undo()
    import gc

    gc.collect()  # an abandoned ZipFile must not complain (or write) when it is collected
    assert calls, "the interrupt point was never reached"
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_ctrl_c_at_every_write_of_the_zip_raises_keyboard_interrupt(tmp_path, monkeypatch):
    model = compiled_mlp()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    original = saving_archive._write_zip
    streams = []

    def interrupt_file_writes(at):
        def write(stream, members, write_member=None):
            if isinstance(stream, io.BufferedWriter):  # the file itself, not an .npz being built in memory
                streams.append(stream := _InterruptingStream(stream, at=at))
            original(stream, members, write_member)
        return write

    monkeypatch.setattr(saving_archive, "_write_zip", interrupt_file_writes(at=0))
    model.save(path)
    total = streams[-1].writes
    assert total > 10
    for at in range(1, total + 1):
        monkeypatch.setattr(saving_archive, "_write_zip", interrupt_file_writes(at))
        with pytest.raises(KeyboardInterrupt):
            model.save(path)
    monkeypatch.undo()
    import gc

    gc.collect()
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]
    _assert_same_weights(load_model(path), model)
    assert path.stat().st_size == len(before)


@pytest.mark.parametrize("existed", [True, False])
def test_a_full_disk_names_the_file_and_says_the_previous_version_was_kept(existed, tmp_path, monkeypatch):
    import errno

    model = compiled_mlp()
    path = tmp_path / "m.keras"
    if existed:
        model.save(path)
    before = path.read_bytes() if existed else None

    def disk_full(archive, name, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(saving_archive, "_write_member", disk_full)
    with pytest.raises(OSError) as raised:
        model.save(path)
    message = str(raised.value)
    assert raised.value.errno == errno.ENOSPC
    assert f"Could not save '{path}': No space left on device." in message
    assert "Free some disk space" in message
    if existed:
        assert f"The previous version of '{path}' was kept unchanged." in message
        assert path.read_bytes() == before
    else:
        assert f"No file was written at '{path}'." in message
        assert not path.exists()
    assert leftovers(tmp_path) == []


def _truncation_points(path) -> list[int]:
    """Many cut points through the file, with the exact ends of every member (where a member's zip ends)."""
    size = path.stat().st_size
    points = set(range(1, size, max(1, size // 150)))
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            end = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size
            points.update({info.header_offset, end - 1, end, end + 1})
    points.update(range(size - 30, size))
    return sorted(p for p in points if 0 < p < size)


def test_a_file_truncated_anywhere_is_reported_as_truncated_or_corrupt(tmp_path, data):
    model = Sequential([Input(shape=(5,)), Dense(300, activation="tanh"), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(*data, epochs=1, verbose=0)
    path = tmp_path / "whole.keras"
    model.save(path)
    whole = path.read_bytes()
    cut = tmp_path / "cut.keras"
    misdiagnosed = []
    for point in _truncation_points(path):
        cut.write_bytes(whole[:point])
        try:
            load_model(cut)
        except SavedFileError as error:
            if not re.search(r"truncated|corrupt", str(error).replace(str(cut), "")):
                misdiagnosed.append((point, str(error)))
        else:
            misdiagnosed.append((point, "loaded"))
    assert misdiagnosed == []


# ----- crafted files --------------------------------------------------------------------------------------


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _edit_json(path, name, edit):
    value = json.loads(members(path)[name])
    edit(value)
    return {name: json.dumps(value).encode()}


def _nested_layers(levels):
    layer = {"class_name": "Dense", "config": {"units": 2}}
    for _ in range(levels):
        layer = {"class_name": "TimeDistributed", "config": {"layer": layer}}
    return layer


CRAFTED = {
    # name: (how to change the file, what the message says)
    "JSON nested 100000 deep": (lambda p: {"config.json": ('{"class_name": "Sequential", "config": {"layers": '
                                                          + _deep(100000) + "}}").encode()}, "nested too deeply"),
    "layers nested 300 deep": (lambda p: _edit_json(p, "config.json", lambda c: c["config"]["layers"].__setitem__(
        1, _nested_layers(300))), "more than 100 levels deep"),
    "config not an object": (lambda p: {"config.json": b"[1, 2]"}, "config.json does not describe a model"),
    "config not JSON": (lambda p: {"config.json": b"{"}, "config.json is not valid JSON"),
    "model config a number": (lambda p: _edit_json(p, "config.json", lambda c: c.__setitem__("config", 5)),
                              "the config in its config.json is a number"),
    "layers a number": (lambda p: _edit_json(p, "config.json", lambda c: c["config"].__setitem__("layers", 5)),
                        r"cannot be rebuilt \(TypeError"),
    "layer without its config": (lambda p: _edit_json(p, "config.json", lambda c: c["config"]["layers"][1].pop(
        "config")), "cannot be rebuilt"),
    "layer config a list": (lambda p: _edit_json(p, "config.json", lambda c: c["config"]["layers"][1].__setitem__(
        "config", [1])), "cannot be rebuilt"),
    "build_config a list": (lambda p: _edit_json(p, "config.json", lambda c: c.__setitem__("build_config", [1])),
                            "build_config in its config.json is a list"),
    "compile_config a number": (lambda p: _edit_json(p, "config.json", lambda c: c.__setitem__("compile_config", 5)),
                                "compile_config in its config.json is a number"),
    "no optimizer": (lambda p: _edit_json(p, "config.json", lambda c: c["compile_config"].pop("optimizer")),
                     "compile configuration lacks 'optimizer'"),
    "metrics a number": (lambda p: _edit_json(p, "config.json", lambda c: c["compile_config"].__setitem__(
        "metrics", 5)), r"compile configuration cannot be read \(AttributeError"),
    "loss function without a name": (lambda p: _edit_json(p, "config.json", lambda c: c["compile_config"].__setitem__(
        "loss", {"module": "nbtrain.losses", "class_name": "function", "config": ["x"]})), "saved without a name"),
    "manifest a list": (lambda p: {"model.weights.json": b"[]"}, "model.weights.json has no list of layers"),
    "manifest layer a number": (lambda p: _edit_json(p, "model.weights.json", lambda m: m["layers"].__setitem__(
        1, 5)), "layer 1 in its model.weights.json is not a record"),
    "manifest entry without a key": (lambda p: _edit_json(p, "model.weights.json", lambda m: m["layers"][1][
        "weights"][0].pop("key")), "names the array None"),
    "manifest names a missing array": (lambda p: _edit_json(p, "model.weights.json", lambda m: m["layers"][1][
        "weights"][0].__setitem__("key", "nothing")), "names the array 'nothing'"),
    "generators a number": (lambda p: _edit_json(p, "model.weights.json", lambda m: m["layers"][1].__setitem__(
        "generators", 5)), "is not a record"),
    "optimizer state a list": (lambda p: {"optimizer.json": b"[]"}, "optimizer.json is a list"),
    "optimizer slot names a number": (lambda p: _edit_json(p, "optimizer.json", lambda s: s.__setitem__(
        "slot_names", 5)), r"optimizer state cannot be restored \(TypeError"),
    "optimizer shapes a number": (lambda p: _edit_json(p, "optimizer.json", lambda s: s.__setitem__(
        "variable_shapes", 5)), "optimizer state cannot be restored"),
    "metadata a list": (lambda p: {"metadata.json": b"[]"}, "metadata.json is a list"),
    "object array": (lambda p: {"model.weights.npz": _npz_bytes({"layers/1/dense/kernel": np.array([{}], object)})},
                     "holds Python objects"),
    "array shorter than its header": (lambda p: {"model.weights.npz": _npz_of_raw(
        "layers/1/dense/kernel.npy", _npy_header((1000, 1000)) + bytes(16))}, r"declares shape \(1000, 1000\)"),
    "array with a bad header": (lambda p: {"model.weights.npz": _npz_of_raw("layers/1/dense/kernel.npy",
                                                                            b"\x93NUMPY\x01\x00garbage")},
                                "has no valid array header"),
    "npz holding something else": (lambda p: {"model.weights.npz": _npz_of_raw("../../escape.txt", b"x")},
                                   r"escape\.txt is not an array"),
}


def _npz_bytes(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _npz_of_raw(name, data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def _npy_header(shape):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buffer.getvalue()


@pytest.mark.parametrize("case", CRAFTED)
def test_a_crafted_file_is_refused_with_what_was_wrong(case, saved):
    change, message = CRAFTED[case]
    rewrite(saved, change(saved))
    with pytest.raises(saving_archive.InvalidModelFileError,
                       match=r"Cannot load '.*good\.keras': it is not a valid nbtrain model file: .*" + message):
        load_model(saved)


def test_a_crafted_function_module_is_never_imported(saved):
    def use(module):
        return _edit_json(saved, "config.json", lambda c: c["compile_config"].__setitem__(
            "loss", {"module": module, "class_name": "function", "config": "system"}))

    for module in ("nbtrain.no_such_module", "os", "nbtrain.utils.temporary_files"):
        rewrite(saved, use(module))
        with pytest.raises(ValueError, match="The loss function 'system' used by the model in .* is not defined here"):
            load_model(saved)
    assert "nbtrain.no_such_module" not in sys.modules


def test_traversal_names_in_a_file_are_never_written_anywhere(saved, tmp_path):
    before = sorted(os.listdir(tmp_path)), sorted(os.listdir(tmp_path.parent))
    rewrite(saved, {"../escape.json": b"{}", "/tmp/absolute.json": b"{}", "..\\windows.json": b"{}",
                    "../model.weights.npz": b"not an npz"})
    load_model(saved)  # nbtrain reads its own members by name and extracts nothing
    assert (sorted(os.listdir(tmp_path)), sorted(os.listdir(tmp_path.parent))) == before


def _deflated_zeros_member(name: str, size: int) -> tuple[zipfile.ZipInfo, bytes]:
    import zlib

    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    chunk, crc, parts = bytes(1 << 20), 0, []
    for _ in range(size >> 20):
        parts.append(compressor.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    parts.append(compressor.flush())
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.file_size, info.compress_size, info.CRC = size, sum(map(len, parts)), crc
    return info, b"".join(parts)


def _write_raw_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, compressed: bytes) -> None:
    """Put already-deflated bytes into ``archive`` under ``info`` (zipfile has no public way to do this)."""
    info.header_offset = archive.fp.tell()
    archive.fp.write(info.FileHeader())
    archive.fp.write(compressed)
    archive.start_dir = archive.fp.tell()
    archive.filelist.append(info)
    archive.NameToInfo[info.filename] = info


def test_a_zip_bomb_is_refused_before_anything_is_inflated(saved, tmp_path):
    import tracemalloc

    bomb = tmp_path / "bomb.keras"
    info, compressed = _deflated_zeros_member("config.json", 128 << 20)
    with zipfile.ZipFile(bomb, "w") as archive:
        for name, content in members(saved).items():
            if name != "config.json":
                archive.writestr(name, content)
        _write_raw_member(archive, info, compressed)
    assert bomb.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(saving_archive.InvalidModelFileError,
                           match=r"its member config\.json declares 134217728 bytes uncompressed, more than a file "
                                 r"of this size can hold"):
            load_model(bomb)
        assert tracemalloc.get_traced_memory()[1] < 8 << 20
    finally:
        tracemalloc.stop()


def test_a_member_inflating_beyond_its_declared_size_is_read_only_that_far(saved, tmp_path):
    import tracemalloc

    liar = tmp_path / "liar.keras"
    info, compressed = _deflated_zeros_member("config.json", 64 << 20)
    info.file_size = 1000  # the header says 1000 bytes; the data inflates to 64 MiB
    with zipfile.ZipFile(liar, "w") as archive:
        for name, content in members(saved).items():
            if name != "config.json":
                archive.writestr(name, content)
        _write_raw_member(archive, info, compressed)
    tracemalloc.start()
    try:
        with pytest.raises(SavedFileError, match="corrupt or truncated"):
            load_model(liar)
        assert tracemalloc.get_traced_memory()[1] < 8 << 20
    finally:
        tracemalloc.stop()
