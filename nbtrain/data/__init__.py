"""Data inputs for fit, evaluate and predict."""

from nbtrain.data.arrays import ArrayData, EpochIterator
from nbtrain.data.generators import BatchStream, PyDataset, Sequence

__all__ = ["ArrayData", "BatchStream", "EpochIterator", "PyDataset", "Sequence"]
