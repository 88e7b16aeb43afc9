"""A time-based rate limit that backs off when drawing gets expensive."""

from __future__ import annotations


class Throttle:
    """Says when enough time has passed to draw again.

    The interval grows when drawing is slow, so drawing never takes more than ``budget`` of the wall time:
    a plot that takes 40 ms to render with ``budget=0.02`` is drawn at most every 2 s. The cost that counts is
    the least of the last ``cost_window`` draws, what a draw costs when nothing else gets in the way: one slow
    draw (a garbage collection, a busy moment of the machine) does not hold the next ones back, while drawing
    that stays slow does.

    ``max_interval`` keeps a display alive when its draws are slower than the budget allows: the interval
    stops growing at ``max_interval`` unless drawing that often would cost more than ``max_budget``, and
    only ``cost_window`` slow draws in a row can push it further.

    Args:
        interval: the shortest time between draws, in seconds.
        budget: the fraction of wall time drawing should use; None disables the back-off.
        max_interval: the longest time between draws while they cost at most ``max_budget``; None: no limit.
        max_budget: the fraction of wall time that keeping to ``max_interval`` may use (default ``budget``).
        cost_window: how many recent costs the least is taken over.

    Example:
        >>> t = Throttle(0.1)
        >>> t.due(0.0), t.mark(0.0), t.due(0.05), t.due(0.1)
        (True, None, False, True)
        >>> t = Throttle(1.0, budget=0.015, max_interval=2.0, max_budget=0.05)
        >>> t.mark(0.0, cost=0.06); t.interval      # 4 s would keep to 1.5%; 2 s costs 3%, within 5%
        2.0
        >>> for _ in range(3): t.mark(0.0, cost=0.2)
        >>> t.interval                              # three 200 ms draws in a row: every 4 s keeps to 5%
        4.0
    """

    def __init__(self, interval: float, budget: float | None = None, max_interval: float | None = None,
                 max_budget: float | None = None, cost_window: int = 3):
        self.base_interval = float(interval)
        self.budget = budget
        self.max_interval = max_interval
        self.max_budget = max_budget if max_budget is not None else budget
        self.cost_window = cost_window
        self.reset()

    def due(self, now: float) -> bool:
        # a microsecond of slack: 0.1 s steps of a float clock must not be read as 0.0999999 s
        return self.last is None or now - self.last >= self.interval - 1e-6

    def mark(self, now: float, cost: float | None = None) -> None:
        """Record a draw at ``now`` that took ``cost`` seconds; None for a draw whose cost should not count
        (a one-time cost such as building a figure)."""
        self.last = now
        self.count += 1
        if cost is not None and self.budget:
            self.costs = (self.costs + [cost])[-self.cost_window:]
            self.interval = self._interval_for(min(self.costs))

    def _interval_for(self, cost: float) -> float:
        interval = max(self.base_interval, cost / self.budget)
        if self.max_interval is not None:
            # as often as every max_interval while that stays within max_budget, more rarely beyond, once the
            # whole window of draws has shown it (the first draws after a build are often the slowest)
            longest = cost / self.max_budget if len(self.costs) >= self.cost_window else 0.0
            interval = min(interval, max(self.max_interval, longest))
        return interval

    def reset(self) -> None:
        """Forget the previous run: no draw yet, no measured cost, the base interval."""
        self.last = None
        self.count = 0
        self.costs: list[float] = []
        self.interval = self.base_interval
