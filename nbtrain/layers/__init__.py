"""Layers: the building blocks of a model (``from nbtrain.layers import Dense, Dropout``)."""

from nbtrain.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from nbtrain.layers.convolutional import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Convolution1D,
                                          Convolution2D, Convolution2DTranspose, UpSampling1D, UpSampling2D,
                                          ZeroPadding1D, ZeroPadding2D)
from nbtrain.layers.convolutional3d import (Conv3D, Conv3DTranspose, Convolution3D, Convolution3DTranspose,
                                            UpSampling3D, ZeroPadding3D)
from nbtrain.layers.core import Activation, ActivityRegularization, Dense, Dropout, Flatten, Identity, Reshape
from nbtrain.layers.embedding import Embedding, Masking
from nbtrain.layers.image_augmentation import (RandomBrightness, RandomContrast, RandomFlip, RandomRotation,
                                               RandomTranslation, RandomZoom)
from nbtrain.layers.input_layer import Input, InputLayer, SymbolicTensor
from nbtrain.layers.lambda_layer import Lambda
from nbtrain.layers.layer import Layer
from nbtrain.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add,
                                    average, concatenate, dot, maximum, minimum, multiply, subtract)
from nbtrain.layers.normalization import (BatchNormalization, GroupNormalization, LayerNormalization,
                                          UnitNormalization)
from nbtrain.layers.pooling import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D, GlobalAveragePooling1D,
                                    GlobalAveragePooling2D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D,
                                    GlobalMaxPool2D, GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D, MaxPool2D,
                                    MaxPooling1D, MaxPooling2D)
from nbtrain.layers.pooling3d import (AveragePooling3D, AvgPool3D, GlobalAveragePooling3D, GlobalAvgPool3D,
                                      GlobalMaxPool3D, GlobalMaxPooling3D, MaxPool3D, MaxPooling3D)
from nbtrain.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed
from nbtrain.layers.rnn_cells import RNN, GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from nbtrain.layers.preprocessing import Normalization, Rescaling
from nbtrain.layers.regularization import (GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D,
                                           SpatialDropout3D)
from nbtrain.layers.separable import (DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D,
                                      SeparableConvolution1D, SeparableConvolution2D)
from nbtrain.layers.reshaping import Cropping1D, Cropping2D, Cropping3D, Permute, RepeatVector
from nbtrain.layers import operators, symbolic
from nbtrain.layers.operators import TensorOperator

# x + y, x - y, x * y and x / 255 on symbolic tensors add these layers; symbolic.py cannot import them itself,
# because their modules import layer.py, which imports symbolic.py.
symbolic.use_arithmetic_layers(add=Add, subtract=Subtract, multiply=Multiply, rescaling=Rescaling, operators=operators)

__all__ = ["Activation", "ActivityRegularization", "Add", "Average", "AveragePooling1D", "AveragePooling2D",
           "AveragePooling3D", "AvgPool1D", "AvgPool2D", "AvgPool3D", "BatchNormalization", "Bidirectional",
           "Concatenate", "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose",
           "Convolution1D", "Convolution2D", "Convolution2DTranspose", "Convolution3D", "Convolution3DTranspose",
           "Cropping1D", "Cropping2D", "Cropping3D", "Dense", "DepthwiseConv1D", "DepthwiseConv2D", "Dot", "Dropout",
           "ELU", "Embedding", "Flatten", "GRU", "GRUCell", "GaussianDropout", "GaussianNoise",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalAvgPool1D",
           "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GroupNormalization", "Identity",
           "Input", "InputLayer", "LSTM", "LSTMCell", "Lambda", "Layer", "LayerNormalization", "LeakyReLU", "Masking",
           "MaxPool1D", "MaxPool2D", "MaxPool3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "Maximum",
           "Minimum", "Multiply", "Normalization", "PReLU", "Permute", "RNN", "RandomBrightness", "RandomContrast",
           "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "ReLU", "RepeatVector", "Rescaling",
           "Reshape", "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D",
           "SimpleRNN", "SimpleRNNCell", "Softmax", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
           "StackedRNNCells", "Subtract", "SymbolicTensor", "TensorOperator", "TimeDistributed", "UnitNormalization",
           "UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "add",
           "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract"]

_NOT_IN_NBTRAIN = {
    "MultiHeadAttention": "Attention layers are not implemented yet.",
    "Attention": "Attention layers are not implemented yet.",
    "AdditiveAttention": "Attention layers are not implemented yet.",
    "TextVectorization": "Turn text into word indices before fit() (a dict from word to index, then "
                         "nbtrain.utils.pad_sequences); nbtrain.datasets.imdb gives reviews as indices already.",
    "StringLookup": "Map strings to indices before fit(), e.g. with a dict or numpy.unique(..., return_inverse=True).",
    "IntegerLookup": "Map values to indices before fit(), e.g. with numpy.unique(..., return_inverse=True).",
    "CategoryEncoding": "One-hot encode before fit() with nbtrain.utils.to_categorical.",
}


def __getattr__(name):
    from nbtrain.utils.errors import missing_name_error

    raise missing_name_error(__name__, name, __all__, _NOT_IN_NBTRAIN)
