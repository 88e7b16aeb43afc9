"""LearningRateScheduler through real fits: both schedule signatures, logs, messages and errors."""

import io

import numpy as np
import pytest

from nbtrain.callbacks.learning_rate_scheduler import LearningRateScheduler
from nbtrain.layers import Dense, Input
from nbtrain.models import Sequential
from nbtrain.optimizers import SGD
from nbtrain.optimizers.schedules import ExponentialDecay


def data(n=8):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
    return x, y


def fit(callback, epochs=3, learning_rate=0.1, **kwargs):
    m = Sequential([Input(shape=(3,)), Dense(1)])
    m.compile(optimizer=SGD(learning_rate=learning_rate), loss="mse")
    x, y = data()
    history = m.fit(x, y, epochs=epochs, callbacks=[callback], verbose=0, **kwargs)
    return history, m


def test_two_argument_schedule_receives_the_current_rate():
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, round(lr, 10)))
        return lr * 0.5

    history, m = fit(LearningRateScheduler(schedule))
    assert seen == [(0, 0.1), (1, 0.05), (2, 0.025)]
    assert history.history["learning_rate"] == [0.05, 0.025, 0.0125]
    assert m.optimizer.learning_rate == 0.0125


def test_one_argument_schedule():
    history, _ = fit(LearningRateScheduler(lambda epoch: [0.3, 0.2, 0.1][epoch]))
    assert history.history["learning_rate"] == [0.3, 0.2, 0.1]


def test_type_error_inside_a_two_argument_schedule_is_not_hidden():
    def broken(epoch, lr):
        return lr + "oops"

    with pytest.raises(TypeError, match="unsupported operand"):
        fit(LearningRateScheduler(broken))


def test_ints_and_numpy_numbers_are_accepted():
    history, _ = fit(LearningRateScheduler(lambda epoch: np.float32(0.5) if epoch else 1), epochs=2)
    assert history.history["learning_rate"] == [1.0, 0.5]


def test_a_schedule_must_return_a_number():
    with pytest.raises(ValueError, match="should be a number .* Got: '0.1' \\(str\\) at epoch 0"):
        fit(LearningRateScheduler(lambda epoch, lr: "0.1"))
    with pytest.raises(ValueError, match="Got: None"):
        fit(LearningRateScheduler(lambda epoch, lr: None))


def test_the_scheduled_rate_is_the_one_training_uses():
    m = Sequential([Input(shape=(3,)), Dense(1)])
    m.compile(optimizer=SGD(learning_rate=0.1), loss="mse")
    x, y = data()
    before = m.get_weights()
    m.fit(x, y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(lambda epoch: 0.0)])
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    m.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda epoch: 0.1)])
    assert not np.array_equal(before[0], m.get_weights()[0])


def test_initial_epoch_is_passed_through():
    seen = []
    fit(LearningRateScheduler(lambda epoch: seen.append(epoch) or 0.1), epochs=4, initial_epoch=2)
    assert seen == [2, 3]


def test_verbose_message_matches_keras():
    out = io.StringIO()
    fit(LearningRateScheduler(lambda epoch: 0.01, verbose=1, out=out), epochs=2)
    assert out.getvalue() == ("\nEpoch 1: LearningRateScheduler setting learning rate to 0.01.\n"
                              "\nEpoch 2: LearningRateScheduler setting learning rate to 0.01.\n")


def test_schedule_must_be_callable():
    with pytest.raises(TypeError, match="schedule to be a function"):
        LearningRateScheduler(0.1)


def test_optimizer_with_a_schedule_is_rejected_clearly():
    m = Sequential([Input(shape=(3,)), Dense(1)])
    m.compile(optimizer=SGD(learning_rate=ExponentialDecay(0.1, 10, 0.9)), loss="mse")
    x, y = data()
    with pytest.raises(TypeError, match="LearningRateScheduler sets the learning rate"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda e: 0.1)])


def test_repr_names_the_function():
    def step_decay(epoch):
        return 0.1

    assert repr(LearningRateScheduler(step_decay)) == "LearningRateScheduler(schedule=step_decay)"
