"""Shared reading of the CIFAR python-pickle archives (``cifar-10-python.tar.gz``, ``cifar-100-python.tar.gz``)."""

from __future__ import annotations

import numpy as np

from nbtrain.datasets._download import fetch
from nbtrain.datasets._safe_load import loads_arrays, read_tar_members


def load_cifar(archive_name, label_key, train_members, test_members, download, label_dtype=np.int64):
    """Fetch a CIFAR archive (once) and read it as Keras returns it: labels as a column of ``label_dtype``.

    Args:
        archive_name: ``"cifar-10-python.tar.gz"`` or ``"cifar-100-python.tar.gz"``.
        label_key: the labels to read, as in :func:`read_batches`.
        train_members, test_members: the archive's members holding each split.
        download: the loader's ``base_url``, ``cache_dir``, ``progress`` and ``out`` arguments, as a dict.
        label_dtype: uint8 for CIFAR-10 and int64 for CIFAR-100, as Keras gives them.
    """
    archive = fetch(archive_name, **download)
    (x_train, y_train), (x_test, y_test) = read_batches(archive, label_key, train_members, test_members)
    return (x_train, _column(y_train, label_dtype)), (x_test, _column(y_test, label_dtype))


def _column(labels, dtype):
    return labels.astype(dtype, copy=False).reshape(-1, 1)


def read_batches(archive, label_key, *groups):
    """Read the pickled batches of a CIFAR archive in one pass and stack each group of members.

    Each member is a pickled dict with ``data`` (uint8, one row of 3072 = 3x32x32 values per image, channels
    first) and a list of labels under ``label_key``.

    Args:
        archive: path of the ``.tar.gz``.
        label_key: ``"labels"`` (CIFAR-10), ``"fine_labels"`` or ``"coarse_labels"`` (CIFAR-100).
        *groups: tuples of member names, such as the five training batches and the test batch.

    Returns:
        One ``(x, y)`` per group: x uint8 of shape ``(n, 32, 32, 3)`` (channels last, contiguous) and y int64
        of shape ``(n,)``.
    """
    names = [name for group in groups for name in group]
    batches = read_tar_members(archive, names, decode=lambda data: _decode_batch(data, label_key))
    stacked = []
    for group in groups:
        images = [batches[name][0] for name in group]
        labels = [batches[name][1] for name in group]
        stacked.append((np.concatenate(images), np.concatenate(labels)))
        for name in group:
            del batches[name]
    return stacked


def _decode_batch(data, label_key):
    batch = loads_arrays(data)
    if not isinstance(batch, dict):
        raise ValueError("A CIFAR batch does not hold a dict; the archive is not the expected one.")
    batch = {key.decode("utf-8") if isinstance(key, bytes) else key: value for key, value in batch.items()}
    images, labels = batch.get("data"), batch.get(label_key)
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2 \
            or images.shape[1] != 3072:
        raise ValueError("A CIFAR batch has no uint8 'data' array of shape (n, 3072).")
    if labels is None or len(labels) != len(images):
        raise ValueError(f"A CIFAR batch has no '{label_key}' list with one label per image.")
    channels_last = np.ascontiguousarray(images.reshape(len(images), 3, 32, 32).transpose(0, 2, 3, 1))
    return channels_last, np.asarray(labels, dtype=np.int64)
