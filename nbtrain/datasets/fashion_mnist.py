"""Fashion-MNIST: 70,000 28x28 grey images of 10 kinds of clothing, a drop-in replacement for MNIST.

The files are the four gzipped IDX files Keras uses (same source and sha256 checksums). Fashion-MNIST is
copyright Zalando SE and released under the MIT license.

Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
"""

from __future__ import annotations

import gzip

import numpy as np

from nbtrain.datasets._download import fetch

FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# IDX magic numbers: two zero bytes, a type byte (0x08 = unsigned byte) and the number of dimensions
_LABELS_MAGIC = 0x00000801
_IMAGES_MAGIC = 0x00000803


def load_data(*, base_url=None, cache_dir=None, progress=None, out=None):
    """Load Fashion-MNIST, downloading its four files (30 MB) into ``<cache>/fashion-mnist`` the first time.

    Args:
        base_url: folder URL to download from instead of Keras's (also settable with ``NBTRAIN_DATASETS_URL``).
        cache_dir: cache folder instead of ``~/.nbtrain/datasets`` (also settable with ``NBTRAIN_HOME``).
        progress: ``None`` for a text progress line, ``False`` for silence, or a callable
            ``progress(downloaded_bytes, total_bytes)``.
        out: stream for the progress line (default ``sys.stdout``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape ``(60000, 28, 28)`` and
        ``(10000, 28, 28)``, uint8 labels 0..9 of shape ``(60000,)`` and ``(10000,)``. Class names are in
        ``CLASS_NAMES``.

    Example:
        >>> (x_train, y_train), _ = load_data()  # doctest: +SKIP
        >>> CLASS_NAMES[y_train[0]]  # doctest: +SKIP
        'Ankle boot'
    """
    paths = [fetch(name, cache_subdir="fashion-mnist", base_url=base_url, cache_dir=cache_dir,
                   progress=progress, out=out) for name in FILES]
    y_train, x_train, y_test, x_test = (read_idx(p) for p in paths)
    return (x_train, y_train), (x_test, y_test)


def read_idx(path) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes (labels: 1 dimension, images: 3) into a uint8 array.

    Example:
        >>> read_idx("t10k-labels-idx1-ubyte.gz").shape  # doctest: +SKIP
        (10000,)
    """
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    if magic not in (_LABELS_MAGIC, _IMAGES_MAGIC):
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (magic number {magic:#010x}). "
                         "Delete it so it is downloaded again.")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(data) - header != int(np.prod(shape)):
        raise ValueError(f"{path} declares shape {shape} but holds {len(data) - header} values.")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)
