"""The input-items page query, shared by the SQL stores (they differ only in parameter markers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rejoinder.store.base import Order

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
    """`chain` walks previous_response_id from the newest link (depth 0) back; parameters: ID, max links."""
    return f"""
WITH RECURSIVE chain (id, previous_response_id, depth) AS (
    SELECT id, previous_response_id, 0 FROM responses WHERE id = {mark(1)}
    UNION ALL
    SELECT r.id, r.previous_response_id, c.depth + 1
    FROM responses AS r JOIN chain AS c ON r.id = c.previous_response_id
    WHERE c.depth + 1 < {mark(2)}
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
