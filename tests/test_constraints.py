"""Constraints: Keras's projections (epsilon 1e-7) against hand-computed values, and the registry."""

import json

import numpy as np
import pytest

from nbtrain import constraints
from nbtrain.constraints import Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm

EPS = 1e-7

# Column norms: 5 (3-4-0), 1 (0-0-1), 0.5 (0.3-0.4-0)
W = np.array([[3.0, 0.0, 0.3],
              [4.0, 0.0, 0.4],
              [0.0, 1.0, 0.0]])


def test_max_norm_scales_only_columns_above_the_limit():
    result = MaxNorm(max_value=2.0)(W)
    expected = W * np.array([2.0 / (5.0 + EPS), 1.0 / (1.0 + EPS), 0.5 / (0.5 + EPS)])
    np.testing.assert_allclose(result, expected, rtol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(result, axis=0), [2.0, 1.0, 0.5], rtol=1e-6)


def test_max_norm_default_is_two_along_axis_zero():
    assert MaxNorm().get_config() == {"max_value": 2.0, "axis": 0}
    np.testing.assert_allclose(MaxNorm()(W)[:, 0], [1.2, 1.6, 0.0], rtol=1e-6)


def test_max_norm_along_rows_and_several_axes():
    rows = MaxNorm(1.0, axis=1)(W)  # row norms 3.0150, 4.0200, 1
    expected = W * (np.minimum(np.linalg.norm(W, axis=1), 1.0) / (np.linalg.norm(W, axis=1) + EPS))[:, None]
    np.testing.assert_allclose(rows, expected, rtol=1e-14)
    # a Conv2D kernel (height, width, in, out): one norm per output filter over axes 0, 1, 2
    kernel = np.arange(2 * 2 * 3 * 2, dtype=np.float64).reshape(2, 2, 3, 2)
    result = MaxNorm(3.0, axis=[0, 1, 2])(kernel)
    norms = np.sqrt((kernel ** 2).sum(axis=(0, 1, 2)))
    np.testing.assert_allclose(result, kernel * (3.0 / (norms + EPS)), rtol=1e-14)


def test_non_neg_zeroes_negative_entries():
    result = NonNeg()(np.array([[-1.5, 0.0], [2.0, -1e-9]]))
    assert result.tolist() == [[0.0, 0.0], [2.0, 0.0]]
    assert not np.signbit(result).any()  # 0.0, not -0.0
    assert np.isnan(NonNeg()(np.array([np.nan]))[0])  # a diverged weight stays visible


def test_unit_norm_divides_by_the_norm_plus_epsilon():
    result = UnitNorm()(W)
    np.testing.assert_allclose(result, W / (np.array([5.0, 1.0, 0.5]) + EPS), rtol=1e-14)
    np.testing.assert_allclose(UnitNorm(axis=1)(np.array([[3.0, 4.0]])), [[0.6, 0.8]], rtol=1e-6)


def test_min_max_norm_with_full_rate_clips_norms_into_the_interval():
    result = MinMaxNorm(min_value=1.0, max_value=2.0)(W)
    expected = W * np.array([2.0 / (5.0 + EPS), 1.0 / (1.0 + EPS), 1.0 / (0.5 + EPS)])
    np.testing.assert_allclose(result, expected, rtol=1e-14)


def test_min_max_norm_with_half_rate_moves_half_way():
    # desired = 0.5 * clip(norm, 1, 2) + 0.5 * norm: 3.5 for norm 5, 1 for 1, 0.75 for 0.5
    result = MinMaxNorm(min_value=1.0, max_value=2.0, rate=0.5)(W)
    expected = W * np.array([3.5 / (5.0 + EPS), 1.0 / (1.0 + EPS), 0.75 / (0.5 + EPS)])
    np.testing.assert_allclose(result, expected, rtol=1e-14)


def test_min_max_norm_defaults():
    assert MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}


@pytest.mark.parametrize("constraint", [MaxNorm(1.0), NonNeg(), UnitNorm(), MinMaxNorm(0.5, 1.5, 0.3)])
def test_constraints_keep_shape_and_float32_and_do_not_modify_their_input(constraint):
    w = (W - 1.0).astype(np.float32)
    before = w.copy()
    result = constraint(w)
    assert result.shape == w.shape and result.dtype == np.float32
    np.testing.assert_array_equal(w, before)
    # the training loop writes the projection back in place
    w[...] = constraint(w)
    np.testing.assert_allclose(w, result)


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="max_value"):
        MaxNorm(-1)
    with pytest.raises(ValueError, match="min_value <= max_value"):
        MinMaxNorm(min_value=2.0, max_value=1.0)
    with pytest.raises(ValueError, match="rate"):
        MinMaxNorm(rate=float("inf"))
    with pytest.raises(TypeError, match="axis"):
        UnitNorm(axis="rows")


# ----- custom constraints -------------------------------------------------------------------------------


class Clip(Constraint):
    def __init__(self, limit=1.0):
        self.limit = limit

    def __call__(self, w):
        return np.clip(w, -self.limit, self.limit)

    def get_config(self):
        return {"limit": self.limit}


def test_base_constraint_changes_nothing():
    assert Constraint()(W) is W
    assert Constraint().get_config() == {}


# ----- registry -------------------------------------------------------------------------------------------


def test_keras_lower_case_aliases_are_the_classes():
    assert constraints.max_norm is MaxNorm and constraints.non_neg is NonNeg
    assert constraints.unit_norm is UnitNorm and constraints.min_max_norm is MinMaxNorm


@pytest.mark.parametrize("name, cls", [("max_norm", MaxNorm), ("MaxNorm", MaxNorm), ("non_neg", NonNeg),
                                       ("NonNeg", NonNeg), ("unit_norm", UnitNorm), ("min_max_norm", MinMaxNorm),
                                       ("maxnorm", MaxNorm), ("MIN_MAX_NORM", MinMaxNorm)])
def test_get_resolves_names_case_insensitively(name, cls):
    assert type(constraints.get(name)) is cls


def test_get_passes_instances_and_functions_through():
    instance = MaxNorm(3)
    assert constraints.get(instance) is instance
    assert constraints.get(None) is None
    assert isinstance(constraints.get(NonNeg), NonNeg)
    function = np.abs
    assert constraints.get(function) is function
    assert constraints.get({"class_name": "MaxNorm", "config": {"max_value": 3}}).max_value == 3.0
    with pytest.raises(TypeError, match="Could not interpret constraint"):
        constraints.get(2.0)


def test_unknown_name_suggests_the_nearest():
    with pytest.raises(ValueError, match=r"Unknown constraint: 'max_nrom'\. Did you mean 'max_norm'\?"):
        constraints.get("max_nrom")


@pytest.mark.parametrize("constraint", [MaxNorm(3, axis=[0, 1]), NonNeg(), UnitNorm(axis=1),
                                        MinMaxNorm(0.5, 2.0, 0.5, axis=0)])
def test_serialize_round_trips_through_json(constraint):
    config = constraints.serialize(constraint)
    assert config["class_name"] == type(constraint).__name__ and config["module"] == "nbtrain.constraints"
    rebuilt = constraints.deserialize(json.loads(json.dumps(config)))
    assert type(rebuilt) is type(constraint)
    kernel = np.arange(12.0).reshape(2, 3, 2) - 5
    np.testing.assert_array_equal(rebuilt(kernel), constraint(kernel))


def test_deserialize_custom_classes_and_functions_need_custom_objects():
    config = json.loads(json.dumps(constraints.serialize(Clip(0.5))))
    assert constraints.deserialize(config, custom_objects={"Clip": Clip}).limit == 0.5
    with pytest.raises(ValueError, match="Unknown constraint: 'Clip'"):
        constraints.deserialize(config)

    def clip_unit(w):
        return np.clip(w, -1, 1)

    function_config = constraints.serialize(clip_unit)
    assert function_config["class_name"] == "function" and function_config["config"] == "clip_unit"
    assert constraints.deserialize(function_config, custom_objects={"clip_unit": clip_unit}) is clip_unit
    with pytest.raises(ValueError, match=r"custom_objects=\{'clip_unit': fn\}"):
        constraints.deserialize(function_config)
    assert isinstance(constraints.deserialize("non_neg"), NonNeg)
    assert constraints.deserialize(None) is None


def test_repr_shows_the_settings():
    assert repr(MaxNorm(3)) == "MaxNorm(max_value=3.0, axis=0)"
    assert repr(NonNeg()) == "NonNeg()"
