"""Float64 finite-difference gradient checks for every core layer and option (random upstream gradient)."""

import numpy as np
import pytest
from gradcheck import check_layer

from nbtrain.layers import Activation, ActivityRegularization, Dense, Dropout, Flatten, Identity, Reshape

ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "softsign", "swish",
               "gelu", "leaky_relu", "hard_sigmoid", "exponential"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_gradients_for_every_activation(activation, rng):
    # Inputs away from 0 keep relu-type kinks out of the finite differences.
    x = rng.uniform(0.2, 1.0, (4, 3)) * rng.choice([-1, 1], (4, 3))
    check_layer(Dense(5, activation=activation, kernel_initializer="glorot_normal",
                      bias_initializer="random_normal"), x, rng)


def test_dense_on_three_dimensional_input(rng):
    check_layer(Dense(3, activation="tanh"), rng.standard_normal((2, 4, 5)), rng)


def test_dense_without_bias(rng):
    layer = Dense(3, use_bias=False)
    check_layer(layer, rng.standard_normal((4, 2)), rng)
    assert list(layer.params) == ["kernel"]


@pytest.mark.parametrize("activation", ["softmax", "sigmoid", "relu", "tanh"])
def test_activation_layer(activation, rng):
    check_layer(Activation(activation), rng.uniform(0.1, 1, (3, 4)) * rng.choice([-1, 1], (3, 4)), rng)


def test_dropout_in_training_with_a_fixed_mask(rng):
    layer = Dropout(0.4, seed=3)

    def same_mask():
        layer._rng = np.random.default_rng(3)

    check_layer(layer, rng.standard_normal((6, 5)), rng, training=True, reset_noise=same_mask)


def test_dropout_at_inference_is_identity(rng):
    check_layer(Dropout(0.5), rng.standard_normal((3, 4)), rng, training=False)


def test_flatten_and_reshape(rng):
    check_layer(Flatten(), rng.standard_normal((2, 3, 4)), rng)
    check_layer(Reshape((3, -1)), rng.standard_normal((2, 12)), rng)


def test_identity_and_activity_regularization_pass_the_gradient_through(rng):
    check_layer(Identity(), rng.standard_normal((2, 3, 4)), rng)
    check_layer(ActivityRegularization(l1=0.1, l2=0.2), rng.standard_normal((3, 4)), rng)
