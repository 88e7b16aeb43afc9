"""LambdaCallback through real fits: every hook, Keras's positional calls, aliases and argument errors."""

import pytest

from nbtrain.callbacks.lambda_callback import LambdaCallback
from tiny_models import data
from tiny_models import model as compiled_model


def model():
    """The tiny model compiled without metrics: the logs hold only the loss."""
    return compiled_model(metrics=None)


def test_named_hooks_are_called_during_fit():
    calls = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_train_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch)),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch, round(logs["loss"], 6))),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, sorted(logs))),
        on_train_end=lambda logs: calls.append("train_end"),
    )
    x, y = data()
    model().fit(x, y, batch_size=4, epochs=1, callbacks=[callback], verbose=0)
    assert [c if isinstance(c, str) else c[:2] for c in calls] == [
        "train_begin", ("epoch_begin", 0), ("batch_begin", 0), ("batch_end", 0), ("batch_begin", 1),
        ("batch_end", 1), ("epoch_end", 0), "train_end"]
    assert calls[-2][2] == ["loss"]


def test_functions_are_called_positionally_like_keras():
    seen = []
    callback = LambdaCallback(on_epoch_end=lambda e, l: seen.append((e, sorted(l))))  # noqa: E741
    x, y = data()
    model().fit(x, y, epochs=2, callbacks=[callback], verbose=0)
    assert seen == [(0, ["loss"]), (1, ["loss"])]


def test_functions_without_logs_are_accepted():
    seen = []
    callback = LambdaCallback(on_epoch_end=lambda epoch: seen.append(epoch), on_train_end=lambda: seen.append("end"))
    x, y = data()
    model().fit(x, y, epochs=2, callbacks=[callback], verbose=0)
    assert seen == [0, 1, "end"]


def test_on_batch_aliases_and_other_hooks_as_keywords():
    seen = []
    callback = LambdaCallback(
        on_batch_end=lambda batch, logs: seen.append(("batch_end", batch)),
        on_test_end=lambda logs: seen.append(("test_end", sorted(logs))),
        on_predict_batch_end=lambda batch, logs: seen.append(("predict_batch_end", batch)),
    )
    m = model()
    x, y = data()
    m.fit(x, y, batch_size=4, epochs=1, validation_data=data(4), callbacks=[callback], verbose=0)
    assert seen == [("batch_end", 0), ("batch_end", 1), ("test_end", ["loss"])]
    seen.clear()
    m.evaluate(x, y, callbacks=[callback], verbose=0)
    m.predict(x, batch_size=4, callbacks=[callback], verbose=0)
    assert seen == [("test_end", ["loss"]), ("predict_batch_end", 0), ("predict_batch_end", 1)]


def test_on_train_batch_end_takes_precedence_over_on_batch_end():
    seen = []
    callback = LambdaCallback(on_train_batch_end=lambda b, logs: seen.append("train"),
                              on_batch_end=lambda b, logs: seen.append("legacy"))
    x, y = data()
    model().fit(x, y, batch_size=8, epochs=1, callbacks=[callback], verbose=0)
    assert seen == ["train"]


def test_a_hook_can_stop_training():
    m = model()
    stop = LambdaCallback(on_epoch_end=lambda epoch, logs: setattr(m, "stop_training", epoch == 1))
    x, y = data()
    history = m.fit(x, y, epochs=10, callbacks=[stop], verbose=0)
    assert history.epoch == [0, 1]


def test_unknown_hook_names_suggest_the_nearest():
    with pytest.raises(TypeError, match="unexpected keyword argument 'on_epoch_ends'. Did you mean 'on_epoch_end'"):
        LambdaCallback(on_epoch_ends=print)


def test_hooks_must_be_functions_that_take_the_arguments():
    with pytest.raises(TypeError, match="on_epoch_end to be a function"):
        LambdaCallback(on_epoch_end="print")
    with pytest.raises(TypeError, match=r"on_epoch_end is called as f\(epoch, logs\)"):
        LambdaCallback(on_epoch_end=lambda a, b, c: None)


def test_repr_lists_the_hooks():
    assert repr(LambdaCallback(on_epoch_end=print)) == "LambdaCallback(on_epoch_end)"
