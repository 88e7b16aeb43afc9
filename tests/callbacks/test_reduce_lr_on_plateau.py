"""ReduceLROnPlateau through real fits: patience, factor, cooldown, min_lr, min_delta, logs and errors."""

import io

import numpy as np
import pytest

from nbtrain.callbacks.lambda_callback import LambdaCallback
from nbtrain.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from nbtrain.layers import Dense, Input
from nbtrain.models import Sequential
from nbtrain.optimizers import SGD
from nbtrain.optimizers.schedules import ExponentialDecay


def data(n=8):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
    return x, y


def model(learning_rate=0.1):
    m = Sequential([Input(shape=(3,)), Dense(1)])
    m.compile(optimizer=SGD(learning_rate=learning_rate), loss="mse", metrics=["mae"])
    return m


def feed(values, key="score"):
    def on_epoch_end(epoch, logs):
        logs[key] = values[epoch]
    return LambdaCallback(on_epoch_end=on_epoch_end)


def rates(values, epochs=None, learning_rate=0.1, **kwargs):
    """The learning rate logged in each epoch of a fit whose monitored 'score' takes ``values``."""
    m = model(learning_rate)
    x, y = data()
    kwargs.setdefault("monitor", "score")
    kwargs.setdefault("mode", "min")
    history = m.fit(x, y, epochs=epochs or len(values), verbose=0,
                    callbacks=[feed(values), ReduceLROnPlateau(**kwargs)])
    return [round(r, 10) for r in history.history["learning_rate"]], m


def test_learning_rate_drops_on_a_plateau():
    logged, m = rates([1.0, 0.5, 0.5, 0.5, 0.5, 0.5], factor=0.5, patience=2)
    # Two epochs without improvement (epochs 2 and 3) -> reduce at the end of epoch 3 (index 3), and again at 5.
    assert logged == [0.1, 0.1, 0.1, 0.1, 0.05, 0.05]
    assert m.optimizer.learning_rate == pytest.approx(0.025)


def test_real_val_loss_plateau_lowers_the_optimizer_rate():
    # A rate this small cannot move float32 weights, so val_loss is exactly constant: a plateau from epoch 2 on.
    m = model(learning_rate=1e-30)
    x, y = data()
    history = m.fit(x, y, epochs=3, validation_data=data(4), verbose=0,
                    callbacks=[ReduceLROnPlateau(factor=0.5, patience=1)])
    assert history.history["learning_rate"] == [1e-30, 1e-30, 5e-31]
    assert m.optimizer.learning_rate == pytest.approx(2.5e-31)


def test_cooldown_pauses_counting_after_a_reduction():
    logged, _ = rates([1.0] * 7, factor=0.5, patience=1, cooldown=2)
    # Keras's order: the cooldown counter drops before the check, so cooldown=2 skips counting for one epoch.
    # Reduce at the end of epoch 1, cool down in epoch 2, reduce at 3, cool down at 4, reduce at 5.
    # (Each logged rate is the one used in that epoch, before that epoch's reduction.)
    assert logged == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]
    logged, _ = rates([1.0] * 7, factor=0.5, patience=1)
    assert logged == [0.1, 0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125]


def test_min_lr_is_a_floor():
    logged, m = rates([1.0] * 5, factor=0.1, patience=0, min_lr=0.005)
    assert logged == [0.1, 0.1, 0.01, 0.005, 0.005]


def test_min_delta_requires_a_real_improvement():
    logged, _ = rates([1.0, 0.99, 0.98, 0.97], factor=0.5, patience=1, min_delta=0.05)
    assert logged == [0.1, 0.1, 0.05, 0.025]
    logged, _ = rates([1.0, 0.9, 0.8, 0.7], factor=0.5, patience=1, min_delta=0.05)
    assert logged == [0.1] * 4


def test_mode_max_for_scores():
    logged, _ = rates([0.1, 0.2, 0.3, 0.3], factor=0.5, patience=1, mode="max")
    assert logged == [0.1, 0.1, 0.1, 0.1]


def test_mode_auto_maximises_accuracy():
    m = Sequential([Input(shape=(3,)), Dense(1, activation="sigmoid")])
    m.compile(optimizer=SGD(learning_rate=0.1), loss="binary_crossentropy", metrics=["accuracy"])
    x, _ = data()
    y = (x[:, :1] > 0).astype(np.float32)
    # Rising accuracy is an improvement under mode='auto', so the rate never drops.
    history = m.fit(x, y, epochs=4, verbose=0, callbacks=[
        feed([0.5, 0.6, 0.7, 0.8], "val_accuracy"), ReduceLROnPlateau(monitor="val_accuracy", patience=0)])
    assert history.history["learning_rate"] == [0.1] * 4


def test_verbose_message_matches_keras():
    out = io.StringIO()
    rates([1.0, 1.0], factor=0.5, patience=1, verbose=1, out=out)
    assert out.getvalue() == "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.05.\n"


def test_missing_monitor_warns_and_still_logs_the_rate():
    m = model()
    x, y = data()
    with pytest.warns(UserWarning, match="conditioned on metric `val_loss` which is not available"):
        history = m.fit(x, y, epochs=2, verbose=0, callbacks=[ReduceLROnPlateau(patience=0)])
    assert history.history["learning_rate"] == [0.1, 0.1]


def test_factor_of_one_or_more_raises():
    with pytest.raises(ValueError, match="does not support a factor >= 1.0. Received factor=1.0"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=-0.5)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="mode to be 'auto', 'min' or 'max', got 'lower'"):
        ReduceLROnPlateau(mode="lower")
    with pytest.raises(ValueError, match="patience to be an integer >= 0"):
        ReduceLROnPlateau(patience=-1)
    with pytest.raises(ValueError, match="cooldown"):
        ReduceLROnPlateau(cooldown=1.5)
    with pytest.raises(ValueError, match="min_lr >= 0.0"):
        ReduceLROnPlateau(min_lr=-1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'patiance'. Did you mean 'patience'"):
        ReduceLROnPlateau(patiance=3)


def test_legacy_epsilon_is_min_delta():
    with pytest.warns(UserWarning, match="use min_delta"):
        assert ReduceLROnPlateau(epsilon=0.01).min_delta == 0.01


def test_a_schedule_optimizer_is_rejected_with_a_clear_error():
    m = Sequential([Input(shape=(3,)), Dense(1)])
    m.compile(optimizer=SGD(learning_rate=ExponentialDecay(0.1, 10, 0.9)), loss="mse")
    x, y = data()
    with pytest.raises(TypeError, match="ReduceLROnPlateau sets the learning rate, but this SGD was created with"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[ReduceLROnPlateau()])


def test_state_resets_at_each_fit():
    plateau = ReduceLROnPlateau(monitor="loss", patience=3)
    plateau.wait, plateau.cooldown_counter, plateau.best = 2, 1, 0.0
    m = model()
    x, y = data()
    m.fit(x, y, epochs=1, verbose=0, callbacks=[plateau])
    assert plateau.wait == 0 and plateau.best == m.history.history["loss"][0]


def test_repr_is_short():
    assert repr(ReduceLROnPlateau()) == "ReduceLROnPlateau(monitor='val_loss', factor=0.1, patience=10, min_lr=0.0)"
