"""The XOR problem as a seeded point cloud: the smallest data set a single linear layer cannot learn."""

from __future__ import annotations

import numpy as np


def make_xor(n_samples=200, noise=0.1, seed=None):
    """Points around the four corners (±1, ±1); label 1 where exactly one coordinate is positive.

    Args:
        n_samples: total number of points, spread as evenly as possible over the four corners.
        noise: standard deviation of the Gaussian noise added to each point.
        seed: int for repeatable data.

    Returns:
        ``(x, y)`` with x float32 of shape ``(n_samples, 2)`` and y int64 labels 0/1.

    Example:
        >>> x, y = make_xor(8, noise=0.0, seed=0)
        >>> bool(((x[:, 0] > 0) != (x[:, 1] > 0)).astype(int).tolist() == y.tolist())
        True
    """
    rng = np.random.default_rng(seed)
    corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=np.float64)
    which = np.arange(n_samples) % 4
    x = corners[which] + rng.normal(0, noise, (n_samples, 2))
    y = np.array([0, 1, 1, 0], dtype=np.int64)[which]
    order = rng.permutation(n_samples)
    return x[order].astype(np.float32), y[order]
