"""What every RPC passes through before its servicer: its request id, and a check that it parsed.

Servicers are registered through `SafeRegistrar` instead of the server. Each method then
- binds the call's request id (`x-request-id`) for its log lines (`rejoinder.logs`);
- gets a deserializer that turns bytes that are not valid protobuf into a `Malformed` value, and a
  behaviour that refuses that value with INVALID_ARGUMENT (one ErrorInfo, like every other error) before
  the servicer is called. By itself grpc.aio answers such a call UNKNOWN and logs a traceback per call.
Nothing else changes for a well-formed request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc
from google.api.httpbody_pb2 import HttpBody
from google.protobuf.message import DecodeError

from rejoinder.api.errors import abort, http_body, http_metadata
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.logs import REQUEST_ID_HEADER, bind_request_id
from rejoinder.wire.raw_body import read_raw_body

Context = grpc.aio.ServicerContext[Any, Any]


@dataclass(frozen=True)
class Malformed:
    """What a request that could not be parsed deserializes to."""

    why: str


def _tolerant(deserialize: Callable[[bytes], object] | None) -> Callable[[bytes], object] | None:
    if deserialize is None:
        return None
    parse = deserialize

    def tolerant(raw: bytes) -> object:
        try:
            return parse(raw)
        except (DecodeError, ValueError, TypeError) as exc:
            return Malformed(str(exc))

    return tolerant


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


REST_SERVICE = "rejoinder.responses.v1.OpenAIHttpService"
NOT_IMPLEMENTED = "Method not implemented."


async def _rest_refusal(context: Context, request: Malformed) -> HttpBody:
    """What a REST client gets for a request Envoy could not make a valid message of (a path or query
    that is not UTF-8): OpenAI's 400, not a gRPC status."""
    words = "Invalid URL: its path or query is not valid UTF-8." if "UTF-8" in request.why else None
    err = ApiError(
        ErrorKind.INVALID_REQUEST, words or "The request could not be read.", code="invalid_request"
    )
    await context.send_initial_metadata(http_metadata(err))
    return HttpBody(content_type="application/json", data=http_body(err))


def _start(behavior: Callable[..., Any], request: object, context: Context) -> Any:
    """The behaviour's coroutine or stream; an unimplemented method (a generated base's) is UNIMPLEMENTED,
    without the traceback grpc.aio would log."""
    try:
        return behavior(request, context)
    except NotImplementedError:
        return None


def _bind(context: Context) -> None:
    sent = next((v for k, v in context.invocation_metadata() or () if k == REQUEST_ID_HEADER), None)
    bind_request_id(sent)


def _unary_unary(behavior: Callable[..., Any], rest: bool) -> Callable[..., Any]:
    async def call(request: object, context: Context) -> object:
        _bind(context)
        if isinstance(request, Malformed):
            if rest:
                return await _rest_refusal(context, request)
            await refuse(context, request)
        started = _start(behavior, request, context)
        if started is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, NOT_IMPLEMENTED)
        return await started

    return call


def _unary_stream(behavior: Callable[..., Any], rest: bool) -> Callable[..., Any]:
    async def call(request: object, context: Context) -> AsyncIterator[object]:
        _bind(context)
        if isinstance(request, Malformed):
            if rest:
                yield await _rest_refusal(context, request)
                return
            await refuse(context, request)
        started = _start(behavior, request, context)
        if started is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, NOT_IMPLEMENTED)
        async for reply in started:
            yield reply

    return call


async def _checked(requests: AsyncIterator[object], context: Context) -> AsyncIterator[object]:
    async for request in requests:
        if isinstance(request, Malformed):
            await refuse(context, request)
        yield request


def _stream_unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def call(requests: AsyncIterator[object], context: Context) -> object:
        _bind(context)
        return await behavior(_checked(requests, context), context)

    return call


def _stream_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def call(requests: AsyncIterator[object], context: Context) -> AsyncIterator[object]:
        _bind(context)
        async for reply in behavior(_checked(requests, context), context):
            yield reply

    return call


Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # generic only in the type stubs


def safe(handler: Handler, *, rest: bool = False) -> Handler:
    """`handler` with a tolerant deserializer and a behaviour that refuses what it could not parse
    (`rest`: in OpenAI's shape, for the HttpBody bridge)."""
    deserialize = handler.request_deserializer
    if rest and deserialize == HttpBody.FromString:
        deserialize = read_raw_body  # a JSON body read in place (up to 32 MiB: no copies)
    parse = _tolerant(deserialize)
    write = handler.response_serializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(_unary_unary(handler.unary_unary, rest), parse, write)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(_unary_stream(handler.unary_stream, rest), parse, write)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(_stream_unary(handler.stream_unary), parse, write)
    assert handler.stream_stream is not None
    return grpc.stream_stream_rpc_method_handler(_stream_stream(handler.stream_stream), parse, write)


class SafeRegistrar:
    """Stands in for the server when a generated `add_*Servicer_to_server` registers a servicer."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: object) -> None:
        """Ignored: `add_registered_method_handlers` receives the same methods, and registers both."""

    def add_registered_method_handlers(self, service: str, handlers: Mapping[str, Handler]) -> None:
        """Register the service's methods, each made safe."""
        rest = service == REST_SERVICE
        made_safe = {name: safe(handler, rest=rest) for name, handler in handlers.items()}
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, made_safe),))
        self._server.add_registered_method_handlers(service, made_safe)  # type: ignore[attr-defined]
