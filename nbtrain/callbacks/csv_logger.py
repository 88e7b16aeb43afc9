"""``CSVLogger``: write every epoch's logs as one row of a CSV file."""

from __future__ import annotations

import collections.abc
import csv
import os

import numpy as np

from nbtrain.callbacks.callback import Callback

# Log keys that describe the run rather than a measured value, so they get no val_ twin.
_NOT_MEASURED = ("learning_rate",)


def _cell(value):
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, collections.abc.Iterable):
        return f"[{', '.join(map(str, value))}]"
    return value


class CSVLogger(Callback):
    """Append one row per epoch to a CSV file: ``epoch`` (0-based) followed by the log keys, sorted.

    When fit validates but not in the first epoch (``validation_freq > 1``), the ``val_`` columns are created
    anyway and hold ``NA`` where there is no value. The file is flushed after every row, so it can be read (or
    plotted) while training runs, and it is closed when training ends, also after an error or interrupt.
    With ``append=True`` rows are added to an existing file under its existing header, so a resumed run
    continues the same table.

    Args:
        filename: path of the CSV file.
        separator: the column separator, default ``","``.
        append: add to an existing file instead of overwriting it.

    Example:
        >>> logger = CSVLogger("training.csv", append=True)
        >>> # model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[logger])
        >>> # pandas.read_csv("training.csv")
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        try:
            self.filename = os.fspath(filename)
        except TypeError:
            raise TypeError(f"CSVLogger expects filename to be a str or os.PathLike, got {filename!r}.") from None
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger expects separator to be a single character such as ',' or ';', "
                             f"got {separator!r}.")
        self.sep = separator
        self.append = bool(append)
        self.keys = None
        self.csv_file = None
        self.writer = None

    def on_train_begin(self, logs=None):
        self._close()
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.writer is None:
            self._open(logs)
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self._close()

    # ----- file ------------------------------------------------------------------------------------------

    def _open(self, logs: dict) -> None:
        # Opened at the first row rather than at train begin, so a fit that fails before finishing an epoch
        # leaves an existing file untouched and there is nothing to leak if another callback's
        # on_train_begin raises.
        header = self._existing_header() if self.append else None
        if header:
            self.keys = header[1:] if header[0] == "epoch" else header
        else:
            self.keys = self._columns(logs)
        directory = os.path.dirname(self.filename)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, delimiter=self.sep,
                                     extrasaction="ignore")
        if not header:
            self.writer.writeheader()

    def _columns(self, logs: dict) -> list[str]:
        keys = sorted(logs)
        validates = self.params.get("do_validation", True)
        if validates and keys and not any(k.startswith("val_") for k in keys):
            # Validation that starts later (validation_freq > 1) still gets its columns now.
            keys += ["val_" + k for k in keys if k not in _NOT_MEASURED]
        return keys

    def _existing_header(self):
        try:
            with open(self.filename, newline="", encoding="utf-8") as f:
                return next(csv.reader(f, delimiter=self.sep), None)
        except FileNotFoundError:
            return None

    def _close(self) -> None:
        if self.csv_file is not None:
            self.csv_file.close()
        self.csv_file = None
        self.writer = None

    def __repr__(self):
        return f"CSVLogger({self.filename!r}, append={self.append})"
