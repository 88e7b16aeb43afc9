"""CIFAR-100: 60,000 32x32 colour images in 100 fine classes grouped into 20 coarse superclasses.

The file is the python version of the archive from the CIFAR home page
(https://www.cs.toronto.edu/~kriz/cifar.html), with the sha256 Keras checks. Collected by Alex Krizhevsky,
Vinod Nair and Geoffrey Hinton; cite "Learning Multiple Layers of Features from Tiny Images", Alex
Krizhevsky, 2009, when you use it.
"""

from __future__ import annotations

from nbtrain.datasets._cifar import load_cifar

ARCHIVE = "cifar-100-python.tar.gz"
TRAIN_MEMBER = "cifar-100-python/train"
TEST_MEMBER = "cifar-100-python/test"


def load_data(label_mode="fine", *, base_url=None, cache_dir=None, progress=None, out=None):
    """Load CIFAR-100, downloading the archive (161 MB) into the cache the first time.

    Args:
        label_mode: ``"fine"`` for the 100 classes, ``"coarse"`` for the 20 superclasses.
        base_url: folder URL to download from instead of the CIFAR home page (also ``NBTRAIN_DATASETS_URL``).
        cache_dir: cache folder instead of ``~/.nbtrain/datasets`` (also settable with ``NBTRAIN_HOME``).
        progress: ``None`` for a text progress line, ``False`` for silence, or a callable
            ``progress(downloaded_bytes, total_bytes)``.
        out: stream for the progress line (default ``sys.stdout``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape ``(50000, 32, 32, 3)`` and
        ``(10000, 32, 32, 3)`` (channels last), int64 labels of shape ``(50000, 1)`` and ``(10000, 1)``
        (int64 as in Keras, where CIFAR-10's labels are uint8).

    Example:
        >>> (x_train, y_train), _ = load_data(label_mode="coarse")  # doctest: +SKIP
        >>> int(y_train.max())  # doctest: +SKIP
        19
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'label_mode must be "fine" or "coarse", got {label_mode!r}.')
    download = dict(base_url=base_url, cache_dir=cache_dir, progress=progress, out=out)
    return load_cifar(ARCHIVE, f"{label_mode}_labels", (TRAIN_MEMBER,), (TEST_MEMBER,), download)
