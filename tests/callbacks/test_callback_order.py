"""Every hook, in Keras's observed order (keras_api.md §7.1), through real fit, evaluate and predict calls."""

import numpy as np

from nbtrain.callbacks import Callback
from nbtrain.callbacks.learning_rate_scheduler import LearningRateScheduler
from nbtrain.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from tiny_models import data, model


HOOKS_WITH_INDEX = ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
                    "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end")
HOOKS_WITHOUT_INDEX = ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
                       "on_predict_end")


class Recorder(Callback):
    """Records (hook, index or None, sorted log keys) for every hook."""

    def __init__(self):
        super().__init__()
        self.events = []


def _make_hook(name, indexed):
    if indexed:
        def hook(self, index, logs=None):
            self.events.append((name, index, sorted(logs or {})))
    else:
        def hook(self, logs=None):
            self.events.append((name, None, sorted(logs or {})))
    hook.__name__ = name
    return hook


for _name in HOOKS_WITH_INDEX:
    setattr(Recorder, _name, _make_hook(_name, True))
for _name in HOOKS_WITHOUT_INDEX:
    setattr(Recorder, _name, _make_hook(_name, False))


TRAIN = ["loss", "mae"]
EPOCH = ["loss", "mae", "val_loss", "val_mae"]


def test_fit_with_validation_emits_keras_order():
    x, y = data()
    recorder = Recorder()
    model().fit(x, y, batch_size=4, epochs=2, validation_data=data(4), callbacks=[recorder], verbose=0)
    one_epoch = lambda e: [  # noqa: E731
        ("on_epoch_begin", e, []),
        ("on_train_batch_begin", 0, []), ("on_train_batch_end", 0, TRAIN),
        ("on_train_batch_begin", 1, []), ("on_train_batch_end", 1, TRAIN),
        # Validation inside fit: test hooks, with logs named WITHOUT the val_ prefix.
        ("on_test_begin", None, []),
        ("on_test_batch_begin", 0, []), ("on_test_batch_end", 0, TRAIN),
        ("on_test_end", None, TRAIN),
        ("on_epoch_end", e, EPOCH),
    ]
    expected = [("on_train_begin", None, [])] + one_epoch(0) + one_epoch(1) + [("on_train_end", None, EPOCH)]
    assert recorder.events == expected


def test_train_batch_index_restarts_every_epoch_and_params_are_set():
    x, y = data(12)
    recorder = Recorder()
    model().fit(x, y, batch_size=4, epochs=2, callbacks=[recorder], verbose=0)
    batches = [i for name, i, _ in recorder.events if name == "on_train_batch_end"]
    assert batches == [0, 1, 2, 0, 1, 2]
    assert recorder.params["epochs"] == 2 and recorder.params["steps"] == 3
    assert recorder.model is not None


def test_evaluate_emits_only_test_hooks():
    x, y = data()
    m = model()
    recorder = Recorder()
    m.evaluate(x, y, batch_size=4, callbacks=[recorder], verbose=0)
    assert recorder.events == [
        ("on_test_begin", None, []),
        ("on_test_batch_begin", 0, []), ("on_test_batch_end", 0, TRAIN),
        ("on_test_batch_begin", 1, []), ("on_test_batch_end", 1, TRAIN),
        ("on_test_end", None, TRAIN),
    ]


def test_predict_emits_only_predict_hooks():
    x, _ = data()
    recorder = Recorder()
    model().predict(x, batch_size=4, callbacks=[recorder], verbose=0)
    assert [(name, i) for name, i, _ in recorder.events] == [
        ("on_predict_begin", None),
        ("on_predict_batch_begin", 0), ("on_predict_batch_end", 0),
        ("on_predict_batch_begin", 1), ("on_predict_batch_end", 1),
        ("on_predict_end", None),
    ]


class LegacyBatchHooks(Callback):
    """Keras 2 style: only on_batch_begin/on_batch_end, which are aliases for the training batches."""

    def __init__(self):
        super().__init__()
        self.events = []

    def on_batch_begin(self, batch, logs=None):
        self.events.append(("begin", batch))

    def on_batch_end(self, batch, logs=None):
        self.events.append(("end", batch, sorted(logs)))


def test_on_batch_aliases_fire_for_training_batches_only():
    x, y = data()
    legacy = LegacyBatchHooks()
    m = model()
    m.fit(x, y, batch_size=4, epochs=1, validation_data=data(4), callbacks=[legacy], verbose=0)
    assert legacy.events == [("begin", 0), ("end", 0, TRAIN), ("begin", 1), ("end", 1, TRAIN)]
    m.evaluate(x, y, callbacks=[legacy], verbose=0)
    m.predict(x, callbacks=[legacy], verbose=0)
    assert len(legacy.events) == 4


class AddsToLogs(Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["custom"] = float(epoch)


def test_user_callbacks_run_before_history_so_history_sees_their_keys():
    x, y = data()
    history = model().fit(x, y, epochs=2, callbacks=[AddsToLogs()], verbose=0)
    assert history.history["custom"] == [0.0, 1.0]


def test_history_records_learning_rate_written_by_lr_callbacks():
    x, y = data()
    scheduler = LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    history = model().fit(x, y, epochs=3, callbacks=[scheduler], verbose=0)
    assert np.allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3])

    plateau = ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, min_delta=1e9)  # never "improves"
    history = model().fit(x, y, epochs=3, callbacks=[plateau], verbose=0)
    # The rate used in each epoch: the first epoch improves on None, later ones halve it.
    assert history.history["learning_rate"] == [0.01, 0.01, 0.005]


def test_stop_training_inside_a_batch_still_ends_the_epoch_and_validates():
    class StopAtFirstBatch(Recorder):
        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            self.model.stop_training = True

    x, y = data()
    recorder = StopAtFirstBatch()
    model().fit(x, y, batch_size=4, epochs=3, validation_data=data(4), callbacks=[recorder], verbose=0)
    names = [name for name, _, _ in recorder.events]
    assert names.count("on_train_batch_end") == 1
    assert names[-3:] == ["on_test_end", "on_epoch_end", "on_train_end"]
    assert names.count("on_epoch_begin") == 1


class OwnParameterNames(Callback):
    """Hooks whose last parameter is not called ``logs``: valid in Keras, which passes it by position."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, log_dict=None):
        self.calls.append(("train_begin", log_dict))

    def on_epoch_end(self, epoch, log=None):
        self.calls.append(("epoch_end", epoch, sorted(log)))

    def on_train_batch_end(self, batch, values=None):
        self.calls.append(("batch_end", batch, sorted(values)))


def test_hooks_receive_logs_by_position_so_any_parameter_name_works():
    x, y = data()
    callback = OwnParameterNames()
    model().fit(x, y, epochs=1, batch_size=len(x), verbose=0, callbacks=[callback])
    assert callback.calls == [("train_begin", {}), ("batch_end", 0, ["loss", "mae"]), ("epoch_end", 0, ["loss", "mae"])]
