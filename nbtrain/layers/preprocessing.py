"""Preprocessing layers that live inside a model: Rescaling and Normalization.

They are not trained (no gradient reaches their state), but their backward pass returns the exact input
gradient, so they may sit anywhere in a model, not only first.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from nbtrain.layers.layer import FLOATX, Layer
from nbtrain.utils.checks import is_int, number
from nbtrain.utils.naming import shape_text

#: Keras's ``backend.epsilon()``: the smallest standard deviation Normalization divides by.
EPSILON = 1e-7

# adapt() reads a large array in slices of about this many values, so its float64 statistics never need a
# float64 copy of the whole data set (60000 MNIST images would take 376 MB).
_ADAPT_CHUNK_VALUES = 1 << 20

# Keras 2's adapt() default, used only to turn ``steps`` into a number of samples for array data.
_KERAS_DEFAULT_BATCH_SIZE = 32


# ================================================================================================
# Rescaling
# ================================================================================================


class Rescaling(Layer):
    """Multiplies inputs by ``scale`` and adds ``offset``: ``x * scale + offset``, in training and inference.

    ``scale=1/255`` maps pixels in [0, 255] to [0, 1]; ``scale=1/127.5, offset=-1`` maps them to [-1, 1].
    ``scale`` and ``offset`` may also be arrays that broadcast against the input's last axes (one factor per
    channel, for instance). The layer has no weights.

    Args:
        scale: a number or an array broadcastable to the input's trailing axes.
        offset: a number or such an array, default 0.0.

    Example:
        >>> Rescaling(1.0 / 255)(np.array([[0, 255]], dtype="uint8"))
        array([[0., 1.]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        # kept as given for get_config (Keras stores a float as a float and an array as an array)
        self.scale = scale
        self.offset = offset
        self._scale = _factor_array(scale, "scale")
        self._offset = _factor_array(offset, "offset")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def check_input_shape(self, x):
        self._check_broadcast(x.shape)

    def _check_broadcast(self, shape) -> None:
        """scale and offset may stretch nothing: the output must keep the input's shape."""
        try:
            result = np.broadcast_shapes(tuple(shape), self._scale.shape, self._offset.shape)
        except ValueError:
            result = None
        if result != tuple(shape):
            raise ValueError(
                f"Rescaling layer '{self.name}' has scale of shape {self._scale.shape} and offset of shape "
                f"{self._offset.shape}, which do not broadcast against inputs of shape {tuple(shape)}. Give "
                f"numbers, or arrays matching the input's last axes (e.g. shape ({shape[-1]},) for one value "
                f"per channel)."
            )

    def _apply(self, x, training, need_input_grad):
        self._check_broadcast(x.shape)

        def backprop(grad_output):
            return grad_output * self._scale if need_input_grad else None

        return x * self._scale + self._offset, backprop

    def get_config(self):
        return super().get_config() | {"scale": _serialize_factor(self.scale),
                                       "offset": _serialize_factor(self.offset)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("scale", "offset"):
            if key in config:
                config[key] = _deserialize_factor(config[key])
        return cls(**config)

    def __repr__(self):
        return f"<Rescaling name={self.name!r}, scale={_short(self.scale)}, offset={_short(self.offset)}>"


def _factor_array(value, what: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=FLOATX)
    except (TypeError, ValueError):
        raise TypeError(f"Rescaling() expects {what} to be a number or an array of numbers, got {value!r}.") \
            from None
    return array


def _serialize_factor(value):
    """Keras's form: numbers stay numbers, a NumPy array becomes ``{"class_name": "__numpy__", ...}``."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return {"class_name": "__numpy__", "config": {"value": value.tolist(), "dtype": value.dtype.name}}
    if isinstance(value, (np.ndarray, np.generic)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_serialize_factor(v) for v in value]
    return value


def _deserialize_factor(value):
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        options = value.get("config") or {}
        return np.asarray(options.get("value"), dtype=options.get("dtype"))
    return value


def _short(value) -> str:
    return f"array{np.shape(value)}" if np.ndim(value) else repr(value)


# ================================================================================================
# Normalization
# ================================================================================================


class Normalization(Layer):
    """Shifts and scales features to mean 0 and standard deviation 1 with statistics of the training data.

    The output is ``(x - mean) / max(sqrt(variance), 1e-7)`` (Keras's exact formula). ``mean`` and
    ``variance`` come either from :meth:`adapt`, which computes them from data before ``fit``, or from the
    constructor. ``invert=True`` applies the inverse, ``mean + x * max(sqrt(variance), 1e-7)``.

    ``axis`` names the axes that keep their own statistics: -1 (default) gives one mean and variance per
    feature (last axis); ``(1, 2)`` one per position of a ``(batch, height, width)`` input; None a single
    scalar mean and variance over everything. All other axes are averaged over.

    When adapted, the layer's weights, in Keras order, are ``mean``, ``variance`` and ``count`` (kept only
    for compatibility with Keras files; Keras 3 leaves it 0), all non-trainable. With ``mean`` and
    ``variance`` given in the constructor it has no weights.

    Args:
        axis: int, tuple of ints, or None: the axes with separate statistics.
        mean: the mean(s) to use instead of :meth:`adapt`; a number or an array broadcastable to the kept
            axes (aligned from the right). Give it together with ``variance``.
        variance: the variance(s), likewise.
        invert: undo a normalization instead (turn normalized values back into data units).

    Example:
        >>> normalizer = Normalization(axis=-1)
        >>> normalizer.adapt(np.array([[0.0, 7.0], [2.0, 9.0]]))
        >>> normalizer(np.array([[0.0, 7.0]], dtype="float32"))
        array([[-1., -1.]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = _standardize_axis(axis)
        _check_given_statistics(mean, variance, self.axis)
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self._adapted = False
        self._shape_from_adapt = False  # built by adapt() from data, not yet placed in a model
        self._keep_axes = None        # the kept axes as non-negative indices of the built input
        self._broadcast_shape = None  # the input's shape with 1 on every averaged axis
        self._given = None            # (mean, variance) from the constructor, in the broadcast shape

    # ----- building -----------------------------------------------------------------------------------

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        self._keep_axes = self._kept_axes(len(input_shape))
        unknown = [a for a in self._keep_axes if input_shape[a] is None]
        if unknown:
            raise ValueError(
                f"Normalization layer '{self.name}' keeps separate statistics on axis {self.axis}, so those axes "
                f"need known sizes, but input shape {shape_text(input_shape)} has None on axis {unknown[0]}."
            )
        self._broadcast_shape = tuple(input_shape[a] if a in self._keep_axes else 1 for a in range(len(input_shape)))
        statistics_shape = tuple(input_shape[a] for a in self._keep_axes)
        if self.input_mean is None:
            self._add_statistic("mean", statistics_shape, "zeros")
            self._add_statistic("variance", statistics_shape, "ones")
            self._add_statistic("count", (), "zeros", dtype=np.int64)
        else:
            self._given = tuple(self._broadcast_given(value, name) for value, name in
                                ((self.input_mean, "mean"), (self.input_variance, "variance")))
        super().build(input_shape)

    def _add_statistic(self, name: str, shape, initializer, dtype=FLOATX) -> None:
        self.add_weight(name, shape, initializer, trainable=False, dtype=dtype)

    def _kept_axes(self, ndim: int) -> tuple[int, ...]:
        bad = [a for a in self.axis if not -ndim <= a < ndim]
        if bad:
            raise ValueError(
                f"Normalization layer '{self.name}' got axis={self.axis}, but inputs have only {ndim} axes "
                f"(valid axes run from {-ndim} to {ndim - 1}). Use axis=-1 for one mean and variance per feature, "
                "or axis=None for a single one."
            )
        return tuple(sorted(a % ndim for a in self.axis))

    def _broadcast_given(self, value, name: str) -> np.ndarray:
        """Place a constructor mean or variance on the kept axes, aligning its axes from the right (Keras)."""
        value = np.asarray(value, dtype=FLOATX)
        placed = [1] * len(self._broadcast_shape)
        for axis, size in zip(self._keep_axes[::-1], value.shape[::-1]):
            placed[axis] = size
        try:
            return np.ascontiguousarray(np.broadcast_to(value.reshape(placed), self._broadcast_shape))
        except ValueError:
            kept = tuple(self._broadcast_shape[a] for a in self._keep_axes)
            raise ValueError(
                f"Normalization layer '{self.name}' got a {name} of shape {value.shape}, which does not broadcast "
                f"to the kept axes {self._keep_axes} of size {kept}. Give a number or an array of shape {kept}."
            ) from None

    def ensure_built(self, input_shape):
        """Build, or (after adapt) take on the shape of the model the layer is placed in."""
        # a model builds with batch size None; a direct call on data (layer(x[:1])) must not fix the batch size
        if self.built and self._shape_from_adapt and tuple(input_shape)[:1] == (None,):
            self._reduce_axes(tuple(input_shape), "a model gives it inputs")
            # adapt() saw (samples, ...); the model's shape is the one summary() and saving should show
            self.input_shape = self.output_shape = tuple(input_shape)
            self._shape_from_adapt = False
        super().ensure_built(input_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    # ----- adapting -----------------------------------------------------------------------------------

    def adapt(self, data, batch_size=None, steps=None):
        """Compute the mean and variance of ``data`` over the averaged axes and store them as weights.

        Call it once, before ``fit``, with the training features (not the labels, not the test data).

        Args:
            data: a NumPy array (or anything ``np.asarray`` turns into one, such as a pandas DataFrame), or an
                iterable of batches: a list of arrays, a generator, an ``nbtrain.utils.PyDataset``. A batch
                that is a tuple ``(x, y, ...)`` contributes its ``x``.
            batch_size: for array data, read it in slices of this many samples (the result is the same).
                Not allowed with an iterable, which is already batched.
            steps: use only this many batches (of ``batch_size``, default 32, for array data).

        Example:
            >>> normalizer = Normalization(axis=None)
            >>> normalizer.adapt([np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])])
            >>> normalizer.get_weights()[:2]
            [array(3., dtype=float32), array(2., dtype=float32)]
        """
        if self.input_mean is not None:
            raise ValueError(
                f"Normalization layer '{self.name}' was given mean and variance in the constructor, so there is "
                "nothing to adapt. Create it without mean and variance to compute them from data with adapt()."
            )
        batch_size = number(batch_size, "batch_size", "Normalization.adapt", low=1, integer=True, optional=True)
        steps = number(steps, "steps", "Normalization.adapt", low=1, integer=True, optional=True)
        batches = self._batches(data, batch_size, steps)
        first = next(batches, None)
        if first is None:
            raise ValueError("Normalization.adapt() received no data (an empty iterable, or steps that select "
                             "nothing). Pass the training features, e.g. layer.adapt(x_train).")
        self._build_for_adapt(first.shape)
        count, mean, variance = 0, 0.0, 0.0
        for batch in itertools.chain([first], batches):
            count, mean, variance = _merge_moments(count, mean, variance, *self._moments(batch))
        if count == 0:
            raise ValueError("Normalization.adapt() received only empty batches; it needs at least one sample.")
        self._weights["mean"][...] = mean
        self._weights["variance"][...] = variance
        self._adapted = True

    def _batches(self, data, batch_size, steps):
        """The data as an iterator of numeric arrays, whatever form it came in."""
        if _is_array_like(data):
            array = _numeric_array(data, "adapt() data")
            return self._array_slices(array, batch_size, steps)
        if batch_size is not None:
            raise ValueError("Normalization.adapt() got batch_size with batched data (an iterable of batches); "
                             "drop batch_size, the batches already set it.")
        items = _iterate_batches(data)
        if steps is not None:
            items = itertools.islice(items, steps)
        return (_batch_array(item) for item in items)

    def _array_slices(self, array, batch_size, steps):
        if array.ndim == 0:
            raise ValueError("Normalization.adapt() needs an array of samples, got a single number. Pass e.g. "
                             "np.array(train_features).")
        if 0 in self._kept_axes(array.ndim):
            yield array  # the first axis keeps its own statistics, so it cannot be sliced
            return
        if steps is not None:
            array = array[:steps * (batch_size or _KERAS_DEFAULT_BATCH_SIZE)]
        rows = batch_size or max(1, _ADAPT_CHUNK_VALUES // max(1, math.prod(array.shape[1:])))
        for start in range(0, max(len(array), 1), rows):
            yield array[start:start + rows]

    def _build_for_adapt(self, shape) -> None:
        """Build for the data's sample shape (any number of samples), or check it matches the built layer."""
        if not self.built:
            kept = self._kept_axes(len(shape))
            self.build(tuple(None if a == 0 and a not in kept else d for a, d in enumerate(shape)))
            self._shape_from_adapt = True
        self._reduce_axes(tuple(shape))

    def _reduce_axes(self, shape, received="adapt() received data") -> tuple[int, ...]:
        """The axes of data of ``shape`` to average over; the kept axes are matched from the right."""
        built_ndim = len(self._broadcast_shape)
        kept = [a - built_ndim + len(shape) for a in self._keep_axes]
        if any(a < 0 for a in kept) or any(shape[a] != self._broadcast_shape[k]
                                           for a, k in zip(kept, self._keep_axes)):
            expected = shape_text(tuple(self.input_shape))
            raise ValueError(
                f"Normalization layer '{self.name}' was built for inputs of shape {expected} (statistics on axis "
                f"{self.axis}) but {received} of shape {shape_text(tuple(shape))}. Adapt it on data shaped "
                "like the model's inputs."
            )
        return tuple(a for a in range(len(shape)) if a not in kept)

    def _moments(self, batch):
        """(count, mean, variance) of one batch over its averaged axes, in float64."""
        reduce = self._reduce_axes(batch.shape)
        count = math.prod(batch.shape[a] for a in reduce)
        if count == 0:
            return 0, 0.0, 0.0
        mean = batch.mean(axis=reduce, dtype=np.float64, keepdims=True)
        variance = np.square(batch - mean).mean(axis=reduce)
        return count, mean.reshape(variance.shape), variance

    # ----- statistics ---------------------------------------------------------------------------------

    @property
    def mean(self):
        """The mean in the input's broadcast shape (e.g. ``(1, 9)``), as Keras's ``layer.mean``; None unbuilt."""
        return self._statistic(0, "mean")

    @property
    def variance(self):
        """The variance in the input's broadcast shape, as Keras's ``layer.variance``; None unbuilt."""
        return self._statistic(1, "variance")

    def _statistic(self, index: int, name: str):
        if not self.built:
            return None
        if self._given is not None:
            return self._given[index]
        return self._weights[name].reshape(self._broadcast_shape)

    def _check_ready(self) -> None:
        if self._given is None and not self._adapted:
            raise ValueError(
                f"Normalization layer '{self.name}' has no mean and variance yet. Call `layer.adapt(x_train)` "
                "first with your training features (e.g. normalizer.adapt(np.array(train_features))), or give "
                "mean= and variance= to Normalization()."
            )

    def set_weights(self, weights) -> None:
        """Load ``mean``, ``variance`` and ``count`` (Keras order); the layer counts as adapted afterwards."""
        super().set_weights(weights)
        if self._weights:
            self._adapted = True

    # ----- computation --------------------------------------------------------------------------------

    def check_input_shape(self, x):
        self._check_broadcast(x.shape)

    def _check_broadcast(self, shape) -> None:
        try:
            fits = np.broadcast_shapes(tuple(shape), self._broadcast_shape) == tuple(shape)
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"Normalization layer '{self.name}' was built for inputs of shape {shape_text(self.input_shape)} "
                f"(statistics of shape {self._broadcast_shape}) but got an array of shape {tuple(shape)}."
            )

    def _apply(self, x, training, need_input_grad):
        self._check_ready()
        self._check_broadcast(x.shape)
        mean, variance = self.mean, self.variance
        # Keras divides by max(std, epsilon), so a constant feature (variance 0) maps to 0 instead of nan
        divisor = np.maximum(np.sqrt(variance), np.asarray(EPSILON, variance.dtype))

        def backprop(grad_output):
            if not need_input_grad:
                return None
            return grad_output * divisor if self.invert else grad_output / divisor

        return (mean + x * divisor if self.invert else (x - mean) / divisor), backprop

    # ----- configuration ------------------------------------------------------------------------------

    def get_config(self):
        return super().get_config() | {
            "axis": self.axis,
            "invert": self.invert,
            "mean": _plain(self.input_mean),
            "variance": _plain(self.input_variance),
        }

    def __repr__(self):
        state = "given" if self.input_mean is not None else ("adapted" if self._adapted else "not adapted")
        return f"<Normalization name={self.name!r}, axis={self.axis}, {state}>"


# ----- Normalization helpers ---------------------------------------------------------------------------


def _standardize_axis(axis) -> tuple[int, ...]:
    """None -> (), an int -> (int,), a list or tuple -> a tuple; as Keras stores it."""
    if axis is None:
        return ()
    if is_int(axis):
        return (int(axis),)
    try:
        axes = tuple(axis)
    except TypeError:
        axes = None
    if axes is None or not all(is_int(a) for a in axes):
        raise TypeError(f"Normalization() expects axis to be an int, a tuple of ints or None, got {axis!r}.")
    if len(set(axes)) != len(axes):
        raise ValueError(f"Normalization() got a repeated axis in axis={axis!r}.")
    return tuple(int(a) for a in axes)


def _check_given_statistics(mean, variance, axis) -> None:
    if (mean is None) != (variance is None):
        raise ValueError(
            f"Normalization() needs mean and variance together (or neither, then call adapt()), got "
            f"mean={mean!r} and variance={variance!r}."
        )
    if mean is None:
        return
    try:
        mean_array, variance_array = np.asarray(mean, dtype=np.float64), np.asarray(variance, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"Normalization() expects numbers or arrays for mean and variance, got mean={mean!r} "
                        f"and variance={variance!r}.") from None
    if mean_array.shape != variance_array.shape:
        raise ValueError(f"Normalization() needs mean and variance of the same shape, got {mean_array.shape} and "
                         f"{variance_array.shape}.")
    if mean_array.ndim > len(axis):
        raise ValueError(
            f"Normalization() got a mean of shape {mean_array.shape}, which has more axes than the "
            f"{len(axis)} kept by axis={axis or None}. Give one value per kept axis position, or a number."
        )
    if np.any(variance_array < 0):
        raise ValueError("Normalization() got a negative variance; variances are squared spreads, >= 0.")



def _is_array_like(data) -> bool:
    """Arrays, and objects that convert to one (pandas, tensors); lists and tuples are lists of batches."""
    if isinstance(data, np.ndarray):
        return True
    return hasattr(data, "__array__") and not isinstance(data, (list, tuple))


def _iterate_batches(data):
    from nbtrain.data.generators import PyDataset

    if isinstance(data, PyDataset):
        return (data[i] for i in range(len(data)))
    if isinstance(data, (str, bytes, dict)) or not hasattr(data, "__iter__"):
        raise TypeError(
            f"Normalization.adapt() expects a NumPy array or an iterable of batches (a list of arrays, a "
            f"generator, a PyDataset), got {type(data).__name__}. Pass e.g. np.array(train_features)."
        )
    return iter(data)


def _batch_array(batch) -> np.ndarray:
    if isinstance(batch, tuple) and batch:
        batch = batch[0]  # an (x, y) or (x, y, sample_weight) batch: only the features are normalized
    if not hasattr(batch, "shape"):
        raise TypeError(
            f"Normalization.adapt() expects every batch to be an array, got {type(batch).__name__}. To adapt on "
            "one data set, pass it as one array: layer.adapt(np.array(data))."
        )
    array = _numeric_array(batch, "an adapt() batch")
    if array.ndim == 0:
        raise ValueError("Normalization.adapt() got a batch that is a single number; batches must be arrays of "
                         "samples. To adapt on one data set, pass it as one array: layer.adapt(np.array(data)).")
    return array


def _numeric_array(data, what: str) -> np.ndarray:
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as error:
        raise TypeError(f"Normalization.adapt() could not read {what} as an array ({error}).") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"Normalization.adapt() needs numbers, but {what} has dtype {array.dtype}. Convert text or mixed "
            "columns to numbers first (e.g. one-hot encode categories)."
        )
    return array


def _merge_moments(count, mean, variance, batch_count, batch_mean, batch_variance):
    """Pool two groups' counts, means and (biased) variances exactly (Chan et al.'s parallel formula)."""
    if batch_count == 0:
        return count, mean, variance
    total = count + batch_count
    delta = batch_mean - mean
    pooled_mean = mean + delta * (batch_count / total)
    pooled_variance = (variance * count + batch_variance * batch_count) / total \
        + np.square(delta) * (count * batch_count / total / total)
    return total, pooled_mean, pooled_variance


def _plain(value):
    """A constructor mean or variance as plain JSON data (Keras: ``np.array(value).tolist()``)."""
    return None if value is None else np.asarray(value).tolist()


__all__ = ["Normalization", "Rescaling"]
