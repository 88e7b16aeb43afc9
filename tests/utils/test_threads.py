"""The BLAS thread policy: the chooser (a fake clock and given batch times, no timing), and BlasThreads (a fake
thread control and /proc/stat): explicit settings respected, the user's count restored."""

from __future__ import annotations

import math

import pytest

import nbtrain
from nbtrain.utils import threads as threads_module
from nbtrain.utils.threads import BlasControl, BlasThreads, ThreadChooser, environment_setting

def test_the_budget_is_read_again_after_a_while(monkeypatch):
    reads = []
    monkeypatch.setattr(threads_module, "_BUDGET", {})
    monkeypatch.setattr(threads_module, "cpu_budget", lambda: reads.append(1) or 3)
    clock = FakeClock()
    assert threads_module._cached_cpu_budget(clock) == 3
    clock.now += threads_module.BUDGET_SECONDS / 2
    assert threads_module._cached_cpu_budget(clock) == 3 and len(reads) == 1
    clock.now += threads_module.BUDGET_SECONDS
    threads_module._cached_cpu_budget(clock)
    assert len(reads) == 2


def test_environment_setting():
    assert environment_setting({}) is None
    assert environment_setting({"OPENBLAS_NUM_THREADS": " "}) is None
    assert environment_setting({"OMP_NUM_THREADS": "2"}) == "OMP_NUM_THREADS=2"


# ----- the chooser ----------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def run(chooser, seconds_for, batches, clock=None, batch_seconds=None):
    """Feed ``batches`` batch times, each ``seconds_for[threads]`` (the count in force), advancing the clock;
    return the counts used, batch by batch."""
    used = []
    for _ in range(batches):
        threads = chooser.threads
        used.append(threads)
        seconds = seconds_for[threads]
        if clock is not None:
            clock.now += batch_seconds or seconds
        chooser.record(seconds)
    return used


def test_chooser_keeps_two_threads_when_they_are_faster():
    chooser = ThreadChooser(2, clock=FakeClock())
    used = run(chooser, {1: 0.010, 2: 0.0085}, 20)
    assert used[:7] == [1] + [1, 1, 1, 2, 2, 2]   # warm-up, then 1 and 2: two threads win the first round
    assert chooser.phase == "decided" and chooser.threads == 2 and set(used[7:]) == {2}


def test_one_thread_batches_that_waited_for_the_idle_check_still_end_the_first_round():
    # The check cannot tell for 3 more batches; the first round is then 6 one-thread batches and 3 with two.
    answers = iter([None, None, None, True])
    chooser = ThreadChooser(2, clock=FakeClock(), threads_may_help=lambda: next(answers))
    used = run(chooser, {1: 0.010, 2: 0.0085}, 20)
    assert used[:10] == [1] + [1] * 6 + [2, 2, 2] and chooser.phase == "decided" and set(used[10:]) == {2}


def test_one_thread_ahead_after_the_first_round_gets_a_second_round():
    # One thread looks faster but not clearly so: both blocks run again before one thread is chosen.
    chooser = ThreadChooser(2, clock=FakeClock(), clear_factor=1.25)
    used = run(chooser, {1: 0.010, 2: 0.0110}, 20)
    assert used[:13] == [1] + [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2]   # warm-up, then 1 and 2 in turn, twice
    assert chooser.phase == "decided" and chooser.threads == 1 and set(used[13:]) == {1}


def test_a_clear_winner_after_one_round_ends_the_trial():
    chooser = ThreadChooser(2, clock=FakeClock(), clear_factor=1.25)
    used = run(chooser, {1: 0.010, 2: 0.006}, 20)
    assert used[:7] == [1, 1, 1, 1, 2, 2, 2] and set(used[7:]) == {2}


def test_chooser_prefers_one_thread_when_the_gain_is_within_the_margin():
    chooser = ThreadChooser(2, clock=FakeClock(), margin=0.05)
    run(chooser, {1: 0.010, 2: 0.0097}, 20)
    assert chooser.threads == 1


def test_a_collapsing_count_costs_one_batch_not_a_block():
    # A busy machine: two threads take 6 times as long as one.
    chooser = ThreadChooser(2, clock=FakeClock())
    used = run(chooser, {1: 0.010, 2: 0.060}, 30)
    assert used.count(2) == 1 and chooser.threads == 1


def test_when_a_matrix_product_shows_threads_do_not_help_no_batch_runs_with_them():
    clock = FakeClock()
    checks = []
    chooser = ThreadChooser(2, clock=clock, threads_may_help=lambda: checks.append(clock.now) or False,
                            recheck_seconds=10.0, max_recheck_seconds=40.0)
    used = run(chooser, {1: 0.010, 2: 0.060}, 10000, clock)   # 100 s
    assert set(used) == {1} and chooser.threads == 1
    # checked at the trial, then at the re-checks (10, 30, 70 s: the interval doubles) instead of a batch
    assert len(checks) == 4 and checks[1:] == pytest.approx([10.04, 30.04, 70.04], abs=0.05)


def test_tiny_batches_are_decided_by_size_and_never_rechecked():
    clock = FakeClock()
    chooser = ThreadChooser(2, clock=clock, small_batch_seconds=0.001)
    used = run(chooser, {1: 0.0002, 2: 0.0001}, 2000, clock, batch_seconds=1.0)
    assert set(used) == {1} and chooser.memory[2] == math.inf


def test_a_budget_of_one_needs_no_trial():
    chooser = ThreadChooser(1, clock=FakeClock())
    assert chooser.phase == "decided" and set(run(chooser, {1: 0.01}, 50)) == {1}


def test_recheck_switches_when_the_load_changes():
    clock = FakeClock()
    chooser = ThreadChooser(2, clock=clock, recheck_seconds=10.0)
    run(chooser, {1: 0.010, 2: 0.005}, 20, clock)
    assert chooser.threads == 2
    # Another process starts: two threads collapse; the chooser notices at the next re-check (10 s later)
    used = run(chooser, {1: 0.010, 2: 0.050}, 400, clock, batch_seconds=0.05)
    assert chooser.threads == 1
    switched_after = used.index(1)
    assert 0.05 * switched_after <= 10.0 + 0.2
    # ... and goes back when the machine is idle again, after a probe and a full trial
    run(chooser, {1: 0.010, 2: 0.005}, 2000, clock)
    assert chooser.threads == 2


def test_threads_that_slow_down_are_rechecked_at_once():
    clock = FakeClock()
    chooser = ThreadChooser(2, clock=clock, recheck_seconds=10.0, max_recheck_seconds=160.0)
    chooser._interval = 160.0   # long confirmed: the next scheduled re-check is minutes away
    run(chooser, {1: 0.010, 2: 0.005}, 20, clock)
    assert chooser.threads == 2
    used = run(chooser, {1: 0.010, 2: 0.050}, 30, clock)   # the machine gets busy: threads collapse
    assert chooser.threads == 1 and used.index(1) <= 5   # noticed within a few batches, not minutes


def test_confirmed_choices_are_rechecked_less_and_less_often():
    clock = FakeClock()
    chooser = ThreadChooser(2, clock=clock, recheck_seconds=10.0, max_recheck_seconds=40.0)
    used = run(chooser, {1: 0.010, 2: 0.030}, 20000, clock, batch_seconds=0.01)   # 200 s
    probes = sum(1 for before, after in zip(used[20:], used[21:]) if before == 1 and after == 2)
    # probes at 10, 30, 70, 110, 150, 190 s (the interval doubles up to 40 s); each costs one batch
    assert 5 <= probes <= 7 and chooser.threads == 1


def test_a_remembered_decision_starts_decided_and_is_rechecked_when_due():
    clock = FakeClock()
    clock.now = 100.0
    chooser = ThreadChooser(2, clock=clock, memory=(2, 95.0, 10.0))
    assert chooser.phase == "decided" and chooser.threads == 2
    used = run(chooser, {1: 0.010, 2: 0.005}, 10, clock, batch_seconds=2.0)
    assert 1 in used and chooser.threads == 2   # probed once (due at 105 s), kept two threads


# ----- BlasThreads: what the loops call -------------------------------------------------------------------------


class FakeControl:
    """A BLAS thread control that records what was set; ``refuse`` makes ``set`` not take (another thread
    holds threadpoolctl's limit)."""

    def __init__(self, threads=2, refuse=False):
        self.value = threads
        self.refuse = refuse
        self.calls = []
        self.released = 0

    def get(self):
        return self.value

    def set(self, threads):
        self.calls.append(threads)
        if not self.refuse:
            self.value = threads
        return self.value == threads

    def release(self):
        self.released += 1


@pytest.fixture(autouse=True)
def _no_shared_gemm_check(monkeypatch):
    monkeypatch.setattr(threads_module, "_LAST_GEMM_CHECK", {})
    monkeypatch.setattr(threads_module, "_LAST_IDLE_LOOK", {})


def blas(control, setting="auto", environ=None, budget=2, memory=None, key=("fit", 32), clock=None,
         gemm_probe=lambda budget: True, cpu_stat=lambda cpus: None):
    return BlasThreads({} if memory is None else memory, key, control=control, setting=setting,
                       environ={} if environ is None else environ, budget=budget, clock=clock or FakeClock(),
                       gemm_probe=gemm_probe, cpu_stat=cpu_stat)


def test_auto_sets_then_restores_the_users_count():
    control = FakeControl(threads=4)
    run_ = blas(control)
    run_.begin()
    assert control.value == 1 and run_.threads == 1
    run_.end()
    assert control.value == 4 and control.released == 1
    run_.end()   # twice is harmless
    assert control.calls == [1, 4]


def test_the_environment_and_none_leave_the_count_alone():
    for kwargs in ({"environ": {"OPENBLAS_NUM_THREADS": "3"}}, {"setting": None}):
        control = FakeControl(threads=2)
        run_ = blas(control, **kwargs)
        run_.begin(), run_.before_batch(), run_.after_batch(), run_.end()
        assert control.calls == [] and run_.threads is None


def test_a_threadpoolctl_limit_in_force_is_respected():
    control = FakeControl(threads=1)   # below the budget of 2: someone limited it
    run_ = blas(control, budget=2)
    run_.begin()
    run_.end()
    assert control.calls == [] and "limit of 1" in run_.reason


def test_a_fixed_setting_applies_even_over_the_environment():
    control = FakeControl(threads=2)
    run_ = blas(control, setting=3, environ={"OMP_NUM_THREADS": "1"})
    run_.begin()
    assert control.value == 3
    run_.end()
    assert control.value == 2


def test_a_change_by_the_user_during_the_run_stands():
    clock = FakeClock()
    control = FakeControl(threads=2)
    run_ = blas(control, clock=clock)
    run_.begin()
    control.value = 2   # e.g. threadpool_limits(2) in the notebook while a background fit runs
    for _ in range(20):
        run_.before_batch()
        clock.now += 0.01
        run_.after_batch()
    run_.end()
    assert control.calls == [1] and control.value == 2 and "changed" in run_.reason


def test_a_setting_that_does_not_take_makes_the_run_passive():
    control = FakeControl(threads=2, refuse=True)
    run_ = blas(control)
    run_.begin()
    assert run_.threads is None and "another thread" in run_.reason
    run_.end()


def test_one_run_at_a_time_manages_the_count():
    control = FakeControl(threads=2)
    outer, inner = blas(control), blas(control)
    outer.begin()
    inner.begin()      # e.g. predict in a callback, or in the notebook during a background fit
    assert inner.threads is None and "another nbtrain run" in inner.reason
    inner.end()
    assert control.value == 1    # the inner run did not restore anything
    outer.end()
    assert control.value == 2
    again = blas(control)
    again.begin()
    assert again.threads == 1    # the outer run let go
    again.end()


def test_the_decision_is_remembered_for_the_next_run():
    clock = FakeClock()
    memory = {}
    control = FakeControl(threads=2)
    first = blas(control, memory=memory, clock=clock)
    first.begin()
    for _ in range(20):
        first.before_batch()
        clock.now += 0.005 if control.value == 2 else 0.010
        first.after_batch()
    first.end()
    assert memory[("fit", 32)][0] == 2
    second = blas(control, memory=memory, clock=clock)
    second.begin()
    assert second.threads == 2
    second.end()


def test_chooser_asks_again_when_the_check_cannot_tell_yet():
    answers = iter([None, None, True])
    chooser = ThreadChooser(2, clock=FakeClock(), threads_may_help=lambda: next(answers))
    used = run(chooser, {1: 0.010, 2: 0.006}, 12)
    assert used[:8] == [1, 1, 1, 1, 1, 1, 2, 2] and chooser.threads == 2


def test_the_machine_check_is_shared_by_the_runs_of_a_few_seconds():
    clock = FakeClock()
    checks = []

    def probe(budget):
        checks.append(clock.now)
        return False

    def one_run():
        run_ = blas(FakeControl(threads=2), clock=clock, gemm_probe=probe, memory={})
        run_.begin()
        for _ in range(8):   # warm-up and three batches at one thread: then the check
            run_.before_batch()
            clock.now += 0.01
            run_.after_batch()
        run_.end()

    one_run()
    one_run()      # 0.08 s later: the same answer, no second check
    assert checks == [pytest.approx(0.04)]
    clock.now += threads_module.GEMM_CHECK_SECONDS
    one_run()
    assert len(checks) == 2


class FakeStat:
    """``/proc/stat`` for two CPUs: each clock second adds 100 ticks per CPU, ``idle`` cores' worth idle."""

    def __init__(self, clock, idle):
        self.clock, self.idle = clock, idle

    def __call__(self, cpus):
        ticks = int(self.clock.now * 100)
        return int(ticks * self.idle), ticks * 2


def feed(run_, clock, batches, seconds=0.01, own=None, own_cpu=0.0):
    """``batches`` batches of ``seconds`` each; with ``own``, this process's CPU seconds grow by ``own_cpu`` a batch."""
    for _ in range(batches):
        run_.before_batch()
        clock.now += seconds
        if own is not None:
            own["cpu"] += own_cpu
        run_.after_batch()


def test_busy_cores_decide_one_thread_without_a_threaded_product():
    clock = FakeClock()
    probes = []
    run_ = blas(FakeControl(threads=2), clock=clock, cpu_stat=FakeStat(clock, idle=0.1),
                gemm_probe=lambda budget: probes.append(budget) or True)
    run_.begin()
    feed(run_, clock, 3)          # 0.03 s: too early to tell, one thread goes on
    assert run_._chooser.phase == "trial" and run_.threads == 1
    feed(run_, clock, 10)         # past 0.05 s: the other core was busy
    assert run_._chooser.phase == "decided" and run_.threads == 1 and probes == []
    run_.end()


def test_idle_cores_let_the_product_and_the_trial_decide():
    clock = FakeClock()
    probes = []
    run_ = blas(FakeControl(threads=2), clock=clock, cpu_stat=FakeStat(clock, idle=0.9),
                gemm_probe=lambda budget: probes.append(budget) or True)
    run_.begin()
    feed(run_, clock, 15)
    assert probes == [2] and 2 in run_._control.calls
    run_.end()


def one_thread_batches_before_two(clock, stat, batches=10):
    """A new run's batches (warm-up included) that run with one thread before the first with two."""
    run_ = blas(FakeControl(threads=2), clock=clock, cpu_stat=stat, memory={})
    run_.begin()
    used = []
    for _ in range(batches):
        used.append(run_.threads)
        feed(run_, clock, 1)
    run_.end()
    return used.index(2) if 2 in used else None


def test_a_run_right_after_another_starts_from_its_look_at_the_idle_cores(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(threads_module.time, "process_time", lambda: clock.now)   # this process: one busy core
    stat = FakeStat(clock, idle=0.9)
    # Alone, a run waits out the 0.05 s window: warm-up, three trial batches and one more, at 0.01 s a batch.
    assert one_thread_batches_before_two(clock, stat) == 5
    clock.now += 1.0
    # One second later the window runs from the first run's last look: the trial's three batches are enough.
    assert one_thread_batches_before_two(clock, stat) == 4
    clock.now += threads_module.IDLE_LOOK_SHARED_SECONDS
    # A look older than that says little about the machine now: the run waits out a window of its own again.
    assert one_thread_batches_before_two(clock, stat) >= 5


def test_a_shared_look_still_sees_busy_cores(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(threads_module.time, "process_time", lambda: clock.now)
    one_thread_batches_before_two(clock, FakeStat(clock, idle=0.9))
    clock.now += 1.0
    assert one_thread_batches_before_two(clock, FakeStat(clock, idle=0.1), batches=20) is None


def test_a_shared_look_counts_this_process_idle_between_runs_against_the_idle_cores(monkeypatch):
    # Between the runs this process sat idle while another program kept one core busy: /proc/stat shows one
    # core idle, but it is the core this process trains on, so no second core is free for a thread.
    clock = FakeClock()
    own = {"cpu": 0.0}
    monkeypatch.setattr(threads_module.time, "process_time", lambda: own["cpu"])
    run_ = blas(FakeControl(threads=2), clock=clock, cpu_stat=FakeStat(clock, idle=1.0), memory={})
    run_.begin()
    run_.end()
    clock.now += 1.0                                   # the gap: no CPU used by this process
    probes = []
    run_ = blas(FakeControl(threads=2), clock=clock, cpu_stat=FakeStat(clock, idle=1.0), memory={},
                gemm_probe=lambda budget: probes.append(budget) or True)
    run_.begin()
    feed(run_, clock, 10, own=own, own_cpu=0.01)
    assert run_._chooser.phase == "decided" and run_.threads == 1 and probes == []
    run_.end()


def test_blas_control_on_this_process():
    control = BlasControl.find()
    if control is None:
        pytest.skip("threadpoolctl finds no BLAS library here")
    before = control.get()
    try:
        assert control.set(1) and control.get() == 1
    finally:
        control.set(before)
        control.release()


# ----- the public switch ------------------------------------------------------------------------------------------


def test_set_blas_threads_checks_its_argument():
    try:
        for good in ("auto", 1, 4, None):
            nbtrain.config.set_blas_threads(good)
            assert nbtrain.config.blas_threads() == good
        for bad in (0, -1, 1.5, True, "all"):
            with pytest.raises(ValueError, match="'auto', a positive int or None"):
                nbtrain.config.set_blas_threads(bad)
    finally:
        nbtrain.config.set_blas_threads("auto")


def test_config_names_keras_has():
    assert nbtrain.config.floatx() == "float32"
    with pytest.raises(AttributeError, match="has no set_floatx"):
        nbtrain.config.set_floatx
    assert threads_module.blas_threads is nbtrain.config.blas_threads


def test_this_processs_own_spinning_threads_do_not_count_as_a_busy_machine(monkeypatch):
    # /proc/stat shows a second core busy (idle 0.1), but this process used 1.9 cores meanwhile: the busy core
    # is OpenBLAS's own threads spinning after a threaded product, not another program.
    clock = FakeClock()
    own = {"cpu": 0.0}
    monkeypatch.setattr(threads_module.time, "process_time", lambda: own["cpu"])
    probes = []
    run_ = blas(FakeControl(threads=2), clock=clock, cpu_stat=FakeStat(clock, idle=0.1),
                gemm_probe=lambda budget: probes.append(budget) or True)
    run_.begin()
    feed(run_, clock, 15, own=own, own_cpu=0.019)
    assert probes == [2]
    run_.end()


def fake_product_times(one_thread, with_budget, warm_ups=None):
    """A _product_seconds that returns ``one_thread``, then ``with_budget``, cut where stop_above says; each
    call's ``warm_up`` goes to the list ``warm_ups`` if one is given."""
    answers = [list(one_thread), list(with_budget)]

    def products(repeats, warm_up=False, stop_above=float("inf")):
        if warm_ups is not None:
            warm_ups.append(warm_up)
        times = []
        for seconds in answers.pop(0)[:repeats]:
            times.append(seconds)
            if seconds > stop_above:
                break
        return times
    return products


def test_the_threaded_product_is_warmed_up_before_it_is_timed(monkeypatch):
    calls = []
    monkeypatch.setattr(threads_module, "_product_seconds", fake_product_times([0.001] * 3, [0.001] * 3, calls))
    run_ = blas(FakeControl(threads=2), gemm_probe=None)
    run_._current = 2
    run_._run_gemm_check(2)
    assert calls == [True, True]    # the first product after switching wakes the threads: not timed


@pytest.mark.parametrize("one_thread, with_budget, helps", [
    ([220e-6, 215e-6, 222e-6], [150e-6, 260e-6, 240e-6], True),    # idle, two threads' products interrupted
    ([220e-6, 215e-6, 222e-6], [140e-6, 145e-6, 150e-6], True),    # idle and quiet
    ([220e-6, 215e-6, 222e-6], [190e-6, 200e-6, 185e-6], False),   # threads barely help: not worth a trial
    ([220e-6, 215e-6, 222e-6], [150e-6, 900e-6, 140e-6], False),   # one product collapsed: a busy core
])
def test_the_product_check_compares_the_fastest_times(monkeypatch, one_thread, with_budget, helps):
    monkeypatch.setattr(threads_module, "_product_seconds", fake_product_times(one_thread, with_budget))
    run_ = blas(FakeControl(threads=2), gemm_probe=None)
    run_._current = 2
    assert run_._run_gemm_check(2) is helps
