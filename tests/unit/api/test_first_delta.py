"""The first delta of a burst is written before the rest of the burst is read (issue 13).

An instant upstream sends its whole answer in one socket write, so the service reads every chunk at
once. Each servicer's stream is driven here as grpc.aio drives it: the next message is asked for only
once the previous one has been written, and a write takes a while, during which the event loop is
free (as it is while a real write waits for gRPC's poller). When the write of the message carrying
the first delta completes, the upstream's later chunks must not have been parsed yet: on a busy core
they would otherwise be parsed and encoded before the first delta left, and it would reach the client
only with the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from google.api.httpbody_pb2 import HttpBody

from rejoinder.api.auth import Authenticator
from rejoinder.api.grpc_servicer import ResponsesServicer
from rejoinder.api.rest.servicer import OpenAIHttpServicer
from rejoinder.core.conversations import ConversationsCore
from rejoinder.core.responses import ResponsesCore
from rejoinder.core.run.deps import Deps
from rejoinder.providers.base import Capabilities, ChatDelta, ChatRequest, TextDelta, UpstreamModel
from rejoinder.providers.openai_compat import OpenAICompatProvider, UpstreamConfig
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1.items_pb2 import Input
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import FakeClock, InMemoryStore, SequentialIds
from tests.scripted_upstream import Script, ScriptedUpstream

TOKENS = [f"t{i} " for i in range(64)]
WRITE_S = 0.02


class CountingProvider:
    """The real adapter, counting the text deltas it has parsed so far."""

    def __init__(self, inner: OpenAICompatProvider) -> None:
        self.inner = inner
        self.texts = 0

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    async def stream(self, req: ChatRequest) -> AsyncGenerator[ChatDelta, None]:
        async for delta in self.inner.stream(req):
            self.texts += isinstance(delta, TextDelta) and bool(delta.text)
            yield delta

    async def models(self) -> list[UpstreamModel]:
        return []

    async def aclose(self) -> None:
        await self.inner.aclose()


class Call:
    """What a servicer sees of its call: no metadata, headers that go nowhere."""

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return ()

    async def send_initial_metadata(self, metadata: object) -> None:
        return None


@dataclass
class Written:
    """One message, and how many text deltas the upstream had given when its write completed."""

    message: Any
    parsed: int


async def _written(messages: AsyncIterator[Any], upstream: CountingProvider) -> list[Written]:
    out = []
    async for message in messages:
        await asyncio.sleep(WRITE_S)  # the write
        out.append(Written(message, upstream.texts))
    return out


@pytest.fixture
async def upstream(scripted_upstream: ScriptedUpstream) -> AsyncIterator[CountingProvider]:
    scripted_upstream.enqueue(Script(text=TOKENS, one_write=True))
    counting = CountingProvider(OpenAICompatProvider(UpstreamConfig(scripted_upstream.base_url)))
    yield counting
    await counting.aclose()


@dataclass
class Service:
    """The real core over the counting upstream, and both servicers on it."""

    rest: OpenAIHttpServicer
    typed: ResponsesServicer


def _service(upstream: CountingProvider) -> Service:
    registry = ProviderRegistry({"up": upstream}, {}, "up")
    store, ids, clock = InMemoryStore(), SequentialIds(), FakeClock()
    core = ResponsesCore(Deps(store=store, providers=registry, clock=clock, ids=ids))
    auth = Authenticator({})
    rest = OpenAIHttpServicer(core, ConversationsCore(store, ids, clock), OpenAIJson(), registry, auth)
    return Service(rest, ResponsesServicer(core, auth))


def _params() -> pb.CreateRequest:
    return pb.CreateRequest(model="m", input=Input(text="hi"), store=False)


def _sse_deltas(body: HttpBody) -> list[str]:
    return [
        orjson.loads(line.removeprefix(b"data: "))["delta"]
        for line in body.data.split(b"\n")
        if line.startswith(b'data: {"type":"response.output_text.delta"')
    ]


async def test_rest_writes_the_first_delta_before_reading_the_rest(upstream: CountingProvider) -> None:
    request = {"model": "m", "input": "hi", "stream": True, "store": False}
    body = HttpBody(content_type="application/json", data=orjson.dumps(request))

    written = await _written(_service(upstream).rest.CreateResponse(body, Call()), upstream)  # type: ignore[arg-type]

    first = written[0]
    assert _sse_deltas(first.message) == [TOKENS[0]], "the opening run ends with the first delta"
    assert first.parsed == 1, "the rest of the burst waited until the first delta was written"
    assert [d for w in written for d in _sse_deltas(w.message)] == TOKENS
    assert len(written) < len(TOKENS), "the rest of the burst shares messages"


async def test_grpc_writes_the_first_delta_before_reading_the_rest(upstream: CountingProvider) -> None:
    request = pb.StreamCreateRequest(params=_params())

    written = await _written(_service(upstream).typed.StreamCreate(request, Call()), upstream)  # type: ignore[arg-type]

    deltas = [w for w in written if w.message.event.WhichOneof("event") == "output_text_delta"]
    assert deltas[0].parsed == 1, "the rest of the burst waited until the first delta was written"
    assert [w.message.event.output_text_delta.delta for w in deltas] == TOKENS


async def test_grpc_batched_writes_the_first_delta_before_reading_the_rest(
    upstream: CountingProvider,
) -> None:
    request = pb.StreamCreateBatchedRequest(params=_params())

    written = await _written(_service(upstream).typed.StreamCreateBatched(request, Call()), upstream)  # type: ignore[arg-type]

    first = [e.WhichOneof("event") for e in written[0].message.events]
    assert first[-1] == "output_text_delta" and first.count("output_text_delta") == 1
    assert written[0].parsed == 1, "the rest of the burst waited until the first delta was written"
    texts = [
        e.output_text_delta.delta
        for w in written
        for e in w.message.events
        if e.HasField("output_text_delta")
    ]
    assert texts == TOKENS
