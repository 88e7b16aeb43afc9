"""Activation layers (ReLU, LeakyReLU, ELU, Softmax, PReLU): Keras 3 values, arguments, errors, configs,
PReLU's weight shapes, float64 gradient checks of every option, and training inside a Sequential model."""

import json
import math

import numpy as np
import pytest
from gradcheck import check_layer

import nbtrain
from nbtrain.layers import Dense, Embedding, Flatten, Input, serialization
from nbtrain.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax


def away_from(kinks, shape, rng, low=-3.0, high=3.0, gap=0.05):
    """Uniform inputs kept ``gap`` away from the given kinks, so central differences never straddle one."""
    x = rng.uniform(low, high, shape)
    for kink in kinks:
        close = np.abs(x - kink) < gap
        x[close] = kink + np.where(x[close] >= kink, gap, -gap) * 2
    return x


# ----- values on small inputs (the examples of Keras's docstrings and tests) ----------------------------------

X = np.array([-10.0, -5.0, 0.0, 5.0, 10.0], np.float32)


@pytest.mark.parametrize("layer, expected", [
    (ReLU(), [0, 0, 0, 5, 10]),
    (ReLU(max_value=10, negative_slope=0.5), [-5, -2.5, 0, 5, 10]),
    (ReLU(max_value=6), [0, 0, 0, 5, 6]),
    (ReLU(threshold=5), [0, 0, 0, 0, 10]),  # values at the threshold are damped too
    (ReLU(max_value=8, negative_slope=0.5, threshold=5), [-7.5, -5, -2.5, 0, 8]),
    (LeakyReLU(), [-3, -1.5, 0, 5, 10]),  # Keras 3's default slope 0.3 (the leaky_relu function's is 0.2)
    (LeakyReLU(negative_slope=0.5), [-5, -2.5, 0, 5, 10]),
    (ELU(), [math.expm1(-10), math.expm1(-5), 0, 5, 10]),
    (ELU(alpha=0.7), [0.7 * math.expm1(-10), 0.7 * math.expm1(-5), 0, 5, 10]),
], ids=lambda v: repr(v) if not isinstance(v, list) else "")
def test_hand_computed_values(layer, expected):
    out = layer(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_softmax_values_and_axis():
    x = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]], np.float32)
    row = [0.21194157, 0.5761169, 0.21194157]
    out = Softmax()(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [row, row], rtol=1e-6)
    np.testing.assert_allclose(Softmax(axis=[1])(x), [row, row], rtol=1e-6)
    np.testing.assert_allclose(Softmax(axis=0)(x), np.full((2, 3), 0.5), rtol=1e-6)


def test_softmax_over_several_axes_normalizes_them_together(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    out = Softmax(axis=[1, 2])(x)
    expected = np.exp(x) / np.exp(x).sum(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    assert out.shape == x.shape and out.dtype == np.float32


def test_softmax_with_mask_over_two_axes():
    # Keras's own test case
    x = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]], np.float32)
    mask = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    expected = [[0.21194154, 0.0, 0.21194154], [0.0, 0.57611686, 0.0]]
    np.testing.assert_allclose(Softmax(axis=(1, 0))(x, mask=mask), expected, rtol=1e-6)


def test_softmax_masked_positions_get_zero_even_in_a_fully_masked_row():
    x = np.array([[1.0, 2.0, 5.0, 1.0], [1.0, 1.0, 1.0, 1.0], [3.0, 1.0, 2.0, 4.0]], np.float32)
    mask = np.array([[True, True, False, False], [False] * 4, [True] * 4])
    expected = [[0.268941, 0.731059, 0, 0], [0, 0, 0, 0], [0.236883, 0.032059, 0.087144, 0.643914]]
    out = Softmax()(x, mask=mask)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_softmax_mask_broadcasts_from_the_right_like_keras():
    x = np.array([[1.0, 2.0, 1.0], [3.0, 4.0, 5.0]], np.float32)
    for mask in (np.array([[1.0, 0.0, 1.0]]), np.array([1.0, 0.0, 1.0])):
        out = Softmax()(x, mask=mask)
        np.testing.assert_array_equal(out[:, 1], [0, 0])
        np.testing.assert_allclose(out.sum(axis=-1), [1, 1], rtol=1e-6)


def test_softmax_padding_mask_keeps_padded_steps_out_of_a_softmax_over_time(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    padding = np.array([[True, True, False], [True, False, False]])  # (batch, time), as models pass it
    over_time = Softmax(axis=1)(x, mask=padding)
    np.testing.assert_allclose(over_time.sum(axis=1), np.ones((2, 4)), rtol=1e-6)
    np.testing.assert_array_equal(over_time[~padding], 0)
    np.testing.assert_allclose(over_time[0, :2], Softmax(axis=1)(x[:, :2])[0], rtol=1e-6)
    # a softmax within each step is left alone, as Dense(activation="softmax") leaves it
    np.testing.assert_array_equal(Softmax()(x, mask=padding), Softmax()(x))


def test_prelu_values_with_shared_axes(rng):
    x = rng.standard_normal((2, 10, 5, 3)).astype(np.float32)
    layer = PReLU(shared_axes=(1, 2))
    layer.build(x.shape)
    alpha = rng.random((1, 1, 3)).astype(np.float32)
    layer.set_weights([alpha])
    out = layer(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (x > 0) * x + (x <= 0) * alpha * x, rtol=1e-6)


def test_prelu_starts_as_relu():
    np.testing.assert_array_equal(PReLU()(X[None]), [[0, 0, 0, 5, 10]])


# ----- output shapes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer", [ReLU(), LeakyReLU(), ELU(), Softmax(), Softmax(axis=[1, 2]), PReLU(),
                                   PReLU(shared_axes=[1, 2])], ids=repr)
def test_compute_output_shape_is_the_input_shape(layer):
    assert layer.compute_output_shape((None, 5, 5, 3)) == (None, 5, 5, 3)
    layer.build((None, 5, 5, 3))
    assert layer.output_shape == (None, 5, 5, 3)
    assert layer(np.ones((2, 5, 5, 3), np.float32)).shape == (2, 5, 5, 3)


def test_weightless_layers_accept_inputs_of_any_shape():
    relu, softmax = ReLU(), Softmax()
    for shape in [(2, 3), (4, 5, 6), (7,)]:
        assert relu(np.ones(shape, np.float32)).shape == shape
        assert softmax(np.ones(shape, np.float32)).shape == shape


# ----- PReLU's weight -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("input_shape, shared_axes, alpha_shape", [
    ((None, 5, 5, 3), None, (5, 5, 3)),
    ((None, 5, 5, 3), [1, 2], (1, 1, 3)),
    ((None, 5, 5, 3), (1, 2, 3), (1, 1, 1)),
    ((None, 5, 5, 3), 3, (5, 5, 1)),
    ((None, 4, 6), 1, (1, 6)),
    ((None, 7), None, (7,)),
    ((None, None, 8), [1], (1, 8)),  # a shared axis may have no size
])
def test_prelu_alpha_shape_follows_keras(input_shape, shared_axes, alpha_shape):
    layer = PReLU(shared_axes=shared_axes)
    layer.build(input_shape)
    assert list(layer.params) == ["alpha"]
    (alpha,) = layer.get_weights()
    assert alpha.shape == alpha_shape and alpha.dtype == np.float32
    assert np.all(alpha == 0)  # "Zeros" by default
    assert layer.count_params() == math.prod(alpha_shape)


def test_prelu_shared_axes_may_change_size_between_calls():
    layer = PReLU(shared_axes=[1])
    for steps in (7, 3):
        assert layer(np.ones((2, steps, 4), np.float32)).shape == (2, steps, 4)
    assert layer.get_weights()[0].shape == (1, 4)


def test_prelu_initializer_regularizer_and_constraint():
    layer = PReLU(alpha_initializer=nbtrain.initializers.Constant(0.25), alpha_regularizer="l1",
                  alpha_constraint="non_neg")
    layer.build((None, 4))
    np.testing.assert_array_equal(layer.get_weights()[0], np.full(4, 0.25))
    assert layer.losses == [pytest.approx(0.01 * 4 * 0.25)]  # L1's default factor 0.01
    layer.set_weights([np.array([-1.0, 0.5, -0.2, 2.0])])
    layer.apply_constraints()
    np.testing.assert_array_equal(layer.get_weights()[0], [0, 0.5, 0, 2])


def test_prelu_frozen_has_no_trainable_alpha():
    layer = PReLU(trainable=False)
    layer.build((None, 3))
    assert layer.params == {} and len(layer.non_trainable_weights) == 1


# ----- gradients: every layer and option, float64 central differences, random upstream gradient ------------

GRADIENT_CASES = [
    ("relu", ReLU, {}, [0.0]),
    ("relu max_value", ReLU, {"max_value": 1.5}, [0.0, 1.5]),
    ("relu negative_slope", ReLU, {"negative_slope": 0.1}, [0.0]),
    ("relu threshold", ReLU, {"threshold": 0.5}, [0.0, 0.5]),
    ("relu all options", ReLU, {"max_value": 2.0, "negative_slope": 0.2, "threshold": 0.5}, [0.0, 0.5, 2.0]),
    ("relu max_value 0", ReLU, {"max_value": 0}, [0.0]),
    ("leaky relu", LeakyReLU, {}, [0.0]),
    ("leaky relu 0.1", LeakyReLU, {"negative_slope": 0.1}, [0.0]),
    ("leaky relu steeper than 1", LeakyReLU, {"negative_slope": 1.5}, [0.0]),
    ("elu", ELU, {}, [0.0]),
    ("elu alpha 0.5", ELU, {"alpha": 0.5}, [0.0]),
    ("elu negative alpha", ELU, {"alpha": -0.5}, [0.0]),
    ("softmax", Softmax, {}, []),
    ("softmax axis 1", Softmax, {"axis": 1}, []),
    ("softmax axes 1 and 2", Softmax, {"axis": [1, 2]}, []),
    ("softmax axes 0 and -1", Softmax, {"axis": (0, -1)}, []),
]


@pytest.mark.parametrize("name, layer_class, options, kinks", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradients_of_weightless_layers(name, layer_class, options, kinks, rng):
    check_layer(layer_class(**options), away_from(kinks, (3, 4, 5), rng), rng)


MASKS = {
    "same shape": np.array([[True, False, True, True], [False, False, True, False], [True] * 4]),
    "fully masked row": np.array([[True, True, False, True], [False] * 4, [True, False, False, True]]),
    "broadcast row": np.array([[1.0, 0.0, 1.0, 1.0]]),
    "fewer dimensions": np.array([0.0, 1.0, 1.0, 1.0]),
}


@pytest.mark.parametrize("mask_name", sorted(MASKS))
def test_softmax_gradients_with_a_mask(mask_name, rng):
    check_layer(Softmax(), rng.standard_normal((3, 4)), rng, mask=MASKS[mask_name])


def test_softmax_gradients_with_a_padding_mask_and_several_axes(rng):
    padding = np.array([[True, True, False], [True, False, False]])
    check_layer(Softmax(), rng.standard_normal((2, 3, 4)), rng, mask=padding)
    check_layer(Softmax(axis=1), rng.standard_normal((2, 3, 4)), rng, mask=padding)
    check_layer(Softmax(axis=[0, 2]), rng.standard_normal((2, 3, 4)), rng,
                mask=rng.random((2, 3, 4)) > 0.3)


PRELU_CASES = [
    ("default", {}, (3, 4)),
    ("random alpha", {"alpha_initializer": "random_normal"}, (3, 2, 4)),
    ("shared height and width", {"alpha_initializer": "random_uniform", "shared_axes": [1, 2]}, (2, 3, 3, 2)),
    ("shared time", {"alpha_initializer": "random_uniform", "shared_axes": 1}, (3, 4, 2)),
    ("all shared", {"alpha_initializer": "ones", "shared_axes": [1, 2]}, (3, 2, 4)),
    ("regularized and constrained", {"alpha_initializer": "random_uniform", "alpha_regularizer": "l2",
                                     "alpha_constraint": "non_neg"}, (3, 5)),
]


@pytest.mark.parametrize("name, options, shape", PRELU_CASES, ids=[c[0] for c in PRELU_CASES])
def test_prelu_gradients_for_input_and_alpha(name, options, shape, rng):
    check_layer(PReLU(**options), away_from([0.0], shape, rng), rng)


def test_prelu_gradient_is_written_into_a_reused_float32_buffer(rng):
    layer = PReLU(alpha_initializer="random_uniform", shared_axes=[1])
    x = rng.standard_normal((4, 3, 2)).astype(np.float32)
    layer(x)
    layer.backward(np.ones_like(x))
    buffer = layer.grads["alpha"]
    assert buffer.shape == (1, 2) and buffer.dtype == np.float32
    np.testing.assert_allclose(buffer[0], np.minimum(x, 0).sum(axis=(0, 1)), rtol=1e-5)
    layer.backward(np.ones_like(x))
    assert layer.grads["alpha"] is buffer


# ----- configs -----------------------------------------------------------------------------------------------

CONFIG_CASES = [
    ("ReLU", lambda: ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5),
     {"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5}),
    ("ReLU defaults", lambda: ReLU(), {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}),
    ("LeakyReLU", lambda: LeakyReLU(negative_slope=0.2), {"negative_slope": 0.2}),
    ("LeakyReLU defaults", lambda: LeakyReLU(), {"negative_slope": 0.3}),
    ("ELU", lambda: ELU(alpha=0.5), {"alpha": 0.5}),
    ("Softmax", lambda: Softmax(), {"axis": -1}),
    ("Softmax axes", lambda: Softmax(axis=(1, 2)), {"axis": [1, 2]}),
    ("PReLU", lambda: PReLU(alpha_initializer="he_normal", alpha_regularizer="l2", alpha_constraint="non_neg",
                            shared_axes=(1, 2)), None),
    ("PReLU defaults", lambda: PReLU(), None),
]


@pytest.mark.parametrize("name, make_layer, options", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_config_keys_and_values(name, make_layer, options):
    config = make_layer().get_config()
    if options is not None:
        assert {k: v for k, v in config.items() if k not in ("name", "trainable")} == options
    else:
        assert set(config) == {"name", "trainable", "alpha_initializer", "alpha_regularizer", "alpha_constraint",
                               "shared_axes"}


def test_prelu_config_serializes_its_objects():
    config = PReLU(alpha_regularizer="l2", alpha_constraint="non_neg", shared_axes=(1, 2)).get_config()
    assert config["alpha_initializer"]["class_name"] == "Zeros"
    assert config["alpha_regularizer"]["class_name"] == "L2"
    assert config["alpha_constraint"]["class_name"] == "NonNeg"
    assert config["shared_axes"] == [1, 2]
    assert PReLU(shared_axes=3).get_config()["shared_axes"] == [3]  # an int becomes a list, as in Keras
    assert PReLU().get_config()["alpha_regularizer"] is None


@pytest.mark.parametrize("name, make_layer, options", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_round_trip_through_json_keeps_config_weights_and_outputs(name, make_layer, options, rng):
    layer = make_layer()
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    layer.build((None, 3, 4))
    layer.set_weights([w + rng.uniform(0.1, 0.2, w.shape).astype(w.dtype) for w in layer.get_weights()])
    config = json.loads(json.dumps(serialization.serialize(layer)))

    rebuilt = serialization.deserialize(config)
    assert type(rebuilt) is type(layer)
    assert json.loads(json.dumps(rebuilt.get_config())) == config["config"]
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    rebuilt.build((None, 3, 4))
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_array_equal(rebuilt(x), layer(x))


@pytest.mark.parametrize("layer_class", [ReLU, LeakyReLU, ELU, Softmax, PReLU])
def test_every_constructor_argument_is_in_the_config(layer_class):
    import inspect

    config = layer_class().get_config()
    arguments = [p for p in inspect.signature(layer_class.__init__).parameters if p not in ("self", "kwargs")]
    assert [a for a in arguments if a not in config] == []


def test_default_names_follow_keras():
    assert [ReLU().name, LeakyReLU().name, ELU().name, Softmax().name, PReLU().name, ReLU().name] == [
        "re_lu", "leaky_re_lu", "elu", "softmax", "p_re_lu", "re_lu_1"]


def test_repr_shows_the_options():
    assert repr(ReLU(max_value=6, name="r")) == "<ReLU name='r', max_value=6.0, negative_slope=0.0, threshold=0.0>"
    assert repr(Softmax(axis=1, name="s")) == "<Softmax name='s', axis=1>"
    assert repr(PReLU(shared_axes=[1, 2], name="p")) == "<PReLU name='p', shared_axes=[1, 2]>"


# ----- Keras 2's LeakyReLU(alpha=...) ------------------------------------------------------------------------

def test_leaky_relu_accepts_keras2_alpha_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match=r"use LeakyReLU\(negative_slope=0.1\)"):
        layer = LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1
    assert "alpha" not in layer.get_config()
    np.testing.assert_allclose(layer(X), [-1, -0.5, 0, 5, 10], rtol=1e-6)
    with pytest.warns(DeprecationWarning):
        assert LeakyReLU.from_config({"name": "old", "alpha": 0.2}).negative_slope == 0.2  # a Keras 2 config


def test_leaky_relu_rejects_alpha_together_with_another_negative_slope():
    with pytest.raises(TypeError, match=r"got both negative_slope=0.2 and Keras 2's alpha=0.1"):
        LeakyReLU(negative_slope=0.2, alpha=0.1)


# ----- errors ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make_layer, error, message", [
    (lambda: ReLU(max_value=-1), ValueError,
     r"ReLU\(\) expects max_value to be a number >= 0, or None for no upper limit; got max_value=-1"),
    (lambda: ReLU(negative_slope=-0.1), ValueError, r"negative_slope to be a number >= 0; got negative_slope=-0.1"),
    (lambda: ReLU(negative_slope=None), ValueError, r"negative_slope to be a number >= 0, got negative_slope=None"),
    (lambda: ReLU(threshold=-2), ValueError, r"threshold to be a number >= 0; got threshold=-2"),
    (lambda: ReLU(threshold=None), ValueError, r"threshold to be a number >= 0, got threshold=None"),
    (lambda: ReLU(max_value=float("nan")), ValueError, r"max_value=nan"),
    (lambda: ReLU(max_value="6"), TypeError, r"ReLU\(\) expects max_value to be a number or None, got '6'"),
    (lambda: ReLU(activation="tanh"), TypeError, r"takes no 'activation' argument.*Activation\(\.\.\.\)"),
    (lambda: ReLU(max_vlaue=6), TypeError, r"Did you mean 'max_value'"),
    (lambda: LeakyReLU(negative_slope=-0.3), ValueError,
     r"LeakyReLU\(\) expects negative_slope to be a number >= 0; got negative_slope=-0.3"),
    (lambda: LeakyReLU(negative_slope=None), ValueError, r"negative_slope=None"),
    (lambda: ELU(alpha="1"), TypeError, r"ELU\(\) expects alpha to be a number, got '1'"),
    (lambda: Softmax(axis="last"), TypeError, r"axis to be an integer or a list of integers.*got 'last'"),
    (lambda: Softmax(axis=[]), TypeError, r"got \[\]"),
    (lambda: Softmax(axis=1.0), TypeError, r"got 1.0"),
    (lambda: PReLU(shared_axes=0), ValueError, r"counts shared_axes from 1 \(axis 0 is the batch.*shared_axes=0"),
    (lambda: PReLU(shared_axes=[-1]), ValueError, r"negative axes are not supported\); got shared_axes=\[-1\]"),
    (lambda: PReLU(shared_axes="1"), TypeError, r"shared_axes to be None, an integer or a list"),
    (lambda: PReLU(alpha_initializer="zeroes"), ValueError, r"zeros"),
])
def test_invalid_arguments_are_rejected_clearly(make_layer, error, message):
    with pytest.raises(error, match=message):
        make_layer()


def test_softmax_axis_must_fit_the_inputs():
    with pytest.raises(ValueError, match=r"Softmax layer 'softmax' got axis=3 but its inputs have 3 axes; use "
                                         r"axes from -3 to 2"):
        Softmax(axis=3)(np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"axis=\[1, -1\], which names one axis twice"):
        Softmax(axis=[1, -1])(np.ones((2, 3), np.float32))


def test_softmax_mask_must_broadcast_to_the_inputs():
    x = np.ones((1, 3), np.float32)
    with pytest.raises(ValueError, match=r"broadcastable to the inputs and must not have more dimensions; got "
                                         r"inputs of shape \(1, 3\) and a mask of shape \(1, 1, 3\)"):
        Softmax()(x, mask=np.ones((1, 1, 3)))
    with pytest.raises(ValueError, match=r"must be 1 or the input's size. Got inputs of shape \(1, 3\) and a "
                                         r"mask of shape \(2, 3\)"):
        Softmax()(x, mask=np.ones((2, 3)))


def test_prelu_build_and_call_errors():
    with pytest.raises(ValueError, match=r"shared_axes=\[3\], but its inputs of shape \(None, 4, 5\) have axes "
                                         r"1 to 2 only"):
        PReLU(shared_axes=3).build((None, 4, 5))
    with pytest.raises(ValueError, match=r"have none on axes \[1\]. Give them a size, or share alpha along them "
                                         r"with shared_axes=\[1\]"):
        PReLU().build((None, None, 8))
    layer = PReLU(shared_axes=[1])
    layer.build((None, 4, 6))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, None, 6\) but got an array of shape "
                                         r"\(2, 4, 5\)"):
        layer(np.ones((2, 4, 5), np.float32))


# ----- inside a model ----------------------------------------------------------------------------------------

def summary_row(model, layer) -> list[str]:
    """The cells of ``layer``'s row in ``model.summary()``."""
    lines = []
    model.summary(print_fn=lines.append)
    rows = [line for line in "\n".join(lines).splitlines() if f"{layer.name} (" in line]
    assert len(rows) == 1, lines
    return [cell.strip() for cell in rows[0].strip("│ ").split("│")]


def regression_data(rng, n=64):
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (np.abs(x[:, :1]) - x[:, 1:2] + 0.5 * x[:, 2:3]).astype(np.float32)
    return x, y


@pytest.mark.parametrize("make_layer", [ReLU, lambda: ReLU(max_value=6.0, negative_slope=0.1), LeakyReLU,
                                        lambda: LeakyReLU(alpha=0.2), ELU, PReLU],
                         ids=["relu", "relu options", "leaky relu", "leaky relu alpha", "elu", "prelu"])
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_trains_in_a_sequential_model_and_appears_in_the_summary(make_layer, rng):
    layer = make_layer()
    model = nbtrain.Sequential([Input((4,)), Dense(16), layer, Dense(1)])
    model.compile(optimizer=nbtrain.optimizers.Adam(0.01), loss="mse")
    x, y = regression_data(rng)
    losses = model.fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert summary_row(model, layer) == [f"{layer.name} ({type(layer).__name__})", "(None, 16)",
                                         "16" if isinstance(layer, PReLU) else "0"]


def test_prelu_learns_its_alpha_in_a_model(rng):
    x = rng.standard_normal((64, 5, 5, 3)).astype(np.float32)
    y = (x.min(axis=(1, 2, 3)) < -2).astype(np.float32)[:, None]
    prelu = PReLU(shared_axes=[1, 2])
    model = nbtrain.Sequential([Input((5, 5, 3)), prelu, Flatten(), Dense(1, activation="sigmoid")])
    model.compile(optimizer=nbtrain.optimizers.Adam(0.05), loss="binary_crossentropy")
    assert model.count_params() == 3 + 75 + 1
    losses = model.fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert np.any(prelu.get_weights()[0] != 0)  # alpha moved away from its zero start


def test_softmax_classifier_trains_and_matches_a_dense_softmax(rng):
    x = rng.standard_normal((60, 4)).astype(np.float32)
    labels = np.argmax(x[:, :3], axis=1)
    y = np.eye(3, dtype=np.float32)[labels]
    softmax = Softmax()
    separate = nbtrain.Sequential([Input((4,)), Dense(3), softmax])
    combined = nbtrain.Sequential([Input((4,)), Dense(3, activation="softmax")])
    combined.set_weights(separate.get_weights())
    for model in (separate, combined):
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
    history = separate.fit(x, y, epochs=8, batch_size=20, verbose=0, shuffle=False).history["loss"]
    combined.fit(x, y, epochs=8, batch_size=20, verbose=0, shuffle=False)
    assert np.all(np.isfinite(history)) and history[-1] < history[0]
    # the same fused crossentropy gradient, so the same weights
    for a, b in zip(separate.get_weights(), combined.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert summary_row(separate, softmax) == ["softmax (Softmax)", "(None, 3)", "0"]


def padded_ids(rng, n=48, steps=5):
    ids = rng.integers(1, 10, (n, steps))
    ids[::2, 3:] = 0  # padding at the end of every other sequence
    return ids


def test_softmax_per_step_in_a_masked_sequence_model_trains(rng):
    ids = padded_ids(rng)
    is_one = (ids == 1).astype(np.float32)[..., None]
    targets = np.concatenate([is_one, 1 - is_one, np.zeros_like(is_one)], axis=-1)
    model = nbtrain.Sequential([Embedding(10, 4, mask_zero=True), Dense(3), Softmax()])
    model.compile(optimizer=nbtrain.optimizers.Adam(0.05), loss="categorical_crossentropy")
    losses = model.fit(ids, targets, epochs=6, batch_size=16, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    np.testing.assert_allclose(model.predict(ids, verbose=0).sum(axis=-1), 1, rtol=1e-5)


def test_softmax_over_time_gives_padded_steps_no_weight_in_a_model(rng):
    ids = padded_ids(rng)
    weights = nbtrain.Sequential([Embedding(10, 4, mask_zero=True), Dense(1), Softmax(axis=1)])
    out = weights.predict(ids, verbose=0)[..., 0]
    np.testing.assert_array_equal(out[ids == 0], 0)
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)

    y = (ids == 1).any(axis=1).astype(np.float32)[:, None]
    model = nbtrain.Sequential(weights.layers + [Flatten(), Dense(1, activation="sigmoid")])
    model.compile(optimizer=nbtrain.optimizers.Adam(0.05), loss="binary_crossentropy")
    losses = model.fit(ids, y, epochs=6, batch_size=16, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_final_softmax_fuses_with_crossentropy_even_for_saturated_logits():
    # logits 50 apart: a softmax backward after a clipped log(p) would pass almost no gradient; p - y passes -1
    x = np.array([[1.0, 0.0]], np.float32)
    y = np.array([[0.0, 1.0]], np.float32)
    weights = [np.array([[50.0, -50.0], [0.0, 0.0]], np.float32), np.zeros(2, np.float32)]
    separate = nbtrain.Sequential([Input((2,)), Dense(2), Softmax()])
    combined = nbtrain.Sequential([Input((2,)), Dense(2, activation="softmax")])
    for model in (separate, combined):
        model.set_weights(weights)
        model.compile(optimizer=nbtrain.optimizers.SGD(0.1), loss="categorical_crossentropy")
        model.train_on_batch(x, y)
    np.testing.assert_allclose(separate.get_weights()[0], [[49.9, -49.9], [0, 0]], rtol=1e-6)
    np.testing.assert_allclose(separate.get_weights()[0], combined.get_weights()[0], rtol=1e-6)


def test_model_with_every_activation_layer_survives_save_and_load(rng, tmp_path):
    model = nbtrain.Sequential([Input((4,)), Dense(5), PReLU(alpha_initializer="random_uniform"),
                                LeakyReLU(0.1), ELU(0.5), ReLU(max_value=3.0, threshold=0.1), Dense(3), Softmax()])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x = rng.standard_normal((8, 4)).astype(np.float32)
    model.save(tmp_path / "model.keras")
    loaded = nbtrain.models.load_model(tmp_path / "model.keras")
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
