"""Tests for nbtrain.metrics.registry: resolution by shapes (section 3), names, and functions and losses as
metrics.
"""

from __future__ import annotations

import numpy as np
import pytest
from metric_data import LABEL_IDS, PROBS

from nbtrain import metrics


@pytest.mark.parametrize(
    "y_true_shape, y_pred_shape, expected",
    [
        ((8, 1), (8, 1), metrics.BinaryAccuracy),
        ((8,), (8, 1), metrics.BinaryAccuracy),
        ((8, 3), (8, 3), metrics.CategoricalAccuracy),
        ((8,), (8, 3), metrics.SparseCategoricalAccuracy),
        ((8, 1), (8, 3), metrics.SparseCategoricalAccuracy),
        ((8, 5, 1), (8, 5, 3), metrics.SparseCategoricalAccuracy),
        ((8, 5), (8, 5, 3), metrics.SparseCategoricalAccuracy),
        ((8,), (8,), metrics.BinaryAccuracy),
    ],
)
@pytest.mark.parametrize("name", ["accuracy", "acc", "Accuracy", "ACC"])
def test_accuracy_resolves_by_shapes(y_true_shape, y_pred_shape, expected, name):
    metric = metrics.resolve(name, y_true_shape, y_pred_shape)
    assert type(metric) is expected
    assert metric.name == name


def test_resolved_names_are_as_passed():
    assert metrics.resolve("mse", (8, 1), (8, 1)).name == "mse"
    assert type(metrics.resolve("mse", (8, 1), (8, 1))) is metrics.MeanSquaredError
    assert metrics.resolve("MAE", (8, 1), (8, 1)).name == "MAE"
    assert metrics.resolve("auc", (8, 1), (8, 1)).name == "auc"
    assert metrics.resolve("binary_accuracy", (8, 1), (8, 1)).name == "binary_accuracy"
    auc = metrics.AUC(name="my_auc")
    assert metrics.resolve(auc, (8, 1), (8, 1)) is auc
    assert metrics.resolve(metrics.AUC, (8, 1), (8, 1)).name == "auc"
    from_function = metrics.resolve(metrics.mean_absolute_error, (8, 1), (8, 1))
    assert type(from_function) is metrics.MeanAbsoluteError and from_function.name == "mean_absolute_error"
    assert metrics.resolve(metrics.mae, (8, 1), (8, 1)).name == "mean_absolute_error"


@pytest.mark.parametrize(
    "name, cls",
    [
        ("mse", metrics.MeanSquaredError),
        ("MSE", metrics.MeanSquaredError),
        ("mean_squared_error", metrics.MeanSquaredError),
        ("MeanSquaredError", metrics.MeanSquaredError),
        ("mae", metrics.MeanAbsoluteError),
        ("mape", metrics.MeanAbsolutePercentageError),
        ("msle", metrics.MeanSquaredLogarithmicError),
        ("bce", metrics.BinaryCrossentropy),
        ("acc", metrics.Accuracy),
        ("accuracy", metrics.Accuracy),
        ("cosine_proximity", metrics.CosineSimilarity),
        ("cosine_similarity", metrics.CosineSimilarity),
        ("auc", metrics.AUC),
        ("AUC", metrics.AUC),
        ("precision", metrics.Precision),
        ("recall", metrics.Recall),
        ("f1_score", metrics.F1Score),
        ("fbeta_score", metrics.FBetaScore),
        ("r2_score", metrics.R2Score),
        ("root_mean_squared_error", metrics.RootMeanSquaredError),
        ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
        ("sparse_top_k_categorical_accuracy", metrics.SparseTopKCategoricalAccuracy),
        ("logcosh", metrics.LogCoshError),
        ("kl_divergence", metrics.KLDivergence),
        ("true_positives", metrics.TruePositives),
        ("categorical_hinge", metrics.CategoricalHinge),
    ],
)
def test_get_strings(name, cls):
    metric = metrics.get(name)
    assert type(metric) is cls
    metrics.validate(name)


def test_get_other_identifiers():
    assert metrics.get(None) is None
    instance = metrics.Recall()
    assert metrics.get(instance) is instance
    assert type(metrics.get(metrics.Recall)) is metrics.Recall
    assert metrics.get("AUC").name == "auc"  # a class name keeps the default name
    assert type(metrics.get(metrics.binary_accuracy)) is metrics.BinaryAccuracy
    from_config = metrics.get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.3}})
    assert type(from_config) is metrics.BinaryAccuracy and from_config.get_config()["threshold"] == 0.3
    with pytest.raises(TypeError, match="Could not interpret metric identifier"):
        metrics.get(42)


def test_unknown_names_suggest_the_nearest():
    with pytest.raises(ValueError, match=r"Unknown metric: 'acuracy'\. Did you mean 'accuracy'\?"):
        metrics.validate("acuracy")
    with pytest.raises(ValueError, match=r"Did you mean 'precision'\?"):
        metrics.resolve("precison", (8, 1), (8, 1))
    with pytest.raises(ValueError, match=r"Did you mean 'mean_squared_error'\?"):
        metrics.get("mean_squared_eror")
    with pytest.raises(ValueError, match="Known metrics: 'acc', 'accuracy', 'auc'"):
        metrics.get("nothing_like_it")


@pytest.mark.parametrize("name", ["crossentropy", "ce", "CE"])
def test_crossentropy_shortcut_is_loss_only(name):
    with pytest.raises(ValueError, match="not a metric"):
        metrics.validate(name)
    with pytest.raises(ValueError, match="'sparse_categorical_crossentropy'"):
        metrics.resolve(name, (8,), (8, 10))
    with pytest.raises(ValueError, match="'binary_crossentropy'"):
        metrics.resolve(name, (8, 1), (8, 1))


def test_unique_names_follow_keras():
    names = ["acc", "mse", "auc", "precision", "auc"]
    names += ["binary_accuracy", "binary_accuracy", "mean_absolute_error"]
    assert metrics.unique_names(names) == [
        "acc",
        "mse",
        "auc",
        "precision",
        "auc_1",
        "binary_accuracy",
        "binary_accuracy_1",
        "mean_absolute_error",
    ]
    assert metrics.unique_names(["x", "x", "x"]) == ["x", "x_1", "x_2"]
    assert metrics.unique_names(["x_1", "x", "x"]) == ["x_1", "x", "x_2"]


def test_keras_example_resolves_to_the_logged_keys():
    y_true_shape, y_pred_shape = (8, 1), (8, 1)
    identifiers = [
        "acc",
        "mse",
        metrics.AUC(),
        metrics.Precision(),
        metrics.AUC(),
        metrics.BinaryAccuracy(),
        "binary_accuracy",
        metrics.mean_absolute_error,
    ]
    for identifier in identifiers:
        metrics.validate(identifier)
    resolved = [metrics.resolve(i, y_true_shape, y_pred_shape) for i in identifiers]
    keys = metrics.unique_names([m.name for m in resolved])
    assert sorted(keys + ["loss"]) == [
        "acc",
        "auc",
        "auc_1",
        "binary_accuracy",
        "binary_accuracy_1",
        "loss",
        "mean_absolute_error",
        "mse",
        "precision",
    ]


def max_abs_error(y_true, y_pred):
    return np.max(np.abs(np.subtract(y_true, y_pred)), axis=-1)


def test_function_as_metric():
    metrics.validate(max_abs_error)
    metric = metrics.resolve(max_abs_error, (2, 2), (2, 2))
    assert isinstance(metric, metrics.MeanMetricWrapper)
    assert metric.name == "max_abs_error"
    assert metric.direction is None
    assert metric([[0, 1], [0, 0]], [[1, 1], [0, 0.5]]) == pytest.approx(0.75)
    metric.reset_state()
    assert metric([[0, 1], [0, 0]], [[1, 1], [0, 0.5]], sample_weight=[0, 2]) == pytest.approx(0.5)


def test_scalar_function_as_metric_counts_one_value_per_batch():
    def batch_max(y_true, y_pred):
        return np.max(y_pred)

    metric = metrics.resolve(batch_max, (2, 1), (2, 1))
    metric.update_state([[0], [0]], [[1.0], [3.0]])
    metric.update_state([[0]], [[1.0]])
    assert metric.result() == pytest.approx(2.0)
    metric.reset_state()
    metric.update_state([[0], [0]], [[1.0], [3.0]], sample_weight=[1, 1])
    assert metric.result() == pytest.approx(3.0)


def _losses_module():
    """nbtrain.losses, or None while it does not exist (then the loss-as-metric tests are skipped)."""
    try:
        from nbtrain import losses

        return losses
    except ImportError:  # pragma: no cover - only while losses.py is being written
        return None


def test_loss_object_as_metric():
    losses = _losses_module()
    if losses is None:  # pragma: no cover
        pytest.skip("nbtrain.losses is not available")
    y_true = np.array([[1, 0, 1], [1, 0, 0]], dtype=float)
    y_pred = np.array([[0.9, 0.2, 0.2], [0.8, 0.4, 0.6]])
    loss = losses.Huber()
    metrics.validate(loss)
    metric = metrics.resolve(loss, y_true.shape, y_pred.shape)
    assert isinstance(metric, metrics.MeanMetricWrapper)
    assert metric.name == loss.name
    assert metric.direction == "down"
    assert metric(y_true, y_pred) == pytest.approx(0.104167, abs=1e-5)
    metric.reset_state()
    assert metric(y_true, y_pred, sample_weight=[1.2, 3.4]) == pytest.approx(
        (0.115 * 1.2 + 0.093333 * 3.4) / 4.6, abs=1e-5
    )


def test_loss_string_that_is_no_metric_name_becomes_a_loss_metric():
    losses = _losses_module()
    if losses is None:  # pragma: no cover
        pytest.skip("nbtrain.losses is not available")
    metrics.validate("huber")
    metric = metrics.resolve("huber", (2, 3), (2, 3))
    assert metric.name == "huber"
    assert metric.direction == "down"
    y_true = [[1, 0, 1], [1, 0, 0]]
    y_pred = [[0.9, 0.2, 0.2], [0.8, 0.4, 0.6]]
    assert metric(y_true, y_pred) == pytest.approx(0.104167, abs=1e-5)


def test_sparse_loss_object_as_metric_matches_the_metric_class():
    losses = _losses_module()
    if losses is None:  # pragma: no cover
        pytest.skip("nbtrain.losses is not available")
    metric = metrics.resolve(losses.SparseCategoricalCrossentropy(), LABEL_IDS.shape, PROBS.shape)
    expected = metrics.SparseCategoricalCrossentropy()(LABEL_IDS, PROBS)
    assert metric(LABEL_IDS, PROBS.astype(np.float32)) == pytest.approx(expected, rel=1e-5)


def test_custom_loss_subclass_as_metric():
    losses = _losses_module()
    if losses is None:  # pragma: no cover
        pytest.skip("nbtrain.losses is not available")

    class MeanFourthPower(losses.Loss):
        def call(self, y_true, y_pred):
            return np.mean((y_pred - y_true) ** 4, axis=-1)

    metric = metrics.resolve(MeanFourthPower(), (2, 2), (2, 2))
    assert metric.name == "mean_fourth_power"
    assert metric([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 2.0]]) == pytest.approx((0.5 + 8.0) / 2)


def test_loss_function_as_metric():
    losses = _losses_module()
    if losses is None:  # pragma: no cover
        pytest.skip("nbtrain.losses is not available")
    metric = metrics.resolve(losses.mean_squared_error, (2, 2), (2, 2))
    assert type(metric) is metrics.MeanSquaredError and metric.name == "mean_squared_error"
    huber = metrics.resolve(losses.huber, (2, 3), (2, 3))
    assert huber.name == "huber" and huber.direction == "down"
    y_true = [[1, 0, 1], [1, 0, 0]]
    assert huber(y_true, [[0.9, 0.2, 0.2], [0.8, 0.4, 0.6]]) == pytest.approx(0.104167, abs=1e-5)


METRIC_CLASSES = [
    cls
    for cls in vars(metrics).values()
    if isinstance(cls, type) and issubclass(cls, metrics.Metric)
    and cls not in (metrics.Metric, metrics.MeanMetricWrapper)  # an abstract base; one that needs its function
]


@pytest.mark.parametrize("cls", METRIC_CLASSES, ids=lambda cls: cls.__name__)
def test_every_metric_class_is_registered_where_it_is_defined(cls):
    assert metrics.METRICS.lookup(cls.__name__) is cls
    assert cls.__name__ not in metrics.METRICS.names()  # class names are accepted but not listed in errors
    required = REQUIRED_ARGUMENTS.get(cls)
    if required:  # a name alone cannot make it: get() says which arguments to pass
        with pytest.raises(ValueError, match=f"{cls.__name__} needs {required}"):
            metrics.get(cls.__name__)
        return
    default = cls()
    assert metrics.get(cls.__name__).name == default.name
    assert type(metrics.get(default.name)) is cls


REQUIRED_ARGUMENTS = {
    metrics.PrecisionAtRecall: "recall", metrics.RecallAtPrecision: "precision",
    metrics.SensitivityAtSpecificity: "specificity", metrics.SpecificityAtSensitivity: "sensitivity",
    metrics.IoU: "num_classes and target_class_ids", metrics.OneHotIoU: "num_classes and target_class_ids",
    metrics.MeanIoU: "num_classes", metrics.OneHotMeanIoU: "num_classes",
}


@pytest.mark.parametrize("name", metrics.METRIC_FUNCTIONS.names())
def test_every_metric_function_gives_the_class_of_its_name(name):
    function = getattr(metrics, name)
    assert metrics.METRIC_FUNCTIONS.lookup(name) is function
    metric = metrics.get(function)
    assert type(metric) is metrics.METRICS.lookup(name) and metric.name == name
    assert metrics.MeanMetricWrapper(function).get_config()["fn"] == name


def test_crossentropy_names_get_the_loss_only_message_from_get_too():
    with pytest.raises(ValueError, match="'ce' picks a crossentropy for the loss only"):
        metrics.get("ce")
