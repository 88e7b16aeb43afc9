"""Durations, rates and time per step as text: one set of formatters for the text bar and the dashboard."""

from __future__ import annotations

import math


def format_duration(seconds: float | None) -> str:
    """A short duration for people: ``0.4 s``, ``12 s``, ``1:05`` (min:s), ``1:02:03`` (h:min:s); ``?`` when unknown.

    Example:
        >>> format_duration(65.2)
        '1:05'
    """
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    return _clock(int(round(seconds)))


def format_keras_eta(seconds: float) -> str:
    """A duration as Keras's text bar prints its ETA: ``42s``, ``1:05``, ``1:02:03`` (whole seconds, cut down).

    Example:
        >>> format_keras_eta(42.9), format_keras_eta(65)
        ('42s', '1:05')
    """
    seconds = max(0.0, seconds)
    if seconds > 60:
        return _clock(int(seconds))
    return "%ds" % seconds


def _clock(seconds: int) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` from an hour on."""
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def format_time_per_step(seconds: float | None, unit: str = "step") -> str:
    """Keras's time per step: ``3ms/step``, ``120us/step``, ``2s/step``.

    Example:
        >>> format_time_per_step(0.0031)
        '3ms/step'
    """
    if seconds is None or not math.isfinite(seconds):
        return f"?/{unit}"
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def format_rate(per_second: float | None, unit: str = "samples") -> str:
    """A throughput with three significant digits and thousands separators: ``12,300 samples/s``.

    Example:
        >>> format_rate(12345.6)
        '12,300 samples/s'
    """
    if per_second is None or not math.isfinite(per_second) or per_second <= 0:
        return f"? {unit}/s"
    if per_second >= 100:
        rounded = int(round(per_second, 2 - int(math.floor(math.log10(per_second)))))
        return f"{rounded:,} {unit}/s"
    return f"{per_second:.{1 if per_second >= 10 else 2}f} {unit}/s"


def as_sentence(text: str) -> str:
    """``text`` as a sentence of its own: a capital first letter and a final full stop (kept if it has one).

    Example:
        >>> as_sentence("the loss was nan at epoch 3, batch 7"), as_sentence("ValueError: bad data.")
        ('The loss was nan at epoch 3, batch 7.', 'ValueError: bad data.')
    """
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
