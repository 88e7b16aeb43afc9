"""The Keras backend functions older tutorials use as ``K``: ``from nbtrain import backend as K``.

``K.mean``, ``K.square``, ``K.sum``, ``K.clip``, ``K.epsilon()``, ... with the argument names of
``keras.backend`` (tf.keras 2), computed by :mod:`nbtrain.ops`, so a custom loss or metric written with them
is differentiated automatically.

Example:
    >>> import numpy as np
    >>> from nbtrain import backend as K
    >>> def rmse(y_true, y_pred):
    ...     return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1))
    >>> rmse(np.zeros((1, 2), np.float32), np.array([[3.0, 4.0]], np.float32)).round(4)
    array([3.5355], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from nbtrain import ops, random
from nbtrain.utils import naming

_epsilon = 1e-7
_FLOATX = "float32"


# ------------------------------------------------------------------------------------------- configuration


def epsilon() -> float:
    """The small constant added to denominators and inside logs (1e-7, as Keras)."""
    return _epsilon


def set_epsilon(value: float) -> None:
    """Change :func:`epsilon`."""
    global _epsilon
    _epsilon = float(value)


def floatx() -> str:
    """The float type of weights and computations: ``"float32"``."""
    return _FLOATX


def image_data_format() -> str:
    """Where image layers expect the channel axis by default (see :func:`nbtrain.config.image_data_format`)."""
    from nbtrain import config

    return config.image_data_format()


def set_image_data_format(data_format: str) -> None:
    """Change :func:`image_data_format` (see :func:`nbtrain.config.set_image_data_format`)."""
    from nbtrain import config

    config.set_image_data_format(data_format)


def backend() -> str:
    """The name of the array library underneath: ``"numpy"``."""
    return "numpy"


def clear_session() -> None:
    """Restart layer numbering (``dense``, ``dense_1``, ...), as ``keras.backend.clear_session()``."""
    naming.clear_session()


def cast_to_floatx(x):
    """``x`` as a float32 array."""
    return np.asarray(x, dtype=_FLOATX)


# ------------------------------------------------------------------------------------- arrays and variables


def constant(value, dtype=None, shape=None, name=None):
    """An array of ``value`` (broadcast to ``shape`` if given)."""
    array = np.asarray(value, dtype=dtype or _FLOATX)
    return np.array(np.broadcast_to(array, shape)) if shape is not None else array


def variable(value, dtype=None, name=None):
    """A :class:`nbtrain.ops.Variable` holding ``value``."""
    return ops.Variable(value, dtype=dtype or _FLOATX, name=name)


def get_value(x) -> np.ndarray:
    """The values of an array, tensor or variable as a NumPy array."""
    return ops.convert_to_numpy(x)


def eval(x) -> np.ndarray:
    """The values of ``x`` (everything in nbtrain is already computed)."""
    return ops.convert_to_numpy(x)


def int_shape(x) -> tuple:
    """The shape as a tuple of ints."""
    return ops.shape(x)


def shape(x) -> tuple:
    """The shape as a tuple of ints."""
    return ops.shape(x)


def ndim(x) -> int:
    """The number of axes."""
    return ops.ndim(x)


def dtype(x) -> str:
    """The dtype's name."""
    return ops.dtype(x)


def count_params(x) -> int:
    """The number of elements of a weight."""
    return ops.size(x)


def zeros(shape, dtype=None, name=None):
    return ops.zeros(shape, dtype or _FLOATX)


def ones(shape, dtype=None, name=None):
    return ops.ones(shape, dtype or _FLOATX)


def eye(size, dtype=None, name=None):
    return ops.eye(size, dtype=dtype or _FLOATX)


def zeros_like(x, dtype=None, name=None):
    return ops.zeros_like(x, dtype)


def ones_like(x, dtype=None, name=None):
    return ops.ones_like(x, dtype)


def arange(start, stop=None, step=1, dtype="int32"):
    return ops.arange(start, stop, step, dtype)


def cast(x, dtype):
    return ops.cast(x, dtype)


# ------------------------------------------------------------------------------------------------- maths


def _reduction(op):
    def reduce(x, axis=None, keepdims=False):
        return op(x, axis=axis, keepdims=keepdims)

    reduce.__name__ = op.__name__
    reduce.__doc__ = f"``ops.{op.__name__}`` over ``axis`` (None: all axes)."
    return reduce


mean = _reduction(ops.mean)
sum = _reduction(ops.sum)
max = _reduction(ops.max)
min = _reduction(ops.min)
prod = _reduction(ops.prod)
std = _reduction(ops.std)
var = _reduction(ops.var)
logsumexp = _reduction(ops.logsumexp)
all = _reduction(ops.all)
any = _reduction(ops.any)


def argmax(x, axis=-1):
    return ops.argmax(x, axis=axis)


def argmin(x, axis=-1):
    return ops.argmin(x, axis=axis)


def cumsum(x, axis=0):
    return ops.cumsum(x, axis=axis)


abs = ops.abs
square = ops.square
sqrt = ops.sqrt
exp = ops.exp
log = ops.log
sign = ops.sign
round = ops.round
sin = ops.sin
cos = ops.cos
maximum = ops.maximum
minimum = ops.minimum
equal = ops.equal
not_equal = ops.not_equal
greater = ops.greater
greater_equal = ops.greater_equal
less = ops.less
less_equal = ops.less_equal
stop_gradient = ops.stop_gradient
dot = ops.dot


def pow(x, a):
    """``x ** a`` elementwise."""
    return ops.power(x, a)


def clip(x, min_value, max_value):
    """``x`` limited to ``[min_value, max_value]`` (None: no limit on that side)."""
    if min_value is None:
        min_value = -np.inf
    if max_value is None:
        max_value = np.inf
    if max_value < min_value:
        max_value = min_value  # as Keras
    return ops.clip(x, min_value, max_value)


def l2_normalize(x, axis=None):
    """``x`` divided by its L2 norm along ``axis``."""
    squares = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.multiply(x, ops.rsqrt(ops.maximum(squares, 1e-12)))


def batch_dot(x, y, axes=None):
    """Per-sample products: ``(b, n) . (b, n) -> (b, 1)``, ``(b, m, n) . (b, n, k) -> (b, m, k)``."""
    if axes is not None:
        raise NotImplementedError("batch_dot(axes=...) is not supported; write it with ops.einsum, e.g. "
                                  "ops.einsum('bij,bik->bjk', x, y).")
    if ops.ndim(x) == 2 and ops.ndim(y) == 2:
        return ops.sum(ops.multiply(x, y), axis=1, keepdims=True)
    return ops.matmul(x, y)


def switch(condition, then_expression, else_expression):
    """``then_expression`` where ``condition`` holds, else ``else_expression``."""
    return ops.where(condition, then_expression, else_expression)


# ------------------------------------------------------------------------------------------------- shapes


def reshape(x, shape):
    return ops.reshape(x, shape)


def flatten(x):
    """All values in one axis."""
    return ops.reshape(x, (-1,))


def batch_flatten(x):
    """``(batch, ...)`` -> ``(batch, everything else)``."""
    return ops.reshape(x, (ops.shape(x)[0], -1))


def expand_dims(x, axis=-1):
    return ops.expand_dims(x, axis)


def squeeze(x, axis):
    return ops.squeeze(x, axis)


def permute_dimensions(x, pattern):
    return ops.transpose(x, tuple(pattern))


def transpose(x):
    return ops.transpose(x)


def concatenate(tensors, axis=-1):
    return ops.concatenate(tensors, axis=axis)


def stack(x, axis=0):
    return ops.stack(x, axis=axis)


def tile(x, n):
    return ops.tile(x, n)


def repeat_elements(x, rep, axis):
    return ops.repeat(x, rep, axis=axis)


def gather(reference, indices):
    """Rows of ``reference`` at ``indices``."""
    return ops.take(reference, indices, axis=0)


def one_hot(indices, num_classes):
    return ops.one_hot(indices, num_classes)


# ----------------------------------------------------------------------------------- activations and losses


relu = ops.relu
sigmoid = ops.sigmoid
hard_sigmoid = ops.hard_sigmoid
tanh = ops.tanh
softplus = ops.softplus
softsign = ops.softsign
elu = ops.elu


def softmax(x, axis=-1):
    return ops.softmax(x, axis=axis)


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary crossentropy."""
    return ops.binary_crossentropy(target, output, from_logits=from_logits)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Crossentropy of each row."""
    return ops.categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Crossentropy against integer labels."""
    return ops.sparse_categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


# ------------------------------------------------------------------------------------------------ random


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return random.normal(shape, mean, stddev, dtype, seed)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return random.uniform(shape, minval, maxval, dtype, seed)


def dropout(x, level, noise_shape=None, seed=None):
    return random.dropout(x, level, noise_shape, seed)
