"""The bad-data matrix (issue 12): NaN, inf, empty data, strings, objects, complex and datetime arrays and
wrong-shape weights are caught where they enter fit, evaluate, predict and train_on_batch, with an error that
names the argument and the fix, and the model's weights are left as they were."""

import numpy as np
import pytest

from nbtrain.layers import Dense, Input
from nbtrain.models import Sequential


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
