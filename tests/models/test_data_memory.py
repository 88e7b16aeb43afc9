"""Memory of data that is not float32 (issue 12): fit casts once and shares the copy with validation_split;
evaluate and predict cast batch by batch, so float64 or a non-contiguous view costs a few batches.

Peaks are NumPy's allocations as traced by tracemalloc: deterministic, whatever else the machine does."""

import tracemalloc

import numpy as np
import pytest

from nbtrain.layers import Dense, Input
from nbtrain.models import Sequential

SAMPLES, FEATURES, BATCH = 20_000, 50, 128
COPY = SAMPLES * FEATURES * 4            # bytes of one float32 copy of x (4 MB)


def small_model(features=FEATURES):
    model = Sequential([Input((features,)), Dense(4, activation="relu"), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.fixture(scope="module")
def data64():
    rng = np.random.default_rng(0)
    return rng.standard_normal((SAMPLES, FEATURES)), rng.standard_normal((SAMPLES, 1))


def peak_during(call) -> int:
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


@pytest.mark.parametrize("split", [0.0, 0.25])
def test_fit_on_float64_holds_one_float32_copy_shared_with_validation_split(data64, split):
    x, y = data64
    model = small_model()
    peak = peak_during(lambda: model.fit(x, y, validation_split=split, epochs=1, batch_size=BATCH, verbose=0))
    assert COPY <= peak < 1.2 * COPY     # one copy of x (and the small y), never a second one for validation


def test_evaluate_on_float64_casts_batch_by_batch(data64):
    x, y = data64
    model = small_model()
    assert peak_during(lambda: model.evaluate(x, y, batch_size=BATCH, verbose=0)) < COPY / 10


@pytest.mark.parametrize("view", ["float64", "int64", "strided float32"])
def test_predict_costs_its_result_and_a_few_batches_whatever_the_dtype(data64, view):
    x = {"float64": data64[0], "int64": np.rint(data64[0]).astype(np.int64),
         "strided float32": np.repeat(data64[0].astype(np.float32), 2, axis=1)[:, ::2]}[view]
    model = small_model()
    result_bytes = SAMPLES * 4
    assert peak_during(lambda: model.predict(x, batch_size=BATCH, verbose=0)) < result_bytes + COPY / 10


def test_batch_by_batch_casting_gives_the_same_numbers_as_casting_first(data64):
    x, y = data64
    model = small_model()
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x32, verbose=0))
    assert model.evaluate(x, y, verbose=0) == model.evaluate(x32, y32, verbose=0)
    noncontiguous = np.asfortranarray(x)
    np.testing.assert_array_equal(model.predict(noncontiguous, verbose=0), model.predict(x32, verbose=0))


@pytest.mark.parametrize("call", ["predict", "evaluate"])
def test_float64_values_too_large_for_float32_are_refused_before_any_batch(data64, call):
    x, y = data64
    bad = x.copy()
    bad[5, 7] = -1e300
    model = small_model()
    run = (lambda: model.predict(bad, verbose=0)) if call == "predict" else (lambda: model.evaluate(bad, y, verbose=0))
    with pytest.raises(ValueError, match=r"^x holds 1 NaN or infinite value \(0 NaN, 0 inf, 1 too large for "
                                         r"float32\) of 1000000, first at \(5, 7\)"):
        run()


def test_integer_labels_are_cast_per_batch_for_evaluate():
    rng = np.random.default_rng(1)
    x, labels = rng.standard_normal((300, 3)), rng.integers(0, 3, 300)
    model = Sequential([Input((3,)), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(x, labels, batch_size=64, verbose=0)
    loss32, accuracy32 = model.evaluate(x.astype(np.float32), labels.astype(np.float32), batch_size=64, verbose=0)
    assert (loss, accuracy) == (loss32, accuracy32)
