"""Test doubles for the service's interfaces."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from rejoinder.providers.base import (
    Capabilities,
    ChatDelta,
    ChatRequest,
    TokenCount,
    UpstreamError,
    UpstreamModel,
)
from rejoinder.providers.token_estimate import estimate_chat_tokens
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.store.base import UNFINISHED, ChainLink, ItemPage, Order, StoredConversation, TenantResponse
from rejoinder.store.items import item_id, require_item_id
from rejoinder.store.sqlite import MAX_CHAIN_LINKS
from rejoinder.tools.mcp.contract import CallResult, ListedTool, McpConnector, McpError, McpServerSpec
from rejoinder.tools.mcp.kind import McpKind
from rejoinder.tools.registry import ToolKinds


def _copy_response(response: Response) -> Response:
    copy = Response()
    copy.CopyFrom(response)
    return copy


def _copy_item(item: InputItem) -> InputItem:
    copy = InputItem()
    copy.CopyFrom(item)
    return copy


def _copy_event(event: ResponseStreamEvent) -> ResponseStreamEvent:
    copy = ResponseStreamEvent()
    copy.CopyFrom(event)
    return copy


def _copy_conversation(conversation: StoredConversation) -> StoredConversation:
    return StoredConversation(conversation.id, conversation.created_at, dict(conversation.metadata))


def _checked_items(items: Sequence[InputItem]) -> list[InputItem]:
    """Copies of the items; a ValueError for an item with no ID (before anything is stored)."""
    copies = [_copy_item(item) for item in items]
    for position, item in enumerate(copies):
        require_item_id(item, position)
    return copies


def _page(
    stored: Sequence[InputItem], after: str | None, before: str | None, limit: int, order: Order
) -> ItemPage:
    """A page of stored items, as the SQL stores page them."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    ordered = list(stored) if order == "asc" else list(reversed(stored))
    ids = [item_id(item) for item in ordered]
    if (after is not None and after not in ids) or (before is not None and before not in ids):
        return ItemPage(items=(), has_more=False)
    start = 0 if after is None else ids.index(after) + 1
    end = len(ordered) if before is None else ids.index(before)
    window = ordered[start:end]
    page = window[-limit:] if before is not None and after is None else window[:limit]
    return ItemPage(items=tuple(_copy_item(item) for item in page), has_more=len(window) > limit)


class InMemoryStore:
    """A `ResponseStore` and `ConversationStore` in dicts with the same semantics as `SqliteStore`.

    Protos are copied on the way in and out, so callers can never change what is stored.
    """

    def __init__(self, *, max_chain_links: int = MAX_CHAIN_LINKS) -> None:
        self._responses: dict[str, Response] = {}
        self._items: dict[str, tuple[InputItem, ...]] = {}
        self._events: dict[str, dict[int, ResponseStreamEvent]] = {}
        self._heartbeats: dict[str, int] = {}
        self._owners: dict[str, str] = {}
        self._cancel_requested: set[str] = set()
        self._tenants: dict[str, str] = {}
        self._conversations: dict[str, tuple[str, StoredConversation]] = {}
        """Each conversation by ID, with its tenant."""
        self._conversation_items: dict[str, list[InputItem]] = {}
        self._max_chain_links = max_chain_links
        self._closed = False

    def _mine(self, response_id: str, tenant: str) -> bool:
        return response_id in self._responses and self._tenants.get(response_id) == tenant

    async def save(self, response: Response, input_items: Sequence[InputItem], *, tenant: str = "") -> None:
        self._check_open()
        if not response.id:
            raise ValueError("response has no id")
        if self._tenants.get(response.id, tenant) != tenant:
            raise ValueError(f"response ID {response.id!r} belongs to another tenant")
        stored = _copy_response(response)
        # Everything is copied and checked before the first change, so a failure leaves the old state.
        items = tuple(_copy_item(item) for item in input_items)
        for position, item in enumerate(items):
            require_item_id(item, position)
        self._responses[response.id] = stored
        self._tenants[response.id] = tenant
        if not self._items.get(response.id):
            self._items[response.id] = items

    async def get(self, response_id: str, *, tenant: str = "") -> Response | None:
        self._check_open()
        return _copy_response(self._responses[response_id]) if self._mine(response_id, tenant) else None

    async def delete(self, response_id: str, *, tenant: str = "") -> bool:
        self._check_open()
        if not self._mine(response_id, tenant):
            return False
        self._tenants.pop(response_id, None)
        self._items.pop(response_id, None)
        self._events.pop(response_id, None)
        self._heartbeats.pop(response_id, None)
        self._cancel_requested.discard(response_id)
        return self._responses.pop(response_id, None) is not None

    async def list_input_items(
        self,
        response_id: str,
        *,
        after: str | None,
        before: str | None,
        limit: int,
        order: Order,
        tenant: str = "",
    ) -> ItemPage | None:
        self._check_open()
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if not self._mine(response_id, tenant):
            return None
        return _page(self._items.get(response_id, ()), after, before, limit, order)

    async def load_chain(self, response_id: str, *, tenant: str = "") -> tuple[ChainLink, ...] | None:
        self._check_open()
        if not self._mine(response_id, tenant):
            return None
        links: list[ChainLink] = []
        seen: set[str] = set()
        current: str | None = response_id
        while current and self._mine(current, tenant) and current not in seen:
            if len(links) == self._max_chain_links:
                break
            seen.add(current)
            response = self._responses[current]
            items = tuple(_copy_item(item) for item in self._items.get(current, ()))
            links.append(ChainLink(response=_copy_response(response), input_items=items))
            current = response.previous_response_id
        links.reverse()
        return tuple(links)

    async def append_events(self, response_id: str, events: Sequence[ResponseStreamEvent]) -> None:
        self._check_open()
        if response_id in self._responses:
            kept = self._events.setdefault(response_id, {})
            for event in events:
                kept.setdefault(event.sequence_number, _copy_event(event))

    async def load_events(self, response_id: str, after: int = -1) -> tuple[ResponseStreamEvent, ...]:
        self._check_open()
        kept = self._events.get(response_id, {})
        return tuple(_copy_event(kept[n]) for n in sorted(kept) if n > after)

    async def heartbeat(self, owner: str, response_ids: Sequence[str], now_ms: int) -> frozenset[str]:
        self._check_open()
        alive = [r for r in response_ids if r in self._responses]
        for response_id in alive:
            self._heartbeats[response_id] = now_ms
            self._owners[response_id] = owner
        return frozenset(r for r in alive if r in self._cancel_requested)

    async def request_cancel(self, response_id: str) -> None:
        self._check_open()
        if response_id in self._responses:
            self._cancel_requested.add(response_id)

    async def ping(self) -> None:
        """Always answers."""

    async def stale(self, before_ms: int, *, owner: str | None = None) -> tuple[TenantResponse, ...]:
        self._check_open()
        found = [
            r
            for r in self._responses.values()
            if r.status in UNFINISHED
            and (
                self._heartbeats.get(r.id, r.created_at * 1000) < before_ms
                or (owner is not None and self._owners.get(r.id) == owner)
            )
        ]
        found.sort(key=lambda r: (r.created_at, r.id))
        return tuple(TenantResponse(self._tenants[r.id], _copy_response(r)) for r in found)

    def _conversation(self, conversation_id: str, tenant: str) -> StoredConversation | None:
        found = self._conversations.get(conversation_id)
        return found[1] if found is not None and found[0] == tenant else None

    def _first_item(self, conversation_id: str, item_id_: str, tenant: str) -> int | None:
        """The index of the item's first occurrence in the tenant's conversation; None when absent."""
        if self._conversation(conversation_id, tenant) is None:
            return None
        ids = [item_id(item) for item in self._conversation_items[conversation_id]]
        return ids.index(item_id_) if item_id_ in ids else None

    async def create_conversation(
        self, conversation: StoredConversation, items: Sequence[InputItem], *, tenant: str = ""
    ) -> None:
        self._check_open()
        if not conversation.id:
            raise ValueError("conversation has no id")
        copies = _checked_items(items)
        if conversation.id in self._conversations:
            raise ValueError(f"conversation ID {conversation.id!r} is taken")
        self._conversations[conversation.id] = (tenant, _copy_conversation(conversation))
        self._conversation_items[conversation.id] = copies

    async def get_conversation(self, conversation_id: str, *, tenant: str = "") -> StoredConversation | None:
        self._check_open()
        found = self._conversation(conversation_id, tenant)
        return None if found is None else _copy_conversation(found)

    async def update_conversation(
        self, conversation_id: str, metadata: Mapping[str, str], *, tenant: str = ""
    ) -> StoredConversation | None:
        self._check_open()
        found = self._conversation(conversation_id, tenant)
        if found is None:
            return None
        updated = StoredConversation(found.id, found.created_at, dict(metadata))
        self._conversations[conversation_id] = (tenant, updated)
        return _copy_conversation(updated)

    async def delete_conversation(self, conversation_id: str, *, tenant: str = "") -> bool:
        self._check_open()
        if self._conversation(conversation_id, tenant) is None:
            return False
        del self._conversations[conversation_id]
        del self._conversation_items[conversation_id]
        return True

    async def add_conversation_items(
        self, conversation_id: str, items: Sequence[InputItem], *, tenant: str = ""
    ) -> bool:
        self._check_open()
        copies = _checked_items(items)
        if self._conversation(conversation_id, tenant) is None:
            return False
        self._conversation_items[conversation_id].extend(copies)
        return True

    async def conversation_items(
        self, conversation_id: str, *, tenant: str = ""
    ) -> tuple[InputItem, ...] | None:
        self._check_open()
        if self._conversation(conversation_id, tenant) is None:
            return None
        return tuple(_copy_item(item) for item in self._conversation_items[conversation_id])

    async def list_conversation_items(
        self,
        conversation_id: str,
        *,
        after: str | None,
        limit: int,
        order: Order,
        tenant: str = "",
    ) -> ItemPage | None:
        self._check_open()
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if self._conversation(conversation_id, tenant) is None:
            return None
        return _page(self._conversation_items[conversation_id], after, None, limit, order)

    async def get_conversation_item(
        self, conversation_id: str, item_id: str, *, tenant: str = ""
    ) -> InputItem | None:
        self._check_open()
        index = self._first_item(conversation_id, item_id, tenant)
        return None if index is None else _copy_item(self._conversation_items[conversation_id][index])

    async def delete_conversation_item(self, conversation_id: str, item_id: str, *, tenant: str = "") -> bool:
        self._check_open()
        index = self._first_item(conversation_id, item_id, tenant)
        if index is None:
            return False
        del self._conversation_items[conversation_id][index]
        return True

    async def close(self) -> None:
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")


class SequentialIds:
    """An `IdGenerator` with predictable IDs: one counter per prefix (`resp_0001`, `msg_0001`, ...)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def new(self, prefix: str) -> str:
        count = self._counts.get(prefix, 0) + 1
        self._counts[prefix] = count
        return f"{prefix}_{count:04d}"


class FakeClock:
    """A `Clock` that stands still until the test moves it."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self._now = now

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


class ScriptedProvider:
    """A `Provider` that answers each call with the next scripted list of deltas (or raises)."""

    def __init__(
        self, *turns: Sequence[ChatDelta] | Exception, capabilities: Capabilities | None = None
    ) -> None:
        self._turns: list[Sequence[ChatDelta] | Exception] = list(turns)
        self.requests: list[ChatRequest] = []
        self._capabilities = capabilities or Capabilities()

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    async def stream(self, req: ChatRequest) -> AsyncGenerator[ChatDelta, None]:
        self.requests.append(req)
        turn = self._turns.pop(0)
        if isinstance(turn, Exception):
            raise turn
        for delta in turn:
            if isinstance(delta, UpstreamError):
                raise delta
            yield delta

    async def models(self) -> list[UpstreamModel]:
        return []

    async def count_tokens(self, req: ChatRequest) -> TokenCount:
        return TokenCount(estimate_chat_tokens(req), exact=False)

    async def aclose(self) -> None:
        return None


class FakeMcpSession:
    """An in-memory MCP server: tools and what calling them does."""

    def __init__(
        self,
        tools: Sequence[ListedTool],
        handlers: dict[str, Callable[[Mapping[str, object]], Awaitable[CallResult]]],
        list_error: McpError | None = None,
    ) -> None:
        self.tools = list(tools)
        self.handlers = handlers
        self.list_error = list_error
        self.lists = 0
        self.calls: list[tuple[str, Mapping[str, object]]] = []

    async def list_tools(self) -> list[ListedTool]:
        self.lists += 1
        if self.list_error is not None:
            raise self.list_error
        return list(self.tools)

    async def call_tool(self, name: str, arguments: Mapping[str, object]) -> CallResult:
        self.calls.append((name, dict(arguments)))
        return await self.handlers[name](arguments)


class FakeMcpConnector:
    """An `McpConnector` over `FakeMcpSession`s by server label; records opens and closes."""

    def __init__(self, sessions: dict[str, FakeMcpSession]) -> None:
        self.sessions = sessions
        self.opened: list[McpServerSpec] = []
        self.closed = 0

    @asynccontextmanager
    async def _connect(self, server: McpServerSpec) -> AsyncIterator[FakeMcpSession]:
        session = self.sessions.get(server.label)
        if session is None:
            raise McpError("connect", f"cannot reach {server.url}")
        self.opened.append(server)
        try:
            yield session
        finally:
            self.closed += 1

    def connect(self, server: McpServerSpec) -> AbstractAsyncContextManager[FakeMcpSession]:
        return self._connect(server)


def mcp_kinds(connector: McpConnector) -> ToolKinds:
    """A tool registry with the MCP kind over `connector` (e.g. a `FakeMcpConnector`), as `Deps.tools`."""
    return ToolKinds([McpKind(connector)])
