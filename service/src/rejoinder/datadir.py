"""The data directory is one server's alone: a lock while it runs, readable by its owner only.

`claim` makes the directory (mode 0700) or tightens an existing one the user owns, takes an exclusive
`flock` on `rejoinder.lock` inside it (released by the kernel when the process exits, crashes included,
so a stale lock never blocks a restart), and gives the files the server keeps there to their owner only
(SQLite's database, its `-wal` and `-shm`, keys). The process's umask becomes 077 so that what it creates
later (SQLite makes `-wal`/`-shm` as it goes, Envoy its logs) is private too.

The directory also keeps the server's identity across restarts (`replica.id`): background runs are
claimed under it, so a restarted server knows which unfinished runs were its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = "rejoinder.lock"
IDENTITY_FILE = "replica.id"
PRIVATE_FILES = ("rejoinder.db", "rejoinder.db-wal", "rejoinder.db-shm", "reasoning.key", IDENTITY_FILE)


class DataDirError(Exception):
    """The data directory cannot be ours; the message says why."""


@dataclass
class DataDir:
    """A claimed data directory; `release()` (or process exit) frees it."""

    path: Path
    replica_id: str
    _lock_fd: int

    def release(self) -> None:
        """Unlock (the lock file stays, empty of meaning once unlocked)."""
        if self._lock_fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = -1


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    shared = info.st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    # A directory of someone else's, or a shared one such as /tmp (sticky), is left as it is.
    if shared and info.st_uid == os.getuid() and not info.st_mode & stat.S_ISVTX:
        path.chmod(0o700)


def _lock(path: Path) -> int:
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise DataDirError(
            f"the data directory {path.resolve()} is in use by another rejoinder serve (pid {holder}): "
            "give each server its own --data-dir"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _identity(path: Path, new_id: Callable[[], str]) -> str:
    file = path / IDENTITY_FILE
    if file.exists():
        kept = file.read_text().strip()
        if kept:
            return kept
    made = new_id()
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(made + "\n")
    return made


def claim(path: Path, new_id: Callable[[], str]) -> DataDir:
    """Make `path` this server's. Raises `DataDirError` when another server holds it or it is unusable.

    `new_id` makes the server's identity the first time the directory is used.
    """
    os.umask(0o077)
    try:
        _private_dir(path)
        fd = _lock(path)
    except OSError as exc:
        raise DataDirError(f"cannot use the data directory {path}: {exc}") from exc
    for name in PRIVATE_FILES:
        with contextlib.suppress(FileNotFoundError):
            (path / name).chmod(0o600)
    return DataDir(path=path, replica_id=_identity(path, new_id), _lock_fd=fd)
