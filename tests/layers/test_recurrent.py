"""Recurrent layers: Keras oracles, a plain reference implementation, masks, dropout, wrappers and gradients."""

import numpy as np
import pytest
from gradcheck import assert_gradients_close, numerical_gradient

from nbtrain.initializers import Constant
from nbtrain.layers.core import Dense
from nbtrain.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed

# ----------------------------------------------------------------------------------------------------------
# Keras test oracles (keras/src/layers/rnn/*_test.py::test_correctness)
# ----------------------------------------------------------------------------------------------------------


def constant_layer(cls, units=3, **kwargs):
    return cls(units, kernel_initializer=Constant(0.01), recurrent_initializer=Constant(0.02),
               bias_initializer=Constant(0.03), **kwargs)


@pytest.mark.parametrize("options, rows", [
    ({}, [0.6288687, 0.86899155, 0.9460773]),
    ({"unit_forget_bias": False}, [0.57019705, 0.8661914, 0.9459622]),
    ({"go_backwards": True}, [0.35622165, 0.74789524, 0.8872726]),
])
def test_lstm_matches_keras_oracle(options, rows):
    x = np.arange(72, dtype=np.float32).reshape(3, 6, 4)
    out = constant_layer(LSTM, **options)(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.repeat(np.array(rows)[:, None], 3, axis=1), rtol=1e-5)


def test_gru_matches_keras_oracle():
    x = np.arange(72, dtype=np.float32).reshape(3, 6, 4)
    out = constant_layer(GRU)(x)
    np.testing.assert_allclose(out, np.repeat(np.array([0.5217289, 0.6371659, 0.39384964])[:, None], 3, 1),
                               rtol=1e-5)


def test_simple_rnn_matches_keras_oracle():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    out = constant_layer(SimpleRNN, units=4)(x)
    np.testing.assert_allclose(out, np.repeat(np.array([0.405432, 0.73605347])[:, None], 4, 1), rtol=1e-5)


# ----------------------------------------------------------------------------------------------------------
# A plain per-step reference written straight from the step equations
# ----------------------------------------------------------------------------------------------------------


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reference(layer, x, mask=None):
    """Return (sequence of outputs in processing order, final h, final c) for SimpleRNN/LSTM/GRU."""
    weights = layer.get_weights()
    W, U = weights[0], weights[1]
    b = weights[2] if layer.use_bias else np.zeros(W.shape[1])
    batch, steps, _ = x.shape
    u = layer.units
    h, c = np.zeros((batch, u)), np.zeros((batch, u))
    outputs = []
    order = range(steps - 1, -1, -1) if layer.go_backwards else range(steps)
    for t in order:
        xt = x[:, t]
        if isinstance(layer, LSTM):
            z = xt @ W + h @ U + b
            i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
            c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h_new = sigmoid(o) * np.tanh(c_new)
        elif isinstance(layer, GRU):
            if layer.reset_after:
                bi, br = (b[0], b[1]) if layer.use_bias else (np.zeros(3 * u), np.zeros(3 * u))
                xz, hz = xt @ W + bi, h @ U + br
                z = sigmoid(xz[:, :u] + hz[:, :u])
                r = sigmoid(xz[:, u:2 * u] + hz[:, u:2 * u])
                hh = np.tanh(xz[:, 2 * u:] + r * hz[:, 2 * u:])
            else:
                xz = xt @ W + b
                z = sigmoid(xz[:, :u] + h @ U[:, :u])
                r = sigmoid(xz[:, u:2 * u] + h @ U[:, u:2 * u])
                hh = np.tanh(xz[:, 2 * u:] + (r * h) @ U[:, 2 * u:])
            h_new, c_new = z * h + (1 - z) * hh, c
        else:
            h_new, c_new = np.tanh(xt @ W + h @ U + b), c
        if mask is not None:
            real = mask[:, t][:, None]
            h_new, c_new = np.where(real, h_new, h), np.where(real, c_new, c)
        h, c = h_new, c_new
        outputs.append(h)
    return np.stack(outputs, axis=1), h, c


def random_weights(layer, rng):
    layer.set_weights([rng.normal(0, 0.5, w.shape) for w in layer.get_weights()])


LAYERS = {
    "simple_rnn": lambda **kw: SimpleRNN(3, **kw),
    "lstm": lambda **kw: LSTM(3, **kw),
    "gru": lambda **kw: GRU(3, **kw),
    "gru_reset_before": lambda **kw: GRU(3, reset_after=False, **kw),
}


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_forward_matches_reference(kind, go_backwards, masked, rng):
    x = rng.standard_normal((4, 5, 2))
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 1, 0, 1]], bool) if masked else None
    layer = LAYERS[kind](return_sequences=True, return_state=True, go_backwards=go_backwards)
    layer.build(x.shape)
    layer.cast_weights(np.float64)
    random_weights(layer, rng)
    expected_sequence, expected_h, expected_c = reference(layer, x, mask)
    outputs = layer.forward(x, mask=mask)
    np.testing.assert_allclose(outputs[0], expected_sequence, atol=1e-12)
    np.testing.assert_allclose(outputs[1], expected_h, atol=1e-12)
    if kind == "lstm":
        np.testing.assert_allclose(outputs[2], expected_c, atol=1e-12)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_right_padding_with_a_mask_equals_the_unpadded_sequence(kind, rng):
    layer = LAYERS[kind]()
    x = rng.standard_normal((1, 6, 2)).astype(np.float32)
    layer.build(x.shape)
    padded = np.concatenate([x, np.zeros((1, 3, 2), np.float32)], axis=1)
    mask = np.array([[True] * 6 + [False] * 3])
    np.testing.assert_allclose(layer.forward(padded, mask=mask), layer.forward(x), rtol=1e-6)
    # Masked steps of a returned sequence repeat the previous output (Keras's default).
    layer.return_sequences = True
    sequence = layer.forward(padded, mask=mask)
    np.testing.assert_allclose(sequence[:, 6:], np.repeat(sequence[:, 5:6], 3, axis=1))


def test_an_all_true_mask_changes_nothing(rng):
    layer = LSTM(4, return_sequences=True)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    np.testing.assert_array_equal(layer(x, mask=np.ones((3, 5), bool)), layer(x))


def test_mask_is_passed_on_only_with_return_sequences():
    mask = np.array([[True, False]])
    assert LSTM(2, return_sequences=True).compute_mask(None, mask) is mask
    assert LSTM(2).compute_mask(None, mask) is None


def test_go_backwards_returns_the_sequence_in_processing_order(rng):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    forward = GRU(2, return_sequences=True, seed=0)
    backward = GRU(2, return_sequences=True, go_backwards=True)
    forward.build(x.shape)
    backward.build(x.shape)
    backward.set_weights(forward.get_weights())
    np.testing.assert_allclose(backward(x), forward(x[:, ::-1]), rtol=1e-6)


# ----------------------------------------------------------------------------------------------------------
# Weights, shapes, configuration and errors
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer, shapes", [
    (SimpleRNN(4), [(3, 4), (4, 4), (4,)]),
    (LSTM(4), [(3, 16), (4, 16), (16,)]),
    (GRU(4), [(3, 12), (4, 12), (2, 12)]),
    (GRU(4, reset_after=False), [(3, 12), (4, 12), (12,)]),
    (LSTM(4, use_bias=False), [(3, 16), (4, 16)]),
])
def test_weights_have_keras_shapes_and_order(layer, shapes):
    layer.build((None, 7, 3))
    weights = layer.get_weights()
    assert [w.shape for w in weights] == shapes
    assert all(w.dtype == np.float32 for w in weights)
    # Weights saved by Keras (same shapes, same order) load through set_weights.
    layer.set_weights([np.full(s, 0.1) for s in shapes])
    assert all(np.all(w == np.float32(0.1)) for w in layer.get_weights())


def test_lstm_unit_forget_bias_and_orthogonal_recurrent_kernel():
    layer = LSTM(3)
    layer.build((None, 2, 5))
    _, recurrent, bias = layer.get_weights()
    np.testing.assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(3), atol=1e-5)   # orthonormal rows


@pytest.mark.parametrize("options, expected", [
    ({}, (None, 5)),
    ({"return_sequences": True}, (None, 7, 5)),
    ({"return_state": True}, [(None, 5), (None, 5), (None, 5)]),
])
def test_compute_output_shape(options, expected):
    assert LSTM(5, **options).compute_output_shape((None, 7, 3)) == expected
    gru_expected = expected[:2] if isinstance(expected, list) else expected
    assert GRU(5, **options).compute_output_shape((None, 7, 3)) == gru_expected
    assert SimpleRNN(5, **options).compute_output_shape((None, 7, 3)) == gru_expected


def test_wrapper_output_shapes():
    assert Bidirectional(LSTM(4)).compute_output_shape((None, 6, 3)) == (None, 8)
    assert Bidirectional(LSTM(4, return_sequences=True), merge_mode="sum").compute_output_shape(
        (None, 6, 3)) == (None, 6, 4)
    assert Bidirectional(GRU(4, return_state=True)).compute_output_shape((None, 6, 3)) == \
        [(None, 8), (None, 4), (None, 4)]
    assert TimeDistributed(Dense(5)).compute_output_shape((None, 6, 3)) == (None, 6, 5)


def test_return_state_returns_output_and_states(rng):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    output, h, c = LSTM(5, return_state=True)(x)
    assert output.shape == h.shape == c.shape == (2, 5)
    np.testing.assert_array_equal(output, h)
    sequence, h = GRU(5, return_sequences=True, return_state=True)(x)
    np.testing.assert_array_equal(sequence[:, -1], h)


def test_two_dimensional_input_gets_a_clear_error():
    layer = LSTM(8)
    with pytest.raises(ValueError) as error:
        layer(np.zeros((32, 10), np.float32))
    message = str(error.value)
    assert "expects inputs of shape (batch, timesteps, features) but got shape (32, 10)" in message
    assert "Reshape" in message and "x[:, None, :]" in message
    with pytest.raises(ValueError, match=r"\(batch, timesteps, features\)"):
        LSTM(8).build((None, 10))


def test_feature_mismatch_and_bad_arguments():
    layer = GRU(2)
    layer(np.zeros((1, 3, 4), np.float32))
    with pytest.raises(ValueError, match="expects 4 features"):
        layer(np.zeros((1, 3, 5), np.float32))
    with pytest.raises(ValueError, match="positive integer"):
        LSTM(0)
    with pytest.raises(ValueError, match=r"dropout to be a number in \[0, 1\)"):
        LSTM(2, dropout=1.5)
    with pytest.raises(ValueError, match=r"stateful=True.*batch size must be static.*batch_size=32"):
        LSTM(2, stateful=True).build((None, 3, 4))
    with pytest.raises(TypeError, match="Did you mean 'return_sequences'"):
        LSTM(2, return_sequence=True)
    with pytest.raises(ValueError, match="element-wise"):
        SimpleRNN(2, activation="softmax")
    with pytest.raises(ValueError, match="mask of shape"):
        layer(np.zeros((1, 3, 4), np.float32), mask=np.ones((1, 2), bool))


def test_variable_sequence_length_after_build(rng):
    layer = LSTM(3)
    layer.build((None, None, 2))
    assert layer(rng.standard_normal((2, 4, 2))).shape == (2, 3)
    assert layer(rng.standard_normal((2, 9, 2))).shape == (2, 3)


def test_get_config_round_trip():
    layer = GRU(4, activation="relu", reset_after=False, dropout=0.2, return_sequences=True, go_backwards=True)
    clone = GRU.from_config(layer.get_config())
    assert (clone.units, clone.activation.name, clone.reset_after, clone.dropout, clone.return_sequences,
            clone.go_backwards) == (4, "relu", False, 0.2, True, True)


def test_float64_weights_compute_in_float64(rng):
    layer = LSTM(3)
    layer.build((None, 4, 2))
    layer.cast_weights(np.float64)
    assert layer.forward(rng.standard_normal((2, 4, 2))).dtype == np.float64


# ----------------------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------------------


def test_dropout_is_inactive_at_inference(rng):
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    plain, dropping = LSTM(3), LSTM(3, dropout=0.5, recurrent_dropout=0.5)
    plain.build(x.shape)
    dropping.build(x.shape)
    dropping.set_weights(plain.get_weights())
    np.testing.assert_array_equal(dropping(x, training=False), plain(x))
    assert not np.array_equal(dropping(x, training=True), plain(x))


def linear_rnn(units, **kwargs):
    """h_t = x_t @ kernel + h_{t-1} @ recurrent_kernel: its outputs expose the dropout masks."""
    return SimpleRNN(units, activation=None, use_bias=False, kernel_initializer="identity",
                     recurrent_initializer="identity", return_sequences=True, **kwargs)


def test_input_dropout_mask_is_the_same_at_every_time_step():
    layer = linear_rnn(6, dropout=0.5, seed=3)
    layer.build((None, 5, 6))
    layer.set_weights([np.eye(6), np.zeros((6, 6))])       # h_t = x_t * mask
    out = layer(np.ones((8, 5, 6), np.float32), training=True)
    dropped = out == 0
    assert dropped.any() and not dropped.all()
    assert (dropped == dropped[:, :1]).all()
    np.testing.assert_allclose(out[~dropped], 2.0)           # kept inputs are scaled by 1 / (1 - 0.5)


def test_recurrent_dropout_mask_is_the_same_at_every_time_step():
    layer = linear_rnn(6, recurrent_dropout=0.5, seed=4)
    x = np.zeros((8, 5, 6), np.float32)
    x[:, 0] = 1.0                                            # h_0 = 1, then h_t = h_{t-1} * mask
    out = layer(x, training=True)
    kept = out[:, 1] != 0
    assert kept.any() and not kept.all()
    for t in range(1, 5):
        expected = np.where(kept, 2.0 ** t, 0.0)             # one mask: kept units double at every step
        np.testing.assert_allclose(out[:, t], expected)


def test_a_fixed_seed_repeats_the_masks(rng):
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    a, b = GRU(3, dropout=0.3, recurrent_dropout=0.3, seed=7), GRU(3, dropout=0.3, recurrent_dropout=0.3, seed=7)
    a.build(x.shape)
    b.build(x.shape)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a(x, training=True), b(x, training=True))


# ----------------------------------------------------------------------------------------------------------
# Wrappers
# ----------------------------------------------------------------------------------------------------------


def test_bidirectional_weights_and_merge(rng):
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    layer = Bidirectional(LSTM(4, return_sequences=True), merge_mode="concat")
    out = layer(x)
    assert layer.forward_layer.name == "forward_lstm" and layer.backward_layer.name == "backward_lstm"
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    assert [w.shape for w in layer.get_weights()] == [(3, 16), (4, 16), (16,)] * 2
    assert list(layer.params) == ["forward_kernel", "forward_recurrent_kernel", "forward_bias",
                                  "backward_kernel", "backward_recurrent_kernel", "backward_bias"]
    forward = layer.forward_layer.forward(x)
    backward = layer.backward_layer.forward(x)[:, ::-1]      # flipped back into time order
    np.testing.assert_allclose(out, np.concatenate([forward, backward], axis=-1))
    for mode, expected in (("sum", forward + backward), ("ave", (forward + backward) / 2),
                           ("mul", forward * backward)):
        layer.merge_mode = mode
        np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-6)
    layer.merge_mode = None
    both = layer.forward(x)
    np.testing.assert_allclose(both[1], backward)


def test_bidirectional_set_weights_reaches_both_directions(rng):
    layer = Bidirectional(GRU(2))
    layer.build((None, 3, 2))
    new = [rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights(new)
    np.testing.assert_allclose(layer.forward_layer.get_weights()[0], new[0].astype(np.float32))
    np.testing.assert_allclose(layer.backward_layer.get_weights()[2], new[5].astype(np.float32))


def test_bidirectional_checks_its_arguments():
    with pytest.raises(ValueError, match="merge_mode"):
        Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="recurrent layer"):
        Bidirectional(Dense(2))
    with pytest.raises(ValueError, match="different go_backwards"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2))


def test_bidirectional_outputs_zeros_at_masked_steps(rng):
    layer = Bidirectional(SimpleRNN(2, return_sequences=True))
    mask = np.array([[True, True, False]])
    out = layer(rng.standard_normal((1, 3, 2)).astype(np.float32), mask=mask)
    np.testing.assert_array_equal(out[0, 2], 0)
    assert layer.compute_mask(None, mask) is mask


def test_time_distributed_dense_equals_dense_per_step(rng):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    wrapped = TimeDistributed(Dense(5, activation="relu"))
    out = wrapped(x)
    assert out.shape == (2, 4, 5)
    kernel, bias = wrapped.get_weights()
    np.testing.assert_allclose(out, np.maximum(x @ kernel + bias, 0), rtol=1e-6)
    assert list(wrapped.params) == ["kernel", "bias"]


# ----------------------------------------------------------------------------------------------------------
# Gradient checks (float64, central differences, random upstream gradient)
# ----------------------------------------------------------------------------------------------------------

PADDED = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 1, 1, 1]], bool)    # right, left and no padding
RAGGED = np.array([[1, 0, 1, 1], [1, 1, 1, 0], [0, 0, 1, 1]], bool)    # holes anywhere

GRADIENT_CASES = {
    "simple_rnn": (lambda: SimpleRNN(3), None),
    "simple_rnn_sequences": (lambda: SimpleRNN(3, return_sequences=True), None),
    "simple_rnn_relu_backwards_masked": (lambda: SimpleRNN(3, activation="softplus", go_backwards=True,
                                                           return_sequences=True), RAGGED),
    "lstm": (lambda: LSTM(2), None),
    "lstm_sequences": (lambda: LSTM(2, return_sequences=True), None),
    "lstm_backwards": (lambda: LSTM(2, go_backwards=True, return_sequences=True), None),
    "lstm_masked": (lambda: LSTM(2), PADDED),
    "lstm_masked_sequences": (lambda: LSTM(2, return_sequences=True), RAGGED),
    "lstm_masked_backwards": (lambda: LSTM(2, go_backwards=True), PADDED),
    "lstm_no_bias": (lambda: LSTM(2, use_bias=False, return_sequences=True), None),
    "lstm_other_activations": (lambda: LSTM(2, activation="softsign", recurrent_activation="hard_sigmoid",
                                            return_sequences=True), None),
    "lstm_state": (lambda: LSTM(2, return_state=True, return_sequences=True), PADDED),
    # More features (2) than units: the input projection is one product before the loop, not part of each step's.
    "lstm_wide_input_masked": (lambda: LSTM(1, return_sequences=True), RAGGED),
    "lstm_wide_input_no_bias": (lambda: LSTM(1, use_bias=False, go_backwards=True), PADDED),
    "lstm_wide_input_other_activations": (lambda: LSTM(1, activation="softsign", recurrent_activation="hard_sigmoid",
                                                       return_sequences=True), RAGGED),
    "gru": (lambda: GRU(2), None),
    "gru_sequences_masked": (lambda: GRU(2, return_sequences=True), RAGGED),
    "gru_backwards": (lambda: GRU(2, go_backwards=True, return_sequences=True), PADDED),
    "gru_reset_before": (lambda: GRU(2, reset_after=False), None),
    "gru_reset_before_masked": (lambda: GRU(2, reset_after=False, return_sequences=True), RAGGED),
    "gru_no_bias": (lambda: GRU(2, use_bias=False, return_sequences=True), None),
    "gru_reset_before_no_bias": (lambda: GRU(2, reset_after=False, use_bias=False), None),
    "gru_elu": (lambda: GRU(2, activation="elu", return_sequences=True), None),
    "gru_state": (lambda: GRU(2, return_state=True), PADDED),
    "zero_output_for_mask": (lambda: LSTM(2, return_sequences=True, zero_output_for_mask=True), RAGGED),
    **{f"bidirectional_{mode}": (lambda mode=mode: Bidirectional(LSTM(2, return_sequences=True), merge_mode=mode),
                                 RAGGED) for mode in ("concat", "sum", "mul", "ave", None)},
    "bidirectional_last_output_gru": (lambda: Bidirectional(GRU(2)), PADDED),
    "bidirectional_state": (lambda: Bidirectional(SimpleRNN(2, return_state=True)), None),
    "time_distributed_dense": (lambda: TimeDistributed(Dense(3, activation="tanh")), None),
}


def contract(outputs, upstream):
    if isinstance(outputs, list):
        return float(sum(np.sum(o * g) for o, g in zip(outputs, upstream)))
    return float(np.sum(outputs * upstream))


def check_gradients(layer, x, rng, mask=None, training=False, reset_noise=None):
    layer.ensure_built(x.shape)
    layer.cast_weights(np.float64)
    # Weights away from zero so every path carries gradient.
    layer.set_weights([rng.normal(0, 0.6, w.shape) for w in layer.get_weights()])
    kwargs = {"training": training} | ({} if mask is None else {"mask": mask})

    def run():
        if reset_noise:
            reset_noise()
        return layer.forward(x, **kwargs)

    outputs = run()
    upstream = [rng.standard_normal(o.shape) for o in outputs] if isinstance(outputs, list) else \
        rng.standard_normal(outputs.shape)
    run()
    grad_x = layer.backward(upstream)
    analytic = {name: layer.grads[name].copy() for name in layer.params}
    assert set(analytic) == set(layer.params)

    def scalar():
        return contract(run(), upstream)

    assert_gradients_close(grad_x, numerical_gradient(scalar, x), f"{layer.name} input")
    for name, weight in layer.params.items():
        assert_gradients_close(analytic[name], numerical_gradient(scalar, weight), f"{layer.name} {name}")


@pytest.mark.parametrize("case", list(GRADIENT_CASES))
def test_gradients(case, rng):
    factory, mask = GRADIENT_CASES[case]
    check_gradients(factory(), rng.standard_normal((3, 4, 2)), rng, mask=mask)


@pytest.mark.parametrize("steps", [1, 7, 8, 9, 17])
@pytest.mark.parametrize("masked", [False, True])
def test_lstm_gradients_across_the_backward_pass_chunks(steps, masked, rng):
    # LSTM's backward pass stores its gate gradients in chunks of _GATE_CHUNK (8) steps: sequences shorter, equal,
    # one longer and two chunks and one step long, with and without masked steps.
    from nbtrain.layers.recurrent import _GATE_CHUNK

    assert _GATE_CHUNK == 8
    mask = None
    if masked:
        mask = np.ones((2, steps), bool)
        mask[0, steps // 2:] = False                 # one sequence ends early
    check_gradients(LSTM(2, return_sequences=True), rng.standard_normal((2, steps, 3)), rng, mask=mask)


def test_gradients_with_a_none_state_gradient(rng):
    layer = LSTM(2, return_state=True)
    x = rng.standard_normal((2, 3, 2))
    layer.build(x.shape)
    layer.cast_weights(np.float64)
    output, h, c = layer.forward(x)
    g = rng.standard_normal(c.shape)
    grad_x = layer.backward([None, None, g])
    numeric = numerical_gradient(lambda: float(np.sum(layer.forward(x)[2] * g)), x)
    assert_gradients_close(grad_x, numeric, "lstm input via c only")


@pytest.mark.parametrize("factory", [
    lambda: LSTM(2, dropout=0.4, recurrent_dropout=0.4, seed=5, return_sequences=True),
    lambda: LSTM(1, dropout=0.4, recurrent_dropout=0.4, seed=5, return_sequences=True),
    lambda: GRU(2, dropout=0.4, recurrent_dropout=0.4, seed=5),
    lambda: GRU(2, reset_after=False, dropout=0.4, recurrent_dropout=0.4, seed=5, return_sequences=True),
    lambda: SimpleRNN(3, dropout=0.4, recurrent_dropout=0.4, seed=5, return_sequences=True),
], ids=["lstm", "lstm_wide_input", "gru", "gru_reset_before", "simple_rnn"])
@pytest.mark.parametrize("training", [False, True])
def test_gradients_with_dropout(factory, training, rng):
    layer = factory()

    def same_masks():
        layer._rng = np.random.default_rng(5)

    check_gradients(layer, rng.standard_normal((3, 4, 2)), rng, mask=RAGGED, training=training,
                    reset_noise=same_masks)


def test_frozen_layer_still_passes_input_gradient(rng):
    layer = LSTM(2)
    x = rng.standard_normal((2, 3, 2))
    layer.build(x.shape)
    layer.cast_weights(np.float64)
    layer.trainable = False
    g = rng.standard_normal((2, 2))
    layer.forward(x)
    grad_x = layer.backward(g)
    assert layer.grads == {} and layer.params == {}
    assert_gradients_close(grad_x, numerical_gradient(lambda: float(np.sum(layer.forward(x) * g)), x), "frozen")
    layer.input_gradient_needed = False
    assert layer.backward(g) is None


def test_overlapping_calls_keep_their_own_arrays(rng):
    """A call whose backward is still pending keeps its arrays; a later call (shared layer) gets others."""
    layer = LSTM(3, return_sequences=True)
    layer.build((None, 5, 4))
    first_x, second_x = rng.standard_normal((2, 2, 5, 4)).astype(np.float32)
    grad = rng.standard_normal((2, 5, 3)).astype(np.float32)
    first_out, first_backprop = layer._apply(first_x, True, True)
    second_out, second_backprop = layer._apply(second_x, True, True)
    first_dx = first_backprop(grad)
    first_grads = {name: value.copy() for name, value in layer.grads.items()}
    del first_backprop, second_backprop
    again_out, again_backprop = layer._apply(first_x, True, True)
    np.testing.assert_array_equal(again_out, first_out)
    np.testing.assert_array_equal(again_backprop(grad), first_dx)
    for name, value in layer.grads.items():
        np.testing.assert_array_equal(value, first_grads[name])
    np.testing.assert_array_equal(layer._apply(second_x, True, True)[0], second_out)


@pytest.mark.parametrize("factory", [lambda: LSTM(1, return_sequences=True), lambda: GRU(1, return_sequences=True),
                                     lambda: SimpleRNN(1, return_sequences=True, return_state=True)])
def test_outputs_are_not_views_of_reused_arrays(factory, rng):
    """A one-sample batch of one unit once returned a view of the states, which the next call overwrote."""
    layer = factory()
    first = layer(rng.standard_normal((1, 5, 2)).astype(np.float32))
    kept = [np.array(output) for output in first] if isinstance(first, list) else np.array(first)
    for _ in range(3):                                       # the first call's arrays are lent out again
        layer(rng.standard_normal((1, 5, 2)).astype(np.float32))
    for output, copy in zip(first, kept) if isinstance(first, list) else [(first, kept)]:
        np.testing.assert_array_equal(output, copy)


def test_a_finished_call_lends_its_arrays_to_the_next(rng):
    from nbtrain.layers.recurrent import _Workspace

    layer = LSTM(3)
    layer.build((None, 5, 4))
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)
    _, backprop = layer._apply(x, True, False)
    backprop(np.ones((2, 3), np.float32))
    kept = dict(_Workspace._by_layer[layer]._arrays)
    del backprop
    layer._apply(x, True, False)[1](np.ones((2, 3), np.float32))
    assert kept and all(_Workspace._by_layer[layer]._arrays[name] is array for name, array in kept.items())


def test_kept_step_views_follow_the_arrays_when_the_shapes_change(rng):
    """The backward pass keeps its per-step views with the lent arrays; new shapes bring new arrays and views."""
    layer = LSTM(3, return_sequences=True)
    layer.build((None, None, 4))
    for batch, steps in [(2, 9), (3, 5), (2, 9), (2, 17)]:  # 9, 9 again, 17: the chunk of 8 steps wraps
        fresh = LSTM.from_config(layer.get_config())         # a layer with no kept arrays
        fresh.build((None, None, 4))
        fresh.set_weights(layer.get_weights())
        x = rng.standard_normal((batch, steps, 4)).astype(np.float32)
        grad = rng.standard_normal((batch, steps, 3)).astype(np.float32)
        np.testing.assert_array_equal(layer._apply(x, True, True)[1](grad), fresh._apply(x, True, True)[1](grad))
        for name, value in layer.grads.items():
            np.testing.assert_array_equal(value, fresh.grads[name])


def test_kept_views_do_not_keep_replaced_arrays_alive(rng):
    """A call with other shapes (a prediction after training) replaces the lent arrays; no view holds the old."""
    import weakref

    from nbtrain.layers.recurrent import _Workspace

    layer = LSTM(3)
    layer.build((None, None, 4))
    layer._apply(rng.standard_normal((2, 9, 4)).astype(np.float32), True, False)[1](np.ones((2, 3), np.float32))
    old_gates = weakref.ref(_Workspace._by_layer[layer]._arrays["gates"])
    layer._apply(rng.standard_normal((5, 6, 4)).astype(np.float32), False, False)  # forward only, new shapes
    assert old_gates() is None


# ----------------------------------------------------------------------------------------------------------
# In a model
# ----------------------------------------------------------------------------------------------------------


def test_issue_example_trains_in_a_sequential_model(rng):
    from nbtrain.models import Sequential

    model = Sequential([LSTM(16, return_sequences=True, input_shape=(4, 8)), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x = rng.standard_normal((100, 4, 8)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, (100, 4))]
    history = model.fit(x, y, epochs=8, batch_size=20, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    assert model.predict(x, verbose=0).shape == (100, 4, 10)


def test_bidirectional_and_time_distributed_train_in_a_sequential_model(rng):
    from nbtrain.models import Sequential

    from nbtrain.optimizers import Adam

    model = Sequential([Bidirectional(GRU(6, return_sequences=True), input_shape=(5, 3)),
                        TimeDistributed(Dense(1))])
    model.compile(optimizer=Adam(learning_rate=0.02), loss="mse")
    x = rng.standard_normal((64, 5, 3)).astype(np.float32)
    y = np.cumsum(x[..., :1], axis=1)
    losses = model.fit(x, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert len(model.get_weights()) == 8


def test_functional_model_with_states_and_masks(rng):
    from nbtrain.layers import Input
    from nbtrain.layers.embedding import Embedding
    from nbtrain.models import Model
    from nbtrain.optimizers import Adam

    tokens = Input(shape=(6,))
    sequence, h, c = LSTM(8, return_sequences=True, return_state=True)(Embedding(12, 4, mask_zero=True)(tokens))
    assert (sequence.shape, h.shape, c.shape) == ((None, 6, 8), (None, 8), (None, 8))
    summary = Bidirectional(GRU(4))(sequence)
    model = Model(tokens, [Dense(1)(h), Dense(1)(summary)])
    model.compile(optimizer=Adam(learning_rate=0.01), loss="mse")
    ids = rng.integers(1, 12, (64, 6))
    ids[:32, 4:] = 0
    targets = [(ids == 3).sum(axis=1, keepdims=True).astype(np.float32), (ids[:, :1] / 12).astype(np.float32)]
    losses = model.fit(ids, targets, epochs=10, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0]


def test_regularizers_and_constraints_reach_every_weight():
    from nbtrain.regularizers import L2

    layer = LSTM(2, kernel_regularizer=L2(0.1), recurrent_regularizer="l1", bias_constraint="non_neg")
    layer.build((None, 3, 2))
    kernel = layer.get_weights()[0]
    assert len(layer.losses) == 2
    np.testing.assert_allclose(layer.losses[0], 0.1 * np.sum(kernel.astype(np.float64) ** 2), rtol=1e-5)
    config = layer.get_config()
    assert config["kernel_regularizer"]["class_name"] == "L2" and config["bias_constraint"] is not None

    wrapped = Bidirectional(GRU(2, kernel_regularizer="l2", kernel_constraint="non_neg"))
    wrapped.build((None, 3, 2))
    assert len(wrapped.losses) == 2                          # one per direction
    wrapped.set_weights([-np.ones_like(w) for w in wrapped.get_weights()])
    wrapped.apply_constraints()
    assert (wrapped.forward_layer.get_weights()[0] == 0).all() and (wrapped.backward_layer.get_weights()[0] == 0).all()
    assert (wrapped.forward_layer.get_weights()[1] == -1).all()

    distributed = TimeDistributed(Dense(2, kernel_regularizer="l2"))
    distributed.build((None, 3, 2))
    assert len(distributed.losses) == 1


def test_sequential_model_explains_flat_input():
    from nbtrain.models import Sequential

    model = Sequential([LSTM(4, input_shape=(5, 3)), Dense(1)])
    with pytest.raises(ValueError, match=r"x.reshape\(-1, 5, 3\)"):
        model.predict(np.zeros((10, 15), np.float32), verbose=0)


def test_time_distributed_from_config_rebuilds_the_inner_layer():
    from nbtrain.layers import Dense, TimeDistributed
    layer = TimeDistributed(Dense(3, activation="tanh"))
    clone = TimeDistributed.from_config(layer.get_config())
    assert isinstance(clone.layer, Dense) and clone.layer.units == 3 and clone.layer.activation.name == "tanh"
    assert clone(np.zeros((2, 5, 4), np.float32)).shape == (2, 5, 3)


def test_time_distributed_refuses_a_mask_of_another_shape():
    from nbtrain.layers import Dense, TimeDistributed
    layer = TimeDistributed(Dense(3))
    with pytest.raises(ValueError, match=r"mask of shape \(2, 4\) for inputs of shape \(2, 5, 4\).*shape \(2, 5\)"):
        layer(np.zeros((2, 5, 4), np.float32), mask=np.ones((2, 4), bool))


@pytest.mark.parametrize("make", [lambda: LSTM(3), lambda: GRU(3), lambda: SimpleRNN(3),
                                  lambda: Bidirectional(LSTM(3))])
def test_initial_state_of_the_wrong_number_or_shape_is_refused(make):
    from nbtrain.layers import Input
    x = np.zeros((2, 4, 5), np.float32)
    with pytest.raises(ValueError, match="initial state"):
        make()(x, initial_state=[np.ones((2, 3), np.float32)] * 3)
    with pytest.raises(ValueError, match="initial state"):
        make()(Input((4, 5)), initial_state=[Input((2,))] * 4)
    with pytest.raises(TypeError, match="must be symbolic tensors too"):
        make()(Input((4, 5)), initial_state=[np.ones((2, 3), np.float32)])


def test_the_second_positional_argument_of_a_recurrent_layer_is_initial_state_as_in_keras():
    layer = LSTM(3)
    x = np.zeros((2, 4, 5), np.float32)
    assert layer(x, None, np.ones((2, 4), bool)).shape == (2, 3)      # (sequences, initial_state, mask)
