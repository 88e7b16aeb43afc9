"""Utilities: ``to_categorical``, ``set_random_seed``, ``clear_session`` and friends."""

from nbtrain.data.generators import PyDataset, Sequence
from nbtrain.utils.data_utils import normalize, to_categorical
from nbtrain.utils.naming import clear_session
from nbtrain.utils.random import set_random_seed

__all__ = ["PyDataset", "Sequence", "clear_session", "normalize", "set_random_seed", "to_categorical"]
