"""Turning a grid of hyperparameters into the configs of a sweep, and checking them before anything trains.

A grid is either a dict of lists (every combination is a config, in the order ``itertools.product`` gives) or
a list of config dicts (taken as they are). ``trials=N`` samples N distinct configs from it with a seed. Each run
gets its own seed from the sweep's seed and the run's index, so a run trains the same wherever it runs.
"""

from __future__ import annotations

import inspect
import itertools

import numpy as np

from nbtrain.utils.errors import did_you_mean


def expand_grid(grid, trials: int | None = None, seed: int = 0) -> list[dict]:
    """The configs of a sweep: the product of a dict of lists, or a list of dicts; ``trials`` of them at random.

    Args:
        grid: ``{"optimizer": ["sgd", "adam"], "units": [16, 64]}`` (4 configs), or ``[{"units": 16}, ...]``.
        trials: sample this many distinct configs (without replacement) instead of taking them all.
        seed: the seed of that sample.

    Example:
        >>> expand_grid({"optimizer": ["sgd", "adam"], "units": [16, 64]})[:2]
        [{'optimizer': 'sgd', 'units': 16}, {'optimizer': 'sgd', 'units': 64}]
        >>> len(expand_grid({"units": [8, 16, 32, 64]}, trials=2, seed=1))
        2
    """
    configs = _configs_of(grid)
    if trials is None:
        return configs
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise ValueError(f"trials must be a positive integer (how many configs to sample), got {trials!r}.")
    if trials > len(configs):
        raise ValueError(f"trials={trials} is more than the {len(configs)} configs of this grid; "
                         f"use trials={len(configs)} or fewer, or trials=None for all of them.")
    chosen = np.random.default_rng(seed).choice(len(configs), size=int(trials), replace=False)
    return [configs[i] for i in sorted(int(i) for i in chosen)]


def _configs_of(grid) -> list[dict]:
    if isinstance(grid, dict):
        if not grid:
            raise ValueError("The grid is empty: give it at least one hyperparameter, e.g. "
                             "grid={'optimizer': ['sgd', 'adam']}.")
        for key, values in grid.items():
            _check_key(key)
            if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
                raise TypeError(f"grid[{key!r}] must be a list of values to try, got {values!r}; "
                                f"write grid={{{key!r}: [{values!r}]}} for a single value.")
        values = [list(v) for v in grid.values()]
        empty = [key for key, v in zip(grid, values) if not v]
        if empty:
            raise ValueError(f"grid[{empty[0]!r}] is an empty list, so the grid has no config; give it at least "
                             f"one value.")
        return [dict(zip(grid, combination)) for combination in itertools.product(*values)]
    if isinstance(grid, (list, tuple)):
        if not grid:
            raise ValueError("The grid is an empty list of configs; give at least one, e.g. [{'units': 32}].")
        for i, config in enumerate(grid):
            if not isinstance(config, dict):
                raise TypeError(f"A grid given as a list holds config dicts; item {i} is {config!r}.")
            for key in config:
                _check_key(key)
        return [dict(config) for config in grid]
    raise TypeError(f"grid must be a dict of lists ({{'units': [16, 64]}}) or a list of config dicts, "
                    f"got {type(grid).__name__}.")


def _check_key(key) -> None:
    if not isinstance(key, str) or not key.isidentifier():
        raise TypeError(f"Grid keys are the keyword arguments of build(), so they must be names; got {key!r}.")


def check_build_accepts(build, configs: list[dict]) -> None:
    """Raise before training when a config has a key that ``build`` does not take as a keyword argument.

    Example:
        >>> def build(units=16, optimizer="adam"): ...
        >>> check_build_accepts(build, [{"unit": 8}])
        Traceback (most recent call last):
        ...
        TypeError: build() got an unexpected keyword argument 'unit' from the grid. Did you mean 'units'? \
build takes: units, optimizer.
    """
    if not callable(build):
        raise TypeError(f"build must be a function that takes a config's values as keyword arguments and returns "
                        f"a compiled model, got {build!r}.")
    try:
        parameters = inspect.signature(build).parameters.values()
    except (TypeError, ValueError):        # a builtin without a signature: let the call itself complain
        return
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return
    accepted = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    name = getattr(build, "__name__", "build")
    for config in configs:
        for key in config:
            if key not in accepted:
                hint = did_you_mean(key, accepted)
                raise TypeError(f"{name}() got an unexpected keyword argument {key!r} from the grid.{hint} "
                                f"{name} takes: {', '.join(accepted) or 'no keyword arguments'}.")


def run_seed(sweep_seed: int, index: int) -> int:
    """The seed of run ``index``: drawn from the sweep's seed and the index, so runs differ and repeat.

    Example:
        >>> run_seed(0, 1) == run_seed(0, 1) != run_seed(0, 2)
        True
    """
    return int(np.random.SeedSequence([int(sweep_seed), int(index)]).generate_state(1)[0])
