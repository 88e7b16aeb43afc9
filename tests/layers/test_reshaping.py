"""Cropping1D, Cropping2D, Permute and RepeatVector: shapes, values, Keras configs, errors, gradients, models."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gradcheck import check_layer

import nbtrain
from nbtrain.layers import LSTM, Conv2D, Dense, Embedding, Flatten, serialization
from nbtrain.layers.reshaping import Cropping1D, Cropping2D, Permute, RepeatVector

# ----- shapes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer, input_shape, expected", [
    (Cropping1D(), (None, 5, 3), (None, 3, 3)),
    (Cropping1D(2), (None, 5, 3), (None, 1, 3)),
    (Cropping1D((0, 3)), (None, 5, 3), (None, 2, 3)),
    (Cropping1D((1, 2)), (None, None, 3), (None, None, 3)),
    (Cropping2D(), (None, 4, 5, 2), (None, 4, 5, 2)),
    (Cropping2D(1), (None, 4, 5, 2), (None, 2, 3, 2)),
    (Cropping2D((1, 2)), (None, 4, 5, 2), (None, 2, 1, 2)),
    (Cropping2D(((1, 0), (2, 1))), (None, 4, 5, 2), (None, 3, 2, 2)),
    (Cropping2D(((1, 2), (3, 4))), (None, 7, None, 5), (None, 4, None, 5)),
    (Permute((2, 1)), (None, 10, 64), (None, 64, 10)),
    (Permute((3, 1, 2)), (None, 2, 3, 4), (None, 4, 2, 3)),
    (Permute((1,)), (None, 6), (None, 6)),
    (RepeatVector(3), (None, 32), (None, 3, 32)),
])
def test_compute_output_shape_matches_forward(layer, input_shape, expected, rng):
    assert layer.compute_output_shape(input_shape) == expected
    concrete = tuple(9 if d is None else d for d in input_shape[1:])
    x = rng.standard_normal((2,) + concrete).astype(np.float32)
    y = layer(x)
    assert y.shape == (2,) + layer.compute_output_shape((None,) + concrete)[1:]
    assert y.dtype == np.float32


def test_output_shape_is_set_when_built():
    layer = RepeatVector(4)
    layer.build((None, 3))
    assert layer.built and layer.output_shape == (None, 4, 3)


def test_symbolic_call_gives_keras_shapes():
    x = nbtrain.Input(shape=(10, 64))
    assert Permute((2, 1))(x).shape == (None, 64, 10)
    assert Cropping1D((1, 2))(x).shape == (None, 7, 64)
    assert RepeatVector(3)(nbtrain.Input(shape=(32,))).shape == (None, 3, 32)
    assert Cropping2D(((2, 2), (4, 4)))(nbtrain.Input(shape=(28, 28, 3))).shape == (None, 24, 20, 3)


# ----- values --------------------------------------------------------------------------------------------


def test_cropping1d_values_match_the_keras_example():
    x = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    np.testing.assert_array_equal(Cropping1D(1)(x), [[[2, 3]], [[8, 9]]])
    np.testing.assert_array_equal(Cropping1D((0, 2))(x), [[[0, 1]], [[6, 7]]])
    np.testing.assert_array_equal(Cropping1D((2, 0))(x), [[[4, 5]], [[10, 11]]])


def test_cropping2d_values():
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4, 1)  # rows [0..3], [4..7], [8..11]
    np.testing.assert_array_equal(Cropping2D(((1, 0), (1, 2)))(x)[0, :, :, 0], [[5], [9]])
    np.testing.assert_array_equal(Cropping2D((1, 1))(x)[0, :, :, 0], [[5, 6]])
    np.testing.assert_array_equal(Cropping2D()(x), x)


def test_cropping_leaves_channels_alone():
    x = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    np.testing.assert_array_equal(Cropping2D(((1, 2), (0, 1)))(x), x[:, 1:2, 0:3, :])


def test_permute_values():
    x = np.array([[[1, 2, 3], [4, 5, 6]]], np.float32)  # (1, 2, 3)
    np.testing.assert_array_equal(Permute((2, 1))(x), [[[1, 4], [2, 5], [3, 6]]])
    y = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(Permute((3, 1, 2))(y), np.transpose(y, (0, 3, 1, 2)))


def test_repeat_vector_values():
    x = np.array([[1, 2], [3, 4]], np.float32)
    np.testing.assert_array_equal(RepeatVector(3)(x), [[[1, 2]] * 3, [[3, 4]] * 3])


def test_outputs_are_writable_copies_for_permute_and_repeat_vector():
    x = np.ones((2, 3), np.float32)
    y = RepeatVector(2)(x)
    y[0, 0, 0] = 5.0  # a later layer may work in place; the input and the other copies must not change
    assert x[0, 0] == 1.0 and y[0, 1, 0] == 1.0
    assert Permute((2, 1))(np.ones((2, 3, 4), np.float32)).flags.c_contiguous


# ----- arguments and configs -----------------------------------------------------------------------------


def test_default_names_are_numbered_like_keras():
    names = [layer.name for layer in (Cropping1D(), Cropping2D(), Permute((1,)), RepeatVector(2), Cropping1D())]
    assert names == ["cropping1d", "cropping2d", "permute", "repeat_vector", "cropping1d_1"]


def test_defaults_are_keras():
    assert Cropping1D().cropping == (1, 1)
    assert Cropping2D().cropping == ((0, 0), (0, 0))
    assert Cropping2D().data_format == "channels_last"
    assert Cropping2D(data_format="channels_last").data_format == "channels_last"


@pytest.mark.parametrize("cropping, expected", [
    (2, (2, 2)),
    ((1, 3), (1, 3)),
    ([0, 2], (0, 2)),
    (np.int64(1), (1, 1)),
])
def test_cropping1d_argument_forms(cropping, expected):
    assert Cropping1D(cropping).cropping == expected


@pytest.mark.parametrize("cropping, expected", [
    (1, ((1, 1), (1, 1))),
    ((1, 2), ((1, 1), (2, 2))),
    (((1, 0), (2, 3)), ((1, 0), (2, 3))),
    ([1, [2, 3]], ((1, 1), (2, 3))),
])
def test_cropping2d_argument_forms(cropping, expected):
    assert Cropping2D(cropping).cropping == expected


@pytest.mark.parametrize("layer, expected", [
    (Cropping1D((1, 2), name="c1"), {"name": "c1", "trainable": True, "cropping": (1, 2)}),
    (Cropping2D((1, 2), name="c2"),
     {"name": "c2", "trainable": True, "cropping": ((1, 1), (2, 2)), "data_format": "channels_last"}),
    (Permute([2, 1], name="p"), {"name": "p", "trainable": True, "dims": (2, 1)}),
    (RepeatVector(3, name="r"), {"name": "r", "trainable": True, "n": 3}),
])
def test_config_has_the_keras_keys_and_round_trips(layer, expected, rng):
    config = layer.get_config()
    assert config == expected
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    # through JSON, tuples come back as lists; the rebuilt layer must normalize them again
    rebuilt = serialization.deserialize(json.loads(json.dumps(serialization.serialize(layer))))
    assert type(rebuilt) is type(layer) and rebuilt.get_config() == config


def test_rebuilt_layer_computes_the_same(rng):
    x = rng.standard_normal((2, 5, 6, 3)).astype(np.float32)
    layer = Cropping2D(((1, 2), (0, 3)))
    rebuilt = Cropping2D.from_config(json.loads(json.dumps(layer.get_config())) | {"name": "again"})
    np.testing.assert_array_equal(rebuilt(x), layer(x))


def test_repr_names_the_arguments():
    assert repr(Cropping2D(1, name="c")) == "<Cropping2D name='c', cropping=((1, 1), (1, 1))>"
    assert repr(Permute((2, 1), name="p")) == "<Permute name='p', dims=(2, 1)>"
    assert repr(RepeatVector(3, name="r")) == "<RepeatVector name='r', n=3>"


def test_layers_have_no_weights():
    for layer, shape in [(Cropping1D(), (None, 5, 2)), (Cropping2D(1), (None, 4, 4, 1)),
                         (Permute((2, 1)), (None, 3, 4)), (RepeatVector(2), (None, 3))]:
        layer.build(shape)
        assert layer.count_params() == 0 and layer.get_weights() == [] and layer.params == {}


# ----- errors --------------------------------------------------------------------------------------------


def test_cropping_everything_fails_at_build_time_with_the_sizes():
    with pytest.raises(ValueError, match=r"Cropping1D layer 'c' got cropping=\(2, 3\), which crops 5 steps from "
                                         r"inputs with only 5 steps \(input shape \(None, 5, 7\)\).*"
                                         r"crop at most 4 of its 5 steps"):
        Cropping1D((2, 3), name="c").build((None, 5, 7))
    with pytest.raises(ValueError, match=r"crops 2 rows from inputs with only 2 rows.*\(None, 2, 3, 1\)"):
        Cropping2D(((1, 1), (0, 0))).build((None, 2, 3, 1))
    with pytest.raises(ValueError, match=r"crops 4 columns from inputs with only 3 columns"):
        Cropping2D(((0, 0), (2, 2))).build((None, 8, 3, 1))
    with pytest.raises(ValueError, match="must be smaller than the input size"):
        nbtrain.Sequential([nbtrain.Input((4, 2)), Cropping1D(2)])
    with pytest.raises(ValueError, match="must be smaller than the input size"):
        Cropping1D((3, 3))(nbtrain.Input(shape=(5, 7)))


def test_cropping_checks_sizes_unknown_at_build_time_when_called():
    layer = Cropping1D((2, 2))
    layer.build((None, None, 3))
    assert layer(np.zeros((1, 6, 3), np.float32)).shape == (1, 2, 3)  # any length works ...
    with pytest.raises(ValueError, match=r"crops 4 steps from inputs with only 4 steps \(input shape \(1, 4, 3\)\)"):
        layer(np.zeros((1, 4, 3), np.float32))  # ... that leaves something


def test_cropping_wrong_rank_explains_the_layout():
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, height, width, channels\).*"
                                         r"\(None, 28, 28\).*np\.newaxis"):
        Cropping2D(1).build((None, 28, 28))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, steps, channels\)"):
        Cropping1D()(np.zeros((2, 5), np.float32))


@pytest.mark.parametrize("make, match", [
    (lambda: Cropping1D(-1), r"Cropping1D\(\) expects cropping to be an int or a pair \(start, end\).*got -1"),
    (lambda: Cropping1D((1,)), r"got \(1,\)"),
    (lambda: Cropping1D((1, 2, 3)), r"got \(1, 2, 3\)"),
    (lambda: Cropping1D("1"), r"got '1'"),
    (lambda: Cropping1D(1.5), r"non-negative integers; got 1\.5"),
    (lambda: Cropping1D(True), r"got True"),
    (lambda: Cropping2D((1,)), r"Cropping2D\(\) expects cropping to be an int, a pair \(rows, cols\).*got \(1,\)"),
    (lambda: Cropping2D((1, 2, 3)), r"\(\(top, bottom\), \(left, right\)\)"),
    (lambda: Cropping2D(((1, 2), (3, 4, 5))), r"got \(\(1, 2\), \(3, 4, 5\)\)"),
    (lambda: Cropping2D(((1, 2), (3, -4))), r"non-negative"),
    (lambda: Cropping2D(((1, 2), "3")), r"got \(\(1, 2\), '3'\)"),
    (lambda: Cropping2D(-2), r"got -2"),
])
def test_bad_cropping_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_cropping2d_checks_its_arguments():
    assert Cropping2D(data_format="Channels_First").data_format == "channels_first"
    with pytest.raises(ValueError, match="Did you mean 'channels_last'"):
        Cropping2D(data_format="channel_last")
    with pytest.raises(TypeError, match="Did you mean 'cropping'"):
        Cropping2D(croping=1)


@pytest.mark.parametrize("dims, error, match", [
    ((0, 1, 2), ValueError, r"permutation of \(1, 2, 3\).*got \(0, 1, 2\)\. Axis 0 is the batch axis"),
    ((1, 1), ValueError, r"permutation of \(1, 2\).*got \(1, 1\)"),
    ((1, 3), ValueError, r"permutation of \(1, 2\).*got \(1, 3\)"),
    ((), ValueError, r"permutation of \(1, \.\.\., n\)"),
    (2, TypeError, r"tuple of axis numbers such as \(2, 1\), got 2"),
    ((1.0, 2.0), TypeError, r"contain integers, got \(1\.0, 2\.0\)"),
])
def test_permute_dims_must_be_a_permutation_counted_from_one(dims, error, match):
    with pytest.raises(error, match=match):
        Permute(dims)


def test_permute_input_rank_must_match_dims():
    with pytest.raises(ValueError, match=r"Permute layer 'p' with dims=\(2, 1\) expects inputs with 3 axes "
                                         r"\(batch plus 2\) but got input shape \(None, 2, 3, 4\)"):
        Permute((2, 1), name="p").build((None, 2, 3, 4))
    with pytest.raises(ValueError, match="expects inputs with 3 axes"):
        Permute((2, 1))(np.zeros((2, 3), np.float32))


def test_repeat_vector_arguments_and_input_rank():
    with pytest.raises(TypeError, match=r"RepeatVector\(\) expects n to be an integer such as 3, got 2\.0"):
        RepeatVector(2.0)
    with pytest.raises(TypeError, match="integer"):
        RepeatVector(True)
    with pytest.raises(ValueError, match=r"positive integer, got n=0"):
        RepeatVector(0)
    assert RepeatVector(np.int64(2)).n == 2
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, features\) but got input shape "
                                         r"\(None, 3, 4\)\. Put nbtrain\.layers\.Flatten\(\) before it"):
        RepeatVector(2).build((None, 3, 4))


# ----- gradients -----------------------------------------------------------------------------------------

GRADIENT_CASES = [
    ("cropping1d symmetric", lambda: Cropping1D(1), (2, 5, 3)),
    ("cropping1d start only", lambda: Cropping1D((2, 0)), (2, 4, 2)),
    ("cropping1d end only", lambda: Cropping1D((0, 3)), (1, 5, 2)),
    ("cropping2d asymmetric", lambda: Cropping2D(((1, 0), (2, 1))), (2, 4, 5, 2)),
    ("cropping2d symmetric", lambda: Cropping2D((1, 2)), (1, 4, 6, 3)),
    ("cropping2d none", lambda: Cropping2D(), (1, 2, 3, 2)),
    ("permute swap", lambda: Permute((2, 1)), (2, 3, 4)),
    ("permute cycle", lambda: Permute((3, 1, 2)), (2, 2, 3, 4)),
    ("permute reverse", lambda: Permute((3, 2, 1)), (1, 2, 3, 4)),
    ("repeat vector", lambda: RepeatVector(3), (2, 4)),
    ("repeat vector once", lambda: RepeatVector(1), (3, 2)),
]


@pytest.mark.parametrize("name, make_layer, shape", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradients(name, make_layer, shape, rng):
    check_layer(make_layer(), rng.standard_normal(shape), rng)


@pytest.mark.parametrize("name, make_layer, shape", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_input_gradient_has_the_input_dtype_and_shape(name, make_layer, shape, rng):
    layer = make_layer()
    x = rng.standard_normal(shape).astype(np.float32)
    y = layer(x)
    grad = layer.backward(rng.standard_normal(y.shape))  # a float64 upstream gradient
    assert grad.shape == x.shape and grad.dtype == np.float32
    layer.input_gradient_needed = False  # first layer of a model: nobody needs dL/dx
    assert layer.backward(np.ones_like(y)) is None


def test_cropping_gradient_is_zero_where_inputs_were_cropped():
    layer = Cropping2D(((1, 0), (0, 1)))
    layer(np.ones((1, 2, 2, 1), np.float32))
    grad = layer.backward(np.full((1, 1, 1, 1), 7.0, np.float32))
    np.testing.assert_array_equal(grad[0, :, :, 0], [[0, 0], [7, 0]])


def test_repeat_vector_gradient_sums_the_copies():
    layer = RepeatVector(3)
    layer(np.zeros((1, 2), np.float32))
    grad = layer.backward(np.array([[[1, 10], [2, 20], [3, 30]]], np.float32))
    np.testing.assert_array_equal(grad, [[6, 60]])


# ----- masks ---------------------------------------------------------------------------------------------


def test_cropping1d_crops_the_time_mask():
    mask = np.array([[True, True, True, False, False], [True, False, True, True, False]])
    x = np.zeros((2, 5, 3), np.float32)
    np.testing.assert_array_equal(Cropping1D((1, 2)).compute_mask(x, mask), [[True, True], [False, True]])
    np.testing.assert_array_equal(Cropping1D((0, 1)).compute_mask(x, mask), mask[:, :4])
    assert Cropping1D().compute_mask(x, None) is None


def test_permute_and_repeat_vector_drop_the_mask_like_keras():
    mask = np.array([[True, False, True]])
    assert Permute((2, 1)).compute_mask(np.zeros((1, 3, 2), np.float32), mask) is None
    assert RepeatVector(2).compute_mask(np.zeros((1, 3), np.float32), mask) is None
    assert Cropping2D().compute_mask(np.zeros((1, 3, 3, 1), np.float32), mask) is None


def test_lstm_after_cropping1d_still_skips_the_padding(rng):
    # the cropped mask must reach the LSTM: the model then equals the LSTM on the pre-cropped ids
    ids = np.array([[5, 3, 2, 0, 0], [7, 1, 0, 0, 0], [4, 4, 4, 4, 9]])

    def model(length, cropping=None):
        middle = [] if cropping is None else [Cropping1D(cropping)]
        return nbtrain.Sequential([nbtrain.Input((length,)), Embedding(10, 3, mask_zero=True), *middle, LSTM(2)])

    cropped, reference = model(5, (1, 0)), model(4)
    reference.set_weights(cropped.get_weights())
    np.testing.assert_allclose(cropped.predict(ids, verbose=0), reference.predict(ids[:, 1:], verbose=0),
                               rtol=1e-6, atol=1e-6)


# ----- in models -----------------------------------------------------------------------------------------


def summary_text(model) -> str:
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def test_cropping2d_in_a_cnn_that_trains(rng):
    x = rng.random((48, 8, 8, 1)).astype(np.float32)
    y = (x[:, 2:6, 2:6, 0].mean(axis=(1, 2)) > 0.5).astype(np.float32)  # decided by the centre only
    model = nbtrain.Sequential([
        nbtrain.Input((8, 8, 1)),
        Cropping2D(2),
        Conv2D(2, 3, activation="relu"),
        Flatten(),
        Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    losses = model.fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    text = summary_text(model)
    assert "cropping2d (Cropping2D)" in text and "(None, 4, 4, 1)" in text


def test_cropping1d_permute_and_repeat_vector_in_a_model_that_trains(rng):
    x = rng.standard_normal((64, 7, 2)).astype(np.float32)
    y = np.repeat(x[:, 1:5, :1].sum(axis=1, keepdims=True), 4, axis=1)  # (64, 4, 1)
    model = nbtrain.Sequential([
        nbtrain.Input((7, 2)),
        Cropping1D((1, 2)),  # (4, 2)
        Permute((2, 1)),  # (2, 4)
        Flatten(),  # (8,)
        Dense(3),
        RepeatVector(4),  # (4, 3)
        Dense(1),  # (4, 1)
    ])
    model.compile(optimizer="adam", loss="mse")
    losses = model.fit(x, y, epochs=10, batch_size=16, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert model.predict(x[:3], verbose=0).shape == (3, 4, 1)
    text = summary_text(model)
    for row in ("cropping1d (Cropping1D)", "(None, 4, 2)", "permute (Permute)", "(None, 2, 4)",
                "repeat_vector (RepeatVector)", "(None, 4, 3)"):
        assert row in text, f"{row!r} missing from the summary:\n{text}"


def test_repeat_vector_feeds_a_recurrent_decoder_in_a_functional_model(rng):
    inputs = nbtrain.Input((5, 3))
    code = LSTM(4)(inputs)
    decoded = LSTM(2, return_sequences=True)(RepeatVector(5)(code))
    model = nbtrain.Model(inputs, decoded)
    x = rng.standard_normal((16, 5, 3)).astype(np.float32)
    model.compile(optimizer="adam", loss="mse")
    losses = model.fit(x, x[:, :, :2], epochs=3, batch_size=8, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses))
    assert model.predict(x, verbose=0).shape == (16, 5, 2)
    assert "repeat_vector (RepeatVector)" in summary_text(model)
