"""The three paths every scenario is measured on, built for one request shape.

- `direct`: chat completions straight to the bench upstream (the baseline);
- `rest`: `POST /v1/responses` through Envoy, exactly what the `openai` SDK sends;
- `grpc`: `ResponsesService.Create` / `StreamCreate` on the service's own gRPC port, generated stubs;
- `grpc_batched`: `ResponsesService.StreamCreateBatched` (streams only): the same events, those ready
  together in one message.

The model name scripts the upstream (see `bench.upstream`): `bench-<tokens>-<delay_ms>`.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from bench.http1 import build_request
from bench.load import GrpcTarget, HttpTarget, Target
from bench.procs import LOOPBACK
from rejoinder.responses.v1.items_pb2 import Input
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest

PATHS = ("direct", "rest", "grpc")
BATCHED = "grpc_batched"
PROMPT = "Say something."
# What each answer must carry: a finish, a completed response, or one marker per text delta.
DIRECT_DONE = b'"finish_reason":"stop"'
DIRECT_DELTA = b'"delta":{"content":" tok"'
REST_DONE = b'"status":"completed"'
REST_DELTA = b"event: response.output_text.delta\n"


@dataclass(frozen=True)
class Shape:
    """One request shape: answer length, streaming, per-token delay, `store`."""

    tokens: int
    stream: bool
    delay_ms: int = 0
    store: bool = False

    @property
    def model(self) -> str:
        return f"bench-{self.tokens}-{self.delay_ms}"


def rest_body(shape: Shape) -> bytes:
    """The JSON body of `POST /v1/responses` for `shape` (what the `openai` SDK sends)."""
    body = {"model": shape.model, "input": PROMPT, "store": shape.store, "stream": shape.stream}
    return orjson.dumps(body)


def grpc_params(shape: Shape) -> CreateRequest:
    """The `CreateRequest` of `shape` (in `StreamCreateRequest.params` for streams)."""
    return CreateRequest(model=shape.model, input=Input(text=PROMPT), store=shape.store, stream=shape.stream)


@dataclass(frozen=True)
class Endpoints:
    """Ports of the upstream, of Envoy's REST listener and of the gRPC server."""

    upstream: int
    http: int
    grpc: int

    def target(self, path: str, shape: Shape) -> Target:
        """The target of `shape` on `path` ("direct", "rest", "grpc" or "grpc_batched")."""
        if path == "direct":
            return self._direct(shape)
        if path == "rest":
            return self._rest(shape)
        if path == "grpc":
            return self._grpc(shape)
        if path == BATCHED:
            return self._grpc(shape, batched=True)
        raise ValueError(f"unknown path {path!r}")

    def _direct(self, shape: Shape) -> HttpTarget:
        body: dict[str, object] = {"model": shape.model, "messages": [{"role": "user", "content": PROMPT}]}
        if shape.stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        payload = build_request(f"{LOOPBACK}:{self.upstream}", "/v1/chat/completions", orjson.dumps(body))
        marker, expect = (DIRECT_DELTA, shape.tokens) if shape.stream else (DIRECT_DONE, 1)
        return HttpTarget("direct", self.upstream, payload, marker, expect)

    def _rest(self, shape: Shape) -> HttpTarget:
        payload = build_request(f"{LOOPBACK}:{self.http}", "/v1/responses", rest_body(shape))
        marker, expect = (REST_DELTA, shape.tokens) if shape.stream else (REST_DONE, 1)
        return HttpTarget("rest", self.http, payload, marker, expect)

    def _grpc(self, shape: Shape, *, batched: bool = False) -> GrpcTarget:
        params = grpc_params(shape)
        label = BATCHED if batched else "grpc"
        return GrpcTarget(label, self.grpc, params, shape.tokens if shape.stream else 0, batched=batched)
