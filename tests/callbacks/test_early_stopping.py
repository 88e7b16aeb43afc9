"""EarlyStopping against Keras's rules: patience, min_delta, mode, baseline, best weights, start_from_epoch."""

import numpy as np
import pytest

from nbtrain.callbacks import EarlyStopping


class FakeModel:
    def __init__(self):
        self.stop_training = False
        self.weights = [np.array([0.0])]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]

    def metric_direction(self, name):
        return {"accuracy": "up", "tp": None}.get(name)


def run(callback, values, key="val_loss"):
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        model.weights = [np.array([float(epoch)])]
        callback.on_epoch_end(epoch, {key: value})
        if model.stop_training:
            break
    callback.on_train_end()
    return epoch, model


def test_stops_after_patience_epochs_without_improvement():
    epoch, model = run(EarlyStopping(patience=2), [1.0, 0.9, 0.95, 0.91, 0.5])
    assert epoch == 3 and model.stop_training


def test_without_improvement_stops_at_max_patience_one():
    assert run(EarlyStopping(patience=0), [1.0, 1.0, 1.0])[0] == 1


def test_min_delta_requires_a_real_improvement():
    assert run(EarlyStopping(patience=1, min_delta=0.1), [1.0, 0.95, 0.92])[0] == 1


def test_mode_auto_maximises_accuracy():
    epoch, _ = run(EarlyStopping(monitor="val_accuracy", patience=1), [0.5, 0.6, 0.7, 0.65], key="val_accuracy")
    assert epoch == 3


def test_unknown_direction_asks_for_a_mode():
    with pytest.raises(ValueError, match="mode='max'"):
        run(EarlyStopping(monitor="tp"), [1.0], key="tp")


def test_restore_best_weights_even_without_stopping():
    callback = EarlyStopping(patience=5, restore_best_weights=True)
    _, model = run(callback, [1.0, 0.5, 0.7])
    assert model.weights[0][0] == 1.0 and callback.best_epoch == 1


def test_baseline_must_be_beaten():
    values = [0.5, 0.4, 0.45, 0.45, 0.45]
    assert run(EarlyStopping(patience=2), values)[0] == 3
    # With a baseline nothing resets the wait, so the same values stop one epoch earlier (Keras's rule).
    assert run(EarlyStopping(patience=2, baseline=0.1), values)[0] == 2


def test_start_from_epoch_ignores_warm_up():
    epoch, _ = run(EarlyStopping(patience=0, start_from_epoch=2), [1.0, 2.0, 3.0, 4.0])
    assert epoch == 3


def test_missing_monitor_warns_and_continues():
    with pytest.warns(UserWarning, match="val_loss` which is not available. Available metrics are: loss"):
        run(EarlyStopping(), [1.0], key="loss")


# ----- vector-valued metrics (issue 16) ---------------------------------------------------------------------------

def _f1_model(units):
    from nbtrain.layers import Dense, Input
    from nbtrain.metrics import F1Score
    from nbtrain.models import Sequential
    model = Sequential([Input((5,)), Dense(units, activation="sigmoid" if units == 1 else "softmax")])
    model.compile("adam", "binary_crossentropy" if units == 1 else "categorical_crossentropy",
                  metrics=[F1Score(name="f1_score")])
    return model


def test_a_metric_with_one_value_per_class_and_one_class_is_monitored_as_keras_does():
    rng = np.random.default_rng(0)
    x, y = rng.random((20, 5)), (rng.random((20, 1)) > 0.5).astype("float32")
    stopper = EarlyStopping(monitor="f1_score", patience=0)
    history = _f1_model(1).fit(x, y, epochs=5, verbose=0, callbacks=[stopper])
    assert isinstance(history.history["f1_score"][0], list)     # F1Score(average=None) logs one value per class
    assert stopper.best == pytest.approx(history.history["f1_score"][0][0])


def test_a_metric_with_several_values_is_refused_with_the_fix():
    rng = np.random.default_rng(0)
    x, y = rng.random((20, 5)), np.eye(3, dtype="float32")[rng.integers(0, 3, 20)]
    with pytest.raises(ValueError, match=r"^EarlyStopping monitors 'f1_score', which holds 3 values .* "
                                         r"F1Score\(average='macro'\)"):
        _f1_model(3).fit(x, y, epochs=2, verbose=0, callbacks=[EarlyStopping(monitor="f1_score")])
