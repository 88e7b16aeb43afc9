"""How identifiers become Metric objects: get, resolve, validate, serialize and deserialize, over the
:data:`~nbtrain.metrics.base.METRICS` registry, where every metric class registers itself by name.

``compile(metrics=[...])`` goes through :func:`validate` (at compile, so typos fail early) and
:func:`resolve` (at the first batch, when the shapes that decide what ``'accuracy'`` means are known).
"""

from __future__ import annotations

import inspect

from nbtrain import losses
from nbtrain.metrics.accuracy_metrics import Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy
from nbtrain.metrics.base import CROSSENTROPY_NAMES, METRICS, Metric, loss_metric, loss_only_message


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
    if isinstance(identifier, str):
        return _from_name(identifier)
    return METRICS.get(identifier)


def _from_name(name):
    metric_class = METRICS.lookup(name)
    required = _required_arguments(metric_class)
    if required:
        listing = ", ".join(f"{argument}=..." for argument in required)
        raise ValueError(
            f"The metric {name!r} cannot be made from its name alone: {metric_class.__name__} needs "
            f"{' and '.join(required)}. Pass an instance instead, e.g. metrics=[nbtrain.metrics."
            f"{metric_class.__name__}({listing})]."
        )
    # a class name gives the class's default name; any other spelling names the metric as it was written
    return metric_class() if name.lower() == metric_class.__name__.lower() else metric_class(name=name)


def _required_arguments(metric_class):
    """Constructor arguments without a default (MeanIoU's num_classes, PrecisionAtRecall's recall)."""
    parameters = list(inspect.signature(metric_class.__init__).parameters.values())[1:]
    return [p.name for p in parameters
            if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


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
    if METRICS.find(identifier) is Accuracy:
        return _accuracy_for_labels(identifier, y_true_shape, y_pred_shape)
    loss = None if identifier in METRICS else _loss_from_string(identifier)
    if loss is not None:
        return loss_metric(loss, name=identifier)
    _check_not_crossentropy(identifier, y_true_shape, y_pred_shape)
    return METRICS.lookup(identifier)(name=identifier)  # an unknown name raises, with the nearest known one


def _accuracy_for_labels(name, y_true_shape, y_pred_shape):
    """The accuracy that ``'accuracy'`` means for these shapes, named ``name``."""
    if y_true_shape is None or y_pred_shape is None:
        raise ValueError(f"'{name}' is resolved from the shapes of y_true and y_pred; pass both to resolve().")
    is_binary, is_sparse = _label_kind(y_true_shape, y_pred_shape)
    if is_binary:
        return BinaryAccuracy(name=name)
    return SparseCategoricalAccuracy(name=name) if is_sparse else CategoricalAccuracy(name=name)


def _label_kind(y_true_shape, y_pred_shape):
    """Keras's shape test: (is_binary, is_sparse_categorical)."""
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    # one score per sample (rank <= 1) is binary too; Keras would call a rank-1 y_pred categorical
    is_binary = len(y_pred_shape) < 2 or y_pred_shape[-1] == 1
    is_sparse = len(y_true_shape) < len(y_pred_shape) or (
        len(y_true_shape) > 0 and y_true_shape[-1] == 1 and y_pred_shape[-1] > 1
    )
    return is_binary, is_sparse


def _loss_from_string(identifier):
    """The loss that ``nbtrain.losses.get`` finds for a string, or None."""
    try:
        loss = losses.get(identifier)
    except (ValueError, KeyError, TypeError):
        return None
    return loss if loss is not None and callable(loss) else None


def _check_not_crossentropy(name, y_true_shape=None, y_pred_shape=None):
    """``'crossentropy'`` is no metric: say so, and which crossentropy metric fits the labels when their shapes
    are known."""
    if name.lower() not in CROSSENTROPY_NAMES:
        return
    advice = None
    if y_true_shape is not None and y_pred_shape is not None:
        is_binary, is_sparse = _label_kind(y_true_shape, y_pred_shape)
        kind = "binary" if is_binary else "sparse_categorical" if is_sparse else "categorical"
        advice = f"For these labels use '{kind}_crossentropy'."
    raise ValueError(loss_only_message(name, advice))


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
        if _loss_from_string(identifier) is None:
            _check_not_crossentropy(identifier)
            _from_name(identifier)  # a metric name, or the error with the nearest known one
    elif not (identifier is None or isinstance(identifier, Metric) or callable(identifier)):
        get(identifier)  # builds a config now; raises the TypeError that explains what is accepted otherwise


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
    """Return ``{"module", "class_name", "config"}`` for a metric; :func:`deserialize` reverses it.

    Example:
        >>> serialize(BinaryAccuracy(threshold=0.7))["config"]["threshold"]
        0.7
    """
    return METRICS.serialize(metric)


def deserialize(config, custom_objects=None):
    """Build a metric from :func:`serialize`'s dict (or a metric name).

    Args:
        config: ``{"class_name": ..., "config": {...}}``.
        custom_objects: ``{name: class}`` for user-defined Metric subclasses.

    Example:
        >>> deserialize({"class_name": "AUC", "config": {"curve": "PR"}}).curve
        'PR'
    """
    return METRICS.deserialize(config, custom_objects)
