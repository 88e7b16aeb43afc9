"""Regularizers: Keras's penalty formulas, their gradients (float64 central differences), the registry."""

import json

import numpy as np
import pytest

from gradcheck import assert_gradients_close, numerical_gradient
from nbtrain import regularizers
from nbtrain.regularizers import L1, L1L2, L2, OrthogonalRegularizer, Regularizer

W = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -0.25]], dtype=np.float32)


# ----- values ---------------------------------------------------------------------------------------------


def test_l1_is_factor_times_sum_of_absolute_values():
    # |1| + |-2| + |0.5| + |0| + |3| + |-0.25| = 6.75
    assert L1(0.1)(W) == pytest.approx(0.675, rel=1e-12)
    assert L1()(W) == pytest.approx(0.0675, rel=1e-12)  # default l1=0.01


def test_l2_is_factor_times_sum_of_squares_without_one_half():
    # 1 + 4 + 0.25 + 0 + 9 + 0.0625 = 14.3125
    assert L2(0.1)(W) == pytest.approx(1.43125, rel=1e-12)
    assert L2()(W) == pytest.approx(0.143125, rel=1e-12)  # default l2=0.01


def test_l1l2_adds_both_and_defaults_to_zero_as_keras_3():
    assert L1L2(l1=0.1, l2=0.2)(W) == pytest.approx(0.675 + 2.8625, rel=1e-12)
    assert L1L2()(W) == 0.0
    assert L1L2(l2=0.1)(W) == pytest.approx(L2(0.1)(W), rel=1e-12)


def test_penalties_are_python_floats_and_accept_lists_and_integer_arrays():
    for regularizer in (L1(0.5), L2(0.5), L1L2(0.5, 0.5), OrthogonalRegularizer(0.5)):
        assert type(regularizer(W)) is float
    assert L2(1.0)([1, 2]) == 5.0
    assert L1(1.0)(np.array([1, -2])) == 3.0


def test_orthogonal_regularizer_hand_computed_values():
    # Rows (1, 0) and (1, 1): cosine 1/sqrt(2), counted for both (i, j) and (j, i), one pair: 0.5 * 2 / sqrt(2).
    w = np.array([[1.0, 0.0], [1.0, 1.0]])
    assert OrthogonalRegularizer(factor=1.0)(w) == pytest.approx(1 / np.sqrt(2), rel=1e-12)
    # Orthogonal rows cost nothing; the default factor is 0.01.
    assert OrthogonalRegularizer()(np.eye(3)) == 0.0
    # Columns mode looks at the columns: those of w are (1, 1) and (0, 1), also 45 degrees apart.
    assert OrthogonalRegularizer(1.0, mode="columns")(w) == pytest.approx(1 / np.sqrt(2), rel=1e-12)
    # Three rows, three pairs: cosines 0, 0 and 1 average to 1/3; times factor 0.3 and 0.5.
    w3 = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 5.0]])
    assert OrthogonalRegularizer(0.3)(w3) == pytest.approx(0.3 * 0.5 * 2 / 3, rel=1e-12)


# ----- gradients ------------------------------------------------------------------------------------------

GRADIENT_CASES = {
    "L1": L1(0.3),
    "L2": L2(0.3),
    "L1L2": L1L2(l1=0.2, l2=0.7),
    "OrthogonalRegularizer rows": OrthogonalRegularizer(0.4, mode="rows"),
    "OrthogonalRegularizer columns": OrthogonalRegularizer(0.4, mode="columns"),
}


@pytest.mark.parametrize("name", list(GRADIENT_CASES))
def test_gradient_matches_float64_central_differences(name, rng):
    regularizer = GRADIENT_CASES[name]
    x = rng.standard_normal((4, 3))
    # keep entries away from 0 (where |x| has a kink) so central differences are exact enough
    x = np.where(np.abs(x) < 0.05, 0.3, x)
    analytic = regularizer.gradient(x)
    numeric = numerical_gradient(lambda: regularizer(x), x)
    assert analytic.dtype == np.float64
    assert_gradients_close(analytic, numeric, name)


def test_gradients_have_the_weight_dtype_and_shape():
    for regularizer in GRADIENT_CASES.values():
        gradient = regularizer.gradient(W)
        assert gradient.shape == W.shape and gradient.dtype == np.float32


def test_known_gradient_values():
    np.testing.assert_allclose(L2(0.1).gradient(W), 0.2 * W)
    np.testing.assert_allclose(L1(0.1).gradient(W), 0.1 * np.sign(W))
    # the subgradient of |x| at 0 is 0, as in TensorFlow and JAX
    assert L1(0.1).gradient(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(L1L2(0.1, 0.2).gradient(W), 0.1 * np.sign(W) + 0.4 * W, rtol=1e-6)


def test_orthogonal_regularizer_rejects_non_matrices_and_bad_modes():
    with pytest.raises(ValueError, match="2-D weights"):
        OrthogonalRegularizer()(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="'rows' or 'columns'"):
        OrthogonalRegularizer(mode="diagonal")


# ----- arguments ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: L1(-0.1), lambda: L2(float("nan")), lambda: L1L2(l2=-1),
                                  lambda: L2("0.1"), lambda: L1(True)])
def test_invalid_factors_raise_a_clear_error(make):
    with pytest.raises(ValueError, match="non-negative number"):
        make()


def test_factors_accept_ints_and_none_means_the_default():
    assert L2(1).l2 == 1.0 and isinstance(L2(1).l2, float)
    assert L1(None).l1 == 0.01 and L2(None).l2 == 0.01
    assert L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


# ----- custom regularizers ------------------------------------------------------------------------------


class SumPenalty(Regularizer):
    def __init__(self, factor=0.01):
        self.factor = factor

    def __call__(self, x):
        return self.factor * float(np.sum(x))

    def gradient(self, x):
        return np.full_like(x, self.factor)

    def get_config(self):
        return {"factor": self.factor}


def test_subclass_without_gradient_explains_what_to_implement():
    class NoGradient(Regularizer):
        def __call__(self, x):
            return float(np.sum(x))

    with pytest.raises(NotImplementedError, match=r"implement gradient\(x\)"):
        NoGradient().gradient(np.ones(2))


def test_base_regularizer_penalizes_nothing():
    assert Regularizer()(W) == 0.0
    assert not Regularizer().gradient(W).any()
    assert Regularizer().get_config() == {}


def test_subclass_without_get_config_cannot_be_saved():
    class Unsaved(Regularizer):
        def __init__(self, factor):
            self.factor = factor

    with pytest.raises(NotImplementedError, match="get_config"):
        regularizers.serialize(Unsaved(1.0))


# ----- registry -------------------------------------------------------------------------------------------


def test_keras_lower_case_aliases_are_the_classes():
    assert regularizers.l1 is L1 and regularizers.l2 is L2 and regularizers.l1_l2 is L1L2
    assert regularizers.orthogonal_regularizer is OrthogonalRegularizer
    assert regularizers.l2(1e-4)(np.ones(2)) == pytest.approx(2e-4)


@pytest.mark.parametrize("name, cls", [("l1", L1), ("L2", L2), ("l1_l2", L1L2), ("L1L2", L1L2), ("l1l2", L1L2),
                                       ("orthogonal_regularizer", OrthogonalRegularizer),
                                       ("OrthogonalRegularizer", OrthogonalRegularizer)])
def test_get_resolves_names_case_insensitively_with_default_factors(name, cls):
    regularizer = regularizers.get(name)
    assert type(regularizer) is cls
    assert regularizer.get_config() == cls().get_config()


def test_get_passes_instances_through_and_instantiates_classes():
    instance = L2(0.5)
    assert regularizers.get(instance) is instance
    assert regularizers.get(None) is None
    assert isinstance(regularizers.get(L1), L1)
    assert regularizers.get({"class_name": "L2", "config": {"l2": 0.5}}).l2 == 0.5


def test_unknown_name_suggests_the_nearest():
    with pytest.raises(ValueError, match=r"Unknown regularizer: 'l1_l3'\. Did you mean 'l1_l2'\?"):
        regularizers.get("l1_l3")


def test_plain_function_is_rejected_because_it_has_no_gradient():
    with pytest.raises(TypeError, match="gradient"):
        regularizers.get(lambda x: 0.0)
    with pytest.raises(TypeError, match="Could not interpret regularizer"):
        regularizers.get(3.5)


@pytest.mark.parametrize("regularizer", [L1(0.2), L2(0.3), L1L2(0.1, 0.4), OrthogonalRegularizer(0.2, "columns")])
def test_serialize_round_trips_through_json(regularizer):
    config = regularizers.serialize(regularizer)
    assert config["class_name"] == type(regularizer).__name__ and config["module"] == "nbtrain.regularizers"
    rebuilt = regularizers.deserialize(json.loads(json.dumps(config)))
    assert type(rebuilt) is type(regularizer) and rebuilt.get_config() == regularizer.get_config()
    assert rebuilt(W) == regularizer(W)


def test_deserialize_accepts_keras_configs_names_and_custom_objects():
    keras_config = {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01},
                    "registered_name": None}
    assert regularizers.deserialize(keras_config).get_config() == {"l1": 0.0, "l2": 0.01}
    assert isinstance(regularizers.deserialize("l2"), L2)
    assert regularizers.deserialize(None) is None
    config = regularizers.serialize(SumPenalty(0.5))
    custom = regularizers.deserialize(config, custom_objects={"SumPenalty": SumPenalty})
    assert isinstance(custom, SumPenalty) and custom.factor == 0.5
    with pytest.raises(ValueError, match="Unknown regularizer: 'SumPenalty'"):
        regularizers.deserialize({"class_name": "SumPenalty", "config": {"factor": 0.5}})
    with pytest.raises(ValueError, match="class_name"):
        regularizers.deserialize({"config": {}})


def test_repr_shows_the_settings():
    assert repr(L2(0.001)) == "L2(l2=0.001)"
    assert repr(L1L2(l1=0.1)) == "L1L2(l1=0.1, l2=0.0)"
