"""Intersection-over-union metrics for segmentation: IoU, MeanIoU, BinaryIoU, OneHotIoU and OneHotMeanIoU.

Every one accumulates a ``num_classes x num_classes`` confusion matrix (rows: true class, columns: predicted
class) weighted by ``sample_weight``; the IoU of a class is ``TP / (TP + FP + FN)`` read off that matrix.
Pixels whose true or predicted class is outside ``[0, num_classes)``, or whose true class is
``ignore_class``, are left out.
"""

from __future__ import annotations

import numpy as np

from nbtrain.losses import EPSILON
from nbtrain.metrics.base import METRICS, Metric, floats


def _class_count(owner, num_classes):
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"{owner} expects num_classes to be an integer >= 1, got {num_classes!r}.")
    return int(num_classes)


def _target_ids(owner, target_class_ids, num_classes):
    ids = [int(i) for i in target_class_ids]
    if not ids:
        raise ValueError(f"{owner} expects at least one class id in target_class_ids, got {target_class_ids!r}.")
    bad = [i for i in ids if not 0 <= i < num_classes]
    if bad:
        raise ValueError(
            f"{owner}: target class id {bad[0]} is out of range [0, {num_classes}). Pass ids of the "
            f"{num_classes} classes, e.g. target_class_ids={list(range(min(num_classes, 2)))}."
        )
    return ids


class _IoUBase(Metric):
    """The weighted confusion matrix every IoU metric reads."""

    direction = "up"

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        self.num_classes = _class_count(type(self).__name__, num_classes)
        self.ignore_class = ignore_class
        self.sparse_y_true = bool(sparse_y_true)
        self.sparse_y_pred = bool(sparse_y_pred)
        self.axis = axis
        # Keras keeps the matrix in its dtype, "int32" by default, and truncates fractional sample weights to
        # int; nbtrain records the dtype but keeps the matrix in float64, so weights count as given
        super().__init__(name=name, dtype=dtype or "int32")

    def reset_state(self):
        self.total_cm = np.zeros((self.num_classes, self.num_classes))

    def _class_ids(self, values, sparse):
        values = floats(values)
        if not sparse:
            values = np.argmax(values, axis=self.axis)
        return values.astype(np.int64).reshape(-1)  # like Keras's cast to int: 0.7 is class 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch to the confusion matrix."""
        self._accumulate(self._class_ids(y_true, self.sparse_y_true), self._class_ids(y_pred, self.sparse_y_pred),
                         sample_weight)

    def _accumulate(self, true_ids, predicted_ids, sample_weight):
        if true_ids.size != predicted_ids.size:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' got {true_ids.size} true class ids but {predicted_ids.size} "
                "predicted ones; y_true and y_pred must label the same pixels."
            )
        weights = np.ones(true_ids.size) if sample_weight is None else floats(sample_weight).reshape(-1)
        weights = np.broadcast_to(weights, true_ids.shape)
        n = self.num_classes
        valid = (true_ids >= 0) & (true_ids < n) & (predicted_ids >= 0) & (predicted_ids < n)
        if self.ignore_class is not None:
            valid &= true_ids != self.ignore_class
        cells = true_ids[valid] * n + predicted_ids[valid]
        self.total_cm += np.bincount(cells, weights=weights[valid], minlength=n * n).reshape(n, n)

    def _class_ious(self, class_ids):
        """(IoU per class id, whether the class occurs at all) for ``class_ids``."""
        true_positives = np.diag(self.total_cm)
        denominator = self.total_cm.sum(axis=0) + self.total_cm.sum(axis=1) - true_positives
        true_positives, denominator = true_positives[class_ids], denominator[class_ids]
        present = denominator > 1e-9
        return np.where(present, true_positives / (denominator + EPSILON), 0.0), present

    def result(self):
        ious, present = self._class_ious(self.target_class_ids)
        # the mean over the target classes that occur in the data (absent classes are skipped)
        return float(np.sum(ious) / (np.sum(present) + EPSILON))


@METRICS.register(name="io_u")
class IoU(_IoUBase):
    """Intersection over union ``TP / (TP + FP + FN)`` of the classes ``target_class_ids``, averaged.

    Args:
        num_classes: how many classes the labels can take.
        target_class_ids: the classes whose IoU is averaged, e.g. ``[0]`` or ``[1, 2]``.
        name: the metric's name.
        dtype: recorded for Keras compatibility (``"int32"`` by default, as Keras).
        ignore_class: a true class to leave out (e.g. a "void" label such as 255), or None.
        sparse_y_true: labels are class ids; False takes the argmax along ``axis``.
        sparse_y_pred: predictions are class ids; False takes the argmax along ``axis``.
        axis: the class axis for the argmax.

    Example:
        >>> round(IoU(num_classes=2, target_class_ids=[0])([0, 0, 1, 1], [0, 1, 0, 1]), 6)
        0.333333
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        self.target_class_ids = _target_ids(type(self).__name__, target_class_ids, _class_count("IoU", num_classes))
        super().__init__(num_classes, name, dtype, ignore_class, sparse_y_true, sparse_y_pred, axis)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


@METRICS.register(name="binary_io_u")
class BinaryIoU(IoU):
    """IoU for a binary task: a prediction is class 1 when ``y_pred >= threshold``, else class 0.

    Args:
        target_class_ids: ``[0]``, ``[1]`` or ``[0, 1]`` (the mean of both).
        threshold: predictions at or above it are class 1.
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> round(BinaryIoU(target_class_ids=[0, 1], threshold=0.3)([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7]), 6)
        0.333333
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Threshold the predictions, then add the batch to the confusion matrix."""
        predicted = (floats(y_pred) >= self.threshold).astype(np.int64).reshape(-1)
        self._accumulate(self._class_ids(y_true, True), predicted, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


@METRICS.register(name="mean_io_u")
class MeanIoU(IoU):
    """The mean IoU over all ``num_classes`` classes that occur (the usual segmentation score).

    Args:
        num_classes: how many classes the labels can take.
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        ignore_class: a true class to leave out, or None.
        sparse_y_true: labels are class ids; False takes the argmax along ``axis``.
        sparse_y_pred: predictions are class ids; False takes the argmax along ``axis``.
        axis: the class axis for the argmax.

    Example:
        >>> round(MeanIoU(num_classes=2)([0, 0, 1, 1], [0, 1, 0, 1]), 6)
        0.333333
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        count = _class_count(type(self).__name__, num_classes)
        super().__init__(count, list(range(count)), name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


@METRICS.register(name="one_hot_io_u")
class OneHotIoU(IoU):
    """IoU of ``target_class_ids`` for one-hot labels (and, by default, score predictions): both are turned
    into class ids by an argmax along ``axis`` first.

    Args:
        num_classes: how many classes (the length of the one-hot axis).
        target_class_ids: the classes whose IoU is averaged.
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        ignore_class: a true class to leave out, or None.
        sparse_y_pred: predictions are already class ids.
        axis: the class axis.

    Example:
        >>> y_true = [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]]
        >>> y_pred = [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]]
        >>> round(OneHotIoU(3, target_class_ids=[0, 2])(y_true, y_pred, sample_weight=[0.1, 0.2, 0.3, 0.4]), 4)
        0.0714
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_pred=False,
                 axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


@METRICS.register(name="one_hot_mean_io_u")
class OneHotMeanIoU(MeanIoU):
    """The mean IoU over all classes, for one-hot labels (and, by default, score predictions).

    Args:
        num_classes: how many classes (the length of the one-hot axis).
        name: the metric's name.
        dtype: recorded for Keras compatibility.
        ignore_class: a true class to leave out, or None.
        sparse_y_pred: predictions are already class ids.
        axis: the class axis.

    Example:
        >>> y_true = [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]]
        >>> y_pred = [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]]
        >>> round(OneHotMeanIoU(3)(y_true, y_pred, sample_weight=[0.1, 0.2, 0.3, 0.4]), 4)
        0.0476
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
