"""What every RPC passes through before and after its servicer.

Servicers are registered through `SafeRegistrar` instead of the server. Each method then
- starts the call's pacing clock (`rejoinder.pacing`);
- opens the call's record (`observe.record`) with its request id (`x-request-id`, also bound for the
  log lines: `rejoinder.logs`) and trace id, and when the call ends reports it (access line, metrics:
  `Observer`);
- gets a deserializer that turns bytes that are not valid protobuf into a `Malformed` value, refused
  before the servicer is called (`api.malformed`);
- answers an unimplemented method (a generated base's) UNIMPLEMENTED, without the traceback grpc.aio
  would log.
Nothing else changes for a well-formed request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc
from google.api.httpbody_pb2 import HttpBody
from opentelemetry import trace

from rejoinder.api.malformed import Malformed, checked, refuse, refuse_rest, tolerant
from rejoinder.api.rest.replies import error_body
from rejoinder.errors import not_found
from rejoinder.logs import REQUEST_ID_HEADER, bind_request_id
from rejoinder.observe.observer import SILENT, Observer
from rejoinder.observe.record import CallRecord, begin
from rejoinder.observe.tracing import trace_id_of
from rejoinder.pacing import begin as begin_pacing
from rejoinder.wire.raw_body import read_raw_body

Context = grpc.aio.ServicerContext[Any, Any]
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # generic only in the type stubs

REST_SERVICE = "rejoinder.responses.v1.OpenAIHttpService"
NOT_IMPLEMENTED = "Method not implemented."
TRACEPARENT = "traceparent"
QUIET_SERVICES = ("grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection")
"""Counted in the metrics, but no access line: Envoy checks health every two seconds."""


@dataclass(frozen=True)
class Method:
    """One registered method: its name, whether it is the REST bridge's, who hears of its calls."""

    route: str
    rest: bool
    observer: Observer
    logged: bool = True  # an access line per call (not for health checks)

    @contextlib.contextmanager
    def call(self, context: Context) -> Iterator[CallRecord]:
        """The record of one call of this method, reported when the call ends."""
        begin_pacing()  # its own budget, not a clock copied from the server's start-up
        sent = parent = None
        for key, value in context.invocation_metadata() or ():
            if key == REQUEST_ID_HEADER:
                sent = value
            elif key == TRACEPARENT:
                parent = value
        surface = "rest" if self.rest else "grpc"
        record = begin(CallRecord(surface=surface, route=self.route, request_id=bind_request_id(sent)))
        record.trace_id = _trace_id(parent, traced=self.observer.tracer is not None)
        record.on_stream = functools.partial(self.observer.stream, surface)
        try:
            yield record
        except asyncio.CancelledError:
            record.status = record.status or ("499" if self.rest else "CANCELLED")  # the client went away
            raise
        except Exception:
            record.status = record.status or ("500" if self.rest else "UNKNOWN")
            raise
        finally:
            record.status = record.status or ("200" if self.rest else "OK")
            record.ended()
            self.observer.call_ended(record, time.perf_counter() - record.started, logged=self.logged)


def _trace_id(traceparent: str | bytes | None, *, traced: bool) -> str:
    """The call's trace: its span's when tracing is on (`traced`), else the one the caller's
    `traceparent` names (so access lines join the caller's traces either way)."""
    if traced:
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            return format(span.trace_id, "032x")
    return trace_id_of(traceparent) if isinstance(traceparent, str) else ""


def _start(behavior: Callable[..., Any], request: object, context: Context) -> Any:
    try:
        return behavior(request, context)
    except NotImplementedError:
        return None


async def _unimplemented(context: Context, record: CallRecord) -> None:
    record.status = "UNIMPLEMENTED"
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, NOT_IMPLEMENTED)


async def _unserved_route(context: Context, method: Method) -> HttpBody:
    """A REST route the proto declares and this server does not serve yet: OpenAI's answer to a URL it
    does not know (404, in its error shape), not a gRPC status that Envoy would make a 501."""
    context.set_code(grpc.StatusCode.OK)  # the generated base set UNIMPLEMENTED before it raised
    context.set_details("")
    err = not_found(f"Invalid URL: {method.route} is not served by this server.")
    return await error_body(context, err)


def _unary_unary(behavior: Callable[..., Any], method: Method) -> Callable[..., Any]:
    async def call(request: object, context: Context) -> object:
        with method.call(context) as record:
            if isinstance(request, Malformed):
                if method.rest:
                    return await refuse_rest(context, request)
                await refuse(context, request)
            started = _start(behavior, request, context)
            if started is None and method.rest:
                return await _unserved_route(context, method)
            if started is None:
                await _unimplemented(context, record)
            return await started

    return call


def _unary_stream(behavior: Callable[..., Any], method: Method) -> Callable[..., Any]:
    async def call(request: object, context: Context) -> AsyncIterator[object]:
        with method.call(context) as record:
            if isinstance(request, Malformed):
                if method.rest:
                    yield await refuse_rest(context, request)
                    return
                await refuse(context, request)
            started = _start(behavior, request, context)
            if started is None and method.rest:
                yield await _unserved_route(context, method)
                return
            if started is None:
                await _unimplemented(context, record)
            async for reply in started:
                yield reply

    return call


def _stream_unary(behavior: Callable[..., Any], method: Method) -> Callable[..., Any]:
    async def call(requests: AsyncIterator[object], context: Context) -> object:
        with method.call(context):
            return await behavior(checked(requests, context), context)

    return call


def _stream_stream(behavior: Callable[..., Any], method: Method) -> Callable[..., Any]:
    async def call(requests: AsyncIterator[object], context: Context) -> AsyncIterator[object]:
        with method.call(context):
            async for reply in behavior(checked(requests, context), context):
                yield reply

    return call


def safe(handler: Handler, method: Method) -> Handler:
    """`handler` observed, with a tolerant deserializer and a behaviour that refuses what it could not
    parse (on the REST bridge in OpenAI's shape, and with JSON bodies read in place)."""
    deserialize = handler.request_deserializer
    if method.rest and deserialize == HttpBody.FromString:
        deserialize = read_raw_body  # a JSON body read in place (up to 32 MiB: no copies)
    parse = tolerant(deserialize)
    write = handler.response_serializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(_unary_unary(handler.unary_unary, method), parse, write)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(_unary_stream(handler.unary_stream, method), parse, write)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(_stream_unary(handler.stream_unary, method), parse, write)
    assert handler.stream_stream is not None
    return grpc.stream_stream_rpc_method_handler(_stream_stream(handler.stream_stream, method), parse, write)


class SafeRegistrar:
    """Stands in for the server when a generated `add_*Servicer_to_server` registers a servicer.

    Every method is served through one generic handler that finds it by its full name (one dict
    lookup), not as a grpc.aio "registered method": for those, the server keeps a pending request per
    method (98 here) and waits on all of them again after every call: `asyncio.wait`'s checks and
    callbacks over 98 tasks, about 600 Python calls per request. With the leaner log lines, a non-stream
    REST create makes 1,302 Python calls instead of 2,203 (`bench/call_count.py`)."""

    def __init__(self, server: grpc.aio.Server, observer: Observer = SILENT) -> None:
        self._observer = observer
        self._routes = _Routes()
        server.add_generic_rpc_handlers((self._routes,))

    def add_generic_rpc_handlers(self, handlers: object) -> None:
        """Ignored: `add_registered_method_handlers` receives the same methods."""

    def add_registered_method_handlers(self, service: str, handlers: Mapping[str, Handler]) -> None:
        """Serve the service's methods, each made safe and observed."""
        rest, logged = service == REST_SERVICE, service not in QUIET_SERVICES
        for name, handler in handlers.items():
            self._routes.add(f"/{service}/{name}", safe(handler, Method(name, rest, self._observer, logged)))


class _Routes(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """The methods served, by full name (`/package.Service/Method`)."""

    def __init__(self) -> None:
        self._methods: dict[str, Handler] = {}

    def add(self, path: str, handler: Handler) -> None:
        self._methods[path] = handler

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        """The method's handler; None (UNIMPLEMENTED) for a method not served."""
        return self._methods.get(handler_call_details.method)
