"""What a sweep leaves: one :class:`Run` per config, and the :class:`SweepResult` that ranks them."""

from __future__ import annotations

import math

from nbtrain.callbacks.history import History
from nbtrain.experiments.runs import FINISHED


def config_label(config: dict) -> str:
    """``optimizer=adam, learning_rate=0.01``: a run's name in tables, legends and lines.

    Example:
        >>> config_label({"optimizer": "adam", "learning_rate": 0.01})
        'optimizer=adam, learning_rate=0.01'
    """
    parts = []
    for key, value in config.items():
        text = value if isinstance(value, str) else getattr(value, "__name__", None) or repr(value)
        parts.append(f"{key}={text}")
    return ", ".join(parts) or "(defaults)"


class Run:
    """One config of a sweep: its seed, status, History, metrics, time and error.

    Attributes:
        index: the run's position in the sweep (0-based).
        config: the keyword arguments given to ``build``.
        seed: the seed set (``nbtrain.utils.set_random_seed``) before building and training it.
        status: ``queued``, ``running``, ``done``, ``stopped`` (by Stop or an interrupt), ``failed`` or
            ``cancelled`` (never ran).
        history: a :class:`~nbtrain.callbacks.History` of the epochs it finished.
        error: for a failed run, the exception's one-line text (``traceback`` has more).
        seconds: wall time of the run where it ran.
    """

    def __init__(self, index: int, config: dict, seed: int, monitor: str, mode: str, epochs: int | None = None):
        self.index = index
        self.config = dict(config)
        self.seed = seed
        self.monitor = monitor
        self.mode = mode
        self.epochs = epochs
        self.status = "queued"
        self.history = History()
        self.error = None
        self.traceback = None
        self.seconds = None
        self.worker = None
        self._model = None
        self._weights = None
        self._build = None

    # ----- what it reached ---------------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return config_label(self.config)

    @property
    def epochs_done(self) -> int:
        return len(self.history.epoch)

    @property
    def final(self) -> dict:
        """The last epoch's logs (``{}`` before the first epoch ends)."""
        return {key: values[-1] for key, values in self.history.history.items() if values}

    def monitored(self) -> list[float]:
        return list(self.history.history.get(self.monitor, []))

    @property
    def best_epoch(self) -> int | None:
        """The 1-based epoch where the monitored metric was best (NaN never counts as best)."""
        values = self.monitored()
        candidates = [(value, i) for i, value in enumerate(values) if not math.isnan(value)]
        if not candidates:
            return None
        # ties go to the earlier epoch
        if self.mode == "min":
            return min(candidates, key=lambda pair: (pair[0], pair[1]))[1] + 1
        return max(candidates, key=lambda pair: (pair[0], -pair[1]))[1] + 1

    @property
    def best_value(self) -> float | None:
        epoch = self.best_epoch
        return None if epoch is None else self.monitored()[epoch - 1]

    @property
    def best(self) -> dict:
        """The logs of the best epoch by the sweep's monitor (``{}`` when there is none)."""
        epoch = self.best_epoch
        if epoch is None:
            return {}
        return {key: values[epoch - 1] for key, values in self.history.history.items() if len(values) >= epoch}

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    # ----- the trained model -----------------------------------------------------------------------------------
    @property
    def model(self):
        """The trained model. A run trained elsewhere (another process, a Dask worker) sent back its weights:
        the model is rebuilt here from its config and seed and given them."""
        if self._model is None and self._weights is not None and self._build is not None:
            from nbtrain.utils.random import set_random_seed

            set_random_seed(self.seed)
            model = self._build(**self.config)
            model.set_weights(self._weights)
            self._model = model
        return self._model

    def row(self) -> dict:
        """This run as one row of :meth:`SweepResult.table`."""
        return {"run": self.index, **self.config, "status": self.status, "epochs": self.epochs_done,
                f"final_{self.monitor}": self.final.get(self.monitor), f"best_{self.monitor}": self.best_value,
                "best_epoch": self.best_epoch, "seconds": self.seconds, "seed": self.seed, "error": self.error}

    def __repr__(self):
        value = self.best_value
        best = f", best {self.monitor}={value:.4g} (epoch {self.best_epoch})" if value is not None else ""
        error = f", error={self.error!r}" if self.error else ""
        return f"<Run {self.index} [{self.label}] {self.status}, {self.epochs_done} epochs{best}{error}>"


class SweepResult:
    """The runs of a sweep, ranked by ``monitor``.

    Attributes:
        runs: every :class:`Run`, in config order.
        monitor, mode: the metric that ranks the runs and whether lower (``min``) or higher (``max``) is better.
        interrupted: the sweep was interrupted (Kernel -> Interrupt); the runs that had not finished are
            ``stopped`` or ``cancelled``.
        executor: where the runs trained (``in-process``, ``processes``, ``dask``).

    Example:
        >>> result = sweep(build, {"optimizer": ["sgd", "adam"]}, x, y, epochs=5,
        ...                validation_split=0.2)                     # doctest: +SKIP
        >>> result.best.config, result.best_model  # doctest: +SKIP
    """

    def __init__(self, runs: list[Run], monitor: str, mode: str, executor: str = "in-process",
                 interrupted: bool = False, seconds: float | None = None):
        self.runs = runs
        self.monitor = monitor
        self.mode = mode
        self.executor = executor
        self.interrupted = interrupted
        self.seconds = seconds

    def ranked(self) -> list[Run]:
        """Runs with a monitored value, best first (ties keep config order), then the others in order."""
        scored = [run for run in self.runs if run.best_value is not None]
        sign = 1 if self.mode == "min" else -1
        scored.sort(key=lambda run: (sign * run.best_value, run.index))
        return scored + [run for run in self.runs if run.best_value is None]

    @property
    def best(self) -> Run | None:
        """The run with the best value of ``monitor`` over its epochs (None when no run logged it)."""
        ranked = self.ranked()
        return ranked[0] if ranked and ranked[0].best_value is not None else None

    @property
    def best_model(self):
        """The best run's trained model (rebuilt here with its weights when it trained elsewhere)."""
        best = self.best
        return None if best is None else best.model

    def table(self) -> list[dict]:
        """One dict per run, best first: run, the config's values, status, epochs, final and best monitored
        value, best epoch, seconds, seed, error."""
        return [run.row() for run in self.ranked()]

    def to_pandas(self):
        """:meth:`table` as a pandas DataFrame indexed by run (needs pandas)."""
        try:
            import pandas
        except ImportError as error:
            raise ImportError("SweepResult.to_pandas() needs pandas (pip install pandas); "
                              "SweepResult.table() gives the same rows as dicts.") from error
        return pandas.DataFrame(self.table()).set_index("run")

    def plot(self, metrics=None, ax=None, validation: bool = True, log=None):
        """Every run's curves, one colour per run (see :func:`nbtrain.plot_histories`); by default the
        monitored metric. Returns the matplotlib Figure (or ``ax``)."""
        from nbtrain.display.plots import plot_histories

        family = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        histories = {f"{run.index}: {run.label}": run.history for run in self.runs if run.epochs_done}
        if not histories:
            raise ValueError("No run finished an epoch, so there is nothing to plot.")
        return plot_histories(histories, metrics=family if metrics is None else metrics, ax=ax,
                              validation=validation, log=log)

    def counts(self) -> dict:
        found = {}
        for run in self.runs:
            found[run.status] = found.get(run.status, 0) + 1
        return found

    def __len__(self):
        return len(self.runs)

    def __iter__(self):
        return iter(self.runs)

    def __repr__(self):
        counts = ", ".join(f"{n} {status}" for status, n in self.counts().items())
        best = self.best
        best_text = (f"; best {self.monitor}={best.best_value:.4g}: run {best.index} [{best.label}]"
                     if best is not None else "")
        return f"<SweepResult {len(self.runs)} runs ({counts}){best_text}>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        from nbtrain.experiments.record import leaderboard_html

        return {"text/plain": repr(self), "text/html": leaderboard_html(self)}
