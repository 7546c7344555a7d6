"""The replies of the REST bridge: OpenAI JSON bodies, and errors as OpenAI's error body with the HTTP
status in the initial metadata (`x-http-status`, which Envoy's Lua filter makes the status)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import grpc
import orjson
from google.api.httpbody_pb2 import HttpBody
from google.protobuf.message import Message

from rejoinder.api.errors import http_body, http_metadata, http_status, internal_error
from rejoinder.core.checks.limits import check_count
from rejoinder.errors import ApiError
from rejoinder.observe.record import current
from rejoinder.pacing import run_paced
from rejoinder.ratelimit.replies import Headers
from rejoinder.wire.json_body import parse_object
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.raw_body import RawBody

log = logging.getLogger(__name__)
Context = grpc.aio.ServicerContext[object, object]
JSON = "application/json"
M = TypeVar("M", bound=Message)


def json_body(value: object) -> HttpBody:
    """A JSON reply."""
    return HttpBody(content_type=JSON, data=orjson.dumps(value))


async def error_body(context: Context, err: ApiError, headers: Headers = ()) -> HttpBody:
    """The error's OpenAI body; its HTTP status (and `headers`) go out as initial metadata."""
    current().failed(err, str(http_status(err)))
    await context.send_initial_metadata(http_metadata(err) + headers)
    return HttpBody(content_type=JSON, data=http_body(err))


async def unary(context: Context, produce: Callable[[], Awaitable[object]]) -> HttpBody:
    """The JSON of what `produce` returns, or its error (a bug of ours is a 500 that says nothing)."""
    try:
        return json_body(await produce())
    except ApiError as err:
        return await error_body(context, err)
    except Exception:
        log.exception("request failed")
        return await error_body(context, internal_error())


async def read_body(
    codec: OpenAIJson, body: HttpBody | RawBody, cls: type[M], arrays: Mapping[str, int]
) -> M:
    """The JSON body as a `cls`: arrays over their limit (`arrays`: the most elements of each) refused
    before a single element is decoded, then decoded in steps that leave the event loop turns."""
    data = await parse_object(body.data)
    for key, most in arrays.items():
        if isinstance(value := data.get(key), list):
            check_count(len(value), most, key)
    return await run_paced(codec.decode_steps(data, cls))
