"""``from nbtrain import backend as K``: the K functions of older tutorials, differentiable through ops."""

from __future__ import annotations

import numpy as np

import nbtrain
from nbtrain import backend as K
from nbtrain import ops


def test_configuration_values_are_keras_defaults():
    assert K.epsilon() == 1e-7 and K.floatx() == "float32" and K.image_data_format() == "channels_last"
    K.set_epsilon(1e-5)
    try:
        assert K.epsilon() == 1e-5
    finally:
        K.set_epsilon(1e-7)


def test_an_old_style_custom_loss_runs_eagerly_and_is_differentiable():
    def rmse(y_true, y_pred):
        return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1))

    def clipped_log_loss(y_true, y_pred):
        y_pred = K.clip(y_pred, K.epsilon(), 1 - K.epsilon())
        return -K.mean(y_true * K.log(y_pred), axis=-1)

    y_true = np.array([[1.0, 0.0]], np.float32)
    y_pred = np.array([[0.5, 0.5]], np.float32)
    np.testing.assert_allclose(rmse(y_true, y_pred), [0.5])
    np.testing.assert_allclose(clipped_log_loss(y_true, y_pred), [np.log(2) / 2], rtol=1e-6)
    with ops.GradientTape() as tape:
        p = tape.watch(y_pred)
        loss = K.sum(rmse(y_true, p))
    np.testing.assert_allclose(tape.gradient(loss, p), [[-0.5, 0.5]], rtol=1e-6)


def test_clip_without_a_bound_and_shape_helpers():
    x = np.array([[-2.0, 0.5, 3.0]], np.float32)
    np.testing.assert_array_equal(K.clip(x, 0.0, None), [[0.0, 0.5, 3.0]])
    assert K.int_shape(x) == (1, 3) and K.ndim(x) == 2 and K.batch_flatten(np.ones((2, 3, 4))).shape == (2, 12)
    assert K.flatten(x).shape == (3,) and K.permute_dimensions(np.ones((2, 3)), (1, 0)).shape == (3, 2)
    np.testing.assert_allclose(K.sum(K.square(K.l2_normalize(np.array([[3.0, 4.0]]), axis=-1))), 1.0)
    np.testing.assert_array_equal(K.batch_dot(np.ones((2, 3)), np.ones((2, 3))), [[3.0], [3.0]])
    np.testing.assert_array_equal(K.switch(x > 0, x, 0.0), [[0.0, 0.5, 3.0]])


def test_variables_constants_and_clear_session():
    v = K.variable([1.0, 2.0], name="v")
    np.testing.assert_array_equal(K.get_value(v), [1.0, 2.0])
    assert K.constant(2.0, shape=(2, 2)).tolist() == [[2.0, 2.0], [2.0, 2.0]]
    K.clear_session()
    assert nbtrain.layers.Dense(2).name == "dense"
