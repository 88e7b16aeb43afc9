"""The saved file itself: its members, writing it atomically, and reading it back with every check.

A saved file is a zip archive of JSON documents and ``.npz`` arrays (see :mod:`nbtrain.models.saving`). This
module knows nothing of models: it turns ``{member name: bytes}`` into a file that is either complete or
absent, and a file back into checked members, raising :class:`SavedFileError` for anything damaged or foreign.
"""

from __future__ import annotations

import datetime
import errno
import io
import json
import math
import os
import re
import zipfile
import zlib

import numpy as np

from nbtrain.utils.errors import did_you_mean
from nbtrain.utils.temporary_files import remove_stale_temporaries, temporary_name
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
    """The ``.npz`` of ``arrays`` (what ``np.savez`` makes), written by the same interrupt-safe zip writer."""
    buffer = io.BytesIO()
    _write_zip(buffer, ((f"{key}.npy", _npy_bytes(array)) for key, array in arrays.items()), _store_member)
    return buffer.getvalue()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
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
    """Write the zip to a temporary file next to ``path``, fsync it, then rename it over ``path``.

    Whatever stops the write (an error, a full disk, Ctrl-C, a killed process) leaves the previous file as it
    was; the exception that stopped it is the one raised (a full disk names the file and says so).
    """
    path = os.fspath(path)
    absolute = os.path.abspath(path)
    directory, base = os.path.split(absolute)
    _check_target(path, absolute, directory, overwrite)
    remove_stale_temporaries(directory, re.escape(base))
    existed = os.path.exists(absolute)
    temporary = os.path.join(directory, temporary_name(base))
    try:
        _write_file(temporary, members)
        if not overwrite and os.path.exists(absolute):
            raise _exists_error(path)
        os.replace(temporary, absolute)
    except FileExistsError:
        _discard(temporary)
        raise
    except OSError as error:
        _discard(temporary)
        raise _write_error(path, error, existed) from error
    except BaseException:
        # Also on KeyboardInterrupt: the previous file stays as it was and no partial file is left behind.
        _discard(temporary)
        raise
    _fsync_directory(directory)


def _write_file(temporary: str, members: dict[str, bytes]) -> None:
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    with os.fdopen(descriptor, "wb") as stream:
        _write_zip(stream, members.items())
        stream.flush()
        os.fsync(stream.fileno())


def _discard(temporary: str) -> None:
    try:
        os.unlink(temporary)
    except OSError:
        pass


def _check_target(path: str, absolute: str, directory: str, overwrite: bool) -> None:
    if os.path.isdir(absolute):
        raise IsADirectoryError(f"Cannot save to '{path}': it is a directory. Give a file name such as "
                                f"'{os.path.join(path, 'model.keras')}'.")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to '{path}': the directory '{directory}' does not exist.")
    if not overwrite and os.path.exists(absolute):
        raise _exists_error(path)


def _write_zip(stream, members, write_member=None) -> None:
    """Write ``(name, bytes)`` pairs as a zip to ``stream``; an exception leaves the stream unfinished.

    ``write_member(archive, name, data)`` writes one member (default: :func:`_write_member`).
    """
    write_member = write_member or _write_member
    archive = zipfile.ZipFile(stream, "w")
    try:
        for name, data in members:
            write_member(archive, name, data)
    except BaseException:
        _drop(archive)
        raise
    archive.close()


def _drop(archive: zipfile.ZipFile) -> None:
    """Abandon an archive whose writing failed, so that the exception that stopped it is the one raised.

    Closing it (as ``with ZipFile(...)`` would) after a KeyboardInterrupt that came while zipfile had a member
    open raises "Can't close the ZIP file while there is an open writing handle" instead, and after a full
    disk tries to write again. The temporary file is deleted anyway, so the archive forgets its stream: its
    ``close()``, also the one the garbage collector calls, then does nothing (it never owned the stream).
    """
    archive.fp = None


def _write_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    # Arrays (.npz) are stored as they are: deflating float32 noise costs time and saves little.
    compression = zipfile.ZIP_STORED if name.endswith(".npz") else zipfile.ZIP_DEFLATED
    archive.writestr(name, data, compress_type=compression)


def _store_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    archive.writestr(name, data, compress_type=zipfile.ZIP_STORED)


def _exists_error(path) -> FileExistsError:
    return FileExistsError(f"'{path}' already exists and overwrite=False. Pass overwrite=True to replace it, "
                           "or choose another file name.")


def _write_error(path: str, error: OSError, existed: bool) -> OSError:
    """The OSError that stopped a save, saying which file it was and that the previous one is untouched."""
    reason = error.strerror or str(error) or type(error).__name__
    kept = (f"The previous version of '{path}' was kept unchanged." if existed
            else f"No file was written at '{path}'.")
    fix = (" Free some disk space (or save to another disk) and save again."
           if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)) else "")
    return OSError(error.errno, f"Could not save '{path}': {reason}. {kept}{fix}")


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


# ================================================================================================
# reading, with every check
# ================================================================================================


# Reading a file inflates at most this much beyond the file's own size: every member's declared size is
# checked against what is left before it is read, so a small crafted file cannot make the loader inflate
# gigabytes (arrays are stored uncompressed, and nbtrain's JSON members are far smaller than this).
INFLATION_ALLOWANCE = 64 << 20

# nbtrain's configs nest about ten levels (a model in a model in a wrapper layer adds a few each); a crafted
# file nested thousands deep would otherwise exhaust the recursion of the code that rebuilds the model.
MAX_JSON_DEPTH = 100

# The members nbtrain reads (besides metadata.json); any other member of the zip is ignored, never extracted.
_JSON_MEMBERS = (CONFIG, WEIGHTS_MANIFEST, OPTIMIZER_STATE)
_ARRAY_MEMBERS = (WEIGHTS_ARRAYS, OPTIMIZER_ARRAYS)

_END_OF_DIRECTORY = b"PK\x05\x06"
_END_OF_DIRECTORY_SIZE = 22


class InvalidModelFileError(SavedFileError):
    """A file that opens as a zip but whose contents are not what nbtrain writes (damaged or crafted).

    The message says what was wrong. Whatever a file holds, loading it never runs code from it.
    """


def json_kind(value) -> str:
    """What a JSON value is, in words, for error messages: ``"a list"``, ``"a number"``, ``"a JSON object"``."""
    kinds = ((bool, "true or false"), (dict, "a JSON object"), (list, "a list"), (str, "a string"),
             ((int, float), "a number"))
    if value is None:
        return "null"
    return next((kind for types, kind in kinds if isinstance(value, types)), type(value).__name__)


def invalid_file(where: str, problem: str) -> InvalidModelFileError:
    """The error for a file whose contents break nbtrain's format; ``problem`` says how."""
    return InvalidModelFileError(
        f"Cannot load {where}: it is not a valid nbtrain model file: {problem}. It was damaged, or it was not "
        "written by nbtrain's model.save() or save_weights(); save the model again, or use an earlier copy.")


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
    budget = _InflationBudget(os.path.getsize(path), where)
    with _open_zip(path, where, what) as archive:
        file_metadata = _read_metadata(archive, budget, where, what)
        members = _read_members(archive, budget, where)
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
    """The zip archive at ``path``, checked to be whole: its directory ends the file and starts at byte 0.

    A truncated file often still opens: the ``.npz`` members are zips themselves, stored as they are, so the
    last directory that the zip module finds near the cut may be one of theirs. Such a directory does not end
    the file, or describes members that start after byte 0 (the member's own offset in the file).
    """
    size = os.path.getsize(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        archive = None
    if archive is not None and _directory_ends_the_file(path, size) and _members_start_at_byte_0(archive):
        return archive
    if archive is not None:
        archive.close()
    reason = "it is empty" if size == 0 else \
        f"it is not a complete zip archive ({size} bytes; it may be truncated, corrupt, or another kind of file)"
    raise SavedFileError(f"Cannot load {where}: {reason}. nbtrain expected {what}.")


def _directory_ends_the_file(path: str, size: int) -> bool:
    """True when the file ends with a zip end-of-directory record (and its comment, if any)."""
    tail_size = min(size, _END_OF_DIRECTORY_SIZE + 0xFFFF)
    with open(path, "rb") as stream:
        stream.seek(size - tail_size)
        tail = stream.read(tail_size)
    start = tail.rfind(_END_OF_DIRECTORY)
    while start >= 0:
        comment_size = int.from_bytes(tail[start + 20:start + 22], "little")
        if start + _END_OF_DIRECTORY_SIZE + comment_size == len(tail):
            return True
        start = tail.rfind(_END_OF_DIRECTORY, 0, start)
    return False


def _members_start_at_byte_0(archive: zipfile.ZipFile) -> bool:
    infos = archive.infolist()
    return not infos or min(info.header_offset for info in infos) == 0


class _InflationBudget:
    """Reads zip members within a byte budget: a file's size plus ``INFLATION_ALLOWANCE``.

    Each member's declared size is checked against what is left *before* it is inflated, and the read is
    bounded by that declared size, so neither a lying header nor a zip bomb can make it read more.
    """

    def __init__(self, size: int, where: str):
        self.left = size + INFLATION_ALLOWANCE
        self.where = where

    def read(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> bytes:
        if info.file_size > self.left:
            raise invalid_file(self.where, f"its member {label} declares {info.file_size} bytes uncompressed, more "
                                           f"than a file of this size can hold (at most {self.left} more bytes)")
        self.left -= info.file_size
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)
        if len(data) != info.file_size:
            raise _corrupt(self.where, EOFError(f"{label} holds {len(data)} bytes, not the {info.file_size} "
                                                f"its header declares"))
        return data


def _read_metadata(archive: zipfile.ZipFile, budget: _InflationBudget, where: str, what: str) -> dict:
    """``metadata.json``, checked to name an nbtrain format this version can read."""
    names = set(archive.namelist())
    if METADATA not in names:
        raise SavedFileError(_foreign_zip_message(where, names, what))
    try:
        data = budget.read(archive, archive.getinfo(METADATA), METADATA)
    except SavedFileError:
        raise
    except _READ_ERRORS as error:
        raise _corrupt(where, error) from error
    file_metadata = _decode_json(data, METADATA, where)
    if not isinstance(file_metadata, dict):
        raise invalid_file(where, f"its {METADATA} is {json_kind(file_metadata)}, not a JSON object")
    _check_metadata(file_metadata, where, what)
    return file_metadata


def _read_members(archive: zipfile.ZipFile, budget: _InflationBudget, where: str) -> dict:
    """nbtrain's JSON members decoded, and its ``.npz`` members as ``{key: array}``; other members are ignored."""
    names = set(archive.namelist())
    raw = {}
    try:
        for name in (*_JSON_MEMBERS, *_ARRAY_MEMBERS):
            if name in names:
                raw[name] = budget.read(archive, archive.getinfo(name), name)
    except SavedFileError:
        raise
    except _READ_ERRORS as error:
        raise _corrupt(where, error) from error
    return {name: _decode_json(data, name, where) if name in _JSON_MEMBERS else _read_npz(data, name, where)
            for name, data in raw.items()}


def _decode_json(data: bytes, label: str, where: str):
    try:
        value = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise invalid_file(where, f"its {label} is nested too deeply to read") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise invalid_file(where, f"its {label} is not valid JSON ({error})") from None
    if _nesting_depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise invalid_file(where, f"its {label} nests lists and objects more than {MAX_JSON_DEPTH} levels deep")
    return value


def _nesting_depth(value, limit: int) -> int:
    """How deeply lists and dicts nest in ``value`` (counting stops past ``limit``); no recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending and deepest <= limit:
        item, depth = pending.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _read_npz(data: bytes, label: str, where: str) -> dict:
    """The arrays of an ``.npz`` member, each checked against its header; never unpickles anything."""
    budget = _InflationBudget(len(data), where)
    arrays = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as npz:
            for info in npz.infolist():
                member = f"{label}/{info.filename}"
                if not info.filename.endswith(".npy"):
                    raise invalid_file(where, f"{member} is not an array (.npy)")
                arrays[info.filename[:-4]] = _read_npy(budget.read(npz, info, member), member, where)
    except SavedFileError:
        raise
    except _READ_ERRORS as error:
        raise _corrupt(where, error) from error
    return arrays


def _read_npy(data: bytes, label: str, where: str) -> np.ndarray:
    """One ``.npy`` array from its bytes: a numeric dtype, and exactly as many bytes as its shape needs."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"unknown .npy format version {version}")
        # 2.0 and 3.0 headers share their layout (3.0 only allows utf-8 in the header text)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(stream)
    except (ValueError, TypeError, SyntaxError, EOFError) as error:
        raise invalid_file(where, f"{label} has no valid array header ({error})") from None
    if dtype.hasobject:
        raise invalid_file(where, f"{label} holds Python objects (dtype {dtype}); nbtrain saves numeric arrays only "
                                  "and never unpickles")
    offset = stream.tell()
    expected = math.prod(shape) * dtype.itemsize
    if expected != len(data) - offset or dtype.itemsize == 0:
        raise invalid_file(where, f"{label} declares shape {shape} of {dtype} ({expected} bytes) but holds "
                                  f"{len(data) - offset} bytes")
    array = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=offset)
    array = array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape)
    return array.copy()


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
