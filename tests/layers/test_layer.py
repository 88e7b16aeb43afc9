"""Layer.__call__ takes the arguments of Keras's call() and nothing else (issue 16): an argument it would
ignore is an error, a second positional argument follows Keras's signature, and image augmentation layers
augment when called directly, as in Keras."""

import numpy as np
import pytest

from nbtrain.layers import Dense, Dropout, GlobalAveragePooling1D, Input, RandomFlip


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
