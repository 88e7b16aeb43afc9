"""Temporary files that are written next to their target and then renamed over it, and cleaning up after them.

A save writes ``.<name>.tmp-<pid>-<random>`` in the target's folder and renames it over ``<name>`` when it is
complete, so the target is never half written. A process killed half way (SIGKILL, a dead kernel) leaves its
temporary file behind; the next save removes it, but only when it is sure that no running process is still
writing it: the process named in the file name has ended, or the process now holding that id started after
the file was last written (the id was reused, as it often is when a container restarts a kernel).

Example:
    >>> name = temporary_name("model.keras")
    >>> name.startswith(".model.keras.tmp-")
    True
    >>> temporary_pattern(re.escape("model.keras")).match(name) is not None
    True
"""

from __future__ import annotations

import os
import re
import secrets

TEMPORARY_MARKER = ".tmp-"

# /proc gives a process's start in clock ticks after boot and the boot time in whole seconds, so a start time
# read from it may be up to a second early; files this close to it are kept.
_START_TIME_SLACK = 2.0


def temporary_name(base: str) -> str:
    """The name of a new temporary file for the target file name ``base`` (in the same folder)."""
    return f".{base}{TEMPORARY_MARKER}{os.getpid()}-{secrets.token_hex(4)}"


def temporary_pattern(base_pattern: str) -> re.Pattern:
    """A regular expression matching the temporary files of the targets whose names match ``base_pattern``.

    Args:
        base_pattern: a regular expression for the target's file name, e.g. ``re.escape("model.keras")``, or
            one made from a file name template such as ``"ckpt-{epoch:02d}.keras"`` (see
            :func:`template_pattern`). Group 1 of the result is the id of the process that wrote the file.
    """
    return re.compile(rf"\.(?:{base_pattern}){re.escape(TEMPORARY_MARKER)}(\d+)-[0-9a-f]+")


def template_pattern(template: str) -> str:
    """A regular expression for the file names that ``template.format(...)`` can produce.

    Example:
        >>> bool(re.fullmatch(template_pattern("ckpt-{epoch:02d}.keras"), "ckpt-07.keras"))
        True
        >>> bool(re.fullmatch(template_pattern("ckpt-{epoch:02d}.keras"), "other.keras"))
        False
    """
    import string

    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(r"[^/\\]*?")  # a filled-in field never crosses into another folder
    return "".join(parts)


def remove_stale_temporaries(directory: str, base_pattern: str) -> list[str]:
    """Delete the temporary files in ``directory`` that a process which is gone left behind; return their names.

    Only names matching :func:`temporary_pattern` of ``base_pattern`` are considered, and of those only the
    ones no running process can still be writing. POSIX only: elsewhere nothing is removed.

    Args:
        directory: the folder of the target files.
        base_pattern: a regular expression for the target file names (see :func:`temporary_pattern`).
    """
    if os.name != "posix":
        return []
    pattern = temporary_pattern(base_pattern)
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    removed = []
    for name in names:
        match = pattern.fullmatch(name)
        path = os.path.join(directory, name)
        if match and _left_by_a_finished_process(path, int(match.group(1))):
            try:
                os.unlink(path)
            except OSError:
                continue
            removed.append(name)
    return removed


def _left_by_a_finished_process(path: str, pid: int) -> bool:
    """True when the process that wrote ``path`` (whose id was ``pid``) cannot be running any more."""
    try:
        modified = os.stat(path).st_mtime
    except OSError:
        return False
    if not process_alive(pid):
        return True
    started = process_start_time(pid)
    # A live process that started after the file was last written did not write it: its id was reused.
    return started is not None and modified < started - _START_TIME_SLACK


def process_alive(pid: int) -> bool:
    """True when a process with id ``pid`` exists (or may exist: a process of another user counts as alive)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def process_start_time(pid: int) -> float | None:
    """When the process ``pid`` started (seconds since the epoch, to about a second), or None if unknown.

    Read from Linux's ``/proc``; on other systems the answer is None, and a live process's files are kept.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            # the command name (field 2) may hold spaces and parentheses; the fields after its ')' are plain
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks_after_boot = int(fields[19])  # field 22 of proc(5), "starttime"
        return _boot_time() + ticks_after_boot / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _boot_time() -> float:
    with open("/proc/stat", encoding="ascii") as stat:
        for line in stat:
            if line.startswith("btime "):
                return float(line.split()[1])
    raise ValueError("/proc/stat has no btime line")
