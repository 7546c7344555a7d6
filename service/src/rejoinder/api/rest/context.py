"""`POST /v1/responses/input_tokens` and `POST /v1/responses/compact` on the REST bridge
(`OpenAIHttpService.CountInputTokens`, `.CompactResponse`), over the responses core. Their bodies carry a
create's context fields, decoded into the typed `CountInputTokensRequest` / `CompactRequest`; the replies
are OpenAI's `{"object": "response.input_tokens", "input_tokens"}` (plus our `estimated` flag) and
`CompactedResponse` (`{"id", "object": "response.compaction", "created_at", "output", "usage"}`)."""

from __future__ import annotations

from collections.abc import Mapping

from google.api.httpbody_pb2 import HttpBody

from rejoinder.api.auth import Authenticator
from rejoinder.api.rest.replies import Context, read_body, unary
from rejoinder.core.responses import ResponsesCore
from rejoinder.responses.v1.responses_service_pb2 import CompactRequest, CountInputTokensRequest
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.raw_body import RawBody


class ContextRoutes:
    """The two routes' handlers; errors in OpenAI's shape."""

    def __init__(
        self, core: ResponsesCore, codec: OpenAIJson, auth: Authenticator, arrays: Mapping[str, int]
    ) -> None:
        """`arrays`: the most elements each array field may have (as for a create)."""
        self._core = core
        self._codec = codec
        self._auth = auth
        self._arrays = dict(arrays)

    async def count(self, request: HttpBody | RawBody, context: Context) -> HttpBody:
        """The input tokens a create with the same body would send."""

        async def produce() -> object:
            req = await read_body(self._codec, request, CountInputTokensRequest, self._arrays)
            tenant = self._auth.tenant_of(context)
            return self._codec.encode(await self._core.count_input_tokens(req, tenant=tenant))

        return await unary(context, produce)

    async def compact(self, request: HttpBody | RawBody, context: Context) -> HttpBody:
        """The compacted context."""

        async def produce() -> object:
            req = await read_body(self._codec, request, CompactRequest, self._arrays)
            tenant = self._auth.tenant_of(context)
            return self._codec.encode(await self._core.compact(req, tenant=tenant))

        return await unary(context, produce)
