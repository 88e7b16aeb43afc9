"""``keras.ops`` on NumPy, with reverse-mode automatic differentiation.

``from nbtrain import ops`` gives Keras 3's op names computed with NumPy in float32: arithmetic (and the
Python operators on tensors), ``matmul``, reductions, elementwise functions, shape manipulation, activations
and crossentropies. On plain arrays an op returns a plain array, so ``ops.mean(ops.square(y_true - y_pred))``
runs eagerly. Inside a :class:`GradientTape` (the training loop opens one around custom code) ops on watched
values record what they did, and the tape gives the gradients; no backward pass is written by hand.

Example:
    >>> import numpy as np
    >>> from nbtrain import ops
    >>> with ops.GradientTape() as tape:
    ...     w = tape.watch(np.array([1.0, -2.0], np.float32))
    ...     loss = ops.mean(ops.square(w))
    >>> tape.gradient(loss, w)
    array([ 1., -2.], dtype=float32)
"""

from nbtrain.ops import autodiff as _autodiff
from nbtrain.ops.array import (arange, argsort, broadcast_to, cast, concatenate, convert_to_numpy, convert_to_tensor,
                               copy, dtype, expand_dims, eye, flip, full, full_like, get_item, identity, is_tensor,
                               moveaxis, ndim, ones, ones_like, pad, repeat, reshape, shape, size, slice, sort, split,
                               squeeze, stack, stop_gradient, swapaxes, take, take_along_axis, tile, transpose, zeros,
                               zeros_like)
from nbtrain.ops.autodiff import GradientTape, Tensor, Variable, value_and_grad, vjp
from nbtrain.ops.math import (abs, absolute, add, all, any, argmax, argmin, average, ceil, clip, cos, count_nonzero,
                              cumsum, divide, dot, einsum, equal, erf, exp, expm1, floor, floor_divide, greater,
                              greater_equal, isfinite, isinf, isnan, less, less_equal, log, log1p, log2, log10,
                              logaddexp, logical_and, logical_not, logical_or, logical_xor, logsumexp, matmul, max,
                              maximum, mean, min, minimum, mod, multiply, nan_to_num, negative, norm, not_equal, outer,
                              power, prod, reciprocal, round, rsqrt, sign, sin, sqrt, square, std, subtract, sum, tanh,
                              tensordot, true_divide, var, where)
from nbtrain.ops.nn import (binary_crossentropy, categorical_crossentropy, elu, gelu, hard_sigmoid, is_tracked,
                            leaky_relu, log_sigmoid, log_softmax, moments, normalize, one_hot, relu, relu6, selu,
                            sigmoid, silu, softmax, softplus, softsign, sparse_categorical_crossentropy, swish, top_k)

__all__ = [
    "GradientTape", "Tensor", "Variable", "value_and_grad", "vjp", "is_tracked",
    # math
    "abs", "absolute", "add", "all", "any", "argmax", "argmin", "ceil", "clip", "cos", "count_nonzero", "cumsum",
    "divide", "dot", "einsum", "equal", "erf", "exp", "expm1", "floor", "floor_divide", "greater", "greater_equal",
    "isfinite", "isinf", "isnan", "less", "less_equal", "log", "log1p", "logical_and", "logical_not", "logical_or",
    "logical_xor", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "mod", "multiply",
    "negative", "norm", "not_equal", "outer", "power", "prod", "reciprocal", "round", "rsqrt", "sign", "sin",
    "sqrt", "square", "std", "subtract", "sum", "tanh", "tensordot", "true_divide", "var", "where", "log2", "log10",
    "logaddexp", "average", "nan_to_num",
    # arrays
    "arange", "argsort", "broadcast_to", "cast", "concatenate", "convert_to_numpy", "convert_to_tensor", "copy",
    "dtype", "expand_dims", "eye", "flip", "full", "full_like", "get_item", "identity", "is_tensor", "moveaxis",
    "ndim", "ones", "ones_like", "pad", "repeat", "reshape", "shape", "size", "slice", "sort", "split", "squeeze",
    "stack", "stop_gradient", "swapaxes", "take", "take_along_axis", "tile", "transpose", "zeros", "zeros_like",
    # nn
    "binary_crossentropy", "categorical_crossentropy", "elu", "gelu", "hard_sigmoid", "leaky_relu", "log_sigmoid",
    "log_softmax", "moments", "normalize", "one_hot", "relu", "relu6", "selu", "sigmoid", "silu", "softmax",
    "softplus", "softsign", "sparse_categorical_crossentropy", "swish", "top_k",
]

# The Python operators on tensors call these (autodiff cannot import the op modules: they import it).
vars(_autodiff.OPS).update({name: globals()[name] for name in __all__})
