"""Utilities: ``to_categorical``, ``pad_sequences``, ``timeseries_dataset_from_array``, ``set_random_seed``,
``clear_session`` and friends."""

from nbtrain.data.generators import PyDataset, Sequence
from nbtrain.utils.data_utils import normalize, to_categorical
from nbtrain.utils.naming import clear_session
from nbtrain.utils.random import set_random_seed
from nbtrain.utils.sequence_utils import pad_sequences, timeseries_dataset_from_array

__all__ = ["PyDataset", "Sequence", "clear_session", "normalize", "pad_sequences", "set_random_seed",
           "timeseries_dataset_from_array", "to_categorical"]
