"""The metric base classes: Metric, Mean, Sum and MeanMetricWrapper, the registries of metric names, and the
helpers every family shares.

A metric keeps float64 totals, so an epoch's value is the same whatever the batch size. The per-sample
formulas that metrics share with losses live once, in :mod:`nbtrain.losses`; :func:`computed_in_float64`
turns a loss function into the float64 per-sample function a metric averages.

Each metric class registers itself in :data:`METRICS` where it is defined, under its snake_case name and
Keras's aliases (``@METRICS.register("mse", name="mean_squared_error")``); each per-sample function registers
in :data:`METRIC_FUNCTIONS`, where ``compile(metrics=[fn])`` and saved models find it by name.
"""

from __future__ import annotations

import copy
import functools
import inspect

import numpy as np

from nbtrain import losses
from nbtrain.utils.naming import to_snake_case
from nbtrain.utils.registry import Registry, ignore_case_and_underscores

# ----------------------------------------------------------------------------------------------------------
# Array helpers
# ----------------------------------------------------------------------------------------------------------


def floats(x):
    """``x`` as a float64 array, the dtype of every metric computation."""
    return np.asarray(x, dtype=np.float64)


def float_pair(y_true, y_pred):
    """float64 copies of y_true and y_pred with a trailing-1 rank difference reconciled."""
    return losses.squeeze_or_expand_to_same_rank(floats(y_true), floats(y_pred))


def divide_no_nan(numerator, denominator):
    """``numerator / denominator``, and 0 wherever the denominator is 0 (an empty count gives 0, not nan)."""
    numerator, denominator = np.broadcast_arrays(floats(numerator), floats(denominator))
    return np.divide(numerator, denominator, out=np.zeros(numerator.shape), where=denominator != 0)


def two_d_pair(metric, y_true, y_pred, columns):
    """float64 y_true and y_pred of shape (batch_size, columns), for a metric that keeps totals per column.

    Args:
        metric: the metric asking, named in the error.
        y_true, y_pred: the batch.
        columns: what a column is, for the error (``"num_classes"``).
    """
    y_true, y_pred = float_pair(y_true, y_pred)
    if y_true.ndim != 2 or y_pred.ndim != 2:
        raise ValueError(
            f"{type(metric).__name__} expects 2-D inputs of shape (batch_size, {columns}), got "
            f"y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}."
        )
    return y_true, y_pred


def needs_columns(metric, built, y_pred, empty, what):
    """True when per-column totals must be (re)built for y_pred's columns; an error if they cannot change.

    The first batch sets the number of columns; until something is accumulated another count simply
    rebuilds, after that it is an error.

    Args:
        metric: the metric asking, named in the error.
        built: the number of columns the totals have now, or None before the first batch.
        y_pred: the batch's predictions, shape (batch_size, columns).
        empty: True while nothing has been accumulated since the last reset.
        what: what a column is, for the error (``"classes"``).
    """
    columns = y_pred.shape[-1]
    if built is None or (empty and built != columns):
        return True
    if built != columns:
        raise ValueError(
            f"{type(metric).__name__} '{metric.name}' was built for {built} {what} but got y_pred.shape="
            f"{y_pred.shape}. Call reset_state() before using it on a different model."
        )
    return False


def computed_in_float64(loss_function):
    """The per-sample function a metric averages: the loss function ``loss_function``, computed in float64.

    The functions of :mod:`nbtrain.losses` compute in the dtype of ``y_pred`` (float32 during training).
    Metrics add batch after batch into float64 totals, so they hand the loss float64 predictions: float32
    rounding never enters an epoch's value, which is then the same whatever the batch size.

    Args:
        loss_function: a per-sample loss function ``f(y_true, y_pred, **options)`` from nbtrain.losses.

    Example:
        >>> mse = computed_in_float64(losses.mean_squared_error)
        >>> mse(np.zeros((1, 2), np.float32), np.ones((1, 2), np.float32)).dtype
        dtype('float64')
    """

    @functools.wraps(loss_function)
    def per_sample(y_true, y_pred, *options, **keyword_options):
        return loss_function(y_true, floats(y_pred), *options, **keyword_options)

    # a metric function of nbtrain.metrics, where a saved model finds it again by name; MeanMetricWrapper
    # takes only functions of nbtrain.losses for losses (direction "down")
    per_sample.__module__ = "nbtrain.metrics"
    return per_sample


# ----------------------------------------------------------------------------------------------------------
# The Metric base class
# ----------------------------------------------------------------------------------------------------------


class Metric:
    """Base class of stateful metrics: update_state adds a batch, result reports, reset_state clears.

    Two ways to keep state. nbtrain's metrics set their arguments, then call ``super().__init__(name, dtype)``,
    which calls ``reset_state()`` to create the state. Keras's way works too: call ``super().__init__()`` first,
    then create the state with ``self.add_variable(shape, initializer, name=...)`` (or ``add_weight``) and
    ``assign`` to it in ``update_state`` and ``reset_state``. ``direction`` ("up", "down" or None) tells
    ``EarlyStopping`` and ``ModelCheckpoint`` with ``mode='auto'`` whether larger is better.

    Args:
        name: the metric's name, which is also its key in the training logs. Defaults to the snake_case
            class name.
        dtype: recorded for Keras compatibility; the state is always float64.

    Example:
        >>> class Largest(Metric):
        ...     direction = "up"
        ...     def reset_state(self):
        ...         self.largest = 0.0
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.largest = max(self.largest, float(np.max(y_pred)))
        ...     def result(self):
        ...         return self.largest
        >>> Largest()([0, 1], [0.2, 0.7])
        0.7
    """

    direction = None

    def __init__(self, name=None, dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"A metric name must be a string, got {name!r} of type {type(name).__name__}.")
        self.name = name or to_snake_case(type(self).__name__)
        self.dtype = dtype or "float32"
        self._variables = []
        try:
            self.reset_state()
        except AttributeError:
            # Keras's pattern: the subclass makes its state with add_variable after super().__init__(), and its
            # reset_state assigns to that state, which does not exist yet; it starts at its initial values.
            pass

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A state array of ``shape`` filled by ``initializer`` (Keras's ``Metric.add_variable``), kept in
        :attr:`variables`; write to it with ``assign``/``assign_add``."""
        from nbtrain import initializers    # a metric that needs them pays for the imports
        from nbtrain.ops import Variable
        dtype = dtype or self.dtype
        if isinstance(initializer, (int, float, np.number)) and not isinstance(initializer, bool):
            values = np.full(tuple(shape), initializer, dtype=dtype)
        else:
            values = initializers.get(initializer)(tuple(shape), dtype=dtype)
        variable = Variable(values, dtype=dtype, trainable=False, name=name or f"variable_{len(self._variables)}")
        self._variables.append(variable)
        return variable

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, aggregation="sum"):
        """Keras 2's name for :meth:`add_variable`."""
        return self.add_variable(shape, initializer, dtype, aggregation, name)

    @property
    def variables(self) -> list:
        """The state made with :meth:`add_variable` (Keras's ``metric.variables``)."""
        return list(self.__dict__.get("_variables", []))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulate the statistics of one batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self):
        """The metric's value over everything seen since the last reset."""
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def reset_state(self):
        """Forget everything accumulated so far."""
        raise NotImplementedError(f"{type(self).__name__} must implement reset_state().")

    def reset_states(self):
        """Keras 2 spelling of :meth:`reset_state`."""
        self.reset_state()

    def __call__(self, *args, **kwargs):
        """Update with one batch, then return the result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        """The constructor arguments that rebuild this metric with ``from_config``."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        """Build a metric from the dict ``get_config`` returned."""
        return cls(**config)

    def __repr__(self):
        parameters = inspect.signature(type(self).__init__).parameters
        shown = []
        for key, value in self.get_config().items():
            if key in ("name", "dtype"):
                continue
            default = parameters[key].default if key in parameters else inspect.Parameter.empty
            if default is inspect.Parameter.empty or not _same(value, default):
                shown.append(f"{key}={getattr(value, '__name__', None) or value!r}")
        return f"{type(self).__name__}({', '.join([f'name={self.name!r}', *shown])})"


def _same(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


# ----------------------------------------------------------------------------------------------------------
# Registries
# ----------------------------------------------------------------------------------------------------------

CROSSENTROPY_NAMES = ("crossentropy", "ce")
"""Loss names that pick a crossentropy from the data; as in Keras, they are no metric names."""


def loss_only_message(name, advice=None):
    """Why ``name`` (one of :data:`CROSSENTROPY_NAMES`) is no metric, and which metric to use instead.

    Example:
        >>> loss_only_message("ce", "Use 'binary_crossentropy'.")
        "'ce' picks a crossentropy for the loss only; it is not a metric (as in Keras). Use 'binary_crossentropy'."
    """
    advice = advice or "Use 'binary_crossentropy', 'categorical_crossentropy' or 'sparse_categorical_crossentropy'."
    return f"'{name}' picks a crossentropy for the loss only; it is not a metric (as in Keras). {advice}"


METRICS = Registry(
    "metric", base=Metric, module="nbtrain.metrics", key=ignore_case_and_underscores,
    # defined at the end of this module, with the other ways a function or a loss becomes a metric
    convert=lambda identifier: metric_from_callable(identifier),
    expected="Expected a metric name such as 'accuracy', a Metric object, a function f(y_true, y_pred) or a "
             "config dict.",
    reserved={name: loss_only_message(name) for name in CROSSENTROPY_NAMES},
)
"""Every metric class by name: its snake_case name and Keras's aliases (``"mse"``, ``"acc"``), matched ignoring
case and underscores, so the class name (``"MeanSquaredError"``) is accepted too without being listed."""

METRIC_FUNCTIONS = Registry("metric function", module="nbtrain.metrics")
"""Every built-in per-sample metric function by its name (``"binary_accuracy"``)."""


def metric_function_of(loss_function):
    """Register, and return, the built-in metric function that computes ``loss_function`` in float64.

    Args:
        loss_function: a per-sample loss function of nbtrain.losses; the metric function keeps its name.

    A family module writes ``mean_squared_error = metric_function_of(losses.mean_squared_error)``.
    """
    return METRIC_FUNCTIONS.register()(computed_in_float64(loss_function))


# ----------------------------------------------------------------------------------------------------------
# Mean, Sum and MeanMetricWrapper
# ----------------------------------------------------------------------------------------------------------


def _reduce_to_samplewise(values, sample_weight, reduce):
    """Keras's reduction of metric values (and weights) to one value per sample.

    Values with more axes than the weights are reduced over the extra axes first, weighted, and any remaining
    axes beyond the first are reduced last. With no weights every value ends up as one per-sample value.
    """
    values = floats(values)
    if sample_weight is not None:
        weights = floats(sample_weight)
        values, weights = losses.squeeze_or_expand_to_same_rank(values, weights)
        if values.ndim > weights.ndim:
            values = reduce(values, axis=tuple(range(weights.ndim, values.ndim)))
        elif values.ndim == 0 and weights.ndim > 0:
            # a function that returned one value for the whole batch: give that value to every sample
            values = np.broadcast_to(values, weights.shape)
        weights = np.broadcast_to(weights, values.shape)
        values = values * weights
        if weights.ndim > 1:
            weights = reduce(weights, axis=tuple(range(1, weights.ndim)))
        sample_weight = weights
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


@METRICS.register(name="mean")
class Mean(Metric):
    """The (weighted) mean of the values it is given; ``update_state(values, sample_weight=None)``.

    With weights, ``total += sum(w * v)`` and ``count += sum(w)``; otherwise ``count`` grows by the number of
    samples. Values with extra axes are first averaged per sample.

    Args:
        name: the metric's name.
        dtype: recorded for Keras compatibility.

    Example:
        >>> m = Mean()
        >>> m.update_state([1, 3, 5, 7])
        >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
        >>> round(m.result(), 4)
        3.3333
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        """Add a batch of values, optionally weighted."""
        values, weights = _reduce_to_samplewise(values, sample_weight, np.mean)
        self.total += float(np.sum(values))
        if weights is not None:
            self.count += float(np.sum(weights))
        else:
            self.count += values.shape[0] if values.ndim >= 1 else 1

    def result(self):
        return self.total / self.count if self.count != 0 else 0.0


@METRICS.register(name="sum")
class Sum(Metric):
    """The (weighted) sum of the values it is given; ``update_state(values, sample_weight=None)``.

    Example:
        >>> m = Sum()
        >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
        >>> m.result()
        4.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        """Add a batch of values, optionally weighted."""
        values, _ = _reduce_to_samplewise(values, sample_weight, np.sum)
        self.total += float(np.sum(values))

    def result(self):
        return self.total


def callable_name(fn):
    """Keras's naming of a metric object or function: ``.name``, else ``__name__``, else the class name."""
    for attribute in ("name", "__name__"):
        name = getattr(fn, attribute, None)
        if isinstance(name, str) and name:
            return name
    return to_snake_case(type(fn).__name__)


@METRICS.register(listed=False)  # found in configs; as a name it would lack its function
class MeanMetricWrapper(Mean):
    """The running mean of a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    The function's values are averaged over any axes beyond the first, then over samples (weighted by
    ``sample_weight`` when given), exactly like Keras.

    Args:
        fn: a function of ``(y_true, y_pred)`` returning one value per sample (or per element, or one scalar).
        name: the metric's name; defaults to ``fn.__name__``.
        dtype: recorded for Keras compatibility.
        **kwargs: passed to ``fn`` on every call.

    Example:
        >>> def max_error(y_true, y_pred):
        ...     return np.max(np.abs(np.subtract(y_true, y_pred)), axis=-1)
        >>> m = MeanMetricWrapper(max_error)
        >>> m([[0, 1], [0, 0]], [[1, 1], [0, 0.5]])
        0.75
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(
                f"MeanMetricWrapper expects a function fn(y_true, y_pred) returning per-sample values, "
                f"got {fn!r} of type {type(fn).__name__}."
            )
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or callable_name(fn), dtype=dtype)
        if is_loss_function(fn):
            self.direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Evaluate ``fn`` on the batch and add its values to the running mean."""
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        config = {**super().get_config(), **self._fn_kwargs}
        if type(self) is MeanMetricWrapper:
            # registered functions are stored by name; anything else as the object itself (not JSON-safe)
            fn_name = getattr(self._fn, "__name__", None)
            is_builtin = fn_name in METRIC_FUNCTIONS and METRIC_FUNCTIONS.find(fn_name) is self._fn
            config["fn"] = fn_name if is_builtin else self._fn
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if cls is MeanMetricWrapper and isinstance(config.get("fn"), str):
            config["fn"] = METRIC_FUNCTIONS.lookup(config["fn"])
        return cls(**config)


# ----------------------------------------------------------------------------------------------------------
# Losses and functions as metrics
# ----------------------------------------------------------------------------------------------------------


def is_loss_function(fn):
    """True for a loss function of nbtrain.losses, or a Loss object adapted by :class:`PerSampleLoss`."""
    return isinstance(fn, PerSampleLoss) or getattr(fn, "__module__", None) == "nbtrain.losses"


class PerSampleLoss:
    """Adapts a Loss object to the per-sample ``fn(y_true, y_pred)`` that MeanMetricWrapper takes.

    A copy of the loss with no reduction runs the loss's own input preparation (casting, rank matching,
    label checks) and then its per-sample ``call``, so any Loss subclass works unchanged.

    Args:
        loss: a :class:`nbtrain.losses.Loss` object.

    Example:
        >>> PerSampleLoss(losses.MeanSquaredError())([[0.0, 1.0]], [[1.0, 1.0]])
        array([0.5])
    """

    def __init__(self, loss):
        self.loss = loss
        self.__name__ = getattr(loss, "name", None) or to_snake_case(type(loss).__name__)
        self._unreduced = copy.copy(loss)
        self._unreduced.reduction = None

    def __call__(self, y_true, y_pred):
        return self._unreduced(y_true, y_pred)

    def __repr__(self):
        return f"{self.loss!r}.call"


def loss_metric(loss, name=None):
    """A MeanMetricWrapper averaging a loss's per-sample values; its direction is "down".

    Args:
        loss: a Loss object or class, or a per-sample loss function.
        name: the metric's name; defaults to the loss's name.
    """
    if inspect.isclass(loss) and issubclass(loss, losses.Loss):
        loss = loss()
    fn = PerSampleLoss(loss) if isinstance(loss, losses.Loss) else loss
    metric = MeanMetricWrapper(fn, name=name or callable_name(fn))
    metric.direction = "down"
    return metric


def metric_from_callable(identifier):
    """The metric for a loss or a function in ``compile(metrics=[...])``, or None for anything else.

    A loss object or class is averaged per sample under the loss's name. A built-in metric function (or the
    loss function of the same name) gives its metric class, named after the function; another loss function,
    or any function ``f(y_true, y_pred)``, is averaged per sample.

    Example:
        >>> metric_from_callable(losses.Huber())
        MeanMetricWrapper(name='huber_loss', fn='huber_loss')
        >>> metric_from_callable(lambda y_true, y_pred: abs(y_true - y_pred)).name
        '<lambda>'
    """
    if _is_loss(identifier):
        return loss_metric(identifier)
    if not callable(identifier):
        return None
    name = callable_name(identifier)
    metric_class = _class_averaging(identifier)
    if metric_class is not None:
        return metric_class(name=name)
    if is_loss_function(identifier):
        return loss_metric(_loss_object(identifier), name)
    return MeanMetricWrapper(identifier, name=name)


def _is_loss(identifier):
    """A Loss object or a Loss class."""
    if inspect.isclass(identifier):
        return issubclass(identifier, losses.Loss)
    return isinstance(identifier, losses.Loss)


def _class_averaging(function):
    """The metric class registered under the name of a built-in metric function, or of a loss function with
    the name of one (``losses.mean_squared_error`` gives MeanSquaredError too); None for other functions."""
    name = getattr(function, "__name__", None)
    builtin = METRIC_FUNCTIONS.find(name) if isinstance(name, str) else None
    if builtin is function or (builtin is not None and getattr(function, "__module__", None) == "nbtrain.losses"):
        return METRICS.find(name)
    return None


def _loss_object(function):
    """The Loss object nbtrain.losses builds for one of its functions, so its input checks apply too."""
    try:
        return losses.get(function)
    except (ValueError, TypeError):
        return function
