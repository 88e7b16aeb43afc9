"""Boston housing prices: 506 neighbourhoods, 13 features each, target the median home value in k$.

The file is Keras's ``boston_housing.npz`` (same source and sha256), from the StatLib archive at Carnegie
Mellon University. Keras's warning applies: one feature ("B") encodes an assumption about race and house
prices, so use this set to discuss that ethical problem rather than as a neutral benchmark.
"""

from __future__ import annotations

from nbtrain.datasets._loading import check_test_split, fetch_npz, shuffled_split


def load_data(path="boston_housing.npz", test_split=0.2, seed=113, *, base_url=None, cache_dir=None,
              progress=None, out=None):
    """Load the Boston housing regression data, downloading it (57 kB) the first time.

    Args:
        path: file name inside the cache folder (``~/.nbtrain/datasets``).
        test_split: fraction of the shuffled rows put in the test set, in ``[0, 1)``.
        seed: seed of the shuffle before the split (Keras's order for the same seed).
        base_url, cache_dir, progress, out: download options, as in :func:`nbtrain.datasets.mnist.load_data`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float64 features of shape ``(n, 13)`` and float64 targets of
        shape ``(n,)``; with the defaults 404 training and 102 test rows.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape, x_test.shape  # doctest: +SKIP
        ((404, 13), (102, 13))
    """
    check_test_split(test_split)
    download = dict(base_url=base_url, cache_dir=cache_dir, progress=progress, out=out)
    arrays = fetch_npz("boston_housing.npz", path, download)
    return shuffled_split(arrays["x"], arrays["y"], test_split, seed)
