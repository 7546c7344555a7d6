"""Small helpers over stored input items."""

from __future__ import annotations

from rejoinder.responses.v1.items_pb2 import InputItem


def item_id(item: InputItem) -> str:
    """The ID an input item carries inside its oneof case; "" when it has none or no case is set.

    For an `item_reference` this is the ID of the referenced item.
    """
    match item.WhichOneof("item"):
        case "message":
            return item.message.id
        case "function_call":
            return item.function_call.id
        case "function_call_output":
            return item.function_call_output.id
        case "reasoning":
            return item.reasoning.id
        case "item_reference":
            return item.item_reference.id
        case "mcp_list_tools":
            return item.mcp_list_tools.id
        case "mcp_call":
            return item.mcp_call.id
        case "mcp_approval_request":
            return item.mcp_approval_request.id
        case "mcp_approval_response":
            return item.mcp_approval_response.id
        case _:
            return ""


def require_item_id(item: InputItem, position: int) -> str:
    """The item's ID; a ValueError when it has none, since stored items must carry one."""
    found = item_id(item)
    if not found:
        raise ValueError(f"input item at position {position} has no id")
    return found
