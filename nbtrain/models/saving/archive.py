"""The saved file itself: its members, writing it atomically, and reading it back with every check.

A saved file is a zip archive of JSON documents and ``.npz`` arrays (see :mod:`nbtrain.models.saving`). This
module knows nothing of models: it turns ``{member name: bytes}`` into a file that is either complete or
absent, and a file back into checked members, raising :class:`SavedFileError` for anything damaged or foreign.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import secrets
import zipfile
import zlib

import numpy as np

from nbtrain.utils.errors import did_you_mean
from nbtrain._version import __version__

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

# What a damaged zip member raises while it is read and decoded.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, UnicodeDecodeError, OSError)


class SavedFileError(ValueError):
    """A file cannot be loaded: it is missing parts, truncated, corrupt, or not an nbtrain file."""


# ================================================================================================
# members: JSON and arrays
# ================================================================================================


def metadata(kind: str) -> dict:
    """The ``metadata.json`` of a new file of format ``kind`` (``MODEL_FORMAT`` or ``WEIGHTS_FORMAT``)."""
    return {
        "format": kind,
        "format_version": FORMAT_VERSION,
        "nbtrain_version": __version__,
        "numpy_version": np.__version__,
        "date_saved": _now().isoformat(timespec="seconds"),
    }


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def json_bytes(value) -> bytes:
    return json.dumps(value, indent=1, default=json_default).encode("utf-8")


def json_default(value):
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


def npz_bytes(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def contiguous(array) -> np.ndarray:
    """A C-contiguous array of the same shape: ``np.ascontiguousarray`` alone turns a 0-d array into shape (1,)."""
    array = np.asarray(array)
    return np.ascontiguousarray(array).reshape(array.shape)


def shape_to_json(shape):
    """A shape (or a list of shapes) as JSON lists of ints and nulls."""
    if isinstance(shape, (list, tuple)):
        return [shape_to_json(d) for d in shape]
    return None if shape is None else int(shape)


def shape_from_json(shape):
    """The inverse of :func:`shape_to_json`: a tuple, or a list of tuples for several inputs."""
    if isinstance(shape, list):
        if all(d is None or isinstance(d, int) for d in shape):
            return tuple(shape)
        return [shape_from_json(s) for s in shape]
    return shape


# ================================================================================================
# writing, atomically
# ================================================================================================


def atomic_write_zip(path, members: dict[str, bytes], overwrite: bool) -> None:
    """Write the zip to a temporary file next to ``path``, fsync it, then rename it over ``path``."""
    path = os.fspath(path)
    absolute = os.path.abspath(path)
    directory, base = os.path.split(absolute)
    _check_target(path, absolute, directory, overwrite)
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


def _check_target(path: str, absolute: str, directory: str, overwrite: bool) -> None:
    if os.path.isdir(absolute):
        raise IsADirectoryError(f"Cannot save to '{path}': it is a directory. Give a file name such as "
                                f"'{os.path.join(path, 'model.keras')}'.")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to '{path}': the directory '{directory}' does not exist.")
    if not overwrite and os.path.exists(absolute):
        raise _exists_error(path)


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
# reading, with every check
# ================================================================================================


class Archive:
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


def read_archive(path: str, expect: str) -> Archive:
    """Read every member of the file at ``path``, raising a clear error for anything that is not a sound file.

    Args:
        path: the file.
        expect: ``MODEL_FORMAT`` or ``WEIGHTS_FORMAT``, what the caller wants (for the error messages; a model
            file also serves as a weights file).
    """
    where = f"'{path}'"
    what = "a model saved by nbtrain (model.save)" if expect == MODEL_FORMAT else \
        "weights saved by nbtrain (model.save_weights) or a .keras file saved by nbtrain"
    _check_loadable_file(path, where, what)
    with _open_zip(path, where, what) as archive:
        file_metadata = _read_metadata(archive, where, what)
        members = _read_members(archive, where)
    required = [WEIGHTS_MANIFEST, WEIGHTS_ARRAYS] + ([CONFIG] if file_metadata["format"] == MODEL_FORMAT else [])
    missing = [name for name in required if name not in members]
    if missing:
        raise SavedFileError(f"Cannot load {where}: the file is incomplete, it has no {', '.join(missing)}.")
    return Archive(path, file_metadata, members)


def _check_loadable_file(path: str, where: str, what: str) -> None:
    """A file exists at ``path`` and is not one of the formats people confuse with ours (a directory, HDF5)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"No file {where} to load.{_missing_file_hint(path)}")
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


def _open_zip(path: str, where: str, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        size = os.path.getsize(path)
        reason = "it is empty" if size == 0 else \
            f"it is not a complete zip archive ({size} bytes; it may be truncated, corrupt, or another kind of file)"
        raise SavedFileError(f"Cannot load {where}: {reason}. nbtrain expected {what}.") from None


def _read_metadata(archive: zipfile.ZipFile, where: str, what: str) -> dict:
    """``metadata.json``, checked to name an nbtrain format this version can read."""
    names = set(archive.namelist())
    if METADATA not in names:
        raise SavedFileError(_foreign_zip_message(where, names, what))
    try:
        file_metadata = json.loads(archive.read(METADATA).decode("utf-8"))
        if not isinstance(file_metadata, dict):
            raise ValueError("metadata.json is not a JSON object")
    except _READ_ERRORS as error:
        raise _corrupt(where, error) from error
    _check_metadata(file_metadata, where, what)
    return file_metadata


def _read_members(archive: zipfile.ZipFile, where: str) -> dict:
    """Every JSON member (but the metadata) decoded, and every ``.npz`` member as ``{key: array}``."""
    members = {}
    try:
        for name in sorted(set(archive.namelist())):
            if name.endswith(".json") and name != METADATA:
                members[name] = json.loads(archive.read(name).decode("utf-8"))
            elif name.endswith(".npz"):
                # allow_pickle=False: loading a file never runs code from it
                with np.load(io.BytesIO(archive.read(name)), allow_pickle=False) as npz:
                    members[name] = {key: npz[key] for key in npz.files}
    except (*_READ_ERRORS, KeyError) as error:
        raise _corrupt(where, error) from error
    return members


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


def _check_metadata(file_metadata: dict, where: str, what: str) -> None:
    kind = file_metadata.get("format")
    if kind not in (MODEL_FORMAT, WEIGHTS_FORMAT):
        if "keras_version" in file_metadata:
            raise SavedFileError(f"{where} was saved by Keras {file_metadata['keras_version']}, not by nbtrain; "
                                 f"nbtrain cannot read Keras's HDF5 weights. nbtrain expected {what}.")
        raise SavedFileError(f"{where} is not an nbtrain file (its {METADATA} names no nbtrain format); "
                             f"nbtrain expected {what}.")
    version = file_metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise SavedFileError(
            f"{where} was saved in nbtrain file format version {version} by nbtrain "
            f"{file_metadata.get('nbtrain_version', '?')}; this nbtrain reads versions up to {FORMAT_VERSION}. "
            "Upgrade nbtrain to load it."
        )


def _corrupt(where: str, error: Exception) -> SavedFileError:
    return SavedFileError(f"Cannot load {where}: the file is corrupt or truncated ({type(error).__name__}: {error}). "
                          "Save the model again, or use an earlier copy.")
