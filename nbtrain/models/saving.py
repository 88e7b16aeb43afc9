"""Save and load whole models (``.keras``) and their weights (``.weights.h5``), atomically.

A ``.keras`` file is a zip archive with these members:

- ``metadata.json``: the file format and its version, the nbtrain version and the date saved;
- ``config.json``: the model's class and ``get_config()``, its build input shape, and the ``compile()``
  arguments (the optimizer through ``nbtrain.optimizers.serialize``, losses and metrics as names or configs);
- ``model.weights.json`` and ``model.weights.npz``: every layer's weights in Keras order, and the state of
  the layers' random generators (so Dropout continues its mask sequence after loading);
- ``optimizer.json`` and ``optimizer.npz``: the optimizer's state (``iterations``, the current learning
  rate, its slot arrays such as Adam's moments), so training continues exactly where it stopped.

Everything is JSON or ``.npy`` arrays read with ``allow_pickle=False``: loading a file never runs code from it.

``save_weights`` requires a name ending in ``.weights.h5``, as Keras does, but **the file is nbtrain's own
zip format, not HDF5**: Keras and h5py cannot open it, and nbtrain cannot read Keras's HDF5 files. To move
weights between the two, use ``np.savez("w.npz", *model.get_weights())`` and ``model.set_weights(...)``.

Every write goes to a temporary file in the target's directory, is flushed to disk (fsync) and then renamed
over the target (``os.replace``), so an interrupted save (an exception, Ctrl-C, a killed kernel) leaves the
previous file intact. A temporary file left by a killed process is removed by the next save to that name.

What is not saved: the learning rate of a ``fit`` in progress is saved, but the global random generator
(``nbtrain.utils.set_random_seed``) is process state and is not, so a resumed ``fit(shuffle=True)`` shuffles
differently from an uninterrupted one; with ``shuffle=False`` the resumed run is identical. Metric values
(reset every epoch), the ``History`` and ``exclude_from_weight_decay`` settings are not saved either.

Example:
    >>> model.save("model.keras")                                # doctest: +SKIP
    >>> model = nbtrain.models.load_model("model.keras")         # doctest: +SKIP
    >>> model.fit(x, y, epochs=1)                                # continues training  # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import inspect
import io
import json
import os
import secrets
import warnings
import zipfile
import zlib

import numpy as np

from nbtrain.layers import serialization as layer_serialization
from nbtrain.utils.errors import check_keyword_arguments, did_you_mean

FORMAT_VERSION = 1
MODEL_FORMAT = "nbtrain.keras"
WEIGHTS_FORMAT = "nbtrain.weights"

METADATA = "metadata.json"
CONFIG = "config.json"
WEIGHTS_MANIFEST = "model.weights.json"
WEIGHTS_ARRAYS = "model.weights.npz"
OPTIMIZER_STATE = "optimizer.json"
OPTIMIZER_ARRAYS = "optimizer.npz"

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_TEMPORARY_MARKER = ".tmp-"


class SavedFileError(ValueError):
    """A file cannot be loaded: it is missing parts, truncated, corrupt, or not an nbtrain file."""


# ================================================================================================
# public API
# ================================================================================================



def _contiguous(array) -> np.ndarray:
    """A C-contiguous array of the same shape: ``np.ascontiguousarray`` alone turns a 0-d array into shape (1,)."""
    array = np.asarray(array)
    return np.ascontiguousarray(array).reshape(array.shape)

def save_model(model, filepath, overwrite=True, zipped=None, include_optimizer=True, **kwargs) -> None:
    """Save the architecture, weights, compile arguments and optimizer state to a ``.keras`` file.

    Args:
        model: the model to save.
        filepath: a path ending in ``.keras`` (``.h5`` also works, with a warning: the file is nbtrain's zip
            format whatever its name).
        overwrite: replace an existing file (default). With False an existing file raises FileExistsError.
        zipped: accepted for Keras compatibility; only the zipped format exists (``zipped=False`` raises).
        include_optimizer: also save the optimizer state (default), so training resumes exactly.

    Example:
        >>> save_model(model, "model.keras")  # doctest: +SKIP
    """
    check_keyword_arguments("save()", kwargs, ("filepath", "overwrite", "zipped", "include_optimizer"))
    path = _check_model_path(filepath)
    if zipped is False:
        raise ValueError("nbtrain saves models only as zipped .keras files; drop zipped=False.")
    if not getattr(model, "built", False):
        raise ValueError(
            f"Model '{model.name}' has not been built yet, so it has no weights to save. Call "
            "model.build(input_shape), fit it, or give the input shape (Input(shape=...) as the first layer) "
            "before saving."
        )
    members = {
        METADATA: _json_bytes(_metadata(MODEL_FORMAT)),
        CONFIG: _json_bytes(_model_config(model)),
    }
    members.update(_weights_members(model))
    if include_optimizer:
        members.update(_optimizer_members(model))
    _atomic_write_zip(path, members, overwrite)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved by :func:`save_model` (``model.save``): ready to predict and to continue training.

    Args:
        filepath: the ``.keras`` file.
        custom_objects: ``{name: object}`` for your own layer classes, losses, metrics, activations,
            initializers, regularizers, constraints and optimizers that the model uses.
        compile: restore the ``compile()`` arguments and the optimizer state (default). With False the model
            is returned uncompiled.
        safe_mode: accepted for Keras compatibility. nbtrain files hold only JSON and arrays (read without
            pickle), so there is no code in them to guard against.

    Returns:
        The model, with the same class, layers, weights, compile state and optimizer state.

    Example:
        >>> model = load_model("model.keras")  # doctest: +SKIP
    """
    path = os.fspath(filepath)
    where = f"'{path}'"
    archive = _read_archive(path, expect=MODEL_FORMAT)
    if archive.format == WEIGHTS_FORMAT:
        raise SavedFileError(
            f"{where} holds only weights (written by save_weights), not a whole model. Build the same model in "
            f"code and call model.load_weights({path!r}), or save the whole model with model.save('model.keras')."
        )
    config = archive.json(CONFIG)
    custom_objects = dict(custom_objects or {})
    model = _model_from_config(config, custom_objects, where)
    _restore_weights(model, archive, skip_mismatch=False, where=where, restore_optimizer=False)
    if compile and config.get("compile_config"):
        _compile_from_config(model, config["compile_config"], custom_objects, where)
        _restore_optimizer(model, archive, where, strict=True)
    return model


def save_weights(model, filepath, overwrite=True, max_shard_size=None) -> None:
    """Save every weight (and the optimizer state, if any) to a file whose name ends in ``.weights.h5``.

    The name follows Keras, but the file is nbtrain's own zip format, **not HDF5**: Keras and h5py cannot open
    it. :func:`load_weights` reads it back into a model with the same layers.

    Args:
        model: the model.
        filepath: a path ending in ``.weights.h5``.
        overwrite: replace an existing file (default); with False an existing file raises FileExistsError.
        max_shard_size: accepted for Keras compatibility; nbtrain always writes one file.

    Example:
        >>> save_weights(model, "checkpoint.weights.h5")  # doctest: +SKIP
    """
    path = os.fspath(filepath)
    if not str(path).endswith(".weights.h5"):
        raise ValueError(
            f"The filename must end in `.weights.h5`. Received: filepath={path}. (nbtrain writes its own zip "
            f"format under this name, as Keras requires the name; use model.save('model.keras') to save the "
            f"whole model.)"
        )
    if not getattr(model, "built", False):
        raise ValueError(
            f"Model '{model.name}' has not been built yet, so it has no weights to save. Call model.build(input_shape) "
            "or fit it first."
        )
    members = {METADATA: _json_bytes(_metadata(WEIGHTS_FORMAT))}
    members.update(_weights_members(model))
    members.update(_optimizer_members(model))
    _atomic_write_zip(path, members, overwrite)


def load_weights(model, filepath, skip_mismatch=False, **kwargs) -> None:
    """Load weights written by :func:`save_weights` (or from a ``.keras`` file) into ``model``, in place.

    Layers are matched in order (the layers that have weights, as ``get_weights`` lists them). If the file
    also holds optimizer state and the model is compiled with an optimizer of the same kind, that state is
    restored too, so training continues where it stopped.

    Args:
        model: a model with the same architecture (built, or buildable from the input shape in the file).
        filepath: a ``.weights.h5`` file from :func:`save_weights` or a ``.keras`` file.
        skip_mismatch: skip (with a warning) layers whose weight count or shapes differ, instead of raising.

    Example:
        >>> load_weights(model, "checkpoint.weights.h5")  # doctest: +SKIP
    """
    check_keyword_arguments("load_weights()", kwargs, ("filepath", "skip_mismatch"))
    path = os.fspath(filepath)
    archive = _read_archive(path, expect=WEIGHTS_FORMAT)
    _restore_weights(model, archive, skip_mismatch=bool(skip_mismatch), where=f"'{path}'", restore_optimizer=True)


# ================================================================================================
# writing
# ================================================================================================


def _check_model_path(filepath) -> str:
    path = os.fspath(filepath)
    text = str(path)
    if text.endswith(".weights.h5"):
        raise ValueError(
            f"{text!r} is a weights-only file name: use model.save_weights({text!r}) for weights, or a name "
            f"ending in .keras to save the whole model."
        )
    if text.endswith((".h5", ".hdf5")):
        warnings.warn(
            f"Saving to {text!r}: nbtrain writes its own zip format (the .keras format) whatever the extension, "
            "so this file is NOT HDF5 and Keras or h5py cannot open it. Prefer the name 'model.keras'.",
            UserWarning, stacklevel=3)
        return path
    if not text.endswith(".keras"):
        raise ValueError(
            "Invalid filepath extension for saving. Please add a `.keras` extension for the native format "
            f"(nbtrain's zip of JSON and arrays). Received: filepath={text}"
        )
    return path


def _metadata(kind: str) -> dict:
    import nbtrain

    return {
        "format": kind,
        "format_version": FORMAT_VERSION,
        "nbtrain_version": nbtrain.__version__,
        "numpy_version": np.__version__,
        "date_saved": _now().isoformat(timespec="seconds"),
    }


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _json_bytes(value) -> bytes:
    return json.dumps(value, indent=1, default=_json_default).encode("utf-8")


def _json_default(value):
    """Numbers and arrays that NumPy produced, written as plain JSON."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.dtype):
        return value.name
    raise TypeError(f"{value!r} ({type(value).__name__}) cannot be written to JSON")


def _npz_bytes(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _model_config(model) -> dict:
    try:
        config = model.get_config()
        json.dumps(config, default=_json_default)
    except (TypeError, ValueError, NotImplementedError) as error:
        raise ValueError(
            f"Cannot save model '{model.name}': its configuration cannot be written as JSON ({error}). Every layer's "
            "get_config() must return plain values (numbers, strings, lists, dicts); a layer holding an object "
            "should store its name or config instead."
        ) from error
    return {
        "module": type(model).__module__,
        "class_name": type(model).__name__,
        "config": config,
        "registered_name": None,
        "build_config": _build_config(model),
        "compile_config": _compile_config(model),
    }


def _build_config(model) -> dict | None:
    shape = getattr(model, "input_shape", None)
    if not getattr(model, "built", False) or shape is None:
        return None
    return {"input_shape": _shape_to_json(shape)}


def _shape_to_json(shape):
    if isinstance(shape, (list, tuple)):
        return [_shape_to_json(d) for d in shape]
    return None if shape is None else int(shape)


def _shape_from_json(shape):
    if isinstance(shape, list):
        if all(d is None or isinstance(d, int) for d in shape):
            return tuple(shape)
        return [_shape_from_json(s) for s in shape]
    return shape


def _weights_members(model) -> dict[str, bytes]:
    arrays, layers = {}, []
    for index, layer in enumerate(model.layers):
        entries = []
        for weight_name, value in zip(_weight_names(layer), layer.get_weights()):
            key = f"layers/{index}/{layer.name}/{weight_name}"
            arrays[key] = _contiguous(value)
            entries.append({"name": weight_name, "key": key, "shape": list(value.shape), "dtype": value.dtype.name})
        layers.append({"name": layer.name, "class_name": type(layer).__name__, "weights": entries,
                       "generators": _generator_states(layer)})
    manifest = {"model_class": type(model).__name__, "model_name": model.name,
                "input_shape": (_build_config(model) or {}).get("input_shape"), "layers": layers}
    return {WEIGHTS_MANIFEST: _json_bytes(manifest), WEIGHTS_ARRAYS: _npz_bytes(arrays)}


def _weight_names(layer) -> list[str]:
    names = list(getattr(layer, "_weights", {}) or {})
    count = len(layer.weights)
    return names if len(names) == count else [f"weight_{i}" for i in range(count)]


def _generator_states(layer, prefix="", seen=None) -> dict:
    """The ``bit_generator.state`` of every NumPy generator a layer (or a layer inside it) draws from.

    Saving them lets Dropout, GaussianNoise and recurrent dropout continue their random sequence after a
    reload, so a resumed fit matches an uninterrupted one.
    """
    from nbtrain.layers.layer import Layer

    seen = set() if seen is None else seen
    if id(layer) in seen:
        return {}
    seen.add(id(layer))
    states = {}
    for attribute, value in sorted(vars(layer).items()):
        if isinstance(value, np.random.Generator):
            states[prefix + attribute] = value.bit_generator.state
        elif isinstance(value, Layer):
            states.update(_generator_states(value, f"{prefix}{attribute}.", seen))
    return states


def _set_generator_states(layer, states: dict, where: str) -> None:
    for path, state in states.items():
        owner = layer
        *parents, attribute = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent, None)
        generator = getattr(owner, attribute, None)
        if not isinstance(generator, np.random.Generator):
            continue
        try:
            generator.bit_generator.state = state
        except (TypeError, ValueError, KeyError) as error:
            warnings.warn(f"Layer '{layer.name}': the random generator state saved in {where} could not be "
                          f"restored ({error}); its random draws will differ from the saved run.", stacklevel=4)


def _optimizer_members(model) -> dict[str, bytes]:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "get_state"):
        return {}
    state = optimizer.get_state()
    slots = state.pop("slots")
    arrays = {f"{i}/{name}": _contiguous(array) for i, saved in enumerate(slots)
              for name, array in saved.items()}
    state["slot_names"] = [list(saved) for saved in slots]
    return {OPTIMIZER_STATE: _json_bytes(state), OPTIMIZER_ARRAYS: _npz_bytes(arrays)}


# ----- compile arguments ------------------------------------------------------------------------------


def _compile_config(model) -> dict | None:
    given = getattr(model, "_compile_config", None)
    if not getattr(model, "compiled", False) or not given:
        return None
    from nbtrain import optimizers

    try:
        config = {
            "optimizer": optimizers.serialize(model.optimizer),
            "loss": _serialize_nested(given.get("loss"), _serialize_loss),
            "metrics": _serialize_nested(given.get("metrics"), _serialize_metric),
            "loss_weights": given.get("loss_weights"),
            "weighted_metrics": _serialize_nested(given.get("weighted_metrics"), _serialize_metric),
        }
        for key in ("run_eagerly", "steps_per_execution", "jit_compile"):
            if key in given:
                config[key] = given[key]
        json.dumps(config, default=_json_default)
    except (TypeError, ValueError, NotImplementedError) as error:
        warnings.warn(
            f"The compile() arguments of model '{model.name}' cannot be saved ({error}); the model is saved "
            "without them and load_model() returns it uncompiled (call compile() again after loading).",
            UserWarning, stacklevel=4)
        return None
    return config


def _serialize_nested(value, serialize_one):
    """Keep the list/dict structure of per-output losses and metrics; serialize each entry."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_serialize_nested(v, serialize_one) for v in value]
    if isinstance(value, dict):
        return {str(k): _serialize_nested(v, serialize_one) for k, v in value.items()}
    return serialize_one(value)


def _serialize_loss(loss):
    from nbtrain import losses

    if inspect.isclass(loss):
        loss = loss()
    if isinstance(loss, losses.Loss):
        return losses.serialize(loss)
    return _serialize_function(loss, "loss")


def _serialize_metric(metric):
    from nbtrain import losses, metrics

    if inspect.isclass(metric):
        metric = metric()
    if isinstance(metric, losses.Loss):
        return losses.serialize(metric)
    if isinstance(metric, metrics.MeanMetricWrapper) and type(metric) is metrics.MeanMetricWrapper:
        config = metric.get_config()
        if callable(config.get("fn")):
            config["fn"] = _function_name(config["fn"], "metric")
        return {"module": "nbtrain.metrics", "class_name": "MeanMetricWrapper", "config": config}
    if isinstance(metric, metrics.Metric):
        return {"module": "nbtrain.metrics", **metrics.serialize(metric)}
    return _serialize_function(metric, "metric")


def _serialize_function(function, what: str) -> dict:
    return {"module": getattr(function, "__module__", None), "class_name": "function",
            "config": _function_name(function, what)}


def _function_name(function, what: str) -> str:
    name = getattr(function, "__name__", None)
    if not callable(function) or not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"the {what} {function!r} has no name to save it by (use a named function or a class)")
    return name


# ----- atomic writes ------------------------------------------------------------------------------------


def _atomic_write_zip(path, members: dict[str, bytes], overwrite: bool) -> None:
    """Write the zip to a temporary file next to ``path``, fsync it, then rename it over ``path``."""
    path = os.fspath(path)
    absolute = os.path.abspath(path)
    directory, base = os.path.split(absolute)
    if os.path.isdir(absolute):
        raise IsADirectoryError(f"Cannot save to '{path}': it is a directory. Give a file name such as "
                                f"'{os.path.join(path, 'model.keras')}'.")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to '{path}': the directory '{directory}' does not exist.")
    if not overwrite and os.path.exists(absolute):
        raise _exists_error(path)
    _remove_stale_temporaries(directory, base)
    temporary = os.path.join(directory, f".{base}{_TEMPORARY_MARKER}{os.getpid()}-{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            _write_zip(stream, members)
            stream.flush()
            os.fsync(stream.fileno())
        if not overwrite and os.path.exists(absolute):
            raise _exists_error(path)
        os.replace(temporary, absolute)
    except BaseException:
        # Also on KeyboardInterrupt: the previous file stays as it was and no partial file is left behind.
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _write_zip(stream, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(stream, "w") as archive:
        for name, data in members.items():
            _write_member(archive, name, data)


def _write_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    # Arrays (.npz) are stored as they are: deflating float32 noise costs time and saves little.
    compression = zipfile.ZIP_STORED if name.endswith(".npz") else zipfile.ZIP_DEFLATED
    archive.writestr(name, data, compress_type=compression)


def _exists_error(path) -> FileExistsError:
    return FileExistsError(f"'{path}' already exists and overwrite=False. Pass overwrite=True to replace it, "
                           "or choose another file name.")


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); not possible, and not needed, on Windows."""
    if os.name != "posix":
        return
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _remove_stale_temporaries(directory: str, base: str) -> None:
    """Delete temporary files that a killed save to the same name left behind (their process is gone)."""
    if os.name != "posix":
        return
    prefix = f".{base}{_TEMPORARY_MARKER}"
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix):
            continue
        pid_text = name[len(prefix):].split("-", 1)[0]
        if pid_text.isdigit() and not _process_alive(int(pid_text)):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be saving right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


# ================================================================================================
# reading
# ================================================================================================


class _Archive:
    """The members of a saved file, read and checked in full (so damage is found before anything is built)."""

    def __init__(self, path: str, metadata: dict, members: dict):
        self.path = path
        self.metadata = metadata
        self.format = metadata.get("format")
        self._members = members

    def has(self, name: str) -> bool:
        return name in self._members

    def json(self, name: str):
        return self._members[name]

    def arrays(self, name: str) -> dict:
        return self._members[name]


def _read_archive(path: str, expect: str) -> _Archive:
    where = f"'{path}'"
    what = "a model saved by nbtrain (model.save)" if expect == MODEL_FORMAT else \
        "weights saved by nbtrain (model.save_weights) or a .keras file saved by nbtrain"
    if not os.path.exists(path):
        hint = _missing_file_hint(path)
        raise FileNotFoundError(f"No file {where} to load.{hint}")
    if os.path.isdir(path):
        raise SavedFileError(
            f"{where} is a directory, but nbtrain expected a file with {what}. (A directory is Keras's legacy "
            f"SavedModel format, which nbtrain cannot read.)"
        )
    with open(path, "rb") as stream:
        head = stream.read(8)
    if head.startswith(_HDF5_SIGNATURE):
        raise SavedFileError(
            f"{where} is an HDF5 file (written by Keras or h5py), but nbtrain expected {what}. nbtrain's "
            f".keras and .weights.h5 files are its own zip format and it cannot read HDF5. To bring weights "
            f"over from Keras, save them there with np.savez('weights.npz', *keras_model.get_weights()) and "
            f"load them here with model.set_weights(list(np.load('weights.npz').values()))."
        )
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        size = os.path.getsize(path)
        reason = "it is empty" if size == 0 else \
            f"it is not a complete zip archive ({size} bytes; it may be truncated, corrupt, or another kind of file)"
        raise SavedFileError(f"Cannot load {where}: {reason}. nbtrain expected {what}.") from None
    with archive:
        names = set(archive.namelist())
        if METADATA not in names:
            raise SavedFileError(_foreign_zip_message(where, names, what))
        try:
            metadata = json.loads(archive.read(METADATA).decode("utf-8"))
            if not isinstance(metadata, dict):
                raise ValueError("metadata.json is not a JSON object")
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, UnicodeDecodeError, OSError) as error:
            raise _corrupt(where, error) from error
        _check_metadata(metadata, where, what, names)
        members = {}
        try:
            for name in sorted(names):
                if name.endswith(".json") and name != METADATA:
                    members[name] = json.loads(archive.read(name).decode("utf-8"))
                elif name.endswith(".npz"):
                    with np.load(io.BytesIO(archive.read(name)), allow_pickle=False) as npz:
                        members[name] = {key: npz[key] for key in npz.files}
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, UnicodeDecodeError, OSError, KeyError) as error:
            raise _corrupt(where, error) from error
    required = [WEIGHTS_MANIFEST, WEIGHTS_ARRAYS] + ([CONFIG] if metadata["format"] == MODEL_FORMAT else [])
    missing = [name for name in required if name not in members]
    if missing:
        raise SavedFileError(f"Cannot load {where}: the file is incomplete, it has no {', '.join(missing)}.")
    return _Archive(path, metadata, members)


def _missing_file_hint(path: str) -> str:
    directory = os.path.dirname(os.path.abspath(path)) or "."
    try:
        candidates = [n for n in os.listdir(directory) if n.endswith((".keras", ".h5"))]
    except OSError:
        return ""
    return did_you_mean(os.path.basename(path), candidates)


def _foreign_zip_message(where: str, names: set, what: str) -> str:
    shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "") if names else "nothing"
    if "model.weights.h5" in names:
        return (f"{where} looks like a .keras file saved by Keras (its weights are in HDF5, model.weights.h5), "
                f"which nbtrain cannot read; nbtrain expected {what}.")
    return f"{where} is a zip archive but not an nbtrain file (it contains {shown}, no {METADATA}); " \
           f"nbtrain expected {what}."


def _check_metadata(metadata: dict, where: str, what: str, names: set) -> None:
    kind = metadata.get("format")
    if kind not in (MODEL_FORMAT, WEIGHTS_FORMAT):
        if "keras_version" in metadata:
            raise SavedFileError(f"{where} was saved by Keras {metadata['keras_version']}, not by nbtrain; nbtrain "
                                 f"cannot read Keras's HDF5 weights. nbtrain expected {what}.")
        raise SavedFileError(f"{where} is not an nbtrain file (its {METADATA} names no nbtrain format); "
                             f"nbtrain expected {what}.")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise SavedFileError(
            f"{where} was saved in nbtrain file format version {version} by nbtrain "
            f"{metadata.get('nbtrain_version', '?')}; this nbtrain reads versions up to {FORMAT_VERSION}. "
            "Upgrade nbtrain to load it."
        )


def _corrupt(where: str, error: Exception) -> SavedFileError:
    return SavedFileError(f"Cannot load {where}: the file is corrupt or truncated ({type(error).__name__}: {error}). "
                          "Save the model again, or use an earlier copy.")


# ----- rebuilding the model ---------------------------------------------------------------------------


def _model_class(class_name: str, custom_objects: dict, where: str):
    import nbtrain.models as models_module
    from nbtrain.models.model import Model

    if class_name in custom_objects:
        return custom_objects[class_name]
    known = {name: value for name, value in vars(models_module).items()
             if inspect.isclass(value) and issubclass(value, Model)}
    if class_name in known:
        return known[class_name]
    candidates = layer_serialization.defined_subclasses(Model).get(class_name)
    if candidates:
        return layer_serialization.pick_defined_class(class_name, candidates, what="model")
    raise SavedFileError(
        f"Unknown model class '{class_name}' in {where}: pass custom_objects={{'{class_name}': {class_name}}}."
    )


def _model_from_config(saved: dict, custom_objects: dict, where: str):
    from nbtrain.models.sequential import Sequential

    if not isinstance(saved, dict) or not isinstance(saved.get("class_name"), str):
        raise SavedFileError(f"Cannot load {where}: {CONFIG} does not describe a model.")
    cls = _model_class(saved["class_name"], custom_objects, where)
    config = saved.get("config") or {}
    try:
        if _defines_from_config(cls):
            model = _call_from_config(cls, config, custom_objects)
        elif issubclass(cls, Sequential):
            model = _sequential_from_config(cls, config, custom_objects, where)
        else:
            raise SavedFileError(f"Cannot load {where}: the model class {cls.__name__} has no from_config().")
    except layer_serialization.UnknownLayerError as error:
        message = str(error)
        if where not in message:
            message = message.replace("':", f"' in {where}:", 1)
        raise layer_serialization.UnknownLayerError(message) from None
    build = (saved.get("build_config") or {}).get("input_shape")
    if build is not None and not getattr(model, "built", False):
        model.build(_shape_from_json(build))
    return model


def _defines_from_config(cls) -> bool:
    from nbtrain.models.model import Model

    for klass in cls.__mro__:
        if "from_config" in vars(klass):
            return True
        if klass is Model:
            return False
    return False


def _call_from_config(cls, config, custom_objects):
    try:
        takes_custom = "custom_objects" in inspect.signature(cls.from_config).parameters
    except (TypeError, ValueError):
        takes_custom = False
    return cls.from_config(config, custom_objects=custom_objects) if takes_custom else cls.from_config(config)


def _sequential_from_config(cls, config: dict, custom_objects: dict, where: str):
    layers = [layer_serialization.deserialize(entry, custom_objects, where) for entry in config.get("layers", [])]
    options = {"name": config["name"]} if config.get("name") else {}
    return cls(layers, **options)


def _restore_weights(model, archive: _Archive, skip_mismatch: bool, where: str, restore_optimizer: bool) -> None:
    manifest = archive.json(WEIGHTS_MANIFEST)
    arrays = archive.arrays(WEIGHTS_ARRAYS)
    saved_layers = manifest.get("layers", [])
    if not getattr(model, "built", False):
        shape = manifest.get("input_shape")
        if shape is None or not hasattr(model, "build"):
            raise ValueError(f"Model '{model.name}' is not built, so weights from {where} cannot be loaded into it. "
                             "Build it first: model.build(input_shape), or give Input(shape=...).")
        model.build(_shape_from_json(shape))
    _match_and_set(model, saved_layers, arrays, skip_mismatch, where)
    layers = list(model.layers)
    if len(layers) == len(saved_layers) and all(type(layer).__name__ == saved["class_name"]
                                                for layer, saved in zip(layers, saved_layers)):
        for layer, saved in zip(layers, saved_layers):
            _set_generator_states(layer, saved.get("generators") or {}, where)
    if restore_optimizer:
        _restore_optimizer(model, archive, where, strict=False)


def _match_and_set(model, saved_layers, arrays, skip_mismatch: bool, where: str) -> None:
    """Pair the model's layers that have weights with the saved ones, in order, and copy the arrays in."""
    targets = [layer for layer in model.layers if layer.weights]
    sources = [saved for saved in saved_layers if saved.get("weights")]
    if len(targets) != len(sources):
        message = (f"The model '{model.name}' has {len(targets)} layers with weights but {where} holds weights for "
                   f"{len(sources)} layers ({_layer_list(sources)}).")
        if not skip_mismatch:
            raise ValueError(message + " Build the same architecture, or pass skip_mismatch=True to load the layers "
                                       "that match in order and skip the rest.")
        warnings.warn(message + " Loading the layers that match in order (skip_mismatch=True).", stacklevel=4)
    for layer, saved in zip(targets, sources):
        values = [arrays[entry["key"]] for entry in saved["weights"]]
        expected = [tuple(w.shape) for w in layer.weights]
        received = [tuple(v.shape) for v in values]
        if expected != received:
            message = (f"Layer '{layer.name}' ({type(layer).__name__}) has weights of shapes {expected} but {where} "
                       f"holds {received} for layer '{saved['name']}' ({saved['class_name']}).")
            if not skip_mismatch:
                raise ValueError(message + " Pass skip_mismatch=True to skip it.")
            warnings.warn(message + " Skipped (skip_mismatch=True).", stacklevel=4)
            continue
        layer.set_weights(values)


def _layer_list(saved_layers) -> str:
    names = [f"{s['name']} ({s['class_name']})" for s in saved_layers]
    return ", ".join(names) if names else "none"


# ----- compile and optimizer --------------------------------------------------------------------------


def _compile_from_config(model, config: dict, custom_objects: dict, where: str) -> None:
    from nbtrain import optimizers

    try:
        optimizer = optimizers.deserialize(config["optimizer"], custom_objects)
        loss = _deserialize_nested(config.get("loss"), _deserialize_loss, custom_objects, where)
        metrics = _deserialize_nested(config.get("metrics"), _deserialize_metric, custom_objects, where)
        weighted = _deserialize_nested(config.get("weighted_metrics"), _deserialize_metric, custom_objects, where)
    except SavedFileError:
        raise
    except KeyError as error:
        raise SavedFileError(f"Cannot load {where}: its compile configuration lacks {error}.") from error
    except (TypeError, ValueError) as error:
        if type(error) not in (TypeError, ValueError):
            raise
        raise type(error)(
            f"Cannot restore the compile() arguments saved in {where}: {error} If the model was compiled with your "
            "own loss, metric or optimizer, pass it as custom_objects={'Name': object}; or load with "
            "compile=False and call compile() yourself."
        ) from error
    extra = {key: config[key] for key in ("run_eagerly", "steps_per_execution", "jit_compile") if key in config}
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, loss_weights=config.get("loss_weights"),
                  weighted_metrics=weighted, **extra)


def _deserialize_nested(value, deserialize_one, custom_objects, where):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_deserialize_nested(v, deserialize_one, custom_objects, where) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_nested(v, deserialize_one, custom_objects, where) for k, v in value.items()}
    return deserialize_one(value, custom_objects, where)


def _deserialize_loss(config: dict, custom_objects: dict, where: str):
    from nbtrain import losses

    if config.get("class_name") == "function":
        return _function(config, custom_objects, where, "loss")
    return losses.deserialize(config, custom_objects)


def _deserialize_metric(config: dict, custom_objects: dict, where: str):
    from nbtrain import losses, metrics

    class_name = config.get("class_name")
    if class_name == "function":
        return _function(config, custom_objects, where, "metric")
    if config.get("module") == "nbtrain.losses":
        return losses.deserialize(config, custom_objects)
    options = dict(config.get("config") or {})
    if class_name == "MeanMetricWrapper" and isinstance(options.get("fn"), str):
        fn_name = options["fn"]
        if fn_name in custom_objects:
            options["fn"] = custom_objects[fn_name]
        elif not hasattr(metrics, fn_name) and not hasattr(losses, fn_name):
            raise _missing_function(fn_name, where, "metric")
    return metrics.deserialize({"class_name": class_name, "config": options}, custom_objects)


def _function(config: dict, custom_objects: dict, where: str, what: str):
    import importlib

    name = config.get("config")
    if name in custom_objects:
        return custom_objects[name]
    module_name = config.get("module") or ""
    if module_name.startswith("nbtrain."):
        function = getattr(importlib.import_module(module_name), name, None)
        if callable(function):
            return function
    raise _missing_function(name, where, what)


def _missing_function(name, where, what) -> ValueError:
    return ValueError(f"The {what} function '{name}' used by the model in {where} is not defined here: "
                      f"pass custom_objects={{'{name}': {name}}}.")


def _restore_optimizer(model, archive: _Archive, where: str, strict: bool) -> None:
    """Put the saved optimizer state into ``model.optimizer`` (warn and skip when it does not fit)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not archive.has(OPTIMIZER_STATE) or not archive.has(OPTIMIZER_ARRAYS):
        return
    state = dict(archive.json(OPTIMIZER_STATE))
    arrays = archive.arrays(OPTIMIZER_ARRAYS)
    problem = _optimizer_problem(model, optimizer, state)
    if problem:
        warnings.warn(f"The optimizer state in {where} was not restored: {problem} Training continues with a "
                      "fresh optimizer state.", stacklevel=4)
        return
    try:
        state["slots"] = [{name: arrays[f"{i}/{name}"] for name in names}
                          for i, names in enumerate(state.pop("slot_names", []))]
        optimizer.set_state(state)
    except (KeyError, ValueError, TypeError) as error:
        if strict:
            raise SavedFileError(f"Cannot restore the optimizer state saved in {where}: {error}") from error
        warnings.warn(f"The optimizer state in {where} was not restored: {error}", stacklevel=4)


def _optimizer_problem(model, optimizer, state: dict) -> str | None:
    if state.get("class_name") != type(optimizer).__name__:
        return (f"it belongs to a {state.get('class_name')} optimizer but the model is compiled with "
                f"{type(optimizer).__name__}.")
    shapes = state.get("variable_shapes")
    if shapes is None:
        return None
    trainable = [tuple(w.shape) for layer in model.layers for w in layer.params.values()]
    if [tuple(s) for s in shapes] != trainable:
        return ("it was saved for trainable weights of other shapes (was a layer frozen or unfrozen, or the "
                "architecture changed?).")
    return None


__all__ = ["SavedFileError", "load_model", "load_weights", "save_model", "save_weights"]
