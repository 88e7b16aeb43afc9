"""Reading the downloaded archives without trusting them: no arbitrary unpickling, no extraction to disk.

IMDB and Reuters store ragged sequences as object arrays inside ``.npz`` files, and CIFAR stores its batches
as Python pickles inside a ``.tar.gz``. Both need pickle, which can run code. Rebuilding a NumPy array needs
only three globals, so the unpickler here resolves those and refuses every other one.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zipfile

import numpy as np

try:  # NumPy >= 2 moved the module; files pickled by either version name one of the two spellings
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct

_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
}

# No member of the real files comes close; a larger declared size means a damaged or hostile archive.
MAX_MEMBER_BYTES = 1 << 30


class UnsafePickleError(pickle.UnpicklingError):
    """A data set file's pickle asked for something other than a NumPy array."""


class ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers and NumPy arrays; any other global raises :class:`UnsafePickleError`."""

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"Refusing to load {module}.{name} from a data set file: only NumPy arrays are expected. "
                "The file is damaged or not the real data set; delete it so it is downloaded again.") from None


def loads_arrays(data: bytes, encoding="bytes"):
    """Unpickle ``data`` allowing only NumPy arrays and built-in containers.

    ``encoding="bytes"`` reads Python 2 pickles (such as CIFAR's) with their strings as ``bytes``.
    """
    try:
        return ArrayOnlyUnpickler(io.BytesIO(data), encoding=encoding).load()
    except UnsafePickleError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError, KeyError) as error:
        raise ValueError(f"A pickle inside the data set file is damaged ({error}). Delete the file so it is "
                         "downloaded again.") from None


def load_npz(path) -> dict:
    """Load every array of an ``.npz`` file into a dict, unpickling object arrays safely.

    Numeric members are read with pickling disabled; object members (ragged sequences) go through
    :class:`ArrayOnlyUnpickler`.
    """
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                raise ValueError(f"{path}: member {info.filename} declares {info.file_size} bytes, more than any "
                                 "real data set member; refusing to load it. Delete the file and download it again.")
            with archive.open(info) as member:
                arrays[info.filename[:-4]] = _read_npy(io.BytesIO(member.read()))
    return arrays


def _read_npy(stream):
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
        # 2.0 and 3.0 headers share their layout (3.0 only allows utf-8 in the header text)
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    if not dtype.hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    array = ArrayOnlyUnpickler(stream).load()
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise ValueError(f"An object array in the .npz file does not match its header (expected shape {shape}).")
    return array


def read_tar_members(path, names, decode=None) -> dict:
    """Read the named regular-file members of a (gzipped) tar archive into memory, in one pass.

    Nothing is extracted to disk, so member names such as ``../../etc/x`` or links cannot write anywhere.

    Args:
        path: the archive.
        names: the member names wanted, such as ``"cifar-10-batches-py/data_batch_1"``.
        decode: optional function applied to each member's bytes as soon as it is read, so only the decoded
            form of earlier members stays in memory.

    Returns:
        A dict from each name to its bytes (or to ``decode(bytes)``).

    Raises:
        ValueError: a wanted member is missing, not a regular file, or implausibly large.
    """
    wanted = set(names)
    found = {}
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            if member.name not in wanted:
                continue
            if not member.isfile() or member.size > MAX_MEMBER_BYTES:
                raise ValueError(f"{path}: member {member.name} is not a regular file of plausible size.")
            data = archive.extractfile(member).read()
            found[member.name] = decode(data) if decode else data
    missing = sorted(wanted - set(found))
    if missing:
        raise ValueError(f"{path} does not contain {', '.join(missing)}. It is not the expected archive; delete "
                         "it so it is downloaded again.")
    return found
