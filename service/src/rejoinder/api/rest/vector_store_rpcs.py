"""`OpenAIHttpService`'s vector store RPCs, each handed to `VectorStoreRoutes` (rest/vector_stores.py):
a base of `OpenAIHttpServicer`, which sets `_vector_stores` (None where the API is not served: the
RPCs then answer UNIMPLEMENTED, which api/calls.py turns into OpenAI's 404)."""

from __future__ import annotations

import grpc
from google.api.httpbody_pb2 import HttpBody

from rejoinder.api.rest.replies import Context
from rejoinder.api.rest.vector_stores import VectorStoreRoutes
from rejoinder.responses.v1 import openai_http_pb2 as http
from rejoinder.wire.raw_body import RawBody


class VectorStoreRpcs:
    """The /v1/vector_stores routes of the REST bridge."""

    _vector_stores: VectorStoreRoutes | None

    async def CreateVectorStore(self, request: HttpBody | RawBody, context: Context) -> HttpBody:
        """POST /v1/vector_stores."""
        return await self._vector_store_routes(context).create(request, context)

    async def ListVectorStores(self, request: http.HttpListVectorStoresRequest, context: Context) -> HttpBody:
        """GET /v1/vector_stores."""
        return await self._vector_store_routes(context).list(request, context)

    async def GetVectorStore(self, request: http.HttpVectorStoreIdRequest, context: Context) -> HttpBody:
        """GET /v1/vector_stores/{id}."""
        return await self._vector_store_routes(context).get(request, context)

    async def UpdateVectorStore(self, request: http.HttpVectorStoreBodyRequest, context: Context) -> HttpBody:
        """POST /v1/vector_stores/{id}."""
        return await self._vector_store_routes(context).update(request, context)

    async def DeleteVectorStore(self, request: http.HttpVectorStoreIdRequest, context: Context) -> HttpBody:
        """DELETE /v1/vector_stores/{id}."""
        return await self._vector_store_routes(context).delete(request, context)

    async def SearchVectorStore(self, request: http.HttpVectorStoreBodyRequest, context: Context) -> HttpBody:
        """POST /v1/vector_stores/{id}/search."""
        return await self._vector_store_routes(context).search(request, context)

    async def CreateVectorStoreFile(
        self, request: http.HttpVectorStoreBodyRequest, context: Context
    ) -> HttpBody:
        """POST /v1/vector_stores/{id}/files."""
        return await self._vector_store_routes(context).add_file(request, context)

    async def ListVectorStoreFiles(
        self, request: http.HttpListVectorStoreFilesRequest, context: Context
    ) -> HttpBody:
        """GET /v1/vector_stores/{id}/files."""
        return await self._vector_store_routes(context).list_files(request, context)

    async def GetVectorStoreFile(
        self, request: http.HttpVectorStoreFileRequest, context: Context
    ) -> HttpBody:
        """GET /v1/vector_stores/{id}/files/{file_id}."""
        return await self._vector_store_routes(context).get_file(request, context)

    async def UpdateVectorStoreFile(
        self, request: http.HttpVectorStoreFileBodyRequest, context: Context
    ) -> HttpBody:
        """POST /v1/vector_stores/{id}/files/{file_id}."""
        return await self._vector_store_routes(context).update_file(request, context)

    async def DeleteVectorStoreFile(
        self, request: http.HttpVectorStoreFileRequest, context: Context
    ) -> HttpBody:
        """DELETE /v1/vector_stores/{id}/files/{file_id}."""
        return await self._vector_store_routes(context).delete_file(request, context)

    async def GetVectorStoreFileContent(
        self, request: http.HttpVectorStoreFileRequest, context: Context
    ) -> HttpBody:
        """GET /v1/vector_stores/{id}/files/{file_id}/content."""
        return await self._vector_store_routes(context).file_content(request, context)

    async def CreateVectorStoreFileBatch(
        self, request: http.HttpVectorStoreBodyRequest, context: Context
    ) -> HttpBody:
        """POST /v1/vector_stores/{id}/file_batches."""
        return await self._vector_store_routes(context).create_batch(request, context)

    async def GetVectorStoreFileBatch(
        self, request: http.HttpVectorStoreFileBatchRequest, context: Context
    ) -> HttpBody:
        """GET /v1/vector_stores/{id}/file_batches/{batch_id}."""
        return await self._vector_store_routes(context).get_batch(request, context)

    async def CancelVectorStoreFileBatch(
        self, request: http.HttpVectorStoreFileBatchRequest, context: Context
    ) -> HttpBody:
        """POST .../file_batches/{batch_id}/cancel."""
        return await self._vector_store_routes(context).cancel_batch(request, context)

    async def ListVectorStoreFileBatchFiles(
        self, request: http.HttpListVectorStoreFileBatchFilesRequest, context: Context
    ) -> HttpBody:
        """GET .../file_batches/{batch_id}/files."""
        return await self._vector_store_routes(context).list_batch_files(request, context)

    def _vector_store_routes(self, context: Context) -> VectorStoreRoutes:
        if self._vector_stores is None:
            context.set_code(grpc.StatusCode.UNIMPLEMENTED)
            raise NotImplementedError("the Vector stores API is not served here")
        return self._vector_stores
