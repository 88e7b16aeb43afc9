"""Layer.__call__ takes the arguments of Keras's call() and nothing else (issue 16): an argument it would
ignore is an error, a second positional argument follows Keras's signature, and image augmentation layers
augment when called directly, as in Keras.
Also the helpers of nbtrain/layers/layer.py that many layers use (column_sums)."""

import numpy as np
import pytest

from nbtrain.layers import Dense, Dropout, GlobalAveragePooling1D, Input, RandomFlip
from nbtrain.layers.layer import column_sums


def test_an_unknown_keyword_argument_is_an_error_that_lists_the_accepted_ones():
    with pytest.raises(TypeError, match=r"^Dense got an unexpected argument 'foo': calling it takes the inputs "
                                        r"and 'training', 'mask'\.$"):
        Dense(2)(np.ones((1, 3)), foo=1)


def test_an_unknown_keyword_is_refused_on_symbolic_inputs_too():
    with pytest.raises(TypeError, match="unexpected argument 'foo'"):
        Dense(2)(Input((3,)), foo=1)


def test_the_second_positional_argument_of_dense_and_dropout_is_training():
    x = np.ones((200, 10), np.float32)
    dropout = Dropout(0.5, seed=1)
    assert (dropout(x, True) == 0).any()
    np.testing.assert_array_equal(dropout(x, False), x)


def test_the_second_positional_argument_of_global_average_pooling_1d_is_the_mask():
    x = np.arange(12, dtype=np.float32).reshape(1, 4, 3)
    mask = np.array([[True, True, False, False]])
    by_position = GlobalAveragePooling1D()(x, mask)
    np.testing.assert_allclose(by_position, x[:, :2].mean(axis=1))
    np.testing.assert_array_equal(by_position, GlobalAveragePooling1D()(x, mask=mask))


def test_inputs_can_be_passed_by_name_but_not_twice():
    layer = Dense(2, kernel_initializer="ones")
    np.testing.assert_array_equal(layer(inputs=np.ones((1, 3))), [[3.0, 3.0]])
    with pytest.raises(TypeError, match="given its inputs twice"):
        layer(np.ones((1, 3)), inputs=np.ones((1, 3)))
    with pytest.raises(TypeError, match="got 'training' twice"):
        layer(np.ones((1, 3)), True, training=False)
    with pytest.raises(TypeError, match=r"at most 2 more argument\(s\) \(training, mask\), got 3"):
        layer(np.ones((1, 3)), True, None, 3)


def test_image_augmentation_called_directly_augments_as_in_keras():
    images = np.random.default_rng(0).random((8, 4, 4, 1), dtype=np.float32)
    flip = RandomFlip("horizontal", seed=0)
    assert not np.array_equal(flip(images), images)          # a direct call runs in training mode
    np.testing.assert_array_equal(flip(images, training=False), images)


def test_image_augmentation_in_a_model_passes_images_through_at_inference():
    from nbtrain.layers import Flatten
    from nbtrain.models import Sequential
    images = np.random.default_rng(0).random((8, 4, 4, 1), dtype=np.float32)
    model = Sequential([Input((4, 4, 1)), RandomFlip("horizontal", seed=0), Flatten()])
    np.testing.assert_array_equal(model.predict(images, verbose=0), images.reshape(8, -1))


@pytest.mark.parametrize("noise_shape, match", [
    ((20, 1.5, 10), r"must hold integers or None, got 1\.5 \(float\) at index 1"),
    ((2, 0), r"must hold positive sizes \(or None\), got 0 at index 1"),
    (5, r"must be a tuple or list of integers"),
    ("ab", r"must be a tuple or list of integers"),
])
def test_dropout_noise_shape_is_checked_as_in_keras(noise_shape, match):
    with pytest.raises(ValueError, match=match):
        Dropout(0.5, noise_shape=noise_shape)


@pytest.mark.parametrize("arguments, match", [
    (dict(shape=(3,), batch_shape=(None, 3)), "both shape=.* and batch_shape"),
    (dict(batch_size=2, batch_shape=(2, 3)), "both batch_size=2 and batch_shape"),
])
def test_input_refuses_conflicting_shapes(arguments, match):
    with pytest.raises(ValueError, match=match):
        Input(**arguments)


def test_reshape_resolves_minus_one_on_every_call():
    from nbtrain.layers import Reshape
    layer = Reshape((-1, 2))
    assert layer(np.zeros((1, 4))).shape == (1, 2, 2)
    assert layer(np.zeros((3, 6))).shape == (3, 3, 2)
    with pytest.raises(ValueError, match=r"cannot reshape samples of shape \(5,\)"):
        layer(np.zeros((1, 5)))


def test_compute_mask_takes_the_inputs_alone():
    from nbtrain.layers import Embedding
    np.testing.assert_array_equal(Embedding(5, 2, mask_zero=True).compute_mask(np.array([[1, 0]])), [[True, False]])
    assert Dense(2).compute_mask(np.ones((1, 3))) is None


def test_embedding_builds_without_a_shape_and_from_weights_at_once():
    from nbtrain.layers import Embedding
    table = np.arange(10, dtype="float32").reshape(5, 2)
    layer = Embedding(5, 2, weights=[table])
    np.testing.assert_array_equal(layer.get_weights()[0], table)       # built at construction, as in Keras
    np.testing.assert_array_equal(layer(np.array([[4]])), [[[8.0, 9.0]]])
    unbuilt = Embedding(5, 2)
    unbuilt.build()
    assert unbuilt.built and unbuilt.get_weights()[0].shape == (5, 2)


def test_setting_activation_to_none_after_construction_means_linear():
    layer = Dense(2, activation="relu", kernel_initializer="ones")
    layer.activation = None
    np.testing.assert_array_equal(layer(-np.ones((1, 3))), [[-3.0, -3.0]])
    layer.activation = "relu"
    np.testing.assert_array_equal(layer(-np.ones((1, 3))), [[0.0, 0.0]])


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
