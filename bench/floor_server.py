"""The floor: a do-nothing gRPC server behind the service's own Envoy, answering with canned replies.

    python -m bench.floor_server --canned FILE --workdir DIR   # prints "ready <grpc> <http> <envoy pid>"

What the service costs can only be judged against what the machinery under it costs: grpc.aio on
uvloop receiving a call and sending messages, and Envoy transcoding REST to the HttpBody bridge. This
server is that machinery with nothing in between: `OpenAIHttpService.CreateResponse` and
`ResponsesService.Create` / `StreamCreate` send back the bytes the real service sent for the same request
(`bench.canned`: captured from it once), and do nothing else. It runs as `rejoinder serve` runs:

- on uvloop, with the service's gRPC server options (message and metadata limits, no SO_REUSEPORT);
- its methods served as the service serves its own (`api.calls.SafeRegistrar`): through one generic
  handler that finds a method by its full name, not as grpc.aio registered methods (whose server waits
  on one pending task per method after every call: 57 here, which made this floor 6-10% dearer per
  request than the same server served by name);
- with `grpc.health.v1` (Envoy health-checks its cluster);
- in front of it, Envoy started as the service starts it: `launcher.envoy_settings` (the same bootstrap:
  listener, Lua and transcoder filters, descriptor set, cluster, access log) run by `EnvoyProcess` (the
  same binary and flags), as this process's child, so it inherits this process's pinning.

`GRPC_ENABLE_FORK_SUPPORT=false` must be in its environment (as `rejoinder serve` sets it).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeAlias

import grpc
import uvloop
from google.api.httpbody_pb2 import HttpBody
from grpc_health.v1 import health, health_pb2_grpc

from bench.canned import Canned, load
from rejoinder.app import MAX_MESSAGE_BYTES, MAX_METADATA_BYTES
from rejoinder.config import Settings
from rejoinder.edge.envoy_config import EnvoySettings
from rejoinder.edge.envoy_process import EnvoyProcess
from rejoinder.edge.ports import free_port
from rejoinder.launcher import envoy_settings
from rejoinder.responses.v1 import openai_http_pb2_grpc as http_grpc
from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1 import responses_service_pb2_grpc as responses_grpc

Context = grpc.aio.ServicerContext[object, object]
LOOPBACK = "127.0.0.1"


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """The options `rejoinder.app` gives its grpc.aio server (one worker: no SO_REUSEPORT)."""
    return [
        ("grpc.so_reuseport", 0),
        ("grpc.max_receive_message_length", settings.request_limits.max_request_body_bytes + 65_536),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_metadata_size", MAX_METADATA_BYTES),
        ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES),
    ]


class FloorHttp(http_grpc.OpenAIHttpServiceServicer):
    """`CreateResponse`: the canned metadata and bodies of the request's exact bytes."""

    def __init__(self, canned: Canned) -> None:
        self._replies = {r.request: r for r in canned.rest}

    async def CreateResponse(self, request: HttpBody, context: Context) -> AsyncIterator[HttpBody]:
        reply = self._replies.get(request.data)
        if reply is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no canned reply for this body")
            return
        if reply.metadata:
            await context.send_initial_metadata(reply.metadata)
        for body in reply.bodies:
            yield body


class FloorResponses(responses_grpc.ResponsesServiceServicer):
    """`Create` and `StreamCreate`: the canned reply of the request's model."""

    def __init__(self, canned: Canned) -> None:
        self._create = {g.model: g.create for g in canned.grpc if g.create is not None}
        self._stream = {g.model: g.stream for g in canned.grpc if g.create is None}

    async def Create(self, request: pb.CreateRequest, context: Context) -> pb.CreateResponse:
        reply = self._create.get(request.model)
        if reply is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no canned reply for {request.model}")
        assert reply is not None
        return reply

    async def StreamCreate(
        self, request: pb.StreamCreateRequest, context: Context
    ) -> AsyncIterator[pb.StreamCreateResponse]:
        messages = self._stream.get(request.params.model)
        if messages is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no canned stream for {request.params.model}")
            return
        for message in messages:
            yield message


Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # generic only in the type stubs


class _ByName(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """Every method, found by its full name (`/package.Service/Method`)."""

    def __init__(self) -> None:
        self.methods: dict[str, Handler] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        return self.methods.get(handler_call_details.method)


class _Registrar:
    """Stands in for the server when a generated `add_*Servicer_to_server` registers a servicer."""

    def __init__(self, by_name: _ByName) -> None:
        self._by_name = by_name

    def add_generic_rpc_handlers(self, handlers: object) -> None:
        """Ignored: `add_registered_method_handlers` receives the same methods."""

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Handler]) -> None:
        for name, handler in handlers.items():
            self._by_name.methods[f"/{service}/{name}"] = handler


def edge_settings(settings: Settings, grpc_port: int) -> EnvoySettings:
    """The service's Envoy settings (`launcher.envoy_settings`) with this server as the one replica.

    Its upstreams are set here: `envoy_settings` takes this process's port, or (with `serve --workers`)
    the workers' ports, and either way the rest of the bootstrap is the service's."""
    edge = envoy_settings(settings, (grpc_port,), free_port())
    return replace(edge, grpc_upstreams=((settings.grpc_host, grpc_port),))


async def serve(canned: Canned, workdir: Path) -> None:
    """Serve until SIGTERM/SIGINT, with Envoy in front; print `ready <grpc> <http> <envoy pid>`."""
    settings = Settings(http_port=free_port(), grpc_port=0, data_dir=workdir)
    server = grpc.aio.server(options=server_options(settings))
    by_name = _ByName()
    server.add_generic_rpc_handlers((by_name,))
    registrar = _Registrar(by_name)
    http_grpc.add_OpenAIHttpServiceServicer_to_server(FloorHttp(canned), registrar)  # type: ignore[no-untyped-call]
    responses_grpc.add_ResponsesServiceServicer_to_server(  # type: ignore[no-untyped-call]
        FloorResponses(canned), registrar
    )
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), registrar)  # type: ignore[attr-defined]
    port = server.add_insecure_port(f"{LOOPBACK}:0")
    await server.start()
    (workdir / "envoy").mkdir(parents=True, exist_ok=True)
    envoy = EnvoyProcess(edge_settings(settings, port), workdir / "envoy")
    await envoy.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready {port} {settings.http_port} {envoy.pid}", flush=True)
    try:
        await stop.wait()
    finally:
        await envoy.stop()
        await server.stop(None)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m bench.floor_server`."""
    parser = argparse.ArgumentParser(prog="python -m bench.floor_server", description=__doc__.split("\n")[0])
    parser.add_argument("--canned", type=Path, required=True, help="the replies (bench.canned.save)")
    parser.add_argument("--workdir", type=Path, required=True, help="Envoy's config, log and access log")
    args = parser.parse_args(argv)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(load(args.canned), args.workdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
