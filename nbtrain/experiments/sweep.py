"""``sweep``: train one model per config of a grid, watch them side by side, keep the best.

Everything that can be wrong with a sweep's input is checked before the first run trains: the grid, the
keys ``build`` takes, what ``build`` returns, ``fit``'s keyword arguments and the monitored metric (read from a
probe model evaluated on a few samples). Then the executor trains the runs and the progress display shows them.
"""

from __future__ import annotations

import copy
import inspect
import time
from contextlib import contextmanager

import numpy as np

from nbtrain.experiments.executors import StopRequests, SweepJob, executor_for
from nbtrain.experiments.grid import check_build_accepts, expand_grid, run_seed, split_config
from nbtrain.experiments.progress import SweepProgress
from nbtrain.experiments.result import Run, SweepResult
from nbtrain.experiments.runs import check_compiled
from nbtrain.utils.errors import check_keyword_arguments, did_you_mean

# fit arguments a sweep sets itself
_SWEEP_OWNED = ("verbose", "x", "y")


def sweep(build, grid, x=None, y=None, *, trials=None, seed=0, monitor=None, mode="auto", executor=None,
          client=None, verbose="auto", background=False, **fit_kwargs):
    """Train one model per config of ``grid`` and compare them live; returns a :class:`SweepResult`.

    Args:
        build: a function taking a config's values as keyword arguments and returning a compiled model,
            e.g. ``def build(optimizer="adam", units=32): ...; model.compile(...); return model``.
        grid: a dict of lists (every combination is a config) or a list of config dicts. A key goes to
            ``build`` when ``build`` has a parameter of that name, otherwise to ``fit`` when ``fit`` takes it
            (``{"units": [16, 64], "batch_size": [32, 64], "epochs": [5, 10]}``: ``units`` to ``build``, the
            others to each run's ``fit``); a key that neither takes is an error before anything trains.
        x, y: the training data, as for ``fit``.
        trials: train this many configs sampled at random (with ``seed``) instead of all of them.
        seed: the sweep's seed; run ``i`` trains with a seed drawn from it and ``i`` (``run.seed``), so the same
            sweep gives the same histories again, on every executor.
        monitor: the metric that ranks the runs; default ``val_loss`` (as ``EarlyStopping``), or ``loss`` when
            the sweep has no validation data.
        mode: ``"auto"``, ``"min"`` or ``"max"``: whether lower or higher ``monitor`` is better.
        executor: ``"in-process"`` (default: one run after another, right for Binder's single CPU) or
            ``"processes"`` (one local process per core).
        client: a ``dask.distributed.Client``: each run becomes a Dask task on its cluster
            (``pip install "nbtrain[distributed]"``).
        verbose: ``"auto"`` (the live comparison in a notebook, one line per finished run in a terminal),
            1 or 2 (the lines), or 0 (nothing).
        background: train in a thread and return a :class:`~nbtrain.experiments.handle.SweepHandle` at once
            (after the checks): the notebook stays usable and the view's Stop buttons (all runs, or one) work;
            ``handle.result()`` waits for the :class:`SweepResult`.
        **fit_kwargs: passed to every run's ``fit`` (``epochs``, ``batch_size``, ``validation_split``, ...).

    Returns:
        A :class:`SweepResult` (a :class:`~nbtrain.experiments.handle.SweepHandle` with ``background=True``):
        ``.runs``, ``.best``, ``.best_model``, ``.table()``, ``.plot()``. After Kernel ->
        Interrupt, the runs that finished so far (``result.interrupted`` is True).

    Example:
        >>> def build(optimizer="adam", units=32):
        ...     model = nbtrain.Sequential([nbtrain.Input((64,)), nbtrain.layers.Dense(units, activation="relu"),
        ...                                 nbtrain.layers.Dense(10, activation="softmax")])
        ...     model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        ...     return model
        >>> result = sweep(build, {"optimizer": ["sgd", "adam"], "units": [16, 64]}, x, y,
        ...                epochs=10, validation_split=0.2)          # doctest: +SKIP
        >>> result.best.config                                       # doctest: +SKIP
        {'optimizer': 'adam', 'units': 64}
    """
    configs = expand_grid(grid, trials, seed)
    fit_kwargs = _checked_fit_kwargs(fit_kwargs)
    fit_keys = check_build_accepts(build, configs, _grid_fit_parameters(), given_to_fit=fit_kwargs)
    _check_seed(seed)
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"sweep() expects mode to be 'auto', 'min' or 'max', got {mode!r}.")
    chosen_executor = executor_for(executor, client)
    first_build, first_fit = split_config(configs[0], fit_keys)
    with preserved_random_state():
        monitor, mode = _probe_monitor(build, first_build, run_seed(seed, 0), x, y, {**fit_kwargs, **first_fit},
                                       monitor, mode)
    runs = [Run(i, config, run_seed(seed, i), monitor, mode,
                epochs={**fit_kwargs, **split_config(config, fit_keys)[1]}.get("epochs", 1))
            for i, config in enumerate(configs)]
    view = _view_for(verbose, len(runs), background)
    progress = SweepProgress(runs, view, build=build)
    result = SweepResult(runs, monitor, mode, executor=chosen_executor.name)
    stop = StopRequests()
    job = SweepJob(build, x, y, fit_kwargs, [(run.index, run.config, run.seed) for run in runs], fit_keys)
    if view is not None:
        view.begin(progress, result, stop)

    def run_all():
        started = time.perf_counter()
        try:
            chosen_executor.run(job, progress, stop)
        except KeyboardInterrupt:
            stop.all = True
            result.interrupted = True
        finally:
            progress.cancel_unfinished()
            result.seconds = time.perf_counter() - started
            progress.end_view(result)

    if background:
        from nbtrain.experiments.handle import SweepHandle

        return SweepHandle(run_all, result, stop)
    with preserved_random_state():     # the runs reseed nbtrain; the notebook's own random stream goes on as before
        run_all()
    return result


@contextmanager
def preserved_random_state():
    """Restore nbtrain's, NumPy's and Python's global random state afterwards: each run seeds them with its own
    seed, and a sweep must not change what the notebook's next random draw gives."""
    import random

    import nbtrain.utils.random as nbtrain_random

    saved = (copy.deepcopy(nbtrain_random._global_generator), np.random.get_state(), random.getstate())
    try:
        yield
    finally:
        nbtrain_random._global_generator, numpy_state, python_state = saved
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def _check_seed(seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"sweep() expects seed to be a non-negative integer, got {seed!r}.")


def _grid_fit_parameters() -> list[str]:
    """The ``fit`` arguments a grid may vary (``epochs``, ``batch_size``, ``validation_split``, ...): all but the
    data and those the sweep sets itself."""
    from nbtrain.models.model import Model

    return [name for name in inspect.signature(Model.fit).parameters
            if name not in ("self", "kwargs", "background", *_SWEEP_OWNED)]


def _checked_fit_kwargs(fit_kwargs: dict) -> dict:
    from nbtrain.models.model import Model

    accepted = [name for name in inspect.signature(Model.fit).parameters if name not in ("self", "kwargs")]
    for key in fit_kwargs:
        if key in _SWEEP_OWNED:
            instead = "use sweep(verbose=...)" if key == "verbose" else "remove it"
            raise TypeError(f"sweep() sets fit's {key!r} itself; {instead}.")
    accepted = [name for name in accepted if name != "background"]
    check_keyword_arguments("sweep()", fit_kwargs, [*accepted, "trials", "seed", "monitor", "mode", "executor",
                                                    "client", "verbose", "background"])
    return dict(fit_kwargs)


def _probe_monitor(build, config, seed, x, y, fit_kwargs, monitor, mode):
    """Build the first config once and evaluate it on a few samples: ``build`` must return a compiled model,
    and the monitored metric must be one of the logs the runs will have. Returns ``(monitor, mode)``."""
    from nbtrain.callbacks.early_stopping import monitor_direction
    from nbtrain.utils.random import set_random_seed

    set_random_seed(seed)
    name = getattr(build, "__name__", "build")
    model = build(**config)
    check_compiled(model, name)
    keys = _log_keys(model, x, y, fit_kwargs)
    if monitor is None:
        monitor = "val_loss" if keys is None or "val_loss" in keys else "loss"
    elif keys is not None and monitor not in keys:
        hint = did_you_mean(monitor, keys)
        extra = (" It is a validation metric: pass validation_split= or validation_data= to the sweep."
                 if monitor.startswith("val_") and monitor[4:] in keys else "")
        raise ValueError(f"sweep(monitor={monitor!r}): no run would log {monitor!r}.{hint}{extra} "
                         f"The runs log: {', '.join(keys)}.")
    if mode == "auto":
        direction = monitor_direction(model, monitor)
        if direction is None:
            raise ValueError(f"sweep() cannot tell whether {monitor!r} should go up or down. Pass mode='max' "
                             f"(scores such as accuracy) or mode='min' (losses and errors).")
        mode = "min" if direction == "down" else "max"
    return monitor, mode


def _log_keys(model, x, y, fit_kwargs) -> list[str] | None:
    """The keys of the runs' epoch logs, from an ``evaluate`` on a few samples; None for data that cannot be
    sliced (a generator, a PyDataset): then the monitor is checked when the runs log."""
    head_x, head_y = _head(x), _head(y)
    if head_x is None or (y is not None and head_y is None):
        return None
    logs = model.evaluate(head_x, head_y, verbose=0, return_dict=True)
    keys = list(logs)
    validating = fit_kwargs.get("validation_data") is not None or fit_kwargs.get("validation_split", 0)
    return keys + [f"val_{key}" for key in keys] if validating else keys


def _head(data, n: int = 4):
    if data is None:
        return None
    if isinstance(data, dict):
        heads = {key: _head(value, n) for key, value in data.items()}
        return None if any(value is None for value in heads.values()) else heads
    if isinstance(data, (list, tuple)) and data and not np.isscalar(data[0]) and hasattr(data[0], "shape"):
        heads = [_head(value, n) for value in data]
        return None if any(value is None for value in heads) else heads
    if hasattr(data, "shape") and hasattr(data, "__getitem__"):
        return data[:n]
    if isinstance(data, (list, tuple)):
        return np.asarray(data)[:n]
    return None


def _view_for(verbose, n_runs: int, background: bool = False):
    """The sweep's progress display here (see :func:`nbtrain.display.sweep_view.sweep_view_for`)."""
    if verbose == 0:
        return None
    from nbtrain.display.sweep_view import sweep_view_for

    return sweep_view_for(verbose, n_runs, background)
