"""One entry point from what the user passed to ``fit``/``evaluate``/``predict`` to batches: :func:`get_batches`.

Whatever the data is (NumPy arrays, a list or dict of arrays, a generator, an iterable, a ``PyDataset``),
the training loop sees one thing, a :class:`Batches` source. The division of labour, as in Keras's
data adapters and epoch iterator:

- the *model* turns arrays into float32 :class:`~nbtrain.data.arrays.ArrayData` and checks them against its
  inputs and outputs (``nbtrain.models.model_io``), and gives a check to run on a stream's first batch;
- *this module* picks the source (:class:`~nbtrain.data.arrays.EpochIterator` for arrays,
  :class:`~nbtrain.data.generators.BatchStream` for streams), applies class weights, shuffling and
  ``steps``, and rejects the array-only arguments with a stream;
- the *Trainer* runs epochs, callbacks and validation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np

from nbtrain.data.arrays import ArrayData, EpochIterator
from nbtrain.data.generators import BatchStream, check_not_a_generator_function, is_batch_source

DEFAULT_BATCH_SIZE = 32

Batch = tuple[list[np.ndarray], list[np.ndarray] | None, np.ndarray | None]   # (xs, ys, sample_weight)


class Batches(Protocol):
    """What the training loop reads: an epoch of numbered batches at a time.

    Attributes:
        num_batches: batches per epoch, or None when a stream does not say (a generator without ``len``).
        num_samples: samples in the data, or None for streams.
        batch_size: samples per batch, or None for streams (the source decides).
        exhausted: True once a one-shot generator has run dry, so no later epoch can get data.
    """

    num_batches: int | None
    num_samples: int | None
    batch_size: int | None
    exhausted: bool

    def epoch(self) -> Iterator[tuple[int, Batch]]:
        """Yield ``(step, (xs, ys, sample_weight))`` for one epoch, ``step`` counting from 0."""


def get_batches(x, y=None, sample_weight=None, *, to_arrays: Callable[..., ArrayData] | None = None,
                batch_size=None, steps=None, shuffle=False, rng=None, class_weight=None, one_pass=False,
                check_first_batch=None, what="x", workers=None, max_queue_size=None) -> Batches:
    """The batch source for ``x`` (arrays, an :class:`ArrayData`, or a stream) and its targets and weights.

    Args:
        x, y, sample_weight: what the user passed; with a stream, ``y`` and ``sample_weight`` come from it.
        to_arrays: ``to_arrays(x, y, sample_weight) -> ArrayData``: the model's conversion and checks of
            arrays (not needed when ``x`` is already an ``ArrayData``).
        batch_size: samples per batch for arrays; default 32, or the data split evenly into ``steps``.
        steps: batches per epoch (``steps_per_epoch``, ``validation_steps``, ``steps``).
        shuffle: True, False or ``"batch"`` for arrays; True reorders a ``PyDataset``'s batches.
        rng: the NumPy generator that shuffles.
        class_weight: ``{class index: weight}``, folded into the sample weights.
        one_pass: read the data at most once (evaluate, predict): ``steps`` only caps the batches.
        check_first_batch: ``check(xs, ys)``, run on a stream's first batch (arrays are checked by
            ``to_arrays``).
        what: the argument's name in messages (``x``, ``validation_data``).
        workers, max_queue_size: background preparation of ``PyDataset`` batches.

    Example:
        >>> import numpy as np
        >>> from nbtrain.data.arrays import ArrayData
        >>> batches = get_batches(ArrayData([np.zeros((10, 3), np.float32)]), batch_size=4)
        >>> batches.num_batches, [len(xs[0]) for _, (xs, _, _) in batches.epoch()]
        (3, [4, 4, 2])
    """
    check_not_a_generator_function(x, what)
    check_shuffle(shuffle)
    if is_batch_source(x):
        _reject_array_arguments(y, sample_weight)
        return BatchStream(x, steps, shuffle, rng, what, workers, max_queue_size, class_weight, check_first_batch)
    data = x if isinstance(x, ArrayData) else to_arrays(x, y, sample_weight)
    if class_weight is not None:
        data = data.weighted_by_class(class_weight)
    if batch_size is None:
        batch_size = math.ceil(data.num_samples / steps) if steps and not one_pass else DEFAULT_BATCH_SIZE
    return EpochIterator(data, batch_size, shuffle=shuffle, steps_per_epoch=steps, rng=rng, one_pass=one_pass)


def check_shuffle(shuffle) -> None:
    """Refuse a ``shuffle`` other than True, False or ``"batch"`` (``"yes"`` would otherwise mean True)."""
    if isinstance(shuffle, (bool, np.bool_)) or (isinstance(shuffle, str) and shuffle == "batch"):
        return
    raise ValueError(f"shuffle must be True, False or \"batch\" (shuffle within each batch), got {shuffle!r}.")


def _reject_array_arguments(y, sample_weight) -> None:
    if y is not None:
        raise ValueError("When x is a generator or a PyDataset, do not pass y: yield (x, y) tuples from it instead.")
    if sample_weight is not None:
        raise ValueError("When x is a generator or a PyDataset, do not pass sample_weight: yield "
                         "(x, y, sample_weight) tuples from it instead.")
