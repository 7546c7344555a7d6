"""The typed `ResponsesService`: decode nothing, call the core, map errors. No logic here."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from rejoinder.api.auth import Authenticator
from rejoinder.api.errors import abort
from rejoinder.config_limits import RequestLimits
from rejoinder.core.checks.limits import check_strings
from rejoinder.core.checks.validation import DEFAULT_LIMITS
from rejoinder.core.responses import EventSource, ResponsesCore
from rejoinder.core.run.events import is_delta
from rejoinder.errors import ApiError, invalid
from rejoinder.observe.record import current
from rejoinder.pacing import run_paced
from rejoinder.ratelimit.base import Admission
from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1 import responses_service_pb2_grpc as pb_grpc
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.wire.batching import Tick, batches

Context = grpc.aio.ServicerContext[object, object]


class ResponsesServicer(pb_grpc.ResponsesServiceServicer):
    """gRPC handlers over the shared core."""

    def __init__(
        self, core: ResponsesCore, auth: Authenticator, limits: RequestLimits = DEFAULT_LIMITS
    ) -> None:
        self._core = core
        self._auth = auth
        self._limits = limits

    def _tenant(self, context: Context) -> str:
        return self._auth.tenant_of(context)

    async def _admitted(self, params: pb.CreateRequest, context: Context) -> tuple[str, Admission]:
        """The caller's tenant, admitted by its rate limits, for a request whose strings fit the limits.
        The limits' headers go out as initial metadata."""
        tenant = self._tenant(context)
        admission = await self._core.admit(tenant)
        try:
            await run_paced(check_strings(params, self._limits))
            if admission.headers:
                await context.send_initial_metadata(admission.headers)
        except BaseException:
            admission.finish(0)
            raise
        return tenant, admission

    async def Create(self, request: pb.CreateRequest, context: Context) -> pb.CreateResponse:
        """A finished response."""
        try:
            if request.stream:
                raise invalid(
                    "Create does not stream; call StreamCreate.", param="stream", code="invalid_value"
                )
            tenant, admission = await self._admitted(request, context)
            response = await self._core.create(request, tenant=tenant, admission=admission)
            return pb.CreateResponse(response=response)
        except ApiError as err:
            await abort(context, err)
            raise

    async def StreamCreate(
        self, request: pb.StreamCreateRequest, context: Context
    ) -> AsyncIterator[pb.StreamCreateResponse]:
        """The response's events as they happen."""
        run = await self._start(request.params, context)
        current().streaming()
        async for event in _back_to_back(run.events()):
            yield pb.StreamCreateResponse(event=event)

    async def StreamCreateBatched(
        self, request: pb.StreamCreateBatchedRequest, context: Context
    ) -> AsyncIterator[pb.StreamCreateBatchedResponse]:
        """The response's events as they happen, those ready together in one message."""
        run = await self._start(request.params, context)
        current().streaming()
        async for batch in _ready_together(run.events()):
            yield pb.StreamCreateBatchedResponse(events=batch)

    async def _start(self, params: pb.CreateRequest, context: Context) -> EventSource:
        """A started stream, or the request's error as the call's status."""
        try:
            tenant, admission = await self._admitted(params, context)
            return await self._core.start(params, stream=True, tenant=tenant, admission=admission)
        except ApiError as err:
            await abort(context, err)
            raise

    async def Get(self, request: pb.GetRequest, context: Context) -> pb.GetResponse:
        """A stored response."""
        try:
            return pb.GetResponse(
                response=await self._core.get(
                    request.response_id, tenant=self._tenant(context), include=request.include
                )
            )
        except ApiError as err:
            await abort(context, err)
            raise

    async def StreamGet(
        self, request: pb.StreamGetRequest, context: Context
    ) -> AsyncIterator[pb.StreamGetResponse]:
        """A background stream's events, from `starting_after`, live while it runs."""
        after = request.starting_after if request.HasField("starting_after") else None
        try:
            source = await self._core.stream(request.response_id, after, tenant=self._tenant(context))
        except ApiError as err:
            await abort(context, err)
            raise
        current().streaming()
        async for event in _back_to_back(source.events()):
            yield pb.StreamGetResponse(event=event)

    async def Delete(self, request: pb.DeleteRequest, context: Context) -> pb.DeleteResponse:
        """Delete a stored response."""
        try:
            return await self._core.delete(request.response_id, tenant=self._tenant(context))
        except ApiError as err:
            await abort(context, err)
            raise

    async def Cancel(self, request: pb.CancelRequest, context: Context) -> pb.CancelResponse:
        """Cancel a background response."""
        try:
            cancelled = await self._core.cancel(request.response_id, tenant=self._tenant(context))
            return pb.CancelResponse(response=cancelled)
        except ApiError as err:
            await abort(context, err)
            raise

    async def CountInputTokens(
        self, request: pb.CountInputTokensRequest, context: Context
    ) -> pb.CountInputTokensResponse:
        """The input tokens a create with the same parameters would send."""
        try:
            await run_paced(check_strings(request, self._limits))
            return await self._core.count_input_tokens(request, tenant=self._tenant(context))
        except ApiError as err:
            await abort(context, err)
            raise

    async def Compact(self, request: pb.CompactRequest, context: Context) -> pb.CompactResponse:
        """The context compacted into a compaction item."""
        try:
            await run_paced(check_strings(request, self._limits))
            return await self._core.compact(request, tenant=self._tenant(context))
        except ApiError as err:
            await abort(context, err)
            raise

    async def ListInputItems(
        self, request: pb.ListInputItemsRequest, context: Context
    ) -> pb.ListInputItemsResponse:
        """A page of input items."""
        try:
            return await self._core.list_input_items(request, tenant=self._tenant(context))
        except ApiError as err:
            await abort(context, err)
            raise


async def _ready_together(
    events: AsyncIterator[ResponseStreamEvent],
) -> AsyncIterator[list[ResponseStreamEvent]]:
    """`events` made in a task of their own (`batches`, no keep-alive ticks), in lists of those made
    together; the opening run (up to the first delta) is one list, handed over as soon as it is made."""
    async for batch in batches(events, None, opens=is_delta):
        assert not isinstance(batch, Tick)  # no interval, no ticks
        yield batch


async def _back_to_back(events: AsyncIterator[ResponseStreamEvent]) -> AsyncIterator[ResponseStreamEvent]:
    """`events`, one at a time, as `_ready_together` makes them: the events of one upstream read are
    made together and then written one message each, back to back, instead of each being made between
    two of grpc.aio's writes. Same messages, same order, the first delta written as soon as it is made.
    Measured (`python -m bench --only floor`, 512-token streams): the service's CPU per delta over the
    do-nothing servicer's fell from 30-37 us to 10-22 us, and its write and context-switch counts per
    delta stayed the same: the writes cost less when they follow each other."""
    async for batch in _ready_together(events):
        for event in batch:
            yield event
