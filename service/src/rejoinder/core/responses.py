"""The core both API surfaces call: create (streamed or folded), get, delete, cancel, list items."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from typing import Protocol

from rejoinder.core.background.inflight import InFlight
from rejoinder.core.background.runs import BackgroundRuns
from rejoinder.core.checks.validation import ValidatedRequest, validate_steps
from rejoinder.core.context import compaction_compact
from rejoinder.core.context.input_tokens import as_create, count_input_tokens
from rejoinder.core.include import withhold
from rejoinder.core.pages import page_args
from rejoinder.core.run.deps import Deps
from rejoinder.core.run.events import RESPONSE_OF, TERMINAL
from rejoinder.core.run.orchestrator import Opening, Run, start
from rejoinder.errors import ApiError, ErrorKind, clip, invalid, not_found
from rejoinder.pacing import run_paced
from rejoinder.ratelimit.base import Admission
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.responses.v1.responses_service_pb2 import (
    CompactRequest,
    CompactResponse,
    CountInputTokensRequest,
    CountInputTokensResponse,
    CreateRequest,
    DeleteResponse,
    ListInputItemsRequest,
    ListInputItemsResponse,
)
from rejoinder.store.base import UNFINISHED
from rejoinder.store.items import item_id


def terminal_response(event: ResponseStreamEvent) -> Response | None:
    """The response a terminal event carries, or None for any other event."""
    kind = event.WhichOneof("event")
    return RESPONSE_OF[kind](event) if kind in TERMINAL else None


class EventSource(Protocol):
    """A started response's events: iterate `events()` once."""

    def events(self) -> AsyncIterator[ResponseStreamEvent]:
        """Its events, ending with its terminal event (a background stream may end without one)."""
        ...


class _Replay:
    def __init__(self, events: AsyncIterator[ResponseStreamEvent]) -> None:
        self._events = events

    def events(self) -> AsyncIterator[ResponseStreamEvent]:
        return self._events


def _limit(refused: ApiError) -> str:
    """Which limit refused: requests, tokens (its OpenAI `type`), or concurrent requests."""
    if refused.message.startswith("Too many concurrent requests"):
        return "concurrent"
    return refused.error_type or "requests"


def _shown(response: Response, include: Collection[str]) -> Response:
    """A copy of `response` (a store or a run may hand out what it keeps) showing what `include` asks."""
    shown = Response()
    shown.CopyFrom(response)
    withhold(shown.output, include)
    return shown


def _missing_response(response_id: str) -> ApiError:
    return not_found(f"Response with id '{clip(response_id)}' not found.", param="response_id")


class ResponsesCore:
    """One instance per server, shared by the typed and the HTTP servicers.

    Every method acts for one tenant (the caller's API key's; "" on a server without keys) and sees
    only that tenant's responses.
    """

    def __init__(self, deps: Deps, background: BackgroundRuns | None = None) -> None:
        """`background`: the server's runs (heartbeating); by default runs with no heartbeat."""
        self._deps = deps
        self._background = background or BackgroundRuns(deps.store, deps.clock, deps.ids.new("replica"))
        self._in_flight = InFlight()

    async def drain(self, grace_s: float, finish_s: float = 5.0) -> int:
        """Let the responses in flight finish for up to `grace_s`, then end the rest (see `InFlight`).
        Returns how many had to be ended."""
        return await self._in_flight.drain(grace_s, finish_s)

    async def _validate(self, req: CreateRequest, *, stream: bool) -> ValidatedRequest:
        with self._deps.observer.span("validate"):
            steps = validate_steps(req, stream=stream, limits=self._deps.limits, tools=self._deps.tools)
            return await run_paced(steps)

    async def admit(self, tenant: str) -> Admission:
        """The tenant's rate limits let one more response start; raises the 429 `ApiError`.

        Whoever admits finishes the admission, or hands it to `start`/`create`, which always do.
        """
        try:
            return await self._deps.limiter.admit(tenant)
        except ApiError as refused:
            if refused.kind is ErrorKind.RATE_LIMIT:
                self._deps.observer.rate_limited(_limit(refused))
            raise

    async def _run(
        self,
        req: CreateRequest,
        stream: bool,
        tenant: str,
        admission: Admission | None,
        opening: Opening | None = None,
    ) -> Run:
        admitted = admission or await self.admit(tenant)
        try:
            return await self._in_flight.start(self._started(req, stream, tenant, admitted, opening))
        except BaseException:
            admitted.finish(0)
            raise

    async def _started(
        self, req: CreateRequest, stream: bool, tenant: str, admission: Admission, opening: Opening | None
    ) -> Run:
        return await start(self._deps, await self._validate(req, stream=stream), tenant, admission, opening)

    async def start(
        self,
        req: CreateRequest,
        *,
        stream: bool = True,
        tenant: str = "",
        admission: Admission | None = None,
        opening: Opening | None = None,
    ) -> EventSource:
        """Validate and start a response; raises `ApiError` before anything is sent.

        A background stream's events come from its run, which goes on when the reader stops. `opening`
        is told a stream's opening events while the upstream's first delta is awaited (`Run.prefetch`).
        """
        run = await self._run(req, stream, tenant, admission, opening)
        if run.background:
            return self._background.launch(run)
        return run

    async def create(
        self, req: CreateRequest, *, tenant: str = "", admission: Admission | None = None
    ) -> Response:
        """The finished response: the fold of the very events a stream would carry.

        In background mode: the response as stored when queued; its run goes on without the caller.
        """
        run = await self._run(req, req.background, tenant, admission)  # a background run keeps every event
        if run.background:
            queued = Response()
            queued.CopyFrom(run.response)
            self._background.launch(run)
            return queued
        return await run.finished()

    async def count_input_tokens(
        self, req: CountInputTokensRequest, *, tenant: str = ""
    ) -> CountInputTokensResponse:
        """The input tokens a create with the same parameters would send (core/context/input_tokens.py)."""
        vreq = await self._validate(as_create(req), stream=False)
        return await count_input_tokens(self._deps, vreq, tenant)

    async def compact(self, req: CompactRequest, *, tenant: str = "") -> CompactResponse:
        """The request's context compacted into a compaction item (core/context/compaction_compact.py).
        Its summarising call is charged to the tenant's rate limits as a create is."""
        admission = await self.admit(tenant)
        spent = 0
        try:
            vreq = await self._validate(compaction_compact.as_create(req), stream=False)
            reply = await compaction_compact.compact(self._deps, vreq, tenant)
            spent = reply.usage.total_tokens
            return reply
        finally:
            admission.finish(spent)

    async def get(self, response_id: str, *, tenant: str = "", include: Collection[str] = ()) -> Response:
        """A stored response, showing what `include` asks for (core/include.py). Raises 404."""
        response = await self._deps.store.get(response_id, tenant=tenant)
        if response is None:
            raise _missing_response(response_id)
        return _shown(response, include)

    async def delete(self, response_id: str, *, tenant: str = "") -> DeleteResponse:
        """Delete a stored response (stopping its run first when it runs in background). Raises 404."""
        stored = await self._deps.store.get(response_id, tenant=tenant)
        if stored is not None and stored.background and stored.status in UNFINISHED:
            await self._background.cancel(response_id, tenant)  # else its run would store it again
        if not await self._deps.store.delete(response_id, tenant=tenant):
            raise _missing_response(response_id)
        return DeleteResponse(id=response_id, object="response.deleted", deleted=True)

    async def stream(self, response_id: str, starting_after: int | None, *, tenant: str = "") -> EventSource:
        """A background response's events above sequence number `starting_after`, live while it runs.

        Raises 404, or 400 when the response was not created with `background`.
        """
        after = -1 if starting_after is None else starting_after
        live = self._background.get(response_id)
        if live is not None and live.run.tenant == tenant:
            return _Replay(live.follow(after))
        response = await self.get(response_id, tenant=tenant)
        if not response.background:
            raise invalid(
                "This response cannot be streamed: only responses created with background=true can be.",
                param="stream",
                code="response_not_streamable",
            )
        return _Replay(self._background.follow_stored(response_id, after, tenant))

    async def cancel(self, response_id: str, *, tenant: str = "") -> Response:
        """Cancel a queued or running background response (on any replica); a finished one is returned
        as it is."""
        response = await self.get(response_id, tenant=tenant)
        if not response.background:
            raise ApiError(
                ErrorKind.CONFLICT,
                "Only responses created with background=true can be cancelled "
                f"(this one's status is {response.status}).",
                param="response_id",
                code="response_not_cancellable",
            )
        cancelled = await self._background.cancel(response_id, tenant)
        return _shown(cancelled, ()) if cancelled is not None else response

    async def list_input_items(
        self, req: ListInputItemsRequest, *, tenant: str = ""
    ) -> ListInputItemsResponse:
        """A page of a stored response's input items. Raises 400 or 404."""
        limit, order = page_args(
            req.limit if req.HasField("limit") else None, req.order if req.HasField("order") else None
        )
        page = await self._deps.store.list_input_items(
            req.response_id,
            after=req.after if req.HasField("after") else None,
            before=req.before if req.HasField("before") else None,
            limit=limit,
            order=order,
            tenant=tenant,
        )
        if page is None:
            raise _missing_response(req.response_id)
        out = ListInputItemsResponse(object="list", data=page.items, has_more=page.has_more)
        if page.items:
            out.first_id = item_id(page.items[0])
            out.last_id = item_id(page.items[-1])
        return out
