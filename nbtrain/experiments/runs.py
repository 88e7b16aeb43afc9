"""One run of a sweep: what it is (a config and a seed), how it trains anywhere, and what it leaves.

:func:`train_config` is the task every executor runs, in this process, in a local worker process or on a Dask
worker: it seeds nbtrain, builds the model, fits it with a callback that reports each epoch through ``emit``,
and returns a :class:`RunOutcome` made of plain data (histories, weights, an error text) that pickles anywhere.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field

from nbtrain.callbacks.callback import Callback

# What a run can be: waiting, training, or one of the ends.
STATUSES = ("queued", "running", "done", "stopped", "failed", "cancelled")
FINISHED = ("done", "stopped", "failed", "cancelled")


class NotACompiledModel(TypeError):
    """``build`` returned something other than a compiled nbtrain model."""


def check_compiled(model, build_name: str = "build") -> None:
    """Raise a clear error unless ``model`` is an nbtrain model on which ``compile`` was called."""
    from nbtrain.models.model import Model

    if not isinstance(model, Model):
        raise NotACompiledModel(f"{build_name}() must return a compiled nbtrain model, got "
                                f"{type(model).__name__}. End it with model.compile(...) and return model.")
    if not getattr(model, "compiled", False):
        raise NotACompiledModel(f"{build_name}() returned a model that is not compiled. Call "
                                f"model.compile(optimizer=..., loss=...) before returning it.")


@dataclass
class RunOutcome:
    """What a finished run sends back: plain data only (it crosses process and machine boundaries)."""

    index: int
    status: str
    history: dict = field(default_factory=dict)
    epochs: list = field(default_factory=list)
    weights: list | None = None
    error: str | None = None
    traceback: str | None = None
    seconds: float = 0.0


class EpochReporter(Callback):
    """Sends ``("epoch", index, {"epoch": e, "logs": logs})`` after each epoch, and stops the fit when
    ``should_stop()`` says so (a Stop request for this run or for the whole sweep)."""

    def __init__(self, index: int, emit, should_stop=None):
        super().__init__()
        self.index = index
        self.emit = emit
        self.should_stop = should_stop
        self.stopped = False

    def on_epoch_end(self, epoch, logs=None):
        numbers = {key: float(value) for key, value in (logs or {}).items() if isinstance(value, (int, float))}
        self.emit("epoch", self.index, {"epoch": int(epoch), "logs": numbers})
        self._check_stop()

    def on_train_batch_end(self, batch, logs=None):
        self._check_stop()

    def _check_stop(self):
        if self.should_stop is not None and not self.stopped and self.should_stop(self.index):
            self.stopped = True
            self.model.stop_training = True


def train_config(build, config: dict, seed: int, x, y, fit_kwargs: dict, index: int, emit,
                 should_stop=None, keep_model: bool = False, fit_keys=()):
    """Train one config: seed, build, fit with an :class:`EpochReporter`; never raises for a failing run.

    The config's ``fit_keys`` (grid keys such as ``batch_size`` that ``build`` does not take) go to ``fit``,
    the rest to ``build``.

    Returns:
        ``(RunOutcome, model)``; the model is None unless ``keep_model`` (the in-process executor keeps it,
        the others send the weights back instead).
    """
    from nbtrain.experiments.grid import split_config
    from nbtrain.utils.random import set_random_seed

    started = time.perf_counter()
    emit("start", index, {"seed": int(seed)})
    model = None
    try:
        set_random_seed(int(seed))
        build_config, fit_config = split_config(config, fit_keys)
        model = build(**build_config)
        check_compiled(model, getattr(build, "__name__", "build"))
        reporter = EpochReporter(index, emit, should_stop)
        callbacks = list(fit_kwargs.get("callbacks") or []) + [reporter]
        kwargs = {**fit_kwargs, **fit_config, "callbacks": callbacks, "verbose": 0}
        history = model.fit(x, y, **kwargs)
        status = "stopped" if reporter.stopped else "done"
        outcome = RunOutcome(index, status, _plain_history(history.history), list(history.epoch),
                             None if keep_model else model.get_weights())
    except KeyboardInterrupt:
        raise
    except Exception as error:
        history = getattr(getattr(model, "history", None), "history", None) or {}
        outcome = RunOutcome(index, "failed", _plain_history(history),
                             error=f"{type(error).__name__}: {error}".splitlines()[0][:300],
                             traceback=traceback.format_exc(limit=8))
    outcome.seconds = time.perf_counter() - started
    return outcome, (model if keep_model else None)


def _plain_history(history: dict) -> dict:
    return {key: [float(v) for v in values] for key, values in history.items()
            if all(isinstance(v, (int, float)) for v in values)}
