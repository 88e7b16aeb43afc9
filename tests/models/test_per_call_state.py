"""Per-call layer state: every call of a layer has its own backprop, so a layer can be called several times in one
graph (its weight gradients are summed over the calls) and can sit in several models that train in turn."""

import numpy as np
import pytest
from gradcheck import check_model_gradients

import nbtrain as keras
from nbtrain import Input, Model
from nbtrain.layers import (LSTM, Add, BatchNormalization, Concatenate, Conv1D, Dense, Flatten, Layer,
                            LayerNormalization)
from nbtrain.models import Sequential


class ScaledSquare(Layer):
    """A user layer written to the forward/backward contract, ``w * x**2``, keeping its input on ``self``."""

    def build(self, input_shape):
        self.add_weight("w", (input_shape[-1],), initializer="ones")
        super().build(input_shape)

    def forward(self, x, training=False):
        self._x = x
        return self._weights["w"] * x * x

    def backward(self, grad_output):
        x = self._x
        self.grads["w"] = (grad_output * x * x).reshape(-1, x.shape[-1]).sum(0)
        return 2 * grad_output * self._weights["w"] * x


class LoggedDense(Dense):
    """A user subclass of a built-in layer that extends ``forward``."""

    def forward(self, x, training=False):
        self.calls = getattr(self, "calls", 0) + 1
        return super().forward(x, training)


SHARED = {
    "dense": (lambda: Dense(4, activation="tanh"), (3,)),
    "conv1d": (lambda: Conv1D(2, 2, activation="relu", padding="same"), (5, 3)),
    "lstm": (lambda: LSTM(3, return_sequences=True), (4, 3)),
    "layer_normalization": (lambda: LayerNormalization(), (3,)),
    "batch_normalization": (lambda: BatchNormalization(), (3,)),
    "user_layer": (lambda: ScaledSquare(), (3,)),
    "user_subclass_of_dense": (lambda: LoggedDense(4, activation="sigmoid"), (3,)),
}


@pytest.mark.parametrize("kind", SHARED)
def test_a_layer_called_twice_gets_the_sum_of_both_calls_gradients(kind, rng):
    make, shape = SHARED[kind]
    a, b = Input(shape=shape), Input(shape=shape)
    shared = make()
    merged = Concatenate()([Flatten()(shared(a)), Flatten()(shared(b))])
    model = Model([a, b], Dense(2, name="head")(merged))
    assert sum(layer is shared for layer in model.layers) == 1
    check_model_gradients(model, [rng.standard_normal((5,) + shape), rng.standard_normal((5,) + shape)], rng)


def test_a_layer_called_three_times_in_a_chain_sums_every_call(rng):
    # shared(shared(a)): the first call's input gradient is needed by nothing, the second's is needed by the first
    a, b = Input(shape=(3,)), Input(shape=(3,))
    shared = Dense(3, activation="tanh", name="shared")
    model = Model([a, b], Dense(1, name="head")(Add()([shared(shared(a)), shared(b)])))
    check_model_gradients(model, [rng.standard_normal((6, 3)), rng.standard_normal((6, 3))], rng)


def test_a_user_layer_subclass_still_runs_its_own_forward_in_a_model(rng):
    layer = LoggedDense(2, input_shape=(3,))
    model = Sequential([layer])
    model.compile(optimizer="sgd", loss="mse")
    model.train_on_batch(rng.random((4, 3)), rng.random((4, 2)))
    assert layer.calls == 1


def test_a_layer_called_twice_trains_like_the_sum_of_its_uses(rng):
    # One SGD step on shared(a) + shared(b) moves the kernel by the summed gradient of both calls.
    a, b = Input(shape=(3,)), Input(shape=(3,))
    shared = Dense(1, use_bias=False, kernel_initializer="zeros", name="shared")
    model = Model([a, b], Add()([shared(a), shared(b)]))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="mse")
    xa, xb = rng.random((4, 3), dtype=np.float32), rng.random((4, 3), dtype=np.float32)
    y = rng.random((4, 1), dtype=np.float32)
    model.train_on_batch([xa, xb], y)
    # with a zero kernel the output is 0, so dL/dout = -2 y / n and dL/dkernel = (xa + xb)^T dL/dout
    expected = -0.5 * (xa + xb).T @ (-2 * y / len(y))
    np.testing.assert_allclose(shared.get_weights()[0], expected, rtol=1e-5)


def _two_models_sharing(shared):
    """``shared`` first in one model (nobody needs its input gradient) and after a trainable layer in the other."""
    first = Sequential([Input(shape=(3,)), shared, Dense(1, name="head_a")])
    second = Sequential([Input(shape=(3,)), Dense(3, name="before"), shared, Dense(1, name="head_b")])
    for model in (first, second):
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    return first, second


def test_a_layer_in_two_models_trains_correctly_in_both_in_alternation(rng):
    keras.utils.set_random_seed(7)
    first, second = _two_models_sharing(Dense(4, activation="tanh", name="shared"))
    # The reference: the same models with their own copy of the shared layer, synchronised after every step
    # (plain SGD keeps no state, so this is the same computation).
    keras.utils.set_random_seed(7)
    first_ref, second_ref = _two_models_sharing(Dense(4, activation="tanh", name="shared"))
    copies = (first_ref.get_layer("shared"), second_ref.get_layer("shared"))
    x, y = rng.random((8, 3), dtype=np.float32), rng.random((8, 1), dtype=np.float32)
    initial_before = second.get_layer("before").get_weights()[0]
    for _ in range(3):
        for model, reference, trained, other in ((first, first_ref, *copies), (second, second_ref, *copies[::-1])):
            loss = model.train_on_batch(x, y)
            reference_loss = reference.train_on_batch(x, y)
            other.set_weights(trained.get_weights())
            np.testing.assert_allclose(loss, reference_loss, rtol=1e-6)
            for weights, reference_weights in zip(model.get_weights(), reference.get_weights()):
                np.testing.assert_allclose(weights, reference_weights, rtol=1e-6, atol=1e-7)
    # the layer before the shared one trained, though the shared layer's last step was in `first`
    assert not np.allclose(second.get_layer("before").get_weights()[0], initial_before)


@pytest.mark.parametrize("last_trained", ["first", "second"])
def test_each_model_sharing_a_layer_backpropagates_its_own_way(last_trained, rng):
    first, second = _two_models_sharing(Dense(4, activation="tanh", name="shared"))
    x, y = rng.random((8, 3), dtype=np.float32), rng.random((8, 1), dtype=np.float32)
    for model in (second, first) if last_trained == "first" else (first, second):
        model.fit(x, y, epochs=1, verbose=0)
    # whichever model trained last, `second` still gets the gradient of the layer before the shared one
    for model in (second, first):
        check_model_gradients(model, [rng.standard_normal((5, 3))], rng)
