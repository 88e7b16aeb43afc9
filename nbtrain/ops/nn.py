"""Activations, softmax, one-hot encoding and the crossentropies, as ``keras.ops`` has them."""

from __future__ import annotations

import numpy as np

from nbtrain.ops import math as m
from nbtrain.ops._core import FLOATX, arg, float_arg, unary, value
from nbtrain.ops.autodiff import Tensor

EPSILON = 1e-7  # Keras's backend.epsilon(): keeps log() of a probability finite


def relu(x):
    """``max(x, 0)`` (gradient 0 at 0, as Keras)."""
    return unary(x, lambda v: np.maximum(v, 0), lambda g, v, y: g * (v > 0))


def relu6(x):
    """``min(max(x, 0), 6)``."""
    return unary(x, lambda v: np.clip(v, 0, 6), lambda g, v, y: g * ((v > 0) & (v < 6)))


def leaky_relu(x, negative_slope=0.2):
    """``x`` for positive ``x``, ``negative_slope * x`` otherwise."""
    return unary(x, lambda v: np.where(v > 0, v, negative_slope * v),
                 lambda g, v, y: g * np.where(v > 0, 1, negative_slope).astype(v.dtype))


def elu(x, alpha=1.0):
    """``x`` for positive ``x``, ``alpha * (exp(x) - 1)`` otherwise."""
    return unary(x, lambda v: np.where(v > 0, v, alpha * np.expm1(np.minimum(v, 0))),
                 lambda g, v, y: g * np.where(v > 0, 1, y + alpha).astype(v.dtype))


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def selu(x):
    """Scaled ELU with the self-normalizing constants."""
    return m.multiply(elu(x, _SELU_ALPHA), _SELU_SCALE)


def sigmoid(x):
    """``1 / (1 + exp(-x))``, computed without overflow."""
    return unary(x, _stable_sigmoid, lambda g, v, y: g * y * (1 - y))


def _stable_sigmoid(v):
    # exp of a non-positive number only: no overflow for large |x|
    e = np.exp(-np.abs(v))
    return np.where(v >= 0, 1 / (1 + e), e / (1 + e)).astype(np.result_type(v, FLOATX))


def hard_sigmoid(x):
    """``clip(x / 6 + 0.5, 0, 1)`` as Keras 3."""
    return unary(x, lambda v: np.clip(v / 6 + 0.5, 0, 1), lambda g, v, y: g * ((v > -3) & (v < 3)) / 6)


def softplus(x):
    """``log(1 + exp(x))``, computed without overflow."""
    return unary(x, lambda v: np.logaddexp(v, 0).astype(np.result_type(v, FLOATX)),
                 lambda g, v, y: g * _stable_sigmoid(v))


def softsign(x):
    """``x / (1 + |x|)``."""
    return unary(x, lambda v: v / (1 + np.abs(v)), lambda g, v, y: g / np.square(1 + np.abs(v)))


def silu(x):
    """``x * sigmoid(x)`` (also called swish)."""
    def grad(g, v, y):
        s = _stable_sigmoid(v)
        return g * (s + v * s * (1 - s))

    return unary(x, lambda v: v * _stable_sigmoid(v), grad)


swish = silu


def gelu(x, approximate=True):
    """Gaussian error linear unit: the tanh approximation (Keras's default) or the exact erf form."""
    if not approximate:
        return m.multiply(m.multiply(x, 0.5), m.add(m.erf(m.divide(x, float(np.sqrt(2.0)))), 1.0))
    c = float(np.sqrt(2 / np.pi))

    def forward(v):
        return 0.5 * v * (1 + np.tanh(c * (v + 0.044715 * v ** 3)))

    def grad(g, v, y):
        t = np.tanh(c * (v + 0.044715 * v ** 3))
        return g * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v))

    return unary(x, forward, grad)


def softmax(x, axis=-1):
    """Normalized exponentials along ``axis`` (rows sum to 1)."""
    def forward(v):
        e = np.exp(v - np.max(v, axis=axis, keepdims=True))  # subtract the max so exp() cannot overflow
        return e / np.sum(e, axis=axis, keepdims=True)

    def grad(g, v, y):
        return y * (g - np.sum(g * y, axis=axis, keepdims=True))

    return unary(x, forward, grad)


def log_softmax(x, axis=-1):
    """``log(softmax(x))``, computed without overflow or log(0)."""
    def forward(v):
        shifted = v - np.max(v, axis=axis, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))

    def grad(g, v, y):
        return g - np.exp(y) * np.sum(g, axis=axis, keepdims=True)

    return unary(x, forward, grad)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Integer labels as one-hot vectors along a new ``axis`` (-1 and out-of-range labels give zeros)."""
    labels = np.asarray(value(arg(x)))
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise TypeError(f"one_hot() expects integer labels, got dtype {labels.dtype}.")
    out = (labels[..., None] == np.arange(num_classes)).astype(dtype or FLOATX)
    return np.moveaxis(out, -1, axis) if axis != -1 else out


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary crossentropy of probabilities (or logits) ``output`` against ``target``."""
    target = float_arg(target)
    if from_logits:
        # max(z, 0) - z * t + log(1 + exp(-|z|)): stable for large |z|
        return m.subtract(m.add(relu(output), softplus(m.negative(m.abs(output)))), m.multiply(output, target))
    output = m.clip(output, EPSILON, 1 - EPSILON)
    return m.negative(m.add(m.multiply(target, m.log(output)),
                            m.multiply(m.subtract(1.0, target), m.log(m.subtract(1.0, output)))))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Crossentropy of probability rows (or logits) ``output`` against one-hot/soft ``target`` along ``axis``."""
    target = float_arg(target)
    if from_logits:
        return m.negative(m.sum(m.multiply(target, log_softmax(output, axis=axis)), axis=axis))
    output = m.divide(output, m.sum(output, axis=axis, keepdims=True))
    output = m.clip(output, EPSILON, 1 - EPSILON)
    return m.negative(m.sum(m.multiply(target, m.log(output)), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Crossentropy against integer class labels ``target``."""
    output_value = value(arg(output))
    labels = np.asarray(value(arg(target)))
    if labels.ndim == np.ndim(output_value) and labels.shape[-1] == 1:
        labels = labels[..., 0]
    return categorical_crossentropy(one_hot(labels, np.shape(output_value)[axis], axis=axis,
                                            dtype=np.asarray(output_value).dtype),
                                    output, from_logits=from_logits, axis=axis)


def is_tracked(x) -> bool:
    """Whether ``x`` is a tensor whose gradient is being recorded."""
    return isinstance(arg(x), Tensor)


def log_sigmoid(x):
    """``log(sigmoid(x))``, computed without overflow."""
    return m.negative(softplus(m.negative(x)))


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (as ``keras.ops.normalize``)."""
    return m.divide(x, m.maximum(m.norm(x, ord=order, axis=axis, keepdims=True), 1e-12))


def moments(x, axes, keepdims=False, synchronized=False):
    """Mean and variance over ``axes``: ``(mean, variance)``."""
    return m.mean(x, axis=axes, keepdims=keepdims), m.var(x, axis=axes, keepdims=keepdims)


def top_k(x, k, sorted=True):
    """The ``k`` largest values along the last axis and their indices: ``(values, indices)``."""
    from nbtrain.ops.array import take_along_axis

    values = np.asarray(value(arg(x)))
    indices = np.argsort(-values, axis=-1, kind="stable")[..., :k]
    return take_along_axis(x, indices, axis=-1), indices.astype(np.int32)
