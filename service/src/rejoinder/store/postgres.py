"""`ResponseStore` and `ConversationStore` on PostgreSQL (asyncpg): the scale-out store several
replicas share.

A pool of connections; every multi-statement write is one transaction and every multi-statement read
one repeatable-read snapshot. The schema is applied on open, under an advisory lock, so replicas
starting together apply each migration once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import asyncpg

from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.store import sql
from rejoinder.store.base import (
    MAX_CHAIN_LINKS,
    ChainLink,
    ItemPage,
    Order,
    StoredConversation,
    TenantResponse,
)
from rejoinder.store.postgres_schema import migrate

if TYPE_CHECKING:
    from rejoinder.store.postgres_schema import Conn

DEFAULT_POOL_SIZE = 10


def _mark(n: int) -> str:
    return f"${n}"


_MARK: sql.Marker = _mark
_CHAIN_RESPONSES = sql.chain_responses(_MARK)
_CHAIN_ITEMS = sql.chain_items(_MARK)
# One statement, so one round trip and atomic: the upsert (which another tenant's row refuses), then
# the input items when the response had none. The row lock taken by the upsert orders two saves.
_SAVE = f"""
WITH up AS ({sql.upsert_response(_MARK)} RETURNING id),
items AS (
    INSERT INTO input_items (response_id, position, item_id, body)
    SELECT $1, t.position, t.item_id, t.body
    FROM unnest($7::integer[], $8::text[], $9::bytea[]) AS t (position, item_id, body)
    WHERE EXISTS (SELECT 1 FROM up) AND NOT EXISTS (SELECT 1 FROM input_items WHERE response_id = $1)
)
SELECT EXISTS (SELECT 1 FROM up)
"""
_APPEND_EVENT = sql.append_event(_MARK)
_LOAD_EVENTS = sql.load_events(_MARK)
_STALE = sql.stale(_MARK)
_INSERT_CONVERSATION = sql.insert_conversation(_MARK)
_GET_CONVERSATION = sql.get_conversation(_MARK)
_UPDATE_CONVERSATION = sql.update_conversation(_MARK)
_DELETE_CONVERSATION = sql.delete_conversation(_MARK)
_CONVERSATION_OWNED = sql.owned(sql.CONVERSATION_ITEMS, _MARK)
# Appends lock the conversation row first, so two appends to one conversation take turns; the next
# position is read after the lock (a statement of its own, so it sees what the other committed).
_LOCK_CONVERSATION = f"{_CONVERSATION_OWNED} FOR UPDATE"
_NEXT_CONVERSATION_POSITION = sql.next_conversation_position(_MARK)
_INSERT_CONVERSATION_ITEM = sql.insert_conversation_item(_MARK)
_ALL_CONVERSATION_ITEMS = sql.all_conversation_items(_MARK)
_GET_CONVERSATION_ITEM = sql.get_conversation_item(_MARK)
_DELETE_CONVERSATION_ITEM = sql.delete_conversation_item(_MARK)
_HEARTBEAT = """
UPDATE responses SET owner = $1, heartbeat_at = $2 WHERE id = ANY($3::text[]) RETURNING id, cancel_requested
"""


class PostgresStore:
    """Responses (with their input items and kept event streams) and conversations (with their items) in
    PostgreSQL; open with `await open(dsn)`."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], *, max_chain_links: int) -> None:
        """Use `open`."""
        self._pool = pool
        self._max_chain_links = max_chain_links
        self._closed = False

    @classmethod
    async def open(
        cls, dsn: str, *, max_chain_links: int = MAX_CHAIN_LINKS, pool_size: int = DEFAULT_POOL_SIZE
    ) -> PostgresStore:
        """Connect (a `postgresql://` URL) and bring the schema up to date."""
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, max_chain_links=max_chain_links)

    @property
    def pool(self) -> asyncpg.Pool[asyncpg.Record]:
        """The connection pool, for what shares this database's schema (the shared rate limiter)."""
        return self._pool

    async def save(self, response: Response, input_items: Sequence[InputItem], *, tenant: str = "") -> None:
        """Insert or replace the response; its input items are written with the first save only."""
        self._check_open()
        row = sql.response_row(response, tenant)
        items = await sql.paced_item_rows(response.id, input_items)
        positions = [position for _, position, _, _ in items]
        item_ids = [item_id for _, _, item_id, _ in items]
        bodies = [body for _, _, _, body in items]
        if not await self._pool.fetchval(_SAVE, *row, positions, item_ids, bodies):
            raise ValueError(f"response ID {response.id!r} belongs to another tenant")

    async def get(self, response_id: str, *, tenant: str = "") -> Response | None:
        """The tenant's stored response, or None."""
        self._check_open()
        body = await self._pool.fetchval(
            "SELECT body FROM responses WHERE id = $1 AND tenant = $2", response_id, tenant
        )
        return None if body is None else Response.FromString(body)

    async def delete(self, response_id: str, *, tenant: str = "") -> bool:
        """Delete the response, its input items and events (never its descendants); False when none."""
        self._check_open()
        status: str = await self._pool.execute(
            "DELETE FROM responses WHERE id = $1 AND tenant = $2", response_id, tenant
        )
        return status != "DELETE 0"

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
        """A page of the response's input items in `order`; None when the response does not exist."""
        self._check_open()
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        window = sql.Window(after, before, limit, order)
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            return await _list_items(conn, sql.INPUT_ITEMS, response_id, tenant, window)

    async def load_chain(self, response_id: str, *, tenant: str = "") -> tuple[ChainLink, ...] | None:
        """The response and its ancestors, oldest first; None when missing. Stops at a missing ancestor."""
        self._check_open()
        links_max = self._max_chain_links
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            responses = await conn.fetch(_CHAIN_RESPONSES, response_id, links_max, tenant)
            item_rows = await conn.fetch(_CHAIN_ITEMS, response_id, links_max, tenant) if responses else []
        if not responses:
            return None
        return sql.chain_links(
            ((row["id"], row["body"]) for row in responses),
            ((row["response_id"], row["body"]) for row in item_rows),
        )

    async def append_events(self, response_id: str, events: Sequence[ResponseStreamEvent]) -> None:
        """Keep more of a stored response's event stream (one row per event, one transaction)."""
        self._check_open()
        rows = [(e.sequence_number, e.SerializeToString(), response_id) for e in events]
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(_APPEND_EVENT, rows)

    async def load_events(self, response_id: str, after: int = -1) -> tuple[ResponseStreamEvent, ...]:
        """The kept events above sequence number `after`, in order."""
        self._check_open()
        rows = await self._pool.fetch(_LOAD_EVENTS, response_id, after)
        return tuple(ResponseStreamEvent.FromString(row["body"]) for row in rows)

    async def heartbeat(self, owner: str, response_ids: Sequence[str], now_ms: int) -> frozenset[str]:
        """Mark these responses run by `owner` as of `now_ms`; those whose cancel was requested."""
        self._check_open()
        rows = await self._pool.fetch(_HEARTBEAT, owner, now_ms, list(response_ids))
        return frozenset(row["id"] for row in rows if row["cancel_requested"])

    async def request_cancel(self, response_id: str) -> None:
        """Flag the response for its runner to cancel."""
        self._check_open()
        await self._pool.execute("UPDATE responses SET cancel_requested = true WHERE id = $1", response_id)

    async def stale(self, before_ms: int, *, owner: str | None = None) -> tuple[TenantResponse, ...]:
        """Unfinished responses whose runner has not been heard of since `before_ms`, or is `owner`,
        oldest first."""
        self._check_open()
        rows = await self._pool.fetch(_STALE, before_ms, owner)
        return tuple(TenantResponse(row["tenant"], Response.FromString(row["body"])) for row in rows)

    async def create_conversation(
        self,
        conversation: StoredConversation,
        items: Sequence[InputItem],
        *,
        tenant: str = "",
    ) -> None:
        """Store a new conversation with its first items in one transaction; a ValueError when its ID is
        taken (by any tenant) or an item has no ID."""
        self._check_open()
        row = sql.conversation_row(conversation, tenant)
        rows = sql.positioned(conversation.id, 0, sql.item_bodies(items))
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.execute(_INSERT_CONVERSATION, *row) == "INSERT 0 0":
                raise ValueError(f"conversation ID {conversation.id!r} is taken")
            await conn.executemany(_INSERT_CONVERSATION_ITEM, rows)

    async def get_conversation(self, conversation_id: str, *, tenant: str = "") -> StoredConversation | None:
        """The tenant's conversation, or None."""
        self._check_open()
        found = await self._pool.fetchrow(_GET_CONVERSATION, conversation_id, tenant)
        return None if found is None else sql.stored_conversation(*found)

    async def update_conversation(
        self, conversation_id: str, metadata: Mapping[str, str], *, tenant: str = ""
    ) -> StoredConversation | None:
        """Replace its metadata; the updated conversation, or None when there is none."""
        self._check_open()
        found = await self._pool.fetchrow(
            _UPDATE_CONVERSATION, conversation_id, tenant, sql.metadata_json(metadata)
        )
        return None if found is None else sql.stored_conversation(*found)

    async def delete_conversation(self, conversation_id: str, *, tenant: str = "") -> bool:
        """Delete the conversation and its items; False when there was none."""
        self._check_open()
        status: str = await self._pool.execute(_DELETE_CONVERSATION, conversation_id, tenant)
        return status != "DELETE 0"

    async def add_conversation_items(
        self, conversation_id: str, items: Sequence[InputItem], *, tenant: str = ""
    ) -> bool:
        """Append items after the last one, in one transaction; False when there is no such conversation.

        A ValueError (and nothing written) when an item has no ID. Concurrent appends to one
        conversation take turns (each keeps its items together).
        """
        self._check_open()
        bodies = sql.item_bodies(items)
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(_LOCK_CONVERSATION, conversation_id, tenant) is None:
                return False
            start: int = await conn.fetchval(_NEXT_CONVERSATION_POSITION, conversation_id)
            await conn.executemany(_INSERT_CONVERSATION_ITEM, sql.positioned(conversation_id, start, bodies))
        return True

    async def conversation_items(
        self, conversation_id: str, *, tenant: str = ""
    ) -> tuple[InputItem, ...] | None:
        """All its items, oldest first; None when missing."""
        self._check_open()
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            if await conn.fetchval(_CONVERSATION_OWNED, conversation_id, tenant) is None:
                return None
            rows = await conn.fetch(_ALL_CONVERSATION_ITEMS, conversation_id)
        return tuple(InputItem.FromString(row["body"]) for row in rows)

    async def list_conversation_items(
        self,
        conversation_id: str,
        *,
        after: str | None,
        limit: int,
        order: Order,
        tenant: str = "",
    ) -> ItemPage | None:
        """The `limit` items that follow `after` in `order`, and whether more follow; None when missing."""
        self._check_open()
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        window = sql.Window(after, None, limit, order)
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            return await _list_items(conn, sql.CONVERSATION_ITEMS, conversation_id, tenant, window)

    async def get_conversation_item(
        self, conversation_id: str, item_id: str, *, tenant: str = ""
    ) -> InputItem | None:
        """One item of the conversation (its first with that ID), or None."""
        self._check_open()
        body = await self._pool.fetchval(_GET_CONVERSATION_ITEM, conversation_id, item_id, tenant)
        return None if body is None else InputItem.FromString(body)

    async def delete_conversation_item(self, conversation_id: str, item_id: str, *, tenant: str = "") -> bool:
        """Remove one item (its first with that ID); False when there was none."""
        self._check_open()
        status: str = await self._pool.execute(_DELETE_CONVERSATION_ITEM, conversation_id, item_id, tenant)
        return status != "DELETE 0"

    async def ping(self) -> None:
        """`SELECT 1` on a connection of the pool (a new one when the server dropped them)."""
        self._check_open()
        await self._pool.fetchval("SELECT 1")

    async def close(self) -> None:
        """Close the pool; later calls raise RuntimeError."""
        if self._closed:
            return
        self._closed = True
        await self._pool.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")


async def _list_items(
    conn: Conn, items: sql.ItemList, owner_id: str, tenant: str, window: sql.Window
) -> ItemPage | None:
    """A page of the items of a tenant's response or conversation; None when it does not exist.

    Run it in a repeatable-read transaction, so its reads see one snapshot.
    """
    if await conn.fetchval(sql.owned(items, _MARK), owner_id, tenant) is None:
        return None
    after = await _cursor(conn, items, owner_id, window.after, window.order)
    before = await _cursor(conn, items, owner_id, window.before, window.order)
    if sql.cursor_missing(window, after, before):
        return ItemPage(items=(), has_more=False)
    query, params = sql.page_query(window, after, before, _MARK, items)
    rows = await conn.fetch(query, owner_id, *params)
    return sql.item_page([row["body"] for row in rows], window)


async def _cursor(
    conn: Conn, items: sql.ItemList, owner_id: str, cursor: str | None, order: Order
) -> int | None:
    if cursor is None:
        return None
    position: int | None = await conn.fetchval(sql.cursor_query(order, _MARK, items), owner_id, cursor)
    return position
