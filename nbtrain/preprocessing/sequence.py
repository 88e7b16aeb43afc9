"""``from nbtrain.preprocessing.sequence import pad_sequences``, as in Keras."""

from nbtrain.utils.sequence_utils import pad_sequences

__all__ = ["pad_sequences"]
