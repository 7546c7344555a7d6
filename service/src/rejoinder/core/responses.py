"""The core both API surfaces call: create (streamed or folded), get, delete, cancel, list items."""

from __future__ import annotations

from rejoinder.core.orchestrator import Deps, Run, start
from rejoinder.core.validation import validate
from rejoinder.errors import ApiError, ErrorKind, invalid, not_found
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.responses.v1.responses_service_pb2 import (
    CreateRequest,
    DeleteResponse,
    ListInputItemsRequest,
    ListInputItemsResponse,
)
from rejoinder.store.items import item_id

TERMINAL = ("response_completed", "response_incomplete", "response_failed")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def terminal_response(event: ResponseStreamEvent) -> Response | None:
    """The response a terminal event carries, or None for any other event."""
    kind = event.WhichOneof("event")
    if kind == "response_completed":
        return event.response_completed.response
    if kind == "response_incomplete":
        return event.response_incomplete.response
    if kind == "response_failed":
        return event.response_failed.response
    return None


def _missing_response(response_id: str) -> ApiError:
    return not_found(f"Response with id '{response_id}' not found.", param="response_id")


class ResponsesCore:
    """One instance per server, shared by the typed and the HTTP servicers."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def start(self, req: CreateRequest, *, stream: bool = True) -> Run:
        """Validate and start a response; raises `ApiError` before anything is sent."""
        return await start(self._deps, validate(req, stream=stream))

    async def create(self, req: CreateRequest) -> Response:
        """The finished response: the fold of the very events a stream would carry."""
        run = await self.start(req, stream=False)
        final: Response | None = None
        async for event in run.events():
            final = terminal_response(event) or final
        if run.failure is not None:
            raise run.failure
        assert final is not None
        return final

    async def get(self, response_id: str) -> Response:
        """A stored response. Raises 404."""
        response = await self._deps.store.get(response_id)
        if response is None:
            raise _missing_response(response_id)
        return response

    async def delete(self, response_id: str) -> DeleteResponse:
        """Delete a stored response. Raises 404."""
        if not await self._deps.store.delete(response_id):
            raise _missing_response(response_id)
        return DeleteResponse(id=response_id, object="response.deleted", deleted=True)

    async def cancel(self, response_id: str) -> Response:
        """Only background responses can be cancelled; this server runs none yet."""
        response = await self.get(response_id)
        raise ApiError(
            ErrorKind.CONFLICT,
            f"Cannot cancel a response that was not created with background=true (status {response.status}).",
            param="response_id",
            code="response_not_cancellable",
        )

    async def list_input_items(self, req: ListInputItemsRequest) -> ListInputItemsResponse:
        """A page of a stored response's input items. Raises 400 or 404."""
        limit = req.limit if req.HasField("limit") else DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise invalid(
                f"Invalid 'limit': expected a value between 1 and {MAX_LIMIT}, but got {limit} instead.",
                param="limit",
                code="invalid_value",
            )
        order = req.order if req.HasField("order") else "desc"
        if order not in ("asc", "desc"):
            raise invalid(
                f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
                param="order",
                code="invalid_value",
            )
        page = await self._deps.store.list_input_items(
            req.response_id,
            after=req.after if req.HasField("after") else None,
            before=req.before if req.HasField("before") else None,
            limit=limit,
            order="asc" if order == "asc" else "desc",
        )
        if page is None:
            raise _missing_response(req.response_id)
        out = ListInputItemsResponse(object="list", data=page.items, has_more=page.has_more)
        if page.items:
            out.first_id = item_id(page.items[0])
            out.last_id = item_id(page.items[-1])
        return out
