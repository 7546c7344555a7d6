"""Validation and shorthand expansion of input items and tools."""

from __future__ import annotations

from collections.abc import Sequence

from rejoinder.errors import clip, invalid
from rejoinder.pacing import Steps, run_sync
from rejoinder.responses.v1.content_pb2 import Content, InputText, MessageContent, OutputText
from rejoinder.responses.v1.items_pb2 import Input, InputItem, Message
from rejoinder.store.items import item_id

ROLES = ("user", "assistant", "system", "developer")
IMAGE_DETAIL = ("auto", "low", "high", "original")


def missing(param: str) -> Exception:
    return invalid(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def _expand_content(content: MessageContent, role: str) -> MessageContent:
    """String content becomes one part: `output_text` for the assistant, `input_text` otherwise."""
    if content.WhichOneof("content") != "text":
        return content
    out = MessageContent()
    if role == "assistant":
        out.parts.items.append(Content(output_text=OutputText(text=content.text)))
    else:
        out.parts.items.append(Content(input_text=InputText(text=content.text)))
    return out


def _default_details(content: MessageContent) -> None:
    for part in content.parts.items:
        if part.WhichOneof("part") == "input_image" and not part.input_image.detail:
            part.input_image.detail = "auto"


def expand_item(item: InputItem) -> InputItem:
    """A message with string content gets one part; an image part its default `detail`."""
    if item.WhichOneof("item") != "message":
        return item
    copy = InputItem()
    copy.CopyFrom(item)
    copy.message.content.CopyFrom(_expand_content(item.message.content, item.message.role))
    _default_details(copy.message.content)
    return copy


def expand_input_steps(value: Input) -> Steps[tuple[InputItem, ...]]:
    """`input` as a list of items; a string becomes one user message with one `input_text` part."""
    kind = value.WhichOneof("input")
    if kind is None:
        return ()
    if kind == "text":  # made in place (not made and copied in: ~4 us of a request's CPU)
        item = InputItem()
        item.message.role = "user"
        item.message.content.parts.items.add().input_text.text = value.text
        return (item,)
    items: list[InputItem] = []
    for item in value.items.items:
        items.append(expand_item(item))
        yield
    return tuple(items)


def expand_input(value: Input) -> tuple[InputItem, ...]:
    """`expand_input_steps` at once."""
    return run_sync(expand_input_steps(value))


def _check_part(part: Content, param: str, role: str) -> None:
    kind = part.WhichOneof("part")
    if kind is None:
        raise missing(f"{param}.type")
    if kind in ("output_text", "refusal") and role != "assistant":
        raise invalid(
            f"Invalid value: '{kind}'. Supported values are: 'input_text', 'input_image', and 'input_file'.",
            param=f"{param}.type",
            code="invalid_value",
        )
    if kind == "input_image":
        image = part.input_image
        if not image.HasField("image_url") and not image.HasField("file_id"):
            raise missing(f"{param}.image_url")
        if image.detail and image.detail not in IMAGE_DETAIL:
            raise invalid(
                f"Invalid value: '{clip(image.detail)}'.", param=f"{param}.detail", code="invalid_value"
            )
    if kind == "input_file":
        f = part.input_file
        if not (f.HasField("file_data") or f.HasField("file_url") or f.HasField("file_id")):
            raise missing(f"{param}.file_data")


def _check_message(msg: Message, param: str) -> None:
    if msg.role not in ROLES:
        listed = ", ".join(f"'{r}'" for r in ROLES)
        raise invalid(
            f"Invalid value: '{clip(msg.role)}'. Supported values are: {listed}.",
            param=f"{param}.role",
            code="invalid_value",
        )
    if msg.content.WhichOneof("content") is None:
        raise missing(f"{param}.content")
    for j, part in enumerate(msg.content.parts.items):
        _check_part(part, f"{param}.content[{j}]", msg.role)


def _check_function_call(item: InputItem, param: str) -> None:
    call = item.function_call
    for name, value in (("call_id", call.call_id), ("name", call.name)):
        if not value:
            raise missing(f"{param}.{name}")


def _check_function_call_output(item: InputItem, param: str) -> None:
    if not item.function_call_output.call_id:
        raise missing(f"{param}.call_id")
    if item.function_call_output.output.WhichOneof("output") is None:
        raise missing(f"{param}.output")


def _check_item_reference(item: InputItem, param: str) -> None:
    if not item.item_reference.id:
        raise missing(f"{param}.id")


def _check_echoed_item(item: InputItem, param: str) -> None:
    """An output item given back as input (an MCP listing, call or approval request) keeps its ID: the
    server made it and gives it no new one."""
    if not item_id(item):
        raise missing(f"{param}.id")


FILE_SEARCH_STATUSES = ("in_progress", "searching", "completed", "incomplete", "failed")


def _check_file_search_call(item: InputItem, param: str) -> None:
    """A `file_search_call` given back, as OpenAI's `ResponseFileSearchToolCallParam` requires it: its
    `id`, `queries` and a known `status` (`results` may be absent)."""
    call = item.file_search_call
    if not call.id:
        raise missing(f"{param}.id")
    if not call.queries:
        raise missing(f"{param}.queries")
    if not call.status:
        raise missing(f"{param}.status")
    if call.status not in FILE_SEARCH_STATUSES:
        listed = ", ".join(f"'{s}'" for s in FILE_SEARCH_STATUSES)
        raise invalid(
            f"Invalid value: '{clip(call.status)}'. Supported values are: {listed}.",
            param=f"{param}.status",
            code="invalid_value",
        )


def _check_compaction(item: InputItem, param: str) -> None:
    """A compaction item carries its token (whether it is one of ours is checked with the context)."""
    if not item.compaction.encrypted_content:
        raise missing(f"{param}.encrypted_content")


_ITEM_CHECKS = {
    "message": lambda item, param: _check_message(item.message, param),
    "mcp_list_tools": _check_echoed_item,
    "mcp_call": _check_echoed_item,
    "mcp_approval_request": _check_echoed_item,
    "file_search_call": _check_file_search_call,
    "function_call": _check_function_call,
    "function_call_output": _check_function_call_output,
    "item_reference": _check_item_reference,
    "compaction": _check_compaction,
}


def check_input_items_steps(items: Sequence[InputItem], param: str = "input") -> Steps[None]:
    """Each item has what its type requires (errors name `param[i]...`); a `compaction_trigger` is the
    last item, as OpenAI requires."""
    for i, item in enumerate(items):
        kind = item.WhichOneof("item")
        if kind is None:
            raise missing(f"{param}[{i}].type")
        if kind == "compaction_trigger" and i != len(items) - 1:
            raise invalid(
                "A 'compaction_trigger' item must be the final input item.",
                param=f"{param}[{i}]",
                code="invalid_value",
            )
        check = _ITEM_CHECKS.get(kind)
        if check is not None:
            check(item, f"{param}[{i}]")
        yield


def check_input_items(items: Sequence[InputItem], param: str = "input") -> None:
    """`check_input_items_steps` at once."""
    run_sync(check_input_items_steps(items, param))
