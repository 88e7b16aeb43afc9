"""Rescaling and Normalization: Keras 3's reference values, adapt() on arrays and batches, axis semantics,
weights and config as Keras, errors, float64 input gradients, training in a model, and save/load."""

import json
import types

import numpy as np
import pytest
from gradcheck import check_layer

import nbtrain
from nbtrain.data.generators import PyDataset
from nbtrain.layers import Dense, Input, preprocessing, serialization
from nbtrain.layers.preprocessing import Normalization, Rescaling
from nbtrain.models import Model, Sequential, load_model

# The four examples of Keras 3's Normalization docstring.
KERAS_ADAPT_DATA = np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0], [0.0, 7.0, 4.0], [2.0, 9.0, 6.0]], np.float32)


def json_round_trip(value):
    return json.loads(json.dumps(value))


# ================================================================================================
# Rescaling
# ================================================================================================


def test_rescaling_multiplies_then_adds():
    x = np.array([[0, 51, 255]], np.float32)
    np.testing.assert_allclose(Rescaling(1.0 / 255)(x), [[0.0, 0.2, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(Rescaling(1.0 / 127.5, offset=-1)(x), [[-1.0, -0.6, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(Rescaling(2, 3)(np.array([[1.0, -1.0]])), [[5.0, 1.0]])


def test_rescaling_integer_images_become_float32():
    out = Rescaling(1.0 / 255)(np.full((2, 4, 4, 3), 255, np.uint8))
    assert out.dtype == np.float32 and out.shape == (2, 4, 4, 3)
    np.testing.assert_allclose(out, 1.0, rtol=1e-6)


def test_rescaling_per_channel_arrays_broadcast_over_the_last_axes():
    layer = Rescaling(np.array([1.0, 10.0, 100.0]), offset=np.array([0.0, 1.0, 2.0]))
    out = layer(np.ones((2, 5, 3), np.float32))
    np.testing.assert_allclose(out, np.broadcast_to([1.0, 11.0, 102.0], (2, 5, 3)))
    assert out.dtype == np.float32


def test_rescaling_has_no_weights_and_keeps_the_shape():
    layer = Rescaling(0.5)
    layer.build((None, 7))
    assert layer.weights == [] and layer.get_weights() == [] and layer.params == {}
    assert layer.compute_output_shape((None, 7)) == (None, 7)
    layer.set_weights([])


def test_rescaling_config_matches_keras():
    config = Rescaling(0.5, offset=-1.0, name="scale").get_config()
    assert config == {"name": "scale", "trainable": True, "scale": 0.5, "offset": -1.0}
    # Keras writes a NumPy array as {"class_name": "__numpy__", ...} and a NumPy scalar as a plain number
    config = Rescaling(np.array([1.0, 2.0], np.float32), offset=np.float32(0.25)).get_config()
    assert config["scale"] == {"class_name": "__numpy__", "config": {"value": [1.0, 2.0], "dtype": "float32"}}
    assert config["offset"] == 0.25 and type(config["offset"]) is float


def test_rescaling_round_trips_through_json_with_arrays():
    layer = Rescaling(np.array([0.5, 2.0]), offset=[1.0, -1.0], name="rescale")
    config = json_round_trip(serialization.serialize(layer))
    rebuilt = serialization.deserialize(config)
    assert type(rebuilt) is Rescaling and rebuilt.name == "rescale"
    assert json_round_trip(rebuilt.get_config()) == config["config"]
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.testing.assert_array_equal(rebuilt(x), layer(x))


def test_rescaling_errors():
    with pytest.raises(TypeError, match="scale to be a number or an array"):
        Rescaling("big")
    with pytest.raises(ValueError, match=r"do not broadcast against inputs of shape \(2, 4\)"):
        Rescaling(np.ones(3))(np.ones((2, 4), np.float32))
    with pytest.raises(TypeError, match="Did you mean 'offset'"):
        Rescaling(1.0, ofset=2.0)


# ================================================================================================
# Normalization: values
# ================================================================================================


def test_normalization_keras_docstring_examples():
    layer = Normalization(axis=None)
    layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32))
    np.testing.assert_allclose(layer(np.array([1.0, 2.0, 3.0], np.float32)), [-1.4142135, -0.70710677, 0.0],
                               rtol=1e-6)

    layer = Normalization(axis=-1)
    layer.adapt(KERAS_ADAPT_DATA)
    np.testing.assert_allclose(layer(np.array([[0.0, 7.0, 4.0]], np.float32)), [[-1.0, -1.0, -1.0]])

    layer = Normalization(mean=3.0, variance=2.0)
    np.testing.assert_allclose(layer(np.array([[1.0], [2.0], [3.0]], np.float32)),
                               [[-1.4142135], [-0.70710677], [0.0]], rtol=1e-6)

    layer = Normalization(axis=-1, invert=True)
    layer.adapt(KERAS_ADAPT_DATA)
    np.testing.assert_allclose(layer(np.array([[1.0, 2.0, 3.0]], np.float32)), [[2.0, 10.0, 8.0]])


def test_normalization_hand_computed_per_feature(rng):
    x = rng.normal([10.0, -3.0, 500.0], [2.0, 0.5, 100.0], (50, 3)).astype(np.float32)
    layer = Normalization()
    layer.adapt(x)
    mean, variance, _ = layer.get_weights()
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(variance, x.astype(np.float64).var(axis=0), rtol=1e-5)  # biased, as np.var
    out = layer(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(variance), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-4)


def test_normalization_mean_and_variance_attributes_have_the_broadcast_shape(rng):
    layer = Normalization()
    assert layer.mean is None and layer.variance is None
    layer.adapt(rng.standard_normal((20, 4)))
    assert layer.mean.shape == layer.variance.shape == (1, 4)  # Keras: normalizer.mean is (1, features)
    np.testing.assert_array_equal(layer.mean[0], layer.get_weights()[0])


def test_normalization_divides_by_max_of_std_and_epsilon():
    """Keras 3: (x - mean) / max(sqrt(variance), 1e-7), not sqrt(max(variance, eps)) nor sqrt(variance + eps)."""
    layer = Normalization(mean=[0.0, 0.0, 5.0], variance=[1e-16, 4.0, 0.0])
    x = np.array([[1e-7, 2.0, 5.0]], np.float64)
    np.testing.assert_allclose(layer(x), [[1.0, 1.0, 0.0]], rtol=1e-6)
    inverse = Normalization(mean=[0.0, 0.0, 5.0], variance=[1e-16, 4.0, 0.0], invert=True)
    np.testing.assert_allclose(inverse(np.array([[1.0, 1.0, 3.0]])), [[1e-7, 2.0, 5.0 + 3e-7]], rtol=1e-6)


def test_constant_feature_gives_zeros_not_nan():
    x = np.array([[1.0, 3.0], [2.0, 3.0], [3.0, 3.0]], np.float32)
    layer = Normalization()
    layer.adapt(x)
    out = layer(x)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[:, 1], 0.0)


def test_invert_round_trip(rng):
    x = rng.normal(4.0, 3.0, (30, 5)).astype(np.float32)
    normalize, restore = Normalization(), Normalization(invert=True)
    normalize.adapt(x)
    restore.adapt(x)
    np.testing.assert_allclose(restore(normalize(x)), x, rtol=1e-5, atol=1e-5)
    given = {"mean": [1.0, 2.0], "variance": [4.0, 9.0]}
    np.testing.assert_allclose(Normalization(**given, invert=True)(Normalization(**given)(x[:, :2])), x[:, :2],
                               rtol=1e-5, atol=1e-5)


# ================================================================================================
# Normalization: axis semantics
# ================================================================================================


@pytest.mark.parametrize("axis, statistics_shape, averaged", [
    (None, (), (0, 1, 2)),
    (-1, (4,), (0, 1)),
    (2, (4,), (0, 1)),
    (1, (3,), (0, 2)),
    ((1, 2), (3, 4), (0,)),
    ((-1, 1), (3, 4), (0,)),  # sorted, as Keras does, so no transposition
])
def test_axis_keeps_separate_statistics_on_the_named_axes(axis, statistics_shape, averaged, rng):
    x = rng.normal(2.0, 3.0, (40, 3, 4))
    layer = Normalization(axis=axis)
    layer.adapt(x)
    mean, variance, _ = layer.get_weights()
    assert mean.shape == variance.shape == statistics_shape
    np.testing.assert_allclose(mean, x.mean(axis=averaged), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(variance, x.var(axis=averaged), rtol=1e-5)
    out = layer(x)
    np.testing.assert_allclose(out.mean(axis=averaged), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=averaged), 1.0, rtol=1e-4)


def test_axis_is_stored_as_a_tuple_as_in_keras():
    assert Normalization().axis == (-1,)
    assert Normalization(axis=None).axis == ()
    assert Normalization(axis=[1, 2]).axis == (1, 2)
    assert Normalization(axis=np.int64(1)).axis == (1,)


def test_given_mean_and_variance_broadcast_from_the_right_over_the_kept_axes():
    x = np.ones((2, 3, 4), np.float32)
    per_last = Normalization(axis=(1, 2), mean=[0.0, 1.0, 2.0, 3.0], variance=[1.0, 1.0, 4.0, 4.0])
    np.testing.assert_allclose(per_last(x)[0], np.broadcast_to([1.0, 0.0, -0.5, -1.0], (3, 4)))
    scalar = Normalization(axis=(1, 2), mean=1.0, variance=4.0)
    np.testing.assert_allclose(scalar(3 * x), 1.0)
    assert per_last.get_weights() == [] and per_last.mean.shape == (1, 3, 4)


# ================================================================================================
# Normalization: adapt() inputs
# ================================================================================================


def test_adapt_on_a_list_of_uneven_batches_equals_adapt_on_the_whole_array(rng):
    x = rng.normal(5.0, 2.0, (23, 3)).astype(np.float32)
    whole, batched = Normalization(), Normalization()
    whole.adapt(x)
    batched.adapt([x[:10], x[10:11], x[11:]])
    for a, b in zip(whole.get_weights(), batched.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_adapt_on_generators_tuples_and_pydatasets(rng):
    x = rng.normal(-1.0, 4.0, (12, 2))
    y = rng.standard_normal((12, 1))

    class Batches(PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return x[4 * index:4 * index + 4], y[4 * index:4 * index + 4]

    expected = (x.mean(axis=0), x.var(axis=0))
    for data in [(x[i:i + 5] for i in range(0, 12, 5)), [(x[:6], y[:6]), (x[6:], y[6:])], Batches()]:
        layer = Normalization()
        layer.adapt(data)
        np.testing.assert_allclose(layer.get_weights()[:2], expected, rtol=1e-6)


def test_adapt_accepts_array_like_objects(rng):
    class Frame:  # a stand-in for a pandas DataFrame: converts to an array, iterates over column names
        def __init__(self, values):
            self.values = values

        def __array__(self, dtype=None, copy=None):
            return self.values

        def __iter__(self):
            return iter(["a", "b"])

    x = rng.standard_normal((10, 2))
    layer = Normalization()
    layer.adapt(Frame(x))
    np.testing.assert_allclose(layer.get_weights()[0], x.mean(axis=0), rtol=1e-6)


def test_adapt_batch_size_and_steps(rng):
    x = rng.normal(3.0, 1.0, (100, 2))
    layer = Normalization()
    layer.adapt(x, batch_size=7)
    np.testing.assert_allclose(layer.get_weights()[:2], (x.mean(0), x.var(0)), rtol=1e-6)
    layer.adapt(x, batch_size=10, steps=2)  # Keras 2: steps batches of batch_size samples
    np.testing.assert_allclose(layer.get_weights()[:2], (x[:20].mean(0), x[:20].var(0)), rtol=1e-6)
    layer.adapt([x[:30], x[30:60], x[60:]], steps=2)
    np.testing.assert_allclose(layer.get_weights()[:2], (x[:60].mean(0), x[:60].var(0)), rtol=1e-6)


def test_adapt_reads_a_large_array_in_slices_without_losing_precision(rng, monkeypatch):
    monkeypatch.setattr(preprocessing, "_ADAPT_CHUNK_VALUES", 64)  # forces 11 slices of 4 rows
    x = rng.normal(1e4, 1.0, (41, 16)).astype(np.float32)  # a large mean: naive float32 sums lose digits
    layer = Normalization()
    layer.adapt(x)
    np.testing.assert_allclose(layer.get_weights()[0], x.astype(np.float64).mean(0), rtol=1e-7)
    np.testing.assert_allclose(layer.get_weights()[1], x.astype(np.float64).var(0), rtol=1e-5)


def test_adapt_again_replaces_the_statistics(rng):
    layer = Normalization()
    layer.adapt(np.zeros((4, 2)) + 5.0)
    layer.adapt(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_allclose(layer.get_weights()[0], [2.0, 3.0])


def test_adapt_builds_for_any_number_of_samples_and_the_model_shape_wins(rng):
    layer = Normalization()
    layer.adapt(rng.standard_normal((30, 4)))
    assert layer.input_shape == (None, 4)
    layer(np.ones((1, 4), np.float32))
    model = Sequential([Input(shape=(4,)), layer, Dense(1)])
    assert model.output_shape == (None, 1) and layer.input_shape == (None, 4)


# ================================================================================================
# Normalization: weights and config
# ================================================================================================


def test_normalization_weights_match_keras(rng):
    layer = Normalization()
    layer.adapt(rng.standard_normal((8, 3)))
    assert list(layer._weights) == ["mean", "variance", "count"]
    mean, variance, count = layer.get_weights()
    assert (mean.shape, variance.shape, count.shape) == ((3,), (3,), ())
    assert mean.dtype == variance.dtype == np.float32 and count.dtype.kind == "i"
    assert count == 0  # Keras 3 keeps 'count' only to read old files; it stays 0
    assert layer.params == {} and len(layer.non_trainable_weights) == 3 and layer.count_params() == 7


def test_set_weights_makes_a_fresh_layer_usable(rng):
    x = rng.normal(2.0, 5.0, (16, 3)).astype(np.float32)
    adapted = Normalization()
    adapted.adapt(x)
    fresh = Normalization()
    fresh.build((None, 3))
    fresh.set_weights(adapted.get_weights())  # e.g. the list Keras's get_weights() returns
    np.testing.assert_array_equal(fresh(x), adapted(x))
    with pytest.raises(ValueError, match="expects 3 weights"):
        fresh.set_weights(adapted.get_weights()[:2])


def test_scalar_statistics_for_axis_none(rng):
    layer = Normalization(axis=None)
    layer.adapt(rng.normal(3.0, 2.0, (50, 2)))
    assert [w.shape for w in layer.get_weights()] == [(), (), ()]
    copy = Normalization(axis=None)
    copy.build((None, 2))
    copy.set_weights(layer.get_weights())
    np.testing.assert_array_equal(copy.get_weights()[0], layer.get_weights()[0])


def test_normalization_config_matches_keras():
    assert Normalization(name="norm").get_config() == {
        "name": "norm", "trainable": True, "axis": (-1,), "invert": False, "mean": None, "variance": None}
    given = Normalization(axis=1, mean=np.array([1.0, 2.0]), variance=np.array([3.0, 4.0]), invert=True)
    config = given.get_config()
    assert (config["axis"], config["mean"], config["variance"], config["invert"]) == ((1,), [1.0, 2.0], [3.0, 4.0], True)
    assert Normalization(axis=None, mean=2.0, variance=1.0).get_config()["axis"] == ()


def test_normalization_round_trips_through_json(rng):
    layer = Normalization(axis=(1, 2), mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True, name="n")
    config = json_round_trip(serialization.serialize(layer))
    rebuilt = serialization.deserialize(config)
    assert type(rebuilt) is Normalization and rebuilt.axis == (1, 2) and rebuilt.invert is True
    assert json_round_trip(rebuilt.get_config()) == config["config"]
    x = rng.standard_normal((2, 3, 2)).astype(np.float32)
    np.testing.assert_array_equal(rebuilt(x), layer(x))
    assert "given" in repr(layer) and "not adapted" in repr(Normalization())


# ================================================================================================
# Normalization: errors
# ================================================================================================


def test_using_the_layer_before_adapt_says_to_adapt(rng):
    with pytest.raises(ValueError, match=r"Call `layer\.adapt\(x_train\)` first"):
        Normalization()(np.ones((2, 3), np.float32))
    model = Sequential([Input(shape=(3,)), Normalization(), Dense(1)])
    with pytest.raises(ValueError, match=r"layer\.adapt\(x_train\)"):
        model.predict(np.ones((2, 3), np.float32), verbose=0)


def test_given_statistics_errors():
    with pytest.raises(ValueError, match="mean and variance together"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match=r"same shape, got \(2,\) and \(3,\)"):
        Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="more axes than the 1 kept"):
        Normalization(mean=np.zeros((2, 2)), variance=np.ones((2, 2)))
    with pytest.raises(ValueError, match="negative variance"):
        Normalization(mean=0.0, variance=-1.0)
    with pytest.raises(ValueError, match=r"does not broadcast to the kept axes \(1,\) of size \(4,\)"):
        Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0]).build((None, 4))
    with pytest.raises(ValueError, match="nothing to adapt"):
        Normalization(mean=0.0, variance=1.0).adapt(np.ones((3, 1)))


def test_axis_errors():
    with pytest.raises(TypeError, match="axis to be an int, a tuple of ints or None"):
        Normalization(axis="last")
    with pytest.raises(ValueError, match="repeated axis"):
        Normalization(axis=(1, 1))
    with pytest.raises(ValueError, match=r"inputs have only 2 axes \(valid axes run from -2 to 1\)"):
        Normalization(axis=2).adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="has None on axis 1"):
        Normalization(axis=1).build((None, None, 3))


def test_adapt_data_errors():
    with pytest.raises(ValueError, match="received no data"):
        Normalization().adapt([])
    with pytest.raises(TypeError, match=r"every batch to be an array.*layer\.adapt\(np\.array\(data\)\)"):
        Normalization().adapt([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="needs numbers, but adapt\\(\\) data has dtype"):
        Normalization().adapt(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="expects a NumPy array or an iterable of batches"):
        Normalization().adapt(42)
    with pytest.raises(ValueError, match="drop batch_size"):
        Normalization().adapt([np.ones((2, 2))], batch_size=2)
    with pytest.raises(ValueError, match="steps to be a positive integer"):
        Normalization().adapt(np.ones((2, 2)), steps=0)
    with pytest.raises(ValueError, match="single number"):
        Normalization(axis=None).adapt(np.float64(3.0))


def test_shape_mismatch_errors(rng):
    layer = Normalization()
    layer.adapt(rng.standard_normal((5, 3)))
    with pytest.raises(ValueError, match=r"adapt\(\) received data of shape \(4, 2\)"):
        layer.adapt(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"built for inputs of shape \(None, 3\).*got an array of shape \(2, 4\)"):
        layer(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"adapt\(\) received data of shape \(2, 5\)"):
        layer.adapt([np.ones((3, 3)), np.ones((2, 5))])
    with pytest.raises(TypeError, match="Did you mean 'axis'"):
        Normalization(axes=-1)


# ================================================================================================
# gradients
# ================================================================================================


def _adapted(layer, data_shape, seed=1):
    layer.adapt(np.random.default_rng(seed).normal(2.0, 3.0, data_shape))
    return layer


GRADIENT_CASES = [
    ("rescaling scalar", lambda: Rescaling(1.0 / 255, offset=-0.5), (3, 4)),
    ("rescaling per channel", lambda: Rescaling(np.array([0.5, -2.0, 3.0]), offset=[1.0, 0.0, -1.0]), (2, 2, 3)),
    ("normalization last axis", lambda: _adapted(Normalization(), (20, 4)), (3, 4)),
    ("normalization axis none", lambda: _adapted(Normalization(axis=None), (20, 4)), (3, 4)),
    ("normalization two axes", lambda: _adapted(Normalization(axis=(1, 2)), (20, 2, 3)), (2, 2, 3)),
    ("normalization invert", lambda: _adapted(Normalization(invert=True), (20, 3)), (4, 3)),
    ("normalization given", lambda: Normalization(axis=1, mean=[1.0, -2.0], variance=[0.25, 9.0]), (3, 2, 2)),
]


@pytest.mark.parametrize("name, make_layer, shape", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_input_gradients(name, make_layer, shape, rng):
    layer = make_layer()
    check_layer(layer, rng.standard_normal(shape), rng)
    assert layer.grads == {}  # nothing to train


def test_no_input_gradient_when_the_model_needs_none(rng):
    layer = _adapted(Normalization(), (10, 2))
    layer(np.ones((3, 2), np.float32))
    layer.input_gradient_needed = False
    assert layer.backward(np.ones((3, 2), np.float32)) is None


# ================================================================================================
# in models
# ================================================================================================


def _regression_data(rng, n=256):
    """Features on very different scales (as in the auto-mpg data), a linear target."""
    x = rng.normal([5.0, 200.0, 3000.0, 0.3], [1.7, 100.0, 800.0, 0.4], (n, 4)).astype(np.float32)
    y = (x - [5.0, 200.0, 3000.0, 0.3]) / [1.7, 100.0, 800.0, 0.4] @ np.array([2.0, -1.0, 3.0, 0.5]) + 20.0
    return x, y.astype(np.float32)[:, None]


def test_sequential_regression_with_an_adapted_normalizer_trains(rng):
    x, y = _regression_data(rng)
    normalizer = Normalization(axis=-1)
    normalizer.adapt(np.array(x))
    model = Sequential([normalizer, Dense(1)])
    model.compile(optimizer=nbtrain.optimizers.Adam(learning_rate=0.1), loss="mean_squared_error")
    history = model.fit(x, y, epochs=60, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 1e-2 * float(np.var(y))
    np.testing.assert_allclose(normalizer.get_weights()[0], x.mean(0), rtol=1e-5)  # fit left it alone


def test_tensorflow_regression_tutorial_code_runs_unchanged(rng):
    layers = types.SimpleNamespace(Normalization=Normalization, Dense=Dense)  # `from tensorflow.keras import layers`
    train_features, train_labels = _regression_data(rng, 120)

    normalizer = layers.Normalization(axis=-1)
    normalizer.adapt(np.array(train_features))
    first = np.array(train_features[:1])
    assert normalizer(first).shape == (1, 4) and normalizer.mean.shape == (1, 4)
    linear_model = Sequential([normalizer, layers.Dense(units=1)])
    assert linear_model.predict(train_features[:10], verbose=0).shape == (10, 1)

    horsepower = np.array(train_features[:, 1])
    horsepower_normalizer = layers.Normalization(input_shape=[1, ], axis=None)
    horsepower_normalizer.adapt(horsepower)
    horsepower_model = Sequential([horsepower_normalizer, layers.Dense(units=1)])
    assert horsepower_model.layers[0].output_shape == (None, 1)
    horsepower_model.compile(optimizer=nbtrain.optimizers.Adam(learning_rate=0.1), loss="mean_absolute_error")
    horsepower_model.fit(horsepower[:, None], train_labels, epochs=2, verbose=0, validation_split=0.2)


def test_normalization_and_rescaling_inside_a_model_pass_gradients_back(rng):
    x, y = _regression_data(rng, 64)
    inputs = Input(shape=(4,))
    hidden = Dense(3)(Rescaling(1.0 / 1000)(inputs))
    hidden = Normalization(mean=[0.0, 0.1, -0.1], variance=[0.5, 2.0, 1.0])(hidden)
    model = Model(inputs, Dense(1)(hidden))
    model.compile(optimizer="adam", loss="mse")
    before = model.layers[2].get_weights()[0].copy()  # the Dense before the normalizations
    model.fit(x, y, epochs=2, verbose=0)
    assert not np.allclose(model.layers[2].get_weights()[0], before)


def _save_and_reload_adapted_model(tmp_path, rng):
    x, y = _regression_data(rng, 64)
    normalizer = Normalization()
    normalizer.adapt(x)
    model = Sequential([normalizer, Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(loaded.layers[0].get_weights(), normalizer.get_weights()):
        np.testing.assert_array_equal(a, b)
    loaded.fit(x, y, epochs=1, verbose=0)  # and training continues


def test_model_with_an_adapted_normalization_survives_save_and_load(tmp_path, rng):
    # the 0-d 'count' weight keeps its shape () through save and load
    _save_and_reload_adapted_model(tmp_path, rng)
