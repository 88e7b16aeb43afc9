"""Keras 3.15's own expectations for initial states, statefulness and ``RNN(cell)``, with the numbers copied
from its tests (``keras/src/layers/rnn/{rnn,lstm,gru,simple_rnn,bidirectional}_test.py``)."""

import numpy as np
import pytest

from nbtrain import layers, ops
from nbtrain.initializers import Constant


def constant(cls, units, **kwargs):
    return cls(units, kernel_initializer=Constant(0.01), recurrent_initializer=Constant(0.02),
               bias_initializer=Constant(0.03), **kwargs)


SEQUENCE = np.arange(24).reshape((2, 4, 3)).astype("float32")


@pytest.mark.parametrize("cls, initial_state, go_backwards, expected", [
    (layers.LSTM, [np.arange(4).reshape((2, 2)).astype("float32")] * 2, False,
     [[0.20574439, 0.3558822], [0.64930826, 0.66276]]),
    (layers.LSTM, [np.arange(4).reshape((2, 2)).astype("float32")] * 2, True,
     [[0.13281618, 0.2790356], [0.5839337, 0.5992567]]),
    (layers.GRU, np.arange(4).reshape((2, 2)).astype("float32"), False,
     [[0.23774096, 0.33508456], [0.83659905, 1.0227708]]),
    (layers.GRU, np.arange(4).reshape((2, 2)).astype("float32"), True,
     [[0.13486053, 0.23261218], [0.78257304, 0.9691353]]),
    (layers.SimpleRNN, np.arange(8).reshape((2, 4)).astype("float32"), False,
     [[0.33621645] * 4, [0.6262637] * 4]),
    (layers.SimpleRNN, np.arange(8).reshape((2, 4)).astype("float32"), True,
     [[0.07344437] * 4, [0.43043602] * 4]),
])
def test_pass_initial_state(cls, initial_state, go_backwards, expected):
    units = np.shape(initial_state)[-1]
    layer = constant(cls, units, go_backwards=go_backwards)
    np.testing.assert_allclose(layer(SEQUENCE, initial_state=initial_state), expected, atol=1e-5, rtol=1e-5)


def test_gru_pass_return_state():
    initial_state = np.arange(4).reshape((2, 2)).astype("float32")
    output, state = constant(layers.GRU, 2, return_state=True)(SEQUENCE, initial_state=initial_state)
    np.testing.assert_allclose(output, [[0.23774096, 0.33508456], [0.83659905, 1.0227708]], atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(output, state)


@pytest.mark.parametrize("cls, expected", [
    (layers.LSTM, [[0.3124785] * 4, [0.6863672] * 4]),
    (layers.GRU, [[0.29542392] * 4, [0.5885018] * 4]),
    (layers.SimpleRNN, [[0.40559256] * 4, [0.7361247] * 4]),
])
def test_statefulness(cls, expected):
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = constant(cls, 4, stateful=True)
    layer(sequence)
    np.testing.assert_allclose(layer(sequence), expected, atol=1e-5, rtol=1e-5)
    layer.reset_state()
    layer(sequence)
    np.testing.assert_allclose(layer(sequence), expected, atol=1e-5, rtol=1e-5)


def test_bidirectional_statefulness_and_initial_state():
    layer = layers.Bidirectional(constant(layers.LSTM, 2, stateful=True))
    expected = [[0.26234663, 0.26234663, 0.16959146, 0.16959146], [0.6137073, 0.6137073, 0.5381646, 0.5381646]]
    layer(SEQUENCE)
    np.testing.assert_allclose(layer(SEQUENCE), expected, atol=1e-5, rtol=1e-5)
    layer.reset_state()
    layer(SEQUENCE)
    np.testing.assert_allclose(layer(SEQUENCE), expected, atol=1e-5, rtol=1e-5)

    initial_state = [np.arange(4).reshape((2, 2)).astype("float32") * k for k in (1, 2, 3, 4)]
    output = layers.Bidirectional(constant(layers.LSTM, 2))(SEQUENCE, initial_state=initial_state)
    np.testing.assert_allclose(output, [[0.20794602, 0.4577124, 0.14046375, 0.48191673],
                                        [0.6682636, 0.6711909, 0.60943645, 0.60950446]], atol=1e-5, rtol=1e-5)


# ----- rnn_test.py: RNN(cell) with the test's cells ----------------------------------------------------------


class OneStateRNNCell(layers.Layer):
    def __init__(self, units, state_size=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = state_size if state_size else units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="ones",
                                                name="recurrent_kernel")

    def call(self, inputs, states):
        prev_output = states[0]
        h = ops.matmul(inputs, self.kernel)
        output = h + ops.matmul(prev_output, self.recurrent_kernel)
        return output, [output]


class TwoStatesRNNCell(layers.Layer):
    def __init__(self, units, state_size=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = state_size if state_size else [units, units]
        self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones", name="kernel")
        self.recurrent_kernel_1 = self.add_weight(shape=(self.units, self.units), initializer="ones",
                                                  name="recurrent_kernel_1")
        self.recurrent_kernel_2 = self.add_weight(shape=(self.units, self.units), initializer="ones",
                                                  name="recurrent_kernel_2")

    def call(self, inputs, states):
        prev_1 = states[0]
        prev_2 = states[0]
        h = ops.matmul(inputs, self.kernel)
        output_1 = h + ops.matmul(prev_1, self.recurrent_kernel_1)
        output_2 = h + ops.matmul(prev_2, self.recurrent_kernel_2)
        output = output_1 + output_2
        return output, [output_1, output_2]


def test_rnn_passing_initial_state():
    sequence = np.ones((2, 3, 2))
    output = layers.RNN(OneStateRNNCell(2))(sequence, initial_state=np.ones((2, 2)))
    np.testing.assert_allclose(output, [[22.0, 22.0], [22.0, 22.0]])
    output, state = layers.RNN(OneStateRNNCell(2), return_state=True)(sequence, initial_state=np.ones((2, 2)))
    np.testing.assert_allclose(output, [[22.0, 22.0], [22.0, 22.0]])
    np.testing.assert_allclose(state, [[22.0, 22.0], [22.0, 22.0]])
    states = [np.ones((2, 2)), np.ones((2, 2))]
    output, state_1, state_2 = layers.RNN(TwoStatesRNNCell(2), return_state=True)(sequence, initial_state=states)
    np.testing.assert_allclose(output, [[44.0, 44.0], [44.0, 44.0]])
    np.testing.assert_allclose(state_1, [[22.0, 22.0], [22.0, 22.0]])
    np.testing.assert_allclose(state_2, [[22.0, 22.0], [22.0, 22.0]])


def test_rnn_statefulness():
    sequence = np.ones((1, 2, 3))
    layer = layers.RNN(OneStateRNNCell(2), stateful=True, return_state=True)
    layer(sequence)
    output, state = layer(sequence)
    np.testing.assert_allclose(output, [[45.0, 45.0]])
    np.testing.assert_allclose(state, [[45.0, 45.0]])
    layer = layers.RNN(TwoStatesRNNCell(2), stateful=True, return_state=True)
    layer(sequence)
    output, state_1, state_2 = layer(sequence)
    np.testing.assert_allclose(output, [[90.0, 90.0]])
    np.testing.assert_allclose(state_1, [[45.0, 45.0]])
    np.testing.assert_allclose(state_2, [[45.0, 45.0]])


def test_rnn_go_backwards():
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = layers.RNN(OneStateRNNCell(2), go_backwards=True)
    layer(sequence)
    np.testing.assert_allclose(layer(sequence), [[202.0, 202.0], [538.0, 538.0]])
    layer = layers.RNN(OneStateRNNCell(2), stateful=True, return_state=True)
    layer(sequence)
    output, state = layer(sequence)
    np.testing.assert_allclose(output, [[954.0, 954.0], [3978.0, 3978.0]])
    np.testing.assert_allclose(state, [[954.0, 954.0], [3978.0, 3978.0]])


def test_rnn_stateful_batch_size_mismatch_raises():
    layer = layers.RNN(TwoStatesRNNCell(2), stateful=True)
    inputs = layers.Input(shape=(5, 3), batch_size=4)
    from nbtrain.models import Model
    model = Model(inputs, layer(inputs))
    model(np.random.default_rng(0).uniform(size=(4, 5, 3)))
    with pytest.raises(ValueError, match="batch size"):
        model(np.random.default_rng(0).uniform(size=(1, 5, 3)))
