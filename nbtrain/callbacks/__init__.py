"""Callbacks: objects that watch and steer training (``EarlyStopping``, ``History``, progress displays)."""

from nbtrain.callbacks.callback import Callback, CallbackList
from nbtrain.callbacks.early_stopping import EarlyStopping
from nbtrain.callbacks.history import History
from nbtrain.callbacks.progbar import ProgbarLogger

__all__ = ["Callback", "CallbackList", "EarlyStopping", "History", "ProgbarLogger"]
