"""Random image augmentation, active only in training: RandomFlip, RandomTranslation, RandomRotation, RandomZoom,
RandomContrast and RandomBrightness.

Each layer draws new random parameters for every image of every training batch, and passes images through
unchanged at inference (``predict``, ``evaluate``, validation), as in Keras; called directly, they augment
unless given ``training=False`` (Keras's default for these layers). Images are channels_last:
``(batch, height, width, channels)``, or one ``(height, width, channels)`` image.

The geometric layers share one resampler (`resample`): every output pixel ``(x, y)`` reads the input at
``x_in = a0 * x + a1 * y + a2``, ``y_in = b0 * x + b1 * y + b2`` (Keras's affine-transform convention), with
bilinear or nearest interpolation on the input extended beyond its edges by ``fill_mode``:

- ``"reflect"``: mirrored about the edge, ``d c b a | a b c d | d c b a`` (the default);
- ``"wrap"``: repeated, ``a b c d | a b c d | a b c d``;
- ``"nearest"``: the edge pixel repeated, ``a a a a | a b c d | d d d d``;
- ``"constant"``: ``fill_value``, ``k k k k | a b c d | k k k k``.
"""

from __future__ import annotations

import numpy as np

from nbtrain.layers.convolutional import check_data_format
from nbtrain.layers.core import unchanged_gradient
from nbtrain.layers.layer import Layer
from nbtrain.utils.checks import one_of
from nbtrain.utils.naming import shape_text
from nbtrain.utils.random import make_generator

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


def factor_range(factor, what: str, layer: str, low: float = -1.0, high: float = 1.0,
                 low_open: bool = False) -> tuple[float, float]:
    """``factor`` as ``(lower, upper)``: a number ``f`` means ``(-|f|, |f|)``, a pair is sorted.

    Every value must lie in ``[low, high]`` (``(low, high]`` with ``low_open``).

    Example:
        >>> factor_range(0.2, "factor", "RandomRotation"), factor_range((0.3, -0.1), "factor", "RandomRotation")
        ((-0.2, 0.2), (-0.1, 0.3))
    """
    def in_range(value):
        number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        return number and (low < value if low_open else low <= value) and value <= high

    interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
    if isinstance(factor, (list, tuple)):
        if len(factor) == 2 and all(in_range(v) for v in factor):
            lower, upper = sorted(float(v) for v in factor)
            return lower, upper
    elif in_range(factor):
        return -abs(float(factor)), abs(float(factor))
    raise ValueError(f"{layer}() expects {what} to be a number in {interval} or a pair (lower, upper) of them, "
                     f"got {factor!r}.")


# ----- the resampler ---------------------------------------------------------------------------------------


def _source_points(matrices: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each output pixel reads the input: ``(y_in, x_in)``, each ``(n, height, width)``, float64."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    a0, a1, a2, b0, b1, b2 = (matrices[:, i, None, None] for i in range(6))
    return b0 * x + b1 * y + b2, a0 * x + a1 * y + a2


def _fold(index: np.ndarray, size: int, fill_mode: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Integer indices anywhere -> indices inside ``[0, size)`` by ``fill_mode``, and (constant) which were inside."""
    if fill_mode == "reflect":
        period = index % (2 * size)
        return np.where(period < size, period, 2 * size - 1 - period), None
    if fill_mode == "wrap":
        return index % size, None
    inside = (index >= 0) & (index < size) if fill_mode == "constant" else None
    return np.clip(index, 0, size - 1), inside


def resample(images: np.ndarray, matrices: np.ndarray, interpolation: str, fill_mode: str, fill_value: float):
    """Apply one affine map per image (``matrices``: ``(n, 6)`` rows ``a0 a1 a2 b0 b1 b2``).

    Returns the output and the taps (flat input index, weight) that `resample_backward` needs.

    Example:
        >>> image = np.arange(4, dtype="float32").reshape(1, 1, 4, 1)          # one row: 0 1 2 3
        >>> shift_right = np.array([[1.0, 0.0, -1.0, 0.0, 1.0, 0.0]])          # x_in = x - 1
        >>> resample(image, shift_right, "bilinear", "constant", 9.0)[0].ravel().tolist()
        [9.0, 0.0, 1.0, 2.0]
    """
    n, height, width, channels = images.shape
    y_in, x_in = _source_points(matrices, height, width)
    if interpolation == "nearest":
        corners = [(np.floor(y_in + 0.5), np.floor(x_in + 0.5), np.ones_like(y_in))]
    else:
        y0, x0 = np.floor(y_in), np.floor(x_in)
        dy, dx = y_in - y0, x_in - x0
        corners = [(y0, x0, (1 - dy) * (1 - dx)), (y0, x0 + 1, (1 - dy) * dx),
                   (y0 + 1, x0, dy * (1 - dx)), (y0 + 1, x0 + 1, dy * dx)]
    sample = np.arange(n)[:, None, None] * (height * width)
    flat = images.reshape(-1, channels)
    out = np.zeros((n, height, width, channels), dtype=images.dtype)
    taps = []
    for y, x, weight in corners:
        rows, rows_inside = _fold(y.astype(np.int64), height, fill_mode)
        cols, cols_inside = _fold(x.astype(np.int64), width, fill_mode)
        index = sample + rows * width + cols
        if fill_mode == "constant":
            outside = ~(rows_inside & cols_inside)
            out += (weight * outside)[..., None].astype(images.dtype) * np.asarray(fill_value, images.dtype)
            weight = np.where(outside, 0.0, weight)
        weight = weight[..., None].astype(images.dtype)
        out += weight * flat[index]
        taps.append((index, weight))
    return out, taps


def resample_backward(grad_output: np.ndarray, taps, input_shape) -> np.ndarray:
    """The gradient of `resample` with respect to its input images: each tap's weight, sent back to its pixel."""
    channels = input_shape[-1]
    grad = np.zeros((int(np.prod(input_shape[:-1])), channels), dtype=grad_output.dtype)
    for index, weight in taps:
        np.add.at(grad, index.reshape(-1), (weight * grad_output).reshape(-1, channels))
    return grad.reshape(input_shape)


# ----- the layers ------------------------------------------------------------------------------------------


class ImageAugmentation(Layer):
    """Base of the random image layers: identity at inference, ``augment`` on batches of images in training.

    Subclasses implement ``augment(images)``: ``(batch, height, width, channels)`` in, the augmented images of the
    same shape out, together with the function taking their gradient back to ``images`` (this call's backprop).
    """

    # As in Keras, calling the layer directly augments (``augment(images)`` in a tf.data-style map); in a model,
    # fit trains with it and evaluate/predict pass the images through.
    training_by_default = True

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(data_format, type(self).__name__)
        self.seed = seed
        self._rng = make_generator(seed)

    def build(self, input_shape):
        if len(input_shape) == 3 and input_shape[0] is not None:     # called directly on one image
            input_shape = (None,) + tuple(input_shape)
        if len(input_shape) != 4:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' takes images of shape (batch, height, width, channels), "
                f"got inputs of shape {shape_text(input_shape)}. For grayscale images of shape (batch, height, "
                f"width) add a channel axis first: x[..., None].")
        super().build(input_shape)

    def check_input_shape(self, x):
        # one (height, width, channels) image is allowed too, as in Keras
        super().check_input_shape(x[None] if x.ndim == 3 else x)

    def _apply(self, x, training, need_input_grad):
        if training:
            unbatched = x.ndim == 3
            out, images_backprop = self.augment(x[None] if unbatched else x)
        else:
            unbatched, out, images_backprop = False, x, unchanged_gradient

        def backprop(grad_output):
            if not need_input_grad:
                return None
            grad = images_backprop(grad_output[None] if unbatched else grad_output)
            return grad[0] if unbatched else grad

        return (out[0] if unbatched else out), backprop

    def augment(self, images):
        """The augmented images and ``backprop(grad) -> dL/dimages`` for them."""
        raise NotImplementedError

    def get_config(self):
        return super().get_config() | {"seed": self.seed, "data_format": self.data_format}


class RandomFlip(ImageAugmentation):
    """Flips each training image left-right and/or top-bottom with probability 1/2.

    Args:
        mode: ``"horizontal"`` (left-right), ``"vertical"`` (top-bottom) or ``"horizontal_and_vertical"`` (each
            drawn separately, so four outcomes; Keras 3 draws one coin for both).
        seed: an int for a repeatable sequence; None follows ``nbtrain.utils.set_random_seed``.

    Example:
        >>> layer = RandomFlip("horizontal", seed=0)
        >>> image = np.array([[[1.0], [2.0]]], dtype="float32")        # one 1x2 image, one channel
        >>> layer(image, training=False).tolist()                        # inference: unchanged
        [[[1.0], [2.0]]]
    """

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.mode = one_of(mode, ("horizontal", "vertical", "horizontal_and_vertical"), "mode", "RandomFlip")

    def augment(self, images):
        out, flips = images, []
        axes = {"horizontal": [2], "vertical": [1], "horizontal_and_vertical": [2, 1]}[self.mode]
        for axis in axes:
            chosen = self._rng.random(len(images)) < 0.5
            out = np.where(chosen[:, None, None, None], np.flip(out, axis=axis), out)
            flips.append((axis, chosen))

        def backprop(grad_output):
            grad = grad_output
            for axis, chosen in reversed(flips):      # a flip is its own inverse
                grad = np.where(chosen[:, None, None, None], np.flip(grad, axis=axis), grad)
            return grad

        return out, backprop

    def get_config(self):
        return super().get_config() | {"mode": self.mode}


class AffineAugmentation(ImageAugmentation):
    """Base of the geometric layers: a random affine map per image, resampled with `resample`."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(seed=seed, **kwargs)
        name = type(self).__name__
        self.fill_mode = one_of(fill_mode, FILL_MODES, "fill_mode", name)
        self.interpolation = one_of(interpolation, INTERPOLATIONS, "interpolation", name)
        self.fill_value = float(fill_value)

    def matrices(self, n: int, height: int, width: int) -> np.ndarray:
        """``(n, 6)`` random maps ``a0 a1 a2 b0 b1 b2`` from output pixels to input pixels."""
        raise NotImplementedError

    def augment(self, images):
        n, height, width, _ = images.shape
        out, taps = resample(images, self.matrices(n, height, width), self.interpolation, self.fill_mode,
                             self.fill_value)
        shape = images.shape

        def backprop(grad_output):
            return resample_backward(grad_output, taps, shape)

        return out, backprop

    def get_config(self):
        return super().get_config() | {"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                                       "fill_value": self.fill_value}


def _rows(n: int, a0=1.0, a1=0.0, a2=0.0, b0=0.0, b1=1.0, b2=0.0) -> np.ndarray:
    return np.stack([np.broadcast_to(np.asarray(v, np.float64), (n,)) for v in (a0, a1, a2, b0, b1, b2)], axis=1)


class RandomTranslation(AffineAugmentation):
    """Shifts each training image by a random fraction of its height and width.

    Args:
        height_factor: the vertical shift as a fraction of the height: ``0.2`` draws from ``[-20%, +20%]``, a pair
            ``(lower, upper)`` from that range (negative is up). Values in ``[-1, 1]``.
        width_factor: the same for the horizontal shift (negative is left).
        fill_mode, interpolation, fill_value: how pixels from outside the image are filled (see the module),
            ``"bilinear"`` or ``"nearest"``.
        seed: an int for a repeatable sequence.

    Example:
        >>> RandomTranslation(0.1, 0.1)(np.zeros((2, 8, 8, 3), "float32"), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._height_range = factor_range(height_factor, "height_factor", "RandomTranslation")
        self._width_range = factor_range(width_factor, "width_factor", "RandomTranslation")

    def matrices(self, n, height, width):
        dy = self._rng.uniform(*self._height_range, size=n) * height
        dx = self._rng.uniform(*self._width_range, size=n) * width
        return _rows(n, a2=-dx, b2=-dy)

    def get_config(self):
        return super().get_config() | {"height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomRotation(AffineAugmentation):
    """Rotates each training image about its centre by a random angle.

    Args:
        factor: the angle as a fraction of a full turn: ``0.1`` draws from ``[-36°, +36°]``, a pair
            ``(lower, upper)`` from that range. Positive is counter-clockwise. Values in ``[-1, 1]``.
        fill_mode, interpolation, fill_value: how pixels from outside the image are filled (see the module).
        seed: an int for a repeatable sequence.

    Example:
        >>> RandomRotation(0.1, seed=0)(np.zeros((2, 8, 8, 3), "float32"), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         **kwargs)
        self.factor = factor
        self._range = factor_range(factor, "factor", "RandomRotation")

    def matrices(self, n, height, width):
        angle = np.deg2rad(self._rng.uniform(self._range[0] * 360.0, self._range[1] * 360.0, size=n))
        cos, sin = np.cos(angle), np.sin(angle)
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        return _rows(n, a0=cos, a1=-sin, a2=cx - cx * cos + cy * sin, b0=sin, b1=cos, b2=cy - cx * sin - cy * cos)

    def get_config(self):
        return super().get_config() | {"factor": self.factor}


class RandomZoom(AffineAugmentation):
    """Zooms each training image in or out about its centre by a random amount.

    Args:
        height_factor: the vertical zoom: ``0.2`` draws a factor from ``[-20%, +20%]``, a pair ``(lower, upper)``
            from that range. Positive zooms out (the image shrinks), negative zooms in. Values in ``(-1, 1]``.
        width_factor: the same for the horizontal zoom; None (default) keeps the aspect ratio by using the
            vertical factor for both.
        fill_mode, interpolation, fill_value: how pixels from outside the image are filled (see the module).
        seed: an int for a repeatable sequence.

    Example:
        >>> RandomZoom(0.2, seed=0)(np.zeros((2, 8, 8, 3), "float32"), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._height_range = factor_range(height_factor, "height_factor", "RandomZoom", low_open=True)
        self._width_range = (None if width_factor is None
                             else factor_range(width_factor, "width_factor", "RandomZoom", low_open=True))

    def matrices(self, n, height, width):
        zoom_y = 1.0 + self._rng.uniform(*self._height_range, size=n)
        zoom_x = zoom_y if self._width_range is None else 1.0 + self._rng.uniform(*self._width_range, size=n)
        return _rows(n, a0=zoom_x, a2=(width - 1) / 2.0 * (1 - zoom_x), b1=zoom_y,
                     b2=(height - 1) / 2.0 * (1 - zoom_y))

    def get_config(self):
        return super().get_config() | {"height_factor": self.height_factor, "width_factor": self.width_factor}


def _value_range(value_range, layer: str) -> tuple[float, float]:
    if (isinstance(value_range, (list, tuple)) and len(value_range) == 2
            and all(isinstance(v, (int, float, np.integer, np.floating)) for v in value_range)
            and value_range[0] != value_range[1]):
        low, high = sorted(float(v) for v in value_range)
        return low, high
    raise ValueError(f"{layer}() expects value_range to be the pixels' (min, max), e.g. (0, 255) or (0, 1), "
                     f"got {value_range!r}.")


class ClippedAugmentation(ImageAugmentation):
    """Base of the colour layers: a per-image change of values, clipped to ``value_range``."""

    def __init__(self, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.value_range = _value_range(value_range, type(self).__name__)

    def clip(self, values):
        """``values`` clipped to ``value_range``, and where they were inside it (where the gradient passes)."""
        low, high = self.value_range
        return np.clip(values, low, high), (values >= low) & (values <= high)

    def get_config(self):
        return super().get_config() | {"value_range": list(self.value_range)}


class RandomContrast(ClippedAugmentation):
    """Scales each training image's distance from its mean (per channel) by a random factor, then clips.

    Args:
        factor: ``0.2`` draws the contrast factor from ``[0.8, 1.2]``; a pair ``(lower, upper)`` from
            ``[1 - lower, 1 + upper]``. Values in ``[0, 1]``. (Keras 3 documents this; its code draws from
            ``[1, 1 + factor]`` for a single number.)
        value_range: the pixels' ``(min, max)``, default ``(0, 255)``; the output is clipped to it.
        seed: an int for a repeatable sequence.

    Example:
        >>> RandomContrast(0.5, seed=0)(np.zeros((2, 4, 4, 3), "float32"), training=True).shape
        (2, 4, 4, 3)
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, **kwargs)
        self.factor = factor
        if isinstance(factor, (list, tuple)):
            self._range = factor_range(factor, "factor", "RandomContrast", low=0.0)
        else:
            self._range = (abs(factor_range(factor, "factor", "RandomContrast", low=0.0)[0]),) * 2

    def augment(self, images):
        lower, upper = self._range
        contrast = self._rng.uniform(1.0 - lower, 1.0 + upper, size=(len(images), 1, 1, 1)).astype(images.dtype)
        mean = images.mean(axis=(1, 2), keepdims=True)
        out, kept = self.clip((images - mean) * contrast + mean)

        def backprop(grad_output):
            grad = grad_output * kept
            # the mean moves with every pixel: (1 - contrast) of the average gradient goes to each pixel
            return grad * contrast + (1 - contrast) * grad.mean(axis=(1, 2), keepdims=True)

        return out, backprop

    def get_config(self):
        return super().get_config() | {"factor": self.factor}


class RandomBrightness(ClippedAugmentation):
    """Adds a random offset to each training image, a fraction of ``value_range``, then clips.

    Args:
        factor: ``0.2`` draws the offset from ``[-20%, +20%]`` of the value range; a pair ``(lower, upper)`` from
            that range. Values in ``[-1, 1]``.
        value_range: the pixels' ``(min, max)``, default ``(0, 255)``; the output is clipped to it.
        seed: an int for a repeatable sequence.

    Example:
        >>> RandomBrightness(0.2, value_range=(0, 1), seed=0)(np.full((1, 2, 2, 1), 0.5, "float32"),
        ...                                                   training=False).tolist()
        [[[[0.5], [0.5]], [[0.5], [0.5]]]]
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, **kwargs)
        self.factor = factor
        self._range = factor_range(factor, "factor", "RandomBrightness")

    def augment(self, images):
        low, high = self.value_range
        offset = self._rng.uniform(*self._range, size=(len(images), 1, 1, 1)) * (high - low)
        out, kept = self.clip(images + offset.astype(images.dtype))

        def backprop(grad_output):
            return grad_output * kept

        return out, backprop

    def get_config(self):
        return super().get_config() | {"factor": self.factor}


__all__ = ["RandomBrightness", "RandomContrast", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom"]
