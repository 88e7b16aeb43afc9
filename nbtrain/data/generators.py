"""Data that arrives in batches: Python generators and iterables, and ``PyDataset`` (Keras's ``Sequence``)."""

from __future__ import annotations

import inspect
import warnings
from collections import deque

import numpy as np

from nbtrain.data.arrays import (as_array_list, cast_floats, check_all_finite, class_weights_to_sample_weights,
                                 sample_weight_array)


class PyDataset:
    """Base class for data sets served batch by batch: implement ``__len__`` and ``__getitem__``.

    ``__getitem__(index)`` returns one whole batch as ``(x, y)`` or ``(x, y, sample_weight)`` (or ``(x,)``
    for predict). ``on_epoch_end()`` runs after every epoch, e.g. to reshuffle.

    Args:
        workers: with more than 1, batches are prepared ahead in that many background threads.
        use_multiprocessing: accepted for Keras compatibility; nbtrain uses threads (NumPy releases the GIL).
        max_queue_size: how many batches may be prepared ahead.

    Example:
        >>> class Batches(PyDataset):
        ...     def __init__(self, x, y, batch_size=32, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.x, self.y, self.batch_size = x, y, batch_size
        ...     def __len__(self):
        ...         return -(-len(self.x) // self.batch_size)
        ...     def __getitem__(self, index):
        ...         part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        ...         return self.x[part], self.y[part]
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers = int(workers)
        self.use_multiprocessing = bool(use_multiprocessing)
        self.max_queue_size = int(max_queue_size)
        if self.workers < 1 or self.max_queue_size < 1:
            raise ValueError(f"PyDataset needs workers >= 1 and max_queue_size >= 1, got workers={workers}, "
                             f"max_queue_size={max_queue_size}.")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ (the number of batches).")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) returning a batch.")

    @property
    def num_batches(self):
        return len(self)

    def on_epoch_begin(self):
        """Called before every epoch."""

    def on_epoch_end(self):
        """Called after every epoch."""


Sequence = PyDataset


def is_batch_source(x) -> bool:
    """True for data that comes in batches (generators, iterables, PyDataset) rather than as arrays."""
    if isinstance(x, PyDataset) or inspect.isgenerator(x):
        return True
    if isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)) or hasattr(x, "__array__"):
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__")


def check_not_a_generator_function(x, what: str) -> None:
    if inspect.isgeneratorfunction(x):
        raise TypeError(f"{what} is a generator function; call it to pass the generator: "
                        f"fit({x.__name__}(), ...) rather than fit({x.__name__}, ...).")


def unpack_batch(item, what: str):
    """Split one yielded batch into ``(x, y, sample_weight)``; y and sample_weight may be None."""
    if isinstance(item, tuple) and 1 <= len(item) <= 3:
        x, y, sample_weight = (tuple(item) + (None, None))[:3]
        return x, y, sample_weight
    if isinstance(item, list) and len(item) in (2, 3):
        raise TypeError(f"{what} yielded a list of {len(item)} items; yield a tuple (x, y) or (x, y, sample_weight) "
                        f"so nbtrain can tell inputs from targets (a list means several inputs).")
    if isinstance(item, np.ndarray):
        return item, None, None
    raise TypeError(f"{what} must yield tuples (x,), (x, y) or (x, y, sample_weight), got {type(item).__name__}.")


class _Prefetcher:
    """Calls ``dataset[i]`` for the next indices in background threads, keeping order."""

    def __init__(self, dataset, indices, workers, queue_size):
        import concurrent.futures   # here: it loads logging too, which `import nbtrain` need not pay for

        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nbtrain-data")
        self._dataset, self._indices, self._queue_size = dataset, iter(indices), queue_size
        self._pending = deque()

    def __iter__(self):
        try:
            self._fill()
            while self._pending:
                item = self._pending.popleft().result()
                self._fill()
                yield item
        finally:
            for future in self._pending:
                future.cancel()
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _fill(self):
        while len(self._pending) < self._queue_size:
            index = next(self._indices, None)
            if index is None:
                return
            self._pending.append(self._pool.submit(self._dataset.__getitem__, index))


class BatchStream:
    """Serves epochs of batches from a generator, an iterable or a ``PyDataset``.

    Args:
        source: the generator, iterable or PyDataset.
        steps_per_epoch: batches per epoch; None means until the source is exhausted (or ``len`` batches).
        shuffle: for a PyDataset, visit its batches in a new random order each epoch.
        rng: NumPy generator for that order.
        what: name used in messages (``x``, ``validation_data``).
        workers, max_queue_size: background preparation of PyDataset batches.
        class_weight: ``{class index: weight}`` folded into each batch's sample weights.
        check_first_batch: called as ``check(xs, ys)`` on the first batch served, before it is used: the
            boundary checks arrays get when they are converted.
    """

    num_samples = None   # unknown until the source has been read
    batch_size = None    # the source decides

    def __init__(self, source, steps_per_epoch=None, shuffle=False, rng=None, what="x", workers=None,
                 max_queue_size=None, class_weight=None, check_first_batch=None):
        self.source, self.steps_per_epoch, self.shuffle, self.rng, self.what = source, steps_per_epoch, shuffle, rng, what
        self.class_weight = class_weight
        self._check_first_batch = check_first_batch
        self.is_dataset = isinstance(source, PyDataset)
        self.workers = workers if workers is not None else getattr(source, "workers", 1)
        self.max_queue_size = max_queue_size if max_queue_size is not None else getattr(source, "max_queue_size", 10)
        self._iterator = None
        self.exhausted = False
        self.batches_served = 0   # over all epochs: a source that never served one is empty, an error for the caller

    @property
    def num_batches(self):
        if self.steps_per_epoch:
            return self.steps_per_epoch
        if self.is_dataset:
            return len(self.source)
        return len(self.source) if hasattr(self.source, "__len__") else None

    def _dataset_items(self):
        order = np.arange(len(self.source))
        if self.shuffle and self.rng is not None:
            order = self.rng.permutation(order)
        if self.workers > 1:
            return iter(_Prefetcher(self.source, order.tolist(), self.workers, self.max_queue_size))
        return (self.source[int(i)] for i in order)

    def _fresh_iterator(self):
        if self.is_dataset:
            self.source.on_epoch_begin()
            return self._dataset_items()
        if inspect.isgenerator(self.source) or hasattr(self.source, "__next__"):
            return self.source  # a generator can be consumed only once; it continues across epochs
        return iter(self.source)  # a re-iterable collection restarts every epoch

    def epoch(self):
        """Yield ``(step, (xs, ys, sample_weight))`` for one epoch."""
        if self._iterator is None or not self.steps_per_epoch:
            self._iterator = self._fresh_iterator()
        step = 0
        limit = self.steps_per_epoch
        while limit is None or step < limit:
            item = next(self._iterator, _END)
            if item is _END:
                self._iterator = None
                self._ran_dry(step)
                break
            batch = self._arrays(item, step)
            if self._check_first_batch is not None:
                self._check_first_batch(*batch[:2])
                self._check_first_batch = None
            self.batches_served += 1
            yield step, batch
            step += 1
        if self.is_dataset and (limit is None or self._iterator is None):
            self.source.on_epoch_end()

    def _ran_dry(self, step):
        one_shot = not self.is_dataset and (inspect.isgenerator(self.source) or hasattr(self.source, "__next__"))
        if self.steps_per_epoch and step < self.steps_per_epoch:
            warnings.warn(
                f"{self.what} ran out of data after {step} of steps_per_epoch={self.steps_per_epoch} batches; "
                f"this epoch ends early. Make the generator loop forever (e.g. `while True:`), or lower "
                f"steps_per_epoch to the number of batches it yields.", stacklevel=4)
        if one_shot and step == 0:
            self.exhausted = True
            if self.batches_served:   # with no batch at all, the caller raises (see no_batches_message)
                warnings.warn(
                    f"{self.what} is an exhausted generator: it yielded no batches this epoch (it served "
                    f"{self.batches_served} before), so training stops here. A generator can be read only once; "
                    f"pass {'validation_steps' if self.what == 'validation_data' else 'steps_per_epoch'} with a "
                    f"generator that loops forever, or use a PyDataset (nbtrain.utils.PyDataset) to train for "
                    f"several epochs.", stacklevel=4)

    def _arrays(self, item, step):
        x, y, sample_weight = unpack_batch(item, self.what)
        # Batches are named as people count them, from 1.
        where = f"{self.what} batch {step + 1} (counting from 1):"
        xs = cast_floats(as_array_list(x, f"{where} x"))
        ys = cast_floats(as_array_list(y, f"{where} y"))
        sw = None if sample_weight is None else sample_weight_array(sample_weight, ys, f"{where} sample_weight")
        if self.class_weight is not None and ys is not None:
            weights = class_weights_to_sample_weights(self.class_weight, ys[0])
            sw = weights if sw is None else sw * weights
        # A stream is checked batch by batch as it arrives: its NaN would otherwise reach the weights
        # before anything looked at it.
        check_all_finite(xs, f"{where} x")
        check_all_finite(ys, f"{where} y")
        check_all_finite(None if sw is None else [sw], f"{where} sample_weight")
        return xs, ys, sw


_END = object()


def no_batches_message(what: str, purpose: str) -> str:
    """The error for a generator, iterable or PyDataset that yielded no batch at all.

    Example:
        >>> no_batches_message("x", "evaluate")[:54]
        'x yielded no batches, so there is nothing to evaluate.'
    """
    return (f"{what} yielded no batches, so there is nothing to {purpose}. An empty generator, list or "
            f"PyDataset has nothing to give; a generator that an earlier call (or an earlier run of this cell) "
            f"already read to its end has nothing left: create it again before each call, or use a PyDataset "
            f"(nbtrain.utils.PyDataset), which can be read again and again.")
