"""Recurrent layers' states: ``initial_state`` (arrays and symbolic tensors, with gradients into the states),
``return_state`` with masks, and ``stateful=True``; against Keras 3.15 numbers written by
``tests/fixtures/make_keras_rnn_reference.py``."""

import json
from pathlib import Path

import numpy as np
import pytest
from gradcheck import assert_gradients_close, numerical_gradient

import nbtrain
from nbtrain.layers import GRU, LSTM, Bidirectional, Dense, Input, SimpleRNN
from nbtrain.models import Model, Sequential

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "keras_rnn_reference.json").read_text())

MAKERS = {
    "lstm": lambda: LSTM(4, return_sequences=True, return_state=True),
    "lstm_mask": lambda: LSTM(4, return_sequences=True, return_state=True),
    "lstm_last_mask": lambda: LSTM(4, return_state=True),
    "gru_backwards": lambda: GRU(4, return_sequences=True, return_state=True, go_backwards=True),
    "gru_reset_before_mask": lambda: GRU(4, return_state=True, reset_after=False),
    "simple_rnn_single_tensor": lambda: SimpleRNN(4, return_sequences=True, return_state=True),
    "bidirectional_lstm": lambda: Bidirectional(LSTM(3, return_sequences=True, return_state=True)),
    "bidirectional_gru_sum": lambda: Bidirectional(GRU(3, return_state=True), merge_mode="sum"),
}


def arrays(values):
    return [np.array(v, np.float32) for v in values]


def with_reference_weights(layer, case, x):
    layer.ensure_built(x.shape)
    layer.set_weights(arrays(case["weights"]))
    return layer


# ----- initial_state on arrays, against Keras ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_initial_state_and_return_state_match_keras(name):
    case = REFERENCE["states"][name]
    x = np.array(case["x"], np.float32)
    layer = with_reference_weights(MAKERS[name](), case, x)
    states = arrays(case["initial_state"])
    given = states[0] if name == "simple_rnn_single_tensor" else states     # one tensor for one state, as Keras
    mask = None if case["mask"] is None else np.array(case["mask"])
    outputs = layer(x, initial_state=given, mask=mask)
    assert len(outputs) == len(case["outputs"])
    for output, expected in zip(outputs, case["outputs"]):
        np.testing.assert_allclose(output, np.array(expected), atol=2e-6)


def test_get_initial_state_gives_the_zero_states():
    states = LSTM(5).get_initial_state(3)
    assert [s.shape for s in states] == [(3, 5), (3, 5)] and not any(np.any(s) for s in states)
    assert [s.shape for s in GRU(2).get_initial_state(4)] == [(4, 2)]


def test_the_initial_state_changes_the_output_and_zeros_give_the_default():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    layer = LSTM(5)
    default = layer(x)
    np.testing.assert_array_equal(layer(x, initial_state=[np.zeros((2, 5), np.float32)] * 2), default)
    started = layer(x, initial_state=[np.ones((2, 5), np.float32)] * 2)
    assert np.abs(started - default).max() > 1e-3


# ----- gradients into the initial states (float64 central differences, random upstream gradients) --------


GRADIENT_CASES = {
    "simple_rnn": (lambda: SimpleRNN(3, return_sequences=True, return_state=True), 1, True),
    "simple_rnn_relu": (lambda: SimpleRNN(3, activation="relu", return_state=True, go_backwards=True), 1, False),
    "lstm_fused": (lambda: LSTM(3, return_sequences=True, return_state=True), 2, True),
    "lstm_last": (lambda: LSTM(3), 2, False),
    "lstm_general": (lambda: LSTM(3, activation="softsign", recurrent_activation="hard_sigmoid",
                                  return_state=True), 2, True),
    "gru": (lambda: GRU(3, return_sequences=True, return_state=True, go_backwards=True), 1, True),
    "gru_reset_before": (lambda: GRU(3, reset_after=False, return_state=True), 1, True),
    "bidirectional_concat": (lambda: Bidirectional(LSTM(3, return_sequences=True, return_state=True)), 4, True),
    "bidirectional_none": (lambda: Bidirectional(GRU(3, return_state=True), merge_mode=None), 2, False),
    "bidirectional_mul_no_state_outputs": (lambda: Bidirectional(SimpleRNN(3), merge_mode="mul"), 2, True),
}


@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
def test_gradients_reach_the_initial_states(name, rng):
    make, count, masked = GRADIENT_CASES[name]
    layer = make()
    x = rng.standard_normal((2, 4, 2))
    states = [rng.standard_normal((2, 3)) for _ in range(count)]
    mask = np.array([[True, True, False, True], [False, True, True, False]]) if masked else None
    layer.ensure_built(x.shape)
    layer.cast_weights(np.float64)
    for weight in layer.params.values():            # random biases too, so every path carries gradient
        weight[...] = rng.standard_normal(weight.shape) * 0.5

    def forward():
        outputs = layer.forward(x, initial_state=states, mask=mask)
        return outputs if isinstance(outputs, list) else [outputs]

    upstream = [rng.standard_normal(np.shape(o)) for o in forward()]

    def scalar():
        return sum(float(np.sum(o * g)) for o, g in zip(forward(), upstream))

    outputs = forward()
    grads = layer.backward(upstream if len(outputs) > 1 else upstream[0])
    assert isinstance(grads, list) and len(grads) == 1 + count
    assert_gradients_close(grads[0], numerical_gradient(scalar, x), f"{name} input")
    for index, state in enumerate(states):
        assert_gradients_close(grads[1 + index], numerical_gradient(scalar, state), f"{name} state {index}")
    analytic = {key: value.copy() for key, value in layer.grads.items()}
    for key, weight in layer.params.items():
        assert_gradients_close(analytic[key], numerical_gradient(scalar, weight), f"{name} {key}")


# ----- symbolic initial states: the encoder-decoder -------------------------------------------------------


def seq2seq_model():
    encoder_inputs = Input(shape=(5, 3))
    _, state_h, state_c = LSTM(4, return_state=True)(encoder_inputs)
    decoder_inputs = Input(shape=(4, 2))
    decoded = LSTM(4, return_sequences=True)(decoder_inputs, initial_state=[state_h, state_c])
    return Model([encoder_inputs, decoder_inputs], Dense(3)(decoded))


def test_an_encoder_decoder_trains_as_in_keras():
    case = REFERENCE["seq2seq"]
    model = seq2seq_model()
    model.set_weights(arrays(case["weights"]))
    xs, y = arrays(case["x"]), np.array(case["y"], np.float32)
    model.compile(optimizer=nbtrain.optimizers.SGD(0.5), loss="mse")
    history = model.fit(xs, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], case["losses"], rtol=1e-5)
    np.testing.assert_allclose(model.predict(xs, verbose=0), np.array(case["predictions"]), atol=1e-5)


def test_the_encoder_learns_through_the_decoder_states(rng):
    from gradcheck import check_model_gradients
    model = seq2seq_model()
    check_model_gradients(model, [rng.standard_normal((3, 5, 3)), rng.standard_normal((3, 4, 2))], rng)
    assert np.abs(model.layers[2].grads["kernel"]).max() > 0        # the encoder LSTM gets gradient


def test_an_encoder_decoder_saves_loads_and_nests(tmp_path, rng):
    model = seq2seq_model()
    xs = [rng.standard_normal((2, 5, 3)).astype(np.float32), rng.standard_normal((2, 4, 2)).astype(np.float32)]
    expected = model.predict(xs, verbose=0)
    model.save(tmp_path / "seq2seq.keras")
    loaded = nbtrain.models.load_model(tmp_path / "seq2seq.keras")
    np.testing.assert_allclose(loaded.predict(xs, verbose=0), expected, atol=1e-6)
    a, b = Input((5, 3)), Input((4, 2))
    nested = Model([a, b], model([a, b]))
    np.testing.assert_allclose(nested.predict(xs, verbose=0), expected, atol=1e-6)


def test_symbolic_initial_state_of_a_bidirectional_layer(rng):
    inputs, h_f, h_b = Input((4, 2)), Input((3,)), Input((3,))
    layer = Bidirectional(GRU(3, return_sequences=True))
    model = Model([inputs, h_f, h_b], layer(inputs, initial_state=[h_f, h_b]))
    x, hf, hb = (rng.standard_normal(s).astype(np.float32) for s in ((2, 4, 2), (2, 3), (2, 3)))
    np.testing.assert_allclose(model.predict([x, hf, hb], verbose=0), layer(x, initial_state=[hf, hb]), atol=1e-6)


# ----- stateful=True ---------------------------------------------------------------------------------------


def stateful_model(batch=3):
    inputs = Input(shape=(3, 2), batch_size=batch)
    layer = LSTM(4, stateful=True, return_sequences=True)
    return Model(inputs, layer(inputs)), layer


def test_a_stateful_layer_carries_its_states_as_in_keras():
    case = REFERENCE["stateful"]
    model, layer = stateful_model()
    model.set_weights(arrays(case["weights"]))
    x = np.array(case["x"], np.float32)
    np.testing.assert_allclose(model(x[:, :3]), np.array(case["first"]), atol=2e-6)
    np.testing.assert_allclose(model(x[:, 3:]), np.array(case["second"]), atol=2e-6)
    layer.reset_states()
    np.testing.assert_allclose(model(x[:, 3:]), np.array(case["after_reset"]), atol=2e-6)


def test_two_half_sequences_through_a_stateful_layer_equal_the_whole_sequence(rng):
    model, layer = stateful_model()
    whole = LSTM(4, return_sequences=True)
    x = rng.standard_normal((3, 6, 2)).astype(np.float32)
    whole.ensure_built(x.shape)
    whole.set_weights(layer.get_weights())
    expected = whole(x)
    halves = [model.predict(x[:, :3], batch_size=3, verbose=0), model.predict(x[:, 3:], batch_size=3, verbose=0)]
    np.testing.assert_allclose(np.concatenate(halves, axis=1), expected, atol=1e-6)
    np.testing.assert_allclose(layer.states[0], expected[:, -1], atol=1e-6)
    layer.reset_state()
    assert not np.any(layer.states[0]) and not np.any(layer.states[1])
    np.testing.assert_allclose(model.predict(x[:, :3], batch_size=3, verbose=0), expected[:, :3], atol=1e-6)


def test_a_stateful_sequential_model_trains_batch_after_batch(rng):
    model = Sequential([LSTM(4, stateful=True, batch_input_shape=(2, 3, 2)), Dense(1)])
    x, y = rng.standard_normal((4, 3, 2)).astype(np.float32), rng.standard_normal((4, 1)).astype(np.float32)
    model.compile("adam", "mse")
    model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0)
    lstm = model.layers[0]
    assert np.any(lstm.states[0])
    model.reset_states()
    assert not np.any(lstm.states[0])
    with pytest.raises(ValueError, match=r"stateful.*Expected batch size: 2, received batch size: 3.*batch_size=2"):
        model.predict(x[:3], batch_size=3, verbose=0)


def test_reset_state_can_set_the_states(rng):
    layer = GRU(3, stateful=True)
    x = rng.standard_normal((2, 4, 2)).astype(np.float32)
    layer(x)
    start = rng.standard_normal((2, 3)).astype(np.float32)
    layer.reset_state(start)
    expected = GRU.from_config(layer.get_config() | {"stateful": False, "name": "plain"})
    expected.ensure_built(x.shape)
    expected.set_weights(layer.get_weights())
    np.testing.assert_allclose(layer(x), expected(x, initial_state=start), atol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        layer.reset_state(np.zeros((5, 3), np.float32))
    with pytest.raises(AttributeError, match="not stateful"):
        GRU(3).reset_state()


def test_a_stateful_bidirectional_layer_carries_both_directions(rng):
    layer = Bidirectional(SimpleRNN(3, stateful=True, return_sequences=True))
    x = rng.standard_normal((2, 4, 2)).astype(np.float32)
    first = layer(x)
    assert len(layer.states) == 2 and np.any(layer.states[0]) and np.any(layer.states[1])
    assert np.abs(layer(x) - first).max() > 1e-4
    layer.reset_states()
    np.testing.assert_allclose(layer(x), first, atol=1e-6)


def test_stateful_needs_a_fixed_batch_size():
    expected = REFERENCE["stateful"]["missing_batch_error"].split(":")[0]       # Keras's wording, then ours
    with pytest.raises(ValueError, match=expected.replace("`", ".").replace("(", ".").replace(")", ".")):
        LSTM(4, stateful=True)(Input(shape=(3, 2)))
    with pytest.raises(ValueError, match="batch_size=32"):
        Sequential([Input((3, 2)), GRU(2, stateful=True)])
