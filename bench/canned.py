"""What the real service answers, captured once, for the do-nothing floor server to replay.

For each request shape the floor scenario measures, this module calls the service's own gRPC port
with the request Envoy would send it, and keeps the reply as it came:

- `OpenAIHttpService.CreateResponse` with the REST body in one `HttpBody` (what the transcoder sends for
  `POST /v1/responses`): the initial metadata the service sent (none on success unless rate limits are
  configured; `x-http-status` on an error) and every `HttpBody` message, in order, as it framed them
  (non-stream: one `application/json` body; stream: the SSE frames, one message per batch of events);
- `ResponsesService.Create`: the `CreateResponse`; `ResponsesService.StreamCreate`: every
  `StreamCreateResponse` message.

The floor server keys its replies on the REST body's bytes and on the gRPC request's model name, both
unique per shape. The file is JSON with the messages serialized and base64-encoded.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.api.httpbody_pb2 import HttpBody

from bench.procs import LOOPBACK
from bench.targets import Shape, grpc_params, rest_body
from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1.openai_http_pb2_grpc import OpenAIHttpServiceStub
from rejoinder.responses.v1.responses_service_pb2_grpc import ResponsesServiceStub

JSON = "application/json"
Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RestReply:
    """`CreateResponse` over the HttpBody bridge: the request body it answers, its initial metadata
    and its messages."""

    request: bytes
    metadata: Metadata
    bodies: tuple[HttpBody, ...]


@dataclass(frozen=True)
class GrpcReply:
    """`ResponsesService` replies for one model: `Create`'s (non-stream) or `StreamCreate`'s messages."""

    model: str
    create: pb.CreateResponse | None
    stream: tuple[pb.StreamCreateResponse, ...]


@dataclass(frozen=True)
class Canned:
    """Every captured reply."""

    rest: tuple[RestReply, ...]
    grpc: tuple[GrpcReply, ...]

    def summary(self) -> dict[str, dict[str, float | int | str | None]]:
        """How many messages and bytes each reply has, and the REST metadata (for the log and the JSON)."""
        out: dict[str, dict[str, float | int | str | None]] = {}
        for reply in self.rest:
            request = json.loads(reply.request)
            shown = ", ".join(f"{k}: {v}" for k, v in reply.metadata) or "none"
            sizes = [len(b.data) for b in reply.bodies]
            key = f"rest {request['model']}{' stream' if request['stream'] else ''}"
            out[key] = {"messages": len(sizes), "bytes": sum(sizes), "metadata": shown}
        for g in self.grpc:
            sizes = [g.create.ByteSize()] if g.create is not None else [m.ByteSize() for m in g.stream]
            out[f"grpc {g.model}{'' if g.create is not None else ' stream'}"] = {
                "messages": len(sizes),
                "bytes": sum(sizes),
            }
        return out


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _raw(text: str) -> bytes:
    return base64.b64decode(text)


def save(canned: Canned, path: Path) -> None:
    """Write `canned` as JSON."""
    doc = {
        "rest": [
            {
                "request": _b64(r.request),
                "metadata": [list(m) for m in r.metadata],
                "bodies": [_b64(b.SerializeToString()) for b in r.bodies],
            }
            for r in canned.rest
        ],
        "grpc": [
            {
                "model": g.model,
                "create": _b64(g.create.SerializeToString()) if g.create is not None else None,
                "stream": [_b64(m.SerializeToString()) for m in g.stream],
            }
            for g in canned.grpc
        ],
    }
    path.write_text(json.dumps(doc))


def load(path: Path) -> Canned:
    """Read what `save` wrote."""
    doc = json.loads(path.read_text())
    rest = tuple(
        RestReply(
            request=_raw(r["request"]),
            metadata=tuple((str(k), str(v)) for k, v in r["metadata"]),
            bodies=tuple(HttpBody.FromString(_raw(b)) for b in r["bodies"]),
        )
        for r in doc["rest"]
    )
    grpc_replies = tuple(
        GrpcReply(
            model=g["model"],
            create=pb.CreateResponse.FromString(_raw(g["create"])) if g["create"] is not None else None,
            stream=tuple(pb.StreamCreateResponse.FromString(_raw(m)) for m in g["stream"]),
        )
        for g in doc["grpc"]
    )
    return Canned(rest, grpc_replies)


def _custom(metadata: object) -> Metadata:
    """The metadata a servicer sent itself (gRPC's own keys left out)."""
    pairs = metadata if isinstance(metadata, Sequence | grpc.aio.Metadata) else ()
    out = []
    for key, value in pairs:
        if key.startswith("grpc-") or key in ("content-type", "date", "user-agent"):
            continue
        out.append((str(key), value.decode() if isinstance(value, bytes) else str(value)))
    return tuple(out)


async def _rest(stub: OpenAIHttpServiceStub, shape: Shape) -> RestReply:
    request = rest_body(shape)
    call = stub.CreateResponse(HttpBody(content_type=JSON, data=request))
    bodies = tuple([body async for body in call])
    metadata = _custom(await call.initial_metadata())
    if await call.code() != grpc.StatusCode.OK or not bodies:
        raise CaptureError(f"CreateResponse {shape.model}: {await call.code()} {await call.details()}")
    return RestReply(request, metadata, bodies)


async def _grpc(stub: ResponsesServiceStub, shape: Shape) -> GrpcReply:
    params = grpc_params(shape)
    if not shape.stream:
        reply = await stub.Create(params)
        return GrpcReply(shape.model, reply, ())
    messages = tuple([m async for m in stub.StreamCreate(pb.StreamCreateRequest(params=params))])
    return GrpcReply(shape.model, None, messages)


class CaptureError(RuntimeError):
    """The service did not answer a request to capture."""


async def capture(grpc_port: int, shapes: Sequence[Shape]) -> Canned:
    """Each shape's replies from the service at `grpc_port`, as it sends them."""
    async with grpc.aio.insecure_channel(f"{LOOPBACK}:{grpc_port}") as channel:
        http = OpenAIHttpServiceStub(channel)  # type: ignore[no-untyped-call]
        typed = ResponsesServiceStub(channel)  # type: ignore[no-untyped-call]
        rest = tuple([await _rest(http, shape) for shape in shapes])
        try:
            grpc_replies = tuple([await _grpc(typed, shape) for shape in shapes])
        except grpc.aio.AioRpcError as exc:
            raise CaptureError(f"ResponsesService: {exc.code().name} {exc.details()}") from exc
    return Canned(rest, grpc_replies)
