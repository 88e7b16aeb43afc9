"""Tests for nbtrain.metrics.base: Mean, Sum, MeanMetricWrapper, and what every metric shares (call, reset,
directions, configs, reprs, argument checks).
"""

from __future__ import annotations

import numpy as np
import pytest
from metric_data import ONE_HOT, PROBS, assert_same_result

from nbtrain import metrics


def test_mean_accumulates_weighted_values():
    m = metrics.Mean()
    m.update_state([1, 3, 5, 7])
    assert m.result() == pytest.approx(4.0)
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == pytest.approx(20 / 6)


def test_sum():
    m = metrics.Sum()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == 4.0


def test_mean_with_scalar_weight_is_one_weighted_value_per_call():
    # the training loop's loss tracker: update_state(batch_mean, sample_weight=batch_size)
    m = metrics.Mean(name="loss")
    m.update_state(2.0, sample_weight=3)
    m.update_state(4.0, sample_weight=1)
    assert m.result() == pytest.approx(2.5)


def test_call_is_update_then_result():
    m = metrics.BinaryAccuracy()
    assert m([[1], [0]], [[0.9], [0.9]]) == 0.5
    assert m([[1], [0]], [[0.9], [0.1]]) == 0.75  # accumulates across calls
    assert m.result() == 0.75


def test_empty_metrics_report_zero():
    assert metrics.Mean().result() == 0.0
    assert metrics.Precision().result() == 0.0
    assert metrics.AUC().result() == 0.0
    assert metrics.R2Score().result() == 0.0


def test_trailing_one_is_reconciled():
    assert metrics.MeanSquaredError()([1.0, 2.0], [[1.0], [4.0]]) == pytest.approx(2.0)
    assert metrics.BinaryAccuracy()([1, 0], [[0.9], [0.2]]) == 1.0
    assert metrics.Precision()([[1], [0]], [0.9, 0.7]) == 0.5


def test_mean_metric_wrapper_weights_per_timestep():
    # values (batch, time) with weights (batch, time): Keras averages both over time per sample
    m = metrics.MeanMetricWrapper(lambda t, p: np.abs(np.subtract(t, p)), name="err")
    m.update_state(np.zeros((2, 3)), [[1, 2, 3], [4, 5, 6]], sample_weight=[[1, 1, 0], [0, 0, 2]])
    assert m.result() == pytest.approx((1 + 2 + 12) / 3 / ((2 + 2) / 3))


@pytest.mark.parametrize(
    "metric, direction",
    [
        (metrics.BinaryAccuracy(), "up"),
        (metrics.SparseTopKCategoricalAccuracy(), "up"),
        (metrics.AUC(), "up"),
        (metrics.Precision(), "up"),
        (metrics.F1Score(), "up"),
        (metrics.R2Score(), "up"),
        (metrics.CosineSimilarity(), "up"),
        (metrics.MeanSquaredError(), "down"),
        (metrics.RootMeanSquaredError(), "down"),
        (metrics.LogCoshError(), "down"),
        (metrics.CategoricalCrossentropy(), "down"),
        (metrics.KLDivergence(), "down"),
        (metrics.SquaredHinge(), "down"),
        (metrics.TruePositives(), None),
        (metrics.FalseNegatives(), None),
        (metrics.Mean(), None),
    ],
)
def test_direction(metric, direction):
    assert metric.direction == direction


@pytest.mark.parametrize(
    "metric",
    [
        metrics.BinaryAccuracy(threshold=0.7, name="acc_70"),
        metrics.TopKCategoricalAccuracy(k=3),
        metrics.Precision(thresholds=[0.3, 0.6], class_id=1),
        metrics.AUC(curve="PR", num_thresholds=50, from_logits=True),
        metrics.AUC(thresholds=[0.2, 0.5]),
        metrics.F1Score(average="macro", threshold=0.4),
        metrics.FBetaScore(beta=0.5),
        metrics.R2Score(class_aggregation=None, num_regressors=1),
        metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
        metrics.MeanMetricWrapper(metrics.mean_squared_error, name="wrapped"),
    ],
)
def test_config_round_trip(metric):
    rebuilt = metrics.deserialize(metrics.serialize(metric))
    assert type(rebuilt) is type(metric)
    assert rebuilt.get_config() == metric.get_config()
    assert metrics.get(metrics.serialize(metric)).get_config() == metric.get_config()
    assert_same_result(rebuilt(ONE_HOT, PROBS), metric(ONE_HOT, PROBS))


def test_repr_is_short_and_shows_non_defaults():
    assert repr(metrics.BinaryAccuracy()) == "BinaryAccuracy(name='binary_accuracy')"
    assert repr(metrics.AUC(curve="PR")) == "AUC(name='auc', curve='PR')"
    assert repr(metrics.resolve("acc", (8, 1), (8, 1))) == "BinaryAccuracy(name='acc')"


def test_invalid_arguments_are_explained():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        metrics.BinaryAccuracy(threshold=1.5)
    with pytest.raises(ValueError, match="average"):
        metrics.F1Score(average="mcro")
    with pytest.raises(ValueError, match=r"Did you mean 'PR'"):
        metrics.AUC(curve="PRR")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 2.0])
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)


# ----- Keras's way: state made with add_variable after super().__init__() (issue 15) --------------------------

class BinaryTruePositives(metrics.Metric):
    """The custom metric of Keras's guide, as written there (with NumPy for the arithmetic)."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = np.logical_and(np.asarray(y_true).astype(bool), np.asarray(y_pred) > 0.5).astype(self.dtype)
        if sample_weight is not None:
            values = values * np.asarray(sample_weight, self.dtype)
        self.true_positives.assign(self.true_positives + np.sum(values))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0)


def test_a_metric_written_the_keras_way_accumulates_and_resets():
    metric = BinaryTruePositives()
    metric.update_state([0, 1, 1, 1], [0, 1, 0, 1])
    metric.update_state([1, 1], [1, 1], sample_weight=[0.5, 1.0])
    assert float(metric.result()) == 3.5
    assert [v.name for v in metric.variables] == ["true_positives"]
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_a_metric_written_the_keras_way_trains_in_compile_and_fit():
    from nbtrain.layers import Dense, Input
    from nbtrain.models import Sequential
    rng = np.random.default_rng(0)
    x = rng.random((64, 3))
    y = (x[:, :1] > 0.5).astype("float32")
    model = Sequential([Input((3,)), Dense(1, activation="sigmoid", kernel_initializer="ones")])
    model.compile("adam", "binary_crossentropy", metrics=[BinaryTruePositives()])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    predicted = model.predict(x, verbose=0) > 0.5
    _, true_positives = model.evaluate(x, y, verbose=0)
    assert true_positives == float(np.logical_and(y > 0.5, predicted).sum())
    assert len(history.history["binary_true_positives"]) == 2


def test_add_variable_takes_initializers_and_numbers():
    metric = BinaryTruePositives()
    ones = metric.add_variable(shape=(2, 3), initializer="ones", name="ones")
    sevens = metric.add_weight(name="sevens", shape=(2,), initializer=7.0)
    np.testing.assert_array_equal(ones, np.ones((2, 3)))
    np.testing.assert_array_equal(sevens, [7.0, 7.0])
    sevens.assign_sub(1.0)
    sevens.assign_add([1.0, 2.0])
    np.testing.assert_array_equal(sevens.numpy(), [7.0, 8.0])
    assert type(sevens + 1) is np.ndarray          # arithmetic gives plain arrays
    assert [v.name for v in metric.variables] == ["true_positives", "ones", "sevens"]
