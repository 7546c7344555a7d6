"""Bytes in a directory, content-addressed: `<root>/<aa>/<bb>/<sha256>` holds the bytes whose SHA-256
is that hex digest, so equal uploads share one copy.

Writes are atomic: the bytes go to a temporary file in `<root>/tmp`, are flushed to disk (fsync) and
then renamed into place, so a reader never sees a part of a blob. Putting a blob that exists already
replaces it with the same bytes, which no reader can tell apart. The caller (the SQLite file store)
decides when a blob is no longer referenced and removes it, under its database's write lock.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

READ_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Staged:
    """Bytes written to a temporary file, not yet in place."""

    path: Path
    sha256: str
    size: int


def _write(handle: BinaryIO, data: bytes) -> None:
    handle.write(data)


def _finish(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobDir:
    """A content-addressed directory of blobs."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._tmp = root / "tmp"

    def path_of(self, sha256: str) -> Path:
        """Where the blob with this digest lives."""
        return self._root / sha256[:2] / sha256[2:4] / sha256

    async def stage(self, content: AsyncIterable[bytes]) -> Staged:
        """Write `content` to a temporary file, hashing it; removed again when `content` raises."""
        await asyncio.to_thread(self._tmp.mkdir, parents=True, exist_ok=True)
        fd, name = await asyncio.to_thread(tempfile.mkstemp, dir=self._tmp, prefix="upload-")
        handle = os.fdopen(fd, "wb")
        digest = hashlib.sha256()
        size = 0
        try:
            async for chunk in content:
                digest.update(chunk)
                size += len(chunk)
                await asyncio.to_thread(_write, handle, chunk)
            await asyncio.to_thread(_finish, handle)
        except BaseException:
            handle.close()
            await asyncio.to_thread(Path(name).unlink, missing_ok=True)
            raise
        return Staged(Path(name), digest.hexdigest(), size)

    def commit(self, staged: Staged) -> None:
        """Move staged bytes into place (blocking: run it where the caller holds its lock)."""
        target = self.path_of(staged.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
        _fsync_dir(target.parent)

    def discard(self, staged: Staged) -> None:
        """Remove staged bytes that will not be committed."""
        staged.path.unlink(missing_ok=True)

    def remove(self, sha256: str) -> None:
        """Remove a blob (blocking); nothing when it is not there."""
        self.path_of(sha256).unlink(missing_ok=True)

    async def read(self, sha256: str) -> AsyncIterator[bytes]:
        """The blob's bytes, in chunks; FileNotFoundError when it is not there."""
        handle = await asyncio.to_thread(self.path_of(sha256).open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
                yield chunk
        finally:
            handle.close()
