"""Helpers for the display tests: a fake clock, a fake model and a fit simulator."""

from __future__ import annotations

from nbtrain.models.outcome import FitOutcome


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 100.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeOptimizer:
    def __init__(self, learning_rate=0.001):
        self.learning_rate = learning_rate


class FakeModel:
    """What the displays read from a model: name, optimizer, stop flags, how the fit ended, metric directions."""

    def __init__(self, name="mlp"):
        self.name = name
        self.optimizer = FakeOptimizer()
        self.stop_training = False
        self.fit_outcome = FitOutcome()

    # The engine's own names, writable here so that tests can play the training loop.
    stop_reason = property(lambda self: self.fit_outcome.reason,
                           lambda self, value: setattr(self.fit_outcome, "reason", value))
    interrupted_at = property(lambda self: self.fit_outcome.interrupted_at,
                              lambda self, value: setattr(self.fit_outcome, "interrupted_at", value))

    def metric_direction(self, name):
        return {"accuracy": "up", "mae": "down"}.get(name)


def fit_params(epochs=3, steps=50, batch_size=32, validation=True):
    return {"verbose": "auto", "epochs": epochs, "steps": steps, "mode": "fit", "samples": steps * batch_size,
            "batch_size": batch_size, "do_validation": validation}


def epoch_logs(epoch: int, validation=True) -> dict:
    logs = {"accuracy": 0.5 + 0.1 * epoch, "loss": 1.0 / (epoch + 1)}
    if validation:
        logs |= {"val_accuracy": 0.45 + 0.1 * epoch - (0.2 if epoch == 2 else 0.0),
                 "val_loss": 1.1 / (epoch + 1) + (0.5 if epoch == 2 else 0.0)}
    return dict(sorted(logs.items()))


def simulate_fit(display, clock, model=None, epochs=3, steps=50, batch_time=0.01, validation=True,
                 stop_at=None, on_batch=None, params=None, validation_steps=1, validation_batch_time=None):
    """Drive ``display`` through the callback events of a fit, advancing ``clock`` by ``batch_time`` per batch
    (``validation_batch_time``, by default the same, per validation batch).

    ``stop_at=(epoch, batch, reason)`` ends early like the engine does: ``"interrupted"`` after that batch,
    ``"stopped"`` after that epoch. Returns the model.
    """
    model = model or FakeModel()
    display.set_model(model)
    display.set_params(params or fit_params(epochs, steps, validation=validation))
    model.stop_reason, model.interrupted_at = "completed", None
    display.on_train_begin()
    try:
        for epoch in range(epochs):
            display.on_epoch_begin(epoch)
            for batch in range(steps):
                display.on_train_batch_begin(batch)
                clock.advance(batch_time)
                display.on_train_batch_end(batch, {"accuracy": 0.5, "loss": 1.0 / (batch + 1)})
                if on_batch:
                    on_batch(epoch, batch)
                if stop_at and stop_at[2] == "interrupted" and (epoch, batch) == stop_at[:2]:
                    model.stop_reason, model.interrupted_at = "interrupted", (epoch, batch + 1)
                    return model
            if validation:
                display.on_test_begin()
                for batch in range(validation_steps):
                    display.on_test_batch_begin(batch)
                    clock.advance(batch_time if validation_batch_time is None else validation_batch_time)
                    display.on_test_batch_end(batch, {"accuracy": 0.5, "loss": 0.5})
                display.on_test_end({})
            display.on_epoch_end(epoch, epoch_logs(epoch, validation))
            if model.stop_training or (stop_at and stop_at[2] == "stopped" and epoch == stop_at[0]):
                model.stop_reason = "stopped"
                return model
        return model
    finally:
        display.on_train_end({})
