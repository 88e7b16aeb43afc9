"""Data inputs for fit, evaluate and predict."""

from nbtrain.data.arrays import ArrayData, EpochIterator

__all__ = ["ArrayData", "EpochIterator"]
