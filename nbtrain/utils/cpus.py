"""The CPUs this process may use and how busy they are: affinity, cgroup CPU quota, idle cores from /proc/stat.

:mod:`nbtrain.utils.threads` reads them to choose the BLAS thread count of nbtrain's work.
"""

from __future__ import annotations

import math
import os
from pathlib import Path


def usable_cpus():
    """The CPUs this process may run on (its affinity; every CPU where the system cannot say)."""
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)


def cpu_budget(affinity=None, cgroup_root: Path | str = "/sys/fs/cgroup",
               proc_cgroup: Path | str = "/proc/self/cgroup") -> int:
    """The number of cores this process may keep busy: its CPU affinity, capped by its cgroup CPU quota.

    Containers (Binder, Kubernetes) see every core of the host but may be given a quota of one or two; the
    quota is rounded to the nearest whole core, and at least 1.

    Args:
        affinity: the set of usable CPUs (default ``os.sched_getaffinity(0)``, or ``os.cpu_count()``).
        cgroup_root: where the cgroup file systems are mounted.
        proc_cgroup: the file naming this process's cgroups.
    """
    if affinity is None:
        affinity = usable_cpus()
    cores = max(1, len(affinity))
    quota = cgroup_cpu_quota(Path(cgroup_root), Path(proc_cgroup))
    if quota is not None:
        cores = min(cores, max(1, math.floor(quota + 0.5)))
    return cores


def cgroup_cpu_quota(cgroup_root: Path, proc_cgroup: Path) -> float | None:
    """The CPU quota in cores (``1.5`` for 150 ms per 100 ms) of this process's cgroup, or None if unlimited.

    cgroup v2 keeps it in ``cpu.max`` (``"150000 100000"`` or ``"max 100000"``), in the process's cgroup and
    its parents (the smallest applies); cgroup v1 in ``cpu.cfs_quota_us`` (-1: none) and ``cpu.cfs_period_us``.
    Inside a container the path named in ``/proc/self/cgroup`` may not exist, so the mount's root is read too.
    """
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        relative = path.strip().lstrip("/")
        if controllers == "":
            quotas += _v2_quotas(cgroup_root, relative)
        elif "cpu" in controllers.split(","):
            quotas += _v1_quotas(cgroup_root, controllers, relative)
    return min(quotas) if quotas else None


def _v2_quotas(root: Path, relative: str) -> list[float]:
    directory = root / relative if relative else root
    quotas = []
    while True:
        quota = _read_v2_quota(directory / "cpu.max")
        if quota is not None:
            quotas.append(quota)
        if directory == root or root not in directory.parents:
            return quotas
        directory = directory.parent


def _read_v2_quota(path: Path) -> float | None:
    try:
        fields = path.read_text().split()
    except OSError:
        return None
    if len(fields) != 2 or fields[0] == "max":
        return None
    return _ratio(fields[0], fields[1])


def _v1_quotas(root: Path, controllers: str, relative: str) -> list[float]:
    quotas = []
    for mount in (root / controllers, root / "cpu", root / "cpu,cpuacct"):
        for directory in (mount / relative, mount):
            try:
                quota = (directory / "cpu.cfs_quota_us").read_text().strip()
                period = (directory / "cpu.cfs_period_us").read_text().strip()
            except OSError:
                continue
            ratio = _ratio(quota, period)
            if ratio is not None:
                quotas.append(ratio)
    return quotas


def _ratio(quota: str, period: str) -> float | None:
    try:
        quota_value, period_value = int(quota), int(period)
    except ValueError:
        return None
    if quota_value <= 0 or period_value <= 0:   # -1: no quota
        return None
    return quota_value / period_value


def cpu_jiffies(cpus, stat_path: Path | str = "/proc/stat") -> tuple[int, int] | None:
    """``(idle, total)`` clock ticks of the given CPUs since boot, from ``/proc/stat``; None if unreadable.

    Two readings tell how many of these cores sat idle in between (see :func:`idle_cores`): with one core
    training, a second one that is busy with other work means threads would wait for it.
    """
    try:
        lines = Path(stat_path).read_text().splitlines()
    except OSError:
        return None
    wanted = {f"cpu{cpu}" for cpu in cpus}
    idle = total = 0
    found = False
    for line in lines:
        fields = line.split()
        if not fields or fields[0] not in wanted:
            continue
        try:
            ticks = [int(value) for value in fields[1:9]]   # user nice system idle iowait irq softirq steal
        except ValueError:
            return None
        if len(ticks) < 5:
            return None
        idle += ticks[3] + ticks[4]
        total += sum(ticks)
        found = True
    return (idle, total) if found else None


def idle_cores(before, after, cores: int) -> float | None:
    """How many of ``cores`` cores were idle on average between two :func:`cpu_jiffies` readings (None if
    they are missing or too close together to tell: ticks are 10 ms, and five per core tell an idle core, about
    five idle ticks, from a busy one, about none)."""
    if before is None or after is None:
        return None
    idle, total = after[0] - before[0], after[1] - before[1]
    if total < 5 * cores:
        return None
    return cores * idle / total
