"""Files in vector stores, and file batches: add (ingested in the background), list, retrieve, update
attributes, delete, content; batches created, retrieved, cancelled and their files listed.

A file in a store is named by the uploaded file's ID. Adding one the tenant has not uploaded is a 404;
adding one already in the store starts its ingestion over with the new attributes and chunking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from rejoinder.core.pages import page_args
from rejoinder.core.vector_stores import checks, objects
from rejoinder.core.vector_stores.parts import VectorStoreParts
from rejoinder.core.vector_stores.search import missing_store
from rejoinder.errors import ApiError, clip, invalid, not_found, too_many
from rejoinder.responses.v1 import vector_stores_service_pb2 as pb
from rejoinder.store.vector_stores.base import NewStoreFile, Page, StoreFileRow, Window
from rejoinder.vectors.chunking import ChunkingStrategy
from rejoinder.vectors.filters import AttributeValue

Wanted = tuple[str, Mapping[str, AttributeValue], ChunkingStrategy]
R = TypeVar("R", pb.ListVectorStoreFilesResponse, pb.ListVectorStoreFileBatchFilesResponse)


def missing_file(file_id: str, param: str = "file_id") -> ApiError:
    return not_found(f"No such File object: {clip(file_id)}", param=param)


def missing_store_file(vector_store_id: str, file_id: str) -> ApiError:
    return not_found(
        f"No file found with id '{clip(file_id)}' in vector store '{clip(vector_store_id)}'.", param="file_id"
    )


def missing_batch(batch_id: str) -> ApiError:
    return not_found(f"No file batch found with id '{clip(batch_id)}'.", param="batch_id")


async def new_files(
    parts: VectorStoreParts, tenant: str, wanted: Sequence[Wanted], param: str
) -> list[NewStoreFile]:
    """The files to add, each one the tenant has uploaded; raises 404 naming the first that is not."""
    now = parts.now()
    out: list[NewStoreFile] = []
    for i, (file_id, attributes, chunking) in enumerate(wanted):
        if await parts.files.find(tenant, file_id) is None:
            raise missing_file(file_id, param if param == "file_id" else f"{param}[{i}]")
        out.append(NewStoreFile(file_id, now, chunking, attributes))
    return out


def _window(after: str | None, before: str | None, limit: int | None, order: str | None) -> Window:
    size, direction = page_args(limit, order)
    return Window(after, before, size, direction)


class VectorStoreFilesCore:
    """Files in the vector stores of every tenant, and their batches."""

    def __init__(self, parts: VectorStoreParts) -> None:
        self._parts = parts
        self._store = parts.store

    async def _added(
        self, vector_store_id: str, files: list[NewStoreFile], tenant: str, batch: str | None
    ) -> None:
        now = self._parts.now()
        if not await self._store.add_files(vector_store_id, files, tenant=tenant, now=now, batch_id=batch):
            raise missing_store(vector_store_id)
        self._parts.added()

    async def _row(self, vector_store_id: str, file_id: str, tenant: str) -> StoreFileRow:
        row = await self._store.get_file(vector_store_id, file_id, tenant=tenant)
        if row is None:
            if await self._store.get_store(vector_store_id, tenant=tenant) is None:
                raise missing_store(vector_store_id)
            raise missing_store_file(vector_store_id, file_id)
        return row

    async def add(self, req: pb.CreateVectorStoreFileRequest, *, tenant: str = "") -> pb.VectorStoreFile:
        """Add an uploaded file; it is `in_progress` until ingested. Raises 400 or 404."""
        if not req.file_id:
            raise invalid(
                "Missing required parameter: 'file_id'.", param="file_id", code="missing_required_parameter"
            )
        attributes = checks.attributes(req.attributes)
        chunking = checks.chunking(req.chunking_strategy, req.HasField("chunking_strategy"))
        if await self._store.get_store(req.vector_store_id, tenant=tenant) is None:
            raise missing_store(req.vector_store_id)
        files = await new_files(self._parts, tenant, [(req.file_id, attributes, chunking)], "file_id")
        await self._added(req.vector_store_id, files, tenant, None)
        return objects.vector_store_file(await self._row(req.vector_store_id, req.file_id, tenant))

    async def get(self, vector_store_id: str, file_id: str, *, tenant: str = "") -> pb.VectorStoreFile:
        return objects.vector_store_file(await self._row(vector_store_id, file_id, tenant))

    async def list_files(
        self, req: pb.ListVectorStoreFilesRequest, *, tenant: str = ""
    ) -> pb.ListVectorStoreFilesResponse:
        window = _window(
            req.after if req.HasField("after") else None,
            req.before if req.HasField("before") else None,
            req.limit if req.HasField("limit") else None,
            req.order if req.HasField("order") else None,
        )
        status = checks.status_filter(req.filter if req.HasField("filter") else None)
        page = await self._store.list_files(req.vector_store_id, window, tenant=tenant, status=status)
        if page is None:
            raise missing_store(req.vector_store_id)
        return _files_page(pb.ListVectorStoreFilesResponse(), page)

    async def update(self, req: pb.UpdateVectorStoreFileRequest, *, tenant: str = "") -> pb.VectorStoreFile:
        """Replace the file's attributes (in the index too, so filters see them). Raises 400 or 404."""
        attributes = checks.attributes(req.attributes)
        row = await self._store.update_attributes(req.vector_store_id, req.file_id, attributes, tenant=tenant)
        if row is None:
            await self._row(req.vector_store_id, req.file_id, tenant)  # which one is missing
            raise missing_store_file(req.vector_store_id, req.file_id)
        await self._parts.index.update_attributes(tenant, req.vector_store_id, req.file_id, attributes)
        return objects.vector_store_file(row)

    async def delete(
        self, vector_store_id: str, file_id: str, *, tenant: str = ""
    ) -> pb.DeleteVectorStoreFileResponse:
        """Remove the file and its chunks from the store (the uploaded file stays). Raises 404."""
        if not await self._store.delete_file(vector_store_id, file_id, tenant=tenant):
            await self._row(vector_store_id, file_id, tenant)
        await self._parts.index.delete_file(tenant, vector_store_id, file_id)
        return pb.DeleteVectorStoreFileResponse(id=file_id, object="vector_store.file.deleted", deleted=True)

    async def content(
        self, vector_store_id: str, file_id: str, *, tenant: str = ""
    ) -> pb.GetVectorStoreFileContentResponse:
        """The chunks of text ingestion made of the file, in order (none before it completed)."""
        texts = await self._store.file_content(vector_store_id, file_id, tenant=tenant)
        if texts is None:
            await self._row(vector_store_id, file_id, tenant)
            texts = ()
        out = pb.GetVectorStoreFileContentResponse(object="vector_store.file_content.page", has_more=False)
        for text in texts:
            out.data.add(type="text", text=text)
        return out

    async def create_batch(
        self, req: pb.CreateVectorStoreFileBatchRequest, *, tenant: str = ""
    ) -> pb.VectorStoreFileBatch:
        """Add files together: `file_ids` sharing `attributes` and `chunking_strategy`, or `files` each
        with its own. Raises 400 or 404."""
        wanted = self._batch_files(req)
        if await self._store.get_store(req.vector_store_id, tenant=tenant) is None:
            raise missing_store(req.vector_store_id)
        param = "files" if req.files else "file_ids"
        files = await new_files(self._parts, tenant, wanted, param)
        batch_id = self._parts.ids.new("vsfb")
        await self._added(req.vector_store_id, files, tenant, batch_id)
        return await self.get_batch(req.vector_store_id, batch_id, tenant=tenant)

    @staticmethod
    def _batch_files(req: pb.CreateVectorStoreFileBatchRequest) -> list[Wanted]:
        if req.file_ids and req.files:
            raise invalid("Give 'file_ids' or 'files', not both.", param="files", code="invalid_value")
        if not req.file_ids and not req.files:
            raise invalid(
                "Missing required parameter: 'file_ids' (or 'files').",
                param="file_ids",
                code="missing_required_parameter",
            )
        if req.files:
            if len(req.files) > checks.MAX_BATCH_FILES:
                raise too_many(len(req.files), checks.MAX_BATCH_FILES, "files")
            wanted: dict[str, Wanted] = {}
            for i, f in enumerate(req.files):
                where = f"files[{i}]"
                if not f.file_id:
                    raise invalid(
                        f"Missing required parameter: '{where}.file_id'.",
                        param=f"{where}.file_id",
                        code="missing_required_parameter",
                    )
                attributes = checks.attributes(f.attributes, f"{where}.attributes")
                chunking = checks.chunking(
                    f.chunking_strategy, f.HasField("chunking_strategy"), f"{where}.chunking_strategy"
                )
                wanted[f.file_id] = (f.file_id, attributes, chunking)
            return list(wanted.values())
        ids = checks.file_ids(req.file_ids, checks.MAX_BATCH_FILES)
        attributes = checks.attributes(req.attributes)
        chunking = checks.chunking(req.chunking_strategy, req.HasField("chunking_strategy"))
        return [(file_id, attributes, chunking) for file_id in ids]

    async def get_batch(
        self, vector_store_id: str, batch_id: str, *, tenant: str = ""
    ) -> pb.VectorStoreFileBatch:
        row = await self._store.get_batch(vector_store_id, batch_id, tenant=tenant)
        if row is None:
            await self._check_store(vector_store_id, tenant)
            raise missing_batch(batch_id)
        return objects.batch(row)

    async def cancel_batch(
        self, vector_store_id: str, batch_id: str, *, tenant: str = ""
    ) -> pb.VectorStoreFileBatch:
        """Stop ingesting the batch's files that are not done (they end `cancelled`). Raises 404."""
        row = await self._store.cancel_batch(vector_store_id, batch_id, tenant=tenant)
        if row is None:
            await self._check_store(vector_store_id, tenant)
            raise missing_batch(batch_id)
        return objects.batch(row)

    async def list_batch_files(
        self, req: pb.ListVectorStoreFileBatchFilesRequest, *, tenant: str = ""
    ) -> pb.ListVectorStoreFileBatchFilesResponse:
        window = _window(
            req.after if req.HasField("after") else None,
            req.before if req.HasField("before") else None,
            req.limit if req.HasField("limit") else None,
            req.order if req.HasField("order") else None,
        )
        status = checks.status_filter(req.filter if req.HasField("filter") else None)
        page = await self._store.list_files(
            req.vector_store_id, window, tenant=tenant, status=status, batch_id=req.batch_id
        )
        if page is None:
            await self._check_store(req.vector_store_id, tenant)
            raise missing_batch(req.batch_id)
        return _files_page(pb.ListVectorStoreFileBatchFilesResponse(), page)

    async def _check_store(self, vector_store_id: str, tenant: str) -> None:
        if await self._store.get_store(vector_store_id, tenant=tenant) is None:
            raise missing_store(vector_store_id)


def _files_page(out: R, page: Page[StoreFileRow]) -> R:
    files, first, last = objects.file_page(page)
    out.object = "list"
    out.data.extend(files)
    out.has_more = page.has_more
    if first is not None and last is not None:
        out.first_id, out.last_id = first, last
    return out
