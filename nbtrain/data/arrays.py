"""In-memory data for ``fit``, ``evaluate`` and ``predict``: validation, casting once, and batching."""

from __future__ import annotations

import math
import warnings

import numpy as np

FLOATX = np.float32


def as_array_list(data, what: str, expected: int | None = None) -> list[np.ndarray] | None:
    """Turn one array or a list/tuple of arrays into a list of arrays, with a clear error otherwise.

    Args:
        data: an array, or a list of arrays (one per model input or output).
        what: the argument's name for error messages.
        expected: how many arrays the model takes; with 1, a list of per-sample arrays is one array.
    """
    if data is None:
        return None
    if isinstance(data, dict):
        raise TypeError(f"{what} given as a dict is supported by functional models with named inputs only.")
    is_list_of_arrays = isinstance(data, (list, tuple)) and data and _is_array_like(data[0])
    if is_list_of_arrays and expected == 1 and len(data) != 1:
        is_list_of_arrays = False  # e.g. a Python list of per-sample arrays for a one-input model
    items = list(data) if is_list_of_arrays else [data]
    arrays = []
    for item in items:
        try:
            arrays.append(np.asarray(item))
        except (TypeError, ValueError) as error:
            raise TypeError(f"{what} must be a NumPy array (or a list of arrays), got {type(item).__name__}: {error}")
        problem = dtype_problem(arrays[-1], what, columns=getattr(item, "columns", None))
        if problem:
            raise TypeError(problem)
        if arrays[-1].ndim == 0:
            raise ValueError(f"{what} must have a first (sample) axis, got a scalar {item!r}.")
    return arrays


def dtype_problem(array: np.ndarray, what: str, columns=None) -> str | None:
    """Why an array of this dtype cannot feed a model (strings, objects, complex, dates), with the fix; or None.

    ``columns`` are a pandas DataFrame's column names, to name the column of the first bad value.
    """
    kind = array.dtype.kind
    if kind in "USO" and array.size:
        first = _first_non_number(array)
        if first is None:    # an object array of numbers only (a pandas column of mixed types, say)
            return (f"{what} has dtype object but holds only numbers; convert it once with "
                    f"np.asarray({what.split()[-1]}, dtype='float32').")
        where = _position_text(first[0], columns)
        if _is_missing(first[1]):
            return (f"{what} has missing values (None, NaN or pd.NA in a column of dtype object), first at "
                    f"{where}. Drop or fill them before training: df.dropna(), df.fillna(0) or "
                    f"sklearn.impute.SimpleImputer(); then convert with df.to_numpy(dtype='float32').")
        if hasattr(first[1], "isoformat"):    # datetime, date, time, pandas Timestamp
            return (f"{what} holds dates or times ({type(first[1]).__name__} {_short(first[1])} at {where}); a "
                    f"model needs numbers. Convert them, e.g. to days since the first: "
                    f"(df[col] - df[col].min()).dt.days, or to features such as df[col].dt.dayofweek.")
        first = (where, first[1])
        if not isinstance(first[1], (str, bytes)):
            return (f"{what} could not be turned into a numeric array (it has dtype object); its first value that "
                    f"is not a number, at {first[0]}, is {type(first[1]).__name__} {_short(first[1])}. Check that "
                    f"every sample has the same shape and holds numbers.")
        return (f"{what} holds text, not numbers (dtype {array.dtype}), first at {first[0]}: {_short(first[1])}. A "
                f"model needs numbers: encode labels as class indices with classes, codes = "
                f"np.unique(labels, return_inverse=True) (classes[code] gives the label back), or map each "
                f"value with a dict such as {{'cat': 0, 'dog': 1}}; encode text features the same way, or one-hot.")
    if kind == "c":
        return (f"{what} holds complex numbers (dtype {array.dtype}); a model needs real numbers. Pass "
                f"np.abs(...) or the real and imaginary parts as two features: np.stack([a.real, a.imag], axis=-1).")
    if kind in "mM":
        return (f"{what} holds dates or times (dtype {array.dtype}); a model needs numbers. Convert them, e.g. to "
                f"days since the first: (a - a.min()) / np.timedelta64(1, 'D'), or to features such as the day "
                f"of the week.")
    if kind == "V":
        return f"{what} is a structured array (dtype {array.dtype}); pass the numeric fields as a plain array."
    return None


def _short(value, limit=60) -> str:
    text = repr(str(value) if isinstance(value, str) else value)   # 'cat', not np.str_('cat')
    return text if len(text) <= limit else text[:limit] + "..."


def _is_missing(value) -> bool:
    """None, or pandas's missing-value markers (pd.NA, pd.NaT), recognized without importing pandas."""
    return value is None or type(value).__name__ in ("NAType", "NaTType")


def _position_text(position, columns) -> str:
    """``(3, 2)``, or ``row 3, column 'price'`` when the data came from a DataFrame with named columns."""
    if columns is not None and isinstance(position, tuple) and len(position) == 2:
        return f"row {position[0]}, column {columns[position[1]]!r}"
    return str(position)


def _first_non_number(array: np.ndarray):
    """``(position, value)`` of the first value that is not a number, or None."""
    for position, value in np.ndenumerate(array):
        if isinstance(value, (str, bytes)) or not isinstance(value, (int, float, np.number, np.bool_)):
            return position[0] if array.ndim == 1 else position, value
    return None


def sample_weight_array(sample_weight, ys, what="sample_weight") -> np.ndarray:
    """``sample_weight`` as float32 of shape ``(samples,)`` (or ``(samples, steps)`` for sequence targets).

    ``(samples, 1)`` is taken as ``(samples,)``; any other shape is refused, since the loss would otherwise
    broadcast it against the wrong axis (``(96, 2)`` for 96 samples is not one weight per sample).
    """
    sw = np.asarray(sample_weight)
    problem = dtype_problem(sw, what)
    if problem:
        raise TypeError(problem)
    sw = np.asarray(sw, dtype=np.float32)
    if sw.ndim == 0:
        raise ValueError(f"{what} must have one weight per sample, got a scalar.")
    if sw.ndim == 2 and sw.shape[1] == 1:
        return sw[:, 0]
    per_step = ys is not None and any(y.ndim > sw.ndim and y.shape[:sw.ndim] == sw.shape for y in ys)
    if sw.ndim > 1 and not per_step:
        samples = sw.shape[0]
        raise ValueError(f"{what} must hold one weight per sample, shape ({samples},), but has shape {sw.shape}. "
                         f"Pass a 1-D array (e.g. {what.split()[-1]}[:, 0], or a weight per class through "
                         f"class_weight={{0: 1.0, 1: 5.0}}); per-time-step weights need targets with a time axis.")
    return sw


def _is_array_like(item) -> bool:
    return hasattr(item, "shape") and hasattr(item, "dtype") and getattr(item, "ndim", 0) >= 1


def cast_floats(arrays: list[np.ndarray] | None, per_batch: bool = False) -> list[np.ndarray] | None:
    """The arrays as the model reads them: cast to float32 now, or (``per_batch``) batch by batch.

    ``fit`` reads its data once per epoch, so it casts once (no copy when already float32 and contiguous) and
    shares that copy with the ``validation_split`` part. ``evaluate`` and ``predict`` read it once, so they
    pass ``per_batch=True``: the arrays stay as they are and :class:`ArrayData` casts each batch, which costs
    a few batches of memory instead of a float32 copy of everything.
    """
    if arrays is None or per_batch:
        return arrays
    return [as_float32(a) for a in arrays]


def as_float32(array: np.ndarray) -> np.ndarray:
    """``array`` as contiguous float32, copied only when it is not already."""
    with np.errstate(over="ignore"):   # values too large for float32 become inf, which check_finite reports
        return np.ascontiguousarray(array, dtype=FLOATX)


def check_same_length(named_arrays: dict[str, list[np.ndarray] | None]) -> int:
    """Return the common number of samples, or raise naming every shape when they differ."""
    sizes = {name: [a.shape[0] for a in arrays] for name, arrays in named_arrays.items() if arrays}
    distinct = {n for values in sizes.values() for n in values}
    if len(distinct) > 1:
        detail = ", ".join(f"{name} has {values[0] if len(values) == 1 else values} samples"
                           for name, values in sizes.items())
        shapes = "; ".join(f"{name} shape {[a.shape for a in named_arrays[name]] if len(named_arrays[name]) > 1 else named_arrays[name][0].shape}"
                           for name in sizes)
        raise ValueError(
            f"x and y must contain the same number of samples, but {detail} ({shapes}). "
            f"Check that the labels belong to these inputs (the first axis counts samples)."
        )
    return distinct.pop() if distinct else 0


def class_weights_to_sample_weights(class_weight: dict, y: np.ndarray) -> np.ndarray:
    """Per-sample weights from a ``{class index: weight}`` dict, for integer or one-hot targets."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict such as {{0: 1.0, 1: 5.0}}, got {type(class_weight).__name__}.")
    if y.ndim > 1 and y.shape[-1] > 1:
        classes = np.argmax(y, axis=-1)
    else:
        classes = np.round(y.reshape(y.shape[0], -1)[:, 0] if y.ndim > 1 else y).astype(np.int64)
    if classes.ndim > 1:
        raise ValueError("class_weight needs one class per sample; for sequence targets pass sample_weight instead.")
    lookup = np.ones(int(max(classes.max(initial=0), max(class_weight, default=0))) + 1, dtype=FLOATX)
    for key, weight in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or key < 0:
            raise ValueError(f"class_weight keys must be non-negative class indices, got {key!r}.")
        lookup[int(key)] = weight
    return lookup[classes]


class ArrayData:
    """Inputs, targets and sample weights held in memory, served in batches.

    Args:
        xs: list of input arrays (one per model input).
        ys: list of target arrays (one per output), or None for predict.
        sample_weight: per-sample weights, or None.
        cast_per_batch: the arrays are not float32 yet (see :func:`cast_floats`): cast each batch as it is
            served.
    """

    def __init__(self, xs, ys=None, sample_weight=None, cast_per_batch=False):
        self.xs, self.ys, self.sample_weight = xs, ys, sample_weight
        self.cast_per_batch = cast_per_batch
        self.num_samples = xs[0].shape[0]

    def weighted_by_class(self, class_weight: dict) -> ArrayData:
        """These arrays with ``class_weight`` folded into the sample weights (one output only)."""
        if len(self.ys) > 1:
            raise ValueError("class_weight works for models with a single output; for several outputs pass "
                             "sample_weight (one array per sample) instead.")
        weights = class_weights_to_sample_weights(class_weight, self.ys[0])
        sample_weight = weights if self.sample_weight is None else self.sample_weight * weights
        return ArrayData(self.xs, self.ys, sample_weight, self.cast_per_batch)

    def split(self, validation_split: float):
        """Split off the last fraction of samples, before any shuffling (Keras semantics)."""
        if not isinstance(validation_split, (int, float)) or not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be a float in [0, 1), got {validation_split!r}.")
        split_at = int(math.floor(self.num_samples * (1 - validation_split)))
        if split_at in (0, self.num_samples):
            raise ValueError(
                f"validation_split={validation_split} leaves no samples for training or validation out of "
                f"{self.num_samples}. Provide more data or choose a different validation_split."
            )
        return self._slice(0, split_at), self._slice(split_at, self.num_samples)

    def _slice(self, start, stop):
        take = lambda arrays: None if arrays is None else [a[start:stop] for a in arrays]  # noqa: E731
        sw = None if self.sample_weight is None else self.sample_weight[start:stop]
        return ArrayData(take(self.xs), take(self.ys), sw, self.cast_per_batch)

    def num_batches(self, batch_size: int) -> int:
        return math.ceil(self.num_samples / batch_size)

    def batches(self, batch_size: int, shuffle=False, rng=None):
        """Yield ``(xs, ys, sample_weight)`` batches; shuffled batches reuse gather buffers."""
        n = self.num_samples
        if shuffle == "batch":
            yield from self._shuffled_within_batches(batch_size, rng)
            return
        if not shuffle:
            for start in range(0, n, batch_size):
                yield self._contiguous(start, min(start + batch_size, n))
            return
        order = rng.permutation(n)
        buffers = None
        for start in range(0, n, batch_size):
            index = order[start:start + batch_size]
            if buffers is None or len(index) != len(buffers[0][0]):
                buffers = self._gather_buffers(len(index))
            yield self._gather(index, buffers)

    def _contiguous(self, start, stop):
        cast = as_float32 if self.cast_per_batch else (lambda a: a)
        take = lambda arrays: None if arrays is None else [cast(a[start:stop]) for a in arrays]  # noqa: E731
        sw = None if self.sample_weight is None else self.sample_weight[start:stop]
        return take(self.xs), take(self.ys), sw

    def _gather_buffers(self, size):
        dtype = (lambda a: FLOATX) if self.cast_per_batch else (lambda a: a.dtype)   # np.take casts into them
        make = lambda arrays: None if arrays is None else [np.empty((size,) + a.shape[1:], dtype(a)) for a in arrays]  # noqa: E731
        sw = None if self.sample_weight is None else np.empty(size, self.sample_weight.dtype)
        return make(self.xs), make(self.ys), sw

    def _gather(self, index, buffers):
        # np.take into preallocated buffers: the per-batch copy a shuffle needs, without a fresh allocation.
        # The model never keeps a batch past the next one, so reusing the buffers is safe.
        xs_buf, ys_buf, sw_buf = buffers
        for source, target in zip(self.xs, xs_buf):
            np.take(source, index, axis=0, out=target)
        if self.ys is not None:
            for source, target in zip(self.ys, ys_buf):
                np.take(source, index, axis=0, out=target)
        if self.sample_weight is not None:
            np.take(self.sample_weight, index, out=sw_buf)
        return xs_buf, ys_buf, sw_buf

    def _shuffled_within_batches(self, batch_size, rng):
        for start in range(0, self.num_samples, batch_size):
            index = start + rng.permutation(min(batch_size, self.num_samples - start))
            yield self._gather(index, self._gather_buffers(len(index)))


class EpochIterator:
    """Serves each epoch's batches of in-memory arrays (the :class:`~nbtrain.data.adapters.Batches` protocol).

    With ``steps_per_epoch``, an epoch is that many batches and the next epoch continues where the last one
    stopped (Keras's semantics for training); with ``one_pass``, ``steps_per_epoch`` only caps one pass over
    the data (evaluate and predict).

    Args:
        data: an :class:`ArrayData`.
        batch_size: samples per batch.
        shuffle: True, False or ``"batch"``.
        steps_per_epoch: batches per epoch, or None for one pass over the data.
        rng: NumPy generator used for shuffling.
        one_pass: never read past the end of the data.
    """

    exhausted = False   # arrays can be read again and again

    def __init__(self, data: ArrayData, batch_size: int, shuffle=False, steps_per_epoch=None, rng=None,
                 one_pass=False):
        if one_pass and steps_per_epoch:
            steps_per_epoch = min(steps_per_epoch, data.num_batches(batch_size))
        self.data, self.batch_size, self.shuffle, self.rng = data, batch_size, shuffle, rng
        self.steps_per_epoch = steps_per_epoch
        self._current = None

    @property
    def num_batches(self) -> int:
        return self.steps_per_epoch or self.data.num_batches(self.batch_size)

    @property
    def num_samples(self) -> int:
        return self.data.num_samples

    def epoch(self):
        """Yield ``(step, (xs, ys, sw))`` for one epoch."""
        if self.steps_per_epoch is None:
            yield from enumerate(self.data.batches(self.batch_size, self.shuffle, self.rng))
            return
        for step in range(self.steps_per_epoch):
            batch = self._next_batch()
            if batch is None:
                warnings.warn(
                    f"The data ran out after {step} of steps_per_epoch={self.steps_per_epoch} batches; this epoch "
                    f"ends early. With {self.data.num_samples} samples and batch_size={self.batch_size} there are "
                    f"{self.data.num_batches(self.batch_size)} batches: lower steps_per_epoch or leave it unset.",
                    stacklevel=3,
                )
                return
            yield step, batch

    def _next_batch(self):
        """The next batch of the current pass over the data; a pass that ends starts the next one (reshuffled)
        when an epoch fits in the data, so epochs of ``steps_per_epoch`` batches run on across passes."""
        if self._current is None:
            self._current = self.data.batches(self.batch_size, self.shuffle, self.rng)
        batch = next(self._current, None)
        if batch is None:
            self._current = None
            if self.steps_per_epoch <= self.data.num_batches(self.batch_size):
                return self._next_batch()
        return batch


# Rows are checked in blocks of about this many bytes: one pass over the data, with a temporary of
# a quarter of a block (np.isfinite's booleans), however large the array.
FINITE_CHECK_BLOCK_BYTES = 4 << 20

FINITE_FIX = ("Replace or drop them before training: np.nan_to_num({array}) (NaN to 0), df.dropna() for a pandas "
              "DataFrame, or sklearn.impute.SimpleImputer() to fill them with the column means.")


def check_all_finite(arrays: list[np.ndarray] | None, name: str) -> None:
    """:func:`check_finite` for each array of an argument (``x``, or ``x[0]``, ``x[1]`` for several inputs)."""
    for i, array in enumerate(arrays or []):
        check_finite(array, name if len(arrays) == 1 else f"{name}[{i}]")


def check_finite(array: np.ndarray, name: str, shown: int = 5) -> None:
    """Raise when a float array holds NaN or inf, naming the array, the count and the first positions.

    The check reads the rows in blocks of about 4 MB with two reductions each (no temporary array), so a
    400 MB array costs about as much as reading it twice from cache. Values of float64 arrays too large for
    float32 count as bad too: they would become inf when cast.

    Example:
        >>> check_finite(np.array([[1.0, np.nan]], np.float32), "x")
        Traceback (most recent call last):
        ...
        ValueError: x holds 1 NaN or infinite value (1 NaN, 0 inf) of 2, first at (0, 1) (row, column). Replace ...
    """
    if array.dtype.kind != "f" or array.size == 0:
        return
    rows = array.reshape(array.shape[0], -1)
    rows_per_block = max(1, FINITE_CHECK_BLOCK_BYTES // max(1, rows.shape[1] * rows.itemsize))
    bad_blocks = [start for start in range(0, rows.shape[0], rows_per_block)
                  if not _block_fits_float32(rows[start:start + rows_per_block])]
    if bad_blocks:
        raise ValueError(_not_finite_message(array, rows, rows_per_block, bad_blocks, name, shown))


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _block_fits_float32(block: np.ndarray) -> bool:
    """True when every value of ``block`` is finite once cast to float32 (1e300 in float64 would become inf).

    min and max propagate NaN and see inf, so two reductions decide it without a temporary array.
    """
    return bool(-FLOAT32_MAX <= block.min() and block.max() <= FLOAT32_MAX)


def _fits_float32(block: np.ndarray) -> np.ndarray:
    """Elementwise :func:`_block_fits_float32`, to count and locate the bad values."""
    if block.dtype.itemsize <= 4:
        return np.isfinite(block)
    return np.abs(block) <= FLOAT32_MAX     # False for NaN, inf, and values too large for float32


def _not_finite_message(array, rows, rows_per_block, bad_blocks, name, shown) -> str:
    """Count the NaN, inf and too-large values in the blocks that hold some, and show the first ones."""
    nans = infs = too_large = 0
    positions = []
    for start in bad_blocks:
        block = rows[start:start + rows_per_block]
        bad = ~_fits_float32(block)
        block_nans, block_infs = int(np.isnan(block).sum()), int(np.isinf(block).sum())
        nans, infs, too_large = nans + block_nans, infs + block_infs, too_large + int(bad.sum()) - block_nans - block_infs
        if len(positions) < shown:
            for row, column in np.argwhere(bad)[:shown - len(positions)]:
                index = (start + int(row),) + np.unravel_index(int(column), array.shape[1:])
                positions.append(str(tuple(int(i) for i in index)) if len(index) > 1 else f"row {index[0]}")
    count = nans + infs + too_large
    kinds = f"{nans} NaN, {infs} inf" + (f", {too_large} too large for float32" if too_large else "")
    return (f"{name} holds {count} NaN or infinite value{'s' if count > 1 else ''} ({kinds}) of "
            f"{array.size}, first at {', '.join(positions)}{_axes_note(array)}. "
            + FINITE_FIX.format(array=name.split()[-1]))


def _axes_note(array) -> str:
    return " (row, column)" if array.ndim == 2 else " (row, ...)" if array.ndim > 2 else ""
