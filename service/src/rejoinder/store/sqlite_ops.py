"""The SQLite side of `SqliteStore`: every statement it runs, on the store's one worker thread.

Each function takes the thread's connection; multi-statement writes are one `IMMEDIATE` transaction,
multi-statement reads one snapshot.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.store import sql
from rejoinder.store.base import ChainLink, ItemPage, Order, StoredConversation, TenantResponse
from rejoinder.store.sqlite_schema import migrate

MEMORY = ":memory:"

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


WAL_RETRY_S = 0.01


def connect(path: str, busy_timeout_s: float) -> sqlite3.Connection:
    """The store's connection to `path`: `open_wal`'s, with foreign keys on and the schema migrated."""
    conn = open_wal(path, busy_timeout_s)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def open_wal(path: str, busy_timeout_s: float) -> sqlite3.Connection:
    """A connection to `path` (its directory made), in WAL mode with `synchronous = NORMAL`, autocommit
    (transactions are explicit: `transaction`), waiting up to `busy_timeout_s` for locks."""
    if path != MEMORY:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    try:
        _wal(conn, busy_timeout_s)
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def _wal(conn: sqlite3.Connection, busy_timeout_s: float) -> None:
    """WAL mode. Two processes opening a brand-new file at once (workers, a rate limiter beside a store):
    the second can be told "database is locked" at once, without the busy timeout, while the first turns
    the file to WAL; so it tries again until the busy timeout has passed."""
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(WAL_RETRY_S)


@contextmanager
def transaction(
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


def save(conn: sqlite3.Connection, row: sql.ResponseRow, items: list[sql.ItemRow]) -> None:
    with transaction(conn, "IMMEDIATE"):
        conn.execute(_UPSERT_RESPONSE, row)
        (tenant,) = conn.execute("SELECT tenant FROM responses WHERE id = ?", (row[0],)).fetchone()
        if tenant != row[-1]:
            raise ValueError(f"response ID {row[0]!r} belongs to another tenant")
        existing = conn.execute("SELECT 1 FROM input_items WHERE response_id = ? LIMIT 1", (row[0],))
        if existing.fetchone() is None:
            conn.executemany(_INSERT_ITEM, items)


def get(conn: sqlite3.Connection, response_id: str, tenant: str) -> Response | None:
    found = conn.execute(
        "SELECT body FROM responses WHERE id = ? AND tenant = ?", (response_id, tenant)
    ).fetchone()
    return None if found is None else Response.FromString(found[0])


def append_events(conn: sqlite3.Connection, rows: list[tuple[int, bytes, str]]) -> None:
    with transaction(conn, "IMMEDIATE"):
        conn.executemany(_APPEND_EVENT, rows)


def load_events(conn: sqlite3.Connection, response_id: str, after: int) -> tuple[ResponseStreamEvent, ...]:
    rows = conn.execute(_LOAD_EVENTS, (response_id, after)).fetchall()
    return tuple(ResponseStreamEvent.FromString(body) for (body,) in rows)


def heartbeat(conn: sqlite3.Connection, owner: str, response_ids: list[str], now_ms: int) -> frozenset[str]:
    cancelled: set[str] = set()
    with transaction(conn, "IMMEDIATE"):
        for response_id in response_ids:
            found = conn.execute(
                "UPDATE responses SET owner = ?, heartbeat_at = ? WHERE id = ? RETURNING cancel_requested",
                (owner, now_ms, response_id),
            ).fetchone()
            if found is not None and found[0]:
                cancelled.add(response_id)
    return frozenset(cancelled)


def request_cancel(conn: sqlite3.Connection, response_id: str) -> None:
    conn.execute("UPDATE responses SET cancel_requested = 1 WHERE id = ?", (response_id,))


def stale(conn: sqlite3.Connection, before_ms: int, owner: str | None) -> tuple[TenantResponse, ...]:
    rows = conn.execute(_STALE, (before_ms, owner)).fetchall()
    return tuple(TenantResponse(tenant, Response.FromString(body)) for tenant, body in rows)


def delete(conn: sqlite3.Connection, response_id: str, tenant: str) -> bool:
    # One statement (the input items go by ON DELETE CASCADE), so it is atomic on its own.
    return (
        conn.execute("DELETE FROM responses WHERE id = ? AND tenant = ?", (response_id, tenant)).rowcount > 0
    )


def list_items(
    conn: sqlite3.Connection, items: sql.ItemList, owner_id: str, tenant: str, window: sql.Window
) -> ItemPage | None:
    """A page of the items of a tenant's response or conversation; None when it does not exist."""
    with transaction(conn):
        if conn.execute(sql.owned(items, _MARK), (owner_id, tenant)).fetchone() is None:
            return None
        after = cursor_position(conn, items, owner_id, window.after, window.order)
        before = cursor_position(conn, items, owner_id, window.before, window.order)
        if sql.cursor_missing(window, after, before):
            return ItemPage(items=(), has_more=False)
        query, params = sql.page_query(window, after, before, _MARK, items)
        rows = conn.execute(query, (owner_id, *params)).fetchall()
    return sql.item_page([body for (body,) in rows], window)


def cursor_position(
    conn: sqlite3.Connection, items: sql.ItemList, owner_id: str, cursor: str | None, order: Order
) -> int | None:
    """Where the cursor item sits (its first occurrence in the ordered list); None when absent."""
    if cursor is None:
        return None
    query = sql.cursor_query(order, _MARK, items)
    position: int | None = conn.execute(query, (owner_id, cursor)).fetchone()[0]
    return position


def create_conversation(
    conn: sqlite3.Connection, row: sql.ConversationRow, bodies: list[tuple[str, bytes]]
) -> None:
    with transaction(conn, "IMMEDIATE"):
        if conn.execute(_INSERT_CONVERSATION, row).rowcount == 0:
            raise ValueError(f"conversation ID {row[0]!r} is taken")
        conn.executemany(_INSERT_CONVERSATION_ITEM, sql.positioned(row[0], 0, bodies))


def get_conversation(
    conn: sqlite3.Connection, conversation_id: str, tenant: str
) -> StoredConversation | None:
    found = conn.execute(_GET_CONVERSATION, (conversation_id, tenant)).fetchone()
    return None if found is None else sql.stored_conversation(*found)


def update_conversation(
    conn: sqlite3.Connection, conversation_id: str, tenant: str, metadata: bytes
) -> StoredConversation | None:
    found = conn.execute(_UPDATE_CONVERSATION, (conversation_id, tenant, metadata)).fetchone()
    return None if found is None else sql.stored_conversation(*found)


def delete_conversation(conn: sqlite3.Connection, conversation_id: str, tenant: str) -> bool:
    # One statement (the items go by ON DELETE CASCADE), so it is atomic on its own.
    return conn.execute(_DELETE_CONVERSATION, (conversation_id, tenant)).rowcount > 0


def add_conversation_items(
    conn: sqlite3.Connection, conversation_id: str, tenant: str, bodies: list[tuple[str, bytes]]
) -> bool:
    # The write transaction serializes appends: the next position cannot change under it.
    with transaction(conn, "IMMEDIATE"):
        if conn.execute(_CONVERSATION_OWNED, (conversation_id, tenant)).fetchone() is None:
            return False
        (start,) = conn.execute(_NEXT_CONVERSATION_POSITION, (conversation_id,)).fetchone()
        conn.executemany(_INSERT_CONVERSATION_ITEM, sql.positioned(conversation_id, start, bodies))
    return True


def conversation_items(
    conn: sqlite3.Connection, conversation_id: str, tenant: str
) -> tuple[InputItem, ...] | None:
    with transaction(conn):
        if conn.execute(_CONVERSATION_OWNED, (conversation_id, tenant)).fetchone() is None:
            return None
        rows = conn.execute(_ALL_CONVERSATION_ITEMS, (conversation_id,)).fetchall()
    return tuple(InputItem.FromString(body) for (body,) in rows)


def get_conversation_item(
    conn: sqlite3.Connection, conversation_id: str, item_id: str, tenant: str
) -> InputItem | None:
    found = conn.execute(_GET_CONVERSATION_ITEM, (conversation_id, item_id, tenant)).fetchone()
    return None if found is None else InputItem.FromString(found[0])


def delete_conversation_item(
    conn: sqlite3.Connection, conversation_id: str, item_id: str, tenant: str
) -> bool:
    return conn.execute(_DELETE_CONVERSATION_ITEM, (conversation_id, item_id, tenant)).rowcount > 0


def load_chain(
    conn: sqlite3.Connection, response_id: str, tenant: str, max_links: int
) -> tuple[ChainLink, ...] | None:
    params = (response_id, max_links, tenant)
    with transaction(conn):
        responses = conn.execute(_CHAIN_RESPONSES, params).fetchall()
        item_rows = conn.execute(_CHAIN_ITEMS, params).fetchall() if responses else []
    if not responses:
        return None
    return sql.chain_links(responses, item_rows)
