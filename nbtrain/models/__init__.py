"""Models: ``Sequential`` (a stack of layers) and the ``Model`` base class."""

from nbtrain.models.model import Model
from nbtrain.models.sequential import Sequential

__all__ = ["Model", "Sequential"]
