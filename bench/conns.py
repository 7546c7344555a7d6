"""Which process holds which TCP connections: how the kernel's `SO_REUSEPORT` (or Envoy) spread the
connections to a port over the workers that listen on it.

Reads /proc/net/tcp and /proc/net/tcp6 (established sockets whose *local* port is one of `ports`, i.e.
accepted connections) and each process's open files (`socket:[inode]`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

_ESTABLISHED = "01"


def _accepted_inodes(ports: frozenset[int]) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if fields[3] == _ESTABLISHED and local_port in ports:
                    inodes.add(fields[9])
    return inodes


def accepted_by_pid(pids: Iterable[int], ports: Iterable[int]) -> dict[int, int]:
    """pid -> how many established connections to `ports` it holds (accepted by it)."""
    inodes = _accepted_inodes(frozenset(ports))
    counts = {}
    for pid in pids:
        held = 0
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        held += 1
        counts[pid] = held
    return counts
