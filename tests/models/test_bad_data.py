"""The bad-data matrix (issue 12): NaN, inf, empty data, strings, objects, complex and datetime arrays and
wrong-shape weights are caught where they enter fit, evaluate, predict and train_on_batch, with an error that
names the argument and the fix, and the model's weights are left as they were."""

import io
import tracemalloc
import warnings

import numpy as np
import pytest

from nbtrain.callbacks import Callback, TerminateOnNaN
from nbtrain.data.arrays import FINITE_CHECK_BLOCK_BYTES, check_finite
from nbtrain.layers import Dense, Input, SimpleRNN
from nbtrain.losses import Loss
from nbtrain.models import Sequential
from nbtrain.models.training import _all_finite
from nbtrain.optimizers import SGD
from nbtrain.utils import PyDataset


def model(loss="mse", outputs=1, activation=None):
    m = Sequential([Input(shape=(4,)), Dense(8, activation="relu"), Dense(outputs, activation=activation)])
    m.compile(optimizer="adam", loss=loss)
    return m


def data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    return x, y


def with_value(array, value, at=(3, 0)):
    bad = array.copy()
    bad[at] = value
    return bad


def weights_of(m):
    return [w.copy() for w in m.get_weights()]


def assert_unchanged(m, before):
    for old, new in zip(before, m.get_weights()):
        np.testing.assert_array_equal(old, new)


def generator(x, y, sample_weight=None, batch_size=32):
    for start in range(0, len(x), batch_size):
        part = slice(start, start + batch_size)
        yield (x[part], y[part]) if sample_weight is None else (x[part], y[part], sample_weight[part])


# ----- NaN and inf --------------------------------------------------------------------------------------------

NOT_FINITE = [pytest.param(np.nan, "1 NaN, 0 inf", id="nan"), pytest.param(np.inf, "0 NaN, 1 inf", id="inf"),
              pytest.param(-np.inf, "0 NaN, 1 inf", id="-inf")]


@pytest.mark.parametrize("value, counts", NOT_FINITE)
@pytest.mark.parametrize("where", ["x", "y", "sample_weight", "validation x", "validation y",
                                   "validation sample_weight"])
def test_fit_refuses_non_finite_arrays_and_keeps_the_weights(where, value, counts):
    m = model()
    x, y = data()
    sw = np.ones(len(x), np.float32)
    x_val, y_val = data(32, seed=1)
    sw_val = np.ones(len(x_val), np.float32)
    arrays = {"x": x, "y": y, "sample_weight": sw, "validation x": x_val, "validation y": y_val,
              "validation sample_weight": sw_val}
    arrays[where] = with_value(arrays[where], value, at=(3,) if arrays[where].ndim == 1 else (3, 0))
    before = weights_of(m)
    with pytest.raises(ValueError, match=rf"^{where} holds 1 NaN or infinite value \({counts}\) of \d+, first at "
                                         rf"(\(3, 0\) \(row, column\)|row 3)\. Replace or drop them before training: "
                                         rf"np\.nan_to_num\({where.split()[-1]}\).*df\.dropna\(\).*SimpleImputer"):
        m.fit(arrays["x"], arrays["y"], sample_weight=arrays["sample_weight"], epochs=1, verbose=0,
              validation_data=(arrays["validation x"], arrays["validation y"], arrays["validation sample_weight"]))
    assert_unchanged(m, before)


def test_the_message_counts_every_bad_value_and_shows_the_first_five():
    x, y = data(20_000)
    x[[5, 7, 19_000], 1] = np.nan
    x[[8, 9, 10, 11], 3] = np.inf
    with pytest.raises(ValueError, match=r"x holds 7 NaN or infinite values \(3 NaN, 4 inf\) of 80000, first at "
                                         r"\(5, 1\), \(7, 1\), \(8, 3\), \(9, 3\), \(10, 3\) \(row, column\)\."):
        model().fit(x, y, verbose=0)


@pytest.mark.parametrize("call", ["evaluate", "predict", "train_on_batch", "test_on_batch", "predict_on_batch"])
def test_every_entry_point_checks_x(call):
    m = model()
    x, y = data()
    args = (with_value(x, np.nan),) if call.startswith("predict") else (with_value(x, np.nan), y)
    with pytest.raises(ValueError, match=r"^x holds 1 NaN"):
        getattr(m, call)(*args, **({} if call.endswith("on_batch") else {"verbose": 0}))


def test_validation_split_checks_the_part_it_splits_off():
    x, y = data()
    with pytest.raises(ValueError, match=r"^y holds 1 NaN or infinite value .* first at \(90, 0\)"):
        model().fit(x, with_value(y, np.nan, at=(90, 0)), validation_split=0.2, verbose=0)


def test_float64_values_too_large_for_float32_are_reported_as_inf():
    x, y = data()
    with pytest.raises(ValueError, match=r"^x holds 1 NaN or infinite value \(0 NaN, 1 inf\)"):
        model().fit(with_value(x.astype(np.float64), 1e300), y, verbose=0)


@pytest.mark.parametrize("where", ["x", "y", "sample_weight"])
def test_a_generator_is_checked_batch_by_batch_before_the_bad_batch_trains(where):
    m = model()
    x, y = data()
    sw = np.ones(len(x), np.float32)
    arrays = {"x": x, "y": y, "sample_weight": sw}
    arrays[where] = with_value(arrays[where], np.nan, at=(70,) if where == "sample_weight" else (70, 0))
    with pytest.raises(ValueError, match=rf"^x batch 3 \(counting from 1\): {where} holds 1 NaN .* first at "
                                         rf"(\(6, 0\) \(row, column\)|row 6)"):
        m.fit(generator(arrays["x"], arrays["y"], arrays["sample_weight"]), epochs=1, verbose=0)


def test_a_validation_generator_is_checked_too():
    x, y = data()
    x_val, y_val = data(64, seed=1)
    with pytest.raises(ValueError, match=r"^validation_data batch 1 \(counting from 1\): y holds 1 NaN"):
        model().fit(x, y, validation_data=generator(x_val, with_value(y_val, np.nan)), verbose=0)


def test_predict_on_a_generator_checks_its_batches():
    x, _ = data()
    with pytest.raises(ValueError, match=r"^x batch 1 \(counting from 1\): x holds 1 NaN"):
        model().predict((batch,) for batch in [with_value(x, np.nan)])


# ----- a NaN loss never reaches the weights ------------------------------------------------------------------

class WeightsAfterEachBatch(Callback):
    """Keeps a copy of the weights after every batch that trained, in ``last``."""

    last = None

    def on_train_batch_end(self, batch, logs=None):
        self.last = [w.copy() for w in self.model.get_weights()]


def exploding_model():
    # A huge learning rate on large inputs makes the loss overflow within a few batches (as in
    # tests/callbacks/test_terminate_on_nan.py).
    m = Sequential([Input(shape=(3,)), Dense(1)])
    m.compile(optimizer=SGD(learning_rate=1e6), loss="mse")
    return m


def exploding_data(n=16):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32) * 100
    return x, (x @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_loss_that_overflows_stops_fit_with_the_weights_of_the_last_good_batch():
    m = exploding_model()
    recorder = WeightsAfterEachBatch()
    with pytest.raises(FloatingPointError, match=r"^Training stopped at epoch 1, batch (\d+) \(counting from 1\): "
                                                 r"the loss was (nan|inf)\. This batch did not change the weights.*"
                                                 r"learning rate too high.*the data.*a loss that does not fit"):
        m.fit(*exploding_data(), batch_size=2, epochs=50, verbose=0, callbacks=[recorder])
    assert all(np.isfinite(w).all() for w in m.get_weights())
    assert_unchanged(m, recorder.last)
    assert m.fit_outcome.reason == "error"


class NaNAfter(Loss):
    """MSE whose value turns NaN from the third call on, or whose gradient does (``in_gradient``)."""

    def __init__(self, in_gradient=False):
        super().__init__(name="nan_after")
        self.in_gradient, self.calls = in_gradient, 0

    def call(self, y_true, y_pred):
        self.calls += 1
        value = np.mean((y_pred - y_true) ** 2, axis=-1)
        return value * np.nan if self.calls > 2 and not self.in_gradient else value

    def call_gradient(self, y_true, y_pred, upstream):
        gradient = upstream[..., None] * 2 * (y_pred - y_true) / y_pred.shape[-1]
        return gradient * np.nan if self.calls > 2 and self.in_gradient else gradient


@pytest.mark.parametrize("in_gradient, found", [(False, "the loss was nan"),
                                                (True, r"the loss was [\d.e+-]+ but a gradient was NaN or inf")])
def test_the_third_batch_with_a_nan_loss_or_gradient_is_named_and_not_applied(in_gradient, found):
    x, y = data(8)
    m = Sequential([Input(shape=(4,)), Dense(1)])
    m.compile(optimizer="sgd", loss=NaNAfter(in_gradient))
    recorder = WeightsAfterEachBatch()
    with pytest.raises(FloatingPointError,
                       match=rf"^Training stopped at epoch 1, batch 3 \(counting from 1\): {found}\."):
        m.fit(x, y, batch_size=2, epochs=3, verbose=0, shuffle=False, callbacks=[recorder])
    assert_unchanged(m, recorder.last)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_the_gradient_check_finds_one_nan_or_inf_anywhere(dtype, bad):
    rng = np.random.default_rng(0)
    for size in (1, 7, 1000, 100_003):
        for position in (0, size // 2, size - 1):
            gradient = rng.standard_normal(size).astype(dtype)
            gradient[position] = bad
            assert not _all_finite([np.ones(3, dtype), gradient]), (size, position)
            assert not _all_finite([np.ones(3, dtype), np.stack([gradient, gradient], axis=1)[:, 1]])  # strided


def test_the_gradient_check_passes_large_finite_values_quietly():
    # Their squares overflow the one-pass dot product: max and min decide then, without a warning.
    gradient = np.full((30, 40), 3e30, np.float32)
    gradient[5, 5] = -3.4e38
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _all_finite([gradient, gradient.T, gradient[:, ::2], np.zeros(0, np.float32), np.float64(2.0)])
        assert _all_finite([np.full(5, 60000, np.float16)])


def test_the_second_epoch_is_named_too():
    x, y = data(4)
    m = Sequential([Input(shape=(4,)), Dense(1)])
    m.compile(optimizer="sgd", loss=NaNAfter())
    with pytest.raises(FloatingPointError, match=r"at epoch 2, batch 1 \(counting from 1\)"):
        m.fit(x, y, batch_size=2, epochs=3, verbose=0)
    assert len(m.history.epoch) == 1


def test_train_on_batch_refuses_a_nan_loss_and_keeps_the_weights():
    x, y = data(2)
    m = Sequential([Input(shape=(4,)), Dense(1)])
    m.compile(optimizer="sgd", loss=NaNAfter())
    m.train_on_batch(x, y)
    m.train_on_batch(x, y)
    before = weights_of(m)
    with pytest.raises(FloatingPointError, match=r"^Training stopped at this train_on_batch call: the loss was nan"):
        m.train_on_batch(x, y)
    assert_unchanged(m, before)


def test_with_terminate_on_nan_the_callback_decides_as_in_keras():
    x, y = data(8)
    m = Sequential([Input(shape=(4,)), Dense(1)])
    m.compile(optimizer="sgd", loss=NaNAfter())
    history = m.fit(x, y, batch_size=2, epochs=3, verbose=0, callbacks=[TerminateOnNaN(out=io.StringIO())])
    assert m.stop_reason == "stopped" and len(history.epoch) == 1


# ----- empty data ------------------------------------------------------------------------------------------------

def test_fit_on_zero_samples_names_the_shapes():
    with pytest.raises(ValueError, match=r"^x has 0 samples \(x shape \(0, 4\), y shape \(0, 1\)\): there is "
                                         r"nothing to compute on\. Check the step that loaded or filtered"):
        model().fit(np.zeros((0, 4), np.float32), np.zeros((0, 1), np.float32), verbose=0)


def test_evaluate_on_zero_samples_is_an_error_not_an_empty_list():
    with pytest.raises(ValueError, match=r"^x has 0 samples \(x shape \(0, 4\), y shape \(0, 1\)\)"):
        model().evaluate(np.zeros((0, 4)), np.zeros((0, 1)), verbose=0)


def test_empty_validation_data_is_an_error_not_missing_val_logs():
    x, y = data()
    with pytest.raises(ValueError, match=r"^validation x has 0 samples \(validation x shape \(0, 4\), validation y "
                                         r"shape \(0, 1\)\)\: .*Pass at least one validation sample, or leave "
                                         r"validation_data out\."):
        model().fit(x, y, validation_data=(x[:0], y[:0]), verbose=0)


def test_predict_on_zero_samples_still_returns_an_empty_array():
    assert model().predict(np.zeros((0, 4), np.float32), verbose=0).shape == (0, 1)


NO_BATCHES = r"yielded no batches, so there is nothing to {}\. An empty generator, list or PyDataset"


class NoBatches(PyDataset):
    def __len__(self):
        return 0

    def __getitem__(self, index):
        raise IndexError(index)


@pytest.mark.parametrize("empty", [lambda: (b for b in []), NoBatches], ids=["generator", "PyDataset"])
def test_evaluate_on_a_source_with_no_batches_is_an_error_not_an_empty_list(empty):
    with pytest.raises(ValueError, match="^x " + NO_BATCHES.format("evaluate")):
        model().evaluate(empty(), verbose=0)


def test_fit_on_a_generator_with_no_batches_is_an_error_not_an_empty_history():
    with pytest.raises(ValueError, match="^x " + NO_BATCHES.format("train on")):
        model().fit((b for b in []), epochs=3, verbose=0)


def test_a_validation_generator_with_no_batches_is_an_error_not_missing_val_logs():
    x, y = data()
    with pytest.raises(ValueError, match="^validation_data " + NO_BATCHES.format("validate on")):
        model().fit(x, y, validation_data=(b for b in []), epochs=2, verbose=0)


def test_a_one_shot_validation_generator_that_runs_dry_stops_fit_and_says_so():
    x, y = data()
    m = model()
    one_pass = ((x[:32], y[:32]) for _ in range(1))
    with pytest.warns(UserWarning, match=r"validation_data is an exhausted generator: .* \(it served 1 before\), "
                                         r"so training stops here\. .*pass validation_steps"):
        history = m.fit(x, y, validation_data=one_pass, epochs=4, verbose=0)
    assert len(history.history["loss"]) == 2 and len(history.history["val_loss"]) == 1
    assert m.fit_outcome.reason == "stopped"
    assert m.fit_outcome.detail == "the validation data ran out in epoch 2 (the generator yields no more batches)"


# ----- strings, objects, complex, dates --------------------------------------------------------------------------

def test_string_labels_name_y_the_first_value_and_np_unique():
    x, _ = data(4)
    with pytest.raises(TypeError, match=r"^y holds text, not numbers \(dtype <U3\), first at 0: 'cat'\. "
                                        r".*np\.unique\(labels, return_inverse=True\)"):
        model().fit(x, np.array(["cat", "dog", "cat", "dog"]), verbose=0)


def test_strings_in_an_object_array_of_inputs_are_found():
    x, y = data(4)
    mixed = x.astype(object)
    mixed[2, 1] = "n/a"
    with pytest.raises(TypeError, match=r"^x holds text, not numbers \(dtype object\), first at \(2, 1\): 'n/a'"):
        model().fit(mixed, y, verbose=0)


def test_an_object_array_of_numbers_says_how_to_convert_it():
    x, _ = data(4)
    with pytest.raises(TypeError, match=r"x has dtype object but holds only numbers; .*np\.asarray\(x, "
                                        r"dtype='float32'\)"):
        model().predict(x.astype(object), verbose=0)


def test_ragged_objects_name_the_first_odd_value():
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = [1.0, 2.0], [3.0]
    with pytest.raises(TypeError, match=r"^x could not be turned into a numeric array .* at 0, is list \[1\.0, 2\.0\]"):
        model().predict(ragged, verbose=0)


@pytest.mark.parametrize("array, match", [
    (np.ones((4, 4), np.complex64), r"^x holds complex numbers \(dtype complex64\).*np\.abs"),
    (np.array(["2024-01-01"] * 16, "datetime64[D]").reshape(4, 4), (r"^x holds dates or times \(dtype "
                                                                    r"datetime64\[D\]\).*np\.timedelta64")),
    (np.ones((4, 4), "timedelta64[s]"), r"^x holds dates or times"),
])
def test_complex_and_datetime_inputs_are_refused(array, match):
    _, y = data(4)
    with pytest.raises(TypeError, match=match):
        model().fit(array, y, verbose=0)


# ----- sample_weight and shuffle ------------------------------------------------------------------------------

def test_sample_weight_with_two_columns_is_refused():
    x, y = data()
    with pytest.raises(ValueError, match=r"^sample_weight must hold one weight per sample, shape \(96,\), but has "
                                         r"shape \(96, 2\)\..*class_weight"):
        model().fit(x, y, sample_weight=np.ones((96, 2)), verbose=0)


def test_sample_weight_of_one_column_and_per_step_weights_are_accepted():
    x, y = data()
    model().fit(x, y, sample_weight=np.ones((96, 1)), verbose=0)
    m = Sequential([Input(shape=(5, 4)), SimpleRNN(3, return_sequences=True), Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    m.fit(np.zeros((8, 5, 4), np.float32), np.zeros((8, 5, 1), np.float32), sample_weight=np.ones((8, 5)), verbose=0)


def test_string_sample_weights_are_refused():
    x, y = data(4)
    with pytest.raises(TypeError, match=r"^sample_weight holds text"):
        model().fit(x, y, sample_weight=np.array(["1", "1", "1", "1"]), verbose=0)


@pytest.mark.parametrize("shuffle", ["yes", "True", 1, None, "epoch"])
def test_shuffle_must_be_a_bool_or_batch(shuffle):
    x, y = data()
    with pytest.raises(ValueError, match=r"^shuffle must be True, False or \"batch\" .*got " + repr(shuffle)):
        model().fit(x, y, shuffle=shuffle, verbose=0)


@pytest.mark.parametrize("shuffle", [True, False, "batch", np.bool_(True)])
def test_the_valid_shuffles_still_work(shuffle):
    x, y = data()
    model().fit(x, y, shuffle=shuffle, verbose=0)


# ----- binary crossentropy labels --------------------------------------------------------------------------------

@pytest.mark.parametrize("labels, match", [
    ([-1, 1], r"the targets hold -1 and 1; these look like -1/\+1 labels: use \(y \+ 1\) / 2"),
    ([0, 1, 2], (r"the targets hold 0, 1 and 2; these look like class indices of 3 classes: use "
                 r"loss='sparse_categorical_crossentropy' with a last layer Dense\(3, activation='softmax'\)")),
    ([0.5, 3.7], r"the targets hold 0.5 and 3.7; rescale the targets into \[0, 1\]"),
])
def test_binary_crossentropy_labels_outside_0_1_are_explained(labels, match):
    x, _ = data(30)
    y = np.resize(np.array(labels, np.float32), 30)[:, None]
    with pytest.raises(ValueError, match=r"^binary_crossentropy needs labels in \[0, 1\] \(the probability of "
                                         r"class 1\), but " + match):
        model("binary_crossentropy", activation="sigmoid").fit(x, y, verbose=0)


def test_binary_crossentropy_with_0_1_and_soft_labels_trains():
    x, y = data()
    model("binary_crossentropy", activation="sigmoid").fit(x, y * 0.9 + 0.05, verbose=0)


def test_a_generator_with_minus_one_labels_is_caught_on_its_first_batch():
    x, y = data()
    with pytest.raises(ValueError, match=r"needs labels in \[0, 1\].*-1 and 1"):
        model("binary_crossentropy", activation="sigmoid").fit(generator(x, 2 * y - 1), verbose=0)


# ----- the same matrix through generators ------------------------------------------------------------------------

@pytest.mark.parametrize("bad, error, match", [
    (lambda x: x.astype(np.complex64), TypeError, r"holds complex numbers"),
    (lambda x: np.full(x.shape, "a"), TypeError, r"holds text, not numbers"),
    (lambda x: x.astype("datetime64[s]"), TypeError, r"holds dates or times"),
])
def test_a_generator_batch_of_the_wrong_dtype_is_named(bad, error, match):
    x, y = data()
    with pytest.raises(error, match=r"^x batch 1 \(counting from 1\): x " + match):
        model().fit(generator(bad(x), y), verbose=0)


def test_a_generator_with_two_weight_columns_is_named():
    x, y = data()
    with pytest.raises(ValueError, match=r"^x batch 1 \(counting from 1\): sample_weight must hold one weight per "
                                         r"sample, shape \(32,\), but has shape \(32, 2\)"):
        model().fit(generator(x, y, np.ones((96, 2))), verbose=0)


@pytest.mark.parametrize("shuffle", ["yes", 0])
def test_shuffle_is_checked_for_generators_too(shuffle):
    x, y = data()
    with pytest.raises(ValueError, match=r"^shuffle must be True, False or \"batch\""):
        model().fit(generator(x, y), shuffle=shuffle, verbose=0)


def test_the_finite_check_reads_in_blocks_without_a_big_temporary():
    x = np.ones((100_000, 100), np.float32)   # 40 MB
    tracemalloc.start()
    try:
        check_finite(x, "x")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < FINITE_CHECK_BLOCK_BYTES   # the booleans of one block (1 MB), not of the array (10 MB)


# ----- pandas DataFrames (as read from a CSV) ----------------------------------------------------------------------

def frame(n=96):
    pd = pytest.importorskip("pandas")
    x, y = data(n)
    return pd.DataFrame(x, columns=["age", "height", "weight", "price"]), pd.Series(y[:, 0], name="label")


def test_a_dataframe_with_one_missing_value_is_refused_and_the_weights_kept():
    df, labels = frame()
    df.iloc[3, 2] = np.nan
    m = model()
    before = weights_of(m)
    with pytest.raises(ValueError, match=r"^x holds 1 NaN or infinite value \(1 NaN, 0 inf\) of 384, first at "
                                         r"\(3, 2\) \(row, column\)\. .*df\.dropna\(\)"):
        m.fit(df, labels, verbose=0)
    assert_unchanged(m, before)
    m.fit(df.dropna(), labels[df.notna().all(axis=1)], verbose=0)    # the fix in the message works
    assert all(np.isfinite(w).all() for w in m.get_weights())


def test_a_text_column_is_named_by_its_column_name():
    df, labels = frame(4)
    df["weight"] = ["light", "heavy", "light", "heavy"]
    with pytest.raises(TypeError, match=r"^x holds text, not numbers \(dtype object\), first at row 0, column "
                                        r"'weight': 'light'\. .*np\.unique"):
        model().fit(df, labels, verbose=0)


def test_none_and_pd_na_in_an_object_column_are_reported_as_missing_values():
    pd = pytest.importorskip("pandas")
    df, labels = frame(4)
    df["price"] = pd.array([1, None, 3, 4], dtype="Int64")
    with pytest.raises(TypeError, match=r"^x has missing values \(None, NaN or pd\.NA .*\), first at row 1, column "
                                        r"'price'\. .*df\.fillna\(0\)"):
        model().fit(df, labels, verbose=0)
    with pytest.raises(TypeError, match=r"^y has missing values .* first at 2\."):
        model().fit(frame(4)[0], pd.Series([0.0, 1.0, None, 1.0], dtype=object), verbose=0)


def test_a_timestamp_column_gets_the_dates_message():
    pd = pytest.importorskip("pandas")
    df, labels = frame(4)
    df["age"] = pd.Timestamp("2024-01-01")
    with pytest.raises(TypeError, match=r"^x holds dates or times \(Timestamp .* at row 0, column 'age'\); "
                                        r"a model needs numbers\. .*\.dt\.days"):
        model().fit(df, labels, verbose=0)


def test_an_empty_dataframe_after_filtering_names_the_shapes():
    df, labels = frame()
    kept = df["age"] > 100     # no row passes
    with pytest.raises(ValueError, match=r"^x has 0 samples \(x shape \(0, 4\), y shape \(0,\)\)"):
        model().fit(df[kept], labels[kept], verbose=0)


def test_float64_dataframes_predict_batch_by_batch_with_the_same_numbers():
    df, labels = frame()
    m = model()
    np.testing.assert_array_equal(m.predict(df, verbose=0), m.predict(df.to_numpy(np.float32), verbose=0))
    assert m.evaluate(df, labels, verbose=0) == m.evaluate(df.to_numpy(np.float32), labels.to_numpy(np.float32),
                                                            verbose=0)
