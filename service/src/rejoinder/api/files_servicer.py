"""The typed `FilesService`: call the files core for the caller's tenant, map errors. No logic here."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from rejoinder.api.auth import Authenticator
from rejoinder.api.errors import abort
from rejoinder.core.files import FilesCore, Upload
from rejoinder.errors import ApiError, invalid
from rejoinder.responses.v1 import files_service_pb2 as pb
from rejoinder.responses.v1 import files_service_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext[object, object]


async def _upload(messages: AsyncIterator[pb.CreateFileRequest]) -> Upload:
    """The metadata (the first message) and the bytes (every later one); raises 400."""
    first = await anext(messages, None)
    if first is None or first.WhichOneof("part") != "metadata":
        raise invalid("The first message of an upload must be its metadata.", param="metadata")
    meta = first.metadata

    async def content() -> AsyncIterator[bytes]:
        async for message in messages:
            if message.WhichOneof("part") == "metadata":
                raise invalid("Only the first message of an upload may carry metadata.", param="metadata")
            yield message.data

    return Upload(content(), lambda: meta, meta)


class FilesServicer(pb_grpc.FilesServiceServicer):
    """gRPC handlers over the files core."""

    def __init__(self, core: FilesCore, auth: Authenticator) -> None:
        self._core = core
        self._auth = auth

    async def CreateFile(
        self, request_iterator: AsyncIterator[pb.CreateFileRequest], context: Context
    ) -> pb.CreateFileResponse:
        """An upload: metadata, then bytes."""
        try:
            tenant = self._auth.tenant_of(context)
            made = await self._core.create(await _upload(request_iterator), tenant=tenant)
            return pb.CreateFileResponse(file=made)
        except ApiError as err:
            await abort(context, err)
            raise

    async def ListFiles(self, request: pb.ListFilesRequest, context: Context) -> pb.ListFilesResponse:
        """A page of files."""
        try:
            return await self._core.list(request, tenant=self._auth.tenant_of(context))
        except ApiError as err:
            await abort(context, err)
            raise

    async def GetFile(self, request: pb.GetFileRequest, context: Context) -> pb.GetFileResponse:
        """A file's metadata."""
        try:
            found = await self._core.get(request.file_id, tenant=self._auth.tenant_of(context))
            return pb.GetFileResponse(file=found)
        except ApiError as err:
            await abort(context, err)
            raise

    async def GetFileContent(
        self, request: pb.GetFileContentRequest, context: Context
    ) -> AsyncIterator[pb.GetFileContentResponse]:
        """A file's bytes, in chunks."""
        try:
            chunks = await self._core.content(request.file_id, tenant=self._auth.tenant_of(context))
        except ApiError as err:
            await abort(context, err)
            raise
        async for chunk in chunks:
            yield pb.GetFileContentResponse(data=chunk)

    async def DeleteFile(self, request: pb.DeleteFileRequest, context: Context) -> pb.DeleteFileResponse:
        """Delete a file."""
        try:
            return await self._core.delete(request.file_id, tenant=self._auth.tenant_of(context))
        except ApiError as err:
            await abort(context, err)
            raise
