"""Learning-rate schedules: the values checked against Keras 3.15.1 (reference §5.4), config, errors."""

import math

import numpy as np
import pytest

from nbtrain.optimizers import SGD, Adam, schedules


@pytest.mark.parametrize(
    "schedule, steps, expected",
    [
        (schedules.ExponentialDecay(0.1, 2, 0.5), range(5), [0.1, 0.070711, 0.05, 0.035355, 0.025]),
        (schedules.ExponentialDecay(0.1, 2, 0.5, staircase=True), range(5), [0.1, 0.1, 0.05, 0.05, 0.025]),
        (schedules.PiecewiseConstantDecay([2, 4], [1, 0.5, 0.1]), range(7), [1, 1, 1, 0.5, 0.5, 0.1, 0.1]),
        (schedules.PolynomialDecay(1, 10, end_learning_rate=0.1), [0, 5, 10, 20], [1, 0.55, 0.1, 0.1]),
        (schedules.InverseTimeDecay(1, 2, 0.5), [0, 1, 2, 4], [1, 0.8, 0.6667, 0.5]),
        (schedules.InverseTimeDecay(1, 2, 0.5, staircase=True), [0, 1, 2, 3], [1, 1, 0.6667, 0.6667]),
        (schedules.CosineDecay(1, 10), [0, 5, 10, 15], [1, 0.5, 0, 0]),
        (
            schedules.CosineDecay(0, 10, warmup_target=1, warmup_steps=5),
            [0, 1, 5, 10, 15, 20],
            [0, 0.2, 1, 0.5, 0, 0],
        ),
    ],
    ids=["exponential", "exponential_staircase", "piecewise", "polynomial", "inverse_time", "inverse_staircase",
         "cosine", "cosine_warmup"],
)
def test_checked_values(schedule, steps, expected):
    values = [schedule(step) for step in steps]
    assert all(isinstance(v, float) for v in values)
    np.testing.assert_allclose(values, expected, rtol=1e-4, atol=1e-6)


def test_polynomial_cycle_and_power():
    cycling = schedules.PolynomialDecay(1.0, 10, end_learning_rate=0.0, cycle=True)
    # horizon becomes the first multiple of 10 at or after the step: 15 -> 20, so 1 - 15/20 = 0.25
    assert [cycling(s) for s in (0, 5, 10, 15)] == pytest.approx([1.0, 0.5, 0.0, 0.25])
    squared = schedules.PolynomialDecay(1.0, 10, end_learning_rate=0.0, power=2.0)
    assert squared(5) == pytest.approx(0.25)


def test_cosine_alpha_floor():
    schedule = schedules.CosineDecay(2.0, 10, alpha=0.1)
    assert schedule(10) == pytest.approx(0.2)
    assert schedule(5) == pytest.approx(2.0 * (0.9 * 0.5 + 0.1))


def test_cosine_decay_restarts():
    # periods of 10, 20, 40 steps; each restarts at m_mul times the previous peak
    schedule = schedules.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=2.0, m_mul=0.5)
    assert schedule(0) == pytest.approx(1.0)
    assert schedule(5) == pytest.approx(0.5)
    assert schedule(10) == pytest.approx(0.5)  # second period starts at 0.5
    assert schedule(20) == pytest.approx(0.25)  # halfway through the 20-step period
    assert schedule(30) == pytest.approx(0.25)  # third period starts at 0.25
    assert schedule(29.999) == pytest.approx(0.0, abs=1e-6)
    constant_periods = schedules.CosineDecayRestarts(1.0, 4, t_mul=1.0, alpha=0.5)
    assert [constant_periods(s) for s in (0, 2, 4, 6)] == pytest.approx([1.0, 0.75, 1.0, 0.75])


def test_numpy_steps_are_accepted():
    assert schedules.ExponentialDecay(0.1, 2, 0.5)(np.int64(2)) == pytest.approx(0.05)


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.ExponentialDecay(0.1, 1000, 0.96, staircase=True),
        schedules.InverseTimeDecay(0.1, 10, 0.5),
        schedules.PiecewiseConstantDecay([100, 200], [0.1, 0.01, 0.001]),
        schedules.PolynomialDecay(0.1, 1000, 0.01, power=0.5, cycle=True),
        schedules.CosineDecay(0.0, 100, alpha=0.1, warmup_target=0.1, warmup_steps=10),
        schedules.CosineDecayRestarts(0.1, 50, t_mul=1.5, m_mul=0.8, alpha=0.01),
    ],
    ids=lambda s: type(s).__name__,
)
def test_config_and_serialize_round_trip(schedule):
    clone = type(schedule).from_config(schedule.get_config())
    again = schedules.deserialize(schedules.serialize(schedule))
    for step in (0, 7, 60, 150, 500):
        assert clone(step) == schedule(step) == again(step)
    assert clone.get_config() == schedule.get_config()


def test_step_counts_stay_ints_in_config_and_repr():
    schedule = schedules.ExponentialDecay(0.1, 1000, 0.9)
    assert schedule.get_config()["decay_steps"] == 1000 and isinstance(schedule.decay_steps, int)
    assert repr(schedule) == "ExponentialDecay(initial_learning_rate=0.1, decay_steps=1000, decay_rate=0.9, staircase=False)"


def test_invalid_arguments():
    with pytest.raises(ValueError, match=r"`decay_steps` must be > 0\. Received: decay_steps=0"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="one more entry than `boundaries`"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="strictly increasing"):
        schedules.PiecewiseConstantDecay([5, 2], [1.0, 0.5, 0.1])
    with pytest.raises(TypeError, match="must be a number"):
        schedules.CosineDecay("0.1", 10)
    with pytest.raises(ValueError, match="Unknown learning rate schedule: 'ExponentialDecy'. Did you mean 'ExponentialDecay'"):
        schedules.deserialize({"class_name": "ExponentialDecy", "config": {}})


def test_base_class_requires_call():
    with pytest.raises(NotImplementedError, match="__call__"):
        schedules.LearningRateSchedule()(0)


def test_custom_schedule_subclass_drives_an_optimizer():
    class Halving(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 1.0 / 2**step

    optimizer = SGD(learning_rate=Halving())
    w = np.zeros(1, dtype=np.float32)
    for _ in range(3):
        optimizer.apply([np.ones(1, dtype=np.float32)], [w])
    np.testing.assert_allclose(w, [-1.75])


def test_optimizer_uses_schedule_0_on_its_first_update_and_keeps_counting():
    schedule = schedules.PiecewiseConstantDecay([1], [0.5, 0.25])
    optimizer = Adam(learning_rate=schedule)
    w = np.zeros(1, dtype=np.float32)
    rates = []
    for _ in range(4):
        rates.append(optimizer.learning_rate)
        optimizer.apply([np.ones(1, dtype=np.float32)], [w])
    assert rates == [0.5, 0.5, 0.25, 0.25]
    assert math.isclose(optimizer.lr, 0.25)
