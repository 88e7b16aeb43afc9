"""Download layer for the data sets: cache directory, checksums, atomic writes, progress and offline help.

A file is looked up in the cache first (``~/.nbtrain/datasets``, or ``$NBTRAIN_HOME/datasets``). When it is
there and its checksum matches, nothing touches the network. Otherwise it is streamed into a temporary file
in the same directory, its checksum is verified, and only then is it moved into place with ``os.replace``,
so an interrupted download never leaves a partial file under the real name.

The sources and checksums are the ones Keras uses, so a file downloaded by Keras (``~/.keras/datasets``) can
be copied into the nbtrain cache as it is.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CIFAR_ORIGIN = "https://www.cs.toronto.edu/~kriz/"

# Where each remote file lives. NBTRAIN_DATASETS_URL (or a loader's base_url=) replaces the folder part, so a
# mirror only needs the files under their usual names.
DEFAULT_ORIGINS = {
    "mnist.npz": KERAS_ORIGIN,
    "train-labels-idx1-ubyte.gz": KERAS_ORIGIN,
    "train-images-idx3-ubyte.gz": KERAS_ORIGIN,
    "t10k-labels-idx1-ubyte.gz": KERAS_ORIGIN,
    "t10k-images-idx3-ubyte.gz": KERAS_ORIGIN,
    "cifar-10-python.tar.gz": CIFAR_ORIGIN,
    "cifar-100-python.tar.gz": CIFAR_ORIGIN,
    "imdb.npz": KERAS_ORIGIN,
    "imdb_word_index.json": KERAS_ORIGIN,
    "reuters.npz": KERAS_ORIGIN,
    "reuters_word_index.json": KERAS_ORIGIN,
    "boston_housing.npz": KERAS_ORIGIN,
}

# Expected checksum of each file: 64 hex digits are sha256, 32 are md5 (the two word indexes, as in Keras).
CHECKSUMS = {
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    "cifar-100-python.tar.gz": "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    "imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
    "imdb_word_index.json": "bfafd718b763782e994055a2d397834f",
    "reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
    "reuters_word_index.json": "4d44cc38712099c9e383dc6e5f11a921",
    "boston_housing.npz": "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
}

DEFAULT_TIMEOUT = 30.0
CHUNK_SIZE = 64 * 1024


class DownloadError(OSError):
    """A data set file could not be downloaded; the message says where to put it by hand."""


class ChecksumError(ValueError):
    """A downloaded file does not have the expected checksum."""


def cache_dir() -> Path:
    """The folder where downloaded data sets are kept.

    ``$NBTRAIN_HOME/datasets`` when the ``NBTRAIN_HOME`` environment variable is set, else
    ``~/.nbtrain/datasets``. It is created on first download, not by this function.

    Example:
        >>> cache_dir().name
        'datasets'
    """
    home = os.environ.get("NBTRAIN_HOME")
    root = Path(home).expanduser() if home else Path.home() / ".nbtrain"
    return root / "datasets"


_default_cache_dir = cache_dir  # get_file's cache_dir= argument shadows the function's name


def file_checksum(path, algorithm="sha256", chunk_size=1 << 20) -> str:
    """Hex digest of a file, read in chunks so large archives need little memory.

    Args:
        path: the file.
        algorithm: ``"sha256"`` or ``"md5"``.

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder, "empty.bin")
        ...     _ = path.write_bytes(b"")
        ...     file_checksum(path, "md5")
        'd41d8cd98f00b204e9800998ecf8427e'
    """
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_algorithm_for(file_hash: str, hash_algorithm="auto") -> str:
    """``"sha256"`` or ``"md5"``: given explicitly, or guessed from the digest length as Keras does."""
    if hash_algorithm in ("sha256", "md5"):
        return hash_algorithm
    if hash_algorithm != "auto":
        raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5', got {hash_algorithm!r}.")
    return "md5" if len(file_hash) == 32 else "sha256"


def fetch(remote_name, *, path=None, cache_subdir=None, base_url=None, cache_dir=None, progress=None,
          out=None, timeout=DEFAULT_TIMEOUT) -> Path:
    """Return the local path of one of the known data set files, downloading it if needed.

    The URL is ``base_url`` (or ``$NBTRAIN_DATASETS_URL``, or Keras's source) followed by ``remote_name``;
    the checksum comes from :data:`CHECKSUMS`.

    Args:
        remote_name: the file's name on the server, such as ``"mnist.npz"``.
        path: local file name inside the cache (default ``remote_name``); an absolute path is used as is.
        cache_subdir: optional folder inside the cache, such as ``"fashion-mnist"``.
        base_url, cache_dir, progress, out, timeout: see :func:`get_file`.

    Example:
        >>> fetch("mnist.npz")  # doctest: +SKIP
        PosixPath('/home/me/.nbtrain/datasets/mnist.npz')
    """
    source = DEFAULT_ORIGINS[remote_name].rstrip("/") + "/" + remote_name
    base = base_url or os.environ.get("NBTRAIN_DATASETS_URL")
    origin = base.rstrip("/") + "/" + remote_name if base else source
    try:
        return get_file(path or remote_name, origin, CHECKSUMS.get(remote_name), cache_subdir=cache_subdir,
                        cache_dir=cache_dir, progress=progress, out=out, timeout=timeout)
    except DownloadError as error:
        if origin == source:
            raise
        raise DownloadError(f"{error}\nThe file's original source is {source}") from error.__cause__


def get_file(fname, origin, file_hash=None, *, cache_subdir=None, cache_dir=None, hash_algorithm="auto",
             progress=None, out=None, timeout=DEFAULT_TIMEOUT, force_download=False) -> Path:
    """Download ``origin`` into the cache as ``fname`` unless a good copy is already there.

    Args:
        fname: local file name, relative to the cache folder (an absolute path is used as is).
        origin: the URL to download from.
        file_hash: expected sha256 (64 hex digits) or md5 (32) digest; ``None`` skips the check.
        cache_subdir: optional folder inside the cache folder.
        cache_dir: cache folder to use instead of :func:`cache_dir` (``~/.nbtrain/datasets``).
        hash_algorithm: ``"auto"`` (by digest length), ``"sha256"`` or ``"md5"``.
        progress: ``None`` or ``True`` for a text progress line on ``out``; ``False`` for silence; or a
            callable ``progress(downloaded_bytes, total_bytes_or_None)``. An object with ``start(name, url,
            total)`` and ``finish(downloaded, total)`` methods gets those calls too (see :class:`TextProgress`).
        out: stream for the text progress and notes (default ``sys.stdout``).
        timeout: seconds to wait for the server before giving up.
        force_download: download even when a good copy is cached.

    Returns:
        The local :class:`pathlib.Path`.

    Raises:
        DownloadError: the server could not be reached or answered with an error. The message names the
            full local path to put the file at by hand and the URL to get it from.
        ChecksumError: the downloaded file does not match ``file_hash``; nothing is written to the cache.

    Example:
        >>> get_file("mnist.npz", "https://example.org/mnist.npz", "731c...")  # doctest: +SKIP
    """
    folder = Path(cache_dir).expanduser() if cache_dir is not None else _default_cache_dir()
    if cache_subdir:
        folder = folder / cache_subdir
    target = folder / Path(fname).expanduser()
    file_hash = file_hash.lower() if file_hash else None
    algorithm = hash_algorithm_for(file_hash, hash_algorithm) if file_hash else None
    reporter = _make_reporter(progress, out)
    _check_cache_entry(target)

    if target.exists() and not force_download:
        if file_hash is None:
            return target
        got = file_checksum(target, algorithm)
        if got == file_hash:
            return target
        _note(progress, out, f"The cached file {target} does not match its expected {algorithm} checksum "
                             f"(expected {file_hash}, got {got}); downloading it again from {origin}\n")

    target.parent.mkdir(parents=True, exist_ok=True)
    _download_verified(origin, target, file_hash, algorithm, reporter, timeout)
    return target


def _check_cache_entry(target: Path) -> None:
    """The cache's entry for a file is a file, or nothing yet; a folder in its way gets a clear message."""
    blocked = next((folder for folder in reversed(target.parents) if folder.exists() and not folder.is_dir()), None)
    if blocked is not None:
        raise NotADirectoryError(
            f"The data set cache needs the folder {blocked} (for {target}), but a file has that name. Move or "
            "delete the file, or point the cache elsewhere with NBTRAIN_HOME (or the cache_dir= argument).")
    if target.is_dir():
        raise IsADirectoryError(
            f"The data set cache keeps the file {target.name} at {target}, but a folder is there. Move or delete "
            "the folder (nbtrain then downloads the file again), or point the cache elsewhere with NBTRAIN_HOME "
            "(or the cache_dir= argument).")


def _download_verified(origin, target, file_hash, algorithm, reporter, timeout):
    """Stream ``origin`` into a temp file next to ``target``, check it, then move it into place atomically."""
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as temp:
            got = _stream(origin, temp, algorithm or "sha256", reporter, timeout, target, file_hash)
        if file_hash is not None and got != file_hash:
            raise ChecksumError(
                f"The file downloaded from {origin} does not have the expected {algorithm} checksum: expected "
                f"{file_hash}, got {got}. The download was discarded (nothing was written to {target}). The "
                "server may have sent a different file or the transfer was corrupted; try again, or check that "
                "NBTRAIN_DATASETS_URL / base_url points at the right files.")
        os.chmod(temp_name, 0o644)  # mkstemp makes it private; a cache may be shared by a class
        os.replace(temp_name, target)
    except BaseException:
        # a failed or interrupted download must not leave its partial file behind
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise


def _stream(origin, temp, algorithm, reporter, timeout, target, file_hash):
    """Copy the response body into ``temp`` in chunks, hashing and reporting as it goes; return the digest."""
    import http.client
    import urllib.error
    import urllib.request

    digest = hashlib.new(algorithm)
    try:
        with urllib.request.urlopen(origin, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            reporter.start(target.name, origin, total)
            downloaded = 0
            reporter.update(downloaded, total)
            while True:
                block = response.read(CHUNK_SIZE)
                if not block:
                    break
                temp.write(block)
                digest.update(block)
                downloaded += len(block)
                reporter.update(downloaded, total)
            if total is not None and downloaded != total:
                raise http.client.IncompleteRead(b"", total - downloaded)
            reporter.finish(downloaded, total)
    except urllib.error.HTTPError as error:
        raise DownloadError(_manual_help(f"the server answered HTTP {error.code} {error.reason}",
                                         origin, target, file_hash)) from error
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None) or error
        if isinstance(error, http.client.IncompleteRead):
            reason = f"the connection closed early ({error.expected} bytes missing)"
        raise DownloadError(_manual_help(reason, origin, target, file_hash)) from error
    return digest.hexdigest()


def _manual_help(reason, origin, target, file_hash):
    checksum = f" (expected {hash_algorithm_for(file_hash)} {file_hash})" if file_hash else ""
    return (f"Could not download {target.name} from {origin}: {reason}.\n"
            f"If this machine is offline, download the file on one that is online from\n"
            f"    {origin}\n"
            f"and copy it, unchanged and not unpacked, to\n"
            f"    {target}\n"
            f"nbtrain checks its checksum{checksum} and then uses it without downloading. "
            "Alternatively set NBTRAIN_DATASETS_URL to a mirror holding the file, or NBTRAIN_HOME to a folder "
            "whose datasets/ subfolder has it.")


def _note(progress, out, text):
    if progress is not False:
        (out or sys.stdout).write(text)


class _Silent:
    def start(self, name, url, total):
        pass

    def update(self, downloaded, total):
        pass

    def finish(self, downloaded, total):
        pass


class _CallbackReporter:
    """Adapts a user callable (and optional start/finish methods) to the reporter interface."""

    def __init__(self, callback):
        self.callback = callback

    def start(self, name, url, total):
        if hasattr(self.callback, "start"):
            self.callback.start(name, url, total)

    def update(self, downloaded, total):
        self.callback(downloaded, total)

    def finish(self, downloaded, total):
        if hasattr(self.callback, "finish"):
            self.callback.finish(downloaded, total)
        else:
            self.callback(downloaded, total)


def _make_reporter(progress, out):
    if progress is False:
        return _Silent()
    if progress is None or progress is True:
        return _CallbackReporter(TextProgress(out=out))
    if not callable(progress):
        raise TypeError(f"progress must be None, True, False or a callable, got {type(progress).__name__}.")
    return _CallbackReporter(progress)


class TextProgress:
    """Plain-text download progress: one line rewritten with ``\\r``, at most once every ``interval`` seconds.

    Works in a terminal and in a notebook's output area alike (no widgets).

    Args:
        out: stream to write to (default ``sys.stdout``, looked up when writing).
        interval: minimum number of seconds between two updates of the line.
        clock: function returning the current time in seconds.

    Example:
        >>> import io
        >>> stream = io.StringIO()
        >>> bar = TextProgress(out=stream)
        >>> bar.start("mnist.npz", "https://example.org/mnist.npz", 2048)
        >>> bar(2048, 2048); bar.finish(2048, 2048)
    """

    def __init__(self, out=None, interval=0.5, clock=time.monotonic):
        self.out = out
        self.interval = interval
        self.clock = clock
        self.name = "file"
        self._last = None

    def __repr__(self):
        return f"TextProgress(interval={self.interval})"

    def start(self, name, url, total):
        self.name = name
        self._last = self.clock()
        self._write(f"Downloading data from {url}\n")

    def __call__(self, downloaded, total):
        now = self.clock()
        if self._last is None:
            self._last = now
        if now - self._last >= self.interval:
            self._last = now
            self._write("\r" + self.line(downloaded, total))

    def finish(self, downloaded, total):
        self._write("\r" + self.line(downloaded, total) + " done\n")

    def line(self, downloaded, total):
        """The text of the progress line, such as ``mnist.npz: 4.2 / 11.5 MB (36%)``."""
        if total:
            return (f"{self.name}: {downloaded / 1e6:.1f} / {total / 1e6:.1f} MB "
                    f"({100 * downloaded // total}%)")
        return f"{self.name}: {downloaded / 1e6:.1f} MB"

    def _write(self, text):
        stream = self.out or sys.stdout
        stream.write(text)
        if hasattr(stream, "flush"):
            stream.flush()
