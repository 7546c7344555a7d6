"""The SQL both SQL stores run (SQLite and PostgreSQL differ only in their parameter markers)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import orjson

from rejoinder.pacing import Steps, run_paced, run_sync
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.store.base import UNFINISHED, ChainLink, ItemPage, Order, StoredConversation
from rejoinder.store.items import require_item_id

ResponseRow = tuple[str, str | None, int, str, bytes, str]
ItemRow = tuple[str, int, str, bytes]
ConversationRow = tuple[str, str, int, bytes]

Marker = Callable[[int], str]
"""The SQL text of the n-th parameter (1-based): `?` for SQLite, `$n` for PostgreSQL."""


@dataclass(frozen=True, slots=True)
class ItemList:
    """A table of ordered items, each row of one owner (a row of a tenant, in the `owners` table)."""

    table: str
    owner: str
    """The items' column that holds the owner's ID."""
    owners: str


INPUT_ITEMS = ItemList("input_items", "response_id", "responses")
CONVERSATION_ITEMS = ItemList("conversation_items", "conversation_id", "conversations")


@dataclass(frozen=True, slots=True)
class Window:
    """What a list of items asks for (a conversation's: `before` is always None)."""

    after: str | None
    before: str | None
    limit: int
    order: Order


def backward(window: Window) -> bool:
    """With `before` alone the page is the one just before the cursor, so the scan runs back from it."""
    return window.before is not None and window.after is None


def page_query(
    window: Window, after: int | None, before: int | None, mark: Marker, items: ItemList = INPUT_ITEMS
) -> tuple[str, list[int]]:
    """The page's SELECT of item bodies and its parameters after the first (the owner's ID).

    `after`/`before` are the cursors' positions. The last parameter is the row limit (limit + 1, so
    the caller can tell whether more follow).
    """
    ascending = window.order == "asc"
    clauses = [f"{items.owner} = {mark(1)}"]
    params: list[int] = []
    if after is not None:
        clauses.append(f"position {'>' if ascending else '<'} {mark(len(params) + 2)}")
        params.append(after)
    if before is not None:
        clauses.append(f"position {'<' if ascending else '>'} {mark(len(params) + 2)}")
        params.append(before)
    params.append(window.limit + 1)
    direction = "ASC" if ascending != backward(window) else "DESC"
    where = " AND ".join(clauses)
    limit = mark(len(params) + 1)
    query = f"SELECT body FROM {items.table} WHERE {where} ORDER BY position {direction} LIMIT {limit}"
    return query, params


def cursor_query(order: Order, mark: Marker, items: ItemList = INPUT_ITEMS) -> str:
    """Where a cursor item sits (its first occurrence in the ordered list).

    Parameters: owner ID, item ID.
    """
    pick = "MIN" if order == "asc" else "MAX"
    where = f"{items.owner} = {mark(1)} AND item_id = {mark(2)}"
    return f"SELECT {pick}(position) FROM {items.table} WHERE {where}"


def cursor_missing(window: Window, after: int | None, before: int | None) -> bool:
    """Whether a cursor the window names is not in the list (its page is empty)."""
    return (window.after is not None and after is None) or (window.before is not None and before is None)


def item_page(bodies: Sequence[bytes], window: Window) -> ItemPage:
    """The page from the rows of `page_query` (up to limit + 1 bodies, in scan order)."""
    items = [InputItem.FromString(body) for body in bodies[: window.limit]]
    if backward(window):
        items.reverse()
    return ItemPage(items=tuple(items), has_more=len(bodies) > window.limit)


def owned(items: ItemList, mark: Marker) -> str:
    """A row (1) when the owner exists and is the tenant's; parameters: owner ID, tenant."""
    return f"SELECT 1 FROM {items.owners} WHERE id = {mark(1)} AND tenant = {mark(2)}"


def chain_cte(mark: Marker) -> str:
    """`chain` walks previous_response_id from the newest link (depth 0) back, within one tenant;
    parameters: ID, max links, tenant."""
    return f"""
WITH RECURSIVE chain (id, previous_response_id, depth) AS (
    SELECT id, previous_response_id, 0 FROM responses WHERE id = {mark(1)} AND tenant = {mark(3)}
    UNION ALL
    SELECT r.id, r.previous_response_id, c.depth + 1
    FROM responses AS r JOIN chain AS c ON r.id = c.previous_response_id
    WHERE c.depth + 1 < {mark(2)} AND r.tenant = {mark(3)}
)
"""


def chain_responses(mark: Marker) -> str:
    """The chain's responses, newest first."""
    return f"""{chain_cte(mark)}
SELECT c.id, r.body FROM chain AS c JOIN responses AS r ON r.id = c.id ORDER BY c.depth
"""


def chain_items(mark: Marker) -> str:
    """The chain's input items, by response and position."""
    return f"""{chain_cte(mark)}
SELECT response_id, body FROM input_items WHERE response_id IN (SELECT id FROM chain)
ORDER BY response_id, position
"""


def upsert_response(mark: Marker) -> str:
    """Insert or replace a response row of a tenant (never another tenant's; never its runner columns).

    Parameters: id, previous, created, status, body, tenant.
    """
    values = ", ".join(mark(n) for n in range(1, 7))
    return f"""
INSERT INTO responses (id, previous_response_id, created_at, status, body, tenant) VALUES ({values})
ON CONFLICT (id) DO UPDATE SET
    previous_response_id = excluded.previous_response_id,
    created_at = excluded.created_at,
    status = excluded.status,
    body = excluded.body
WHERE responses.tenant = excluded.tenant
"""


def insert_item(mark: Marker) -> str:
    """One input item; parameters: response ID, position, item ID, body."""
    values = ", ".join(mark(n) for n in range(1, 5))
    return f"INSERT INTO input_items (response_id, position, item_id, body) VALUES ({values})"


def insert_conversation(mark: Marker) -> str:
    """A new conversation (nothing when the ID is taken); parameters: id, tenant, created, metadata."""
    values = ", ".join(mark(n) for n in range(1, 5))
    return f"""
INSERT INTO conversations (id, tenant, created_at, metadata) VALUES ({values}) ON CONFLICT (id) DO NOTHING
"""


def get_conversation(mark: Marker) -> str:
    """A tenant's conversation (id, created, metadata); parameters: id, tenant."""
    return f"SELECT id, created_at, metadata FROM conversations WHERE id = {mark(1)} AND tenant = {mark(2)}"


def update_conversation(mark: Marker) -> str:
    """Replace a tenant's conversation's metadata, returning the row as `get_conversation`; parameters:
    id, tenant, metadata."""
    return f"""
UPDATE conversations SET metadata = {mark(3)} WHERE id = {mark(1)} AND tenant = {mark(2)}
RETURNING id, created_at, metadata
"""


def delete_conversation(mark: Marker) -> str:
    """A tenant's conversation (its items go by ON DELETE CASCADE); parameters: id, tenant."""
    return f"DELETE FROM conversations WHERE id = {mark(1)} AND tenant = {mark(2)}"


def next_conversation_position(mark: Marker) -> str:
    """The position after a conversation's last item (0 when it has none); parameter: conversation ID."""
    return f"SELECT coalesce(max(position) + 1, 0) FROM conversation_items WHERE conversation_id = {mark(1)}"


def insert_conversation_item(mark: Marker) -> str:
    """One conversation item; parameters: conversation ID, position, item ID, body."""
    values = ", ".join(mark(n) for n in range(1, 5))
    return f"INSERT INTO conversation_items (conversation_id, position, item_id, body) VALUES ({values})"


def all_conversation_items(mark: Marker) -> str:
    """A conversation's item bodies in order; parameter: conversation ID."""
    return f"SELECT body FROM conversation_items WHERE conversation_id = {mark(1)} ORDER BY position"


def _first_conversation_item(mark: Marker) -> str:
    """The position of an item's first occurrence in a tenant's conversation (NULL when it has none);
    parameters: conversation ID, item ID, tenant."""
    return f"""
SELECT min(position) FROM conversation_items WHERE conversation_id = {mark(1)} AND item_id = {mark(2)}
AND EXISTS (SELECT 1 FROM conversations WHERE id = {mark(1)} AND tenant = {mark(3)})
"""


def get_conversation_item(mark: Marker) -> str:
    """The body of an item of a tenant's conversation; parameters: conversation ID, item ID, tenant."""
    return f"""
SELECT body FROM conversation_items
WHERE conversation_id = {mark(1)} AND position = ({_first_conversation_item(mark)})
"""


def delete_conversation_item(mark: Marker) -> str:
    """Remove an item of a tenant's conversation; parameters: conversation ID, item ID, tenant."""
    return f"""
DELETE FROM conversation_items
WHERE conversation_id = {mark(1)} AND position = ({_first_conversation_item(mark)})
"""


def append_event(mark: Marker) -> str:
    """One event of a stored response (none when the response is not stored; a number kept twice keeps
    the first); parameters: sequence number, body, response ID."""
    return f"""
INSERT INTO response_events (response_id, sequence_number, body)
SELECT id, {mark(1)}, {mark(2)} FROM responses WHERE id = {mark(3)}
ON CONFLICT DO NOTHING
"""


def load_events(mark: Marker) -> str:
    """Kept events in order; parameters: response ID, the sequence number they follow."""
    return f"""
SELECT body FROM response_events WHERE response_id = {mark(1)} AND sequence_number > {mark(2)}
ORDER BY sequence_number
"""


def stale(mark: Marker) -> str:
    """Unfinished responses (tenant, body) not heard of since a time (ms), or run by an owner, oldest
    first; parameters: that time, that owner (or NULL)."""
    unfinished = ", ".join(f"'{status}'" for status in UNFINISHED)
    return f"""
SELECT tenant, body FROM responses WHERE status IN ({unfinished})
AND (coalesce(heartbeat_at, created_at * 1000) < {mark(1)} OR owner = {mark(2)}) ORDER BY created_at, id
"""


def response_row(response: Response, tenant: str) -> ResponseRow:
    """The `upsert_response` parameters: serialized now, a snapshot of the response at call time."""
    if not response.id:
        raise ValueError("response has no id")
    return (
        response.id,
        response.previous_response_id or None,
        response.created_at,
        response.status,
        response.SerializeToString(),
        tenant,
    )


async def paced_item_rows(response_id: str, items: Sequence[InputItem]) -> list[ItemRow]:
    """The `insert_item` parameters of each item, serialized with turns for the event loop (a response
    may have 10,000 items); a ValueError for an item with no ID."""
    return positioned(response_id, 0, await run_paced(_item_bodies_steps(items)))


def _item_bodies_steps(items: Sequence[InputItem]) -> Steps[list[tuple[str, bytes]]]:
    bodies: list[tuple[str, bytes]] = []
    for index, item in enumerate(items):
        bodies.append((require_item_id(item, index), item.SerializeToString()))
        yield
    return bodies


def item_bodies(items: Sequence[InputItem]) -> list[tuple[str, bytes]]:
    """Each item's ID and serialized body; a ValueError for an item with no ID (its index in `items`)."""
    return run_sync(_item_bodies_steps(items))


def positioned(owner_id: str, start: int, bodies: Iterable[tuple[str, bytes]]) -> list[ItemRow]:
    """Insert parameters (owner ID, position, item ID, body) for items that follow position `start` - 1."""
    return [(owner_id, start + n, found, body) for n, (found, body) in enumerate(bodies)]


def conversation_row(conversation: StoredConversation, tenant: str) -> ConversationRow:
    """The `insert_conversation` parameters; metadata as JSON (its keys in their given order)."""
    if not conversation.id:
        raise ValueError("conversation has no id")
    return (conversation.id, tenant, conversation.created_at, metadata_json(conversation.metadata))


def metadata_json(metadata: Mapping[str, str]) -> bytes:
    """Conversation metadata as stored: a JSON object."""
    return orjson.dumps(dict(metadata))


def stored_conversation(conversation_id: str, created_at: int, metadata: bytes) -> StoredConversation:
    """A conversation from its row (as `get_conversation` returns it)."""
    found: dict[str, str] = orjson.loads(metadata)
    return StoredConversation(id=conversation_id, created_at=created_at, metadata=found)


def chain_links(
    responses: Iterable[tuple[str, bytes]], items: Iterable[tuple[str, bytes]]
) -> tuple[ChainLink, ...]:
    """The chain, oldest first, from the rows of `chain_responses` (newest first) and `chain_items`."""
    by_response: dict[str, list[InputItem]] = {}
    for owner, body in items:
        by_response.setdefault(owner, []).append(InputItem.FromString(body))
    links: list[ChainLink] = []
    seen: set[str] = set()
    for link_id, body in responses:
        if link_id in seen:  # a cycle: every response before the repeat is already in the chain
            break
        seen.add(link_id)
        response = Response.FromString(body)
        links.append(ChainLink(response=response, input_items=tuple(by_response.get(link_id, ()))))
    links.reverse()
    return tuple(links)
