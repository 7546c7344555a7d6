"""Where ingestion reads the files it adds to vector stores: the Files API's store, per tenant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rejoinder.core.clock import Clock
from rejoinder.store.files.base import FileStore


@dataclass(frozen=True)
class SourceFile:
    """An uploaded file: its ID and name (its bytes are read when it is ingested)."""

    file_id: str
    filename: str


class FileSource(Protocol):
    """Uploaded files of a tenant."""

    async def find(self, tenant: str, file_id: str) -> SourceFile | None:
        """The file, or None when the tenant has no such file (or it expired)."""
        ...

    async def read(self, tenant: str, file_id: str) -> tuple[SourceFile, bytes] | None:
        """The file and all its bytes, or None when it is gone."""
        ...


class StoreFileSource:
    """Files kept by the Files API's `FileStore`."""

    def __init__(self, files: FileStore, clock: Clock) -> None:
        self._files = files
        self._clock = clock

    async def find(self, tenant: str, file_id: str) -> SourceFile | None:
        found = await self._files.get_file(file_id, now=int(self._clock.now()), tenant=tenant)
        return None if found is None else SourceFile(found.id, found.filename)

    async def read(self, tenant: str, file_id: str) -> tuple[SourceFile, bytes] | None:
        found = await self._files.get_file(file_id, now=int(self._clock.now()), tenant=tenant)
        if found is None:
            return None
        try:
            data = b"".join([part async for part in self._files.read_file(found)])
        except FileNotFoundError:
            return None
        return SourceFile(found.id, found.filename), data
