"""BatchNormalization, LayerNormalization and UnitNormalization: the Keras reference values, training versus inference,
frozen layers, masks, weight order, errors and a table-driven float64 gradient check."""

import json
from pathlib import Path

import numpy as np
import pytest
from gradcheck import check_layer

from nbtrain.layers.normalization import BatchNormalization, GroupNormalization, LayerNormalization, UnitNormalization


def randomize(layer, input_shape, rng):
    """Non-trivial gamma, beta and moving statistics (variance kept positive)."""
    layer.build(input_shape)
    layer.set_weights([rng.uniform(0.5, 2.0, w.shape) for w in layer.get_weights()])
    for name in ("beta", "moving_mean"):
        if name in layer._weights:
            layer._weights[name][...] = rng.standard_normal(layer._weights[name].shape)
    return layer


# ----- BatchNormalization --------------------------------------------------------------------------------


def test_batch_normalization_keras_reference():
    layer = BatchNormalization()
    out = layer(np.array([[1, 2], [3, 6]], np.float32), training=True)
    np.testing.assert_allclose(out, [[-0.9995, -0.99988], [0.9995, 0.99988]], atol=5e-5)
    gamma, beta, moving_mean, moving_variance = layer.get_weights()
    np.testing.assert_allclose(moving_mean, [0.02, 0.04], rtol=1e-6)
    np.testing.assert_allclose(moving_variance, [1.0, 1.03], rtol=1e-6)
    assert out.dtype == moving_mean.dtype == np.float32


def test_batch_normalization_inference_uses_moving_statistics():
    layer = BatchNormalization(epsilon=0.0 + 1e-3)
    layer.build((None, 2))
    layer.set_weights([np.array([2, 1]), np.array([0, 1]), np.array([1, -1]), np.array([4, 0.25])])
    x = np.array([[3, 0], [1, 1]], np.float32)
    expected = np.array([2, 1]) * (x - [1, -1]) / np.sqrt(np.array([4, 0.25]) + 1e-3) + [0, 1]
    np.testing.assert_allclose(layer(x), expected, rtol=1e-6)
    before = layer.get_weights()
    layer(x, training=False)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_frozen_batch_normalization_runs_in_inference_mode_even_when_training():
    layer = BatchNormalization()
    layer.build((None, 2))
    layer.trainable = False
    x = np.array([[1, 2], [3, 6]], np.float32)
    np.testing.assert_allclose(layer(x, training=True), x / np.sqrt(1 + 1e-3), rtol=1e-6)
    np.testing.assert_array_equal(layer.get_weights()[2], [0, 0])
    assert layer.params == {} and len(layer.non_trainable_weights) == 4
    grad = layer.backward(np.ones_like(x))
    np.testing.assert_allclose(grad, np.ones_like(x) / np.sqrt(1 + 1e-3), rtol=1e-6)
    assert layer.grads == {}


def test_batch_normalization_weights_order_and_options():
    layer = BatchNormalization()
    layer.build((None, 5, 3))
    assert list(layer._weights) == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert list(layer.params) == ["gamma", "beta"]
    assert [w.shape for w in layer.get_weights()] == [(3,)] * 4
    no_scale = BatchNormalization(scale=False)
    no_scale.build((None, 3))
    assert list(no_scale._weights) == ["beta", "moving_mean", "moving_variance"]
    neither = BatchNormalization(center=False, scale=False)
    neither.build((None, 3))
    assert list(neither._weights) == ["moving_mean", "moving_variance"] and neither.params == {}


def test_batch_normalization_statistics_over_images_and_other_axis(rng):
    x = rng.normal(3.0, 2.0, (8, 4, 4, 3)).astype(np.float32)
    out = BatchNormalization()(x, training=True)
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=(0, 1, 2)), 1, atol=1e-2)
    layer = BatchNormalization(axis=1, momentum=0)
    y = rng.normal(5.0, 1.0, (6, 2, 7)).astype(np.float32)
    layer(y, training=True)
    np.testing.assert_allclose(layer.get_weights()[2], y.mean(axis=(0, 2)), rtol=1e-5)
    np.testing.assert_allclose(layer.get_weights()[3], y.var(axis=(0, 2)), rtol=1e-4)


def test_batch_normalization_mask_excludes_padding_from_the_statistics():
    layer = BatchNormalization(momentum=0)
    x = np.array([[[1.0], [3.0], [1000.0]]], np.float32)
    layer.build(x.shape)
    layer.forward(x, training=True, mask=np.array([[True, True, False]]))
    np.testing.assert_allclose(layer.get_weights()[2:], [[2.0], [1.0]], rtol=1e-6)
    assert layer.accepts_mask and layer.compute_mask(x, np.array([[True, True, False]])) is not None


def test_batch_normalization_errors():
    with pytest.raises(ValueError, match="momentum"):
        BatchNormalization(momentum=2)
    with pytest.raises(ValueError, match="epsilon"):
        BatchNormalization(epsilon=0)
    with pytest.raises(ValueError, match="out of range"):
        BatchNormalization(axis=3).build((None, 4))
    layer = BatchNormalization()
    layer.build((None, 4))
    with pytest.raises(ValueError, match="4 features"):
        layer(np.zeros((2, 3), np.float32))
    assert BatchNormalization(momentum=0).momentum == 0.0


def test_batch_normalization_config_round_trip():
    layer = BatchNormalization(momentum=0.9, epsilon=1e-5, center=False, name="bn")
    clone = BatchNormalization.from_config(layer.get_config() | {"name": "bn2"})
    assert (clone.momentum, clone.epsilon, clone.center, clone.scale) == (0.9, 1e-5, False, True)
    assert "momentum=0.9" in repr(layer)


# ----- LayerNormalization --------------------------------------------------------------------------------


def test_layer_normalization_values(rng):
    x = rng.normal(2.0, 3.0, (4, 5)).astype(np.float32)
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    out = LayerNormalization()(x)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert out.dtype == np.float32
    np.testing.assert_allclose(LayerNormalization()(x, training=True), out)


def test_layer_normalization_over_several_axes(rng):
    layer = LayerNormalization(axis=[1, 2])
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    out = layer(x)
    assert [w.shape for w in layer.get_weights()] == [(4, 5), (4, 5)]
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 0, atol=1e-5)
    assert list(layer._weights) == ["gamma", "beta"]


def test_layer_normalization_errors():
    with pytest.raises(ValueError, match="out of range"):
        LayerNormalization(axis=2).build((None, 3))
    with pytest.raises(ValueError, match="rms_scaling"):
        LayerNormalization(rms_scaling=True)
    with pytest.raises(TypeError, match="axis"):
        LayerNormalization(axis="last")


# ----- gradients -----------------------------------------------------------------------------------------

GRADIENT_CASES = [
    ("bn training 2d", lambda: BatchNormalization(), (5, 3), True),
    ("bn inference 2d", lambda: BatchNormalization(), (5, 3), False),
    ("bn training images", lambda: BatchNormalization(), (2, 3, 2, 2), True),
    ("bn inference images", lambda: BatchNormalization(), (2, 3, 2, 2), False),
    ("bn training axis 1", lambda: BatchNormalization(axis=1), (3, 2, 4), True),
    ("bn training no scale", lambda: BatchNormalization(scale=False), (4, 3), True),
    ("bn training no center", lambda: BatchNormalization(center=False), (4, 3), True),
    ("bn inference no scale no center", lambda: BatchNormalization(center=False, scale=False), (4, 3), False),
    ("ln last axis", lambda: LayerNormalization(), (3, 5), False),
    ("ln sequences", lambda: LayerNormalization(), (2, 3, 4), True),
    ("ln two axes", lambda: LayerNormalization(axis=[-2, -1]), (2, 3, 4), False),
    ("ln axis 1 of 3", lambda: LayerNormalization(axis=1), (2, 3, 2), False),
    ("ln no scale", lambda: LayerNormalization(scale=False), (3, 4), False),
    ("ln no center", lambda: LayerNormalization(center=False), (3, 4), False),
]


@pytest.mark.parametrize("name, make_layer, shape, training", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradients(name, make_layer, shape, training, rng):
    layer = randomize(make_layer(), (None,) + shape[1:], rng)
    check_layer(layer, rng.standard_normal(shape), rng, training=training)


def test_masked_batch_normalization_gradient(rng):
    layer = randomize(BatchNormalization(), (None, 4, 2), rng)
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    check_layer(layer, rng.standard_normal((2, 4, 2)), rng, training=True, mask=mask)


def test_frozen_batch_normalization_gradient(rng):
    layer = randomize(BatchNormalization(), (None, 3), rng)
    layer.trainable = False
    check_layer(layer, rng.standard_normal((4, 3)), rng, training=True)


@pytest.mark.parametrize("layer_class", [BatchNormalization, LayerNormalization])
def test_gamma_and_beta_regularizers_and_constraints(layer_class):
    layer = layer_class(gamma_regularizer="l2", beta_constraint="non_neg")
    layer.build((None, 3))
    layer._weights["beta"][...] = -1.0
    assert len(layer.losses) == 1
    layer.apply_constraints()
    assert layer.get_weights()[1].min() == 0
    clone = layer_class.from_config(layer.get_config() | {"name": "clone"})
    assert clone.gamma_regularizer is not None and clone.beta_constraint is not None


# ----- UnitNormalization ---------------------------------------------------------------------------------


def test_unit_normalization_keras_reference():
    out = UnitNormalization()(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_allclose(np.sum(out ** 2, axis=1), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(out[1], np.array([3, 4, 5]) / np.sqrt(50), rtol=1e-6)
    assert out.dtype == np.float32


def test_unit_normalization_over_several_axes_and_of_a_zero_sample():
    x = np.stack([np.full((2, 2), 2.0), np.zeros((2, 2))]).astype(np.float32)
    out = UnitNormalization(axis=[1, 2])(x)
    np.testing.assert_allclose(out[0], np.full((2, 2), 0.5))
    np.testing.assert_array_equal(out[1], 0.0)           # floored norm: zeros stay zeros, no NaN
    layer = UnitNormalization(axis=[1, 2])
    layer(x)
    assert np.isfinite(layer.backward(np.ones_like(x))).all()


@pytest.mark.parametrize("axis, shape", [(-1, (3, 4)), (1, (2, 3, 4)), ([1, 2], (2, 3, 4)), ([-1, 1], (2, 2, 3, 2))])
def test_unit_normalization_gradient(axis, shape, rng):
    check_layer(UnitNormalization(axis=axis), rng.standard_normal(shape), rng)


def test_unit_normalization_errors_and_mask():
    with pytest.raises(TypeError, match="int or a list of ints"):
        UnitNormalization(axis="last")
    with pytest.raises(ValueError, match="out of range"):
        UnitNormalization(axis=2).build((None, 3))
    mask = np.array([[True, False]])
    assert UnitNormalization().compute_mask(np.zeros((1, 2, 3)), mask) is mask


def test_unit_normalization_matches_keras():
    """Outputs of keras.layers.UnitNormalization (Keras 3.15.1), from tests/fixtures/make_keras_layer_reference.py."""
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    cases = json.loads((fixtures / "keras_layer_reference.json").read_text())["unit_normalization"]
    with np.load(fixtures / "keras_layer_reference.npz") as data:
        for i, case in enumerate(cases):
            out = UnitNormalization(axis=case["axis"])(data[f"unit_normalization/{i}/x"])
            np.testing.assert_allclose(out, data[f"unit_normalization/{i}/y"], rtol=1e-6, atol=1e-7)


# ----- GroupNormalization --------------------------------------------------------------------------------


def test_group_normalization_matches_keras():
    """Outputs of keras.layers.GroupNormalization (Keras 3.15.1) with random gamma and beta."""
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    cases = json.loads((fixtures / "keras_layer_reference.json").read_text())["group_normalization"]
    with np.load(fixtures / "keras_layer_reference.npz") as data:
        for i, case in enumerate(cases):
            layer = GroupNormalization(**case["kwargs"])
            x = data[f"group_normalization/{i}/x"]
            layer.build(x.shape)
            layer.set_weights([data[f"group_normalization/{i}/w{k}"] for k in range(len(layer.get_weights()))])
            np.testing.assert_allclose(layer(x), data[f"group_normalization/{i}/y"], rtol=1e-4, atol=1e-5,
                                       err_msg=str(case))


def test_group_normalization_statistics_per_group(rng):
    x = rng.normal(3.0, 2.0, (4, 5, 5, 6)).astype(np.float32)
    out = GroupNormalization(groups=3, epsilon=1e-6)(x).reshape(4, 25, 3, 2)
    np.testing.assert_allclose(out.mean(axis=(1, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 3)), 1.0, atol=1e-4)
    single = GroupNormalization(groups=1, epsilon=1e-6)(x[:1])         # one group: every value of the sample
    np.testing.assert_allclose(single.mean(), 0.0, atol=1e-5)


@pytest.mark.parametrize("kwargs, shape", [
    ({"groups": 2}, (3, 4)),
    ({"groups": 3, "center": False}, (2, 3, 3, 6)),
    ({"groups": -1}, (2, 5, 3)),
    ({"groups": 2, "axis": 1, "scale": False}, (2, 4, 3, 2)),
])
def test_group_normalization_gradient(kwargs, shape, rng):
    layer = randomize(GroupNormalization(**kwargs), (None,) + shape[1:], rng)
    check_layer(layer, rng.standard_normal(shape), rng)


@pytest.mark.parametrize("make, shape, error, message", [
    (lambda: GroupNormalization(groups=4), (None, 6), ValueError,
     r"does not divide 6\. Choose groups from \[1, 2, 3, 6\]"),
    (lambda: GroupNormalization(groups=0), None, ValueError, "groups to be a positive integer"),
    (lambda: GroupNormalization(axis=[1, 2]), None, TypeError, "axis to be an int"),
    (lambda: GroupNormalization(groups=2, axis=0), (None, 4), ValueError, "other than the batch axis"),
])
def test_group_normalization_errors(make, shape, error, message):
    with pytest.raises(error, match=message):
        make().build(shape)


# ----- batch renormalization (issue 16) ---------------------------------------------------------------------------

RENORM = json.loads((Path(__file__).parents[1] / "fixtures" / "keras_renorm_reference.json").read_text())


@pytest.mark.parametrize("case", sorted(RENORM["cases"]))
def test_batch_renormalization_matches_keras_step_by_step(case):
    reference = RENORM["cases"][case]
    layer = BatchNormalization(renorm=True, **reference["arguments"])
    layer.build((None, 4))
    weights = layer.get_weights()
    weights[0], weights[1] = np.linspace(0.5, 2.0, 4, dtype="float32"), np.linspace(-1, 1, 4, dtype="float32")
    layer.set_weights(weights)
    batches = [np.array(b, dtype="float32") for b in RENORM["batches"]]
    outputs = [layer(b, training=True) for b in batches] + [layer(batches[0], training=False)]
    for ours, theirs in zip(outputs, reference["outputs"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    for ours, theirs in zip(layer.get_weights(), reference["weights"]):     # Keras's weight order and values
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("scale", [True, False])
def test_batch_renormalization_gradients_hold_r_and_d_constant(rng, scale):
    # rmin = rmax pins r at 1.5, and a small dmax pins d at +0.1 for data whose mean is far above the renorm
    # mean (0), so finite differences see what Keras differentiates (it stops the gradient through r and d);
    # momentum 1 keeps the statistics still between evaluations.
    layer = BatchNormalization(renorm=True, renorm_clipping={"rmin": 1.5, "rmax": 1.5, "dmax": 0.1},
                               momentum=1.0, renorm_momentum=1.0, scale=scale, gamma_initializer="random_normal",
                               beta_initializer="random_normal")
    check_layer(layer, rng.standard_normal((5, 3)) + 5.0, rng, training=True)


@pytest.mark.parametrize("clipping, match", [
    ({"rmax": 1.0, "other": 2}, r"takes the keys 'rmax', 'rmin' and 'dmax', got \['other'\]"),
    ({"rmax": 1.0, "rmin": 2.0}, r"needs rmax >= rmin"),
    ({"dmax": -1.0}, r"needs dmax >= 0"),
])
def test_renorm_clipping_is_checked(clipping, match):
    with pytest.raises(ValueError, match=match):
        BatchNormalization(renorm=True, renorm_clipping=clipping)


def test_renorm_survives_a_config_round_trip():
    layer = BatchNormalization(renorm=True, renorm_clipping={"rmax": 2.0}, renorm_momentum=0.9)
    clone = BatchNormalization.from_config(layer.get_config())
    assert (clone.renorm, clone.renorm_clipping, clone.renorm_momentum) == (True, {"rmax": 2.0}, 0.9)
