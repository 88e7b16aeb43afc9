"""A time-based rate limit that backs off when drawing gets expensive."""

from __future__ import annotations


class Throttle:
    """Says when enough time has passed to draw again.

    The interval grows when a draw is slow, so drawing never takes more than ``budget`` of the wall time:
    a plot that takes 40 ms to render with ``budget=0.02`` is drawn at most every 2 s.

    Args:
        interval: the shortest time between draws, in seconds.
        budget: the largest fraction of wall time drawing may use; None disables the back-off.

    Example:
        >>> t = Throttle(0.1)
        >>> t.due(0.0), t.mark(0.0), t.due(0.05), t.due(0.1)
        (True, None, False, True)
    """

    def __init__(self, interval: float, budget: float | None = None):
        self.base_interval = float(interval)
        self.interval = float(interval)
        self.budget = budget
        self.last = None
        self.count = 0

    def due(self, now: float) -> bool:
        # a microsecond of slack: 0.1 s steps of a float clock must not be read as 0.0999999 s
        return self.last is None or now - self.last >= self.interval - 1e-6

    def mark(self, now: float, cost: float | None = None) -> None:
        """Record a draw at ``now`` that took ``cost`` seconds (when measured)."""
        self.last = now
        self.count += 1
        if cost is not None and self.budget:
            self.interval = max(self.base_interval, cost / self.budget)

    def reset(self) -> None:
        self.last = None
