"""Experiments: sweep hyperparameters, compare the runs live, run the same sweep on a Dask cluster.

* :func:`sweep` trains one model per config of a grid and returns a :class:`SweepResult` (with
  ``background=True``, a :class:`SweepHandle` at once);
* executors (:mod:`~nbtrain.experiments.executors`): in process (default), local processes, a Dask ``Client``
  (``pip install "nbtrain[distributed]"``; Dask is imported only when a client is given);
* the live comparison view is in :mod:`nbtrain.display.sweep_view` (loaded only in a notebook).

Example:
    >>> from nbtrain.experiments import sweep                       # doctest: +SKIP
    >>> result = sweep(build, {"optimizer": ["sgd", "adam"]}, x, y, epochs=10, validation_split=0.2)  # doctest: +SKIP
"""

from nbtrain.experiments.executors import DaskExecutor, InProcessExecutor, ProcessExecutor
from nbtrain.experiments.grid import expand_grid, run_seed
from nbtrain.experiments.handle import SweepHandle
from nbtrain.experiments.result import Run, SweepResult
from nbtrain.experiments.sweep import sweep

__all__ = ["sweep", "SweepResult", "SweepHandle", "Run", "expand_grid", "run_seed", "InProcessExecutor",
           "ProcessExecutor", "DaskExecutor"]
