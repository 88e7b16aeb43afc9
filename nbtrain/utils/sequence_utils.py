"""Sequence helpers from Keras: ``pad_sequences`` and ``timeseries_dataset_from_array``."""

from __future__ import annotations

import numpy as np

from nbtrain.data.generators import PyDataset
from nbtrain.utils.checks import is_int, number, one_of, positive_int


def _lengths_and_item_shape(sequences) -> tuple[list[int], tuple]:
    """Each sequence's length, and the shape of one step (``()`` for sequences of numbers)."""
    lengths, item_shape = [], None
    for i, sequence in enumerate(sequences):
        try:
            lengths.append(len(sequence))
        except TypeError:
            raise ValueError(f"pad_sequences() expects a list of sequences (lists or arrays), but item {i} is "
                             f"{sequence!r}. For a single sequence, pass [sequence].") from None
        if item_shape is None and len(sequence):
            item_shape = np.asarray(sequence).shape[1:]
    return lengths, item_shape or ()


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0) -> np.ndarray:
    """Make sequences of different lengths one ``(samples, maxlen)`` array, as Keras does.

    Shorter sequences are filled with ``value``; longer ones are cut to ``maxlen``. By default both happen at
    the start ("pre"), so the most recent steps of every sequence line up at the end, which suits recurrent
    layers that read left to right.

    Args:
        sequences: a list of sequences (lists or arrays of numbers, or of equal-shaped steps).
        maxlen: the length of the result; default the longest sequence.
        dtype: the result's dtype (``"int32"`` for word indices; ``"float32"`` for values).
        padding: ``"pre"`` or ``"post"``: where shorter sequences get ``value``.
        truncating: ``"pre"`` or ``"post"``: where longer sequences lose steps.
        value: the padding value (0, which ``Embedding(mask_zero=True)`` treats as padding).

    Example:
        >>> pad_sequences([[1, 2, 3], [4, 5], [6]], maxlen=2)
        array([[2, 3],
               [4, 5],
               [0, 6]], dtype=int32)
    """
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences() expects a list of sequences, got {type(sequences).__name__}.")
    padding = one_of(padding, ("pre", "post"), "padding", "pad_sequences")
    truncating = one_of(truncating, ("pre", "post"), "truncating", "pad_sequences")
    lengths, item_shape = _lengths_and_item_shape(sequences)
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif not is_int(maxlen) or maxlen < 0:
        raise ValueError(f"pad_sequences() expects maxlen to be None or a non-negative integer, got {maxlen!r}.")
    text_dtype = np.dtype(dtype).kind in "USO"
    if isinstance(value, str) and not text_dtype:
        raise ValueError(f"pad_sequences() got the text value={value!r} with dtype={dtype!r}; use dtype=object (or "
                         f"a string dtype) for text, or a numeric value.")
    padded = np.full((len(lengths), int(maxlen)) + item_shape, value, dtype=dtype)
    for row, (sequence, length) in enumerate(zip(sequences, lengths)):
        keep = min(length, int(maxlen))
        if keep == 0:
            continue
        steps = np.asarray(sequence, dtype=dtype)
        if steps.shape[1:] != item_shape:
            raise ValueError(f"pad_sequences() needs every step to have the same shape: sequence {row} has steps of "
                             f"shape {steps.shape[1:]}, the first non-empty one {item_shape}.")
        kept = steps[length - keep:] if truncating == "pre" else steps[:keep]
        if padding == "pre":
            padded[row, int(maxlen) - keep:] = kept
        else:
            padded[row, :keep] = kept
    return padded


class TimeseriesDataset(PyDataset):
    """Batches of sliding windows over a time series, made on request; see `timeseries_dataset_from_array`.

    Iterating over it gives the batches in order; ``fit``, ``evaluate`` and ``predict`` take it directly.
    """

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size, shuffle, seed):
        super().__init__()
        self.data, self.targets = data, targets
        self.starts = starts
        self.sequence_length, self.sampling_rate = sequence_length, sampling_rate
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(starts) if shuffle else starts
        self._offsets = np.arange(sequence_length) * sampling_rate

    def __len__(self):
        return -(-len(self.starts) // self.batch_size)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch {index} of a TimeseriesDataset with {len(self)} batches")
        index %= len(self)
        starts = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        windows = self.data[starts[:, None] + self._offsets]
        return windows if self.targets is None else (windows, self.targets[starts])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def on_epoch_end(self):
        if self.shuffle:
            self._order = self._rng.permutation(self.starts)

    def __repr__(self):
        return (f"<TimeseriesDataset: {len(self.starts)} windows of {self.sequence_length} steps in {len(self)} "
                f"batches of {self.batch_size}{', shuffled' if self.shuffle else ''}>")


def _window_range(data_length, start_index, end_index) -> tuple[int, int]:
    start = 0 if start_index is None else start_index
    end = data_length if end_index is None else end_index
    if not is_int(start) or not 0 <= start < data_length:
        raise ValueError(f"timeseries_dataset_from_array() expects start_index in 0..{data_length - 1} (the data "
                         f"have {data_length} steps), got {start_index!r}.")
    if not is_int(end) or not start < end <= data_length:
        raise ValueError(f"timeseries_dataset_from_array() expects end_index after start_index={start} and at "
                         f"most {data_length} (the data's length), got {end_index!r}.")
    return int(start), int(end)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None):
    """Sliding windows over a time series, in batches, for ``fit``, ``evaluate`` and ``predict`` (as Keras).

    Window ``i`` holds the steps ``data[s], data[s + sampling_rate], ...`` (``sequence_length`` of them) with
    ``s = start_index + i * sequence_stride``, and its target is ``targets[s]``; so to predict the step after
    each window, pass ``targets=data[sequence_length:]``.

    Keras returns a ``tf.data.Dataset``; nbtrain returns a `TimeseriesDataset` (a ``PyDataset``): iterate over
    it for the batches, or pass it to ``fit`` as ``x`` (and as ``validation_data``). With ``shuffle=True`` the
    windows are shuffled again every epoch.

    Args:
        data: array of shape ``(steps, ...)``: the time series.
        targets: array with a target per step (``targets[s]`` goes with the window starting at ``s``), or None
            for windows only (e.g. for ``predict``).
        sequence_length: steps per window.
        sequence_stride: steps between the starts of consecutive windows (1: every step starts one).
        sampling_rate: steps between the steps kept inside a window (6: one of every six).
        batch_size: windows per batch (the last one may be smaller). None gives batches of one window (Keras
            gives single windows without a batch axis).
        shuffle: serve the windows in random order.
        seed: for the shuffling.
        start_index, end_index: use only ``data[start_index:end_index]`` (e.g. to split training and validation
            parts of one series).

    Example:
        >>> series = np.arange(10)
        >>> dataset = timeseries_dataset_from_array(series[:-3], series[3:], sequence_length=3, batch_size=2)
        >>> x, y = dataset[0]
        >>> x.tolist(), y.tolist()
        ([[0, 1, 2], [1, 2, 3]], [3, 4])
    """
    data = np.asarray(data)
    targets = None if targets is None else np.asarray(targets)
    if data.ndim == 0 or len(data) == 0:
        raise ValueError(f"timeseries_dataset_from_array() needs data with at least one step, got shape {data.shape}.")
    what = "timeseries_dataset_from_array"
    sequence_length = positive_int(sequence_length, "sequence_length", what)
    sequence_stride = positive_int(sequence_stride, "sequence_stride", what)
    sampling_rate = positive_int(sampling_rate, "sampling_rate", what)
    batch_size = number(batch_size, "batch_size", what, low=1, integer=True, optional=True)
    start, end = _window_range(len(data), start_index, end_index)
    windows = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        windows = min(windows, len(targets) - start)
    if windows <= 0:
        raise ValueError(f"timeseries_dataset_from_array() can make no window of {sequence_length} steps "
                         f"{'every ' + str(sampling_rate) + ' steps ' if sampling_rate > 1 else ''}from "
                         f"{end - start} steps of data{'' if targets is None else f' and {len(targets)} targets'}.")
    starts = start + np.arange(0, windows, sequence_stride)
    return TimeseriesDataset(data, targets, starts, sequence_length, sampling_rate,
                             1 if batch_size is None else batch_size, bool(shuffle), seed)
