"""Sweeps on Dask: a LocalCluster of two worker processes, and a cluster started here from the command line
(``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, stopped by PID afterwards). Both must give
the in-process histories for the same seeds; epoch logs stream back while runs train; a worker killed mid-run
fails its run only; an interrupt cancels the rest; the data is scattered once."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbtrain.experiments import sweep
from nbtrain.experiments.executors import DaskExecutor, StopRequests, SweepJob

import sweep_models
from sweep_models import KillAtEpoch, build, data

distributed = pytest.importorskip("distributed", reason="the Dask tests need pip install 'nbtrain[distributed]'")
dask = pytest.importorskip("dask")

TESTS = Path(__file__).resolve().parents[1]
GRID = {"optimizer": ["sgd", "adam"], "units": [4, 8]}
FIT = dict(epochs=3, batch_size=16, validation_split=0.25)


@pytest.fixture(scope="module")
def local_client():
    # allowed-failures=0: a run whose worker dies fails at once instead of being retried on another worker
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def in_process_result():
    x, y = data()
    return sweep(build, GRID, x, y, verbose=0, **FIT)


def histories(result):
    return [run.history.history for run in result.runs]


def test_a_local_cluster_gives_the_in_process_histories(local_client, in_process_result):
    x, y = data()
    result = sweep(build, GRID, x, y, client=local_client, verbose=0, **FIT)
    assert result.executor == "dask" and [run.status for run in result.runs] == ["done"] * 4
    assert histories(result) == histories(in_process_result)
    assert [run.seed for run in result.runs] == [run.seed for run in in_process_result.runs]
    best_here, best_there = in_process_result.best_model.get_weights(), result.best_model.get_weights()
    assert all((a == b).all() for a, b in zip(best_here, best_there))


def test_fit_arguments_in_the_grid_reach_the_runs_fit_on_a_worker(local_client):
    x, y = data()
    grid = {"units": [4], "batch_size": [8, 48], "epochs": [2, 3]}
    here = sweep(build, grid, x, y, validation_split=0.25, verbose=0)
    there = sweep(build, grid, x, y, client=local_client, validation_split=0.25, verbose=0)
    assert [run.epochs_done for run in there.runs] == [2, 3, 2, 3]
    assert histories(there) == histories(here)


class RecordingSink:
    def __init__(self):
        self.events = []

    def event(self, kind, index, payload):
        self.events.append((kind, index))

    def finish(self, outcome, model):
        self.events.append(("finish", outcome.index, outcome.status))


class SlowEpochs(sweep_models.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.15)


def test_epoch_logs_stream_back_while_the_runs_train_and_the_data_is_scattered_once(local_client, monkeypatch):
    x, y = data()
    scattered = []
    original = local_client.scatter

    def spy(data, **kwargs):
        scattered.append(kwargs.get("broadcast"))
        return original(data, **kwargs)

    monkeypatch.setattr(local_client, "scatter", spy)
    runs = [(i, {"units": 4 + i}, 10 + i) for i in range(3)]
    sink = RecordingSink()
    job = SweepJob(build, x, y, dict(FIT, epochs=4, callbacks=[SlowEpochs()]), runs)
    DaskExecutor(local_client).run(job, sink, StopRequests())
    assert scattered == [True]                # x and y in one call, broadcast once for three runs
    for index in range(3):
        kinds = [event[0] for event in sink.events if event[1] == index]
        assert kinds.count("epoch") == 4 and kinds[0] == "start"
        # at least the first epochs arrived before the run's result: the view was live for remote runs
        assert kinds.index("epoch") < kinds.index("finish")


def test_a_worker_killed_mid_run_fails_that_run_and_the_others_go_on(local_client):
    x, y = data()
    grid = [{"units": 4}, {"units": 8, "die": True}, {"units": 6}]
    result = sweep(build, grid, x, y, client=local_client, verbose=0, callbacks=[KillAtEpoch(epoch=2)], **FIT)
    assert [run.status for run in result.runs] == ["done", "failed", "done"]
    assert "KilledWorker" in result.runs[1].error and "the worker running it died" in result.runs[1].error
    local_client.wait_for_workers(2, timeout=60)     # the nanny restarts the worker for the next tests


def test_an_interrupt_cancels_the_queued_and_running_runs(local_client, monkeypatch):
    import importlib

    sweep_module = importlib.import_module("nbtrain.experiments.sweep")    # the module, not the function

    class InterruptAtFirstEpoch:
        def begin(self, progress, result, stop):
            pass

        def changed(self, progress, run, epoch, finished=False):
            if epoch and not finished:
                raise KeyboardInterrupt

        def end(self, progress, result):
            pass

    monkeypatch.setattr(sweep_module, "_view_for", lambda *args: InterruptAtFirstEpoch())
    x, y = data()
    grid = {"units": [4, 5, 6, 7, 8, 9]}
    result = sweep(build, grid, x, y, client=local_client, callbacks=[SlowEpochs()], **dict(FIT, epochs=6))
    assert result.interrupted
    statuses = [run.status for run in result.runs]
    assert "cancelled" in statuses and "done" not in statuses[2:]
    assert set(statuses) <= {"done", "stopped", "cancelled"}


def test_without_dask_client_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)     # import distributed now raises ImportError
    x, y = data()
    with pytest.raises(ImportError, match=r'pip install "nbtrain\[distributed\]"'):
        sweep(build, GRID, x, y, client=object(), **FIT)


def test_a_client_that_is_not_a_dask_client():
    x, y = data()
    with pytest.raises(TypeError, match="client must be a dask.distributed.Client, got str"):
        sweep(build, GRID, x, y, client="tcp://127.0.0.1:8786", **FIT)


def test_importing_nbtrain_experiments_does_not_import_dask():
    code = "import sys, nbtrain, nbtrain.experiments; print([m for m in ('dask', 'distributed') if m in sys.modules])"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


# ----- a cluster started from the command line --------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process_group(process) -> None:
    """SIGTERM to the process's own group (a dask worker is a nanny and its worker process), then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def command_line_cluster(tmp_path_factory):
    """``dask scheduler`` and two single-thread ``dask worker`` processes on 127.0.0.1, stopped by PID."""
    logs = tmp_path_factory.mktemp("dask-cluster")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    environment = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0",
                       PYTHONPATH=os.pathsep.join([str(TESTS.parent), str(TESTS), os.environ.get("PYTHONPATH", "")]))
    commands = [[sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--no-dashboard"]]
    commands += [[sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1",
                  "--host", "127.0.0.1", "--no-dashboard", "--name", f"worker-{i}"] for i in range(2)]
    processes = []
    try:
        for i, command in enumerate(commands):
            log = open(logs / f"process-{i}.log", "wb")
            processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment,
                                              start_new_session=True))
            if i == 0:
                time.sleep(0.5)
        client = distributed.Client(address, timeout=60)
        client.wait_for_workers(2, timeout=90)
        yield client, processes
        client.close()
    finally:
        for process in reversed(processes):
            stop_process_group(process)


def test_a_command_line_cluster_gives_the_in_process_histories(command_line_cluster, in_process_result):
    client, processes = command_line_cluster
    assert len(client.scheduler_info()["workers"]) == 2
    x, y = data()
    result = sweep(build, GRID, x, y, client=client, verbose=0, **FIT)
    assert [run.status for run in result.runs] == ["done"] * 4
    assert histories(result) == histories(in_process_result)
    assert result.best.index == in_process_result.best.index


def test_unaligned_arrays_are_copied_once_and_aligned_ones_kept():
    import numpy as np

    from nbtrain.experiments.executors import aligned

    buffer = np.zeros(4 * 6 + 1, np.uint8)
    unaligned = buffer[1:].view(np.float32).reshape(2, 3)      # what Dask may hand a task: bytes at an odd address
    assert not unaligned.flags.aligned
    first = aligned(unaligned)
    assert first.flags.aligned and np.array_equal(first, unaligned) and first is not unaligned
    assert aligned(unaligned) is first                       # once per worker, not once per run
    kept = np.ones((2, 3), np.float32)
    assert aligned(kept) is kept
    pair = aligned({"a": [unaligned, kept]})
    assert pair["a"][0] is first and pair["a"][1] is kept


def test_a_worker_of_the_command_line_cluster_killed_mid_run(command_line_cluster):
    # Each worker has one thread, so the doomed run is the only one running on its worker when it dies; the runs
    # queued behind it there (erred or cancelled by the scheduler, depending on its timing) must run elsewhere.
    client, processes = command_line_cluster
    x, y = data()
    grid = [{"units": 4}, {"units": 8, "die": True}, {"units": 6}, {"units": 5}]
    result = sweep(build, grid, x, y, client=client, verbose=0, callbacks=[KillAtEpoch(epoch=2)], **FIT)
    assert [run.status for run in result.runs] == ["done", "failed", "done", "done"], \
        [(run.status, run.error) for run in result.runs]
    assert "KilledWorker" in result.runs[1].error and "the worker running it died" in result.runs[1].error
    assert all(process.poll() is None for process in processes)    # the nanny restarted its worker
    client.wait_for_workers(2, timeout=60)


class FakeOutcome:
    def __init__(self, index, status, error=None):
        self.index, self.status, self.error = index, status, error


def test_which_runs_a_dead_worker_took_away_run_again(local_client):
    executor = DaskExecutor(local_client, resubmits=2)
    stop = StopRequests()
    killed = "KilledWorker: ('nbtrain-run-1', <WorkerState ...>) (the worker running it died)"
    assert executor._should_rerun(FakeOutcome(3, "failed", killed), started=set(), attempts={}, stop=stop)
    # it had started on the worker that died: it fails with the error
    assert not executor._should_rerun(FakeOutcome(3, "failed", killed), started={3}, attempts={}, stop=stop)
    # the scheduler dropped it (its data died with the worker), started or not: nobody asked, it runs again
    assert executor._should_rerun(FakeOutcome(2, "cancelled"), started={2}, attempts={}, stop=stop)
    # its own error, a Stop, or too many tries: it ends as it is
    assert not executor._should_rerun(FakeOutcome(2, "failed", "ValueError: bad"), started=set(), attempts={},
                                      stop=stop)
    stop.runs.add(2)
    assert not executor._should_rerun(FakeOutcome(2, "cancelled"), started=set(), attempts={}, stop=stop)
    assert not executor._should_rerun(FakeOutcome(4, "cancelled"), started=set(), attempts={4: 2}, stop=stop)
    outcome = executor._explained(FakeOutcome(4, "cancelled", "cancelled by the scheduler"), {4: 2})
    assert outcome.status == "failed" and "dropped it 3 times" in outcome.error


def test_a_stop_request_reaches_a_run_on_a_worker(local_client):
    x, y = data()
    stop = StopRequests()
    stop.runs.add(0)
    sink = RecordingSink()
    job = SweepJob(build, x, y, dict(FIT, epochs=8, callbacks=[SlowEpochs()]), [(0, {"units": 4}, 1),
                                                                               (1, {"units": 5}, 2)])
    DaskExecutor(local_client).run(job, sink, stop)
    finishes = {event[1]: event[2] for event in sink.events if event[0] == "finish"}
    assert finishes == {0: "stopped", 1: "done"}
    epochs_of_run_0 = sum(1 for event in sink.events if event == ("epoch", 0))
    assert epochs_of_run_0 < 8


class FakeWorker:
    def __init__(self):
        self.sent = []

    def log_event(self, topic, message):
        self.sent.append((topic, message["kind"], message["payload"]))


def test_a_runs_epochs_are_sent_in_batches_the_first_at_once():
    from nbtrain.experiments.executors import _EventBatcher

    now = [0.0]
    worker = FakeWorker()
    emit = _EventBatcher(worker, "topic", clock=lambda: now[0])
    emit("start", 3, {"seed": 1})
    for epoch in range(5):                   # five short epochs, 30 ms apart
        now[0] += 0.03
        emit("epoch", 3, {"epoch": epoch, "logs": {"loss": 1.0 / (epoch + 1)}})
    emit.flush()                             # the run's end
    kinds = [(kind, [e["epoch"] for e in payload["epochs"]] if kind == "epochs" else None)
             for _, kind, payload in worker.sent]
    assert kinds == [("start", None), ("epochs", [0]), ("epochs", [1, 2, 3, 4])]
    emit("epoch", 3, {"epoch": 5, "logs": {}})
    emit.flush()
    assert worker.sent[-1][1:] == ("epochs", {"epochs": [{"epoch": 5, "logs": {}}]})
    del worker.sent[-1]
    sink = RecordingSink()
    events = __import__("queue").Queue()
    for _, kind, payload in worker.sent:
        events.put({"kind": kind, "index": 3, "payload": payload})
    DaskExecutor._drain_events(events, sink, started := set())
    assert sink.events == [("start", 3)] + [("epoch", 3)] * 5 and started == {3}
