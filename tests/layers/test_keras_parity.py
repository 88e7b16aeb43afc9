"""Parity with real Keras 3: the same architectures with the same weights give the same predictions.

The reference predictions (and, for the ``train_*`` cases, the weights after ``train_on_batch``) were made
once with Keras 3 by ``tests/fixtures/make_keras_reference.py`` and committed as
``tests/fixtures/keras_reference.npz``; ``keras_reference.json`` describes every case. Keras is not needed
to run these tests. Each case below builds the architecture the generator built in Keras, loads the stored
weights with ``set_weights`` (Keras' ``get_weights`` order) and compares.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nbtrain
from nbtrain.layers import (GRU, LSTM, AveragePooling2D, BatchNormalization, Bidirectional, Concatenate, Conv1D,
                            Conv2D, Conv2DTranspose, Dense, Embedding, Flatten, GlobalAveragePooling2D, Input,
                            LayerNormalization, MaxPooling2D, SimpleRNN, TimeDistributed, UpSampling2D,
                            ZeroPadding2D)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REFERENCE = np.load(FIXTURES / "keras_reference.npz")
META = json.loads((FIXTURES / "keras_reference.json").read_text())

RTOL = 1e-5
ATOL = 1e-5


def ref(case, key):
    return REFERENCE[f"{case}/{key}"]


def ref_weights(case, prefix=""):
    ws, i = [], 0
    while f"{case}/{prefix}w{i}" in REFERENCE:
        ws.append(REFERENCE[f"{case}/{prefix}w{i}"])
        i += 1
    return ws


def assert_close(actual, expected, what, rtol=RTOL, atol=ATOL):
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, Keras {expected.shape}"
    err = np.abs(actual.astype("float64") - expected.astype("float64"))
    worst = float(err.max()) if err.size else 0.0
    bad = err > atol + rtol * np.abs(expected)
    assert not bad.any(), (
        f"{what}: max abs error {worst:.3g} vs Keras ({int(bad.sum())}/{bad.size} elements beyond "
        f"atol={atol:g} + rtol={rtol:g}*|keras|); first bad index {tuple(int(i) for i in np.argwhere(bad)[0])}"
    )
    return worst


# ----- the nbtrain twins of the generator's Keras models -------------------------------------------------


def seq(shape, *layers, dtype=None):
    return nbtrain.Sequential([Input(shape=shape, dtype=dtype)] + list(layers))


BUILDERS = {
    "dense_relu_softmax": lambda: seq((7,), Dense(8, activation="relu"), Dense(6, activation="relu"),
                                      Dense(4, activation="softmax")),
    "conv2d_valid_strides2": lambda: seq((9, 9, 3), Conv2D(4, 3, strides=2, padding="valid", activation="relu")),
    "conv2d_same_strides2": lambda: seq((8, 7, 3), Conv2D(4, 3, strides=2, padding="same")),
    "conv2d_same_even_kernel": lambda: seq((6, 6, 2), Conv2D(3, (3, 2), strides=(1, 2), padding="same")),
    "conv2d_dilation_valid": lambda: seq((9, 9, 2), Conv2D(4, 3, dilation_rate=2, padding="valid")),
    "conv2d_dilation_same": lambda: seq((8, 9, 2), Conv2D(4, 3, dilation_rate=(2, 3), padding="same",
                                                          activation="tanh")),
    "conv1d_same": lambda: seq((10, 3), Conv1D(4, 3, padding="same")),
    "conv1d_causal": lambda: seq((10, 3), Conv1D(4, 3, padding="causal", dilation_rate=2)),
    "conv1d_same_strides2": lambda: seq((9, 3), Conv1D(4, 4, strides=2, padding="same")),
    "conv2d_transpose_same": lambda: seq((4, 5, 2), Conv2DTranspose(3, 3, strides=2, padding="same")),
    "conv2d_transpose_valid": lambda: seq((4, 5, 2), Conv2DTranspose(3, 3, strides=2, padding="valid")),
    "conv2d_transpose_same_even_kernel": lambda: seq((3, 3, 2), Conv2DTranspose(3, 4, strides=2, padding="same")),
    "maxpool2d_same": lambda: seq((7, 8, 3), MaxPooling2D(3, strides=2, padding="same")),
    "avgpool2d_same": lambda: seq((7, 8, 3), AveragePooling2D(3, strides=2, padding="same")),
    "pool2d_valid": lambda: seq((9, 8, 3), MaxPooling2D(2), AveragePooling2D(2)),
    "global_avgpool2d": lambda: seq((6, 5, 2), Conv2D(4, 3), GlobalAveragePooling2D()),
    "batchnorm_inference": lambda: seq((5,), BatchNormalization()),
    "batchnorm_conv_inference": lambda: seq((5, 5, 2), Conv2D(3, 2), BatchNormalization()),
    "layernorm": lambda: seq((3, 6), LayerNormalization()),
    "embedding_lstm_return_sequences": lambda: seq((7,), Embedding(12, 5), LSTM(6, return_sequences=True),
                                                   dtype="int32"),
    "lstm_last": lambda: seq((6, 4), LSTM(5)),
    "lstm_go_backwards": lambda: seq((6, 4), LSTM(5, go_backwards=True, return_sequences=True)),
    "gru_reset_after": lambda: seq((6, 4), GRU(5, reset_after=True, return_sequences=True)),
    "gru_reset_before": lambda: seq((6, 4), GRU(5, reset_after=False)),
    "simple_rnn": lambda: seq((6, 4), SimpleRNN(5, return_sequences=True)),
    "bidirectional_lstm_concat": lambda: seq((5, 3), Bidirectional(LSTM(4, return_sequences=True),
                                                                   merge_mode="concat")),
    "bidirectional_lstm_sum": lambda: seq((5, 3), Bidirectional(LSTM(4), merge_mode="sum")),
    "time_distributed_dense": lambda: seq((4, 5), TimeDistributed(Dense(3, activation="relu"))),
    "masked_embedding_lstm": lambda: seq((7,), Embedding(10, 4, mask_zero=True), LSTM(5), dtype="int32"),
    "masked_embedding_lstm_sequences": lambda: seq((7,), Embedding(10, 4, mask_zero=True),
                                                   LSTM(5, return_sequences=True), dtype="int32"),
    "masked_bidirectional_gru": lambda: seq((7,), Embedding(10, 4, mask_zero=True),
                                            Bidirectional(GRU(3, return_sequences=True)),
                                            TimeDistributed(Dense(2)), dtype="int32"),
    "zeropad_upsample": lambda: seq((3, 4, 2), ZeroPadding2D(((1, 2), (0, 1))), UpSampling2D((2, 3))),
    "small_cnn": lambda: seq((6, 6, 1), Conv2D(4, 3, padding="same", activation="relu"), MaxPooling2D(),
                             BatchNormalization(), Flatten(), Dense(3, activation="softmax")),
}

ACTIVATIONS = ["gelu", "selu", "elu", "softplus", "swish", "hard_sigmoid", "leaky_relu", "tanh", "sigmoid"]
for _act in ACTIVATIONS:
    BUILDERS[f"activation_{_act}"] = lambda _act=_act: seq((6,), Dense(10, activation=_act))


def _functional_branches():
    inp = Input(shape=(6,))
    h = Dense(5, activation="elu")(inp)
    a = Dense(4)(h)
    b = Dense(4, activation="tanh")(h)
    out = Dense(3, activation="softmax")(Concatenate()([a, b]))
    return nbtrain.Model(inp, out)


BUILDERS["functional_branches"] = _functional_branches

TRAINING = {
    "train_sgd_categorical_crossentropy": (
        lambda: seq((4,), Dense(5, activation="tanh"), Dense(3, activation="softmax")),
        lambda: nbtrain.optimizers.SGD(0.1), "categorical_crossentropy", 1),
    "train_adam_mse": (
        lambda: seq((3,), Dense(6, activation="relu"), Dense(2)),
        lambda: nbtrain.optimizers.Adam(0.01), "mse", 3),
    "train_sgd_batchnorm": (
        lambda: seq((5,), Dense(4), BatchNormalization(momentum=0.9), Dense(3, activation="softmax")),
        lambda: nbtrain.optimizers.SGD(0.1), "categorical_crossentropy", 2),
}

# Cases where nbtrain is known to disagree with Keras: case name -> diagnosis (strict xfail).
KNOWN_DISAGREEMENTS: dict[str, str] = {}


def _params(names):
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DISAGREEMENTS[n]))
            if n in KNOWN_DISAGREEMENTS else n for n in names]


def test_fixture_covers_every_case():
    stored = set(META["cases"])
    tested = set(BUILDERS) | set(TRAINING) | {"bn_training_call"}
    assert stored == tested, f"only in fixture: {sorted(stored - tested)}; only in test: {sorted(tested - stored)}"
    assert META["keras"].startswith("3.")


@pytest.mark.parametrize("case", _params(sorted(BUILDERS)))
def test_prediction_matches_keras(case):
    model = BUILDERS[case]()
    weights = ref_weights(case)
    assert [w.shape for w in model.get_weights()] == [w.shape for w in weights], \
        f"{case}: nbtrain weight shapes differ from Keras' ({META['cases'][case]['weights']})"
    model.set_weights(weights)
    y = model.predict(ref(case, "x"), verbose=0)
    assert y.dtype == np.float32
    assert_close(y, ref(case, "y"), f"{case} predict")


@pytest.mark.parametrize("case", _params(sorted(TRAINING)))
def test_train_on_batch_matches_keras(case):
    build, optimizer, loss, steps = TRAINING[case]
    model = build()
    model.set_weights(ref_weights(case))
    model.compile(optimizer=optimizer(), loss=loss)
    x, t = ref(case, "x"), ref(case, "t")
    assert_close(model.predict(x, verbose=0), ref(case, "y"), f"{case} predict before training")
    for step in range(1, steps + 1):
        got_loss = model.train_on_batch(x, t)
        assert_close(got_loss, ref(case, f"loss{step}"), f"{case} loss of step {step}")
        expected = ref_weights(case, f"after{step}/")
        names = [w["path"] for w in META["cases"][case]["weights"]]
        for name, got, want in zip(names, model.get_weights(), expected, strict=True):
            assert_close(got, want, f"{case} step {step} weight {name}")


@pytest.mark.parametrize("case", _params(["bn_training_call"]))
def test_batchnorm_training_call_matches_keras(case):
    bn = BatchNormalization(momentum=0.8, epsilon=1e-3)
    x = ref(case, "x")
    bn.build((None, x.shape[1]))
    bn.set_weights(ref_weights(case))
    y = bn(x, training=True)
    assert_close(y, ref(case, "y"), f"{case} output (batch statistics)")
    names = ["gamma", "beta", "moving_mean", "moving_variance"]
    for name, got, want in zip(names, bn.get_weights(), ref_weights(case, "after1/"), strict=True):
        assert_close(got, want, f"{case} {name} after the call")
