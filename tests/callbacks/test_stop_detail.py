"""Who stopped training, in words: ``model.fit_outcome.detail``, read by History, the text bar and the record."""

import io
import warnings

import numpy as np

from nbtrain.callbacks import Callback, EarlyStopping, ProgbarLogger
from nbtrain.layers import Dense, Input
from nbtrain.models import Sequential


def make_model():
    model = Sequential([Input(shape=(3,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def data(n=32):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


class StopAt(Callback):
    """Stops at the end of a given epoch (0-based), or after a given batch of it."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.at, self.batch = epoch, batch
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.batch is not None and (self.epoch, batch) == (self.at, self.batch):
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.batch is None and epoch == self.at:
            self.model.stop_training = True


class ExplainedStop(StopAt):
    def stop_description(self):
        return "the target accuracy was reached"


class ValLossPlateau(Callback):
    """Makes val_loss rise after epoch 1, so that EarlyStopping stops at a known epoch."""

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1][epoch]


def test_early_stopping_is_named_with_its_reason_and_restore():
    x, y = data()
    model, out = make_model(), io.StringIO()
    stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.fit(x, y, epochs=8, verbose=1, callbacks=[ValLossPlateau(), stop, ProgbarLogger(out=out)])
    detail = "EarlyStopping: val_loss did not improve for 3 epochs; weights restored from epoch 2"
    assert model.fit_outcome.reason == "stopped" and model.fit_outcome.detail == detail
    assert history.stop_detail == detail and len(history.epoch) == 5
    assert repr(history) == f"<History epochs=5 keys=[loss, val_loss] stopped ({detail})>"
    assert out.getvalue().endswith(f"Training stopped after epoch 5/8. {detail}.\n")


def test_early_stopping_with_min_delta_and_baseline_says_so():
    x, y = data()
    model = make_model()
    model.fit(x, y, epochs=8, verbose=0, callbacks=[ValLossPlateau(), EarlyStopping(patience=2, min_delta=0.01)])
    assert model.fit_outcome.detail == "EarlyStopping: val_loss did not improve by more than 0.01 for 2 epochs"
    model.fit(x, y, epochs=8, verbose=0, callbacks=[ValLossPlateau(), EarlyStopping(patience=2, baseline=0.1)])
    assert model.fit_outcome.detail == "EarlyStopping: val_loss did not beat the baseline 0.1 in 3 epochs"


def test_a_users_callback_is_named_with_the_epoch_and_batch_counted_from_1():
    x, y = data()
    model = make_model()
    model.fit(x, y, epochs=10, batch_size=4, verbose=0, callbacks=[StopAt(epoch=4)])
    assert model.fit_outcome.detail == "stopped by StopAt at epoch 5"
    model.fit(x, y, epochs=10, batch_size=4, verbose=0, callbacks=[StopAt(epoch=1, batch=2)])
    assert model.fit_outcome.detail == "stopped by StopAt at epoch 2, batch 3"
    model.fit(x, y, epochs=10, verbose=0, callbacks=[ExplainedStop(epoch=0)])
    assert model.fit_outcome.detail == "ExplainedStop: the target accuracy was reached"
    model.fit(x, y, epochs=2, verbose=0)
    assert model.fit_outcome.reason == "completed" and model.fit_outcome.detail is None


def test_the_first_callback_that_stops_is_named():
    x, y = data()
    model = make_model()
    model.fit(x, y, epochs=10, verbose=0, callbacks=[StopAt(epoch=2), ExplainedStop(epoch=2)])
    assert model.fit_outcome.detail == "stopped by StopAt at epoch 3"


def test_an_exhausted_generator_is_named():
    x, y = data(8)

    def four_batches():
        for i in range(4):
            yield x[2 * i:2 * i + 2], y[2 * i:2 * i + 2]

    model = make_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(four_batches(), epochs=5, steps_per_epoch=3, verbose=0)
    assert model.fit_outcome.reason == "stopped"
    # epoch 2 got the fourth batch; epoch 3 got none
    assert len(model.history.epoch) == 2
    assert model.fit_outcome.detail == "the training data ran out in epoch 3 (the generator yields no more batches)"
