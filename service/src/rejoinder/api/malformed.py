"""Requests whose bytes are not valid protobuf: INVALID_ARGUMENT (or, on the REST bridge, OpenAI's 400),
never UNKNOWN with a traceback, which is what grpc.aio does when a deserializer raises."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.api.httpbody_pb2 import HttpBody
from google.protobuf.message import DecodeError

from rejoinder.api.errors import abort, http_body, http_metadata, http_status
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.observe.record import current

Context = grpc.aio.ServicerContext[Any, Any]


@dataclass(frozen=True)
class Malformed:
    """What a request that could not be parsed deserializes to."""

    why: str


def tolerant(deserialize: Callable[[bytes], object] | None) -> Callable[[bytes], object] | None:
    """`deserialize`, returning `Malformed` instead of raising."""
    if deserialize is None:
        return None
    parse = deserialize

    def parsed(raw: bytes) -> object:
        try:
            return parse(raw)
        except (DecodeError, ValueError, TypeError) as exc:
            return Malformed(str(exc))

    return parsed


async def refuse(context: Context, request: Malformed) -> None:
    """End the call with INVALID_ARGUMENT naming what could not be parsed."""
    await abort(
        context,
        ApiError(
            ErrorKind.INVALID_REQUEST,
            f"The request is not a valid protobuf message: {request.why}",
            code="malformed_request",
        ),
    )


async def refuse_rest(context: Context, request: Malformed) -> HttpBody:
    """What a REST client gets for a request Envoy could not make a valid message of (a path or query
    that is not UTF-8): OpenAI's 400, not a gRPC status."""
    words = "Invalid URL: its path or query is not valid UTF-8." if "UTF-8" in request.why else None
    err = ApiError(
        ErrorKind.INVALID_REQUEST, words or "The request could not be read.", code="invalid_request"
    )
    current().failed(err, str(http_status(err)))
    await context.send_initial_metadata(http_metadata(err))
    return HttpBody(content_type="application/json", data=http_body(err))


async def checked(requests: AsyncIterator[object], context: Context) -> AsyncIterator[object]:
    """A request stream, refused at its first malformed message."""
    async for request in requests:
        if isinstance(request, Malformed):
            await refuse(context, request)
        yield request
