"""CPU time of whole process trees, from /proc: what a system under test spent, however many processes
it runs (a supervisor, its workers, their Envoy, a resource tracker...).

A *group* is one or more root pids and all their descendants, found at `start()` and again at `stop()`:
a process started during the window counts from zero, one that ended in it is lost (none do in a
steady window; a worker restarted mid-window would show as a drop in its group's figure). Every pid's
own seconds are kept too (`per_pid`), so a system's figure can be split by role (workers, Envoy).
The machine's busy seconds (every core, from /proc/stat) are read alike: what no group of ours and no
process of `pids` spent was spent by someone else.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import CpuProbe, core_seconds, cpu_seconds


def parents() -> dict[int, int]:
    """pid -> parent pid of every process now (scans /proc)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                found[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    return found


def tree(roots: tuple[int, ...], parent_of: Mapping[int, int]) -> set[int]:
    """`roots` and every descendant of theirs."""
    children: dict[int, list[int]] = {}
    for pid, parent in parent_of.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    todo = [pid for pid in roots if pid in parent_of]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found


def comm(pid: int) -> str:
    """The process's command name ("" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _seconds(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except OSError:
        return 0.0


def machine_seconds() -> float:
    """Busy seconds (user + nice + system) of every core so far."""
    return sum(core_seconds().values())


@dataclass
class TreeProbe(CpuProbe):
    """`CpuProbe` (single processes in `pids`, e.g. the load generator and the upstream) plus `groups`
    of process trees; `stop()` adds each group's seconds under its name and the machine's busy seconds
    under `machine`, and leaves each tree pid's own seconds in `per_pid`."""

    groups: dict[str, tuple[int, ...]] = field(default_factory=dict)
    per_pid: dict[int, float] = field(default_factory=dict, init=False)
    _tree_before: dict[int, float] = field(default_factory=dict, init=False)
    _machine_before: float = field(default=0.0, init=False)

    def _members(self) -> dict[str, set[int]]:
        parent_of = parents()
        return {name: tree(roots, parent_of) for name, roots in self.groups.items()}

    def start(self) -> None:
        members = self._members()
        self._tree_before = {pid: _seconds(pid) for pids in members.values() for pid in pids}
        self._machine_before = machine_seconds()
        super().start()

    def stop(self) -> dict[str, float]:
        used = super().stop()
        machine = machine_seconds() - self._machine_before
        self.per_pid = {}
        for name, pids in self._members().items():
            for pid in pids:
                self.per_pid[pid] = _seconds(pid) - self._tree_before.get(pid, 0.0)
            used[name] = sum(self.per_pid[pid] for pid in pids)
        used["machine"] = machine
        return used
