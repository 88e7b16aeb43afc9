"""The shared boundary checks of user-given numbers."""

from __future__ import annotations

import numpy as np
import pytest

from nbtrain.utils.checks import is_int, positive_int


def test_is_int_takes_python_and_numpy_ints_but_not_bools_or_floats():
    assert is_int(3) and is_int(np.int64(3))
    assert not is_int(True) and not is_int(3.0) and not is_int("3")


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "4", None])
def test_positive_int_names_the_argument_and_its_owner(bad):
    with pytest.raises(ValueError, match=rf"Dense\(\) expects units to be a positive integer, got {bad!r}"):
        positive_int(bad, "units", "Dense")


def test_positive_int_returns_a_python_int():
    value = positive_int(np.int32(4), "units", "Dense")
    assert value == 4 and type(value) is int
