"""The Files API's REST routes (`OpenAIHttpService`'s CreateFile, ListFiles, GetFile, DeleteFile,
GetFileContent), over the files core. `OpenAIHttpServicer` hands these calls here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator
from urllib.parse import parse_qs, urlsplit

import grpc
from google.api.httpbody_pb2 import HttpBody

from rejoinder.api.auth import Authenticator
from rejoinder.api.errors import internal_error
from rejoinder.api.rest.replies import Context, error_body, json_body, unary
from rejoinder.core.files import FilesCore, Upload
from rejoinder.edge.envoy_replies import ORIGINAL_PATH_METADATA
from rejoinder.errors import ApiError
from rejoinder.responses.v1 import files_service_pb2 as pb
from rejoinder.responses.v1 import openai_http_pb2 as http
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.upload_form import UploadForm, no_bytes

log = logging.getLogger(__name__)
OCTETS = "application/octet-stream"


async def _drain(bodies: AsyncIterable[HttpBody]) -> None:
    """Read the rest of a refused upload, so that an HTTP/1.1 client that is still sending it reads the
    error instead of a reset connection."""
    async for _ in bodies:
        pass


def _query(context: Context) -> dict[str, list[str]]:
    """The query parameters as sent (the transcoder's fields cannot tell 0 from absent)."""
    metadata = dict(context.invocation_metadata() or ())
    return parse_qs(urlsplit(str(metadata.get(ORIGINAL_PATH_METADATA, ""))).query, keep_blank_values=True)


class FileRoutes:
    """HttpBody handlers of the Files API."""

    def __init__(self, core: FilesCore, codec: OpenAIJson, auth: Authenticator) -> None:
        self._core = core
        self._codec = codec
        self._auth = auth

    async def _upload(self, bodies: AsyncIterable[HttpBody], tenant: str) -> pb.FileObject:
        form = UploadForm(bodies)
        has_file = await form.until_file()
        content = form.file_then_rest() if has_file else no_bytes()
        return await self._core.create(Upload(content, form.metadata, form.early()), tenant=tenant)

    async def create(self, bodies: AsyncIterator[HttpBody], context: Context) -> HttpBody:
        """POST /v1/files: the multipart body, streamed into the store."""
        try:
            made = await self._upload(bodies, self._auth.tenant_of(context))
            return json_body(self._codec.encode(made))
        except ApiError as err:
            await _drain(bodies)
            return await error_body(context, err)
        except grpc.aio.AbortError:
            raise  # a message that is not an HttpBody: the RPC was refused already (api/malformed.py)
        except Exception:
            log.exception("upload failed")
            return await error_body(context, internal_error())

    async def list(self, request: http.HttpListFilesRequest, context: Context) -> HttpBody:
        """GET /v1/files."""

        async def produce() -> object:
            req = pb.ListFilesRequest()
            if request.after:
                req.after = request.after
            if request.limit or "limit" in _query(context):  # `limit=0` is sent, and refused
                req.limit = request.limit
            if request.order:
                req.order = request.order
            if request.purpose:
                req.purpose = request.purpose
            return self._codec.encode(await self._core.list(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def get(self, request: http.HttpFileIdRequest, context: Context) -> HttpBody:
        """GET /v1/files/{file_id}."""

        async def produce() -> object:
            return self._codec.encode(
                await self._core.get(request.file_id, tenant=self._auth.tenant_of(context))
            )

        return await unary(context, produce)

    async def delete(self, request: http.HttpFileIdRequest, context: Context) -> HttpBody:
        """DELETE /v1/files/{file_id}."""

        async def produce() -> object:
            gone = await self._core.delete(request.file_id, tenant=self._auth.tenant_of(context))
            return self._codec.encode(gone)

        return await unary(context, produce)

    async def content(self, request: http.HttpFileIdRequest, context: Context) -> AsyncIterator[HttpBody]:
        """GET /v1/files/{file_id}/content: the bytes, the first chunk with the Content-Type."""
        try:
            chunks = await self._core.content(request.file_id, tenant=self._auth.tenant_of(context))
            first = await anext(chunks, b"")  # the first chunk is read already: this does not wait
        except ApiError as err:
            yield await error_body(context, err)
            return
        except Exception:
            log.exception("file content failed")
            yield await error_body(context, internal_error())
            return
        yield HttpBody(content_type=OCTETS, data=first)
        async for chunk in chunks:
            yield HttpBody(content_type=OCTETS, data=chunk)
