"""Error helpers: every user-facing error names what was received, what was expected and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def closest_match(name: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate most similar to ``name`` (case-insensitive), or None if nothing is close.

    Args:
        name: what the user typed.
        candidates: the valid names.

    Example:
        >>> closest_match("adm", ["adam", "sgd"])
        'adam'
    """
    import difflib   # only when a name is wrong

    candidates = list(candidates)
    by_lower = {c.lower(): c for c in candidates}
    found = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return " Did you mean 'x'?" for the closest candidate, or an empty string.

    Example:
        >>> did_you_mean("metrices", ["metrics", "loss"])
        " Did you mean 'metrics'?"
    """
    match = closest_match(name, candidates)
    return f" Did you mean '{match}'?" if match else ""


def check_keyword_arguments(function_name: str, kwargs: Mapping, allowed: Iterable[str]) -> None:
    """Raise TypeError for the first keyword that ``function_name`` does not take, suggesting the nearest.

    Args:
        function_name: shown in the message, for example ``"compile()"``.
        kwargs: the keyword arguments that were received.
        allowed: the names the function accepts.

    Example:
        >>> check_keyword_arguments("compile()", {"metrices": []}, ["metrics", "loss"])
        Traceback (most recent call last):
        ...
        TypeError: compile() got an unexpected keyword argument 'metrices'. Did you mean 'metrics'?
    """
    allowed = list(allowed)
    for key in kwargs:
        if key not in allowed:
            raise TypeError(
                f"{function_name} got an unexpected keyword argument '{key}'.{did_you_mean(key, allowed)}"
            )


def unknown_name_error(family: str, name: str, known: Iterable[str], plural: str | None = None) -> ValueError:
    """Build the ValueError for a string that names no known object of ``family``.

    Example:
        >>> str(unknown_name_error("optimizer", "adm", ["adam", "sgd"]))  # doctest: +ELLIPSIS
        "Unknown optimizer: 'adm'. Did you mean 'adam'? Known optimizers: 'adam', 'sgd'."
    """
    known = sorted(set(known))
    listing = ", ".join(f"'{k}'" for k in known)
    plural = plural or (family + "es" if family.endswith("s") else family + "s")
    return ValueError(f"Unknown {family}: '{name}'.{did_you_mean(name, known)} Known {plural}: {listing}.")


def missing_name_error(module: str, name: str, available: Iterable[str],
                       not_in_nbtrain: Mapping[str, str]) -> AttributeError:
    """The AttributeError for ``module.name`` that does not exist: a Keras name nbtrain lacks gets what to use
    instead, a typo gets the nearest name.

    Args:
        module: for the message, e.g. ``"nbtrain.layers"``.
        name: the attribute asked for.
        available: the module's public names.
        not_in_nbtrain: Keras names nbtrain does not have, each with what to do instead.

    Example:
        >>> print(missing_name_error("nbtrain.callbacks", "TensorBoard", [], {"TensorBoard": "Use CSVLogger."}))
        nbtrain.callbacks has no TensorBoard (Keras has one; nbtrain does not). Use CSVLogger.
    """
    if name in not_in_nbtrain:
        return AttributeError(f"{module} has no {name} (Keras has one; nbtrain does not). {not_in_nbtrain[name]}")
    return AttributeError(f"module '{module}' has no attribute '{name}'.{did_you_mean(name, available)}")
