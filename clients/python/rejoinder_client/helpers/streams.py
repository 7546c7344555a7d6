"""Streamed responses: the events as they arrive, then the response they built.

    stream = stream_create(ResponsesServiceStub(channel), CreateRequest(model="m", input=Input(text="hi")))
    for event in stream:
        if event.output_text_delta:
            print(event.output_text_delta.delta, end="")
    response = stream.final_response()

With a `ResponsesServiceAsyncStub` the same calls give an `AsyncResponseStream`: `async for event in
stream`, then `await stream.final_response()`. A stream that is closed early (`close()`, or leaving its
`with` block) cancels its call.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Sequence
from types import TracebackType
from typing import TypeVar, overload

from ..rejoinder.responses.v1 import (
    CreateRequest,
    Response,
    ResponsesServiceAsyncStub,
    ResponsesServiceStub,
    ResponseStreamEvent,
    StreamCreateBatchedRequest,
    StreamCreateBatchedResponse,
    StreamGetRequest,
    StreamGetResponse,
)

T = TypeVar("T")


class IncompleteStreamError(RuntimeError):
    """The stream ended without its response's last event (`response.completed`, `.incomplete` or
    `.failed`): the response was cancelled, or the call was cut. `get` the response for its state."""


class _Progress:
    """What the events so far say about their response."""

    def __init__(self) -> None:
        self.response: Response | None = None
        self.done = False

    def see(self, event: ResponseStreamEvent) -> None:
        if event.response_completed is not None:
            self.response, self.done = event.response_completed.response, True
        elif event.response_incomplete is not None:
            self.response, self.done = event.response_incomplete.response, True
        elif event.response_failed is not None:
            self.response, self.done = event.response_failed.response, True
        elif event.response_created is not None:
            self.response = event.response_created.response
        elif event.response_queued is not None:
            self.response = event.response_queued.response
        elif event.response_in_progress is not None:
            self.response = event.response_in_progress.response

    def final(self) -> Response:
        if not self.done or self.response is None:
            raise IncompleteStreamError("the stream ended before its response did")
        return self.response


class ResponseStream:
    """The events of one response, from a sync stub, as they arrive."""

    def __init__(self, events: Generator[ResponseStreamEvent]) -> None:
        self._events = events
        self._progress = _Progress()

    @property
    def response(self) -> Response | None:
        """The response as the latest event that carried it showed it; the final one once `done`."""
        return self._progress.response

    @property
    def done(self) -> bool:
        """The response's last event has arrived."""
        return self._progress.done

    def __iter__(self) -> Iterator[ResponseStreamEvent]:
        """The events not yet read, in order."""
        for event in self._events:
            self._progress.see(event)
            yield event

    def final_response(self) -> Response:
        """Reads the events not yet read, then returns the finished response (completed, incomplete or
        failed); `IncompleteStreamError` if the stream ended without one."""
        for _ in self:
            pass
        return self._progress.final()

    def close(self) -> None:
        """Stops reading and cancels the call."""
        self._events.close()

    def __enter__(self) -> ResponseStream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncResponseStream:
    """The events of one response, from an async stub, as they arrive."""

    def __init__(self, events: AsyncGenerator[ResponseStreamEvent]) -> None:
        self._events = events
        self._progress = _Progress()

    @property
    def response(self) -> Response | None:
        """The response as the latest event that carried it showed it; the final one once `done`."""
        return self._progress.response

    @property
    def done(self) -> bool:
        """The response's last event has arrived."""
        return self._progress.done

    async def __aiter__(self) -> AsyncIterator[ResponseStreamEvent]:
        """The events not yet read, in order."""
        async for event in self._events:
            self._progress.see(event)
            yield event

    async def final_response(self) -> Response:
        """Reads the events not yet read, then returns the finished response (completed, incomplete or
        failed); `IncompleteStreamError` if the stream ended without one."""
        async for _ in self:
            pass
        return self._progress.final()

    async def aclose(self) -> None:
        """Stops reading and cancels the call."""
        await self._events.aclose()

    async def __aenter__(self) -> AsyncResponseStream:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


@overload
def stream_create(stub: ResponsesServiceStub, request: CreateRequest) -> ResponseStream: ...
@overload
def stream_create(stub: ResponsesServiceAsyncStub, request: CreateRequest) -> AsyncResponseStream: ...
def stream_create(
    stub: ResponsesServiceStub | ResponsesServiceAsyncStub, request: CreateRequest
) -> ResponseStream | AsyncResponseStream:
    """Creates a response and streams its events (over `StreamCreateBatched`: the events that are ready
    together travel in one message, and come out here one by one)."""
    batched = StreamCreateBatchedRequest(params=request)
    if isinstance(stub, ResponsesServiceAsyncStub):
        return AsyncResponseStream(_each_async(stub.stream_create_batched(batched), _batch))
    return ResponseStream(_each(stub.stream_create_batched(batched), _batch))


@overload
def stream_get(
    stub: ResponsesServiceStub, response_id: str, *, starting_after: int | None = None
) -> ResponseStream: ...
@overload
def stream_get(
    stub: ResponsesServiceAsyncStub, response_id: str, *, starting_after: int | None = None
) -> AsyncResponseStream: ...
def stream_get(
    stub: ResponsesServiceStub | ResponsesServiceAsyncStub,
    response_id: str,
    *,
    starting_after: int | None = None,
) -> ResponseStream | AsyncResponseStream:
    """Streams a background response's events: those after `starting_after` (all of them when None)
    that were already made, then each as it happens, until it ends."""
    request = StreamGetRequest(response_id=response_id, starting_after=starting_after)
    if isinstance(stub, ResponsesServiceAsyncStub):
        return AsyncResponseStream(_each_async(stub.stream_get(request), _single))
    return ResponseStream(_each(stub.stream_get(request), _single))


def _batch(message: StreamCreateBatchedResponse) -> Sequence[ResponseStreamEvent]:
    return message.events


def _single(message: StreamGetResponse) -> Sequence[ResponseStreamEvent]:
    return () if message.event is None else (message.event,)


def _each(
    messages: Iterator[T], events_of: Callable[[T], Sequence[ResponseStreamEvent]]
) -> Generator[ResponseStreamEvent]:
    try:
        for message in messages:
            yield from events_of(message)
    finally:  # closing the stub's generator lets go of the call, which grpcio then cancels
        if isinstance(messages, Generator):
            messages.close()


async def _each_async(
    messages: AsyncIterator[T], events_of: Callable[[T], Sequence[ResponseStreamEvent]]
) -> AsyncGenerator[ResponseStreamEvent]:
    try:
        async for message in messages:
            for event in events_of(message):
                yield event
    finally:  # closing the stub's generator leaves grpclib's request block, which resets the stream
        if isinstance(messages, AsyncGenerator):
            await messages.aclose()
