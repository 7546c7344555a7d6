"""One response from start to terminal event: the upstream call(s), the events, the store write.

`start` does everything that can fail before the first byte (validation, context, routing, the
upstream's first delta), so that such failures are plain errors with an HTTP status. After that,
`Run.events()` never raises: failures become an `error` event and `response.failed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

from rejoinder.core.checks.validation import ValidatedRequest
from rejoinder.core.context.assemble import Context, output_as_input
from rejoinder.core.conversations import missing_conversation
from rejoinder.core.include import withhold
from rejoinder.core.run.chat_mapping import TurnInput, paced_chat_request
from rejoinder.core.run.deps import Deps
from rejoinder.core.run.echo import initial_response
from rejoinder.core.run.events import RESPONSE_OF, EventEmitter
from rejoinder.core.run.loop import INCOMPLETE_REASONS, AgentLoop, FirstTurn, LoopParts, Tally
from rejoinder.core.run.output import OutputBuilder
from rejoinder.core.run.prepare import ENCRYPTED_REASONING, prepare
from rejoinder.core.run.tool_policy import tool_policy
from rejoinder.core.run.turn import run_turn
from rejoinder.core.run.upstream_errors import as_api_error
from rejoinder.errors import ApiError, ErrorKind, clip
from rejoinder.observe.record import current
from rejoinder.providers import base as p
from rejoinder.providers.registry import Route
from rejoinder.ratelimit.base import Admission
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.response_pb2 import IncompleteDetails, Response, ResponseError

log = logging.getLogger(__name__)

Opening = Callable[[Sequence[ResponseStreamEvent]], None]
"""Told a stream's opening events (`response.created`, `response.in_progress`) as soon as they are made,
while the upstream's first delta is awaited: what will send them can prepare them then (the REST bridge
frames them)."""


class Run:
    """A started response. Iterate `events()` once."""

    def __init__(
        self,
        deps: Deps,
        vreq: ValidatedRequest,
        ctx: Context,
        response: Callable[[], Response],
        route: Route,
        files: Mapping[str, str],
    ) -> None:
        """`response` makes the response as it starts (`initial_response`), when it is first needed:
        for a stream, while the upstream's first delta is awaited (`prefetch`)."""
        self._deps = deps
        self._admission = Admission()
        self.tenant = ctx.tenant
        self._vreq = vreq
        self._ctx = ctx
        self._make_response = response
        self._response: Response | None = None
        self._emitter = EventEmitter()
        seal = (
            deps.sealer.seal
            if deps.sealer is not None and ENCRYPTED_REASONING in vreq.params.include
            else None
        )
        self._builder = OutputBuilder(self._emitter, deps.ids, seal, events=vreq.stream)
        self._tally = Tally()
        self._record = current()  # the call that started the run: its access line's tokens
        self._parts = LoopParts(vreq, ctx, route, self._builder, self._tally, deps.ids, files)
        self._served = deps.tools.used_by(vreq.params.tools)
        self._first: FirstTurn | None = None
        self._opening: list[ResponseStreamEvent] | None = None  # made while the first delta was awaited
        self._finished = False
        self._interrupted: ApiError | None = None
        self._driver: asyncio.Task[object] | None = None  # the task reading `events()`
        self.ended = asyncio.Event()  # its events told and its end stored
        self._saving: asyncio.Future[None] | None = None
        self.failure: ApiError | None = None
        self._folding = False  # `finished`: no terminal event

    @property
    def response(self) -> Response:
        """The response as it stands."""
        response = self._response
        if response is None:
            response = self._response = self._make_response()
        return response

    def hold(self, admission: Admission) -> None:
        """The run finishes the request's rate-limit `admission` when it ends, charging its tokens (or,
        should its events never be read, when it is dropped)."""
        self._admission = admission
        if admission.pending:  # an unlimited tenant's has nothing to finish (a finalizer costs ~1 us)
            weakref.finalize(self, admission.finish, 0)

    @property
    def background(self) -> bool:
        """Whether it runs in background mode."""
        return self._vreq.background

    async def prefetch(self, opening: Opening | None = None) -> None:
        """Without server-side tools, await the upstream's first delta now, before the first byte (and
        never after a `compaction_trigger`: the model is not called to answer).

        A stream's opening events are made while the upstream answers (the loop runs `_open` once the
        request is written and this task waits), and told to `opening`: the first delta then finds them
        ready."""
        compacted = self._ctx.compacted
        if self._served or (compacted is not None and compacted.final):
            return
        parts = self._parts
        items = self._ctx.model_items
        turn = TurnInput(
            items,
            self._ctx.instructions,
            parts.route.upstream_model,
            transcripts=self._deps.tools.transcripts(items),
            files=parts.files,
            prompt=self._ctx.prompt_items,
        )
        chat = await paced_chat_request(self._vreq, turn)
        upstream = run_turn(parts.route.provider, chat, tool_policy(self._vreq.params))
        early = asyncio.get_running_loop().call_soon(self._open, opening) if self._vreq.stream else None
        try:
            first = await anext(upstream, None)
        except p.UpstreamError as exc:
            raise as_api_error(exc) from exc
        finally:
            if early is not None:
                early.cancel()  # it has run, unless the upstream answered without a wait
        self._first = FirstTurn(upstream, first)

    def _open(self, opening: Opening | None) -> None:
        """Make the opening events of a stream that is not in background (its events start with them)."""
        self._opening = [self._lifecycle("response_created"), self._lifecycle("response_in_progress")]
        if opening is not None:
            opening(tuple(self._opening))

    def _opened(self, case: str) -> ResponseStreamEvent:
        """The opening event of `case`: made while the first delta was awaited, or now."""
        if self._opening:
            return self._opening.pop(0)
        return self._lifecycle(case)

    def _lifecycle(self, case: str) -> ResponseStreamEvent:
        event = self._emitter.emit(case, {"response": self.response})  # made in place: one copy
        withhold(RESPONSE_OF[case](event).output, self._vreq.params.include)
        return event

    async def events(self) -> AsyncIterator[ResponseStreamEvent]:
        """The response's events, ending with exactly one terminal event. Never raises.

        `interrupt` ends them early: an `error` event and `response.failed`, the output made so far kept
        (as `incomplete` items) and stored.
        """
        self._read_here()
        try:
            stream, background = self._vreq.stream, self._vreq.background
            if stream:  # a non-stream response is the fold of its events: these add nothing
                yield self._opened("response_created")
                if background:
                    yield self._lifecycle("response_queued")
            try:
                if background:  # readers polling the store see it running
                    self.response.status = "in_progress"
                    await self._deps.store.save(self.response, self._ctx.new_items, tenant=self.tenant)
                if stream:
                    yield self._opened("response_in_progress")
                loop = AgentLoop(self._parts, self._deps.tools, self._first)
                async for event in loop.run():
                    yield event
                self._complete()
            except BaseException as exc:
                for event in self._recovered(exc):
                    yield event
            for event in [*await self._saved(), *self._terminal()]:
                yield event
        finally:
            try:
                await self._abandon()
            finally:
                usage = self._tally.usage
                self._admission.finish(usage.total_tokens)  # what the upstream reported
                self._record.tokens(
                    usage.input_tokens, usage.output_tokens, usage.output_tokens_details.reasoning_tokens
                )
                self._deps.observer.tokens(self._record)
                self._end_when_saved()

    async def _saved(self) -> list[ResponseStreamEvent]:
        """Store the run's end; the events of its failure when that fails."""
        try:
            await self._save()
        except Exception as exc:
            return self._fail(self._as_failure(exc))
        return []

    def _terminal(self) -> list[ResponseStreamEvent]:
        """The terminal event; none for `finished`, which takes the response it would carry."""
        if self._folding:
            withhold(self.response.output, self._vreq.params.include)
            return []
        return [self._lifecycle(f"response_{self.response.status}")]

    async def finished(self) -> Response:
        """The response once its run ended, for a caller that wants only that (a non-stream create): the
        fold of its events, which is what the terminal event carries, without that event (a copy of the
        whole response, about 10 us of a request's CPU). Raises the run's failure."""
        self._folding = True
        async for _ in self.events():
            pass
        if self.failure is not None:
            raise self.failure
        return self.response

    def _read_here(self) -> None:
        """The current task reads the events: `interrupt` cancels it. A run interrupted before it began
        ends at its first wait."""
        self._driver = asyncio.current_task()
        if self._interrupted is not None and self._driver is not None:
            self._driver.cancel()

    def _recovered(self, exc: BaseException) -> list[ResponseStreamEvent]:
        """The events that end the run after `exc`; re-raises what is not the run's to end (the consumer
        gone away, ...: see `_abandon`)."""
        if isinstance(exc, asyncio.CancelledError) and self._interrupted is not None:
            _uncancel()  # the cancellation was `interrupt`'s: the run goes on to tell and store its end
            return self._fail(self._as_failure(self._interrupted))
        if isinstance(exc, Exception):
            return self._fail(self._as_failure(exc))
        raise exc

    def interrupt(self, error: ApiError) -> None:
        """End the run now, `failed` with `error` (the server shuts down): its events say so, in band,
        and it is stored so. A run whose events are not being read ends so when they are."""
        self._interrupted = error
        if self._driver is not None and not self._finished:
            self._driver.cancel()

    def _as_failure(self, exc: Exception) -> ApiError:
        if isinstance(exc, p.UpstreamError):
            self.failure = as_api_error(exc)
        elif isinstance(exc, ApiError):
            self.failure = exc
        else:
            log.exception("response %s failed", self.response.id)
            self.failure = ApiError(
                ErrorKind.INTERNAL, "The server had an error while processing the response."
            )
        return self.failure

    def _fail(self, error: ApiError) -> list[ResponseStreamEvent]:
        events = self._builder.close("incomplete")
        code = "rate_limit_exceeded" if error.code == "rate_limit_exceeded" else "server_error"
        events.append(
            self._emitter.emit(
                "error",
                ev.ErrorEvent(
                    code=code,
                    message=error.message,
                    error=ev.ErrorPayload(type="server_error", code=code, message=error.message),
                ),
            )
        )
        self._finalize("failed")
        self.response.error.CopyFrom(ResponseError(code=code, message=error.message))
        return events

    def _finalize(self, status: str) -> None:
        r = self.response
        r.status = status
        r.completed_at = int(self._deps.clock.now())
        del r.output[:]
        r.output.extend(self._builder.items)
        r.usage.CopyFrom(self._tally.usage)

    def _complete(self) -> None:
        reason = INCOMPLETE_REASONS.get(self._tally.finish or "")
        self._finalize("incomplete" if reason else "completed")
        if reason:
            self.response.incomplete_details.CopyFrom(IncompleteDetails(reason=reason))

    async def _save(self) -> None:
        self._finished = True
        conversation = self._vreq.conversation_id
        if conversation is not None and self._deps.conversations is not None:
            # What the response was given and what it made join the conversation, as OpenAI does.
            made = [output_as_input(o) for o in self.response.output]
            added = [*self._ctx.new_items, *made]
            if not await self._deps.conversations.add_conversation_items(
                conversation, added, tenant=self.tenant
            ):
                raise missing_conversation(conversation, "conversation")
        if self._vreq.store:
            await self._deps.store.save(self.response, self._ctx.new_items, tenant=self.tenant)

    async def _abandon(self) -> None:
        """The consumer went away (or the run ended): stop upstream work, keep what was made."""
        if self._first is not None:
            with contextlib.suppress(Exception):
                await self._first.upstream.aclose()
        if self._finished:
            return
        if self._interrupted is None:
            self._builder.close("incomplete")
            self._finalize("cancelled")
        else:
            self._fail(self._interrupted)
        if self._vreq.store:
            saving = asyncio.ensure_future(
                self._deps.store.save(self.response, self._ctx.new_items, tenant=self.tenant)
            )
            self._saving = saving
            with contextlib.suppress(Exception):
                await asyncio.shield(saving)  # the consumer gone or not, what was made is kept

    def _end_when_saved(self) -> None:
        """`ended` once the run's last state is stored (a save `_abandon` started may outlive the task)."""
        saving = self._saving
        if saving is None or saving.done():
            self.ended.set()
        else:
            saving.add_done_callback(lambda _: self.ended.set())


def _uncancel() -> None:
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def _started_response(
    deps: Deps, vreq: ValidatedRequest, ctx: Context, response_id: str, created_at: int
) -> Response:
    """The response as it starts: the request's settings echoed, and its prompt as given (with the
    version used)."""
    response = initial_response(vreq, response_id, created_at, deps.tools.public)
    if ctx.prompt is not None:
        response.prompt.CopyFrom(ctx.prompt.echo)
    return response


async def start(
    deps: Deps,
    vreq: ValidatedRequest,
    tenant: str = "",
    admission: Admission | None = None,
    opening: Opening | None = None,
) -> Run:
    """Everything before the first byte, for the tenant's request. Raises `ApiError`.

    The run holds the request's rate-limit `admission` and finishes it when it ends (the caller does
    when this raises). `opening`: see `Run.prefetch`.
    """
    current().model = clip(vreq.params.model)
    prepared = await prepare(deps, vreq, tenant)
    route, ctx, files = prepared.route, prepared.ctx, prepared.files
    response_id, created_at = deps.ids.new("resp"), int(deps.clock.now())
    deps.observer.annotate(
        {"gen_ai.request.model": clip(vreq.params.model), "gen_ai.response.id": response_id}
    )
    response = functools.partial(_started_response, deps, vreq, ctx, response_id, created_at)
    run = Run(deps, vreq, ctx, response, route, files)
    if admission is not None:
        run.hold(admission)
    if vreq.background:  # stored as queued now; the upstream's errors will fail the stored response
        await deps.store.save(run.response, ctx.new_items, tenant=tenant)
    else:
        await run.prefetch(opening)
    return run
