"""MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28 grey pixels.

The file is Keras's ``mnist.npz`` (same source and sha256). MNIST is by Yann LeCun and Corinna Cortes, derived
from NIST data, and made available under the Creative Commons Attribution-Share Alike 3.0 license.
"""

from __future__ import annotations

from nbtrain.datasets._loading import fetch_npz, train_and_test


def load_data(path="mnist.npz", *, base_url=None, cache_dir=None, progress=None, out=None):
    """Load MNIST, downloading it (11 MB) into the cache the first time.

    Args:
        path: file name inside the cache folder (``~/.nbtrain/datasets``); an absolute path is used as is.
        base_url: folder URL to download from instead of Keras's (also settable with ``NBTRAIN_DATASETS_URL``).
        cache_dir: cache folder instead of ``~/.nbtrain/datasets`` (also settable with ``NBTRAIN_HOME``).
        progress: ``None`` for a text progress line, ``False`` for silence, or a callable
            ``progress(downloaded_bytes, total_bytes)``.
        out: stream for the progress line (default ``sys.stdout``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape ``(60000, 28, 28)`` and
        ``(10000, 28, 28)`` with values 0..255, and uint8 labels 0..9 of shape ``(60000,)`` and ``(10000,)``.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape, y_train.dtype  # doctest: +SKIP
        ((60000, 28, 28), dtype('uint8'))
    """
    download = dict(base_url=base_url, cache_dir=cache_dir, progress=progress, out=out)
    return train_and_test(fetch_npz("mnist.npz", path, download))
