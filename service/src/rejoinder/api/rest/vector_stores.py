"""The Vector stores API's REST routes (`OpenAIHttpService`'s *VectorStore* RPCs), over the vector stores
core. `OpenAIHttpServicer` hands these calls here.

Bodies are OpenAI's JSON, decoded into the typed service's requests; what JSON says and a proto cannot
(a `metadata` key present, `"expires_after": null`) is read from the JSON itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from google.api.httpbody_pb2 import HttpBody
from google.protobuf.message import Message

from rejoinder.api.auth import Authenticator
from rejoinder.api.rest.replies import Context, unary
from rejoinder.core.checks.limits import check_count
from rejoinder.core.vector_stores.checks import MAX_BATCH_FILES, MAX_FILE_IDS
from rejoinder.core.vector_stores.files import VectorStoreFilesCore
from rejoinder.core.vector_stores.stores import VectorStoresCore
from rejoinder.edge.envoy_replies import ORIGINAL_PATH_METADATA
from rejoinder.responses.v1 import openai_http_pb2 as http
from rejoinder.responses.v1 import vector_stores_service_pb2 as pb
from rejoinder.wire.json_body import parse_object
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.raw_body import RawBody

M = TypeVar("M", bound=Message)
Paged = TypeVar("Paged", pb.ListVectorStoreFilesRequest, pb.ListVectorStoreFileBatchFilesRequest)


def _sent(context: Context) -> dict[str, list[str]]:
    """The query parameters as sent (the transcoder's fields cannot tell 0 or "" from absent)."""
    metadata = dict(context.invocation_metadata() or ())
    return parse_qs(urlsplit(str(metadata.get(ORIGINAL_PATH_METADATA, ""))).query, keep_blank_values=True)


def _page_args(
    req: pb.ListVectorStoresRequest | Paged,
    given: (
        http.HttpListVectorStoresRequest
        | http.HttpListVectorStoreFilesRequest
        | http.HttpListVectorStoreFileBatchFilesRequest
    ),
    context: Context,
) -> None:
    sent = _sent(context)
    if given.after:
        req.after = given.after
    if given.before:
        req.before = given.before
    if given.limit or "limit" in sent:  # `limit=0` is sent, and refused
        req.limit = given.limit
    if given.order:
        req.order = given.order


class VectorStoreRoutes:
    """HttpBody handlers of the Vector stores API."""

    def __init__(
        self, stores: VectorStoresCore, files: VectorStoreFilesCore, codec: OpenAIJson, auth: Authenticator
    ) -> None:
        self._stores = stores
        self._files = files
        self._codec = codec
        self._auth = auth

    async def _decode(
        self, body: HttpBody | RawBody, cls: type[M], arrays: Mapping[str, int] | None = None
    ) -> tuple[M, dict[str, object]]:
        data = await parse_object(body.data)
        for key, most in (arrays or {}).items():
            value = data.get(key)
            if isinstance(value, list):
                check_count(len(value), most, key)
        return self._codec.decode(data, cls), data

    async def create(self, body: HttpBody | RawBody, context: Context) -> HttpBody:
        """POST /v1/vector_stores."""

        async def produce() -> object:
            req, _ = await self._decode(body, pb.CreateVectorStoreRequest, {"file_ids": MAX_FILE_IDS})
            return self._codec.encode(await self._stores.create(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def list(self, request: http.HttpListVectorStoresRequest, context: Context) -> HttpBody:
        """GET /v1/vector_stores."""

        async def produce() -> object:
            req = pb.ListVectorStoresRequest()
            _page_args(req, request, context)
            return self._codec.encode(
                await self._stores.list_stores(req, tenant=self._auth.tenant_of(context))
            )

        return await unary(context, produce)

    async def get(self, request: http.HttpVectorStoreIdRequest, context: Context) -> HttpBody:
        """GET /v1/vector_stores/{id}."""

        async def produce() -> object:
            tenant = self._auth.tenant_of(context)
            return self._codec.encode(await self._stores.get(request.vector_store_id, tenant=tenant))

        return await unary(context, produce)

    async def update(self, request: http.HttpVectorStoreBodyRequest, context: Context) -> HttpBody:
        """POST /v1/vector_stores/{id}: a present `metadata` replaces it; `"expires_after": null` removes
        the expiry."""

        async def produce() -> object:
            req, data = await self._decode(request.body, pb.UpdateVectorStoreRequest)
            req.vector_store_id = request.vector_store_id
            req.update_metadata = "metadata" in data
            req.clear_expires_after = "expires_after" in data and data["expires_after"] is None
            return self._codec.encode(await self._stores.update(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def delete(self, request: http.HttpVectorStoreIdRequest, context: Context) -> HttpBody:
        """DELETE /v1/vector_stores/{id}."""

        async def produce() -> object:
            tenant = self._auth.tenant_of(context)
            return self._codec.encode(await self._stores.delete(request.vector_store_id, tenant=tenant))

        return await unary(context, produce)

    async def search(self, request: http.HttpVectorStoreBodyRequest, context: Context) -> HttpBody:
        """POST /v1/vector_stores/{id}/search."""

        async def produce() -> object:
            req, _ = await self._decode(request.body, pb.SearchVectorStoreRequest)
            req.vector_store_id = request.vector_store_id
            return self._codec.encode(await self._stores.search(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def add_file(self, request: http.HttpVectorStoreBodyRequest, context: Context) -> HttpBody:
        """POST /v1/vector_stores/{id}/files."""

        async def produce() -> object:
            req, _ = await self._decode(request.body, pb.CreateVectorStoreFileRequest)
            req.vector_store_id = request.vector_store_id
            return self._codec.encode(await self._files.add(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def list_files(self, request: http.HttpListVectorStoreFilesRequest, context: Context) -> HttpBody:
        """GET /v1/vector_stores/{id}/files."""

        async def produce() -> object:
            req = pb.ListVectorStoreFilesRequest(vector_store_id=request.vector_store_id)
            _page_args(req, request, context)
            if request.filter or "filter" in _sent(context):
                req.filter = request.filter
            return self._codec.encode(await self._files.list_files(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def get_file(self, request: http.HttpVectorStoreFileRequest, context: Context) -> HttpBody:
        """GET /v1/vector_stores/{id}/files/{file_id}."""

        async def produce() -> object:
            tenant = self._auth.tenant_of(context)
            found = await self._files.get(request.vector_store_id, request.file_id, tenant=tenant)
            return self._codec.encode(found)

        return await unary(context, produce)

    async def update_file(self, request: http.HttpVectorStoreFileBodyRequest, context: Context) -> HttpBody:
        """POST /v1/vector_stores/{id}/files/{file_id}: new attributes."""

        async def produce() -> object:
            req, _ = await self._decode(request.body, pb.UpdateVectorStoreFileRequest)
            req.vector_store_id, req.file_id = request.vector_store_id, request.file_id
            return self._codec.encode(await self._files.update(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def delete_file(self, request: http.HttpVectorStoreFileRequest, context: Context) -> HttpBody:
        """DELETE /v1/vector_stores/{id}/files/{file_id}."""

        async def produce() -> object:
            tenant = self._auth.tenant_of(context)
            gone = await self._files.delete(request.vector_store_id, request.file_id, tenant=tenant)
            return self._codec.encode(gone)

        return await unary(context, produce)

    async def file_content(self, request: http.HttpVectorStoreFileRequest, context: Context) -> HttpBody:
        """GET /v1/vector_stores/{id}/files/{file_id}/content."""

        async def produce() -> object:
            tenant = self._auth.tenant_of(context)
            page = await self._files.content(request.vector_store_id, request.file_id, tenant=tenant)
            return self._codec.encode(page)

        return await unary(context, produce)

    async def create_batch(self, request: http.HttpVectorStoreBodyRequest, context: Context) -> HttpBody:
        """POST /v1/vector_stores/{id}/file_batches."""

        async def produce() -> object:
            arrays = {"file_ids": MAX_BATCH_FILES, "files": MAX_BATCH_FILES}
            req, _ = await self._decode(request.body, pb.CreateVectorStoreFileBatchRequest, arrays)
            req.vector_store_id = request.vector_store_id
            return self._codec.encode(
                await self._files.create_batch(req, tenant=self._auth.tenant_of(context))
            )

        return await unary(context, produce)

    async def get_batch(self, request: http.HttpVectorStoreFileBatchRequest, context: Context) -> HttpBody:
        """GET /v1/vector_stores/{id}/file_batches/{batch_id}."""

        async def produce() -> object:
            tenant = self._auth.tenant_of(context)
            batch = await self._files.get_batch(request.vector_store_id, request.batch_id, tenant=tenant)
            return self._codec.encode(batch)

        return await unary(context, produce)

    async def cancel_batch(self, request: http.HttpVectorStoreFileBatchRequest, context: Context) -> HttpBody:
        """POST /v1/vector_stores/{id}/file_batches/{batch_id}/cancel."""

        async def produce() -> object:
            tenant = self._auth.tenant_of(context)
            batch = await self._files.cancel_batch(request.vector_store_id, request.batch_id, tenant=tenant)
            return self._codec.encode(batch)

        return await unary(context, produce)

    async def list_batch_files(
        self, request: http.HttpListVectorStoreFileBatchFilesRequest, context: Context
    ) -> HttpBody:
        """GET /v1/vector_stores/{id}/file_batches/{batch_id}/files."""

        async def produce() -> object:
            req = pb.ListVectorStoreFileBatchFilesRequest(
                vector_store_id=request.vector_store_id, batch_id=request.batch_id
            )
            _page_args(req, request, context)
            if request.filter or "filter" in _sent(context):
                req.filter = request.filter
            page = await self._files.list_batch_files(req, tenant=self._auth.tenant_of(context))
            return self._codec.encode(page)

        return await unary(context, produce)
