"""What `--scaling` sends: the main bench's REST bodies to any system, and typed gRPC over several
connections to the shared public port.

REST: `POST /v1/responses` with the very bodies of `bench.targets.rest_body` (LiteLLM's also carry its
master key). A non-stream answer must hold `"status":"completed"`; a stream, one marker per text delta
(Rejoinder's SSE names the event on an `event:` line, LiteLLM's only in the `data:` JSON).

gRPC: `ResponsesService.Create` on `channels` channels, each with its own subchannel pool (gRPC would
otherwise share one TCP connection between channels of the same target and arguments), the clients
dealt round-robin over them: the kernel's `SO_REUSEPORT` spreads *connections* over the workers, so one
channel would load one worker only.
"""

from __future__ import annotations

import itertools

import grpc

from bench import litellm_proxy
from bench.http1 import build_request
from bench.load import GrpcSession, GrpcTarget, HttpTarget
from bench.procs import LOOPBACK
from bench.scaling_systems import System
from bench.targets import REST_DELTA, REST_DONE, Shape, grpc_params, rest_body
from rejoinder.responses.v1.responses_service_pb2_grpc import ResponsesServiceStub

GRPC_CHANNELS = 8
OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)


def rest_target(system: System, shape: Shape) -> HttpTarget:
    """`POST /v1/responses` of `shape` to the system's HTTP port."""
    payload = build_request(
        f"{LOOPBACK}:{system.http_port}", "/v1/responses", rest_body(shape), system.auth_header
    )
    if not shape.stream:
        return HttpTarget("rest", system.http_port, payload, REST_DONE, 1)
    marker = litellm_proxy.STREAM_DELTA if system.kind == "litellm" else REST_DELTA
    return HttpTarget("rest", system.http_port, payload, marker, shape.tokens)


class OwnConnectionTarget(GrpcTarget):
    """A `GrpcTarget` whose channel has a subchannel pool (so a TCP connection) of its own."""

    def __init__(self, port: int, shape: Shape) -> None:
        super().__init__("grpc", port, grpc_params(shape), shape.tokens if shape.stream else 0)
        self._unused = self.channel  # the shared-pool channel the base made; never connected
        self.channel = grpc.aio.insecure_channel(f"{LOOPBACK}:{port}", options=OWN_CONNECTION)
        self.stub = ResponsesServiceStub(self.channel)  # type: ignore[no-untyped-call]

    async def aclose(self) -> None:
        await self._unused.close(grace=None)
        await super().aclose()


class SpreadGrpcTarget:
    """gRPC sessions dealt round-robin over `channels` connections to one port."""

    label = "grpc"

    def __init__(self, port: int, shape: Shape, channels: int = GRPC_CHANNELS) -> None:
        self._targets = [OwnConnectionTarget(port, shape) for _ in range(channels)]
        self._next = itertools.cycle(self._targets)

    def session(self) -> GrpcSession:
        return GrpcSession(next(self._next))

    async def aclose(self) -> None:
        for target in self._targets:
            await target.aclose()


def grpc_target(system: System, shape: Shape, channels: int = GRPC_CHANNELS) -> SpreadGrpcTarget:
    """Typed gRPC to the system's public (shared) gRPC port."""
    if system.grpc_port is None:
        raise ValueError(f"{system.label} has no gRPC port")
    return SpreadGrpcTarget(system.grpc_port, shape, channels)
