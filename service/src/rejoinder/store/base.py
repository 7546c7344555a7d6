"""The storage contract. Stores keep OpenAI-shaped protos, never provider chat messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.response_pb2 import Response

Order = Literal["asc", "desc"]
MAX_CHAIN_LINKS = 10_000
"""`load_chain` returns at most this many links (the newest ones); it also guards against cycles."""
UNFINISHED = ("queued", "in_progress")
"""Statuses of a background response that is still running (only background runs are stored so)."""


@dataclass(frozen=True)
class ChainLink:
    """One stored response of a `previous_response_id` chain: what it was given and what it made."""

    response: Response
    input_items: tuple[InputItem, ...]


@dataclass(frozen=True)
class ItemPage:
    """A page of input items in the requested order, and whether more follow."""

    items: tuple[InputItem, ...]
    has_more: bool


@dataclass(frozen=True)
class TenantResponse:
    """A stored response and the tenant it belongs to."""

    tenant: str
    response: Response


class ResponseStore(Protocol):
    """Where responses and their input items live.

    Every response belongs to one tenant ("" when the server runs without API keys). The methods
    that take `tenant` see only that tenant's responses: another tenant's are as if they did not exist.
    The background-run methods address responses by ID alone, for a caller that has checked them.
    """

    async def save(self, response: Response, input_items: Sequence[InputItem], *, tenant: str = "") -> None:
        """Insert or replace the response; its input items are written with the first save only.

        Input items must carry their `id`. The write is atomic: a reader sees the old state or the new.
        A ValueError when the ID is another tenant's.
        """
        ...

    async def get(self, response_id: str, *, tenant: str = "") -> Response | None:
        """The stored response, or None."""
        ...

    async def delete(self, response_id: str, *, tenant: str = "") -> bool:
        """Delete the response and its input items; False when there was none."""
        ...

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
        """A page of the response's input items (None when the response does not exist).

        `order` "asc" is the order they were given in. `after`/`before` are item IDs in the list as
        ordered; an ID that is not in the list yields an empty page.
        """
        ...

    async def load_chain(self, response_id: str, *, tenant: str = "") -> tuple[ChainLink, ...] | None:
        """The response and its ancestors by `previous_response_id`, oldest first; None when missing.

        The walk stops at an ancestor that no longer exists (or is another tenant's).
        """
        ...

    async def append_events(self, response_id: str, events: Sequence[ResponseStreamEvent]) -> None:
        """Keep more of a background response's event stream, after what is kept (in order).

        Deleting the response deletes them. Does nothing when the response is not stored.
        """
        ...

    async def load_events(self, response_id: str, after: int = -1) -> tuple[ResponseStreamEvent, ...]:
        """The kept events whose `sequence_number` is above `after`, in order (none kept: empty)."""
        ...

    async def heartbeat(self, owner: str, response_ids: Sequence[str], now_ms: int) -> frozenset[str]:
        """`owner` runs these responses as of `now_ms`; returns those whose cancel was requested."""
        ...

    async def request_cancel(self, response_id: str) -> None:
        """Ask whoever runs the response to cancel it (seen at its next `heartbeat`)."""
        ...

    async def stale(self, before_ms: int, *, owner: str | None = None) -> tuple[TenantResponse, ...]:
        """Responses still `queued` or `in_progress` whose last heartbeat (else their creation) is older
        than `before_ms` (their runner is gone), or whose runner is `owner` (a server restarted under
        the same identity: that run died with it). Oldest first."""
        ...

    async def ping(self) -> None:
        """Raise unless the store answers a trivial query now (readiness checks)."""
        ...

    async def close(self) -> None:
        """Release connections and threads."""
        ...


@dataclass(frozen=True)
class StoredConversation:
    """A conversation's own fields (its items are read separately)."""

    id: str
    created_at: int
    metadata: Mapping[str, str]


class ConversationStore(Protocol):
    """Where conversations and their items live (the same stores as responses).

    A conversation belongs to one tenant, like a response: the methods see only that tenant's. Its items
    keep the order they were added in; each carries its ID (unique within the conversation).
    """

    async def create_conversation(
        self,
        conversation: StoredConversation,
        items: Sequence[InputItem],
        *,
        tenant: str = "",
    ) -> None:
        """Store a new conversation with its first items, atomically."""
        ...

    async def get_conversation(self, conversation_id: str, *, tenant: str = "") -> StoredConversation | None:
        """The conversation, or None."""
        ...

    async def update_conversation(
        self, conversation_id: str, metadata: Mapping[str, str], *, tenant: str = ""
    ) -> StoredConversation | None:
        """Replace its metadata; the updated conversation, or None when there is none."""
        ...

    async def delete_conversation(self, conversation_id: str, *, tenant: str = "") -> bool:
        """Delete the conversation and its items; False when there was none."""
        ...

    async def add_conversation_items(
        self, conversation_id: str, items: Sequence[InputItem], *, tenant: str = ""
    ) -> bool:
        """Append items after the existing ones, atomically; False when there is no such conversation."""
        ...

    async def conversation_items(
        self, conversation_id: str, *, tenant: str = ""
    ) -> tuple[InputItem, ...] | None:
        """All its items, oldest first (what a response in the conversation sees); None when missing."""
        ...

    async def list_conversation_items(
        self,
        conversation_id: str,
        *,
        after: str | None,
        limit: int,
        order: Order,
        tenant: str = "",
    ) -> ItemPage | None:
        """A page of its items: `order` "asc" is oldest first; the `limit` items that follow `after` (an
        item ID; one not in the conversation gives an empty page), and whether more follow. None when
        the conversation does not exist."""
        ...

    async def get_conversation_item(
        self, conversation_id: str, item_id: str, *, tenant: str = ""
    ) -> InputItem | None:
        """One item of the conversation, or None (no such conversation or item)."""
        ...

    async def delete_conversation_item(self, conversation_id: str, item_id: str, *, tenant: str = "") -> bool:
        """Remove one item (the others keep their order); False when there was none."""
        ...


class Store(ResponseStore, ConversationStore, Protocol):
    """A store of responses and conversations (SQLite, PostgreSQL)."""
