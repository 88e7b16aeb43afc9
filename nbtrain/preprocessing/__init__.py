"""Keras's older import paths for the sequence helpers: ``nbtrain.preprocessing.sequence.pad_sequences`` and
``nbtrain.preprocessing.timeseries_dataset_from_array`` (the same functions as in `nbtrain.utils`)."""

from nbtrain.preprocessing import sequence
from nbtrain.utils.sequence_utils import timeseries_dataset_from_array

__all__ = ["sequence", "timeseries_dataset_from_array"]
