"""The files core over a real SQLite file store: metadata checked before the bytes when it can be, the size
limit as the bytes arrive, expiry from the injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rejoinder.core.files import FilesCore, Upload
from rejoinder.errors import ApiError
from rejoinder.responses.v1 import files_service_pb2 as pb
from rejoinder.store.files.blob_dir import BlobDir
from rejoinder.store.files.sqlite import SqliteFileStore
from rejoinder.store.sqlite import SqliteStore
from tests.fakes import FakeClock, SequentialIds

LIMIT = 1000


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[tuple[FilesCore, FakeClock]]:
    store = await SqliteStore.open(tmp_path / "rejoinder.db")
    clock = FakeClock()
    yield FilesCore(SqliteFileStore(store, BlobDir(tmp_path / "files")), SequentialIds(), clock, LIMIT), clock
    await store.close()


class Source:
    """Bytes in chunks, counting how many chunks were read."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk


def meta(purpose: str = "assistants", **kw: object) -> pb.CreateFileMetadata:
    return pb.CreateFileMetadata(filename="a.txt", purpose=purpose, **kw)  # type: ignore[arg-type]


async def test_a_bad_purpose_sent_first_is_refused_before_any_byte(core: tuple[FilesCore, FakeClock]) -> None:
    files, _ = core
    source = Source(b"x" * 10)
    with pytest.raises(ApiError) as refused:
        await files.create(Upload(source, lambda: meta("nonsense"), meta("nonsense")))
    assert (refused.value.param, refused.value.code) == ("purpose", "invalid_value")
    assert source.read == 0


async def test_the_limit_is_counted_as_the_bytes_arrive(core: tuple[FilesCore, FakeClock]) -> None:
    files, _ = core
    source = Source(b"x" * 600, b"x" * 600, b"never read")
    with pytest.raises(ApiError, match="File is too large") as refused:
        await files.create(Upload(source, meta, meta()))
    assert refused.value.reason == "FILE_TOO_LARGE" and refused.value.kind.value == "invalid_request_error"
    assert source.read == 2
    assert (await files.list(pb.ListFilesRequest())).data == []
    exactly = await files.create(Upload(Source(b"x" * LIMIT), meta, meta()))
    assert exactly.bytes == LIMIT


async def test_a_declared_size_over_the_limit_reads_nothing(core: tuple[FilesCore, FakeClock]) -> None:
    files, _ = core
    source = Source(b"x")
    with pytest.raises(ApiError, match="File is too large"):
        await files.create(Upload(source, meta, meta(bytes=LIMIT + 1)))
    assert source.read == 0
    with pytest.raises(ApiError, match="its metadata said 5"):
        await files.create(Upload(Source(b"1234"), meta, meta(bytes=5)))


async def test_expiry_follows_the_clock(core: tuple[FilesCore, FakeClock]) -> None:
    files, clock = core
    expiring = meta(expires_after=pb.FileExpiresAfter(anchor="created_at", seconds=3600))
    made = await files.create(Upload(Source(b"soon"), lambda: expiring, expiring))
    assert made.expires_at == made.created_at + 3600
    assert (await files.get(made.id)).id == made.id
    clock.advance(3600)
    with pytest.raises(ApiError) as gone:
        await files.get(made.id)
    assert gone.value.kind.value == "not_found" and gone.value.param == "id"


async def test_bytes_gone_before_they_are_read_are_a_404(
    core: tuple[FilesCore, FakeClock], tmp_path: Path
) -> None:
    files, _ = core
    made = await files.create(Upload(Source(b"short-lived"), meta, meta()))
    for blob in (tmp_path / "files").rglob("*"):
        if blob.is_file():
            blob.unlink()  # as if another worker deleted the file between the lookup and the read
    with pytest.raises(ApiError) as gone:
        await files.content(made.id)
    assert gone.value.kind.value == "not_found"
    chunks = await files.content((await files.create(Upload(Source(b"a", b"b"), meta, meta()))).id)
    assert b"".join([c async for c in chunks]) == b"ab"
