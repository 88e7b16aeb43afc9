"""The CPU budget (affinity, cgroup v1 and v2 quotas read from fake files) and idle cores from /proc/stat."""

from __future__ import annotations

import pytest

from nbtrain.utils.cpus import cgroup_cpu_quota, cpu_budget, cpu_jiffies, idle_cores


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_in_the_process_cgroup(tmp_path):
    _write(tmp_path / "proc", "0::/user.slice/session\n")
    _write(tmp_path / "cg/user.slice/session/cpu.max", "150000 100000\n")
    assert cgroup_cpu_quota(tmp_path / "cg", tmp_path / "proc") == 1.5


def test_cgroup_v2_the_smallest_quota_up_the_tree_applies(tmp_path):
    _write(tmp_path / "proc", "0::/a/b\n")
    _write(tmp_path / "cg/a/b/cpu.max", "max 100000\n")
    _write(tmp_path / "cg/a/cpu.max", "100000 100000\n")
    _write(tmp_path / "cg/cpu.max", "400000 100000\n")
    assert cgroup_cpu_quota(tmp_path / "cg", tmp_path / "proc") == 1.0


def test_cgroup_v2_in_a_container_reads_the_root(tmp_path):
    # The container's /proc/self/cgroup names "/" and its cgroup namespace root carries the quota.
    _write(tmp_path / "proc", "0::/\n")
    _write(tmp_path / "cg/cpu.max", "200000 100000\n")
    assert cgroup_cpu_quota(tmp_path / "cg", tmp_path / "proc") == 2.0


def test_cgroup_v2_without_a_quota(tmp_path):
    _write(tmp_path / "proc", "0::/\n")
    _write(tmp_path / "cg/cpu.max", "max 100000\n")
    assert cgroup_cpu_quota(tmp_path / "cg", tmp_path / "proc") is None


def test_cgroup_v1_quota(tmp_path):
    _write(tmp_path / "proc", "4:memory:/x\n2:cpu,cpuacct:/docker/abc\n")
    _write(tmp_path / "cg/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "50000\n")
    _write(tmp_path / "cg/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_quota(tmp_path / "cg", tmp_path / "proc") == 0.5


def test_cgroup_v1_path_missing_inside_the_container_falls_back_to_the_mount(tmp_path):
    _write(tmp_path / "proc", "1:cpu:/host/path/not/mounted\n")
    _write(tmp_path / "cg/cpu/cpu.cfs_quota_us", "300000\n")
    _write(tmp_path / "cg/cpu/cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_quota(tmp_path / "cg", tmp_path / "proc") == 3.0


def test_cgroup_v1_no_quota_and_unreadable_files(tmp_path):
    _write(tmp_path / "proc", "1:cpu:/\n")
    _write(tmp_path / "cg/cpu/cpu.cfs_quota_us", "-1\n")
    _write(tmp_path / "cg/cpu/cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_quota(tmp_path / "cg", tmp_path / "proc") is None
    assert cgroup_cpu_quota(tmp_path / "cg", tmp_path / "no such file") is None
    _write(tmp_path / "garbled", "this is not a cgroup file\n0::\n")
    assert cgroup_cpu_quota(tmp_path / "cg", tmp_path / "garbled") is None


def test_budget_is_the_affinity_capped_by_the_rounded_quota(tmp_path):
    _write(tmp_path / "proc", "0::/\n")
    _write(tmp_path / "cg/cpu.max", "150000 100000\n")
    assert cpu_budget(range(8), tmp_path / "cg", tmp_path / "proc") == 2      # 1.5 cores round to 2
    _write(tmp_path / "cg/cpu.max", "120000 100000\n")
    assert cpu_budget(range(8), tmp_path / "cg", tmp_path / "proc") == 1
    _write(tmp_path / "cg/cpu.max", "10000 100000\n")
    assert cpu_budget(range(8), tmp_path / "cg", tmp_path / "proc") == 1      # at least one
    _write(tmp_path / "cg/cpu.max", "max 100000\n")
    assert cpu_budget({0, 3}, tmp_path / "cg", tmp_path / "proc") == 2        # the affinity alone
    assert cpu_budget() >= 1   # this machine


def test_cpu_jiffies_and_idle_cores(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 5 0 5 50 0 0 0 0 0 0\ncpu1 5 0 5 50 0 0 0 0 0 0\n"
                    "cpu2 1 1 1 1 1 1 1 1 0 0\nintr 1 2 3\n")
    before = cpu_jiffies({0, 1}, stat)
    assert before == (100, 120)
    # 100 ticks each later: cpu0 was busy (ours), cpu1 half idle
    stat.write_text("cpu0 105 0 5 50 0 0 0 0 0 0\ncpu1 55 0 5 100 0 0 0 0 0 0\n")
    after = cpu_jiffies({0, 1}, stat)
    assert idle_cores(before, after, 2) == pytest.approx(0.5)
    assert idle_cores(before, before, 2) is None        # no time passed
    assert idle_cores((0, 0), (4, 9), 2) is None         # under 5 ticks (50 ms) per core: too short to tell
    assert idle_cores((0, 0), (5, 10), 2) == pytest.approx(1.0)
    assert idle_cores(None, after, 2) is None
    assert cpu_jiffies({0}, tmp_path / "missing") is None
    assert cpu_jiffies({7}, stat) is None                 # no such CPU
    stat.write_text("cpu0 x y\n")
    assert cpu_jiffies({0}, stat) is None
