"""Layers: the building blocks of a model (``from nbtrain.layers import Dense, Dropout``)."""

from nbtrain.layers.core import Activation, Dense, Dropout, Flatten, Reshape
from nbtrain.layers.input_layer import Input, InputLayer, SymbolicTensor
from nbtrain.layers.layer import Layer
from nbtrain.layers.merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add,
                                    concatenate)

__all__ = ["Activation", "Add", "Average", "Concatenate", "Dense", "Dropout", "Flatten", "Input", "InputLayer",
           "Layer", "Maximum", "Minimum", "Multiply", "Reshape", "Subtract", "SymbolicTensor", "add", "concatenate"]
