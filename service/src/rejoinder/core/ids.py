"""Object IDs with OpenAI's prefixes, from an injected generator."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Protocol

ID_BYTES = 24
POOL_BYTES = 4096


class IdGenerator(Protocol):
    """Makes new object IDs."""

    def new(self, prefix: str) -> str:
        """A new unique ID that starts with `prefix` and an underscore, e.g. "resp_..."."""
        ...


class RandomIds:
    """IDs like OpenAI's: the prefix and 48 random hex digits (24 bytes from the OS's CSPRNG, as
    `secrets.token_hex` reads them).

    The bytes are read `POOL_BYTES` at a time: one system call per 170 IDs, not one per ID (a response
    makes two or three). A forked child reads bytes of its own, never its parent's."""

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0
        forget = weakref.WeakMethod(self._forget)
        os.register_at_fork(after_in_child=lambda: _call(forget))

    def new(self, prefix: str) -> str:
        """A new random ID."""
        at = self._at
        if at + ID_BYTES > len(self._pool):
            self._pool, at = os.urandom(POOL_BYTES), 0
        self._at = at + ID_BYTES
        return f"{prefix}_{self._pool[at : at + ID_BYTES].hex()}"

    def _forget(self) -> None:
        self._pool, self._at = b"", 0


def _call(method: weakref.WeakMethod[Callable[[], None]]) -> None:
    found = method()
    if found is not None:
        found()
