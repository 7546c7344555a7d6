"""The typed `VectorStoresService`: call the core for the caller's tenant, map errors. No logic here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from rejoinder.api.auth import Authenticator
from rejoinder.api.errors import abort
from rejoinder.core.vector_stores.files import VectorStoreFilesCore
from rejoinder.core.vector_stores.stores import VectorStoresCore
from rejoinder.errors import ApiError
from rejoinder.responses.v1 import vector_stores_service_pb2 as pb
from rejoinder.responses.v1 import vector_stores_service_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext[object, object]
T = TypeVar("T")


class VectorStoresServicer(pb_grpc.VectorStoresServiceServicer):
    """gRPC handlers over the vector stores core."""

    def __init__(self, stores: VectorStoresCore, files: VectorStoreFilesCore, auth: Authenticator) -> None:
        self._stores = stores
        self._files = files
        self._auth = auth

    async def _call(self, context: Context, produce: Callable[[str], Awaitable[T]]) -> T:
        """`produce(tenant)`; an `ApiError` fails the RPC with its rich status."""
        try:
            return await produce(self._auth.tenant_of(context))
        except ApiError as err:
            await abort(context, err)
            raise

    async def CreateVectorStore(
        self, request: pb.CreateVectorStoreRequest, context: Context
    ) -> pb.CreateVectorStoreResponse:
        """A new vector store."""
        made = await self._call(context, lambda t: self._stores.create(request, tenant=t))
        return pb.CreateVectorStoreResponse(vector_store=made)

    async def ListVectorStores(
        self, request: pb.ListVectorStoresRequest, context: Context
    ) -> pb.ListVectorStoresResponse:
        """A page of vector stores."""
        return await self._call(context, lambda t: self._stores.list_stores(request, tenant=t))

    async def GetVectorStore(
        self, request: pb.GetVectorStoreRequest, context: Context
    ) -> pb.GetVectorStoreResponse:
        """A vector store."""
        found = await self._call(context, lambda t: self._stores.get(request.vector_store_id, tenant=t))
        return pb.GetVectorStoreResponse(vector_store=found)

    async def UpdateVectorStore(
        self, request: pb.UpdateVectorStoreRequest, context: Context
    ) -> pb.UpdateVectorStoreResponse:
        """New name, expiry or metadata."""
        updated = await self._call(context, lambda t: self._stores.update(request, tenant=t))
        return pb.UpdateVectorStoreResponse(vector_store=updated)

    async def DeleteVectorStore(
        self, request: pb.DeleteVectorStoreRequest, context: Context
    ) -> pb.DeleteVectorStoreResponse:
        """Delete a vector store."""
        return await self._call(context, lambda t: self._stores.delete(request.vector_store_id, tenant=t))

    async def SearchVectorStore(
        self, request: pb.SearchVectorStoreRequest, context: Context
    ) -> pb.SearchVectorStoreResponse:
        """Search a vector store."""
        return await self._call(context, lambda t: self._stores.search(request, tenant=t))

    async def CreateVectorStoreFile(
        self, request: pb.CreateVectorStoreFileRequest, context: Context
    ) -> pb.CreateVectorStoreFileResponse:
        """Add a file to a vector store."""
        added = await self._call(context, lambda t: self._files.add(request, tenant=t))
        return pb.CreateVectorStoreFileResponse(file=added)

    async def ListVectorStoreFiles(
        self, request: pb.ListVectorStoreFilesRequest, context: Context
    ) -> pb.ListVectorStoreFilesResponse:
        """A page of a vector store's files."""
        return await self._call(context, lambda t: self._files.list_files(request, tenant=t))

    async def GetVectorStoreFile(
        self, request: pb.GetVectorStoreFileRequest, context: Context
    ) -> pb.GetVectorStoreFileResponse:
        """A file of a vector store."""
        found = await self._call(
            context, lambda t: self._files.get(request.vector_store_id, request.file_id, tenant=t)
        )
        return pb.GetVectorStoreFileResponse(file=found)

    async def UpdateVectorStoreFile(
        self, request: pb.UpdateVectorStoreFileRequest, context: Context
    ) -> pb.UpdateVectorStoreFileResponse:
        """New attributes for a file."""
        updated = await self._call(context, lambda t: self._files.update(request, tenant=t))
        return pb.UpdateVectorStoreFileResponse(file=updated)

    async def DeleteVectorStoreFile(
        self, request: pb.DeleteVectorStoreFileRequest, context: Context
    ) -> pb.DeleteVectorStoreFileResponse:
        """Remove a file from a vector store."""
        return await self._call(
            context, lambda t: self._files.delete(request.vector_store_id, request.file_id, tenant=t)
        )

    async def GetVectorStoreFileContent(
        self, request: pb.GetVectorStoreFileContentRequest, context: Context
    ) -> pb.GetVectorStoreFileContentResponse:
        """A file's chunks of text."""
        return await self._call(
            context, lambda t: self._files.content(request.vector_store_id, request.file_id, tenant=t)
        )

    async def CreateVectorStoreFileBatch(
        self, request: pb.CreateVectorStoreFileBatchRequest, context: Context
    ) -> pb.CreateVectorStoreFileBatchResponse:
        """Add files together."""
        batch = await self._call(context, lambda t: self._files.create_batch(request, tenant=t))
        return pb.CreateVectorStoreFileBatchResponse(batch=batch)

    async def GetVectorStoreFileBatch(
        self, request: pb.GetVectorStoreFileBatchRequest, context: Context
    ) -> pb.GetVectorStoreFileBatchResponse:
        """A file batch."""
        batch = await self._call(
            context, lambda t: self._files.get_batch(request.vector_store_id, request.batch_id, tenant=t)
        )
        return pb.GetVectorStoreFileBatchResponse(batch=batch)

    async def CancelVectorStoreFileBatch(
        self, request: pb.CancelVectorStoreFileBatchRequest, context: Context
    ) -> pb.CancelVectorStoreFileBatchResponse:
        """Cancel a file batch."""
        batch = await self._call(
            context, lambda t: self._files.cancel_batch(request.vector_store_id, request.batch_id, tenant=t)
        )
        return pb.CancelVectorStoreFileBatchResponse(batch=batch)

    async def ListVectorStoreFileBatchFiles(
        self, request: pb.ListVectorStoreFileBatchFilesRequest, context: Context
    ) -> pb.ListVectorStoreFileBatchFilesResponse:
        """A page of a batch's files."""
        return await self._call(context, lambda t: self._files.list_batch_files(request, tenant=t))
