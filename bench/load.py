"""The load generator: closed-loop clients over HTTP/1.1 (direct upstream, REST through Envoy) and typed gRPC.

A *target* is one way of sending one request shape; each client gets its own session (its own
keep-alive connection; gRPC sessions share one channel, as callers of one service do). A closed loop
of `concurrency` clients sends back to back: after a warm-up the CPU probe starts, samples are
kept for the measured window, and nobody starts a request after the window or the request budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc

from bench.http1 import Http1Connection, HttpError, MarkerCounter
from bench.procs import LOOPBACK, CpuProbe
from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.responses_service_pb2_grpc import ResponsesServiceStub

clock = time.perf_counter
OUTPUT_TEXT_DELTA = "output_text_delta"


@dataclass(frozen=True)
class Sample:
    """One finished request."""

    start: float
    latency: float
    ttft: float | None = None
    deltas: int = 0
    ok: bool = True
    error: str | None = None


class Session(Protocol):
    """One client's connection."""

    async def call(self) -> Sample: ...

    def close(self) -> None: ...


class Target(Protocol):
    """One way of sending one request shape."""

    @property
    def label(self) -> str: ...

    def session(self) -> Session: ...

    async def aclose(self) -> None: ...


# ---- HTTP/1.1 (direct upstream and REST through Envoy) ------------------------------------------


@dataclass(frozen=True)
class HttpTarget:
    """`payload` sent to `port`; `marker` counts the events (text deltas) an answer must carry."""

    label: str
    port: int
    payload: bytes
    marker: bytes
    expect: int = 1

    def session(self) -> HttpSession:
        return HttpSession(self)

    async def aclose(self) -> None:
        return None


class HttpSession:
    """A keep-alive connection, reopened when it breaks."""

    def __init__(self, target: HttpTarget, on_first: Callable[[], None] | None = None) -> None:
        self._target = target
        self._conn: Http1Connection | None = None
        self.on_first = on_first

    async def call(self) -> Sample:
        t = self._target
        counter = MarkerCounter(t.marker, clock, self.on_first)
        start = clock()
        try:
            if self._conn is None or not self._conn.usable:
                self._conn = await Http1Connection.open(LOOPBACK, t.port)
            status = await self._conn.request(t.payload, counter.feed)
        except (HttpError, OSError) as exc:
            self._conn = None
            return Sample(start, clock() - start, ok=False, error=f"{type(exc).__name__}: {exc}")
        end = clock()
        ok = status == 200 and counter.count >= t.expect
        error = None if ok else f"HTTP {status}, {counter.count} of {t.expect} markers, {counter.size} B"
        ttft = counter.first_at - start if counter.count else None
        return Sample(start, end - start, ttft, counter.count, ok, error)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# ---- typed gRPC ---------------------------------------------------------------------------------


class GrpcTarget:
    """`Create` (unary), `StreamCreate` or `StreamCreateBatched` on one shared channel to the service's
    gRPC port."""

    def __init__(
        self, label: str, port: int, params: pb.CreateRequest, expect: int, *, batched: bool = False
    ) -> None:
        self.label = label
        self.params = params
        self.expect = expect
        self.batched = batched
        self.channel = grpc.aio.insecure_channel(f"{LOOPBACK}:{port}")
        self.stub = ResponsesServiceStub(self.channel)  # type: ignore[no-untyped-call]
        self.stream_request = pb.StreamCreateRequest(params=params)
        self.batched_request = pb.StreamCreateBatchedRequest(params=params)

    def session(self) -> GrpcSession:
        return GrpcSession(self)

    async def aclose(self) -> None:
        await self.channel.close(grace=None)


class GrpcSession:
    """Calls on the target's channel; `close()` cancels the call in flight."""

    def __init__(self, target: GrpcTarget, on_first: Callable[[], None] | None = None) -> None:
        self._target = target
        self._call: grpc.aio.UnaryStreamCall[Any, Any] | None = None
        self.on_first = on_first

    async def call(self) -> Sample:
        start = clock()
        try:
            if self._target.params.stream:
                return await self._stream(start)
            reply = await self._target.stub.Create(self._target.params)
        except grpc.aio.AioRpcError as exc:
            return Sample(start, clock() - start, ok=False, error=f"{exc.code().name}: {exc.details()}")
        ok = reply.response.status == "completed"
        return Sample(start, clock() - start, ok=ok, error=None if ok else reply.response.status)

    async def _stream(self, start: float) -> Sample:
        first = 0.0
        deltas = 0
        async for events in self._events():
            for event in events:
                if event.WhichOneof("event") == OUTPUT_TEXT_DELTA:
                    if not deltas:
                        first = clock()
                        if self.on_first is not None:
                            self.on_first()
                    deltas += 1
        self._call = None
        end = clock()
        ok = deltas >= self._target.expect
        error = None if ok else f"{deltas} of {self._target.expect} text deltas"
        return Sample(start, end - start, first - start if deltas else None, deltas, ok, error)

    async def _events(self) -> AsyncIterator[Sequence[ResponseStreamEvent]]:
        """The events of one stream, as the messages carry them."""
        stub = self._target.stub
        if self._target.batched:
            batched = stub.StreamCreateBatched(self._target.batched_request)
            self._call = batched
            async for batch in batched:
                yield batch.events
        else:
            single = stub.StreamCreate(self._target.stream_request)
            self._call = single
            async for msg in single:
                yield (msg.event,)

    def close(self) -> None:
        if self._call is not None:
            self._call.cancel()


# ---- closed loop --------------------------------------------------------------------------------


@dataclass
class LoopResult:
    """The measured window of one closed-loop run."""

    samples: list[Sample]
    window_s: float
    cpu: dict[str, float]
    errors: int = 0
    first_error: str | None = None
    warmup_samples: int = 0


@dataclass
class _Window:
    opens: float = float("inf")
    closes: float = float("inf")
    budget: int = 0
    kept: list[Sample] = field(default_factory=list)
    warm: int = 0
    last_end: float = 0.0

    def take(self, now: float) -> bool:
        if now >= self.closes:
            return False
        if now < self.opens:
            return True
        if self.budget <= 0:
            return False
        self.budget -= 1
        return True

    def record(self, sample: Sample) -> None:
        if sample.start >= self.opens:
            self.kept.append(sample)
            self.last_end = max(self.last_end, sample.start + sample.latency)
        else:
            self.warm += 1


@dataclass(frozen=True)
class LoopSpec:
    """How long and how much: warm-up seconds, measured seconds, and a request budget."""

    concurrency: int
    warmup_s: float
    duration_s: float
    max_requests: int


async def _client(session: Session, window: _Window) -> None:
    try:
        while window.take(clock()):
            window.record(await session.call())
    finally:
        session.close()


async def closed_loop(target: Target, spec: LoopSpec, probe: CpuProbe) -> LoopResult:
    """Run `spec.concurrency` clients back to back; measure after the warm-up."""
    window = _Window(budget=spec.max_requests)
    begin = clock()
    window.opens = begin + spec.warmup_s
    window.closes = window.opens + spec.duration_s
    clients = [asyncio.create_task(_client(target.session(), window)) for _ in range(spec.concurrency)]
    try:
        await asyncio.sleep(max(0.0, window.opens - clock()))
        probe.start()
        await asyncio.gather(*clients)
        cpu = probe.stop()
    finally:
        for task in clients:
            task.cancel()
        await asyncio.gather(*clients, return_exceptions=True)
    kept = window.kept
    failed = [s for s in kept if not s.ok]
    window_s = max(window.last_end - window.opens, 1e-9)
    return LoopResult(
        samples=kept,
        window_s=window_s,
        cpu=cpu,
        errors=len(failed),
        first_error=failed[0].error if failed else None,
        warmup_samples=window.warm,
    )
