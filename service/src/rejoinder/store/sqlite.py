"""`ResponseStore` and `ConversationStore` on SQLite (WAL): the embedded default, one file under the
data directory.

Every sqlite call runs on one dedicated worker thread that owns the only connection, so the event
loop never blocks and writes are serialized. Every multi-statement write is one transaction.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, Literal, ParamSpec, TypeVar

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
from rejoinder.store.sqlite_schema import migrate

MEMORY = ":memory:"

DEFAULT_BUSY_TIMEOUT_S = 5.0

_P = ParamSpec("_P")
_T = TypeVar("_T")


_MARK: sql.Marker = lambda n: f"?{n}"  # noqa: E731 - SQLite's numbered parameter marker
_CHAIN_RESPONSES = sql.chain_responses(_MARK)
_CHAIN_ITEMS = sql.chain_items(_MARK)
_UPSERT_RESPONSE = sql.upsert_response(_MARK)
_INSERT_ITEM = sql.insert_item(_MARK)
_APPEND_EVENT = sql.append_event(_MARK)
_LOAD_EVENTS = sql.load_events(_MARK)
_STALE = sql.stale(_MARK)
_INSERT_CONVERSATION = sql.insert_conversation(_MARK)
_GET_CONVERSATION = sql.get_conversation(_MARK)
_UPDATE_CONVERSATION = sql.update_conversation(_MARK)
_DELETE_CONVERSATION = sql.delete_conversation(_MARK)
_CONVERSATION_OWNED = sql.owned(sql.CONVERSATION_ITEMS, _MARK)
_NEXT_CONVERSATION_POSITION = sql.next_conversation_position(_MARK)
_INSERT_CONVERSATION_ITEM = sql.insert_conversation_item(_MARK)
_ALL_CONVERSATION_ITEMS = sql.all_conversation_items(_MARK)
_GET_CONVERSATION_ITEM = sql.get_conversation_item(_MARK)
_DELETE_CONVERSATION_ITEM = sql.delete_conversation_item(_MARK)


class SqliteStore:
    """Responses, conversations and their items in one SQLite database; open with `await open(...)`."""

    def __init__(
        self, executor: ThreadPoolExecutor, conn: sqlite3.Connection, *, max_chain_links: int
    ) -> None:
        """Use `open`; the connection must have been created on the executor's only thread."""
        self._executor = executor
        self._conn = conn
        self._max_chain_links = max_chain_links
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        max_chain_links: int = MAX_CHAIN_LINKS,
    ) -> SqliteStore:
        """Open (creating the file, its directory and the schema as needed) a file path or ":memory:"."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rejoinder-sqlite")
        try:
            loop = asyncio.get_running_loop()
            conn = await loop.run_in_executor(executor, _connect, str(path), busy_timeout_s)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, conn, max_chain_links=max_chain_links)

    async def save(self, response: Response, input_items: Sequence[InputItem], *, tenant: str = "") -> None:
        """Insert or replace the response; its input items are written with the first save only."""
        row = sql.response_row(response, tenant)  # serialized before any write
        items = sql.item_rows(response.id, input_items)
        await self._call(_save, row, items)

    async def get(self, response_id: str, *, tenant: str = "") -> Response | None:
        """The tenant's stored response, or None."""
        return await self._call(_get, response_id, tenant)

    async def delete(self, response_id: str, *, tenant: str = "") -> bool:
        """Delete the response and its input items (never its descendants); False when there was none."""
        return await self._call(_delete, response_id, tenant)

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
        """A page of the response's input items in `order`; None when the response does not exist.

        The page holds the items that follow `after` and precede `before` in the ordered list. With
        `before` alone it is the `limit` items just before `before` (the previous page) and `has_more`
        says more lie before it; otherwise it is the first `limit` items and `has_more` says more follow.
        A cursor that is not in the list gives an empty page.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        window = sql.Window(after, before, limit, order)
        return await self._call(_list_items, sql.INPUT_ITEMS, response_id, tenant, window)

    async def load_chain(self, response_id: str, *, tenant: str = "") -> tuple[ChainLink, ...] | None:
        """The response and its ancestors, oldest first; None when missing. Stops at a missing ancestor."""
        return await self._call(_load_chain, response_id, tenant, self._max_chain_links)

    async def append_events(self, response_id: str, events: Sequence[ResponseStreamEvent]) -> None:
        """Keep more of a stored response's event stream (one row per event, one transaction)."""
        rows = [(e.sequence_number, e.SerializeToString(), response_id) for e in events]
        await self._call(_append_events, rows)

    async def load_events(self, response_id: str, after: int = -1) -> tuple[ResponseStreamEvent, ...]:
        """The kept events above sequence number `after`, in order."""
        return await self._call(_load_events, response_id, after)

    async def heartbeat(self, owner: str, response_ids: Sequence[str], now_ms: int) -> frozenset[str]:
        """Mark these responses run by `owner` as of `now_ms`; those whose cancel was requested."""
        return await self._call(_heartbeat, owner, list(response_ids), now_ms)

    async def request_cancel(self, response_id: str) -> None:
        """Flag the response for its runner to cancel."""
        await self._call(_request_cancel, response_id)

    async def stale(self, before_ms: int) -> tuple[TenantResponse, ...]:
        """Unfinished responses whose runner has not been heard of since `before_ms`, oldest first."""
        return await self._call(_stale, before_ms)

    async def create_conversation(
        self,
        conversation: StoredConversation,
        items: Sequence[InputItem],
        *,
        tenant: str = "",
    ) -> None:
        """Store a new conversation with its first items in one transaction; a ValueError when its ID is
        taken (by any tenant) or an item has no ID."""
        row = sql.conversation_row(conversation, tenant)  # serialized before any write
        bodies = sql.item_bodies(items)
        await self._call(_create_conversation, row, bodies)

    async def get_conversation(self, conversation_id: str, *, tenant: str = "") -> StoredConversation | None:
        """The tenant's conversation, or None."""
        return await self._call(_get_conversation, conversation_id, tenant)

    async def update_conversation(
        self, conversation_id: str, metadata: Mapping[str, str], *, tenant: str = ""
    ) -> StoredConversation | None:
        """Replace its metadata; the updated conversation, or None when there is none."""
        return await self._call(_update_conversation, conversation_id, tenant, sql.metadata_json(metadata))

    async def delete_conversation(self, conversation_id: str, *, tenant: str = "") -> bool:
        """Delete the conversation and its items; False when there was none."""
        return await self._call(_delete_conversation, conversation_id, tenant)

    async def add_conversation_items(
        self, conversation_id: str, items: Sequence[InputItem], *, tenant: str = ""
    ) -> bool:
        """Append items after the last one, in one transaction; False when there is no such conversation.

        A ValueError (and nothing written) when an item has no ID.
        """
        bodies = sql.item_bodies(items)
        return await self._call(_add_conversation_items, conversation_id, tenant, bodies)

    async def conversation_items(
        self, conversation_id: str, *, tenant: str = ""
    ) -> tuple[InputItem, ...] | None:
        """All its items, oldest first; None when missing."""
        return await self._call(_conversation_items, conversation_id, tenant)

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
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        window = sql.Window(after, None, limit, order)
        return await self._call(_list_items, sql.CONVERSATION_ITEMS, conversation_id, tenant, window)

    async def get_conversation_item(
        self, conversation_id: str, item_id: str, *, tenant: str = ""
    ) -> InputItem | None:
        """One item of the conversation (its first with that ID), or None."""
        return await self._call(_get_conversation_item, conversation_id, item_id, tenant)

    async def delete_conversation_item(self, conversation_id: str, item_id: str, *, tenant: str = "") -> bool:
        """Remove one item (its first with that ID); False when there was none."""
        return await self._call(_delete_conversation_item, conversation_id, item_id, tenant)

    async def close(self) -> None:
        """Close the connection on its thread and stop the thread; later calls raise RuntimeError."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._conn.close)
        finally:
            # The thread exits once the queue (everything submitted before close) has run.
            self._executor.shutdown(wait=False)

    async def _call(
        self, fn: Callable[Concatenate[sqlite3.Connection, _P], _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        if self._closed:
            raise RuntimeError("the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, self._conn, *args, **kwargs))


# Everything below runs on the store's worker thread.


def _connect(path: str, busy_timeout_s: float) -> sqlite3.Connection:
    if path != MEMORY:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # timeout: the busy timeout. isolation_level=None: autocommit; transactions are explicit (_transaction).
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def _transaction(
    conn: sqlite3.Connection, mode: Literal["DEFERRED", "IMMEDIATE"] = "DEFERRED"
) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back when it (or the commit) raises."""
    conn.execute(f"BEGIN {mode}")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _save(conn: sqlite3.Connection, row: sql.ResponseRow, items: list[sql.ItemRow]) -> None:
    with _transaction(conn, "IMMEDIATE"):
        conn.execute(_UPSERT_RESPONSE, row)
        (tenant,) = conn.execute("SELECT tenant FROM responses WHERE id = ?", (row[0],)).fetchone()
        if tenant != row[-1]:
            raise ValueError(f"response ID {row[0]!r} belongs to another tenant")
        existing = conn.execute("SELECT 1 FROM input_items WHERE response_id = ? LIMIT 1", (row[0],))
        if existing.fetchone() is None:
            conn.executemany(_INSERT_ITEM, items)


def _get(conn: sqlite3.Connection, response_id: str, tenant: str) -> Response | None:
    found = conn.execute(
        "SELECT body FROM responses WHERE id = ? AND tenant = ?", (response_id, tenant)
    ).fetchone()
    return None if found is None else Response.FromString(found[0])


def _append_events(conn: sqlite3.Connection, rows: list[tuple[int, bytes, str]]) -> None:
    with _transaction(conn, "IMMEDIATE"):
        conn.executemany(_APPEND_EVENT, rows)


def _load_events(conn: sqlite3.Connection, response_id: str, after: int) -> tuple[ResponseStreamEvent, ...]:
    rows = conn.execute(_LOAD_EVENTS, (response_id, after)).fetchall()
    return tuple(ResponseStreamEvent.FromString(body) for (body,) in rows)


def _heartbeat(conn: sqlite3.Connection, owner: str, response_ids: list[str], now_ms: int) -> frozenset[str]:
    cancelled: set[str] = set()
    with _transaction(conn, "IMMEDIATE"):
        for response_id in response_ids:
            found = conn.execute(
                "UPDATE responses SET owner = ?, heartbeat_at = ? WHERE id = ? RETURNING cancel_requested",
                (owner, now_ms, response_id),
            ).fetchone()
            if found is not None and found[0]:
                cancelled.add(response_id)
    return frozenset(cancelled)


def _request_cancel(conn: sqlite3.Connection, response_id: str) -> None:
    conn.execute("UPDATE responses SET cancel_requested = 1 WHERE id = ?", (response_id,))


def _stale(conn: sqlite3.Connection, before_ms: int) -> tuple[TenantResponse, ...]:
    rows = conn.execute(_STALE, (before_ms,)).fetchall()
    return tuple(TenantResponse(tenant, Response.FromString(body)) for tenant, body in rows)


def _delete(conn: sqlite3.Connection, response_id: str, tenant: str) -> bool:
    # One statement (the input items go by ON DELETE CASCADE), so it is atomic on its own.
    return (
        conn.execute("DELETE FROM responses WHERE id = ? AND tenant = ?", (response_id, tenant)).rowcount > 0
    )


def _list_items(
    conn: sqlite3.Connection, items: sql.ItemList, owner_id: str, tenant: str, window: sql.Window
) -> ItemPage | None:
    """A page of the items of a tenant's response or conversation; None when it does not exist."""
    with _transaction(conn):
        if conn.execute(sql.owned(items, _MARK), (owner_id, tenant)).fetchone() is None:
            return None
        after = _cursor_position(conn, items, owner_id, window.after, window.order)
        before = _cursor_position(conn, items, owner_id, window.before, window.order)
        if sql.cursor_missing(window, after, before):
            return ItemPage(items=(), has_more=False)
        query, params = sql.page_query(window, after, before, _MARK, items)
        rows = conn.execute(query, (owner_id, *params)).fetchall()
    return sql.item_page([body for (body,) in rows], window)


def _cursor_position(
    conn: sqlite3.Connection, items: sql.ItemList, owner_id: str, cursor: str | None, order: Order
) -> int | None:
    """Where the cursor item sits (its first occurrence in the ordered list); None when absent."""
    if cursor is None:
        return None
    query = sql.cursor_query(order, _MARK, items)
    position: int | None = conn.execute(query, (owner_id, cursor)).fetchone()[0]
    return position


def _create_conversation(
    conn: sqlite3.Connection, row: sql.ConversationRow, bodies: list[tuple[str, bytes]]
) -> None:
    with _transaction(conn, "IMMEDIATE"):
        if conn.execute(_INSERT_CONVERSATION, row).rowcount == 0:
            raise ValueError(f"conversation ID {row[0]!r} is taken")
        conn.executemany(_INSERT_CONVERSATION_ITEM, sql.positioned(row[0], 0, bodies))


def _get_conversation(
    conn: sqlite3.Connection, conversation_id: str, tenant: str
) -> StoredConversation | None:
    found = conn.execute(_GET_CONVERSATION, (conversation_id, tenant)).fetchone()
    return None if found is None else sql.stored_conversation(*found)


def _update_conversation(
    conn: sqlite3.Connection, conversation_id: str, tenant: str, metadata: bytes
) -> StoredConversation | None:
    found = conn.execute(_UPDATE_CONVERSATION, (conversation_id, tenant, metadata)).fetchone()
    return None if found is None else sql.stored_conversation(*found)


def _delete_conversation(conn: sqlite3.Connection, conversation_id: str, tenant: str) -> bool:
    # One statement (the items go by ON DELETE CASCADE), so it is atomic on its own.
    return conn.execute(_DELETE_CONVERSATION, (conversation_id, tenant)).rowcount > 0


def _add_conversation_items(
    conn: sqlite3.Connection, conversation_id: str, tenant: str, bodies: list[tuple[str, bytes]]
) -> bool:
    # The write transaction serializes appends: the next position cannot change under it.
    with _transaction(conn, "IMMEDIATE"):
        if conn.execute(_CONVERSATION_OWNED, (conversation_id, tenant)).fetchone() is None:
            return False
        (start,) = conn.execute(_NEXT_CONVERSATION_POSITION, (conversation_id,)).fetchone()
        conn.executemany(_INSERT_CONVERSATION_ITEM, sql.positioned(conversation_id, start, bodies))
    return True


def _conversation_items(
    conn: sqlite3.Connection, conversation_id: str, tenant: str
) -> tuple[InputItem, ...] | None:
    with _transaction(conn):
        if conn.execute(_CONVERSATION_OWNED, (conversation_id, tenant)).fetchone() is None:
            return None
        rows = conn.execute(_ALL_CONVERSATION_ITEMS, (conversation_id,)).fetchall()
    return tuple(InputItem.FromString(body) for (body,) in rows)


def _get_conversation_item(
    conn: sqlite3.Connection, conversation_id: str, item_id: str, tenant: str
) -> InputItem | None:
    found = conn.execute(_GET_CONVERSATION_ITEM, (conversation_id, item_id, tenant)).fetchone()
    return None if found is None else InputItem.FromString(found[0])


def _delete_conversation_item(
    conn: sqlite3.Connection, conversation_id: str, item_id: str, tenant: str
) -> bool:
    return conn.execute(_DELETE_CONVERSATION_ITEM, (conversation_id, item_id, tenant)).rowcount > 0


def _load_chain(
    conn: sqlite3.Connection, response_id: str, tenant: str, max_links: int
) -> tuple[ChainLink, ...] | None:
    params = (response_id, max_links, tenant)
    with _transaction(conn):
        responses = conn.execute(_CHAIN_RESPONSES, params).fetchall()
        item_rows = conn.execute(_CHAIN_ITEMS, params).fetchall() if responses else []
    if not responses:
        return None
    return sql.chain_links(responses, item_rows)
