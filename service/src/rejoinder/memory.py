"""The heap gives back what big requests used (glibc's malloc).

glibc maps a block of at least its mmap threshold on its own and unmaps it when it is freed. The threshold
starts at 128 KiB and, each time such a block is freed, rises to that block's size (up to 32 MiB): after
one request near the 32 MiB body limit, every block of up to 32 MiB comes from the heap, whose top goes
back to the system only when nothing lives above it. The service kept 50-100 MB that way after the
bench's 32 MiB requests. A fixed threshold keeps big blocks mapped, each given back when it is freed:
after those requests the service held 143 MB instead of 241 (`python -m bench --only beside_big idle`),
at no cost in CPU per request (`python -m bench.ab`, 10 rounds: REST 0.991, typed `Create` 0.992).
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
BIG_BLOCK = 1 << 20
"""Blocks of this size and more are mapped on their own (a request's body, its big strings)."""
TRIM = 128 << 10
"""Free memory at the heap's top beyond this goes back to the system (glibc's default, kept fixed)."""


def give_back_big_blocks() -> bool:
    """Fix glibc's mmap threshold at `BIG_BLOCK` and its trim threshold at `TRIM`. Returns whether it
    could (False where the C library is not glibc's, or has no `mallopt`)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, BIG_BLOCK)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM))
