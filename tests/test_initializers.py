"""Initializers: shapes and dtypes, Keras's statistics and bounds, fans, seeding, registry, configs."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nbtrain
from nbtrain import initializers as I

ALL_NAMES = [
    "zeros", "ones", "constant", "identity", "random_normal", "random_uniform", "truncated_normal",
    "variance_scaling", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "orthogonal",
]  # fmt: skip
RANDOM_NAMES = [n for n in ALL_NAMES if n not in ("zeros", "ones", "constant", "identity")]
TRUNCATED_STDDEV = 0.87962566103423978  # stddev of a unit normal truncated to [-2, 2]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_shape_and_default_float32(name):
    weights = I.get(name)((7, 5))
    assert weights.shape == (7, 5)
    assert weights.dtype == np.float32


@pytest.mark.parametrize("name", ALL_NAMES)
def test_other_float_dtype_on_request(name):
    assert I.get(name)((4, 3), dtype="float64").dtype == np.float64
    assert I.get(name)((4, 3), dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_random_initializers_refuse_integer_dtypes(name):
    with pytest.raises(ValueError, match="floating type"):
        I.get(name)((2, 2), dtype="int32")


def test_shapes_of_other_ranks():
    assert I.GlorotUniform()((3, 3, 2, 4)).shape == (3, 3, 2, 4)
    assert I.Zeros()(5).shape == (5,)
    assert I.RandomNormal()(()).shape == ()
    assert I.Ones()((2, 3), dtype="int32").dtype == np.int32
    with pytest.raises(ValueError, match="non-negative ints"):
        I.Zeros()((None, 3))


# ----- statistics ----------------------------------------------------------------------------------


def draw(init, shape=(400, 600)):
    return init(shape, dtype="float64")


def test_random_normal_statistics():
    w = draw(I.RandomNormal(mean=1.0, stddev=2.0, seed=1))
    assert w.mean() == pytest.approx(1.0, abs=0.03)
    assert w.std() == pytest.approx(2.0, rel=0.02)
    defaults = draw(I.RandomNormal(seed=2))
    assert defaults.std() == pytest.approx(0.05, rel=0.02)


def test_random_uniform_bounds_and_statistics():
    w = draw(I.RandomUniform(minval=-1.0, maxval=3.0, seed=1))
    assert w.min() >= -1.0 and w.max() < 3.0
    assert w.mean() == pytest.approx(1.0, abs=0.02)
    assert w.std() == pytest.approx(4 / math.sqrt(12), rel=0.02)
    defaults = draw(I.RandomUniform(seed=2))
    assert defaults.min() >= -0.05 and defaults.max() < 0.05 and defaults.max() > 0.0499


def test_truncated_normal_is_cut_at_two_stddev():
    w = draw(I.TruncatedNormal(mean=0.5, stddev=2.0, seed=1))
    assert np.abs(w - 0.5).max() <= 4.0
    assert np.abs(w - 0.5).max() > 3.9
    assert w.mean() == pytest.approx(0.5, abs=0.03)
    assert w.std() == pytest.approx(2.0 * TRUNCATED_STDDEV, rel=0.02)


def test_glorot_uniform_bound_is_exactly_keras_limit():
    fan_in, fan_out = 300, 200
    limit = math.sqrt(6 / (fan_in + fan_out))
    w = I.GlorotUniform(seed=0)((fan_in, fan_out), dtype="float64")
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.999 * limit
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)


@pytest.mark.parametrize(
    "init, expected_std",
    [
        (I.GlorotNormal(seed=0), math.sqrt(2 / (400 + 600))),
        (I.HeNormal(seed=0), math.sqrt(2 / 400)),
        (I.LecunNormal(seed=0), math.sqrt(1 / 400)),
        (I.HeUniform(seed=0), math.sqrt(6 / 400) / math.sqrt(3)),
        (I.LecunUniform(seed=0), math.sqrt(3 / 400) / math.sqrt(3)),
        (I.VarianceScaling(scale=3.0, mode="fan_out", distribution="uniform", seed=0), math.sqrt(3 / 600)),
        (I.VarianceScaling(scale=2.0, mode="fan_avg", distribution="untruncated_normal", seed=0), math.sqrt(2 / 500)),
        (I.VarianceScaling(seed=0), math.sqrt(1 / 400)),
    ],
    ids=repr,
)
def test_variance_scaling_family_has_the_keras_variance(init, expected_std):
    w = draw(init)
    assert w.mean() == pytest.approx(0.0, abs=0.01 * expected_std + 1e-4)
    assert w.std() == pytest.approx(expected_std, rel=0.02)


@pytest.mark.parametrize(
    "init, fan",
    [(I.HeUniform(seed=0), 400), (I.LecunUniform(seed=0), 400)],
    ids=repr,
)
def test_uniform_presets_have_exact_limits(init, fan):
    scale = 2.0 if isinstance(init, I.HeUniform) else 1.0
    limit = math.sqrt(3 * scale / fan)
    w = draw(init)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.999 * limit


def test_truncated_normal_presets_are_cut_at_two_of_their_stddevs():
    w = draw(I.HeNormal(seed=0))
    stddev = math.sqrt(2 / 400) / TRUNCATED_STDDEV
    assert np.abs(w).max() <= 2 * stddev


# ----- fans --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, fans",
    [
        ((), (1, 1)),
        ((5,), (5, 5)),
        ((3, 4), (3, 4)),
        ((3, 8, 16), (24, 48)),
        ((3, 3, 16, 32), (144, 288)),
        ((2, 3, 3, 4, 5), (72, 90)),
    ],
)
def test_compute_fans_like_keras(shape, fans):
    assert I.compute_fans(shape) == fans


def test_conv_kernel_uses_receptive_field_in_the_fans():
    shape = (3, 3, 16, 32)
    limit = math.sqrt(6 / (144 + 288))
    w = I.GlorotUniform(seed=0)(shape, dtype="float64")
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit


def test_explicit_fan_axes():
    assert I.compute_fans((4, 5, 6), input_axes=[0, 1], output_axes=[2]) == (20, 6)
    w = I.VarianceScaling(mode="fan_in", distribution="uniform", input_axes=[0, 1], output_axes=[2], seed=0)(
        (4, 5, 6), dtype="float64"
    )
    assert np.abs(w).max() <= math.sqrt(3 / 20)
    with pytest.raises(ValueError, match="both input_axes and output_axes"):
        I.VarianceScaling(input_axes=[0])


# ----- constant, identity, orthogonal --------------------------------------------------------------


def test_constant_zeros_ones():
    np.testing.assert_array_equal(I.Constant(2.5)((2, 2)), np.full((2, 2), 2.5, dtype=np.float32))
    np.testing.assert_array_equal(I.Constant([1.0, 2.0])((3, 2)), [[1, 2]] * 3)
    np.testing.assert_array_equal(I.Zeros()((2,)), [0, 0])
    np.testing.assert_array_equal(I.Ones()((2,)), [1, 1])
    with pytest.raises(ValueError, match="cannot fill a weight of shape"):
        I.Constant([1.0, 2.0])((3, 3))
    with pytest.raises(TypeError, match="needs a number"):
        I.Constant("a")


def test_identity():
    np.testing.assert_array_equal(I.Identity()((3, 3)), np.eye(3))
    np.testing.assert_array_equal(I.Identity(gain=2)((2, 3)), 2 * np.eye(2, 3))
    with pytest.raises(ValueError, match="only make 2-D matrices"):
        I.Identity()((2, 2, 2))


@pytest.mark.parametrize("shape", [(6, 6), (10, 4), (4, 10), (3, 3, 4, 8)])
def test_orthogonal_is_orthogonal(shape):
    q = I.Orthogonal(gain=2.0, seed=0)(shape, dtype="float64")
    assert q.shape == shape
    matrix = q.reshape(-1, shape[-1])
    gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-12)


def test_orthogonal_float32_and_rank_check():
    q = I.Orthogonal(seed=0)((5, 5))
    assert q.dtype == np.float32
    np.testing.assert_allclose(q.T @ q, np.eye(5), atol=1e-5)
    with pytest.raises(ValueError, match="rank 2 or more"):
        I.Orthogonal()((5,))


# ----- seeding -------------------------------------------------------------------------------------


def test_int_seed_repeats_across_objects_but_advances_per_call():
    first = I.GlorotUniform(seed=7)
    second = I.GlorotUniform(seed=7)
    a, b = first((4, 4)), first((4, 4))
    np.testing.assert_array_equal(a, second((4, 4)))
    assert not np.array_equal(a, b), "one initializer object must give each layer different weights"
    assert not np.array_equal(a, I.GlorotUniform(seed=8)((4, 4)))
    np.testing.assert_array_equal(first.clone()((4, 4)), a)


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_set_random_seed_makes_unseeded_initializers_repeatable(name):
    nbtrain.utils.set_random_seed(42)
    a = I.get(name)((5, 3))
    nbtrain.utils.set_random_seed(42)
    b = I.get(name)((5, 3))
    nbtrain.utils.set_random_seed(43)
    c = I.get(name)((5, 3))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_unseeded_initializers_made_in_a_row_differ():
    assert not np.array_equal(I.RandomNormal()((3, 3)), I.RandomNormal()((3, 3)))


def test_float32_values_are_the_rounded_float64_values():
    np.testing.assert_array_equal(
        I.HeNormal(seed=3)((6, 4)), I.HeNormal(seed=3)((6, 4), dtype="float64").astype(np.float32)
    )


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True])
def test_bad_seeds_are_rejected(seed):
    with pytest.raises(ValueError, match="seed must be"):
        I.RandomNormal(seed=seed)


def test_generator_seed_is_used_directly():
    init = I.RandomUniform(seed=np.random.default_rng(5))
    np.testing.assert_array_equal(init((3,), dtype="float64"), np.random.default_rng(5).uniform(-0.05, 0.05, 3))
    assert init.get_config()["seed"] is None


def test_argument_validation():
    with pytest.raises(ValueError, match="scale must be a positive"):
        I.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="mode must be one of"):
        I.VarianceScaling(mode="fan")
    with pytest.raises(ValueError, match="distribution must be one of"):
        I.VarianceScaling(distribution="gamma")
    assert I.VarianceScaling(distribution="Normal").distribution == "truncated_normal"
    with pytest.raises(ValueError, match="stddev must be >= 0"):
        I.RandomNormal(stddev=-1)
    with pytest.raises(ValueError, match="minval <= maxval"):
        I.RandomUniform(minval=1, maxval=0)
    with pytest.raises(TypeError, match="mean must be a number"):
        I.TruncatedNormal(mean="0")


# ----- registry and configs ------------------------------------------------------------------------

CLASSES_BY_NAME = {
    "zeros": I.Zeros, "ones": I.Ones, "constant": I.Constant, "identity": I.Identity,
    "random_normal": I.RandomNormal, "random_uniform": I.RandomUniform, "truncated_normal": I.TruncatedNormal,
    "variance_scaling": I.VarianceScaling, "glorot_uniform": I.GlorotUniform, "glorot_normal": I.GlorotNormal,
    "he_uniform": I.HeUniform, "he_normal": I.HeNormal, "lecun_uniform": I.LecunUniform,
    "lecun_normal": I.LecunNormal, "orthogonal": I.Orthogonal,
    "normal": I.RandomNormal, "uniform": I.RandomUniform, "zero": I.Zeros, "one": I.Ones,
    "IdentityInitializer": I.Identity, "OrthogonalInitializer": I.Orthogonal,
}  # fmt: skip


@pytest.mark.parametrize("name, cls", CLASSES_BY_NAME.items())
def test_get_resolves_names(name, cls):
    assert type(I.get(name)) is cls
    assert type(I.get(name.upper())) is cls
    assert type(I.get(cls.__name__)) is cls


def test_get_other_identifiers():
    init = I.HeNormal(seed=1)
    assert I.get(init) is init
    assert type(I.get(I.Orthogonal)) is I.Orthogonal
    assert I.get(None) is None

    def halves(shape, dtype=None):
        return np.full(shape, 0.5, dtype=dtype)

    assert I.get(halves) is halves
    from_array = I.get(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(from_array((2, 3)), np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="has shape"):
        from_array((3, 2))
    with pytest.raises(TypeError, match="Could not interpret initializer identifier"):
        I.get(3)


def test_unknown_name_suggests_the_nearest():
    with pytest.raises(ValueError, match=r"Unknown initializer: 'glorot_unifrom'\. Did you mean 'glorot_uniform'\?"):
        I.get("glorot_unifrom")


@pytest.mark.parametrize(
    "init",
    [
        I.Zeros(), I.Ones(), I.Constant(0.3), I.Identity(gain=0.5), I.RandomNormal(mean=1.0, stddev=0.2, seed=3),
        I.RandomUniform(minval=-1, maxval=2, seed=4), I.TruncatedNormal(stddev=0.3, seed=5),
        I.VarianceScaling(scale=2.0, mode="fan_avg", distribution="uniform", seed=6), I.GlorotUniform(seed=7),
        I.GlorotNormal(), I.HeUniform(seed=8), I.HeNormal(), I.LecunUniform(), I.LecunNormal(seed=9),
        I.Orthogonal(gain=1.5, seed=10),
    ],
    ids=repr,
)
def test_config_round_trips(init):
    config = I.serialize(init)
    assert config["class_name"] == type(init).__name__
    assert config["module"] == "keras.initializers"
    rebuilt = I.deserialize(config)
    assert type(rebuilt) is type(init)
    assert rebuilt.get_config() == init.get_config()
    assert type(init).from_config(init.get_config()).get_config() == init.get_config()
    assert type(I.get(config)) is type(init)


def test_seeded_config_rebuilds_the_same_weights():
    init = I.RandomNormal(stddev=0.1, seed=3)
    np.testing.assert_array_equal(I.deserialize(I.serialize(init))((3, 3)), init((3, 3)))


def test_keras_config_layouts_are_read():
    init = I.deserialize({"class_name": "GlorotUniform", "config": {"seed": 1}})
    assert isinstance(init, I.GlorotUniform) and init.seed == 1
    assert isinstance(I.deserialize("he_normal"), I.HeNormal)


def test_functions_serialize_by_name_and_need_custom_objects():
    def halves(shape, dtype=None):
        return np.full(shape, 0.5, dtype=dtype)

    config = I.serialize(halves)
    assert config["class_name"] == "function" and config["config"] == "halves"
    assert I.deserialize(config, custom_objects={"halves": halves}) is halves
    with pytest.raises(ValueError, match="custom_objects"):
        I.deserialize(config)


def test_repr_is_short():
    assert repr(I.GlorotUniform()) == "GlorotUniform(seed=None)"
    assert repr(I.RandomNormal(seed=3)) == "RandomNormal(mean=0.0, stddev=0.05, seed=3)"
    assert repr(I.Zeros()) == "Zeros()"
