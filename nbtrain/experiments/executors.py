"""Where the runs of a sweep train: here one after another, in local worker processes, or on a Dask cluster.

Every executor runs :func:`~nbtrain.experiments.runs.train_config` once per run and feeds a *sink* (the
sweep's progress, in this process and this thread) with what happens: ``sink.event(kind, index, payload)`` for
``start`` and each ``epoch``, ``sink.finish(outcome, model)`` at the end of each run. The remote executors
deliver the epoch events while the runs train (a queue for local processes, Dask's event topics for a
cluster), so the sweep's dashboard is live wherever the runs are.

An interrupt (Kernel -> Interrupt, Ctrl-C) while a sweep runs cancels the runs still queued and stops the
running ones; the sweep returns what finished.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass

from nbtrain.experiments.runs import RunOutcome, train_config

DISTRIBUTED_EXTRA = ('Running a sweep on a Dask cluster needs dask.distributed: pip install "nbtrain[distributed]" '
                     '(or pip install "dask[distributed]").')


@dataclass
class SweepJob:
    """What every run of a sweep shares, and the list of ``(index, config, seed)`` to run."""

    build: object
    x: object
    y: object
    fit_kwargs: dict
    runs: list
    fit_keys: frozenset = frozenset()     # the grid keys that go to fit, not build


class StopRequests:
    """Stop requests for one sweep (all runs, or some): set by the dashboard or an interrupt, read by the runs."""

    def __init__(self):
        self.all = False
        self.runs: set[int] = set()

    def __call__(self, index: int) -> bool:
        return self.all or index in self.runs


class InProcessExecutor:
    """Runs one config after another in this process (the default: Binder gives a notebook one CPU)."""

    name = "in-process"

    def run(self, job: SweepJob, sink, stop: StopRequests) -> None:
        for index, config, seed in job.runs:
            if stop.all:
                break
            if stop(index):
                continue
            outcome, model = train_config(job.build, config, seed, job.x, job.y, job.fit_kwargs, index,
                                          sink.event, stop, keep_model=True, fit_keys=job.fit_keys)
            sink.finish(outcome, model)

    def __repr__(self):
        return "InProcessExecutor()"


# ----- local processes -------------------------------------------------------------------------------------------

_worker_queue = None
_worker_stops = None


def _init_worker(events, stops) -> None:
    global _worker_queue, _worker_stops
    _worker_queue, _worker_stops = events, stops
    _limit_blas_threads()


def _limit_blas_threads() -> None:
    """One BLAS thread per worker: the workers already use every core, and a run's numbers then do not
    depend on how many threads BLAS would have split a product over."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def _process_emit(kind, index, payload) -> None:
    _worker_queue.put((kind, index, payload))


def _process_should_stop(index) -> bool:
    return bool(_worker_stops[0] or _worker_stops[index + 1])


def _process_task(build, config, seed, x, y, fit_kwargs, index, fit_keys=()):
    outcome, _ = train_config(build, config, seed, x, y, fit_kwargs, index, _process_emit, _process_should_stop,
                              fit_keys=fit_keys)
    return outcome


class ProcessExecutor:
    """Runs configs in parallel in ``max_workers`` local processes (default: one per core).

    The processes are forked (on Linux) so that a ``build`` defined in a notebook reaches them. Epoch logs come
    back through a queue while the runs train. A worker process that dies breaks the pool: the runs still
    queued or running are marked failed. For runs that survive a lost worker, use a Dask ``Client``.
    """

    name = "processes"

    def __init__(self, max_workers: int | None = None):
        self.max_workers = max_workers or os.cpu_count() or 1

    def run(self, job: SweepJob, sink, stop: StopRequests) -> None:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        events = context.Queue()
        stops = context.Array("b", len(job.runs) + max(i for i, _, _ in job.runs) + 2, lock=False)
        pool = ProcessPoolExecutor(min(self.max_workers, len(job.runs)), mp_context=context,
                                   initializer=_init_worker, initargs=(events, stops))
        futures = {}
        try:
            for index, config, seed in job.runs:
                futures[pool.submit(_process_task, job.build, config, seed, job.x, job.y, job.fit_kwargs,
                                    index, job.fit_keys)] = index
            pending = set(futures)
            while pending:
                _drain(events, sink)
                _sync_stops(stop, stops)
                done, pending = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
                _drain(events, sink)
                for future in done:
                    sink.finish(_outcome_of(future, futures[future]), None)
        except KeyboardInterrupt:
            stops[0] = 1
            for future in futures:
                future.cancel()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            _drain(events, sink)
            events.close()

    def __repr__(self):
        return f"ProcessExecutor(max_workers={self.max_workers})"


def _sync_stops(stop: StopRequests, stops) -> None:
    stops[0] = 1 if stop.all else 0
    for index in stop.runs:
        stops[index + 1] = 1


def _drain(events, sink) -> None:
    while True:
        try:
            kind, index, payload = events.get_nowait()
        except (queue.Empty, OSError, ValueError):
            return
        sink.event(kind, index, payload)


def _outcome_of(future, index: int) -> RunOutcome:
    """The run's outcome, or a failed one saying why the task itself did not return."""
    from concurrent.futures import CancelledError

    try:
        return future.result()
    except CancelledError:
        return RunOutcome(index, "cancelled", error="cancelled before it started")
    except Exception as error:
        return RunOutcome(index, "failed", error=_task_error_text(error))


def _task_error_text(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".splitlines()[0][:300]
    if type(error).__name__ in ("KilledWorker", "BrokenProcessPool"):
        text += " (the worker running it died)"
    return text


# ----- Dask --------------------------------------------------------------------------------------------------------

def import_distributed():
    """``distributed``, or an ImportError that names the extra to install."""
    try:
        import distributed
    except ImportError as error:
        raise ImportError(DISTRIBUTED_EXTRA) from error
    return distributed


_ALIGNED_COPIES: dict = {}


def aligned(data):
    """``data`` with every NumPy array aligned, copying (once per worker process) those that are not.

    Dask hands a task the scattered arrays as views of the bytes received, which need not be aligned; NumPy
    then cannot use BLAS for their products and a run trains several times slower. The copy is kept for the
    next runs on this worker for as long as the scattered array lives.
    """
    import weakref

    import numpy as np

    if isinstance(data, np.ndarray):
        if data.flags.aligned:
            return data
        key = id(data)
        cached = _ALIGNED_COPIES.get(key)
        if cached is not None and cached[0]() is data:
            return cached[1]
        copy = np.array(data, copy=True)
        try:
            _ALIGNED_COPIES[key] = (weakref.ref(data, lambda _: _ALIGNED_COPIES.pop(key, None)), copy)
        except TypeError:
            pass
        return copy
    if isinstance(data, (list, tuple)):
        return type(data)(aligned(item) for item in data)
    if isinstance(data, dict):
        return {key: aligned(value) for key, value in data.items()}
    return data


def _dask_task(build, config, seed, x, y, fit_kwargs, index, topic, stop_name, fit_keys=(), started_name=None):
    """A run on a Dask worker: its epochs go out as events on ``topic`` while it trains.

    ``started_name``: a Variable set before training, and acknowledged by the scheduler, so the sweep knows
    that this run started even when the worker dies before its buffered events leave it.
    """
    from distributed import Variable, get_client, get_worker

    if started_name is not None:
        Variable(started_name, client=get_client()).set(True)
    _limit_blas_threads()
    x, y = aligned(x), aligned(y)
    emit = _EventBatcher(get_worker(), topic)
    # the worker's client, named here: a Variable made without one only works in the task's own thread
    watcher = _StopWatcher(Variable(stop_name, client=get_client()), index)
    try:
        outcome, _ = train_config(build, config, seed, x, y, fit_kwargs, index, emit, watcher, fit_keys=fit_keys)
    finally:
        watcher.close()
        emit.flush()
    return outcome


class _EventBatcher:
    """A run's events on the sweep's topic: ``start`` at once, epochs gathered and sent at most every
    ``interval`` seconds (the first one at once), several to a message.

    Each message goes through the scheduler to the sweep's client, which share the cores with the workers on
    a laptop; short epochs (a few milliseconds) would otherwise send hundreds of messages a second, while the
    live view draws its table at most four times a second.
    """

    interval = 0.1

    def __init__(self, worker, topic: str, clock=time.monotonic):
        self.worker, self.topic, self.clock = worker, topic, clock
        self.pending: list = []
        self.index = None
        self.sent_at = -float("inf")

    def __call__(self, kind: str, index: int, payload: dict) -> None:
        if kind != "epoch":
            self.flush()
            self._send(kind, index, payload)
            return
        self.index = index
        self.pending.append(payload)
        if self.clock() - self.sent_at >= self.interval:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self._send("epochs", self.index, {"epochs": self.pending})
            self.pending = []
            self.sent_at = self.clock()

    def _send(self, kind: str, index: int, payload: dict) -> None:
        self.worker.log_event(self.topic, {"kind": kind, "index": index, "payload": payload})


class _StopWatcher:
    """Reads the sweep's stop requests (a Dask ``Variable``) in a thread of its own, twice a second, so the
    training loop only reads a flag: a read is a round trip to the scheduler, tens of milliseconds on a busy
    machine, which would otherwise come out of the run's training time."""

    interval = 0.5

    def __init__(self, variable, index: int):
        self.variable = variable
        self.index = index
        self.stopped = False
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"nbtrain-stop-watch-{index}", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._closed.wait(self.interval):
            try:
                requested = self.variable.get(timeout=self.interval)
            except Exception:        # the sweep is over (the variable deleted) or the scheduler is busy
                continue
            # a list comes back as a tuple (msgpack)
            if requested == "all" or (isinstance(requested, (list, tuple)) and self.index in requested):
                self.stopped = True
                return

    def __call__(self, index: int) -> bool:
        return self.stopped

    def close(self) -> None:
        self._closed.set()


class _StartedMarks:
    """One Dask Variable per run, set by the run's task before it trains (see :func:`_dask_task`)."""

    def __init__(self, client, sweep_id: str):
        self.client, self.prefix = client, f"nbtrain-started-{sweep_id}"

    def name(self, index: int) -> str:
        return f"{self.prefix}-{index}"

    def was_set(self, index: int) -> bool:
        from distributed import Variable

        try:
            return bool(Variable(self.name(index), client=self.client).get(timeout=0))
        except Exception:       # never set: the Variable's get times out at once
            return False

    def delete(self, indices) -> None:
        from distributed import Variable

        for index in indices:
            try:
                Variable(self.name(index), client=self.client).delete()
            except Exception:
                pass


class DaskExecutor:
    """Runs each config as a Dask task on the cluster of ``client``.

    The training data is scattered to every worker once (``client.scatter(..., broadcast=True)``), not
    shipped with each task. Each run's epoch logs stream back through a Dask event topic while it trains.

    When a worker dies, what happens to a run is decided here, not left to the scheduler's timing:

    * a run that had started on it fails with the error (``KilledWorker ... (the worker running it died)``);
      by default Dask first retries it on another worker (``distributed.scheduler.allowed-failures``), and the
      dashboard shows it starting again;
    * a run that was only waiting in that worker's queue (it never set its start mark), or that the
      scheduler cancelled though nobody asked it to (its data was lost with the worker), runs again
      elsewhere, with the data scattered again when it was lost; at most ``resubmits`` times.

    Args:
        client: a ``dask.distributed.Client`` (``Client(LocalCluster(n_workers=2))`` on a laptop,
            ``Client("tcp://scheduler:8786")`` for a cluster).
        resubmits: how many times a run that a worker's death took away before it started is submitted again.
    """

    name = "dask"

    def __init__(self, client, resubmits: int = 3):
        distributed = import_distributed()
        if not isinstance(client, distributed.Client):
            raise TypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}. "
                            f"Make one with Client(LocalCluster(n_workers=2)) or Client('tcp://host:8786').")
        self.client = client
        self.resubmits = resubmits

    def run(self, job: SweepJob, sink, stop: StopRequests) -> None:
        from distributed import Variable, as_completed

        client = self.client
        sweep_id = uuid.uuid4().hex[:12]
        topic, stop_name = f"nbtrain-sweep-{sweep_id}", f"nbtrain-stop-{sweep_id}"
        events: queue.Queue = queue.Queue()
        client.subscribe_topic(topic, lambda event: events.put(event[1]))
        stop_variable = Variable(stop_name, client=client)
        stop_variable.set([])
        data = _ScatteredData(client, job.x, job.y)
        futures, started, attempts = {}, set(), {}
        started_marks = _StartedMarks(client, sweep_id)
        sent_stops = []
        interrupted = False

        def submit(index, lost_generation=None):
            _, config, seed = specs[index]
            generation, (x, y) = data.futures(lost_generation)
            attempt = attempts.get(index, 0)
            future = client.submit(_dask_task, job.build, config, seed, x, y, job.fit_kwargs, index, topic,
                                   stop_name, job.fit_keys, started_marks.name(index),
                                   key=f"nbtrain-run-{index}-{attempt}-{sweep_id}", pure=False)
            futures[future] = (index, generation)
            return future

        try:
            specs = {spec[0]: spec for spec in job.runs}
            finished = as_completed([submit(index) for index in specs])
            remaining = len(specs)
            while remaining:
                sent_stops = self._send_stops(stop, stop_variable, sent_stops)
                self._drain_events(events, sink, started)
                batch = finished.next_batch(block=False) if finished.has_ready() else []
                if not batch:
                    time.sleep(0.01)    # a finished run is taken in within 10 ms (the last one ends the sweep)
                    continue
                self._drain_events(events, sink, started)
                for future in batch:
                    if future.status in ("pending", "lost"):
                        # its result died with a worker and the scheduler computes it again: wait for that
                        finished.add(future)
                        continue
                    index, generation = futures.pop(future)
                    outcome = self._outcome(future, index)
                    if outcome.index not in started and started_marks.was_set(outcome.index):
                        started.add(outcome.index)     # its start event died with the worker
                    if self._should_rerun(outcome, started, attempts, stop):
                        attempts[index] = attempts.get(index, 0) + 1
                        started.discard(index)
                        # cancelled: its data was likely lost with the worker (scatter it again, once per loss)
                        finished.add(submit(index, generation if outcome.status == "cancelled" else None))
                        continue
                    sink.finish(self._explained(outcome, attempts), None)
                    remaining -= 1
        except KeyboardInterrupt:
            interrupted = True
            stop_variable.set("all")
            client.cancel(list(futures))
            raise
        finally:
            # after an interrupt, the epochs the stopped runs logged on their way out; a finished run's outcome
            # already holds all of its history
            self._drain_events(events, sink, started, settle=0.2 if interrupted else 0.0)
            client.unsubscribe_topic(topic)
            started_marks.delete(specs if "specs" in locals() else ())
            try:
                stop_variable.delete()
            except Exception:
                pass

    def _should_rerun(self, outcome, started: set, attempts: dict, stop: StopRequests) -> bool:
        """Whether a run ended by a worker's death (not by its own code, not by a Stop) goes to another worker.

        The scheduler hands a worker more runs than it has threads; when that worker dies, the runs only waiting
        there fail with it (``KilledWorker``, with ``allowed-failures`` reached), or are cancelled by the
        scheduler when their scattered data died with it. Neither is the run's fault.
        """
        if stop(outcome.index) or attempts.get(outcome.index, 0) >= self.resubmits:
            return False
        killed = outcome.status == "failed" and "KilledWorker" in (outcome.error or "")
        return (killed and outcome.index not in started) or outcome.status == "cancelled"

    def _explained(self, outcome, attempts: dict):
        """A run the scheduler took away again and again is failed, saying so (not cancelled: nobody asked)."""
        if outcome.status == "cancelled" and attempts.get(outcome.index, 0) >= self.resubmits:
            outcome.status = "failed"
            outcome.error = (f"{outcome.error}; the scheduler dropped it {attempts[outcome.index] + 1} times after "
                             f"workers died")
        return outcome

    @staticmethod
    def _send_stops(stop: StopRequests, variable, sent):
        wanted = "all" if stop.all else sorted(stop.runs)
        if wanted != sent:
            variable.set(wanted)
        return wanted

    @staticmethod
    def _drain_events(events, sink, started: set, settle: float = 0.0) -> None:
        deadline = time.monotonic() + settle
        while True:
            try:
                message = events.get(timeout=max(0.0, deadline - time.monotonic()) if settle else 0)
            except queue.Empty:
                return
            kind, index, payload = message["kind"], message["index"], message["payload"]
            if kind == "start":
                started.add(index)
            if kind == "epochs":        # several epochs in one message (see _EventBatcher)
                for epoch in payload["epochs"]:
                    sink.event("epoch", index, epoch)
            else:
                sink.event(kind, index, payload)

    @staticmethod
    def _outcome(future, index: int) -> RunOutcome:
        from asyncio import CancelledError as AsyncCancelledError
        from concurrent.futures import CancelledError

        # the scheduler may cancel a future between the check of its status and the fetch of its result (a
        # finished run's result kept only by a worker that died): either way it comes back "cancelled"
        try:
            if future.status == "cancelled":
                raise CancelledError(getattr(getattr(future, "_state", None), "exception", None) or "")
            return future.result()
        except (CancelledError, AsyncCancelledError) as error:
            why = f" ({error})" if str(error) else ""
            return RunOutcome(index, "cancelled", error=f"cancelled by the scheduler before it finished{why}"[:300])
        except Exception as error:
            return RunOutcome(index, "failed", error=_task_error_text(error))

    def __repr__(self):
        return f"DaskExecutor({self.client!r})"


class _ScatteredData:
    """The sweep's ``x`` and ``y`` on every worker: scattered once, and again only when a worker's death lost them.

    ``hash=False``: a key of its own per sweep; the same array scattered again by the next sweep could otherwise
    meet its previous copy on the way out (a released key that the workers are still deleting).
    """

    def __init__(self, client, x, y):
        self.client = client
        self.parts = (x, y)
        self.generation = 0
        self._futures = self._scatter()

    def _scatter(self):
        # one call for both: one round trip to the scheduler, not two
        present = [part for part in self.parts if part is not None]
        sent = iter(self.client.scatter(present, broadcast=True, hash=False) if present else [])
        return [next(sent) if part is not None else None for part in self.parts]

    def futures(self, lost_generation: int | None = None):
        """``(generation, [x, y])``: scattered again if some are lost, or if ``lost_generation`` (the data of a
        run the scheduler cancelled) is the current one."""
        lost = any(future is not None and future.status != "finished" for future in self._futures)
        if lost or lost_generation == self.generation:
            self._futures = self._scatter()
            self.generation += 1
        return self.generation, self._futures


def executor_for(executor, client):
    """The executor named by ``sweep``'s ``executor=`` and ``client=`` arguments."""
    if client is not None:
        if executor not in (None, "dask"):
            raise ValueError(f"Pass either client= (a Dask cluster) or executor={executor!r}, not both.")
        return DaskExecutor(client)
    if executor is None or executor == "in-process":
        return InProcessExecutor()
    if executor == "processes":
        return ProcessExecutor()
    if executor == "dask":
        raise ValueError("executor='dask' needs client=: a dask.distributed.Client, e.g. "
                         "Client(LocalCluster(n_workers=2)).")
    if hasattr(executor, "run"):
        return executor
    raise ValueError(f"executor must be 'in-process' (default), 'processes', or an executor object; got "
                     f"{executor!r}. For a Dask cluster pass client=Client(...).")


