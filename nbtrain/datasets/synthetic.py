"""Seeded synthetic data sets for tutorials, tests and demos (no download needed)."""

from __future__ import annotations

import numpy as np


def _generator(seed):
    return np.random.default_rng(seed)


def make_moons(n_samples=200, noise=0.1, seed=None):
    """Two interleaving half circles: a small binary problem no straight line separates.

    Args:
        n_samples: total number of points (split evenly between the classes).
        noise: standard deviation of Gaussian noise added to the points.
        seed: int for repeatable data.

    Returns:
        ``(x, y)`` with x float32 of shape ``(n_samples, 2)`` and y int64 labels 0/1.

    Example:
        >>> x, y = make_moons(100, seed=0)
        >>> x.shape, y.shape
        ((100, 2), (100,))
    """
    rng = _generator(seed)
    n_first = n_samples // 2
    n_second = n_samples - n_first
    angle_first = np.linspace(0, np.pi, n_first)
    angle_second = np.linspace(0, np.pi, n_second)
    first = np.stack([np.cos(angle_first), np.sin(angle_first)], axis=1)
    second = np.stack([1 - np.cos(angle_second), 0.5 - np.sin(angle_second)], axis=1)
    x = np.concatenate([first, second]) + rng.normal(0, noise, (n_samples, 2))
    y = np.concatenate([np.zeros(n_first, np.int64), np.ones(n_second, np.int64)])
    order = rng.permutation(n_samples)
    return x[order].astype(np.float32), y[order]


def make_circles(n_samples=200, noise=0.05, factor=0.5, seed=None):
    """A small circle inside a larger one (binary labels: 1 for the inner circle).

    Example:
        >>> x, y = make_circles(50, seed=0)
    """
    rng = _generator(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    outer = rng.uniform(0, 2 * np.pi, n_outer)
    inner = rng.uniform(0, 2 * np.pi, n_inner)
    x = np.concatenate([np.stack([np.cos(outer), np.sin(outer)], 1),
                        factor * np.stack([np.cos(inner), np.sin(inner)], 1)])
    x += rng.normal(0, noise, x.shape)
    y = np.concatenate([np.zeros(n_outer, np.int64), np.ones(n_inner, np.int64)])
    order = rng.permutation(n_samples)
    return x[order].astype(np.float32), y[order]


def make_spirals(n_samples=300, n_classes=3, noise=0.2, seed=None):
    """Interleaved spiral arms, one per class: a classic multi-class problem for small networks.

    Example:
        >>> x, y = make_spirals(90, n_classes=3, seed=0)
        >>> sorted(set(y.tolist()))
        [0, 1, 2]
    """
    rng = _generator(seed)
    per_class = np.full(n_classes, n_samples // n_classes)
    per_class[: n_samples % n_classes] += 1
    points, labels = [], []
    for label, count in enumerate(per_class):
        radius = np.linspace(0.0, 1.0, count)
        theta = np.linspace(label * 4.0, (label + 1) * 4.0, count) + rng.normal(0, noise, count)
        points.append(np.stack([radius * np.sin(theta), radius * np.cos(theta)], 1))
        labels.append(np.full(count, label, np.int64))
    x, y = np.concatenate(points), np.concatenate(labels)
    order = rng.permutation(n_samples)
    return x[order].astype(np.float32), y[order]


def make_blobs(n_samples=300, n_features=2, centers=3, cluster_std=1.0, seed=None):
    """Gaussian clusters, one per class, with centres drawn in [-10, 10].

    Example:
        >>> x, y = make_blobs(60, centers=3, seed=0)
    """
    rng = _generator(seed)
    centre_points = rng.uniform(-10, 10, (centers, n_features))
    y = rng.integers(0, centers, n_samples)
    x = centre_points[y] + rng.normal(0, cluster_std, (n_samples, n_features))
    return x.astype(np.float32), y.astype(np.int64)


def make_regression_curve(n_samples=200, noise=0.1, kind="sine", seed=None):
    """One input feature and a smooth target curve with noise: ``sine``, ``cubic`` or ``linear``.

    Returns:
        ``(x, y)`` float32 arrays of shape ``(n_samples, 1)``.

    Example:
        >>> x, y = make_regression_curve(50, kind="linear", seed=0)
    """
    curves = {
        "sine": lambda x: np.sin(2 * x),
        "cubic": lambda x: 0.5 * x ** 3 - x,
        "linear": lambda x: 2.0 * x + 1.0,
    }
    if kind not in curves:
        raise ValueError(f"kind must be one of {sorted(curves)}, got {kind!r}.")
    rng = _generator(seed)
    x = np.sort(rng.uniform(-2, 2, n_samples))
    y = curves[kind](x) + rng.normal(0, noise, n_samples)
    return x[:, None].astype(np.float32), y[:, None].astype(np.float32)


def make_mnist_like(n_samples=60000, n_classes=10, image_size=28, noise=0.5, class_difference=0.05, seed=None):
    """MNIST-shaped synthetic images: classes share most strokes and differ in a few, under pixel noise.

    Values are uint8 in 0..255 with shape ``(n_samples, image_size, image_size)``, like
    ``keras.datasets.mnist``, so tutorial preprocessing (reshape, ``/ 255``) applies unchanged. Every
    class is a common random stroke pattern with a fraction ``class_difference`` of its pixels flipped,
    so a network needs a few epochs to tell them apart: a fair stand-in for demos and speed tests.

    Args:
        n_samples: number of images.
        n_classes: number of classes (labels 0..n_classes-1).
        image_size: height and width.
        noise: weight of uniform pixel noise, in [0, 1].
        class_difference: fraction of pixels in which each class differs from the common pattern.
        seed: int for repeatable data.

    Returns:
        ``(x, y)``: uint8 images and int64 labels.

    Example:
        >>> x, y = make_mnist_like(100, seed=0)
        >>> x.shape, x.dtype
        ((100, 28, 28), dtype('uint8'))
    """
    rng = _generator(seed)
    common = rng.random((image_size, image_size)) < 0.25
    prototypes = np.array([common ^ (rng.random((image_size, image_size)) < class_difference)
                           for _ in range(n_classes)], dtype=np.float32)
    y = rng.integers(0, n_classes, n_samples)
    x = np.empty((n_samples, image_size, image_size), np.uint8)
    chunk = 5000
    for start in range(0, n_samples, chunk):
        labels = y[start:start + chunk]
        images = prototypes[labels] * (1 - noise) + rng.random((len(labels), image_size, image_size)) * noise * 2
        x[start:start + chunk] = np.clip(images * 255, 0, 255).astype(np.uint8)
    return x, y.astype(np.int64)
