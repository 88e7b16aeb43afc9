"""``RNN(cell)``: cells of your own written with ``nbtrain.ops`` (differentiated by the tape), the built-in cells
and ``StackedRNNCells``; against Keras 3.15 numbers (``tests/fixtures/make_keras_rnn_reference.py``), float64
gradient checks, and the "Working with RNNs" guide's code with only the imports changed."""

import json
from pathlib import Path

import numpy as np
import pytest
from gradcheck import assert_gradients_close, numerical_gradient

import nbtrain as keras
from nbtrain import layers, ops
from nbtrain.layers import GRU, LSTM, RNN, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell, StackedRNNCells

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "keras_rnn_reference.json").read_text())
MASK = np.array([[True, True, False, True, True], [False, True, True, True, False]])


# The cell of Keras's RNN documentation, written the Keras way (only the imports differ).
class MinimalRNNCell(keras.layers.Layer):

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                name="recurrent_kernel")
        self.built = True

    def call(self, inputs, states):
        prev_output = states[0]
        h = ops.matmul(inputs, self.kernel)
        output = h + ops.matmul(prev_output, self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class TwoStateCell(keras.layers.Layer):
    """Two states of different sizes, an output size of its own, a non-linearity."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, 2 * units]
        self.output_size = 3

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 2 * self.units), name="kernel")
        self.recurrent = self.add_weight(shape=(2 * self.units, self.units), name="recurrent")
        self.out = self.add_weight(shape=(self.units, 3), name="out")

    def get_config(self):
        return {**super().get_config(), "units": self.units}

    def call(self, inputs, states):
        h, memory = states
        h = ops.tanh(ops.matmul(memory, self.recurrent) + h)
        memory = 0.5 * memory + ops.matmul(inputs, self.kernel)
        return ops.matmul(h, self.out), [h, memory]


KERAS_CASES = {
    "minimal_cell": lambda: RNN(MinimalRNNCell(4)),
    "minimal_cell_sequences_mask": lambda: RNN(MinimalRNNCell(4), return_sequences=True, return_state=True),
    "stacked_minimal_cells": lambda: RNN([MinimalRNNCell(4), MinimalRNNCell(3)], return_sequences=True),
    "two_state_cell": lambda: RNN(TwoStateCell(4), return_sequences=True, return_state=True, go_backwards=True),
    "lstm_cell": lambda: RNN(LSTMCell(4), return_sequences=True, return_state=True),
    "gru_cell": lambda: RNN(GRUCell(4), return_state=True),
    "simple_rnn_cell_backwards": lambda: RNN(SimpleRNNCell(4), return_sequences=True, go_backwards=True),
    "stacked_lstm_gru_cells": lambda: RNN(StackedRNNCells([LSTMCell(3), GRUCell(4)]), return_sequences=True),
    "bidirectional_two_state_cell": lambda: layers.Bidirectional(RNN(TwoStateCell(2), return_sequences=True,
                                                                     return_state=True)),
}


@pytest.mark.parametrize("name", sorted(KERAS_CASES))
def test_rnn_with_a_cell_matches_keras(name):
    case = REFERENCE["cells"][name]
    x = np.array(case["x"], np.float32)
    layer = KERAS_CASES[name]()
    layer.ensure_built(x.shape)
    layer.set_weights([np.array(w, np.float32) for w in case["weights"]])
    arguments = {} if case["mask"] is None else {"mask": np.array(case["mask"])}
    if case["initial_state"] is not None:
        arguments["initial_state"] = [np.array(s, np.float32) for s in case["initial_state"]]
    outputs = layer(x, **arguments)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    assert len(outputs) == len(case["outputs"])
    for output, expected in zip(outputs, case["outputs"]):
        np.testing.assert_allclose(output, np.array(expected), atol=2e-6)


# ----- gradients: the tape's backpropagation through time, float64 central differences ------------------


GRADIENT_CASES = {
    "two_state_cell_mask_states_backwards": (lambda: RNN(TwoStateCell(2), return_sequences=True,
                                                         return_state=True, go_backwards=True), [2, 4], True),
    "minimal_cell_zero_output_for_mask": (lambda: RNN(MinimalRNNCell(3), return_sequences=True,
                                                      zero_output_for_mask=True), None, True),
    "stacked_builtin_cells": (lambda: RNN([LSTMCell(3), GRUCell(2), GRUCell(2, reset_after=False),
                                           SimpleRNNCell(2)], return_state=True), [3, 3, 2, 2, 2], True),
    "fused_lstm_cell": (lambda: RNN(LSTMCell(3), return_sequences=True, return_state=True), [3, 3], True),
    "fused_gru_cell_last_output": (lambda: RNN(GRUCell(3)), [3], False),
    "bidirectional_custom_cell": (lambda: layers.Bidirectional(RNN(TwoStateCell(2), return_state=True),
                                                               merge_mode="ave"), [2, 4, 2, 4], True),
}


@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
def test_gradients_through_time(name, rng):
    make, state_sizes, masked = GRADIENT_CASES[name]
    layer = make()
    x = rng.standard_normal((2, 5, 2))
    states = None if state_sizes is None else [rng.standard_normal((2, size)) for size in state_sizes]
    mask = MASK if masked else None
    layer.ensure_built(x.shape)
    layer.cast_weights(np.float64)
    for weight in layer.params.values():
        weight[...] = rng.standard_normal(weight.shape) * 0.5

    def forward():
        outputs = layer.forward(x, initial_state=states, mask=mask)
        return outputs if isinstance(outputs, list) else [outputs]

    upstream = [rng.standard_normal(np.shape(o)) for o in forward()]

    def scalar():
        return sum(float(np.sum(o * g)) for o, g in zip(forward(), upstream))

    forward()
    grads = layer.backward(upstream if len(upstream) > 1 else upstream[0])
    grads = grads if states is not None else [grads]
    assert_gradients_close(grads[0], numerical_gradient(scalar, x), f"{name} input")
    for index, state in enumerate(states or []):
        assert_gradients_close(grads[1 + index], numerical_gradient(scalar, state), f"{name} state {index}")
    analytic = {key: value.copy() for key, value in layer.grads.items()}
    assert set(analytic) == set(layer.params)
    for key, weight in layer.params.items():
        assert_gradients_close(analytic[key], numerical_gradient(scalar, weight), f"{name} {key}")


@pytest.mark.parametrize("cell, layer_class", [(lambda: LSTMCell(3), LSTM), (lambda: GRUCell(3), GRU),
                                               (lambda: GRUCell(3, reset_after=False), GRU),
                                               (lambda: SimpleRNNCell(3, activation="relu"), SimpleRNN)])
def test_a_built_in_cell_stepped_with_ops_equals_its_layer(cell, layer_class, rng):
    stepped = RNN(StackedRNNCells([cell()]), return_sequences=True)     # the ops path, through the tape
    x = rng.standard_normal((2, 5, 2)).astype(np.float32)
    stepped.ensure_built(x.shape)
    config = stepped.cell.cells[0].get_config() | {"name": None, "return_sequences": True}
    fused = layer_class.from_config(config)
    fused.ensure_built(x.shape)
    weights = [rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in fused.get_weights()]
    fused.set_weights(weights)
    stepped.set_weights(weights)
    np.testing.assert_allclose(stepped(x, mask=MASK), fused(x, mask=MASK), atol=1e-5)


def test_rnn_around_a_built_in_cell_is_the_layer(rng):
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    wrapped, layer = RNN(LSTMCell(5, dropout=0.2, seed=1), return_sequences=True), LSTM(5, return_sequences=True)
    wrapped.ensure_built(x.shape)
    layer.ensure_built(x.shape)
    layer.set_weights(wrapped.get_weights())
    np.testing.assert_array_equal(wrapped(x), layer(x))
    assert wrapped.get_weights()[0] is not wrapped.cell.get_weights()[0]
    assert wrapped.weights[0] is np.asarray(wrapped.cell.weights[0])  # one array, updated by the optimizer
    assert np.abs(wrapped(x, training=True) - layer(x)).max() > 1e-3    # the cell's dropout is applied


# ----- training, saving, states ----------------------------------------------------------------------------


def test_a_custom_cell_trains_as_the_built_in_layer_and_saves(tmp_path, rng):
    # MinimalRNNCell is a SimpleRNN without activation and bias: the tape's training equals the fused layer's.
    x = rng.standard_normal((64, 6, 3)).astype(np.float32)
    y = 0.1 * x.sum(axis=(1, 2))[:, None]
    custom = keras.Sequential([keras.Input((6, 3)), RNN(MinimalRNNCell(8)), layers.Dense(1)])
    built_in = keras.Sequential([keras.Input((6, 3)), SimpleRNN(8, activation="linear", use_bias=False),
                                 layers.Dense(1)])
    built_in.set_weights(custom.get_weights())
    losses = []
    for model in (custom, built_in):
        model.compile(keras.optimizers.SGD(0.05), "mse")
        losses.append(model.fit(x, y, epochs=5, batch_size=16, shuffle=False, verbose=0).history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    assert losses[0][-1] < 0.9 * losses[0][0]
    custom.save(tmp_path / "cell.keras")
    loaded = keras.models.load_model(tmp_path / "cell.keras", custom_objects={"MinimalRNNCell": MinimalRNNCell})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), custom.predict(x, verbose=0), atol=1e-6)


def test_a_stateful_rnn_with_a_custom_cell_carries_its_states(rng):
    layer = RNN(TwoStateCell(3), stateful=True, return_sequences=True)
    whole = RNN(TwoStateCell(3), return_sequences=True)
    x = rng.standard_normal((2, 6, 2)).astype(np.float32)
    layer.ensure_built(x.shape)
    whole.ensure_built(x.shape)
    whole.set_weights(layer.get_weights())
    halves = np.concatenate([layer(x[:, :3]), layer(x[:, 3:])], axis=1)
    np.testing.assert_allclose(halves, whole(x), atol=1e-6)
    layer.reset_states()
    np.testing.assert_allclose(layer(x[:, :3]), whole(x[:, :3]), atol=1e-6)


def test_get_initial_state_follows_the_cells():
    layer = RNN([LSTMCell(3), TwoStateCell(2), MinimalRNNCell(4)])
    assert [s.shape for s in layer.get_initial_state(5)] == [(5, 3), (5, 3), (5, 2), (5, 4), (5, 4)]


def test_a_functional_model_passes_states_to_an_rnn_of_cells(rng):
    inputs, h, memory = keras.Input((4, 2)), keras.Input((3,)), keras.Input((6,))
    layer = RNN(TwoStateCell(3), return_state=True)
    output, h_out, memory_out = layer(inputs, initial_state=[h, memory])
    model = keras.Model([inputs, h, memory], [output, h_out, memory_out])
    data = [rng.standard_normal(s).astype(np.float32) for s in ((2, 4, 2), (2, 3), (2, 6))]
    for got, expected in zip(model.predict(data, verbose=0), layer(data[0], initial_state=data[1:])):
        np.testing.assert_allclose(got, expected, atol=1e-6)
    assert [t.shape for t in (output, h_out, memory_out)] == [(None, 3), (None, 3), (None, 6)]


# ----- errors ------------------------------------------------------------------------------------------------


def test_cells_are_checked():
    with pytest.raises(ValueError, match=r"call\(inputs, states\)"):
        RNN(layers.Dense(3))

    class StatelessCell(keras.layers.Layer):
        def call(self, inputs, states):
            return inputs, states

    with pytest.raises(ValueError, match="state_size attribute"):
        RNN(StatelessCell())
    with pytest.raises(ValueError, match=r"state_size must be a positive integer.*\(4, 5\)"):
        class MatrixStateCell(MinimalRNNCell):
            def __init__(self):
                super().__init__(4)
                self.state_size = [(4, 5)]
        RNN(MatrixStateCell())

    class ForgetfulCell(MinimalRNNCell):
        def call(self, inputs, states):
            output, _ = super().call(inputs, states)
            return output, []

    with pytest.raises(ValueError, match="returned 0 state"):
        RNN(ForgetfulCell(2))(np.zeros((1, 3, 2), np.float32))
    with pytest.raises(NotImplementedError, match="dropout"):
        stacked = RNN([LSTMCell(2, dropout=0.5), LSTMCell(2)])
        stacked(np.zeros((1, 3, 2), np.float32), training=True)
    with pytest.raises(TypeError, match="belongs to the RNN layer"):
        LSTMCell(3, return_sequences=True)


# ----- the "Working with RNNs" guide (keras.io/guides/working_with_rnns), only the imports changed -----------


def test_guide_rnn_layers_and_cells():
    model = keras.Sequential()
    model.add(layers.Input(shape=(None, 5)))
    model.add(layers.RNN(layers.LSTMCell(64)))
    model.add(layers.Dense(10))
    assert model.predict(np.zeros((2, 7, 5), np.float32), verbose=0).shape == (2, 10)

    cell = MinimalRNNCell(32)
    x = keras.Input((None, 5))
    layer = layers.RNN(cell)
    y = layer(x)
    assert y.shape == (None, 32)

    cells = [MinimalRNNCell(32), MinimalRNNCell(64)]
    x = keras.Input((None, 5))
    layer = layers.RNN(cells)
    y = layer(x)
    assert y.shape == (None, 64)


def test_guide_encoder_decoder():
    encoder_vocab = 1000
    decoder_vocab = 2000

    encoder_input = layers.Input(shape=(None,))
    encoder_embedded = layers.Embedding(input_dim=encoder_vocab, output_dim=64)(encoder_input)

    # Return states in addition to output
    output, state_h, state_c = layers.LSTM(64, return_state=True, name="encoder")(encoder_embedded)
    encoder_state = [state_h, state_c]

    decoder_input = layers.Input(shape=(None,))
    decoder_embedded = layers.Embedding(input_dim=decoder_vocab, output_dim=64)(decoder_input)

    # Pass the 2 states to a new LSTM layer, as initial state
    decoder_output = layers.LSTM(64, name="decoder")(decoder_embedded, initial_state=encoder_state)
    output = layers.Dense(10)(decoder_output)

    model = keras.Model([encoder_input, decoder_input], output)
    model.summary(print_fn=lambda *args, **kwargs: None)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    xs = [rng.integers(0, encoder_vocab, (16, 7)), rng.integers(0, decoder_vocab, (16, 5))]
    ys = rng.integers(0, 10, 16)
    history = model.fit(xs, ys, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_guide_cross_batch_statefulness_and_state_reuse():
    paragraph1 = np.random.random((20, 10, 50)).astype(np.float32)
    paragraph2 = np.random.random((20, 10, 50)).astype(np.float32)
    paragraph3 = np.random.random((20, 10, 50)).astype(np.float32)

    lstm_layer = layers.LSTM(64, stateful=True)
    output = lstm_layer(paragraph1)
    output = lstm_layer(paragraph2)
    output = lstm_layer(paragraph3)

    # reset_states() will reset the cached state to the original initial_state.
    # If no initial_state was provided, zero-states will be used by default.
    lstm_layer.reset_states()

    output = lstm_layer(paragraph1)
    output = lstm_layer(paragraph2)

    existing_state = lstm_layer.states

    new_lstm_layer = layers.LSTM(64)
    new_lstm_layer.build(paragraph3.shape)
    new_lstm_layer.set_weights(lstm_layer.get_weights())
    new_output = new_lstm_layer(paragraph3, initial_state=existing_state)

    np.testing.assert_allclose(new_output, lstm_layer(paragraph3), atol=1e-6)
    assert output.shape == (20, 64)
