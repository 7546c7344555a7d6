"""`ResponseStore` and `ConversationStore` on SQLite (WAL): the embedded default, one file under the
data directory.

Every sqlite call runs on one dedicated worker thread that owns the only connection, so the event
loop never blocks and writes are serialized. Every multi-statement write is one transaction.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from rejoinder.pacing import resumed
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.store import sql
from rejoinder.store import sqlite_ops as ops
from rejoinder.store.base import (
    MAX_CHAIN_LINKS,
    ChainLink,
    ItemPage,
    Order,
    StoredConversation,
    TenantResponse,
)

DEFAULT_BUSY_TIMEOUT_S = 5.0

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _select_one(conn: sqlite3.Connection) -> None:
    conn.execute("SELECT 1").fetchone()


class SqliteStore:
    """Responses, conversations and their items in one SQLite database; open with `await open(...)`."""

    def __init__(
        self,
        executor: ThreadPoolExecutor,
        conn: sqlite3.Connection,
        *,
        max_chain_links: int,
        path: Path | None = None,
    ) -> None:
        """Use `open`; the connection must have been created on the executor's only thread."""
        self._executor = executor
        self._conn = conn
        self._max_chain_links = max_chain_links
        self._path = path
        self._closed = False

    @property
    def path(self) -> Path | None:
        """The database file (what other processes open to share it), or None for ":memory:"."""
        return self._path

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
            conn = await loop.run_in_executor(executor, ops.connect, str(path), busy_timeout_s)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        file = None if str(path) == ops.MEMORY else Path(path)
        return cls(executor, conn, max_chain_links=max_chain_links, path=file)

    async def save(self, response: Response, input_items: Sequence[InputItem], *, tenant: str = "") -> None:
        """Insert or replace the response; its input items are written with the first save only."""
        row = sql.response_row(response, tenant)  # serialized before any write
        items = await sql.paced_item_rows(response.id, input_items)
        await self._call(ops.save, row, items)

    async def get(self, response_id: str, *, tenant: str = "") -> Response | None:
        """The tenant's stored response, or None."""
        return await self._call(ops.get, response_id, tenant)

    async def delete(self, response_id: str, *, tenant: str = "") -> bool:
        """Delete the response and its input items (never its descendants); False when there was none."""
        return await self._call(ops.delete, response_id, tenant)

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
        return await self._call(ops.list_items, sql.INPUT_ITEMS, response_id, tenant, window)

    async def load_chain(self, response_id: str, *, tenant: str = "") -> tuple[ChainLink, ...] | None:
        """The response and its ancestors, oldest first; None when missing. Stops at a missing ancestor."""
        return await self._call(ops.load_chain, response_id, tenant, self._max_chain_links)

    async def append_events(self, response_id: str, events: Sequence[ResponseStreamEvent]) -> None:
        """Keep more of a stored response's event stream (one row per event, one transaction)."""
        rows = [(e.sequence_number, e.SerializeToString(), response_id) for e in events]
        await self._call(ops.append_events, rows)

    async def load_events(self, response_id: str, after: int = -1) -> tuple[ResponseStreamEvent, ...]:
        """The kept events above sequence number `after`, in order."""
        return await self._call(ops.load_events, response_id, after)

    async def heartbeat(self, owner: str, response_ids: Sequence[str], now_ms: int) -> frozenset[str]:
        """Mark these responses run by `owner` as of `now_ms`; those whose cancel was requested."""
        return await self._call(ops.heartbeat, owner, list(response_ids), now_ms)

    async def request_cancel(self, response_id: str) -> None:
        """Flag the response for its runner to cancel."""
        await self._call(ops.request_cancel, response_id)

    async def stale(self, before_ms: int, *, owner: str | None = None) -> tuple[TenantResponse, ...]:
        """Unfinished responses whose runner has not been heard of since `before_ms`, or is `owner`,
        oldest first."""
        return await self._call(ops.stale, before_ms, owner)

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
        await self._call(ops.create_conversation, row, bodies)

    async def get_conversation(self, conversation_id: str, *, tenant: str = "") -> StoredConversation | None:
        """The tenant's conversation, or None."""
        return await self._call(ops.get_conversation, conversation_id, tenant)

    async def update_conversation(
        self, conversation_id: str, metadata: Mapping[str, str], *, tenant: str = ""
    ) -> StoredConversation | None:
        """Replace its metadata; the updated conversation, or None when there is none."""
        return await self._call(ops.update_conversation, conversation_id, tenant, sql.metadata_json(metadata))

    async def delete_conversation(self, conversation_id: str, *, tenant: str = "") -> bool:
        """Delete the conversation and its items; False when there was none."""
        return await self._call(ops.delete_conversation, conversation_id, tenant)

    async def add_conversation_items(
        self, conversation_id: str, items: Sequence[InputItem], *, tenant: str = ""
    ) -> bool:
        """Append items after the last one, in one transaction; False when there is no such conversation.

        A ValueError (and nothing written) when an item has no ID.
        """
        bodies = sql.item_bodies(items)
        return await self._call(ops.add_conversation_items, conversation_id, tenant, bodies)

    async def conversation_items(
        self, conversation_id: str, *, tenant: str = ""
    ) -> tuple[InputItem, ...] | None:
        """All its items, oldest first; None when missing."""
        return await self._call(ops.conversation_items, conversation_id, tenant)

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
        return await self._call(ops.list_items, sql.CONVERSATION_ITEMS, conversation_id, tenant, window)

    async def get_conversation_item(
        self, conversation_id: str, item_id: str, *, tenant: str = ""
    ) -> InputItem | None:
        """One item of the conversation (its first with that ID), or None."""
        return await self._call(ops.get_conversation_item, conversation_id, item_id, tenant)

    async def delete_conversation_item(self, conversation_id: str, item_id: str, *, tenant: str = "") -> bool:
        """Remove one item (its first with that ID); False when there was none."""
        return await self._call(ops.delete_conversation_item, conversation_id, item_id, tenant)

    async def ping(self) -> None:
        """`SELECT 1` on the store's connection (behind any write queued before it)."""
        await self._call(_select_one)

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

    async def run(
        self, fn: Callable[Concatenate[sqlite3.Connection, _P], _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """`fn(connection, ...)` on the store's thread, in turn with every other call (for what shares
        this database's schema: the file store)."""
        return await self._call(fn, *args, **kwargs)

    async def _call(
        self, fn: Callable[Concatenate[sqlite3.Connection, _P], _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        if self._closed:
            raise RuntimeError("the store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor, functools.partial(fn, self._conn, *args, **kwargs)
            )
        finally:
            resumed()
