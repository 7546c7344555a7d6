"""Small helpers over stored input items."""

from __future__ import annotations

from rejoinder.responses.v1.items_pb2 import InputItem


def item_id(item: InputItem) -> str:
    """The ID an input item carries inside its oneof case; "" when it has none or no case is set.

    Every case of `InputItem` has an `id` field (the oneof is its only field). For an `item_reference`
    this is the ID of the referenced item.
    """
    fields = item.ListFields()
    return str(fields[0][1].id) if fields else ""


def require_item_id(item: InputItem, position: int) -> str:
    """The item's ID; a ValueError when it has none, since stored items must carry one."""
    found = item_id(item)
    if not found:
        raise ValueError(f"input item at position {position} has no id")
    return found
