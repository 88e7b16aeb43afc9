"""Layers: the building blocks of a model (``from nbtrain.layers import Dense, Dropout``)."""

from nbtrain.layers.core import Activation, Dense, Dropout, Flatten, Reshape
from nbtrain.layers.embedding import Embedding, Masking
from nbtrain.layers.input_layer import Input, InputLayer, SymbolicTensor
from nbtrain.layers.layer import Layer
from nbtrain.layers.merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add,
                                    concatenate)
from nbtrain.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed

__all__ = ["Activation", "Add", "Average", "Bidirectional", "Concatenate", "Dense", "Dropout", "Embedding", "Flatten",
           "GRU", "Input", "InputLayer", "LSTM", "Layer", "Masking", "Maximum", "Minimum", "Multiply", "Reshape",
           "SimpleRNN", "Subtract", "SymbolicTensor", "TimeDistributed", "add", "concatenate"]
