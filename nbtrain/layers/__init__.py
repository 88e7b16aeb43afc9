"""Layers: the building blocks of a model (``from nbtrain.layers import Dense, Dropout``)."""

from nbtrain.layers.core import Activation, Dense, Dropout, Flatten, Reshape
from nbtrain.layers.input_layer import Input, InputLayer, SymbolicTensor
from nbtrain.layers.layer import Layer

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Layer", "Reshape", "SymbolicTensor"]
