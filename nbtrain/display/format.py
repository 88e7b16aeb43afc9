"""Pure text formatting for the progress displays: durations, rates, metric values and names, how a run ended.

Nothing here imports IPython, ipywidgets or matplotlib, and nothing reads a clock: every function takes the
numbers it formats, so the text is the same in a terminal, a widget, an HTML table and a test.
"""

from __future__ import annotations

import html
import math

from nbtrain.callbacks.formatting import (as_sentence, format_duration, format_rate,  # noqa: F401 (shared)
                                         format_time_per_step)

# Name fragments that say which way a metric improves, for metrics the model cannot tell us about.
_UP_WORDS = ("acc", "auc", "precision", "recall", "f1", "iou", "r2", "score")
_DOWN_WORDS = ("loss", "error", "mse", "mae", "mape", "msle", "hinge", "crossentropy", "divergence", "poisson")


def format_metric(value) -> str:
    """Four decimals, or scientific notation for tiny magnitudes (Keras's rule); ``nan`` and ``inf`` as such.

    Example:
        >>> format_metric(0.123456)
        '0.1235'
    """
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.4e}"


def format_learning_rate(value) -> str:
    """A learning rate as people write it: ``0.001``, ``3e-05``.

    Example:
        >>> format_learning_rate(0.001)
        '0.001'
    """
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return "?"


def pretty_name(key: str) -> str:
    """The label of a log key in tables and plot titles: ``val_loss`` -> ``loss``, ``mean_absolute_error`` kept.

    Example:
        >>> pretty_name("val_accuracy")
        'accuracy'
    """
    return key[4:] if key.startswith("val_") else key


def metric_families(keys) -> list[tuple[str, str | None, str | None]]:
    """Pair each training key with its validation key: ``[(family, train_key, val_key), ...]``.

    The loss comes first, then the other metrics in the order their keys first appear. A family with only a
    ``val_`` key (rare) keeps ``train_key=None``.

    Example:
        >>> metric_families(["accuracy", "loss", "val_accuracy", "val_loss"])
        [('loss', 'loss', 'val_loss'), ('accuracy', 'accuracy', 'val_accuracy')]
    """
    keys = list(dict.fromkeys(keys))
    names = list(dict.fromkeys(pretty_name(k) for k in keys))
    names.sort(key=lambda n: (n != "loss", not n.endswith("_loss")))  # stable: keeps first-seen order otherwise
    present = set(keys)
    return [(n, n if n in present else None, f"val_{n}" if f"val_{n}" in present else None) for n in names]


def guess_direction(name: str) -> str | None:
    """'up' or 'down' from a metric's name when the model cannot say; None when the name gives no hint.

    Example:
        >>> guess_direction("val_accuracy")
        'up'
    """
    name = pretty_name(name).lower()
    if any(word in name for word in _DOWN_WORDS):
        return "down"
    if any(word in name for word in _UP_WORDS):
        return "up"
    return None


def best_index(values, direction: str | None) -> int | None:
    """Index of the best finite value (first one on ties), or None without a direction or finite values.

    Example:
        >>> best_index([0.5, 0.3, 0.3, 0.4], "down")
        1
    """
    if direction not in ("up", "down"):
        return None
    best = None
    for i, value in enumerate(values):
        if value is None or not math.isfinite(value):
            continue
        if best is None or (value > values[best] if direction == "up" else value < values[best]):
            best = i
    return best


def end_description(reason: str | None, *, epochs_done: int, epochs: int, at: tuple[int, int] | None = None,
                    steps: int | None = None, error: str | None = None, by_button: bool = False,
                    detail: str | None = None, took: str | None = None) -> str:
    """How training ended: ``completed 20 epochs in 3.1 s``, ``interrupted at epoch 3, batch 12/50``.

    One clause, then (when there is more to say) whole sentences: who stopped training and why, or the error.
    ``took`` (``"in 3.1 s (2ms/step)"``) goes at the end of the clause, so it never runs into the error text.

    Args:
        reason: ``model.fit_outcome.reason``: ``completed``, ``stopped``, ``interrupted`` or ``error``.
        epochs_done: epochs that reached ``on_epoch_end``.
        epochs: epochs requested in this fit call.
        at: ``(epoch index, batches completed)`` where training stopped, when known (shown 1-based).
        steps: batches per epoch, to say "batch 12/50".
        error: the exception text, for ``error``.
        by_button: the Stop button (not a callback) asked to stop.
        detail: ``model.fit_outcome.detail``: who stopped training and why, for ``stopped``.
        took: how long it took, appended to the first clause.

    Example:
        >>> end_description("interrupted", epochs_done=2, epochs=10, at=(2, 12), steps=50)
        'interrupted at epoch 3, batch 12/50'
        >>> end_description("error", epochs_done=2, epochs=10, at=(2, 12), steps=50, error="ValueError: bad data",
        ...                 took="in 0.4 s")
        'ended by an error at epoch 3, batch 12/50 in 0.4 s. ValueError: bad data.'
    """
    clause, more = _end_clause(reason, epochs_done, epochs, at, steps, error, by_button, detail)
    if took:
        clause = f"{clause} {took}"
    return f"{clause}. {as_sentence(more)}" if more else clause


def _end_clause(reason, epochs_done, epochs, at, steps, error, by_button, detail) -> tuple[str, str | None]:
    """The first clause of :func:`end_description` and the sentence that follows it (or None)."""
    where = ""
    if at is not None:
        epoch, batch = at
        where = f"epoch {epoch + 1}, batch {batch}" + (f"/{steps}" if steps else "")
    if reason == "completed":
        return f"completed {epochs_done} epoch{'s' if epochs_done != 1 else ''}", None
    if reason == "stopped":
        if by_button:
            return f"stopped with the Stop button after {epochs_done} of {epochs} epochs", None
        if detail:
            return f"stopped early after {epochs_done} of {epochs} epochs", detail
        return f"stopped early by a callback after {epochs_done} of {epochs} epochs", None
    if reason == "interrupted":
        return (f"interrupted at {where}" if where else "interrupted"), None
    if reason == "error":
        return (f"ended by an error at {where}" if where else "ended by an error"), error
    return "ended", None


def escape(text) -> str:
    """HTML-escape any value's ``str``."""
    return html.escape(str(text), quote=True)
