"""Every differentiable op of nbtrain.ops against float64 central differences, with a random upstream gradient."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_ops_function

from nbtrain import ops


def normal(*shape):
    return ("normal", shape)


def positive(*shape):
    return ("positive", shape)


def unit(*shape):
    return ("unit", shape)  # in (0.05, 0.95): probabilities, arguments of clip tests


def make(spec, rng):
    kind, shape = spec
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape)
    return rng.uniform(0.05, 0.95, shape)


INDICES = np.array([[2, 0], [1, 1]])
LABELS = np.array([0, 2, 1])

# name -> (function of tracked inputs, input specs). Names ending in "/..." are variants of the same op.
CASES = {
    "add": (ops.add, [normal(3, 4), normal(4)]),
    "add/scalar": (lambda x: ops.add(x, 2.5), [normal(3)]),
    "subtract": (ops.subtract, [normal(3, 1), normal(1, 4)]),
    "multiply": (ops.multiply, [normal(2, 3, 4), normal(3, 1)]),
    "divide": (ops.divide, [normal(3, 4), positive(4)]),
    "true_divide": (ops.true_divide, [normal(3), positive(3)]),
    "mod": (ops.mod, [positive(5), ("positive", (5,))]),
    "negative": (ops.negative, [normal(3, 2)]),
    "power": (ops.power, [positive(3, 4), normal(4)]),
    "power/int exponent": (lambda x: ops.power(x, 3), [normal(5)]),
    "square": (ops.square, [normal(4)]),
    "sqrt": (ops.sqrt, [positive(4)]),
    "rsqrt": (ops.rsqrt, [positive(4)]),
    "reciprocal": (ops.reciprocal, [positive(4)]),
    "exp": (ops.exp, [normal(2, 3)]),
    "expm1": (ops.expm1, [normal(4)]),
    "log": (ops.log, [positive(2, 3)]),
    "log1p": (ops.log1p, [positive(4)]),
    "abs": (ops.abs, [normal(6)]),
    "absolute": (ops.absolute, [normal(6)]),
    "sin": (ops.sin, [normal(4)]),
    "cos": (ops.cos, [normal(4)]),
    "tanh": (ops.tanh, [normal(4)]),
    "erf": (ops.erf, [normal(5)]),
    "maximum": (ops.maximum, [normal(3, 4), normal(4)]),
    "minimum": (ops.minimum, [normal(3, 4), normal(3, 1)]),
    "clip": (lambda x: ops.clip(x, -0.5, 0.5), [normal(20)]),
    "clip/tracked bounds": (lambda x, lo: ops.clip(x, lo, 0.7), [normal(3, 4), unit(4)]),
    "where": (lambda a, b: ops.where(np.array([True, False, True]), a, b), [normal(2, 3), normal(3)]),
    "sum": (lambda x: ops.sum(x, axis=1), [normal(2, 3, 4)]),
    "sum/all keepdims": (lambda x: ops.sum(x, keepdims=True), [normal(2, 3)]),
    "mean": (lambda x: ops.mean(x, axis=(0, 2)), [normal(2, 3, 4)]),
    "mean/keepdims": (lambda x: ops.mean(x, axis=-1, keepdims=True), [normal(2, 3)]),
    "max": (lambda x: ops.max(x, axis=0), [normal(4, 3)]),
    "max/all": (ops.max, [normal(4, 3)]),
    "min": (lambda x: ops.min(x, axis=1, keepdims=True), [normal(4, 3)]),
    "prod": (lambda x: ops.prod(x, axis=1), [normal(3, 4)]),
    "prod/all": (ops.prod, [normal(2, 3)]),
    "var": (lambda x: ops.var(x, axis=0), [normal(5, 3)]),
    "std": (lambda x: ops.std(x, axis=-1, keepdims=True), [normal(3, 5)]),
    "logsumexp": (lambda x: ops.logsumexp(x, axis=1), [normal(3, 4)]),
    "cumsum": (lambda x: ops.cumsum(x, axis=1), [normal(3, 4)]),
    "cumsum/flat": (ops.cumsum, [normal(2, 3)]),
    "norm": (lambda x: ops.norm(x, axis=-1), [normal(3, 4)]),
    "norm/all": (ops.norm, [normal(3, 4)]),
    "norm/ord 1": (lambda x: ops.norm(x, ord=1, axis=0), [normal(3, 4)]),
    "norm/ord 3": (lambda x: ops.norm(x, ord=3, axis=1), [normal(3, 4)]),
    "norm/ord inf": (lambda x: ops.norm(x, ord=np.inf, axis=1), [normal(3, 4)]),
    "matmul": (ops.matmul, [normal(3, 4), normal(4, 2)]),
    "matmul/batched broadcast": (ops.matmul, [normal(2, 3, 4), normal(4, 5)]),
    "matmul/vector left": (ops.matmul, [normal(4), normal(2, 4, 3)]),
    "matmul/vector right": (ops.matmul, [normal(3, 4), normal(4)]),
    "matmul/vectors": (ops.matmul, [normal(4), normal(4)]),
    "dot": (ops.dot, [normal(3, 4), normal(4, 2)]),
    "dot/3-d": (ops.dot, [normal(2, 3, 4), normal(5, 4, 2)]),
    "tensordot": (lambda a, b: ops.tensordot(a, b, axes=([1, 2], [0, 1])), [normal(2, 3, 4), normal(3, 4, 5)]),
    "outer": (ops.outer, [normal(3), normal(4)]),
    "einsum": (lambda a, b: ops.einsum("bij,bjk->bik", a, b), [normal(2, 3, 4), normal(2, 4, 2)]),
    "einsum/summed alone": (lambda a, b: ops.einsum("ij,k->i", a, b), [normal(3, 4), normal(2)]),
    "reshape": (lambda x: ops.reshape(x, (4, -1)), [normal(2, 3, 2)]),
    "transpose": (lambda x: ops.transpose(x, (2, 0, 1)), [normal(2, 3, 4)]),
    "transpose/default": (ops.transpose, [normal(2, 3)]),
    "swapaxes": (lambda x: ops.swapaxes(x, 0, 2), [normal(2, 3, 4)]),
    "moveaxis": (lambda x: ops.moveaxis(x, 0, -1), [normal(2, 3, 4)]),
    "expand_dims": (lambda x: ops.expand_dims(x, 1), [normal(2, 3)]),
    "squeeze": (lambda x: ops.squeeze(x, axis=1), [normal(2, 1, 3)]),
    "broadcast_to": (lambda x: ops.broadcast_to(x, (2, 3, 4)), [normal(3, 1)]),
    "flip": (lambda x: ops.flip(x, axis=1), [normal(2, 3)]),
    "tile": (lambda x: ops.tile(x, (2, 3)), [normal(2, 3)]),
    "tile/more axes": (lambda x: ops.tile(x, (2, 1, 2)), [normal(3)]),
    "repeat": (lambda x: ops.repeat(x, 3, axis=1), [normal(2, 3)]),
    "repeat/per element": (lambda x: ops.repeat(x, [1, 0, 2], axis=0), [normal(3, 2)]),
    "repeat/flat": (lambda x: ops.repeat(x, 2), [normal(2, 2)]),
    "pad": (lambda x: ops.pad(x, ((1, 0), (2, 1))), [normal(2, 3)]),
    "get_item": (lambda x: x[1:, ::2], [normal(3, 5)]),
    "get_item/fancy repeated": (lambda x: x[[0, 2, 0]], [normal(3, 2)]),
    "get_item/boolean": (lambda x: x[np.array([True, False, True])], [normal(3, 2)]),
    "get_item/int and newaxis": (lambda x: x[1, None, ..., 0], [normal(3, 2, 2)]),
    "slice": (lambda x: ops.slice(x, (1, 0), (2, 2)), [normal(3, 3)]),
    "take": (lambda x: ops.take(x, INDICES, axis=1), [normal(2, 3)]),
    "take/flat": (lambda x: ops.take(x, INDICES), [normal(2, 3)]),
    "take_along_axis": (lambda x: ops.take_along_axis(x, INDICES, axis=1), [normal(2, 3)]),
    "concatenate": (lambda a, b: ops.concatenate([a, b], axis=1), [normal(2, 3), normal(2, 1)]),
    "stack": (lambda a, b: ops.stack([a, b], axis=1), [normal(2, 3), normal(2, 3)]),
    "split": (lambda x: ops.split(x, [1, 3], axis=1)[1] * 2 + ops.split(x, [1, 3], axis=1)[2][:, :1], [normal(2, 4)]),
    "sort": (lambda x: ops.sort(x, axis=0), [normal(4, 3)]),
    "cast": (lambda x: ops.cast(x, "float64"), [normal(3)]),
    "copy": (ops.copy, [normal(3)]),
    "convert_to_tensor": (lambda x: ops.convert_to_tensor(x) * 2, [normal(3)]),
    "relu": (ops.relu, [normal(10)]),
    "relu6": (lambda x: ops.relu6(x * 5), [normal(10)]),
    "leaky_relu": (ops.leaky_relu, [normal(10)]),
    "elu": (ops.elu, [normal(10)]),
    "selu": (ops.selu, [normal(10)]),
    "sigmoid": (ops.sigmoid, [normal(10)]),
    "hard_sigmoid": (lambda x: ops.hard_sigmoid(x * 4), [normal(10)]),
    "softplus": (ops.softplus, [normal(10)]),
    "softsign": (ops.softsign, [normal(10)]),
    "silu": (ops.silu, [normal(10)]),
    "swish": (ops.swish, [normal(10)]),
    "gelu": (ops.gelu, [normal(10)]),
    "gelu/exact": (lambda x: ops.gelu(x, approximate=False), [normal(10)]),
    "softmax": (ops.softmax, [normal(3, 4)]),
    "softmax/axis 0": (lambda x: ops.softmax(x, axis=0), [normal(3, 4)]),
    "log_softmax": (ops.log_softmax, [normal(3, 4)]),
    "binary_crossentropy": (lambda t, p: ops.binary_crossentropy(t, p), [unit(3, 2), unit(3, 2)]),
    "binary_crossentropy/logits": (lambda t, z: ops.binary_crossentropy(t, z, from_logits=True),
                                   [unit(3, 2), normal(3, 2)]),
    "categorical_crossentropy": (ops.categorical_crossentropy, [unit(3, 4), unit(3, 4)]),
    "categorical_crossentropy/logits": (lambda t, z: ops.categorical_crossentropy(t, z, from_logits=True),
                                        [unit(3, 4), normal(3, 4)]),
    "sparse_categorical_crossentropy": (lambda p: ops.sparse_categorical_crossentropy(LABELS, p), [unit(3, 4)]),
    "sparse_categorical_crossentropy/logits": (
        lambda z: ops.sparse_categorical_crossentropy(LABELS, z, from_logits=True), [normal(3, 4)]),
    "log2": (ops.log2, [positive(4)]),
    "log10": (ops.log10, [positive(4)]),
    "logaddexp": (ops.logaddexp, [normal(3, 4), normal(4)]),
    "average": (lambda x, w: ops.average(x, axis=1, weights=w), [normal(3, 4), positive(4)]),
    "average/plain": (lambda x: ops.average(x, axis=0), [normal(3, 4)]),
    "nan_to_num": (ops.nan_to_num, [normal(4)]),
    "log_sigmoid": (ops.log_sigmoid, [normal(6)]),
    "normalize": (lambda x: ops.normalize(x, axis=1), [normal(3, 4)]),
    "moments": (lambda x: ops.add(*ops.moments(x, axes=[0])), [normal(5, 3)]),
    "top_k": (lambda x: ops.top_k(x, 2)[0], [normal(3, 5)]),
    "operators": (lambda a, b: (-a + 2.0) * b / (b ** 2 + 1.0) - 1.5 / (a * a + 1.0) + abs(a) % 0.7,
                  [normal(3, 4), normal(4)]),
    "operators/reflected and matmul": (lambda a, b: (1.0 - a) @ b + np.full((3, 2), 0.5, np.float32) * (a @ b),
                                       [normal(3, 4), normal(4, 2)]),
    "tensor methods": (lambda x: x.T.reshape(-1, 2).sum(axis=0) + x.mean(), [normal(2, 3)]),
}

# Ops with no gradient by design (integer, boolean or piecewise constant results; creation; introspection).
NOT_DIFFERENTIABLE = {
    "GradientTape", "Tensor", "Variable", "value_and_grad", "vjp", "is_tracked", "all", "any", "argmax", "argmin",
    "ceil", "floor", "round", "sign", "floor_divide", "count_nonzero", "equal", "not_equal", "greater",
    "greater_equal", "less", "less_equal", "logical_and", "logical_or", "logical_not", "logical_xor", "isfinite",
    "isinf", "isnan", "argsort", "arange", "eye", "identity", "full", "full_like", "ones", "ones_like", "zeros",
    "zeros_like", "one_hot", "shape", "ndim", "size", "dtype", "is_tensor", "convert_to_numpy", "stop_gradient",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_central_differences(name, rng):
    fn, specs = CASES[name]
    check_ops_function(fn, [make(spec, rng) for spec in specs], rng, name)


def test_every_differentiable_op_has_a_gradient_check():
    checked = {name.split("/")[0] for name in CASES}
    missing = sorted(set(ops.__all__) - checked - NOT_DIFFERENTIABLE)
    assert missing == [], f"ops without a gradient check in CASES: {missing}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_inputs_give_float32_results_and_gradients(name, rng):
    if name == "cast":
        pytest.skip("casts to float64 on purpose")
    fn, specs = CASES[name]
    inputs = [make(spec, rng).astype(np.float32) for spec in specs]
    assert np.asarray(fn(*inputs)).dtype == np.float32, "eager"
    with ops.GradientTape() as tape:
        tracked = [tape.watch(x) for x in inputs]
        output = fn(*tracked)
    assert output.dtype == np.float32
    for grad in tape.gradient(output, tracked, output_gradients=np.ones(output.shape, np.float32)):
        assert grad.dtype == np.float32
