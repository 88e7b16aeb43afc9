"""What a progress display knows about a run, kept apart from how it is drawn.

:class:`RunState` follows the callback events of one ``fit``, ``evaluate`` or ``predict`` call and answers the
questions every front end asks (where are we, how fast, how long to go, what is the best epoch so far). It is
pure Python with an explicit ``now`` on every event, so tests drive it with made-up times.
"""

from __future__ import annotations

from nbtrain.display.format import best_index, end_description, guess_direction, metric_families


class RunState:
    """The state of one fit/evaluate/predict call, updated from callback events.

    Args:
        mode: ``"fit"``, ``"evaluate"`` or ``"predict"``.
        params: the callback ``params`` (``epochs``, ``steps``, ``samples``, ``batch_size``, ...).
        model_name: shown in titles.
        direction: function from a metric name to ``'up'``, ``'down'`` or None (``model.metric_direction``).

    Example:
        >>> s = RunState("fit", {"epochs": 2, "steps": 10, "batch_size": 32}, "mlp")
        >>> s.begin(now=0.0); s.epoch_begin(0, now=0.0); s.batch_end(0, {"loss": 0.9}, now=0.1)
        >>> s.batches_done, s.time_per_step()
        (1, 0.1)
    """

    def __init__(self, mode: str, params: dict, model_name: str = "model", direction=None):
        self.mode = mode
        self.params = dict(params or {})
        self.model_name = model_name
        self._direction = direction
        self.epochs = int(self.params.get("epochs") or 1)
        self.steps = self.params.get("steps")
        self.batch_size = self.params.get("batch_size")
        self.samples = self.params.get("samples")
        self.start_time = None
        self.end_time = None
        self.now = None
        self.epoch = None                # index of the epoch running (or last run)
        self.first_epoch = None
        self.batches_done = 0            # in the current epoch
        self.total_batches_done = 0      # in this call
        self._raw_batch_logs: dict = {}
        self.epoch_logs: list[dict] = []     # one dict per finished epoch, in order
        self.epoch_indices: list[int] = []
        self.learning_rate = None
        self.reason = None
        self.stopped_at = None
        self.error = None
        self.detail = None               # who stopped training and why (model.fit_outcome.detail)
        self.stopped_by_button = False
        self.stop_requested = False
        self.validating = False
        self._epoch_start = None
        self._first_batch_end = None     # the first batch pays one-off costs; rates are measured after it
        self._last_batch_end = None
        self._batches_at_first_end = 0
        self._epoch_durations: list[float] = []

    # ----- events ---------------------------------------------------------------------------------------------
    def begin(self, now: float) -> None:
        self.start_time = self.now = now

    def epoch_begin(self, epoch: int, now: float) -> None:
        self.now = now
        if self.first_epoch is None:
            self.first_epoch = epoch
        self.epoch = epoch
        self.batches_done = 0
        self._raw_batch_logs = {}
        self._epoch_start = now
        self.validating = False
        # step times are measured within the epoch (as Keras does), so validation time is not counted
        self._first_batch_end = self._last_batch_end = None
        self._batches_at_first_end = self.total_batches_done

    def batch_end(self, batch: int, logs: dict | None, now: float) -> None:
        self.now = self._last_batch_end = now
        self.batches_done = batch + 1
        self.total_batches_done += 1
        if logs:
            self._raw_batch_logs = logs      # filtered when read: this runs on every batch
        if self._first_batch_end is None:
            self._first_batch_end = now
            self._batches_at_first_end = self.total_batches_done

    def epoch_end(self, epoch: int, logs: dict | None, now: float) -> None:
        self.now = now
        self.validating = False
        self.epoch_indices.append(epoch)
        self.epoch_logs.append({k: float(v) for k, v in (logs or {}).items() if _is_number(v)})
        if self._epoch_start is not None:
            self._epoch_durations.append(now - self._epoch_start)

    def end(self, now: float, reason: str | None = None, stopped_at=None, error: str | None = None,
            detail: str | None = None) -> None:
        self.now = self.end_time = now
        self.reason = reason
        self.stopped_at = stopped_at
        self.error = error
        self.detail = detail

    @property
    def batch_logs(self) -> dict:
        """The running metrics of the current epoch (numbers only)."""
        return {k: v for k, v in self._raw_batch_logs.items() if _is_number(v)}

    # ----- timing ---------------------------------------------------------------------------------------------
    def elapsed(self) -> float:
        if self.start_time is None or self.now is None:
            return 0.0
        return max(0.0, self.now - self.start_time)

    def time_per_step(self) -> float | None:
        """Seconds per batch, measured after the first batch once there is more than one."""
        if self.total_batches_done == 0 or self._last_batch_end is None:
            return None
        counted = self.total_batches_done - self._batches_at_first_end
        if counted > 0:
            return (self._last_batch_end - self._first_batch_end) / counted
        begin = self._epoch_start if self._epoch_start is not None else self.start_time
        return (self._last_batch_end - begin) / max(1, self.batches_done)

    def samples_per_second(self) -> float | None:
        per_step = self.time_per_step()
        if not per_step or not self.batch_size:
            return None
        return self.batch_size / per_step

    def epoch_eta(self) -> float | None:
        """Seconds left in the current epoch's batches, or None when the number of steps is unknown."""
        per_step = self.time_per_step()
        if per_step is None or not self.steps:
            return None
        return max(0, self.steps - self.batches_done) * per_step

    def total_eta(self) -> float | None:
        """Seconds left in the whole call, from the measured step time and the epoch durations so far."""
        if self.epoch is None:
            return None
        recent = self._epoch_durations[-3:]
        per_epoch = sum(recent) / len(recent) if recent else None
        epoch_eta = self.epoch_eta()
        if epoch_eta is None:
            if per_epoch is None or self.batches_done:
                return None
            epoch_eta = per_epoch     # an epoch just begun, no batch of it measured yet: as long as the last ones
        later = self.epochs - (self.epoch + 1)
        if later <= 0:
            return epoch_eta
        if per_epoch is None:
            per_epoch = self.time_per_step() * self.steps
        return epoch_eta + later * per_epoch

    # ----- history --------------------------------------------------------------------------------------------
    @property
    def epochs_done(self) -> int:
        return len(self.epoch_logs)

    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for logs in self.epoch_logs for k in logs))

    def families(self):
        return metric_families(self.keys() or list(self.batch_logs))

    def series(self, key: str) -> tuple[list[int], list[float]]:
        """1-based epoch numbers and values of one log key (validation keys may skip epochs)."""
        xs, ys = [], []
        for epoch, logs in zip(self.epoch_indices, self.epoch_logs):
            if key in logs:
                xs.append(epoch + 1)
                ys.append(logs[key])
        return xs, ys

    def history(self) -> dict[str, list[float]]:
        return {key: self.series(key)[1] for key in self.keys()}

    def direction(self, key: str) -> str | None:
        name = key[4:] if key.startswith("val_") else key
        found = None
        if self._direction is not None:
            try:
                found = self._direction(name)
            except Exception:  # a display must never break training
                found = None
        if name == "loss" or name.endswith("_loss"):
            return "down"
        return found or guess_direction(name)

    def best(self, key: str) -> tuple[int, float] | None:
        """``(1-based epoch, value)`` of the best value of ``key`` so far, or None."""
        xs, ys = self.series(key)
        i = best_index(ys, self.direction(key))
        return None if i is None else (xs[i], ys[i])

    def monitored_key(self) -> str | None:
        """The key whose best epoch the plot marks: ``val_loss`` when validating, else ``loss``."""
        keys = self.keys()
        for key in ("val_loss", "loss"):
            if key in keys:
                return key
        return keys[0] if keys else None

    def end_text(self, took: str | None = None) -> str:
        """How the run ended (see :func:`~nbtrain.display.format.end_description`); ``took`` ends its clause."""
        return end_description(self.reason, epochs_done=self.epochs_done, epochs=self.epochs,
                               at=self.stopped_at, steps=self.steps, error=self.error,
                               by_button=self.stopped_by_button, detail=self.detail, took=took)


def _is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
