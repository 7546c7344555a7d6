"""The paging parameters of OpenAI's list endpoints (input items, conversation items)."""

from __future__ import annotations

from rejoinder.errors import clip, invalid
from rejoinder.store.base import Order

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def page_args(limit: int | None, order: str | None) -> tuple[int, Order]:
    """`limit` (1 to 100, default 20) and `order` ("asc" or "desc", the default). Raises 400."""
    size = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise invalid(
            f"Invalid 'limit': expected a value between 1 and {MAX_LIMIT}, but got {size} instead.",
            param="limit",
            code="invalid_value",
        )
    if order is None or order == "desc":
        return size, "desc"
    if order == "asc":
        return size, "asc"
    raise invalid(
        f"Invalid value: '{clip(order)}'. Supported values are: 'asc' and 'desc'.",
        param="order",
        code="invalid_value",
    )
