"""Turning a grid of hyperparameters into the configs of a sweep, and checking them before anything trains.

A grid is either a dict of lists (every combination is a config, in the order ``itertools.product`` gives) or
a list of config dicts (taken as they are). A key goes to ``build`` when ``build`` names it, else to ``fit`` when
``fit`` takes it (``epochs``, ``batch_size``, ...), else it is an error (see :func:`check_build_accepts`). ``trials=N`` samples N distinct configs from it with a seed. Each run
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
        raise TypeError(f"Grid keys are keyword arguments of build() or fit(), so they must be names; got {key!r}.")


def check_build_accepts(build, configs: list[dict], fit_parameters=(), given_to_fit=()) -> frozenset:
    """Decide where each grid key goes, and raise before training for a key that nothing takes.

    The rule: a key that ``build`` names as a parameter goes to ``build``; otherwise a key that ``fit`` takes
    (``epochs``, ``batch_size``, ``validation_split``, ... : ``fit_parameters``) goes to each run's ``fit``;
    otherwise a ``build(**config)`` that takes any keyword gets it. Anything else is an error naming what both
    take. A fit key may not also be given to the sweep itself (``given_to_fit``): which value would win is a guess.

    Returns:
        The grid keys that go to ``fit``.

    Example:
        >>> def build(units=16, optimizer="adam"): ...
        >>> sorted(check_build_accepts(build, [{"units": 8, "batch_size": 32}], ["epochs", "batch_size"]))
        ['batch_size']
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
        parameters = list(inspect.signature(build).parameters.values())
    except (TypeError, ValueError):        # a builtin without a signature: let the call itself complain
        parameters = [inspect.Parameter("config", inspect.Parameter.VAR_KEYWORD)]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
    accepted = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    name = getattr(build, "__name__", "build")
    keys = list(dict.fromkeys(key for config in configs for key in config))
    fit_keys = frozenset(key for key in keys if key not in accepted and key in fit_parameters)
    for key in keys:
        if key in accepted or key in fit_keys or takes_any:
            continue
        hint = did_you_mean(key, [*accepted, *fit_parameters])
        takes = f"{name} takes: {', '.join(accepted) or 'no keyword arguments'}"
        fit = f"; fit takes: {', '.join(fit_parameters)}" if fit_parameters else ""
        raise TypeError(f"{name}() got an unexpected keyword argument {key!r} from the grid.{hint} {takes}{fit}.")
    for key in sorted(fit_keys & set(given_to_fit)):
        raise TypeError(f"{key!r} is both a grid key and an argument of sweep(); give it in one place: "
                        f"grid={{{key!r}: [...]}} to compare values, or sweep({key}=...) for one value.")
    return fit_keys


def split_config(config: dict, fit_keys) -> tuple[dict, dict]:
    """``(build's keyword arguments, fit's)`` of one config, given the keys that go to ``fit``.

    Example:
        >>> split_config({"units": 8, "batch_size": 32}, {"batch_size"})
        ({'units': 8}, {'batch_size': 32})
    """
    return ({key: value for key, value in config.items() if key not in fit_keys},
            {key: value for key, value in config.items() if key in fit_keys})


def run_seed(sweep_seed: int, index: int) -> int:
    """The seed of run ``index``: drawn from the sweep's seed and the index, so runs differ and repeat.

    Example:
        >>> run_seed(0, 1) == run_seed(0, 1) != run_seed(0, 2)
        True
    """
    return int(np.random.SeedSequence([int(sweep_seed), int(index)]).generate_state(1)[0])
