"""Creation, conversion and shape ops: dtypes as Keras gives them, and their corner cases."""

from __future__ import annotations

import numpy as np
import pytest

from nbtrain import ops


def test_creation_defaults_to_float32_and_integer_ranges_to_int32():
    assert ops.ones((2, 3)).dtype == np.float32 and ops.zeros(4).shape == (4,)
    assert ops.full((2,), 7).dtype == np.int32 and ops.full((2,), 0.5).dtype == np.float32
    assert ops.eye(3).dtype == np.float32 and ops.identity(2).shape == (2, 2)
    assert ops.arange(5).dtype == np.int32 and ops.arange(0.0, 1.0, 0.25).dtype == np.float32
    x = np.ones((2, 2), np.float64)
    assert ops.zeros_like(x).dtype == np.float64 and ops.ones_like(x, dtype="int32").dtype == np.int32
    np.testing.assert_array_equal(ops.full_like(x, 3), np.full((2, 2), 3.0))


def test_introspection():
    x = np.ones((2, 3), np.float32)
    assert ops.shape(x) == (2, 3) and ops.ndim(x) == 2 and ops.size(x) == 6 and ops.dtype(x) == "float32"
    with ops.GradientTape() as tape:
        t = tape.watch(x)
        assert ops.shape(t) == (2, 3) and t.shape == (2, 3) and len(t) == 2 and ops.is_tensor(t)


def test_convert_to_tensor_keeps_tensors_tracked():
    with ops.GradientTape() as tape:
        a = tape.watch(np.array([1.0, 2.0]))
        stacked = ops.convert_to_tensor([a, a * 2])
        assert isinstance(stacked, ops.Tensor) and stacked.shape == (2, 2)
        assert ops.convert_to_tensor(a) is a
        y = ops.sum(stacked)
    np.testing.assert_array_equal(tape.gradient(y, a), [3, 3])


def test_split_gives_a_list_and_sections_must_divide():
    parts = ops.split(np.arange(6.0), 3)
    assert isinstance(parts, list) and [p.tolist() for p in parts] == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(ValueError):
        ops.split(np.arange(5.0), 2)


def test_iterating_a_tensor_gives_tracked_rows():
    with ops.GradientTape() as tape:
        x = tape.watch(np.array([[1.0, 2.0], [3.0, 4.0]]))
        total = sum(row * row for row in x)
        y = ops.sum(total)
    np.testing.assert_array_equal(tape.gradient(y, x), [[2, 4], [6, 8]])


def test_indexing_with_a_tensor_of_indices():
    with ops.GradientTape() as tape:
        x = tape.watch(np.array([1.0, 2.0, 3.0]))
        y = ops.sum(x[np.array([2, 2, 0])])
    np.testing.assert_array_equal(tape.gradient(y, x), [1, 0, 2])


def test_reshape_accepts_lists_and_tuples_and_ints():
    x = np.arange(6.0)
    assert ops.reshape(x, [2, 3]).shape == (2, 3)
    assert ops.reshape(x, (3, -1)).shape == (3, 2)
    assert ops.reshape(x.reshape(2, 3), 6).shape == (6,)
    assert ops.reshape(x, (None, 2)).shape == (3, 2)  # None as in Keras shapes


def test_unsupported_inputs_are_named():
    with pytest.raises(TypeError, match="expected an array, a tensor or a number, got dict"):
        ops.exp({"a": 1})
