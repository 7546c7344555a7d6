"""`OpenAIHttpService`: the REST surface behind Envoy. Raw JSON in, exact OpenAI bytes out.

Errors before the first byte go out as initial metadata `x-http-status` (which Envoy's Lua filter
turns into the HTTP status) and one OpenAI error body; the RPC itself ends OK.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import grpc
from google.api.httpbody_pb2 import HttpBody
from google.protobuf.message import Message

from rejoinder.api.auth import Authenticator
from rejoinder.api.errors import internal_error
from rejoinder.api.rest.context import ContextRoutes
from rejoinder.api.rest.conversations import ConversationRoutes
from rejoinder.api.rest.files import FileRoutes
from rejoinder.api.rest.prompts import PromptRoutes
from rejoinder.api.rest.replies import error_body as _error_body
from rejoinder.api.rest.replies import json_body as _json
from rejoinder.api.rest.replies import read_body, unary
from rejoinder.api.rest.vector_store_rpcs import VectorStoreRpcs
from rejoinder.api.rest.vector_stores import VectorStoreRoutes
from rejoinder.config_limits import RequestLimits
from rejoinder.core.checks.validation import DEFAULT_LIMITS
from rejoinder.core.conversations import ConversationsCore
from rejoinder.core.include import shown_fields
from rejoinder.core.models import get_model, list_models
from rejoinder.core.responses import ResponsesCore
from rejoinder.core.run.events import is_delta
from rejoinder.edge.envoy_replies import ORIGINAL_PATH_METADATA
from rejoinder.errors import ApiError
from rejoinder.observe.record import current
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.ratelimit.base import Admission
from rejoinder.ratelimit.replies import Headers
from rejoinder.responses.v1 import openai_http_pb2 as http
from rejoinder.responses.v1 import openai_http_pb2_grpc as http_grpc
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest, ListInputItemsRequest
from rejoinder.wire import sse
from rejoinder.wire.batching import Tick, batches
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.raw_body import RawBody

log = logging.getLogger(__name__)
Context = grpc.aio.ServicerContext[object, object]
EVENT_STREAM = "text/event-stream"

M = TypeVar("M", bound=Message)


async def _send_headers(context: Context, headers: Headers) -> None:
    """Headers for the reply (initial metadata, which Envoy makes HTTP headers), when there are any."""
    if headers:
        await context.send_initial_metadata(headers)


@dataclass(frozen=True)
class RestOptions:
    """How the REST surface reads and writes: SSE keep-alive comments, the request limits; and the
    routes of the APIs that live in modules of their own."""

    keepalive_s: float = 15.0
    limits: RequestLimits = DEFAULT_LIMITS
    files: FileRoutes | None = None  # the Files API's routes; without them those are UNIMPLEMENTED
    vector_stores: VectorStoreRoutes | None = None  # the Vector stores API's, likewise
    prompts: PromptRoutes | None = None  # the prompt templates' (Llama Stack's routes), likewise


DEFAULT_OPTIONS = RestOptions()


class OpenAIHttpServicer(VectorStoreRpcs, http_grpc.OpenAIHttpServiceServicer):
    """HttpBody handlers over the shared core."""

    def __init__(
        self,
        core: ResponsesCore,
        conversations: ConversationsCore,
        codec: OpenAIJson,
        models: ProviderRegistry,
        auth: Authenticator,
        options: RestOptions = DEFAULT_OPTIONS,
    ) -> None:
        limits = options.limits
        self._files = options.files
        self._vector_stores = options.vector_stores
        self._prompts = options.prompts
        self._arrays = {"input": limits.max_input_items, "tools": limits.max_tools}
        self._context = ContextRoutes(core, codec, auth, self._arrays)
        self._core = core
        self._conversations = ConversationRoutes(conversations, codec, auth)
        self._auth = auth
        self._codec = codec
        self._models = models
        self._keepalive_s = options.keepalive_s

    def _tenant(self, context: Context) -> str:
        return self._auth.tenant_of(context)

    async def _admitted_read(self, request: HttpBody | RawBody, admission: Admission) -> CreateRequest:
        """The body, read after the tenant was admitted (a refused request costs no parsing)."""
        try:
            return await read_body(self._codec, request, CreateRequest, self._arrays)
        except BaseException:
            admission.finish(0)
            raise

    async def CreateResponse(self, request: HttpBody | RawBody, context: Context) -> AsyncIterator[HttpBody]:
        """POST /v1/responses: JSON, or SSE when the body says `"stream": true`. The tenant's
        `x-ratelimit-*` headers go out with the reply, error or not."""
        headers: Headers = ()
        try:
            tenant = self._tenant(context)
            admission = await self._core.admit(tenant)
            headers = admission.headers
            req = await self._admitted_read(request, admission)
            codec = self._showing(req.include)
            if not req.stream:
                response = await self._core.create(req, tenant=tenant, admission=admission)
                await _send_headers(context, headers)
                yield _json(codec.encode(response))
                return
            framer = sse.EventFrames(codec)
            run = await self._core.start(
                req, stream=True, tenant=tenant, admission=admission, opening=framer.prime
            )
        except ApiError as err:
            yield await _error_body(context, err, headers)
            return
        except Exception:
            log.exception("create failed")
            yield await _error_body(context, internal_error(), headers)
            return
        await _send_headers(context, headers)
        async for body in self._sse(run.events(), framer):
            yield body

    def _showing(self, include: Collection[str]) -> OpenAIJson:
        """The codec for a request's `include`: what it asks to see prints `[]` when empty."""
        return self._codec.showing(shown_fields(include)) if include else self._codec

    async def _sse(
        self, events: AsyncIterator[ResponseStreamEvent], framer: sse.EventFrames
    ) -> AsyncIterator[HttpBody]:
        current().streaming()
        async for batch in batches(events, self._keepalive_s, opens=is_delta):
            if isinstance(batch, Tick):
                yield HttpBody(content_type=EVENT_STREAM, data=sse.KEEPALIVE)
                continue
            yield HttpBody(content_type=EVENT_STREAM, data=b"".join(map(framer.frame, batch)))
        yield HttpBody(content_type=EVENT_STREAM, data=sse.DONE)

    async def CountInputTokens(self, request: HttpBody | RawBody, context: Context) -> HttpBody:
        """POST /v1/responses/input_tokens."""
        return await self._context.count(request, context)

    async def CompactResponse(self, request: HttpBody | RawBody, context: Context) -> HttpBody:
        """POST /v1/responses/compact."""
        return await self._context.compact(request, context)

    async def GetResponse(
        self, request: http.HttpGetResponseRequest, context: Context
    ) -> AsyncIterator[HttpBody]:
        """GET /v1/responses/{id}: JSON, or with `?stream=true` a background stream's events as SSE."""
        include = _include(context)
        if not request.stream:

            async def produce() -> object:
                return self._showing(include).encode(
                    await self._core.get(request.response_id, tenant=self._tenant(context), include=include)
                )

            yield await unary(context, produce)
            return
        try:
            after = _starting_after(request, context)
            source = await self._core.stream(request.response_id, after, tenant=self._tenant(context))
        except ApiError as err:
            yield await _error_body(context, err)
            return
        except Exception:
            log.exception("stream of a stored response failed")
            yield await _error_body(context, internal_error())
            return
        async for body in self._sse(source.events(), sse.EventFrames(self._showing(include))):
            yield body

    async def DeleteResponse(self, request: http.HttpResponseIdRequest, context: Context) -> HttpBody:
        """DELETE /v1/responses/{id}."""

        async def produce() -> object:
            return self._codec.encode(
                await self._core.delete(request.response_id, tenant=self._tenant(context))
            )

        return await unary(context, produce)

    async def CancelResponse(self, request: http.HttpResponseIdRequest, context: Context) -> HttpBody:
        """POST /v1/responses/{id}/cancel."""

        async def produce() -> object:
            return self._codec.encode(
                await self._core.cancel(request.response_id, tenant=self._tenant(context))
            )

        return await unary(context, produce)

    async def ListInputItems(self, request: http.HttpListInputItemsRequest, context: Context) -> HttpBody:
        """GET /v1/responses/{id}/input_items."""

        async def produce() -> object:
            req = ListInputItemsRequest(response_id=request.response_id)
            if request.after:
                req.after = request.after
            if request.before:
                req.before = request.before
            if request.limit:
                req.limit = request.limit
            if request.order:
                req.order = request.order
            return self._codec.encode(await self._core.list_input_items(req, tenant=self._tenant(context)))

        return await unary(context, produce)

    async def ListModels(self, request: http.HttpListModelsRequest, context: Context) -> HttpBody:
        """GET /v1/models."""

        async def produce() -> object:
            self._tenant(context)
            return self._codec.encode(list_models(self._models))

        return await unary(context, produce)

    async def GetModel(self, request: http.HttpGetModelRequest, context: Context) -> HttpBody:
        """GET /v1/models/{model}."""

        async def produce() -> object:
            self._tenant(context)
            return self._codec.encode(get_model(self._models, _model_id(request, context)))

        return await unary(context, produce)

    async def CreateConversation(self, request: HttpBody | RawBody, context: Context) -> HttpBody:
        """POST /v1/conversations."""
        return await self._conversations.create(request, context)

    async def GetConversation(self, request: http.HttpConversationIdRequest, context: Context) -> HttpBody:
        """GET /v1/conversations/{id}."""
        return await self._conversations.get(request, context)

    async def UpdateConversation(
        self, request: http.HttpConversationBodyRequest, context: Context
    ) -> HttpBody:
        """POST /v1/conversations/{id}: new metadata."""
        return await self._conversations.update(request, context)

    async def DeleteConversation(self, request: http.HttpConversationIdRequest, context: Context) -> HttpBody:
        """DELETE /v1/conversations/{id}."""
        return await self._conversations.delete(request, context)

    async def CreateConversationItems(
        self, request: http.HttpConversationBodyRequest, context: Context
    ) -> HttpBody:
        """POST /v1/conversations/{id}/items."""
        return await self._conversations.add_items(request, context)

    async def ListConversationItems(
        self, request: http.HttpListConversationItemsRequest, context: Context
    ) -> HttpBody:
        """GET /v1/conversations/{id}/items."""
        return await self._conversations.list_items(request, context)

    async def GetConversationItem(
        self, request: http.HttpConversationItemRequest, context: Context
    ) -> HttpBody:
        """GET /v1/conversations/{id}/items/{item_id}."""
        return await self._conversations.get_item(request, context)

    async def DeleteConversationItem(
        self, request: http.HttpConversationItemRequest, context: Context
    ) -> HttpBody:
        """DELETE /v1/conversations/{id}/items/{item_id}: the conversation."""
        return await self._conversations.delete_item(request, context)

    async def CreateFile(self, request_iterator: AsyncIterator[HttpBody], context: Context) -> HttpBody:
        """POST /v1/files (multipart, streamed)."""
        return await self._file_routes(context).create(request_iterator, context)

    async def ListFiles(self, request: http.HttpListFilesRequest, context: Context) -> HttpBody:
        """GET /v1/files."""
        return await self._file_routes(context).list(request, context)

    async def GetFile(self, request: http.HttpFileIdRequest, context: Context) -> HttpBody:
        """GET /v1/files/{file_id}."""
        return await self._file_routes(context).get(request, context)

    async def DeleteFile(self, request: http.HttpFileIdRequest, context: Context) -> HttpBody:
        """DELETE /v1/files/{file_id}."""
        return await self._file_routes(context).delete(request, context)

    async def GetFileContent(
        self, request: http.HttpFileIdRequest, context: Context
    ) -> AsyncIterator[HttpBody]:
        """GET /v1/files/{file_id}/content."""
        async for body in self._file_routes(context).content(request, context):
            yield body

    def _file_routes(self, context: Context) -> FileRoutes:
        if self._files is None:
            context.set_code(grpc.StatusCode.UNIMPLEMENTED)
            raise NotImplementedError("the Files API is not served here")
        return self._files

    async def CreatePrompt(self, request: HttpBody | RawBody, context: Context) -> HttpBody:
        """POST /v1/prompts."""
        return await self._prompt_routes(context).create(request, context)

    async def ListPrompts(self, request: http.HttpListPromptsRequest, context: Context) -> HttpBody:
        """GET /v1/prompts."""
        return await self._prompt_routes(context).list(request, context)

    async def GetPrompt(self, request: http.HttpGetPromptRequest, context: Context) -> HttpBody:
        """GET /v1/prompts/{prompt_id}."""
        return await self._prompt_routes(context).get(request, context)

    async def UpdatePrompt(self, request: http.HttpPromptBodyRequest, context: Context) -> HttpBody:
        """PUT /v1/prompts/{prompt_id}."""
        return await self._prompt_routes(context).update(request, context)

    async def DeletePrompt(self, request: http.HttpPromptIdRequest, context: Context) -> HttpBody:
        """DELETE /v1/prompts/{prompt_id}."""
        return await self._prompt_routes(context).delete(request, context)

    async def ListPromptVersions(self, request: http.HttpPromptIdRequest, context: Context) -> HttpBody:
        """GET /v1/prompts/{prompt_id}/versions."""
        return await self._prompt_routes(context).versions(request, context)

    async def SetDefaultPromptVersion(
        self, request: http.HttpPromptBodyRequest, context: Context
    ) -> HttpBody:
        """PUT /v1/prompts/{prompt_id}/set-default-version."""
        return await self._prompt_routes(context).set_default(request, context)

    def _prompt_routes(self, context: Context) -> PromptRoutes:
        if self._prompts is None:
            context.set_code(grpc.StatusCode.UNIMPLEMENTED)
            raise NotImplementedError("prompt templates are not served here")
        return self._prompts


def _model_id(request: http.HttpGetModelRequest, context: Context) -> str:
    """The model ID as the client wrote it. The transcoder leaves reserved characters percent-encoded
    (the SDK sends "org/model" as "org%2Fmodel") but decodes the others ("%25"), so the ID is decoded
    once, from the original path, when there is one."""
    metadata = dict(context.invocation_metadata() or ())
    path = urlsplit(str(metadata.get(ORIGINAL_PATH_METADATA, ""))).path
    prefix = "/v1/models/"
    return unquote(path.removeprefix(prefix)) if path.startswith(prefix) else request.model


def _include(context: Context) -> list[str]:
    """The `include[]` query parameters (as the SDKs send them; `include` too), from the original path."""
    metadata = dict(context.invocation_metadata() or ())
    query = parse_qs(urlsplit(str(metadata.get(ORIGINAL_PATH_METADATA, ""))).query)
    return [*query.get("include[]", ()), *query.get("include", ())]


def _starting_after(request: http.HttpGetResponseRequest, context: Context) -> int | None:
    """The `starting_after` query parameter; the field cannot tell 0 from absent, the query can."""
    if request.starting_after:
        return request.starting_after
    metadata = dict(context.invocation_metadata() or ())
    original = metadata.get(ORIGINAL_PATH_METADATA, "")
    query = parse_qs(urlsplit(str(original)).query)
    return 0 if "starting_after" in query else None
