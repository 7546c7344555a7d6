"""Files: documents uploaded once and used by ID (OpenAI's Files API).

Both surfaces call `FilesCore`; every method acts for one tenant. An upload's bytes are counted as
they arrive and refused past the size limit (what OpenAI answers: 400, "File is too large."); its
description (`purpose`, `expires_after`, the name) is checked before the bytes when it comes first and
always once they are in, since a multipart body may send its fields after the file.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass

from rejoinder.core.clock import Clock
from rejoinder.core.ids import IdGenerator
from rejoinder.errors import ApiError, ErrorKind, clip, invalid, not_found
from rejoinder.responses.v1 import files_service_pb2 as pb
from rejoinder.store.files.base import FileStore, NewFile, StoredFile

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MIN_EXPIRY_S = 3600
MAX_EXPIRY_S = 2_592_000
MAX_LIST_LIMIT = 10_000
MAX_FILENAME_CHARS = 512
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
"""OpenAI's own limit on one file."""


def missing_file(file_id: str) -> ApiError:
    """OpenAI's 404 for a file that does not exist (or is another tenant's, or expired)."""
    return not_found(f"No such File object: {clip(file_id)}", param="id")


def too_large(most: int) -> ApiError:
    """OpenAI's answer to a file over the limit (a 400, not a 413)."""
    return ApiError(
        ErrorKind.INVALID_REQUEST,
        f"File is too large. The largest file this server accepts is {most} bytes.",
        reason="FILE_TOO_LARGE",
    )


def as_proto(file: StoredFile) -> pb.FileObject:
    """The OpenAI `FileObject` of a stored file."""
    out = pb.FileObject(
        id=file.id,
        object="file",
        bytes=file.bytes,
        created_at=file.created_at,
        filename=file.filename,
        purpose=file.purpose,
        status="processed",
    )
    if file.expires_at is not None:
        out.expires_at = file.expires_at
    return out


def check_purpose(purpose: str) -> None:
    """Raises 400 unless OpenAI accepts the purpose for an upload."""
    if not purpose:
        raise invalid(
            "Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter"
        )
    if purpose not in PURPOSES:
        allowed = ", ".join(f"'{p}'" for p in PURPOSES)
        raise invalid(
            f"Invalid value for 'purpose': '{clip(purpose)}'. Supported values are: {allowed}.",
            param="purpose",
            code="invalid_value",
        )


def _check_expiry(meta: pb.CreateFileMetadata) -> int | None:
    """The expiry in seconds after creation, or None; raises 400."""
    if not meta.HasField("expires_after"):
        return None
    after = meta.expires_after
    if after.anchor != "created_at":
        raise invalid(
            f"Invalid value for 'expires_after.anchor': '{clip(after.anchor)}'. "
            "Supported values are: 'created_at'.",
            param="expires_after.anchor",
            code="invalid_value",
        )
    if not MIN_EXPIRY_S <= after.seconds <= MAX_EXPIRY_S:
        raise invalid(
            f"Invalid 'expires_after.seconds': expected a value between {MIN_EXPIRY_S} and {MAX_EXPIRY_S}, "
            f"but got {after.seconds} instead.",
            param="expires_after.seconds",
            code="invalid_value",
        )
    return after.seconds


def check_metadata(meta: pb.CreateFileMetadata, max_bytes: int) -> None:
    """Raises 400 for what the upload says about its file."""
    check_purpose(meta.purpose)
    if not meta.filename:
        raise invalid("Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
    if len(meta.filename) > MAX_FILENAME_CHARS:
        raise invalid(
            f"Invalid 'file': its name is {len(meta.filename)} characters long; "
            f"at most {MAX_FILENAME_CHARS}.",
            param="file",
            code="invalid_value",
        )
    _check_expiry(meta)
    if meta.HasField("bytes") and meta.bytes > max_bytes:
        raise too_large(max_bytes)


@dataclass(frozen=True)
class Upload:
    """An upload as a surface reads it: its bytes, and its metadata, which `metadata()` gives once the
    bytes are read (`early` when it was known before them)."""

    content: AsyncIterable[bytes]
    metadata: Callable[[], pb.CreateFileMetadata]
    early: pb.CreateFileMetadata | None = None


async def _counted(
    content: AsyncIterable[bytes], max_bytes: int, declared: int | None
) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in content:
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes)
        yield chunk
    if declared is not None and declared != size:
        raise invalid(
            f"The file has {size} bytes, but its metadata said {declared}.",
            param="bytes",
            code="invalid_value",
        )


async def _after(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


class FilesCore:
    """Files of every tenant, in one file store."""

    def __init__(
        self, files: FileStore, ids: IdGenerator, clock: Clock, max_bytes: int = DEFAULT_MAX_FILE_BYTES
    ) -> None:
        self._files = files
        self._ids = ids
        self._clock = clock
        self._max_bytes = max_bytes

    def _now(self) -> int:
        return int(self._clock.now())

    async def create(self, upload: Upload, *, tenant: str = "") -> pb.FileObject:
        """Store an upload. Raises 400 (bad metadata, too large)."""
        if upload.early is not None:
            check_metadata(upload.early, self._max_bytes)
        now = self._now()
        file_id = "file-" + self._ids.new("file").removeprefix("file_")
        declared = upload.early.bytes if upload.early is not None and upload.early.HasField("bytes") else None

        def describe() -> NewFile:
            meta = upload.metadata()
            check_metadata(meta, self._max_bytes)
            seconds = _check_expiry(meta)
            return NewFile(
                file_id, meta.filename, meta.purpose, now, None if seconds is None else now + seconds
            )

        content = _counted(upload.content, self._max_bytes, declared)
        stored = await self._files.create_file(file_id, content, describe, tenant=tenant)
        await self._files.purge_expired(now)
        return as_proto(stored)

    async def _get(self, file_id: str, tenant: str) -> StoredFile:
        found = await self._files.get_file(file_id, now=self._now(), tenant=tenant)
        if found is None:
            raise missing_file(file_id)
        return found

    async def get(self, file_id: str, *, tenant: str = "") -> pb.FileObject:
        """Raises 404."""
        return as_proto(await self._get(file_id, tenant))

    async def content(self, file_id: str, *, tenant: str = "") -> AsyncIterator[bytes]:
        """The file's bytes, in chunks. Raises 404 before the first chunk, also when the file was
        deleted between finding it and reading it."""
        chunks = self._files.read_file(await self._get(file_id, tenant))
        try:
            first = await anext(chunks, b"")
        except FileNotFoundError:
            raise missing_file(file_id) from None
        return _after(first, chunks)

    async def list(self, req: pb.ListFilesRequest, *, tenant: str = "") -> pb.ListFilesResponse:
        """A page of the tenant's files. Raises 400."""
        limit = req.limit if req.HasField("limit") else MAX_LIST_LIMIT
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise invalid(
                f"Invalid 'limit': expected a value between 1 and {MAX_LIST_LIMIT}, but got {limit} instead.",
                param="limit",
                code="invalid_value",
            )
        order = req.order if req.HasField("order") else "desc"
        if order not in ("asc", "desc"):
            raise invalid(
                f"Invalid value: '{clip(order)}'. Supported values are: 'asc' and 'desc'.",
                param="order",
                code="invalid_value",
            )
        page = await self._files.list_files(
            after=req.after if req.HasField("after") else None,
            limit=limit,
            order="asc" if order == "asc" else "desc",
            purpose=req.purpose if req.HasField("purpose") and req.purpose else None,
            now=self._now(),
            tenant=tenant,
        )
        out = pb.ListFilesResponse(
            object="list", data=[as_proto(f) for f in page.files], has_more=page.has_more
        )
        if page.files:
            out.first_id = page.files[0].id
            out.last_id = page.files[-1].id
        return out

    async def delete(self, file_id: str, *, tenant: str = "") -> pb.DeleteFileResponse:
        """Raises 404."""
        if not await self._files.delete_file(file_id, tenant=tenant):
            raise missing_file(file_id)
        return pb.DeleteFileResponse(id=file_id, object="file", deleted=True)
