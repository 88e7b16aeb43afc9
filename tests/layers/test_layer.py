"""Helpers of nbtrain/layers/layer.py used by many layers."""

from __future__ import annotations

import numpy as np
import pytest

from nbtrain.layers.layer import column_sums


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 3), (7, 5), (0, 4), (1000, 3)])
def test_column_sums_is_the_sum_over_rows(shape, dtype):
    matrix = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    out = np.empty(shape[1], dtype)
    result = column_sums(matrix, out=out)
    assert result is out and result.dtype == dtype
    np.testing.assert_allclose(result, matrix.astype(np.float64).sum(axis=0), rtol=1e-5, atol=1e-5)


def test_column_sums_of_a_strided_view():
    matrix = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]
    np.testing.assert_array_equal(column_sums(matrix), matrix.sum(axis=0))
