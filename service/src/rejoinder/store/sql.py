"""The SQL both SQL stores run (SQLite and PostgreSQL differ only in their parameter markers)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.store.base import UNFINISHED, ChainLink, Order
from rejoinder.store.items import require_item_id

ResponseRow = tuple[str, str | None, int, str, bytes, str]
ItemRow = tuple[str, int, str, bytes]

Marker = Callable[[int], str]
"""The SQL text of the n-th parameter (1-based): `?` for SQLite, `$n` for PostgreSQL."""


@dataclass(frozen=True, slots=True)
class Window:
    """What `list_input_items` asks for."""

    after: str | None
    before: str | None
    limit: int
    order: Order


def backward(window: Window) -> bool:
    """With `before` alone the page is the one just before the cursor, so the scan runs back from it."""
    return window.before is not None and window.after is None


def page_query(window: Window, after: int | None, before: int | None, mark: Marker) -> tuple[str, list[int]]:
    """The page's SELECT of item bodies and its parameters after the first (the response ID).

    `after`/`before` are the cursors' positions. The last parameter is the row limit (limit + 1, so
    the caller can tell whether more follow).
    """
    ascending = window.order == "asc"
    clauses = [f"response_id = {mark(1)}"]
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
    return f"SELECT body FROM input_items WHERE {where} ORDER BY position {direction} LIMIT {limit}", params


def cursor_query(order: Order, mark: Marker) -> str:
    """Where a cursor item sits (its first occurrence in the ordered list).

    Parameters: response ID, item ID.
    """
    pick = "MIN" if order == "asc" else "MAX"
    return f"SELECT {pick}(position) FROM input_items WHERE response_id = {mark(1)} AND item_id = {mark(2)}"


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
    """Unfinished responses (tenant, body) not heard of since a time (ms), oldest first; parameter: that
    time."""
    unfinished = ", ".join(f"'{status}'" for status in UNFINISHED)
    return f"""
SELECT tenant, body FROM responses WHERE status IN ({unfinished})
AND coalesce(heartbeat_at, created_at * 1000) < {mark(1)} ORDER BY created_at, id
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


def item_rows(response_id: str, items: Sequence[InputItem]) -> list[ItemRow]:
    """The `insert_item` parameters of each item; a ValueError for an item with no ID."""
    return [
        (response_id, position, require_item_id(item, position), item.SerializeToString())
        for position, item in enumerate(items)
    ]


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
