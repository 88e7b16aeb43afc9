"""The playground's logic without a front end: frames sized by a fake clock, pause within one batch, what each
setting resets, the thread ending on pause and close."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from nbtrain.widgets.controller import MAX_EPOCHS_PER_FRAME, PlayLoop, PlaygroundConfig, PlaygroundSession


class TickingClock:
    """A clock that moves ``tick`` seconds each time it is read (the training loop reads it around each fit)."""

    def __init__(self, tick=0.0):
        self.now, self.tick = 0.0, tick

    def __call__(self):
        self.now += self.tick
        return self.now


def small_session(clock=None, **settings):
    config = PlaygroundConfig(**({"dataset": "xor", "samples": 80, "hidden": [3]} | settings))
    return PlaygroundSession(config, clock=clock or TickingClock())


def test_a_step_is_one_real_epoch_of_fit_recorded_in_one_history():
    session = small_session()
    weights = [w.copy() for w in session.model.get_weights()]
    session.step()
    session.step()
    assert session.epoch == 2 and session.history.epoch == [0, 1]
    assert set(session.history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert session.model.history is session.history          # plot_history(model) shows every epoch
    assert not all(np.array_equal(a, b) for a, b in zip(weights, session.model.get_weights()))
    assert session.model.optimizer.iterations == 2 * int(np.ceil(40 / 10))    # 40 training points, batches of 10


def test_frames_hold_as_many_epochs_as_fit_in_the_frame_budget():
    clock = TickingClock(tick=0.002)           # each fit reads the clock twice: ~2 ms an epoch, measured
    session = small_session(clock)
    assert session.epochs_per_frame() == 1     # nothing measured yet
    session.frame()
    budget = session.frame_seconds * session.train_share
    assert session.epochs_per_frame() == int(budget / session.epoch_seconds)
    clock.tick = 1.0                           # epochs slower than a frame: still one epoch a frame
    session.frame()
    session.frame()
    assert session.epochs_per_frame() == 1
    clock.tick = 1e-6                          # the running average forgets the slow epochs by halves
    for _ in range(12):
        session.frame()
    assert session.epochs_per_frame() == MAX_EPOCHS_PER_FRAME


def test_pause_takes_effect_within_one_batch():
    session = small_session()
    batches = []
    from nbtrain.callbacks import LambdaCallback

    def on_batch(batch, logs):
        batches.append(batch)
        if len(batches) == 2:
            session.pause_requested = True     # what Pause does from the kernel's thread

    session._control_extra = LambdaCallback(on_train_batch_end=on_batch)
    original_fit = session.model.fit
    # the request arrives while batch 2 runs (here: before the playground's own callback sees its end)
    session.model.fit = lambda *a, **k: original_fit(*a, **(k | {"callbacks": [session._control_extra] +
                                                                k["callbacks"]}))
    session.train(5)
    # stopped after the batch that saw the request (fit closes the epoch it was in, as Keras does)
    assert len(batches) == 2 and session.epoch == 1


def test_data_feature_and_network_changes_rebuild_the_model():
    session = small_session()
    session.step()
    for change in ({"hidden": [4, 2]}, {"features": ["x1", "x2", "x1*x2"]}, {"activation": "relu"},
                   {"dataset": "circles"}, {"noise": 0.1}, {"test_fraction": 0.3}):
        model = session.model
        assert session.update(**change) is True, change
        assert session.model is not model and session.epoch == 0 and session.history.history == {}
        session.step()
    assert session.model.input_shape[-1] == 3
    assert [layer.units for layer in session.model.layers] == [4, 2, 1]


def test_learning_rate_and_regularization_apply_from_the_next_batch_without_a_reset():
    session = small_session()
    session.step()
    model = session.model
    assert session.update(learning_rate=0.3, regularization="L2", regularization_rate=0.01) is False
    assert session.model is model and session.epoch == 1
    assert session.model.optimizer.learning_rate == pytest.approx(0.03)     # not yet: at the next batch
    session.step()
    assert session.model.optimizer.learning_rate == pytest.approx(0.3)
    assert session._regularizer.l2 == pytest.approx(0.01) and session._regularizer.l1 == 0.0
    assert session.model._regularization_penalty() > 0
    session.update(regularization="none")
    session.step()
    assert session.model._regularization_penalty() == 0


def test_a_learning_rate_chosen_while_a_frame_runs_applies_from_the_next_batch():
    """The click comes on the kernel's thread while the training thread is inside fit: it must not wait for
    the frame to end."""
    from nbtrain.callbacks import LambdaCallback

    session = small_session(samples=200)            # 100 training points: 10 batches an epoch
    rates = []

    def on_batch_end(batch, logs):
        rates.append(session.model.optimizer.learning_rate)
        if batch == 2:
            clicked = threading.Thread(target=session.update, kwargs={"learning_rate": 0.3})
            clicked.start()
            clicked.join(5)
            assert not clicked.is_alive(), "the setting waited for the frame"

    extra = LambdaCallback(on_train_batch_end=on_batch_end)
    original_fit = session.model.fit
    session.model.fit = lambda *a, **k: original_fit(*a, **(k | {"callbacks": k["callbacks"] + [extra]}))
    session.train(1)
    assert rates[:3] == [pytest.approx(0.03)] * 3 and rates[3] == pytest.approx(0.3)


def test_batch_size_and_optimizer_apply_from_the_next_frame_and_keep_the_weights():
    session = small_session()
    session.step()
    weights = session.model.get_weights()
    session.update(batch_size=40, optimizer="adam")
    assert session.model.get_weights()[0] is not None
    np.testing.assert_array_equal(session.model.get_weights()[0], weights[0])
    session.step()
    assert type(session.model.optimizer).__name__ == "Adam" and session.model.optimizer.iterations == 1
    assert session.epoch == 2


def test_reset_draws_new_weights_and_starts_again():
    session = small_session()
    first = session.model.get_weights()[0].copy()
    session.step()
    session.reset()
    assert session.epoch == 0 and session.config.seed == 1
    assert not np.array_equal(session.model.get_weights()[0], first)


def test_bad_settings_are_refused_with_the_allowed_values():
    session = small_session()
    with pytest.raises(ValueError, match="activation must be one of"):
        session.update(activation="gelu")
    with pytest.raises(ValueError, match="at most 6 layers of 1 to 8 neurons"):
        session.update(hidden=[9])
    with pytest.raises(TypeError, match="Did you mean 'learning_rate'"):
        session.update(learning_rat=0.1)
    with pytest.raises(ValueError, match="learning_rate must be a number above 0"):
        session.update(learning_rate=0)


def test_custom_data_labels_and_regression():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    labels = np.where(x[:, 0] > 0, "cat", "dog")
    session = PlaygroundSession(x=x, y=labels, clock=TickingClock())
    assert session.kind == "binary" and session.config.dataset == "custom" and set(session.y) == {0, 1}
    session.step()
    regression = PlaygroundSession(x=x, y=x[:, 0] * 0.3, clock=TickingClock())
    assert regression.kind == "regression" and regression.loss_name() == "mse"
    three = PlaygroundSession(x=x, y=np.arange(60) % 3, clock=TickingClock())
    assert three.kind == "classes" and three.model.layers[-1].units == 3
    three.step()
    with pytest.raises(ValueError, match=r"2-D points, x of shape \(n, 2\), but got shape \(60, 3\)"):
        PlaygroundSession(x=np.zeros((60, 3)), y=np.zeros(60))


def test_the_loop_thread_plays_pauses_and_ends_on_close():
    session = small_session(TickingClock(0.001))
    drawn = threading.Event()
    loop = PlayLoop(session, on_frame=drawn.set)
    loop.play()
    assert drawn.wait(30) and loop.playing
    loop.pause()
    assert not loop.playing and loop._thread is None
    epoch = session.epoch
    assert epoch >= 1
    loop.play()
    loop.close()
    assert not any(t.name == "nbtrain-playground" for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="closed"):
        loop.play()


def test_run_frames_drives_the_loop_without_a_thread():
    session = small_session(TickingClock(0.001))
    slept = []
    loop = PlayLoop(session, sleep=slept.append)
    loop.run_frames(3)
    assert loop.frames == 3 and session.epoch >= 3
    assert all(0 < s <= session.frame_seconds for s in slept)
