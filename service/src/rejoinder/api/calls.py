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
from google.protobuf.message import DecodeError

from rejoinder.api.errors import abort
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.logs import REQUEST_ID_HEADER, bind_request_id

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


def _bind(context: Context) -> None:
    sent = next((v for k, v in context.invocation_metadata() or () if k == REQUEST_ID_HEADER), None)
    bind_request_id(sent)


def _unary_unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def call(request: object, context: Context) -> object:
        _bind(context)
        if isinstance(request, Malformed):
            await refuse(context, request)
        return await behavior(request, context)

    return call


def _unary_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def call(request: object, context: Context) -> AsyncIterator[object]:
        _bind(context)
        if isinstance(request, Malformed):
            await refuse(context, request)
        async for reply in behavior(request, context):
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


def safe(handler: Handler) -> Handler:
    """`handler` with a tolerant deserializer and a behaviour that refuses what it could not parse."""
    parse = _tolerant(handler.request_deserializer)
    write = handler.response_serializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(_unary_unary(handler.unary_unary), parse, write)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(_unary_stream(handler.unary_stream), parse, write)
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
        made_safe = {name: safe(handler) for name, handler in handlers.items()}
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, made_safe),))
        self._server.add_registered_method_handlers(service, made_safe)  # type: ignore[attr-defined]
