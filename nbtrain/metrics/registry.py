"""Names of the metrics and how identifiers become Metric objects: get, resolve, validate, (de)serialize.

``compile(metrics=[...])`` goes through :func:`validate` (at compile, so typos fail early) and
:func:`resolve` (at the first batch, when the shapes that decide what ``'accuracy'`` means are known).
"""

from __future__ import annotations

import inspect

from nbtrain import losses
from nbtrain.metrics.accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from nbtrain.metrics.base import Mean, MeanMetricWrapper, Metric, Sum, callable_name, is_loss_function, loss_metric
from nbtrain.metrics.confusion_metrics import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from nbtrain.metrics.f_score_metrics import F1Score, FBetaScore
from nbtrain.metrics.hinge_metrics import CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge
from nbtrain.metrics.probabilistic_metrics import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from nbtrain.metrics.regression_metrics import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
    cosine_similarity,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from nbtrain.utils.errors import unknown_name_error
from nbtrain.utils.naming import to_snake_case

_CLASSES = (
    Mean,
    Sum,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    Precision,
    Recall,
    AUC,
    TruePositives,
    TrueNegatives,
    FalsePositives,
    FalseNegatives,
    F1Score,
    FBetaScore,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    RootMeanSquaredError,
    LogCoshError,
    CosineSimilarity,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    KLDivergence,
    Poisson,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    R2Score,
)

# plain function -> the metric class that averages it
_FUNCTION_CLASSES = {
    accuracy: Accuracy,
    binary_accuracy: BinaryAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    log_cosh: LogCoshError,
    cosine_similarity: CosineSimilarity,
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    kl_divergence: KLDivergence,
    poisson: Poisson,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
}
FUNCTIONS = {fn.__name__: fn for fn in _FUNCTION_CLASSES}

_ALIASES = {
    "acc": Accuracy,
    "mse": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "rmse": RootMeanSquaredError,
    "bce": BinaryCrossentropy,
    "kld": KLDivergence,
    "logcosh": LogCoshError,
    "fbeta_score": FBetaScore,
    # Keras 2 name of the (positive) cosine similarity metric; Keras 3 rejects it
    "cosine_proximity": CosineSimilarity,
}

# lower-case string -> class: class names, snake_case class names, function names, aliases
_BY_STRING = {}
for _cls in _CLASSES:
    _BY_STRING[_cls.__name__.lower()] = _cls
    _BY_STRING[to_snake_case(_cls.__name__)] = _cls
_BY_STRING.update({fn.__name__: cls for fn, cls in _FUNCTION_CLASSES.items()})
_BY_STRING.update(_ALIASES)
_CLASS_NAMES = {cls.__name__.lower() for cls in _CLASSES}
# what an unknown-name error lists: the readable spellings, not the CamelCase duplicates
_KNOWN_NAMES = sorted({to_snake_case(c.__name__) for c in _CLASSES} | set(FUNCTIONS) | set(_ALIASES))

_LOSS_ONLY = ("crossentropy", "ce")


def _loss_from_string(identifier):
    """The loss that ``nbtrain.losses.get`` finds for a string, or None."""
    try:
        loss = losses.get(identifier)
    except (ValueError, KeyError, TypeError):
        return None
    return loss if loss is not None and callable(loss) else None


def _unknown_metric(identifier):
    return unknown_name_error("metric", identifier, _KNOWN_NAMES)


def _loss_only_error(identifier, y_true_shape=None, y_pred_shape=None):
    if y_true_shape is not None and y_pred_shape is not None:
        is_binary, is_sparse = _label_kind(y_true_shape, y_pred_shape)
        kind = "binary" if is_binary else "sparse_categorical" if is_sparse else "categorical"
        advice = f"For these labels use '{kind}_crossentropy'."
    else:
        advice = "Use 'binary_crossentropy', 'categorical_crossentropy' or 'sparse_categorical_crossentropy'."
    return ValueError(
        f"'{identifier}' picks a crossentropy for the loss only; it is not a metric (as in Keras). {advice}"
    )


def get(identifier):
    """Return the Metric that an identifier names.

    Args:
        identifier: a string (case-insensitive class name, snake_case name or alias such as ``'mse'``,
            ``'acc'``, ``'auc'``, ``'f1_score'``), a Metric instance (returned as is), a Metric class
            (instantiated), a metric or loss function (its metric class, named after the function), any other
            function ``f(y_true, y_pred)`` (wrapped in a MeanMetricWrapper), a loss object, a config dict
            ``{"class_name": ..., "config": {...}}``, or None.

    ``'accuracy'`` here is the exact-match :class:`Accuracy`, as in ``keras.metrics.get``; ``compile`` maps it
    by shapes through :func:`resolve`.

    Example:
        >>> get("mse")
        MeanSquaredError(name='mse')
        >>> get("AUC").name
        'auc'
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        return _from_string(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if _is_loss(identifier):
        return loss_metric(identifier)
    if callable(identifier):
        return _from_function(identifier)
    raise TypeError(
        f"Could not interpret metric identifier {identifier!r} of type {type(identifier).__name__}. "
        f"Expected a metric name such as 'accuracy', a Metric object, a function f(y_true, y_pred) or a "
        f"config dict."
    )


def _is_loss(identifier):
    """A Loss object or a Loss class."""
    if inspect.isclass(identifier):
        return issubclass(identifier, losses.Loss)
    return isinstance(identifier, losses.Loss)


def _from_string(identifier):
    key = identifier.lower()
    if key not in _BY_STRING:
        raise _unknown_metric(identifier)
    cls = _BY_STRING[key]
    # a class name gives the class's default name; any other spelling names the metric as it was written
    return cls() if key in _CLASS_NAMES else cls(name=identifier)


def _from_function(fn):
    name = callable_name(fn)
    cls = _FUNCTION_CLASSES.get(fn)
    if cls is None and getattr(fn, "__module__", None) == "nbtrain.losses" and name in FUNCTIONS:
        cls = _FUNCTION_CLASSES[FUNCTIONS[name]]
    if cls is not None:
        return cls(name=name)
    if is_loss_function(fn):
        return loss_metric(_loss_object(fn), name)
    return MeanMetricWrapper(fn, name=name)


def _loss_object(fn):
    """The Loss object nbtrain.losses builds for one of its functions, so its input checks apply too."""
    try:
        return losses.get(fn)
    except (ValueError, TypeError):
        return fn


def _label_kind(y_true_shape, y_pred_shape):
    """Keras's shape test: (is_binary, is_sparse_categorical)."""
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    # one score per sample (rank <= 1) is binary too; Keras would call a rank-1 y_pred categorical
    is_binary = len(y_pred_shape) < 2 or y_pred_shape[-1] == 1
    is_sparse = len(y_true_shape) < len(y_pred_shape) or (
        len(y_true_shape) > 0 and y_true_shape[-1] == 1 and y_pred_shape[-1] > 1
    )
    return is_binary, is_sparse


def resolve(identifier, y_true_shape=None, y_pred_shape=None):
    """Turn one entry of ``compile(metrics=[...])`` into a Metric, using the first batch's shapes.

    Follows Keras: ``'accuracy'``/``'acc'`` become BinaryAccuracy when y_pred has one column,
    SparseCategoricalAccuracy when y_true holds class ids (lower rank, or one column against several), and
    CategoricalAccuracy otherwise. A string names the metric (and its log key) exactly as written; objects
    keep ``metric.name``; functions use ``__name__``. Loss objects, and loss strings that are not metric names
    (``'huber'``), are averaged per sample under the loss's name.

    Args:
        identifier: anything :func:`get` accepts, or a loss name or object.
        y_true_shape: shape of a batch of labels.
        y_pred_shape: shape of a batch of predictions.

    Example:
        >>> resolve("acc", (32,), (32, 10))
        SparseCategoricalAccuracy(name='acc')
    """
    if not isinstance(identifier, str):
        return get(identifier)
    key = identifier.lower()
    if key in ("accuracy", "acc"):
        if y_true_shape is None or y_pred_shape is None:
            raise ValueError(
                f"'{identifier}' is resolved from the shapes of y_true and y_pred; pass both to resolve()."
            )
        is_binary, is_sparse = _label_kind(y_true_shape, y_pred_shape)
        cls = BinaryAccuracy if is_binary else SparseCategoricalAccuracy if is_sparse else CategoricalAccuracy
        return cls(name=identifier)
    if key in _LOSS_ONLY:
        raise _loss_only_error(identifier, y_true_shape, y_pred_shape)
    if key in _BY_STRING:
        metric = _from_string(identifier)
        metric.name = identifier
        return metric
    loss = _loss_from_string(identifier)
    if loss is None:
        raise _unknown_metric(identifier)
    return loss_metric(loss, name=identifier)


def validate(identifier):
    """Raise now for a metric identifier that :func:`resolve` would reject later (typos fail at compile).

    Args:
        identifier: one entry of ``compile(metrics=[...])``.

    Example:
        >>> validate("accuracy")
        >>> validate("acuracy")
        Traceback (most recent call last):
        ...
        ValueError: Unknown metric: 'acuracy'. Did you mean 'accuracy'? Known metrics: ...
    """
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _LOSS_ONLY:
            raise _loss_only_error(identifier)
        if key in ("accuracy", "acc") or key in _BY_STRING or _loss_from_string(identifier) is not None:
            return
        raise _unknown_metric(identifier)
    if isinstance(identifier, dict):
        get(identifier)
        return
    if identifier is None or isinstance(identifier, Metric) or callable(identifier):
        return
    get(identifier)  # raises the TypeError that explains what is accepted


def unique_names(names):
    """Make metric names unique the way Keras does: a repeated name gets ``_1``, ``_2``, ... in order.

    Args:
        names: the names, in compile order.

    Example:
        >>> unique_names(["acc", "auc", "auc", "binary_accuracy", "binary_accuracy"])
        ['acc', 'auc', 'auc_1', 'binary_accuracy', 'binary_accuracy_1']
    """
    taken, result = set(), []
    for name in names:
        candidate, suffix = name, 0
        while candidate in taken:
            suffix += 1
            candidate = f"{name}_{suffix}"
        taken.add(candidate)
        result.append(candidate)
    return result


def serialize(metric):
    """Return ``{"class_name": ..., "config": ...}`` for a metric; :func:`deserialize` reverses it.

    Example:
        >>> serialize(BinaryAccuracy(threshold=0.7))["config"]["threshold"]
        0.7
    """
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config, custom_objects=None):
    """Build a metric from :func:`serialize`'s dict.

    Args:
        config: ``{"class_name": ..., "config": {...}}``.
        custom_objects: ``{name: class}`` for user-defined Metric subclasses.

    Example:
        >>> deserialize({"class_name": "AUC", "config": {"curve": "PR"}}).curve
        'PR'
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"A metric config must be a dict with a 'class_name' key (and optionally 'config'), "
            f"got {config!r}."
        )
    class_name = config["class_name"]
    classes = {cls.__name__: cls for cls in (*_CLASSES, MeanMetricWrapper)}
    classes.update(custom_objects or {})
    cls = classes.get(class_name) or _BY_STRING.get(str(class_name).lower())
    if cls is None:
        raise unknown_name_error("metric class", class_name, classes)
    return cls.from_config(dict(config.get("config") or {}))
