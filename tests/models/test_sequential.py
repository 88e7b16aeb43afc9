"""Sequential's Conv + MaxPooling fusion: the pool runs on the convolution's pre-activation, and everything a
model computes (outputs, every gradient, a whole fit) is bit for bit what the unfused layers give."""

import numpy as np
import pytest

from nbtrain import regularizers
from nbtrain.layers import Conv1D, Conv2D, Dense, Flatten, Input, MaxPooling1D, MaxPooling2D
from nbtrain.models import Sequential
from nbtrain.optimizers import SGD


def pair_of_models(layers_fn, input_shape):
    """The same network twice with the same weights: fused as Sequential runs it, and with fusion turned off."""
    fused = Sequential([Input(input_shape)] + layers_fn())
    unfused = Sequential([Input(input_shape)] + layers_fn())
    unfused.set_weights(fused.get_weights())
    unfused._pools_next = lambda index: False
    return fused, unfused


def forward_backward(model, x, grad_output):
    out = model._forward([x], training=True)[0]
    model._backward([(grad_output, False)])
    return out, {(i, name): grad.copy() for i, layer in enumerate(model.layers) for name, grad in layer.grads.items()}


NETWORKS = {
    "conv2d relu": (lambda: [Conv2D(4, 3, activation="relu"), MaxPooling2D(), Flatten(), Dense(3)], (12, 12, 2)),
    "conv2d relu, two blocks": (lambda: [Conv2D(4, 3, activation="relu"), MaxPooling2D(), Conv2D(3, 2, activation="relu"),
                                         MaxPooling2D(), Flatten(), Dense(2)], (13, 13, 1)),
    "conv2d linear, 2x3 pool": (lambda: [Conv2D(4, 3), MaxPooling2D((2, 3)), Flatten(), Dense(3)], (12, 12, 2)),
    "conv1d relu": (lambda: [Conv1D(4, 2, activation="relu"), MaxPooling1D(2), Flatten(), Dense(3)], (9, 3)),
}


@pytest.mark.parametrize("name", NETWORKS)
def test_fused_conv_and_pool_give_the_same_outputs_and_gradients(name, rng):
    layers_fn, input_shape = NETWORKS[name]
    fused, unfused = pair_of_models(layers_fn, input_shape)
    assert fused._pools_next(0) and not unfused._pools_next(0)
    # small integers: many windows tie, and many pre-activations tie at relu's 0
    x = rng.integers(-2, 3, (6,) + input_shape).astype(np.float32)
    grad_output = rng.standard_normal(fused.output_shape[1:]).astype(np.float32)[np.newaxis].repeat(6, axis=0)
    out_fused, grads_fused = forward_backward(fused, x, grad_output)
    out_unfused, grads_unfused = forward_backward(unfused, x, grad_output)
    np.testing.assert_array_equal(out_fused, out_unfused)
    assert grads_fused.keys() == grads_unfused.keys() and grads_fused
    for key in grads_fused:
        np.testing.assert_array_equal(grads_fused[key], grads_unfused[key], err_msg=str(key))


def test_a_batch_pooled_a_block_of_images_at_a_time_is_bit_identical_to_the_unfused_layers(rng):
    # 32 filters on 28x28 images: z is made and pooled a few images at a time (a batch of 23 is several blocks
    # and a shorter last one); the blocked products must give exactly the rows the whole-batch product gives
    fused, unfused = pair_of_models(lambda: [Conv2D(32, 3, activation="relu"), MaxPooling2D(),
                                             Conv2D(8, 3), MaxPooling2D(), Flatten(), Dense(3)], (28, 28, 1))
    x = rng.standard_normal((23, 28, 28, 1)).astype(np.float32)
    grad_output = rng.standard_normal((23, 3)).astype(np.float32)
    out_fused, grads_fused = forward_backward(fused, x, grad_output)
    out_unfused, grads_unfused = forward_backward(unfused, x, grad_output)
    np.testing.assert_array_equal(out_fused, out_unfused)
    for key in grads_fused:
        np.testing.assert_array_equal(grads_fused[key], grads_unfused[key], err_msg=str(key))


def test_a_fused_fit_trains_exactly_like_the_unfused_layers(rng):
    fused, unfused = pair_of_models(NETWORKS["conv2d relu, two blocks"][0], (13, 13, 1))
    x = rng.random((64, 13, 13, 1), dtype=np.float32)
    y = rng.integers(0, 2, 64)
    for model in (fused, unfused):
        model.compile(optimizer=SGD(0.1), loss="sparse_categorical_crossentropy")
    history_fused = fused.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    history_unfused = unfused.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    assert history_fused.history["loss"] == history_unfused.history["loss"]
    for a, b in zip(fused.get_weights(), unfused.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fused.predict(x, verbose=0), unfused.predict(x, verbose=0))


@pytest.mark.parametrize("layers", [
    [Conv2D(2, 3, activation="tanh"), MaxPooling2D()],                          # does not commute exactly in float
    [Conv2D(2, 3, activation="relu"), MaxPooling2D(2, strides=1)],              # overlapping windows
    [Conv2D(2, 3, activation="relu"), MaxPooling2D(padding="same")],
    [Conv2D(2, 3, activation="relu", activity_regularizer="l2"), MaxPooling2D()],  # the penalty reads the output
    [Conv2D(2, 3, activation="relu"), Flatten()],
], ids=["tanh", "overlapping", "same", "activity penalty", "no pool"])
def test_conv_and_pool_are_not_fused_when_the_result_could_change(layers):
    model = Sequential([Input((8, 8, 1))] + layers)
    assert not model._pools_next(0)


def test_a_pool_activity_penalty_still_counts_when_fused(rng):
    def layers_fn():
        return [Conv2D(3, 3, activation="relu"), MaxPooling2D(activity_regularizer=regularizers.L2(0.5)), Flatten(),
                Dense(2)]

    fused, unfused = pair_of_models(layers_fn, (10, 10, 1))
    x = rng.random((8, 10, 10, 1), dtype=np.float32)
    y = rng.integers(0, 2, 8)
    losses = []
    for model in (fused, unfused):
        model.compile(optimizer=SGD(0.1), loss="sparse_categorical_crossentropy")
        losses.append(model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False).history["loss"])
        assert id(model.layers[1]) in model._activity_outputs   # the pooled output went to the penalty
    assert losses[0] == losses[1]
    for a, b in zip(fused.get_weights(), unfused.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_pool_subclass_that_pools_its_own_way_is_not_fused():
    class NoisyMaxPooling2D(MaxPooling2D):
        def _pool(self, x4, geometry):
            out, unpool = super()._pool(x4, geometry)
            return out + 1, unpool

    model = Sequential([Input((8, 8, 1)), Conv2D(2, 3, activation="relu"), NoisyMaxPooling2D()])
    assert not model._pools_next(0)
    assert Sequential([Input((8, 8, 1)), Conv2D(2, 3, activation="relu"), MaxPooling2D()])._pools_next(0)
