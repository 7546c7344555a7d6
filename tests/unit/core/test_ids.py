"""Random IDs: OpenAI's shape, never repeated, and a forked child's are its own."""

from __future__ import annotations

import os
import re

from rejoinder.core.ids import POOL_BYTES, RandomIds


def test_ids_have_the_prefix_and_48_hex_digits_and_do_not_repeat_across_pool_refills() -> None:
    ids = RandomIds()
    made = [ids.new("resp") for _ in range(3 * POOL_BYTES // 24 + 7)]  # three refills and some
    assert all(re.fullmatch(r"resp_[0-9a-f]{48}", i) for i in made), made[:3]
    assert len(set(made)) == len(made)
    assert RandomIds().new("msg") not in made


def test_a_forked_child_makes_ids_of_its_own() -> None:
    ids = RandomIds()
    ids.new("resp")  # the parent's pool is filled: the child must not reuse what is left of it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next IDs, to the parent
        try:
            os.write(write, " ".join(ids.new("resp") for _ in range(3)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split()
    os.waitpid(pid, 0)
    parent = [ids.new("resp") for _ in range(3)]
    assert len(child) == 3 and not set(child) & set(parent), (child, parent)
