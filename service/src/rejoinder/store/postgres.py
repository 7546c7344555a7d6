"""`ResponseStore` on PostgreSQL (asyncpg): the scale-out store several replicas share.

A pool of connections; every multi-statement write is one transaction and every multi-statement read
one repeatable-read snapshot. The schema is applied on open, under an advisory lock, so replicas
starting together apply each migration once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import asyncpg

from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.store import sql
from rejoinder.store.base import MAX_CHAIN_LINKS, ChainLink, ItemPage, Order, TenantResponse
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
_HEARTBEAT = """
UPDATE responses SET owner = $1, heartbeat_at = $2 WHERE id = ANY($3::text[]) RETURNING id, cancel_requested
"""


class PostgresStore:
    """Responses, their input items and kept event streams in PostgreSQL; open with `await open(dsn)`."""

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

    async def save(self, response: Response, input_items: Sequence[InputItem], *, tenant: str = "") -> None:
        """Insert or replace the response; its input items are written with the first save only."""
        self._check_open()
        row = sql.response_row(response, tenant)
        items = sql.item_rows(response.id, input_items)
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
            found = await conn.fetchval(
                "SELECT 1 FROM responses WHERE id = $1 AND tenant = $2", response_id, tenant
            )
            if found is None:
                return None
            at_after = await _cursor(conn, response_id, after, order)
            at_before = await _cursor(conn, response_id, before, order)
            if (after is not None and at_after is None) or (before is not None and at_before is None):
                return ItemPage(items=(), has_more=False)
            query, params = sql.page_query(window, at_after, at_before, _MARK)
            rows = await conn.fetch(query, response_id, *params)
        items = [InputItem.FromString(row["body"]) for row in rows[:limit]]
        if sql.backward(window):
            items.reverse()
        return ItemPage(items=tuple(items), has_more=len(rows) > limit)

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

    async def stale(self, before_ms: int) -> tuple[TenantResponse, ...]:
        """Unfinished responses whose runner has not been heard of since `before_ms`, oldest first."""
        self._check_open()
        rows = await self._pool.fetch(_STALE, before_ms)
        return tuple(TenantResponse(row["tenant"], Response.FromString(row["body"])) for row in rows)

    async def close(self) -> None:
        """Close the pool; later calls raise RuntimeError."""
        if self._closed:
            return
        self._closed = True
        await self._pool.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")


async def _cursor(conn: Conn, response_id: str, cursor: str | None, order: Order) -> int | None:
    if cursor is None:
        return None
    position: int | None = await conn.fetchval(sql.cursor_query(order, _MARK), response_id, cursor)
    return position
