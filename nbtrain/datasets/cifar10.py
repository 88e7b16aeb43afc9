"""CIFAR-10: 60,000 32x32 colour images in 10 classes (50,000 for training, 10,000 for testing).

The file is the python version of the archive from the CIFAR home page
(https://www.cs.toronto.edu/~kriz/cifar.html), with the sha256 Keras checks. CIFAR-10 was collected by Alex
Krizhevsky, Vinod Nair and Geoffrey Hinton; cite "Learning Multiple Layers of Features from Tiny Images",
Alex Krizhevsky, 2009, when you use it.

Labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship, 9 truck.
"""

from __future__ import annotations

import numpy as np

from nbtrain.datasets._cifar import load_cifar

ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_MEMBERS = tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6))
TEST_MEMBERS = ("cifar-10-batches-py/test_batch",)
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def load_data(*, base_url=None, cache_dir=None, progress=None, out=None):
    """Load CIFAR-10, downloading the archive (163 MB) into the cache the first time.

    The archive is kept as downloaded and read directly (nothing is extracted to disk).

    Args:
        base_url: folder URL to download from instead of the CIFAR home page (also ``NBTRAIN_DATASETS_URL``).
        cache_dir: cache folder instead of ``~/.nbtrain/datasets`` (also settable with ``NBTRAIN_HOME``).
        progress: ``None`` for a text progress line, ``False`` for silence, or a callable
            ``progress(downloaded_bytes, total_bytes)``.
        out: stream for the progress line (default ``sys.stdout``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape ``(50000, 32, 32, 3)`` and
        ``(10000, 32, 32, 3)`` (channels last), uint8 labels 0..9 of shape ``(50000, 1)`` and ``(10000, 1)``.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape, y_train.shape  # doctest: +SKIP
        ((50000, 32, 32, 3), (50000, 1))
    """
    download = dict(base_url=base_url, cache_dir=cache_dir, progress=progress, out=out)
    return load_cifar(ARCHIVE, "labels", TRAIN_MEMBERS, TEST_MEMBERS, download, label_dtype=np.uint8)
