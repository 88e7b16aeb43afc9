"""How many BLAS threads nbtrain's own work uses: chosen by measurement, the user's setting restored after.

OpenBLAS starts one thread per core. On an idle machine that speeds up large matrix products; on a shared
one (Binder, JupyterHub, Colab's 2 vCPUs, a laptop running a browser) the threads wait for each other and a
training epoch can take 4-8 times longer than with one thread. So during ``fit``, ``evaluate`` and
``predict`` nbtrain times a few batches with one thread and with the CPU budget (the cores this process may
use: its affinity and its container's CPU quota), keeps the faster, and checks again now and then, because
the load of a shared machine changes. Threads are not even tried while the other cores are busy (idle cores
from ``/proc/stat``, then a timed matrix product; the runs of a few seconds share both looks). Afterwards it puts
back the count it found.

nbtrain leaves the count alone when the user chose it: ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``,
``MKL_NUM_THREADS`` or ``BLIS_NUM_THREADS`` in the environment, a threadpoolctl limit in force (a count below
the cores this process may use), or ``nbtrain.config.set_blas_threads(None)``. ``set_blas_threads(n)`` fixes
the count for nbtrain's work. One run manages the count at a time (the count is process-wide): a ``predict``
in a callback, or in the notebook while ``fit(background=True)`` trains, runs with the count in force.

The parts, bottom up: :mod:`nbtrain.utils.cpus` (the CPU budget from the affinity and the cgroup quota, idle
cores from ``/proc/stat``), :class:`BlasControl` (threadpoolctl, imported on first use), :class:`ThreadChooser`
(the policy, pure: it sees batch times and a clock) and :class:`BlasThreads` (what the training loop calls:
``begin``, ``before_batch``/``after_batch``, ``end``).
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import NamedTuple

from nbtrain.utils.cpus import cpu_budget, cpu_jiffies, idle_cores, usable_cpus

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")

def _median(values) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


# ----- the user's switch --------------------------------------------------------------------------------------

_SETTING = {"blas_threads": "auto"}


def set_blas_threads(threads) -> None:
    """Choose how many BLAS threads nbtrain's ``fit``, ``evaluate`` and ``predict`` use.

    Args:
        threads: ``"auto"`` (the default: nbtrain measures 1 thread against all the cores it may use and keeps
            the faster), a positive int (that many threads during nbtrain's work, whatever the environment
            says), or ``None`` (nbtrain never changes the count: NumPy's default, ``OPENBLAS_NUM_THREADS`` or
            your threadpoolctl limits apply).

    Example:
        >>> import nbtrain
        >>> nbtrain.config.set_blas_threads(1)
        >>> nbtrain.config.blas_threads()
        1
        >>> nbtrain.config.set_blas_threads("auto")
    """
    valid = threads is None or threads == "auto" or (
        isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1)
    if not valid:
        raise ValueError(f"set_blas_threads() takes 'auto', a positive int or None, got {threads!r}. Use 'auto' to "
                         f"let nbtrain choose, 1 for one thread, or None to leave the thread count alone.")
    _SETTING["blas_threads"] = threads


def blas_threads():
    """The setting made by :func:`set_blas_threads`: ``"auto"``, an int or ``None``."""
    return _SETTING["blas_threads"]


_BUDGET = {}
BUDGET_SECONDS = 30.0


def _cached_cpu_budget(clock=time.monotonic) -> int:
    """:func:`cpu_budget`, read again after ``BUDGET_SECONDS`` (reading the cgroup files takes a few hundred
    microseconds: more than a one-sample ``predict``)."""
    now = clock()
    if not _BUDGET or now - _BUDGET["at"] >= BUDGET_SECONDS:
        _BUDGET.update(at=now, cores=cpu_budget())
    return _BUDGET["cores"]


def environment_setting(environ=None) -> str | None:
    """``"OPENBLAS_NUM_THREADS=1"`` when the environment fixes a thread count, else None."""
    environ = os.environ if environ is None else environ
    for name in THREAD_VARIABLES:
        if environ.get(name, "").strip():
            return f"{name}={environ[name]}"
    return None


# ----- the BLAS libraries ---------------------------------------------------------------------------------------


class BlasControl:
    """Reads and sets the thread count of the BLAS libraries NumPy loaded, through threadpoolctl.

    ``set`` reads the count back: threadpoolctl lets only one Python thread at a time limit OpenBLAS (the one
    that limited it first, until it lets go), so a setting may not take, and the caller must know.
    """

    def __init__(self, libraries):
        self._libraries = list(libraries)

    @classmethod
    def find(cls) -> BlasControl | None:
        """The BLAS libraries loaded in this process, or None without threadpoolctl or a BLAS it knows."""
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return None
        libraries = [library for library in ThreadpoolController().lib_controllers if library.user_api == "blas"]
        return cls(libraries) if libraries else None

    def get(self) -> int:
        return min(library.get_num_threads() or 1 for library in self._libraries)

    def set(self, threads: int) -> bool:
        """Set every BLAS library to ``threads``; True if it took."""
        for library in self._libraries:
            library.set_num_threads(threads)
        return self.get() == threads

    def release(self) -> None:
        """Let another Python thread set the count again (threadpoolctl's OpenBLAS rule; see the class)."""
        for library in self._libraries:
            clear = getattr(type(library), "clear_controlling_thread", None)
            if clear is not None:
                clear()


_CONTROL = {"found": False, "control": None}
_CONTROL_LOCK = threading.Lock()


def blas_control() -> BlasControl | None:
    """The process's :class:`BlasControl`, found once (NumPy loads its BLAS at import)."""
    with _CONTROL_LOCK:
        if not _CONTROL["found"]:
            _CONTROL["control"] = BlasControl.find()
            _CONTROL["found"] = True
        return _CONTROL["control"]


# ----- the policy ------------------------------------------------------------------------------------------------


class ThreadChooser:
    """Chooses between 1 thread and ``budget`` threads from the times of the batches run with each.

    - The first batch only warms up (it allocates). Then ``trial_batches`` batches run with 1 thread.
    - If they take under ``small_batch_seconds``, that decides: products that small never gain from threads.
    - Before any batch runs with the budget, ``threads_may_help()`` must say that threads can pay off now at
      all (the other cores were idle meanwhile, and a matrix product of a millisecond runs faster with them):
      on a busy machine they collapse, and one batch would cost several batches' time.
    - Then ``trial_batches`` batches run with ``budget``. The faster by the median wins; the budget only if
      faster by more than ``margin``, since one thread disturbs the machine less. When the budget wins the
      first round, that decides: the idle cores and the matrix product said the same, and on a short fit a
      second round of one-thread batches would cost more than it could find. Otherwise both blocks run again
      (a change of load mid-trial hits both), unless one count is faster by ``clear_factor``. A batch that
      takes ``abort_factor`` times the other count's median ends the trial at once.
    - After a decision, when ``recheck_seconds`` have passed, ``trial_batches`` batches probe the other count;
      if it looks faster, a full trial follows; if not, the interval doubles, up to ``max_recheck_seconds``.
      Threaded batches that become ``slowdown_factor`` times slower than just after the decision bring the
      re-check forward: the machine got busy, and threads suffer first.

    Args:
        budget: the cores this process may use (see :func:`cpu_budget`).
        clock: seconds, for the re-check schedule (batch times are given to :meth:`record`).
        memory: a decision kept from an earlier run, ``(threads, decided_at, interval)``, or None.
        threads_may_help: a function returning False when threads cannot pay off now, True when they may, None
            when it cannot tell yet (the chooser asks again after the next batch; default: always True).

    Example:
        >>> chooser = ThreadChooser(2, clock=lambda: 0.0)
        >>> chooser.threads
        1
    """

    def __init__(self, budget: int, clock=time.perf_counter, memory=None, threads_may_help=None,
                 trial_batches: int = 3, margin: float = 0.05, abort_factor: float = 2.0, clear_factor: float = 1.25,
                 slowdown_factor: float = 1.5, small_batch_seconds: float = 0.001, recheck_seconds: float = 10.0,
                 max_recheck_seconds: float = 160.0):
        self.budget = max(1, int(budget))
        self._clock = clock
        self._trial_batches = trial_batches
        self._margin = margin
        self._abort_factor = abort_factor
        self._clear_factor = clear_factor
        self._slowdown_factor = slowdown_factor
        self._reference = None        # the chosen count's batch time just after the decision
        self._threads_may_help = threads_may_help or (lambda: True)
        self._small = small_batch_seconds
        self._base_interval = recheck_seconds
        self._max_interval = max_recheck_seconds
        self._times = {1: [], self.budget: []}
        self._recent = []             # the chosen count's latest batch times, for a re-check's comparison
        self._plan = []               # the counts of the coming trial or probe batches
        self._probing = False
        self._chosen = memory[0] if memory is not None else None   # the last decision
        if self.budget == 1:
            self.phase, self.threads = "decided", 1
            self._decided_at, self._interval = clock(), math.inf
        elif memory is not None:
            self.threads, self._decided_at, self._interval = memory
            self.phase = "decided"
        else:
            self.phase, self.threads = "warm-up", 1
            self._decided_at, self._interval = None, self._base_interval

    @property
    def memory(self):
        """What a later run of the same work starts from (None until decided)."""
        return (self.threads, self._decided_at, self._interval) if self.phase == "decided" else None

    def record(self, seconds: float) -> None:
        """The time of one batch run with ``self.threads``; afterwards ``self.threads`` is the next batch's."""
        if self.phase == "warm-up":
            self._start_trial()
        elif self.phase == "trial":
            self._trial_step(seconds)
        elif self.phase == "decided":
            self._decided_step(seconds)

    # -- trial: 1 thread and the budget in turn ------------------------------------------------------------

    def _start_trial(self) -> None:
        block = self._trial_batches
        self._times = {1: [], self.budget: []}
        self._plan = [1] * block + [self.budget] * block + [1] * block + [self.budget] * block
        self.phase = "trial"
        self.threads = self._plan.pop(0)

    def _trial_step(self, seconds: float) -> None:
        threads = self.threads
        self._times[threads].append(seconds)
        other = self._other(threads)
        if threads == 1 and len(self._times[1]) >= self._trial_batches and not self._times[other]:
            if _median(self._times[1]) < self._small:
                self._decide(1)   # decided by size, once and for all
                self._interval = math.inf
                return None
            helps = self._threads_may_help()
            if helps is None:
                return None   # too early to tell: one more batch with one thread
            if not helps:
                return self._decide(1)   # a busy machine: not even one batch with the budget
        if self._times[other] and seconds > self._abort_factor * _median(self._times[other]):
            return self._decide(other)   # a clear loser: stop trying it
        # (the one-thread block may be longer: batches wait there until the idle cores can be told)
        first_round_done = threads == self.budget and len(self._times[self.budget]) == self._trial_batches
        if not self._plan or first_round_done and (self._clear_winner() or self._faster() == self.budget):
            return self._decide(self._faster())
        self.threads = self._plan.pop(0)

    def _clear_winner(self) -> bool:
        """After one block of each: is one count faster by ``clear_factor``? Then a second round is not needed."""
        one = _median(self._times[1])
        many = _median(self._times[self.budget])
        return max(one, many) > self._clear_factor * min(one, many)

    def _faster(self) -> int:
        one = _median(self._times[1])
        many = _median(self._times[self.budget])
        return self.budget if many < one * (1 - self._margin) else 1

    def _decide(self, threads: int) -> None:
        previous, self._chosen = self._chosen, threads
        self.phase, self.threads, self._plan = "decided", threads, []
        self._decided_at = self._clock()
        self._recent = []
        self._reference = None
        self._probing = False
        if previous is not None and previous != threads:
            self._interval = self._base_interval

    # -- decided: run the choice, probe the other count now and then -----------------------------------------

    def _decided_step(self, seconds: float) -> None:
        if self._probing:
            return self._probe_step(seconds)
        self._recent = (self._recent + [seconds])[-self._trial_batches:]
        if len(self._recent) < self._trial_batches:
            return
        if self._reference is None:
            self._reference = _median(self._recent)
        due = self._decided_at is not None and self._clock() - self._decided_at >= self._interval
        # Threads that slow down by half: other work has started, and they may be collapsing; look now.
        slowed = self.threads > 1 and _median(self._recent) > self._slowdown_factor * self._reference
        if due or slowed:
            helps = self._threads_may_help() if self.threads == 1 else True
            if helps is None:
                return
            if not helps:
                self._interval = min(self._interval * 2, self._max_interval)
                self._decided_at = self._clock()
                return
            self._probing, self._probe_times = True, []
            self.threads = self._other(self.threads)

    def _probe_step(self, seconds: float) -> None:
        self._probe_times.append(seconds)
        chosen = self._other(self.threads)
        reference = _median(self._recent)
        if seconds > self._abort_factor * reference or (
                len(self._probe_times) == self._trial_batches
                and _median(self._probe_times) >= reference * (1 - self._margin)):
            self._interval = min(self._interval * 2, self._max_interval)   # confirmed: look less often
            return self._decide(chosen)
        if len(self._probe_times) == self._trial_batches:
            self._start_trial()   # the other count looks faster now: a full trial settles it

    def _other(self, threads: int) -> int:
        return 1 if threads == self.budget else self.budget


_PRODUCT = {}


def _product_seconds(repeats: int, warm_up: bool = False, stop_above: float = math.inf) -> list[float]:
    """Times of a 256x256 float32 matrix product (big enough for OpenBLAS to use its threads, under a
    millisecond on one core), stopping after one that takes longer than ``stop_above``."""
    import numpy as np

    if not _PRODUCT:
        rng = np.random.default_rng(0)
        _PRODUCT["a"] = rng.random((256, 256), dtype=np.float32)
        _PRODUCT["out"] = np.empty((256, 256), np.float32)
    a, out = _PRODUCT["a"], _PRODUCT["out"]
    if warm_up:
        np.matmul(a, a, out=out)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, a, out=out)
        times.append(time.perf_counter() - start)
        if times[-1] > stop_above:
            break
    return times


# ----- what the loops call ---------------------------------------------------------------------------------------

_OWNER_LOCK = threading.Lock()
_OWNER = {"run": None}
_LAST_GEMM_CHECK = {}   # budget -> (clock time, did threads help), shared by the runs of this process
GEMM_CHECK_SECONDS = 10.0
IDLE_WINDOW_SECONDS = 0.05  # /proc/stat counts 10 ms ticks: five per core tell idle cores well enough
_LAST_IDLE_LOOK = {}   # usable CPUs -> the _IdleLook of the last run that looked at them
IDLE_LOOK_SHARED_SECONDS = 2.0


class _IdleLook(NamedTuple):
    """One look at the usable cores: when (the run's clock), their ``/proc/stat`` jiffies (None where there is no
    such file), and this process's CPU seconds then."""

    at: float
    jiffies: tuple | None
    own_cpu: float


class BlasThreads:
    """The thread count of one ``fit``, ``evaluate`` or ``predict`` run: set at ``begin``, tuned per batch,
    the user's count put back at ``end`` (also after an error or an interrupt: call it in a ``finally``).

    Only one run manages the count at a time, and none when the user fixed it (see the module's docstring);
    the others are passive (their calls do nothing).

    Args:
        memory: a dict (kept on the model) where the decision survives this run, keyed by ``key``.
        key: which work this is, e.g. ``("fit", 128)``: the decision holds for the same model and batch size.
        control: a :class:`BlasControl` (default: found through threadpoolctl).
        setting: ``"auto"``, an int or None (default: :func:`blas_threads`).
        environ, budget, clock, gemm_probe, cpu_stat: for tests (default ``os.environ``, :func:`cpu_budget`,
            ``time.perf_counter``, a timed matrix product, :func:`cpu_jiffies`).

    Example:
        >>> threads = BlasThreads({}, ("fit", 32))
        >>> threads.begin()
        >>> threads.before_batch(); threads.after_batch()   # around each batch
        >>> threads.end()
    """

    def __init__(self, memory: dict, key, control=None, setting="from config", environ=None, budget=None,
                 clock=time.perf_counter, gemm_probe=None, cpu_stat=None):
        self._memory = memory
        self._key = key
        self._control = control
        self._setting = blas_threads() if setting == "from config" else setting
        self._environ = environ
        self._budget = budget
        self._clock = clock
        self._gemm_probe = gemm_probe
        self._cpu_stat = cpu_stat
        self._cpus = ()
        self._look = None             # the last _IdleLook at the other cores (see _threads_may_help)
        self._look_shared = False     # that look is an earlier run's
        self._active = False
        self._chooser = None
        self._original = None
        self._current = None
        self._started = None
        self._changed_count = False
        self.reason = "not started"

    def begin(self) -> None:
        """Take charge of the count (if no one else has it and the user did not fix it) and set it."""
        if self._setting is None:
            self.reason = "set_blas_threads(None)"
            return
        fixed_by_environment = self._setting == "auto" and environment_setting(self._environ)
        if fixed_by_environment:
            self.reason = f"environment: {fixed_by_environment}"
            return
        with _OWNER_LOCK:
            if _OWNER["run"] is not None:
                self.reason = "another nbtrain run manages the threads"
                return
            control = self._control if self._control is not None else blas_control()
            if control is None:
                self.reason = "no BLAS library found by threadpoolctl"
                return
            _OWNER["run"] = self
        self._control = control
        self._active = True
        self._original = control.get()
        if self._setting == "auto":
            budget = self._budget if self._budget is not None else _cached_cpu_budget()
            if self._original < budget:   # below the cores we may use: a limit the user (or a library) set
                self.reason = f"a limit of {self._original} thread(s) is in force"
                return self._let_go()
            self._chooser = ThreadChooser(budget, clock=self._clock, memory=self._memory.get(self._key),
                                          threads_may_help=lambda: self._threads_may_help(budget))
            self._cpus = usable_cpus()
            self._start_idle_window()
            self.reason = f"auto: 1 or {budget} thread(s)"
        self._apply(self._chooser.threads if self._chooser else self._setting)

    def before_batch(self) -> None:
        if self._chooser is not None:
            self._started = self._clock()

    def after_batch(self) -> None:
        """Give the batch's time to the policy and apply its choice for the next batch."""
        if self._chooser is None or self._started is None:
            return
        self._chooser.record(self._clock() - self._started)
        self._started = None
        if self._chooser.threads != self._current:
            self._apply(self._chooser.threads)

    @property
    def threads(self) -> int | None:
        """The count nbtrain set for this run, or None if it does not manage it."""
        return self._current if self._active else None

    def end(self) -> None:
        """Put the user's count back (unless someone changed it meanwhile) and let go; safe to call twice."""
        if not self._active:
            return
        if self._chooser is not None and self._chooser.memory is not None:
            self._memory[self._key] = self._chooser.memory
        try:
            if self._control.get() == self._current:   # else the user changed it meanwhile: theirs stands
                self._control.set(self._original)
        finally:
            self._let_go()

    def _threads_may_help(self, budget: int) -> bool | None:
        """False when the other cores were busy since the last look (``/proc/stat``; threads would wait for
        them), None when that was too short ago to tell, else what a timed matrix product says."""
        last, now = self._look, self._read_jiffies()
        idle = idle_cores(last.jiffies, now, len(self._cpus))
        if last.jiffies is not None and now is not None:
            elapsed = self._clock() - last.at
            if elapsed < IDLE_WINDOW_SECONDS or idle is None and elapsed < 10 * IDLE_WINDOW_SECONDS:
                return None   # too early to tell
        self._look = _IdleLook(self._clock(), now, time.process_time())
        from_shared, self._look_shared = self._look_shared, False
        self._share_look()
        if idle is not None:
            # This process's own use beyond the training core does not count against threads: OpenBLAS's
            # threads spin for a while after a threaded product, and /proc/stat would show them as a busy core.
            # A window begun by an earlier run may also span time this process sat idle between the runs, when
            # its own core showed idle too: there its use below one core counts against the idle cores.
            excess = (self._look.own_cpu - last.own_cpu) / max(self._look.at - last.at, 1e-9) - 1.0
            idle += excess if from_shared else max(0.0, excess)
        if idle is not None and idle < 0.5 * (budget - 1):
            return False
        return self._gemm_check(budget)

    def _start_idle_window(self) -> None:
        """Start the look at the other cores: from the last look of a run of this process in the past
        ``IDLE_LOOK_SHARED_SECONDS`` (a fit right after another then need not wait out a window of its own, a few
        one-thread batches when they are short), else now."""
        now = self._clock()
        with _OWNER_LOCK:
            shared = _LAST_IDLE_LOOK.get(tuple(self._cpus))
        self._look_shared = shared is not None and 0 <= now - shared.at < IDLE_LOOK_SHARED_SECONDS
        if self._look_shared:
            self._look = shared
        else:
            self._look = _IdleLook(now, self._read_jiffies(), time.process_time())
            self._share_look()

    def _share_look(self) -> None:
        with _OWNER_LOCK:
            _LAST_IDLE_LOOK[tuple(self._cpus)] = self._look

    def _read_jiffies(self):
        return self._cpu_stat(self._cpus) if self._cpu_stat is not None else cpu_jiffies(self._cpus)

    def _gemm_check(self, budget: int) -> bool:
        """Do ``budget`` threads make a 256x256 matrix product at least ``1.25`` times faster than one now?

        The answer is about the machine, not the model, so the runs of this process share it for
        ``GEMM_CHECK_SECONDS``: a fit, then an evaluate and a predict, check once.
        """
        with _OWNER_LOCK:
            last = _LAST_GEMM_CHECK.get(budget)
        if last is not None and 0 <= self._clock() - last[0] < GEMM_CHECK_SECONDS:
            return last[1]
        helps = self._run_gemm_check(budget)
        with _OWNER_LOCK:
            _LAST_GEMM_CHECK[budget] = (self._clock(), helps)
        return helps

    def _run_gemm_check(self, budget: int) -> bool:
        if self._gemm_probe is not None:
            return self._gemm_probe(budget)
        if self._control.get() != self._current:
            return False   # the user changed the count: leave it (the next _apply lets go)
        try:
            if not self._control.set(1):
                return False
            # The fastest of three times each: an interruption only ever slows a product down, and on an idle
            # machine two threads gain only about 1.5x on a product this small, so one slow product in a median
            # said "no" in about one process start in six (then for GEMM_CHECK_SECONDS).
            one = min(_product_seconds(3, warm_up=True))
            if not self._control.set(budget):
                return False
            # Stop at the first product that collapses: on a busy machine one costs a scheduler time slice.
            # The first product after the switch wakes OpenBLAS's threads (twice as slow, idle or not): untimed.
            with_budget = _product_seconds(3, warm_up=True, stop_above=2 * one)
            return len(with_budget) == 3 and min(with_budget) * 1.25 < one
        finally:
            self._control.set(self._current)

    def _apply(self, threads: int) -> None:
        # Read back first: a count that differs from the one we set means the user changed it while we ran.
        if self._current is not None and self._control.get() != self._current:
            self.reason = "the thread count was changed during the run"
            return self._let_go()
        if not self._control.set(threads):
            self.reason = "another thread holds threadpoolctl's limit"
            self._control.set(self._original)
            return self._let_go()
        self._current = threads
        self._changed_count = True

    def _let_go(self) -> None:
        self._chooser = None
        self._active = False
        if self._changed_count:
            self._control.release()
        with _OWNER_LOCK:
            if _OWNER["run"] is self:
                _OWNER["run"] = None
