"""sweep() in process and in local processes: results, reproducibility, faults, interrupts and bad input."""

import math

import numpy as np
import pytest

import nbtrain
from nbtrain.experiments import Run, SweepResult, sweep
from nbtrain.experiments.runs import NotACompiledModel

from sweep_models import InterruptAtEpoch, build, data

GRID = {"optimizer": ["sgd", "adam"], "units": [4, 8]}


def run_sweep(grid=GRID, **kwargs):
    x, y = data()
    options = dict(epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    options.update(kwargs)
    return sweep(build, grid, x, y, **options)


def test_every_config_trains_and_the_best_is_the_lowest_val_loss():
    result = run_sweep()
    assert isinstance(result, SweepResult) and len(result) == 4 and not result.interrupted
    assert [run.config for run in result.runs] == [{"optimizer": o, "units": u} for o in ("sgd", "adam")
                                                   for u in (4, 8)]
    for run in result.runs:
        assert isinstance(run, Run) and run.status == "done" and run.error is None
        assert run.epochs_done == 3 and run.history.epoch == [0, 1, 2]
        assert set(run.history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert run.final["val_loss"] == run.history.history["val_loss"][-1]
        assert run.best_value == min(run.history.history["val_loss"]) and run.seconds > 0
    assert result.monitor == "val_loss" and result.mode == "min"
    assert result.best.best_value == min(run.best_value for run in result.runs)
    assert [row["run"] for row in result.table()] == [run.index for run in result.ranked()]
    assert result.table()[0]["best_val_loss"] == result.best.best_value


def test_the_best_model_is_the_trained_model_of_the_best_run():
    x, y = data()
    result = run_sweep()
    model = result.best_model
    assert model is result.best.model
    logs = model.evaluate(x[-24:], y[-24:], verbose=0, return_dict=True)   # the validation split: the last 25%
    assert logs["loss"] == pytest.approx(result.best.final["val_loss"], rel=1e-5)


def test_max_mode_for_accuracy_and_a_training_metric_monitor():
    result = run_sweep(monitor="accuracy")
    assert result.mode == "max"
    assert result.best.best_value == max(max(run.history.history["accuracy"]) for run in result.runs)
    assert run_sweep(validation_split=0.0).monitor == "loss"


def test_the_same_sweep_twice_gives_the_same_histories_and_seeds():
    first, again = run_sweep(), run_sweep()
    assert [r.seed for r in first.runs] == [r.seed for r in again.runs]
    assert [r.history.history for r in first.runs] == [r.history.history for r in again.runs]
    other = run_sweep(seed=1)
    assert [r.history.history for r in first.runs] != [r.history.history for r in other.runs]


def test_local_processes_give_the_in_process_histories():
    here = run_sweep()
    there = run_sweep(executor="processes")
    assert there.executor == "processes"
    assert [r.status for r in there.runs] == ["done"] * 4
    assert [r.history.history for r in there.runs] == [r.history.history for r in here.runs]
    x, y = data()
    weights_there = there.best_model.get_weights()      # rebuilt here from the weights the process sent back
    assert all(np.array_equal(a, b) for a, b in zip(weights_there, here.best_model.get_weights()))


def test_trials_and_a_list_of_configs():
    result = run_sweep({"units": [2, 4, 6, 8, 10]}, trials=2, seed=7)
    assert len(result) == 2 and all(run.status == "done" for run in result.runs)
    listed = run_sweep([{"units": 4}, {"optimizer": "sgd"}])
    assert [run.config for run in listed.runs] == [{"units": 4}, {"optimizer": "sgd"}]


def test_a_run_that_raises_is_failed_with_its_error_and_the_others_go_on():
    result = run_sweep([{"units": 4}, {"units": 4, "learning_rate": "fast"}, {"units": 8}])
    assert [run.status for run in result.runs] == ["done", "failed", "done"]
    failed = result.runs[1]
    assert failed.error.startswith(("TypeError", "ValueError")) and "fast" in failed.error
    assert failed.traceback and failed.best_value is None and failed.model is None
    assert result.best is not failed and result.ranked()[-1] is failed
    assert "failed" in repr(result)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_run_whose_training_diverges_to_nan_is_ranked_last():
    x, y = data()
    x = x * 1e30
    result = sweep(build, {"units": [4, 8]}, x, y, epochs=2, validation_split=0.25, verbose=0)
    assert all(run.status in ("done", "failed") for run in result.runs)
    for run in result.runs:
        assert run.best_value is None or not math.isnan(run.best_value)


def test_an_interrupt_cancels_the_rest_and_returns_the_runs_so_far():
    result = run_sweep({"units": [4, 6, 8, 10]}, epochs=4, callbacks=[InterruptAtEpoch(units=6, epoch=2)])
    assert result.interrupted
    assert [run.status for run in result.runs] == ["done", "stopped", "cancelled", "cancelled"]
    stopped = result.runs[1]
    assert stopped.epochs_done == 2 and stopped.history.stop_reason == "interrupted"
    assert result.best is not None


def test_the_terminal_shows_one_line_per_finished_run(capsys):
    run_sweep(verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Sweep: 4 runs in process, ranked by val_loss (min)"
    assert [line.split("]")[0] for line in lines[1:5]] == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert all(": done, 3 epochs, val_loss " in line for line in lines[1:5])
    assert lines[-1].startswith("Best: run ")


def test_to_pandas_and_plot():
    pandas = pytest.importorskip("pandas")
    result = run_sweep()
    frame = result.to_pandas()
    assert isinstance(frame, pandas.DataFrame) and frame.index.name == "run" and len(frame) == 4
    assert list(frame.index) == [row["run"] for row in result.table()]
    figure = result.plot()
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert len(labels) == 8 and labels[0] == "0: optimizer=sgd, units=4"


# ----- bad input: a clear error before anything trains ---------------------------------------------------------

class CountingBuild:
    """A build that counts its calls (so a test sees that nothing trained)."""

    def __init__(self, returns=None):
        self.calls = 0
        self.returns = returns

    def __call__(self, units=4, optimizer="adam"):
        self.calls += 1
        return self.returns(units) if self.returns else build(units=units, optimizer=optimizer)


def test_an_empty_grid():
    x, y = data()
    with pytest.raises(ValueError, match="The grid is empty"):
        sweep(build, {}, x, y, epochs=1)


@pytest.mark.parametrize("returns, message", [
    (lambda units: None, "must return a compiled nbtrain model, got NoneType"),
    (lambda units: nbtrain.Sequential([nbtrain.Input((6,)), nbtrain.layers.Dense(2)]), "is not compiled"),
])
def test_a_build_that_does_not_return_a_compiled_model(returns, message):
    x, y = data()
    counting = CountingBuild(returns)
    with pytest.raises(NotACompiledModel, match=message):
        sweep(counting, {"units": [4, 8]}, x, y, epochs=1, verbose=0)
    assert counting.calls == 1


def test_a_config_key_build_does_not_take():
    x, y = data()
    counting = CountingBuild()
    with pytest.raises(TypeError, match="unexpected keyword argument 'unit' from the grid. Did you mean 'units'"):
        sweep(counting, {"unit": [4, 8]}, x, y, epochs=1)
    assert counting.calls == 0


def test_fit_arguments_as_grid_keys_go_to_each_runs_fit():
    x, y = data()
    grid = {"units": [4], "batch_size": [8, 48], "epochs": [2, 3]}
    result = sweep(build, grid, x, y, validation_split=0.25, verbose=0)
    assert [run.config for run in result.runs] == [{"units": 4, "batch_size": b, "epochs": e}
                                                   for b in (8, 48) for e in (2, 3)]
    assert [run.epochs_done for run in result.runs] == [2, 3, 2, 3]
    assert [run.epochs for run in result.runs] == [2, 3, 2, 3]        # the progress bars' length
    # the batch size reached fit: each one trains as a plain fit with that batch size does
    nbtrain.utils.set_random_seed(result.runs[2].seed)
    alone = build(units=4).fit(x, y, batch_size=48, epochs=2, validation_split=0.25, verbose=0)
    assert result.runs[2].history.history == alone.history
    again = sweep(build, grid, x, y, validation_split=0.25, verbose=0, executor="processes")
    assert [run.history.history for run in again.runs] == [run.history.history for run in result.runs]


def test_a_grid_key_neither_build_nor_fit_takes_and_one_given_twice():
    x, y = data()
    counting = CountingBuild()
    with pytest.raises(TypeError, match="argument 'batchsize' from the grid. Did you mean 'batch_size'.*fit takes:"):
        sweep(counting, {"batchsize": [16, 32]}, x, y, epochs=1)
    with pytest.raises(TypeError, match="'epochs' is both a grid key and an argument of sweep"):
        sweep(counting, {"epochs": [1, 2]}, x, y, epochs=1)
    with pytest.raises(TypeError, match="sweep\\(\\) sets fit's 'verbose' itself|unexpected keyword argument 'verbose'"):
        sweep(counting, {"verbose": [0, 1]}, x, y, epochs=1)
    assert counting.calls == 0


@pytest.mark.parametrize("monitor, message", [
    ("val_acc", "no run would log 'val_acc'. Did you mean 'val_accuracy'"),
    ("val_accuracy", "It is a validation metric: pass validation_split="),
])
def test_a_monitor_no_run_logs(monitor, message):
    x, y = data()
    counting = CountingBuild()
    split = 0.25 if monitor == "val_acc" else 0.0
    with pytest.raises(ValueError, match=message):
        sweep(counting, {"units": [4, 8]}, x, y, epochs=1, monitor=monitor, validation_split=split)
    assert counting.calls == 1     # the probe only


def test_bad_mode_seed_executor_and_fit_arguments():
    x, y = data()
    with pytest.raises(ValueError, match="mode to be 'auto', 'min' or 'max'"):
        sweep(build, GRID, x, y, mode="lowest")
    with pytest.raises(ValueError, match="seed to be a non-negative integer"):
        sweep(build, GRID, x, y, seed=-1)
    with pytest.raises(ValueError, match="executor must be 'in-process'"):
        sweep(build, GRID, x, y, executor="threads")
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'. Did you mean 'epochs'"):
        sweep(build, GRID, x, y, epoch=3)
    with pytest.raises(ValueError, match="executor='dask' needs client="):
        sweep(build, GRID, x, y, executor="dask")


# ----- in the background: a handle, Stop for all runs or one ---------------------------------------------------

class SlowEpochs(nbtrain.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        import time

        time.sleep(0.05)


def test_a_background_sweep_returns_a_handle_whose_result_is_the_sweep():
    x, y = data()
    handle = sweep(build, GRID, x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, background=True)
    assert "SweepHandle" in repr(handle)
    result = handle.result(timeout=60)
    assert handle.done and isinstance(result, SweepResult) and [r.status for r in result.runs] == ["done"] * 4
    assert [r.history.history for r in result.runs] == [r.history.history for r in run_sweep(epochs=2).runs]


def test_stopping_one_run_and_then_all():
    x, y = data()
    handle = sweep(build, {"units": [4, 5, 6, 7]}, x, y, epochs=8, validation_split=0.25, verbose=0,
                   callbacks=[SlowEpochs()], background=True)
    handle.stop(run=2)                       # before it starts: it never trains
    while not handle._result.runs[1].epochs_done:
        handle._thread.join(0.01)
    handle.stop()
    result = handle.result(timeout=60)
    statuses = [run.status for run in result.runs]
    assert statuses[0] == "done" and statuses[1] == "stopped" and statuses[2:] == ["cancelled", "cancelled"]
    assert 1 <= result.runs[1].epochs_done < 8
    with pytest.raises(ValueError, match="run must be the number of one of the 4 runs"):
        handle.stop(run=4)


def test_a_background_sweep_checks_its_input_before_returning():
    x, y = data()
    with pytest.raises(ValueError, match="no run would log 'val_acc'"):
        sweep(build, GRID, x, y, epochs=1, validation_split=0.25, monitor="val_acc", background=True)


def test_a_sweep_leaves_the_notebook_random_stream_as_it_was():
    import random

    nbtrain.utils.set_random_seed(5)
    expected = (nbtrain.utils.random.global_generator().random(), np.random.random(), random.random())
    nbtrain.utils.set_random_seed(5)
    run_sweep()
    assert (nbtrain.utils.random.global_generator().random(), np.random.random(), random.random()) == expected


def test_a_failing_display_is_switched_off_and_the_runs_go_on(monkeypatch):
    import importlib

    sweep_module = importlib.import_module("nbtrain.experiments.sweep")

    class BrokenView:
        ends = 0

        def begin(self, progress, result, stop):
            pass

        def changed(self, progress, run, epoch, finished=False):
            raise RuntimeError("no front end")

        def end(self, progress, result):
            BrokenView.ends += 1

    monkeypatch.delenv("NBTRAIN_DISPLAY_DEBUG", raising=False)
    monkeypatch.setattr(sweep_module, "_view_for", lambda *args: BrokenView())
    with pytest.warns(RuntimeWarning, match="the sweep's display failed \\(RuntimeError: no front end\\)"):
        result = run_sweep(verbose=1)
    assert [run.status for run in result.runs] == ["done"] * 4 and BrokenView.ends == 0
