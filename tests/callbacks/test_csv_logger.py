"""CSVLogger through real fits: header and rows, NA for late validation, append, separator, closing."""

import csv

import pytest

from nbtrain.callbacks import Callback
from nbtrain.callbacks.csv_logger import CSVLogger
from nbtrain.callbacks.lambda_callback import LambdaCallback
from nbtrain.callbacks.learning_rate_scheduler import LearningRateScheduler
from tiny_models import data, model


def rows(path, separator=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=separator))


def test_header_and_one_row_per_epoch_with_the_logged_values(tmp_path):
    path = tmp_path / "log.csv"
    m = model()
    x, y = data()
    history = m.fit(x, y, epochs=3, validation_data=data(4), callbacks=[CSVLogger(path)], verbose=0)
    table = rows(path)
    assert table[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r[0] for r in table[1:]] == ["0", "1", "2"]
    for epoch, row in enumerate(table[1:]):
        for key, cell in zip(table[0][1:], row[1:]):
            assert float(cell) == history.history[key][epoch]


def test_validation_that_starts_later_gets_na_cells(tmp_path):
    path = tmp_path / "log.csv"
    x, y = data()
    model().fit(x, y, epochs=4, validation_data=data(4), validation_freq=2, callbacks=[CSVLogger(path)], verbose=0)
    table = rows(path)
    assert table[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert table[1][3:] == ["NA", "NA"] and table[3][3:] == ["NA", "NA"]
    assert "NA" not in table[2] and "NA" not in table[4]


def test_no_validation_means_no_empty_val_columns(tmp_path):
    # Keras always adds val_ columns when the first epoch has none; without validation data they would only hold NA.
    path = tmp_path / "log.csv"
    x, y = data()
    model().fit(x, y, epochs=2, callbacks=[CSVLogger(path)], verbose=0)
    assert rows(path)[0] == ["epoch", "loss", "mae"]


def test_learning_rate_column_has_no_val_twin(tmp_path):
    path = tmp_path / "log.csv"
    x, y = data()
    model().fit(x, y, epochs=4, validation_data=data(4), validation_freq=2, verbose=0,
                callbacks=[LearningRateScheduler(lambda epoch: 0.01), CSVLogger(path)])
    assert rows(path)[0] == ["epoch", "learning_rate", "loss", "mae", "val_loss", "val_mae"]


def test_append_continues_without_repeating_the_header(tmp_path):
    path = tmp_path / "log.csv"
    x, y = data()
    m = model()
    m.fit(x, y, epochs=2, callbacks=[CSVLogger(path, append=True)], verbose=0)
    m.fit(x, y, epochs=4, initial_epoch=2, callbacks=[CSVLogger(path, append=True)], verbose=0)
    table = rows(path)
    assert table[0] == ["epoch", "loss", "mae"] and [r[0] for r in table[1:]] == ["0", "1", "2", "3"]


def test_append_writes_under_the_existing_header(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,mae,loss\n0,1.5,2.5\n")
    x, y = data()
    model().fit(x, y, epochs=1, callbacks=[CSVLogger(path, append=True)], verbose=0)
    table = rows(path)
    assert table[0] == ["epoch", "mae", "loss"] and len(table) == 3
    assert float(table[2][1]) < float(table[2][2])  # mae and loss stay in their own columns


def test_without_append_the_file_is_overwritten(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("old,content\n1,2\n")
    x, y = data()
    model().fit(x, y, epochs=1, callbacks=[CSVLogger(path)], verbose=0)
    assert rows(path)[0] == ["epoch", "loss", "mae"] and len(rows(path)) == 2


def test_separator(tmp_path):
    path = tmp_path / "log.tsv"
    x, y = data()
    model().fit(x, y, epochs=1, callbacks=[CSVLogger(path, separator="\t")], verbose=0)
    assert rows(path, "\t")[0] == ["epoch", "loss", "mae"]


def test_rows_are_flushed_while_training_runs(tmp_path):
    path = tmp_path / "log.csv"
    seen = []
    x, y = data()
    logger = CSVLogger(path)
    model().fit(x, y, epochs=2, verbose=0,
                callbacks=[logger, LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(len(rows(path))))])
    assert seen == [2, 3]


def test_file_is_closed_even_when_training_fails(tmp_path):
    class Fails(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("boom")

    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    x, y = data()
    with pytest.raises(RuntimeError, match="boom"):
        model().fit(x, y, epochs=3, callbacks=[logger, Fails()], verbose=0)
    assert logger.csv_file is None
    assert len(rows(path)) == 3  # header and the two epochs written before the failure


def test_iterable_values_are_written_as_lists(tmp_path):
    path = tmp_path / "log.csv"
    x, y = data()
    feed = LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(pair=[1, 2]))
    model().fit(x, y, epochs=1, callbacks=[feed, CSVLogger(path)], verbose=0)
    table = rows(path)
    assert table[1][table[0].index("pair")] == "[1, 2]"


def test_bad_arguments():
    with pytest.raises(ValueError, match="separator to be a single character"):
        CSVLogger("log.csv", separator=", ")
    with pytest.raises(TypeError, match="filename"):
        CSVLogger(None)
    assert repr(CSVLogger("log.csv")) == "CSVLogger('log.csv', append=False)"
