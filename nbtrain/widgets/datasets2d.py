"""Two-dimensional toy data and input features for the playground (NumPy only, no front end).

Every data set lives in the square ``[-6, 6] x [-6, 6]``, as in TensorFlow Playground, so that one boundary grid
and one set of feature toggles fit them all. Classification labels are 0 and 1; regression targets lie in
``[-1, 1]``. Noise is a fraction from 0 (clean) to 0.5 (hard).

The input features are what the playground's toggles choose: the network sees ``x1``, ``x2``, ``x1²``, ...
computed from the two coordinates. :func:`feature_code` writes the same computation as NumPy code, for
``Playground.code()``.

Example:
    >>> x, y = make_2d_data("xor", samples=200, noise=0.1, seed=0)
    >>> x.shape, y.shape, sorted(set(y.tolist()))
    ((200, 2), (200,), [0, 1])
    >>> input_features(x, ["x1", "x1*x2"]).shape
    (200, 2)
"""

from __future__ import annotations

import numpy as np

from nbtrain.utils.errors import did_you_mean

EXTENT = 6.0    # half the side of the input square
CLASSIFICATION_SETS = ("circles", "xor", "blobs", "spiral", "moons")
REGRESSION_SETS = ("plane", "curve")
DATASETS = CLASSIFICATION_SETS + REGRESSION_SETS

# name -> (how the network computes it from x = (x1, x2), the same as NumPy code on an array named x)
FEATURES = {
    "x1": (lambda x: x[:, 0], "x[:, 0]"),
    "x2": (lambda x: x[:, 1], "x[:, 1]"),
    "x1^2": (lambda x: x[:, 0] ** 2, "x[:, 0] ** 2"),
    "x2^2": (lambda x: x[:, 1] ** 2, "x[:, 1] ** 2"),
    "x1*x2": (lambda x: x[:, 0] * x[:, 1], "x[:, 0] * x[:, 1]"),
    "sin(x1)": (lambda x: np.sin(x[:, 0]), "np.sin(x[:, 0])"),
    "sin(x2)": (lambda x: np.sin(x[:, 1]), "np.sin(x[:, 1])"),
}
# how the toggles show each feature
FEATURE_LABELS = {"x1": "x\u2081", "x2": "x\u2082", "x1^2": "x\u2081\u00b2", "x2^2": "x\u2082\u00b2",
                  "x1*x2": "x\u2081x\u2082", "sin(x1)": "sin(x\u2081)", "sin(x2)": "sin(x\u2082)"}


def is_regression(name: str) -> bool:
    """True for the regression data sets (``plane``, ``curve``)."""
    return check_dataset(name) in REGRESSION_SETS


def check_dataset(name) -> str:
    """``name`` if it is a known data set, else a ``ValueError`` listing them (with the nearest match)."""
    if isinstance(name, str) and name.lower() in DATASETS:
        return name.lower()
    hint = did_you_mean(str(name), DATASETS)
    raise ValueError(f"Unknown 2-D data set {name!r}.{hint} Known data sets: {', '.join(DATASETS)}.")


def check_features(names) -> list[str]:
    """The feature names as a list, each checked; at least one is needed."""
    if isinstance(names, str):
        names = [names]
    names = list(names)
    for name in names:
        if name not in FEATURES:
            hint = did_you_mean(str(name), FEATURES)
            raise ValueError(f"Unknown input feature {name!r}.{hint} Known features: {', '.join(FEATURES)}.")
    if not names:
        raise ValueError("At least one input feature is needed (for example ['x1', 'x2']).")
    return names


def make_2d_data(name: str, samples: int = 500, noise: float = 0.0, seed=None):
    """A toy data set in ``[-6, 6]²``: ``x`` of shape ``(samples, 2)`` float32 and ``y`` of shape ``(samples,)``.

    Args:
        name: ``circles``, ``xor``, ``blobs``, ``spiral``, ``moons`` (labels 0 and 1), ``plane`` or ``curve``
            (targets in ``[-1, 1]``, float32).
        samples: how many points.
        noise: 0 (clean) to 0.5 (hard): how far points stray from their pattern.
        seed: an int (the same data every time), a NumPy ``Generator``, or None (nbtrain's global generator).

    Example:
        >>> x, y = make_2d_data("circles", samples=100, seed=1)
        >>> bool(abs(x).max() <= 6.0), y.dtype.name
        (True, 'int64')
    """
    name = check_dataset(name)
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise ValueError(f"make_2d_data: samples must be an integer of at least 2, got {samples!r}.")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating)) or not 0 <= noise <= 1:
        raise ValueError(f"make_2d_data: noise must be a number from 0 to 1 (0.5 is already hard), got {noise!r}.")
    from nbtrain.utils.random import make_generator

    rng = seed if isinstance(seed, np.random.Generator) else make_generator(seed)
    x, y = _GENERATORS[name](rng, int(samples), float(noise))
    x = np.clip(x, -EXTENT, EXTENT).astype(np.float32)
    return x, (y.astype(np.float32) if name in REGRESSION_SETS else y.astype(np.int64))


def _half_labels(samples: int):
    """Labels 0 then 1, half each (the odd one out is a 1)."""
    return (np.arange(samples) >= samples // 2).astype(np.int64)


def _circles(rng, samples, noise):
    # an inner disc (label 1) inside a ring (label 0), with a gap between them that noise fills
    labels = _half_labels(samples)
    radius = np.where(labels == 1, rng.uniform(0.0, 2.5, samples), rng.uniform(3.5, 5.0, samples))
    angle = rng.uniform(0.0, 2 * np.pi, samples)
    x = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return x + rng.uniform(-5.0, 5.0, x.shape) * noise, labels


def _xor(rng, samples, noise):
    # uniform in the square, kept 0.3 away from the axes so that the quadrant of each clean point is clear
    x = rng.uniform(0.3, 5.0, (samples, 2)) * rng.choice([-1.0, 1.0], (samples, 2))
    labels = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x + rng.uniform(-5.0, 5.0, x.shape) * noise, labels


def _blobs(rng, samples, noise):
    labels = _half_labels(samples)
    centres = np.where(labels[:, None] == 1, 2.0, -2.0)
    spread = 0.5 + 3.5 * noise                  # 0.5 clean, 2.25 at noise 0.5
    return centres + rng.normal(0.0, spread, (samples, 2)), labels


def _spiral(rng, samples, noise):
    labels = _half_labels(samples)
    t = np.concatenate([np.linspace(0.0, 1.0, samples // 2, endpoint=False),
                        np.linspace(0.0, 1.0, samples - samples // 2, endpoint=False)])
    radius = 5.0 * t
    angle = 1.75 * 2 * np.pi * t + np.pi * labels
    x = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    return x + rng.uniform(-1.0, 1.0, x.shape) * noise * 2.0, labels


def _moons(rng, samples, noise):
    # two interleaved half circles, scaled from the unit moons to fill the square
    labels = _half_labels(samples)
    angle = rng.uniform(0.0, np.pi, samples)
    upper = np.column_stack([np.cos(angle), np.sin(angle)])
    lower = np.column_stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)])
    x = np.where(labels[:, None] == 0, upper, lower)
    x = (x - [0.5, 0.25]) * 3.2
    return x + rng.normal(0.0, 1.0, x.shape) * noise * 2.0, labels


def _plane(rng, samples, noise):
    x = rng.uniform(-EXTENT, EXTENT, (samples, 2))
    target = (x[:, 0] + x[:, 1]) / (2 * EXTENT)
    return x, np.clip(target + rng.normal(0.0, 1.0, samples) * noise, -1.0, 1.0)


def _curve(rng, samples, noise):
    x = rng.uniform(-EXTENT, EXTENT, (samples, 2))
    target = np.sin(x[:, 0] * 0.5) * 0.7 + x[:, 1] / EXTENT * 0.3
    return x, np.clip(target + rng.normal(0.0, 1.0, samples) * noise, -1.0, 1.0)


_GENERATORS = {"circles": _circles, "xor": _xor, "blobs": _blobs, "spiral": _spiral, "moons": _moons,
               "plane": _plane, "curve": _curve}


def input_features(x, names, out=None) -> np.ndarray:
    """The chosen features of 2-D points ``x``, as a float32 array of shape ``(len(x), len(names))``.

    Args:
        x: points, shape ``(n, 2)``.
        names: feature names from :data:`FEATURES` (``x1``, ``x2``, ``x1^2``, ``x2^2``, ``x1*x2``, ``sin(x1)``,
            ``sin(x2)``).
        out: an array of the right shape to fill (the boundary grid reuses one).

    Example:
        >>> input_features(np.array([[2.0, 3.0]]), ["x1*x2", "x2^2"])
        array([[6., 9.]], dtype=float32)
    """
    names = check_features(names)
    x = np.asarray(x, dtype=np.float32)
    if out is None:
        out = np.empty((x.shape[0], len(names)), dtype=np.float32)
    for column, name in enumerate(names):
        out[:, column] = FEATURES[name][0](x)
    return out


def feature_code(names, array: str = "x") -> str:
    """NumPy code computing :func:`input_features` of ``array`` (for ``Playground.code()``).

    Example:
        >>> feature_code(["x1", "sin(x2)"])
        'np.column_stack([x[:, 0], np.sin(x[:, 1])]).astype("float32")'
    """
    names = check_features(names)
    if names == ["x1", "x2"]:
        return f'{array}.astype("float32")'
    columns = ", ".join(FEATURES[name][1].replace("x[", f"{array}[") for name in names)
    return f'np.column_stack([{columns}]).astype("float32")'


def train_test_split(x, y, test_fraction: float, seed=None):
    """Split ``x, y`` at random into ``(x_train, y_train, x_test, y_test)``, at least one sample each side.

    Example:
        >>> xtr, ytr, xte, yte = train_test_split(np.zeros((10, 2)), np.zeros(10), 0.3, seed=0)
        >>> len(xtr), len(xte)
        (7, 3)
    """
    from nbtrain.utils.random import make_generator

    n = len(x)
    rng = seed if isinstance(seed, np.random.Generator) else make_generator(seed)
    order = rng.permutation(n)
    n_test = min(n - 1, max(1, int(round(n * test_fraction))))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]
