"""Activations: one gradient check over every built-in and option, reference values, dtypes, registry."""

from __future__ import annotations

import copy
import json
import math
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from gradcheck import check_elementwise_function

from nbtrain import activations
from nbtrain.activations import ActivationFunction

A = activations

# (id, activation, kinks to stay away from, input shape, half-width of the input range)
GRADIENT_CASES = [
    ("linear", A.linear, [], (3, 4), 4),
    ("relu", A.relu, [0], (3, 4), 4),
    ("relu_negative_slope", A.relu.with_options(negative_slope=0.1), [0], (3, 4), 4),
    ("relu_max_value", A.relu.with_options(max_value=2.5), [0, 2.5], (3, 4), 4),
    ("relu_threshold", A.relu.with_options(threshold=1.0), [1], (3, 4), 4),
    ("relu_negative_threshold", A.relu.with_options(threshold=-1.0), [-1, 0], (3, 4), 4),
    ("relu_all_options", A.relu.with_options(negative_slope=0.1, max_value=3.0, threshold=0.5), [0, 0.5, 3], (3, 4), 4),
    ("leaky_relu", A.leaky_relu, [0], (3, 4), 4),
    ("leaky_relu_slope_0.05", A.leaky_relu.with_options(negative_slope=0.05), [0], (3, 4), 4),
    ("leaky_relu_slope_1.5", A.leaky_relu.with_options(negative_slope=1.5), [0], (3, 4), 4),
    ("leaky_relu_slope_negative", A.leaky_relu.with_options(negative_slope=-0.3), [0], (3, 4), 4),
    ("relu6", A.relu6, [0, 6], (3, 4), 8),
    ("sigmoid", A.sigmoid, [], (3, 4), 6),
    ("tanh", A.tanh, [], (3, 4), 3),
    ("softmax_2d", A.softmax, [], (3, 5), 3),
    ("softmax_3d", A.softmax, [], (2, 3, 4), 3),
    ("softmax_axis_1", A.softmax.with_options(axis=1), [], (2, 3, 4), 3),
    ("log_softmax_2d", A.log_softmax, [], (3, 5), 3),
    ("log_softmax_3d_axis_1", A.log_softmax.with_options(axis=1), [], (2, 3, 4), 3),
    ("elu", A.elu, [0], (3, 4), 4),
    ("elu_alpha_0.5", A.elu.with_options(alpha=0.5), [0], (3, 4), 4),
    ("elu_alpha_negative", A.elu.with_options(alpha=-0.5), [0], (3, 4), 4),
    ("selu", A.selu, [0], (3, 4), 4),
    ("celu", A.celu, [0], (3, 4), 4),
    ("celu_alpha_2", A.celu.with_options(alpha=2.0), [0], (3, 4), 4),
    ("softplus", A.softplus, [], (3, 4), 8),
    ("softsign", A.softsign, [0], (3, 4), 4),
    ("silu", A.silu, [], (3, 4), 6),
    ("gelu", A.gelu, [], (3, 4), 4),
    ("gelu_tails", A.gelu, [], (4, 5), 12),
    ("gelu_approximate", A.gelu.with_options(approximate=True), [], (3, 4), 4),
    ("exponential", A.exponential, [], (3, 4), 3),
    ("hard_sigmoid", A.hard_sigmoid, [-3, 3], (3, 4), 5),
    ("hard_silu", A.hard_silu, [-3, 3], (3, 4), 5),
    ("hard_tanh", A.hard_tanh, [-1, 1], (3, 4), 2),
    ("sparse_sigmoid", A.sparse_sigmoid, [-1, 1], (3, 4), 2),
    ("sparse_plus", A.sparse_plus, [-1, 1], (3, 4), 3),
    ("log_sigmoid", A.log_sigmoid, [], (3, 4), 8),
    ("tanh_shrink", A.tanh_shrink, [], (3, 4), 3),
    ("soft_shrink", A.soft_shrink, [-0.5, 0.5], (3, 4), 2),
    ("soft_shrink_threshold_1", A.soft_shrink.with_options(threshold=1.0), [-1, 1], (3, 4), 3),
    ("hard_shrink", A.hard_shrink, [-0.5, 0.5], (3, 4), 2),
    ("squareplus", A.squareplus, [], (3, 4), 4),
    ("squareplus_b_1", A.squareplus.with_options(b=1), [], (3, 4), 4),
    ("mish", A.mish, [], (3, 4), 6),
    ("sparsemax_2d", A.sparsemax, [], (3, 5), 1),
    ("sparsemax_3d_axis_1", A.sparsemax.with_options(axis=1), [], (2, 4, 3), 1),
    ("glu", A.glu, [], (3, 6), 4),
    ("glu_axis_0", A.glu.with_options(axis=0), [], (4, 3), 4),
    ("glu_3d_axis_1", A.glu.with_options(axis=1), [], (2, 4, 3), 4),
    ("threshold", A.threshold.with_options(threshold=0.5, default_value=-1.0), [0.5], (3, 4), 3),
    ("threshold_negative", A.threshold.with_options(threshold=-1.0, default_value=2.0), [-1.0], (3, 4), 3),
]


def away_from_kinks(x: np.ndarray, kinks) -> np.ndarray:
    """Nudge points lying near a kink, where a central difference straddles two slopes."""
    for kink in kinks:
        x = np.where(np.abs(x - kink) < 0.05, x + 0.1, x)
    return x


def test_every_builtin_has_a_gradient_case():
    checked = {case[1].name for case in GRADIENT_CASES}
    assert checked == set(A._BUILTINS)


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=[case[0] for case in GRADIENT_CASES])
def test_backward_matches_finite_differences(case, rng):
    name, activation, kinks, shape, width = case
    x = away_from_kinks(rng.uniform(-width, width, size=shape), kinks)
    check_elementwise_function(activation, activation.backward, x, rng, name)


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=[case[0] for case in GRADIENT_CASES])
def test_backward_without_input_when_not_needed(case, rng):
    """Layers drop x when needs_input is False; the gradient must then come from y alone."""
    name, activation, kinks, shape, width = case
    x = away_from_kinks(rng.uniform(-width, width, size=shape), kinks)
    y = activation(x)
    g = rng.standard_normal(y.shape)
    if activation.needs_input:
        with pytest.raises(ValueError, match="needs its input x"):
            activation.backward(g, None, y)
    else:
        np.testing.assert_allclose(activation.backward(g, None, y), activation.backward(g, x, y), atol=1e-12)


@pytest.mark.parametrize(
    "activation, x, expected",
    [
        (A.linear, [-2.0, 3.0], [-2.0, 3.0]),
        (A.relu, [-10, -5, 0.0, 5, 10], [0, 0, 0, 5, 10]),
        (A.relu.with_options(negative_slope=0.5), [-10, -5, 0.0, 5, 10], [-5, -2.5, 0, 5, 10]),
        (A.relu.with_options(max_value=5.0), [-10, -5, 0.0, 5, 10], [0, 0, 0, 5, 5]),
        (A.relu.with_options(threshold=5.0), [-10, -5, 0.0, 5, 10], [0, 0, 0, 0, 10]),
        (A.leaky_relu, [-1.0, 2.0], [-0.2, 2.0]),
        (A.relu6, [-1.0, 3.0, 7.0], [0.0, 3.0, 6.0]),
        (A.sigmoid, [0.0], [0.5]),
        (A.tanh, [0.0, 1.0], [0.0, math.tanh(1.0)]),
        (A.softmax, [[0.0, 0.0]], [[0.5, 0.5]]),
        (A.log_softmax, [[0.0, 0.0]], [[-math.log(2), -math.log(2)]]),
        (A.elu, [-1.0, 2.0], [math.exp(-1) - 1, 2.0]),
        (A.selu, [1.0, -1.0], [1.0507009873554805, -1.1113307378125625]),
        (A.celu.with_options(alpha=2.0), [-1.0], [2.0 * (math.exp(-0.5) - 1)]),
        (A.softplus, [0.0], [math.log(2)]),
        (A.softsign, [1.0, -3.0], [0.5, -0.75]),
        (A.silu, [1.0], [1 / (1 + math.exp(-1))]),
        (A.swish, [1.0], [0.7310585786300049]),
        (A.gelu, [1.0, 0.0, -1.0], [0.8413447460685429, 0.0, -0.15865525393145707]),
        (A.gelu.with_options(approximate=True), [1.0], [0.8411919906082768]),
        (A.exponential, [1.0], [math.e]),
        (A.hard_sigmoid, [1.0, -3.0, 3.0, 0.0], [2 / 3, 0.0, 1.0, 0.5]),
        (A.hard_silu, [1.0, -4.0, 4.0], [2 / 3, 0.0, 4.0]),
        (A.hard_swish, [1.0], [2 / 3]),
        (A.hard_tanh, [-2.0, 0.5, 2.0], [-1.0, 0.5, 1.0]),
        (A.sparse_sigmoid, [-2.0, 0.0, 0.5, 2.0], [0.0, 0.5, 0.75, 1.0]),
        (A.sparse_plus, [-2.0, 0.0, 2.0], [0.0, 0.25, 2.0]),
        (A.log_sigmoid, [0.0], [-math.log(2)]),
        (A.tanh_shrink, [1.0], [1 - math.tanh(1.0)]),
        (A.soft_shrink, [-1.0, 0.2, 1.0], [-0.5, 0.0, 0.5]),
        (A.hard_shrink, [-1.0, 0.4, 1.0], [-1.0, 0.0, 1.0]),
        (A.squareplus, [0.0], [1.0]),
        (A.mish, [1.0], [0.8650983882673103]),
        (A.sparsemax, [[0.3, 0.1, -0.5], [1.0, 0.0, -1.0]], [[0.6, 0.4, 0.0], [1.0, 0.0, 0.0]]),
    ],
    ids=lambda v: repr(v) if isinstance(v, ActivationFunction) else "",
)
def test_reference_values(activation, x, expected):
    np.testing.assert_allclose(activation(np.array(x, dtype=np.float64)), expected, rtol=1e-12, atol=1e-12)


def test_selu_constants():
    assert A._SELU_ALPHA == pytest.approx(1.6732632423543772)
    assert A._SELU_SCALE == pytest.approx(1.0507009873554805)


def test_erf_matches_python_math_erf():
    z = np.linspace(-9, 9, 20001)
    exact = np.array([math.erf(v) for v in z])
    assert np.abs(A._erf(z) - exact).max() < 1e-13
    assert np.abs(A._erf(z.astype(np.float32)) - exact).max() < 1e-6
    assert float(A._erf(np.array(0.5))) == pytest.approx(math.erf(0.5), abs=1e-15)


@pytest.mark.parametrize("activation", sorted(set(A._BUILTINS.values()), key=lambda a: a.name), ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(activation, dtype, rng):
    if activation is A.threshold:  # its options have no defaults
        activation = activation.with_options(threshold=0.5, default_value=0.0)
    x = rng.uniform(-4, 4, size=(4, 6)).astype(dtype)
    y = activation(x)
    grad = activation.backward(np.ones_like(y), x, y)
    assert y.dtype == dtype, f"{activation.name} forward returned {y.dtype} for {np.dtype(dtype)}"
    assert grad.dtype == dtype, f"{activation.name} backward returned {grad.dtype} for {np.dtype(dtype)}"
    assert y.shape == A.output_shape(activation, x.shape) and grad.shape == x.shape


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=[case[0] for case in GRADIENT_CASES])
def test_inputs_are_never_modified(case, rng):
    name, activation, kinks, shape, width = case
    x = rng.uniform(-width, width, size=shape).astype(np.float32)
    y = activation(x)
    g = rng.standard_normal(y.shape).astype(np.float32)
    saved = x.copy(), y.copy(), g.copy()
    activation.backward(g, x, y)
    for before, after in zip(saved, (x, y, g)):
        np.testing.assert_array_equal(before, after)


def test_integer_and_list_inputs_become_float32():
    assert A.relu(np.array([-1, 2])).dtype == np.float32
    assert A.sigmoid([0, 1]).dtype == np.float32


def test_relu_float32_fast_path_keeps_dtype_and_does_not_touch_input(rng):
    x = rng.standard_normal((128, 512)).astype(np.float32)
    before = x.copy()
    y = A.relu(x)
    grad = A.relu.backward(np.ones_like(y), None, y)
    assert y.dtype == np.float32 and grad.dtype == np.float32
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(grad, (x > 0).astype(np.float32))


def test_saturating_functions_are_stable_for_huge_inputs():
    x = np.array([[1000.0, 1000.0, 0.0], [-1000.0, 0.0, 1000.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = A.softmax(x)
        log_p = A.log_softmax(x)
        s = A.sigmoid(np.array([-1000.0, 1000.0]))
        sp = A.softplus(np.array([-1000.0, 1000.0]))
        ls = A.log_sigmoid(np.array([-1000.0, 1000.0]))
        m = A.mish(np.array([-1000.0, 1000.0]))
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    assert np.isfinite(log_p).all() and log_p[0, 0] == pytest.approx(-math.log(2))
    np.testing.assert_array_equal(s, [0.0, 1.0])
    np.testing.assert_allclose(sp, [0.0, 1000.0])
    np.testing.assert_allclose(ls, [-1000.0, 0.0])
    np.testing.assert_allclose(m, [0.0, 1000.0])


def test_softmax_rows_sum_to_one_along_the_chosen_axis(rng):
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(A.softmax(x).sum(axis=-1), 1.0)
    np.testing.assert_allclose(A.softmax(x, axis=1).sum(axis=1), 1.0)


def test_keras_style_calls_with_options():
    x = np.array([-1.0, 2.0])
    np.testing.assert_allclose(A.leaky_relu(x, 0.1), [-0.1, 2.0])
    np.testing.assert_allclose(A.leaky_relu(x, negative_slope=0.1), [-0.1, 2.0])
    np.testing.assert_allclose(A.elu(x, alpha=2), [2 * (math.exp(-1) - 1), 2.0])
    np.testing.assert_allclose(A.relu(x, 0.5, None, 0.0), [-0.5, 2.0])
    np.testing.assert_allclose(A.gelu(np.array([1.0]), approximate=True), [0.8411919906082768])


def test_bad_options_are_reported():
    with pytest.raises(TypeError, match="Did you mean 'negative_slope'"):
        A.leaky_relu(np.ones(2), negative_slop=0.1)
    with pytest.raises(TypeError, match="alpha must be a number"):
        A.elu(np.ones(2), alpha="big")
    with pytest.raises(TypeError, match="no options"):
        A.tanh(np.ones(2), 3)
    with pytest.raises(TypeError, match="multiple values"):
        A.elu(np.ones(2), 1.0, alpha=2.0)


def test_with_options_leaves_the_builtin_unchanged():
    leaky = A.leaky_relu.with_options(negative_slope=0.1)
    assert A.leaky_relu.options == {"negative_slope": 0.2}
    assert repr(leaky) == "<activation leaky_relu negative_slope=0.1>"
    assert leaky == A.leaky_relu.with_options(0.1)
    assert leaky != A.leaky_relu


def test_needs_input_flags():
    for activation in (A.linear, A.relu, A.sigmoid, A.tanh, A.softmax, A.elu, A.selu, A.softplus, A.relu6):
        assert activation.needs_input is False, activation
    for activation in (A.silu, A.gelu, A.mish, A.hard_silu, A.tanh_shrink):
        assert activation.needs_input is True, activation
    assert A.relu.with_options(threshold=1.0).needs_input is True
    assert A.relu.with_options(max_value=6.0).needs_input is False


# ----- registry ------------------------------------------------------------------------------------


def test_get_resolves_names_case_insensitively_and_aliases():
    assert A.get(None) is A.linear
    assert A.get("relu") is A.relu
    assert A.get("ReLU") is A.relu
    assert A.get("Softmax") is A.softmax
    assert A.get("swish") is A.silu and A.swish is A.silu
    assert A.get("hard_swish") is A.hard_silu
    assert A.get(A.tanh) is A.tanh


@pytest.mark.parametrize("name", sorted(A._BY_NAME))
def test_every_name_resolves_and_round_trips(name):
    activation = A.get(name)
    assert isinstance(activation, ActivationFunction)
    assert A.deserialize(A.serialize(activation)) is activation
    assert repr(activation) == f"<activation {activation.name}>"


def test_unknown_name_suggests_the_nearest():
    with pytest.raises(ValueError, match=r"Unknown activation: 'rleu'\. Did you mean 'relu'\?"):
        A.get("rleu")


def test_plain_callable_is_rejected_with_how_to_wrap_it():
    def my_activation(x):
        return x * 2

    with pytest.raises(TypeError, match=r"ActivationFunction\('my_activation', forward, backward\)"):
        A.get(my_activation)
    with pytest.raises(TypeError, match="nbtrain has a built-in one: pass 'tanh'"):
        A.get(np.tanh)
    with pytest.raises(TypeError, match="Could not interpret activation identifier 3"):
        A.get(3)


def test_user_defined_activation_is_accepted_and_checked(rng):
    cube = ActivationFunction("cube", lambda x: x**3, lambda g, x, y: g * 3 * x**2)
    assert A.get(cube) is cube
    assert repr(cube) == "<activation cube>"
    check_elementwise_function(cube, cube.backward, rng.standard_normal((2, 3)), rng, "cube")
    assert A.serialize(cube) == "cube"
    assert A.deserialize("cube", custom_objects={"cube": cube}) is cube
    with pytest.raises(TypeError, match="must be callable"):
        ActivationFunction("broken", lambda x: x, None)


def test_object_with_a_backward_method_is_wrapped():
    class Double:
        needs_input = False

        def __call__(self, x):
            return 2 * x

        def backward(self, grad_y, x, y):
            return 2 * grad_y

    activation = A.get(Double())
    assert isinstance(activation, ActivationFunction) and activation.needs_input is False
    np.testing.assert_array_equal(activation.backward(np.ones(2), None, None), [2.0, 2.0])


def test_serialize_options_and_keras_function_layout():
    leaky = A.leaky_relu.with_options(negative_slope=0.1)
    config = A.serialize(leaky)
    assert config == {"class_name": "leaky_relu", "config": {"negative_slope": 0.1}}
    assert A.deserialize(config) == leaky
    assert A.get(config) == leaky
    assert A.deserialize({"module": "keras.activations", "class_name": "function", "config": "relu"}) is A.relu
    assert A.serialize("relu") == "relu"


def test_pickle_and_deepcopy_keep_builtins_identical():
    assert pickle.loads(pickle.dumps(A.relu)) is A.relu
    assert copy.deepcopy(A.softmax) is A.softmax
    leaky = A.leaky_relu.with_options(negative_slope=0.1)
    assert pickle.loads(pickle.dumps(leaky)) == leaky


# ----- glu and threshold against Keras (tests/fixtures/make_keras_classes_reference.py) ----------------------

KERAS = json.loads((Path(__file__).parent / "fixtures" / "keras_classes_reference.json").read_text())["activations"]


@pytest.mark.parametrize("name", ["glu", "glu_axis_1", "threshold"])
def test_glu_and_threshold_match_keras(name):
    ref = KERAS[name]
    x = np.asarray(ref["x"], dtype=np.float32)
    function = getattr(A, name.split("_")[0])
    y = function(x, **ref["options"])
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, ref["y"], rtol=1e-6, atol=1e-7)


def test_activation_layer_glu_matches_keras_in_a_model():
    import nbtrain

    ref = KERAS["dense_then_activation_glu"]
    inputs = nbtrain.Input((5,))
    outputs = nbtrain.layers.Activation("glu")(nbtrain.layers.Dense(6)(inputs))
    assert outputs.shape == (None, 3)
    model = nbtrain.Model(inputs, outputs)
    model.set_weights([np.asarray(w, dtype=np.float32) for w in ref["weights"]])
    np.testing.assert_allclose(model.predict(np.asarray(ref["x"], dtype=np.float32), verbose=0), ref["y"],
                               rtol=1e-5, atol=1e-6)


def test_glu_needs_an_even_axis_and_its_own_layer():
    import nbtrain

    with pytest.raises(ValueError, match=r"needs an even size, but the input has shape \(2, 5\)"):
        A.glu(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"needs an even size, but the input shape is \(None, 5\)"):
        nbtrain.Sequential([nbtrain.Input((5,)), nbtrain.layers.Activation("glu")])
    with pytest.raises(ValueError, match=r"Dense cannot take activation='glu'.*Activation\('glu'\)"):
        nbtrain.layers.Dense(8, activation="glu")
    assert A.output_shape(A.glu.with_options(axis=1), (None, 8, 3)) == (None, 4, 3)
    assert A.output_shape("relu", (None, 5)) == (None, 5)


def test_threshold_needs_both_options_as_in_keras():
    with pytest.raises(TypeError, match="threshold\\(\\) needs both options"):
        A.threshold(np.ones(3))
    with pytest.raises(TypeError, match="needs both options"):
        A.threshold(np.ones(3), threshold=0.5)
    np.testing.assert_array_equal(A.threshold(np.array([0.2, 0.7]), 0.5, 0.0), [0.0, 0.7])
    configured = A.threshold.with_options(threshold=0.5, default_value=0.0)
    assert A.deserialize(A.serialize(configured)) == configured
    assert A.serialize(configured) == {"class_name": "threshold", "config": {"threshold": 0.5, "default_value": 0.0}}


def test_keras_glu_and_threshold_tests(rng):
    # keras/src/activations/activations_test.py (v3.15.1): test_glu, test_threshold
    x = rng.random((2, 4))
    a, b = np.split(x, 2, axis=-1)
    np.testing.assert_allclose(A.glu(x[np.newaxis, :])[0], a / (1 + np.exp(-b)), rtol=1e-5)
    a, b = np.split(x, 2, axis=-2)
    np.testing.assert_allclose(A.glu(x[np.newaxis, :], axis=-2)[0], a / (1 + np.exp(-b)), rtol=1e-5)
    x = rng.random((2, 5))
    np.testing.assert_allclose(A.threshold(x[np.newaxis, :], 0, 0)[0], np.where(x > 0, x, 0.0), rtol=1e-5)


@pytest.mark.parametrize("name, keras_values", [
    # keras.activations.<name>(np.arange(8).reshape(1, 2, 4) / 3, axis=(1, 2)) on Keras 3.15.1 (JAX)
    ("softmax", [0.0295411367, 0.0412279777, 0.0575382821, 0.0803011358, 0.1120692715, 0.1564052552,
                 0.2182811350, 0.3046358228]),
    ("log_softmax", [-3.5219714642, -3.1886382103, -2.8553047180, -2.5219714642, -2.1886382103, -1.8553048372,
                     -1.5219714642, -1.1886382103]),
])
def test_softmax_and_log_softmax_over_a_tuple_of_axes_match_keras(name, keras_values):
    x = np.arange(8, dtype="float32").reshape(1, 2, 4) / 3
    function = getattr(activations, name)
    np.testing.assert_allclose(function(x, axis=(1, 2)).ravel(), keras_values, rtol=1e-6)
    # and the gradient over both axes, by finite differences in float64
    configured = function.with_options(axis=(1, 2))
    rng = np.random.default_rng(0)
    x64, upstream = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    y = configured(x64)
    analytic = configured._vector_jacobian_product(upstream, x64, y)
    numeric = np.zeros_like(x64)
    for index in np.ndindex(x64.shape):
        bumped = x64.copy()
        bumped[index] += 1e-6
        numeric[index] = ((configured(bumped) - y) * upstream).sum() / 1e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "softmax", "linear"])
def test_in_place_form_gives_the_builtin_values_bit_for_bit(name):
    function = activations.get(name)
    z = np.random.default_rng(0).standard_normal((4, 7)).astype(np.float32) * 60  # sigmoid's exp overflows too
    expected = function(z.copy())
    buffer = z.copy()
    result = activations.in_place_form(function)(buffer)
    assert result is buffer
    np.testing.assert_array_equal(result, expected)


def test_in_place_form_exists_only_for_builtins_with_default_options():
    assert activations.in_place_form(activations.relu.with_options(max_value=6.0)) is None
    assert activations.in_place_form(activations.softmax.with_options(axis=0)) is None
    assert activations.in_place_form(activations.elu) is None



@pytest.mark.parametrize("case", GRADIENT_CASES, ids=[case[0] for case in GRADIENT_CASES])
def test_activations_of_tracked_tensors_are_differentiated(case, rng):
    """``keras.activations.relu(x)`` inside a custom layer's call(): recorded with the activation's gradient."""
    from gradcheck import check_ops_function

    name, activation, kinks, shape, width = case
    x = away_from_kinks(rng.uniform(-width, width, size=shape), kinks)
    check_ops_function(lambda t: activation(t), [x], rng, name)
