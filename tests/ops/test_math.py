"""Maths ops: forward values against NumPy where the gradient checks do not already cover them, and errors."""

from __future__ import annotations

import numpy as np
import pytest

from nbtrain import ops


def test_where_with_only_a_condition_gives_indices():
    rows, cols = ops.where(np.array([[True, False], [False, True]]))
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1]
    with pytest.raises(ValueError, match="both x1 and x2"):
        ops.where(np.array([True]), 1.0)


def test_reductions_and_comparisons_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(ops.std(x, axis=0), x.std(axis=0), rtol=1e-6)
    np.testing.assert_allclose(ops.logsumexp(x), np.log(np.exp(x).sum()), rtol=1e-6)
    np.testing.assert_allclose(ops.norm(x, ord=0, axis=1), [4, 4, 4])
    np.testing.assert_allclose(ops.norm(x, ord=2, axis=(0, 1)), np.linalg.norm(x, 2), rtol=1e-5)
    assert ops.argmax(x, axis=1).tolist() == x.argmax(axis=1).tolist()
    assert ops.count_nonzero(x > 0) == int((x > 0).sum())
    assert ops.all(ops.logical_or(x > 0, x <= 0)) and not ops.any(ops.isnan(x))
    np.testing.assert_array_equal(ops.logical_not(x > 0), x <= 0)


def test_prod_gradient_is_exact_with_zeros():
    with ops.GradientTape() as tape:
        x = tape.watch(np.array([0.0, 2.0, 3.0]))
        y = ops.prod(x)
    np.testing.assert_array_equal(tape.gradient(y, x), [6.0, 0.0, 0.0])


def test_max_shares_the_gradient_between_ties():
    with ops.GradientTape() as tape:
        x = tape.watch(np.array([1.0, 3.0, 3.0]))
        y = ops.max(x)
    np.testing.assert_array_equal(tape.gradient(y, x), [0.0, 0.5, 0.5])


def test_relu_has_gradient_zero_at_zero():
    with ops.GradientTape() as tape:
        x = tape.watch(np.array([-1.0, 0.0, 2.0]))
        y = ops.sum(ops.relu(x))
    np.testing.assert_array_equal(tape.gradient(y, x), [0.0, 0.0, 1.0])


def test_gradients_without_a_formula_say_what_to_use():
    with ops.GradientTape() as tape:
        x = tape.watch(np.ones((2, 2)))
        with pytest.raises(NotImplementedError, match="Frobenius"):
            ops.norm(x, ord=2, axis=(0, 1))
        with pytest.raises(NotImplementedError, match="explicit output"):
            ops.einsum("ij,jk", x, x)


def test_softmax_and_crossentropies_are_stable_for_large_logits():
    logits = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    np.testing.assert_allclose(ops.softmax(logits), [[1, 0, 0]])
    assert np.isfinite(ops.log_softmax(logits)).all()
    assert ops.categorical_crossentropy(np.array([[0.0, 0.0, 1.0]]), logits, from_logits=True)[0] == 2000
    np.testing.assert_allclose(ops.binary_crossentropy(np.array([1.0]), np.array([-1000.0]), from_logits=True),
                               [1000.0])
    np.testing.assert_allclose(ops.sigmoid(np.array([-1000.0, 1000.0], np.float32)), [0.0, 1.0])


def test_one_hot_gives_zeros_for_minus_one_and_takes_an_axis():
    np.testing.assert_array_equal(ops.one_hot(np.array([1, -1]), 3), [[0, 1, 0], [0, 0, 0]])
    assert ops.one_hot(np.array([0, 2]), 3, axis=0).shape == (3, 2)
    with pytest.raises(TypeError, match="integer labels"):
        ops.one_hot(np.array([0.5]), 3)
