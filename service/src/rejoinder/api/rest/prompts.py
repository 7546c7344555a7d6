"""The prompt templates' REST routes (`OpenAIHttpService`'s *Prompt* RPCs, on Llama Stack's paths:
OpenAI has no prompts API), over the prompts core. `OpenAIHttpServicer` hands these calls here.

Bodies are Llama Stack's JSON, decoded into the typed service's requests; query parameters the
transcoder's fields cannot tell from absent (`limit=0`, `version=0`) are read as sent.
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from google.api.httpbody_pb2 import HttpBody
from google.protobuf.message import Message

from rejoinder.api.auth import Authenticator
from rejoinder.api.rest.replies import Context, unary
from rejoinder.core.checks.limits import check_count
from rejoinder.core.prompts.templates import MAX_VARIABLES, PromptsCore
from rejoinder.edge.envoy_replies import ORIGINAL_PATH_METADATA
from rejoinder.responses.v1 import openai_http_pb2 as http
from rejoinder.responses.v1 import prompts_service_pb2 as pb
from rejoinder.wire.json_body import parse_object
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.raw_body import RawBody

M = TypeVar("M", bound=Message)


def _sent(context: Context) -> dict[str, list[str]]:
    """The query parameters as sent (the transcoder's fields cannot tell 0 or "" from absent)."""
    metadata = dict(context.invocation_metadata() or ())
    return parse_qs(urlsplit(str(metadata.get(ORIGINAL_PATH_METADATA, ""))).query, keep_blank_values=True)


class PromptRoutes:
    """HttpBody handlers of the prompt templates."""

    def __init__(self, core: PromptsCore, codec: OpenAIJson, auth: Authenticator) -> None:
        self._core = core
        self._codec = codec
        self._auth = auth

    async def _read(self, body: HttpBody | RawBody, cls: type[M]) -> M:
        data = await parse_object(body.data)
        names = data.get("variables")
        if isinstance(names, list):
            check_count(len(names), MAX_VARIABLES, "variables")
        return self._codec.decode(data, cls)

    async def create(self, request: HttpBody | RawBody, context: Context) -> HttpBody:
        """POST /v1/prompts."""

        async def produce() -> object:
            req = await self._read(request, pb.CreatePromptRequest)
            return self._codec.encode(await self._core.create(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def list(self, request: http.HttpListPromptsRequest, context: Context) -> HttpBody:
        """GET /v1/prompts."""

        async def produce() -> object:
            req = pb.ListPromptsRequest()
            if request.after:
                req.after = request.after
            if request.limit or "limit" in _sent(context):  # `limit=0` is sent, and refused
                req.limit = request.limit
            if request.order:
                req.order = request.order
            return self._codec.encode(await self._core.list(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def get(self, request: http.HttpGetPromptRequest, context: Context) -> HttpBody:
        """GET /v1/prompts/{prompt_id}[?version=N]."""

        async def produce() -> object:
            req = pb.GetPromptRequest(prompt_id=request.prompt_id)
            if request.version or "version" in _sent(context):  # `version=0` is sent, and refused
                req.version = request.version
            return self._codec.encode(await self._core.get(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def update(self, request: http.HttpPromptBodyRequest, context: Context) -> HttpBody:
        """PUT /v1/prompts/{prompt_id}: a new version."""

        async def produce() -> object:
            req = await self._read(request.body, pb.UpdatePromptRequest)
            req.prompt_id = request.prompt_id
            return self._codec.encode(await self._core.update(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def delete(self, request: http.HttpPromptIdRequest, context: Context) -> HttpBody:
        """DELETE /v1/prompts/{prompt_id}."""

        async def produce() -> object:
            gone = await self._core.delete(request.prompt_id, tenant=self._auth.tenant_of(context))
            return self._codec.encode(gone)

        return await unary(context, produce)

    async def versions(self, request: http.HttpPromptIdRequest, context: Context) -> HttpBody:
        """GET /v1/prompts/{prompt_id}/versions."""

        async def produce() -> object:
            found = await self._core.versions(request.prompt_id, tenant=self._auth.tenant_of(context))
            return self._codec.encode(found)

        return await unary(context, produce)

    async def set_default(self, request: http.HttpPromptBodyRequest, context: Context) -> HttpBody:
        """PUT /v1/prompts/{prompt_id}/set-default-version."""

        async def produce() -> object:
            req = await self._read(request.body, pb.SetDefaultVersionRequest)
            req.prompt_id = request.prompt_id
            found = await self._core.set_default(req, tenant=self._auth.tenant_of(context))
            return self._codec.encode(found)

        return await unary(context, produce)
