"""`POST /v1/responses/input_tokens` on the REST bridge (`OpenAIHttpService.CountInputTokens`): the body
is a create body's context fields, decoded into the typed `CountInputTokensRequest`; the reply is
OpenAI's `{"object": "response.input_tokens", "input_tokens": N}` plus our `estimated` flag."""

from __future__ import annotations

from collections.abc import Mapping

from google.api.httpbody_pb2 import HttpBody

from rejoinder.api.auth import Authenticator
from rejoinder.api.rest.replies import Context, unary
from rejoinder.core.checks.limits import check_count
from rejoinder.core.responses import ResponsesCore
from rejoinder.pacing import run_paced
from rejoinder.responses.v1.responses_service_pb2 import CountInputTokensRequest
from rejoinder.wire.json_body import parse_object
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.raw_body import RawBody


class InputTokensRoute:
    """The route's handler over the responses core."""

    def __init__(
        self, core: ResponsesCore, codec: OpenAIJson, auth: Authenticator, arrays: Mapping[str, int]
    ) -> None:
        """`arrays`: the most elements each array field may have (as for a create)."""
        self._core = core
        self._codec = codec
        self._auth = auth
        self._arrays = dict(arrays)

    async def count(self, request: HttpBody | RawBody, context: Context) -> HttpBody:
        """The count, or the request's error in OpenAI's shape."""

        async def produce() -> object:
            tenant = self._auth.tenant_of(context)
            data = await parse_object(request.data)
            for key, most in self._arrays.items():
                value = data.get(key)
                if isinstance(value, list):
                    check_count(len(value), most, key)
            req = await run_paced(self._codec.decode_steps(data, CountInputTokensRequest))
            return self._codec.encode(await self._core.count_input_tokens(req, tenant=tenant))

        return await unary(context, produce)
