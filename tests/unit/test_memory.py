"""After a big request the heap gives its memory back (glibc's mmap threshold fixed: rejoinder/memory.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
import os, sys
from rejoinder.memory import give_back_big_blocks
if sys.argv[1] == "fixed":
    assert give_back_big_blocks()
big = b"x" * (16 << 20)
del big  # a big request: glibc raises its threshold to this size, unless it is fixed
blocks = [b"x" * (4 << 20) for _ in range(16)]  # 64 MiB of a big request's parts, written
pinned = b"x" * (200 << 10)  # something that lives on, made after them
del blocks
with open("/proc/self/statm") as statm:
    print(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") >> 20)
"""


def _rss_mb(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is Linux's")
def test_a_big_requests_memory_goes_back_to_the_system() -> None:
    dynamic, fixed = _rss_mb("dynamic"), _rss_mb("fixed")
    assert dynamic - fixed >= 48, (dynamic, fixed)  # the 64 MiB stayed with the process, or went back
