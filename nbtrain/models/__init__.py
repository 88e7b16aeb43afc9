"""Models: ``Sequential`` (a stack of layers) and ``Model(inputs, outputs)`` (a graph of layers)."""

from nbtrain.models.functional import Functional
from nbtrain.models.model import Model
from nbtrain.models.saving import load_model, save_model
from nbtrain.models.sequential import Sequential
from nbtrain.models import subclassed  # noqa: F401  (Model subclasses with call() are traced)

__all__ = ["Functional", "Model", "Sequential", "load_model", "save_model"]
