"""Checks of user-given arguments at the boundary, with messages that name the argument and its owner.

Every numeric argument goes through :func:`number`: one place decides what counts as a number (ints welcome where
floats are meant, never a bool, never NaN) and how a range is written. Families of classes that mirror another
library's messages word them through a :class:`Wording`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Wording:
    """How a family of classes words a rejected number: two message templates and the error for a wrong type.

    The templates can use ``{owner}``, ``{what}``, ``{value}`` (the repr of what was passed), ``{type}`` (its
    type's name), ``{kind}`` (``a number``, ``an integer``, with `` or None`` where None is allowed),
    ``{bound}`` (the range alone: ``in [0, 1)``, ``>= 0``) and ``{expected}`` (both: ``a number in [0, 1)``).

    Args:
        wrong_type: the message for something that is not a number (or not an integer, where one is needed).
        out_of_range: the message for a number outside the range.
        type_error: the exception raised for a wrong type (a number out of range always raises ValueError).
    """

    wrong_type: str
    out_of_range: str
    type_error: type[Exception] = TypeError


#: nbtrain's own voice (see DESIGN.md): ``Dense() expects units to be a positive integer, got 0.``. Keras raises
#: ValueError for a wrong type here too (``Dense(units="4")``), so nbtrain does.
EXPECTS = Wording(wrong_type="{owner}() expects {what} to be {expected}, got {value}.",
                  out_of_range="{owner}() expects {what} to be {expected}, got {value}.",
                  type_error=ValueError)

#: Keras's voice, kept where nbtrain gives Keras's messages (optimizers, learning-rate schedules):
#: ``SGD: `momentum` must be in [0, 1]. Received: momentum=1.5.``
KERAS = Wording(wrong_type="{owner}: `{what}` must be {expected}. Received: {what}={value} ({type}).",
                out_of_range="{owner}: `{what}` must be {bound}. Received: {what}={value}.")


def number(value, what: str, owner: str, *, low=None, high=None, low_open=False, high_open=False,
           integer=False, finite=False, optional=False, wording: Wording = EXPECTS):
    """``value`` as a float (an int with ``integer=True``) after checking it, or an error that says what was wrong.

    Ints are welcome where floats are meant (``momentum=0``); bools and NaN are never numbers. Bounds are
    written in messages as they are given here (``low=0`` shows ``0``, ``low=0.0`` shows ``0.0``).

    Args:
        value: what the user passed.
        what: the argument's name, as the user wrote it.
        owner: the class or function that takes it, e.g. ``"Dense"``.
        low, high: the bounds, None for none; ``low_open``/``high_open`` exclude the bound itself.
        integer: only Python or NumPy integers (not ``2.0``); the result is an int.
        finite: reject infinities too.
        optional: let None through (returned as None); a string says what None means in the message,
            e.g. ``"for no upper limit"``.
        wording: the messages' voice; nbtrain's own (:data:`EXPECTS`) unless a family mirrors another library.

    Example:
        >>> number(0, "momentum", "SGD", low=0, high=1)
        0.0
        >>> number(1.5, "rate", "Dropout", low=0, high=1)
        Traceback (most recent call last):
        ...
        ValueError: Dropout() expects rate to be a number in [0, 1], got 1.5.
    """
    if value is None and optional:
        return None
    numeric = is_int(value) if integer else _is_real(value)
    if numeric and _in_range(value, low, high, low_open, high_open, finite):
        return int(value) if integer else float(value)
    if numeric and (low is not None or high is not None or finite):
        template, error = wording.out_of_range, ValueError
    else:  # not a number (a NaN where any number would do is not one either); a NaN or a 2.5 is a ValueError
        template, error = wording.wrong_type, ValueError if _is_real(value) else wording.type_error
    bound = _bound_text(low, high, low_open, high_open)
    kind, expected = _expectation(bound, low, high, low_open, integer, finite, optional)
    raise error(template.format(owner=owner, what=what, value=repr(value), type=type(value).__name__, kind=kind,
                                bound=bound, expected=expected))


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _in_range(value, low, high, low_open, high_open, finite) -> bool:
    if math.isnan(value) or (finite and math.isinf(value)):
        return False
    above = low is None or (value > low if low_open else value >= low)
    below = high is None or (value < high if high_open else value <= high)
    return above and below


def _expectation(bound, low, high, low_open, integer, finite, optional) -> tuple[str, str]:
    """The kind of value wanted (``a number or None``) and the whole expectation (``a number in [0, 1)``)."""
    kind = "an integer" if integer else "a finite number" if finite else "a number"
    positive = integer and high is None and (low, low_open) in ((1, False), (0, True))
    expected = "a positive integer" if positive else f"{kind} {bound}".rstrip()
    if optional:
        kind += " or None"
        expected += f", or None {optional}" if isinstance(optional, str) else " or None"
    return kind, expected


def _bound_text(low, high, low_open, high_open) -> str:
    """``in [0, 1)``, ``> 0``, ``<= 1`` or nothing, with the bounds as given."""
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high}"
    return ""


def is_int(value) -> bool:
    """A Python or NumPy integer, and not a bool (``True`` is an int to Python, never a count to a user)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def positive_int(value, what: str, owner: str) -> int:
    """``value`` as an int >= 1, or a ValueError like ``Dense() expects units to be a positive integer, got 0.``

    Example:
        >>> positive_int(3, "units", "Dense")
        3
    """
    return number(value, what, owner, low=1, integer=True)


def one_of(value, allowed: Sequence[str], what: str, owner: str):
    """``value`` if it is in ``allowed``, or a ValueError naming the choices and the nearest one.

    Example:
        >>> one_of("post", ("pre", "post"), "padding", "pad_sequences")
        'post'
        >>> one_of("pots", ("pre", "post"), "padding", "pad_sequences")
        Traceback (most recent call last):
        ...
        ValueError: pad_sequences() expects padding to be 'pre' or 'post', got 'pots'. Did you mean 'post'?
    """
    if value in allowed:
        return value
    from nbtrain.utils.errors import did_you_mean

    quoted = [f"'{a}'" for a in allowed]
    choices = " or ".join(quoted) if len(quoted) == 2 else "one of " + ", ".join(quoted)
    raise ValueError(f"{owner}() expects {what} to be {choices}, got {value!r}.{did_you_mean(str(value), allowed)}")
