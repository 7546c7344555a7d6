"""The context of a response: the `previous_response_id` chain, then this request's input.

Everything here is OpenAI-shaped items; turning them into provider messages is `chat_mapping`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rejoinder.core.ids import IdGenerator
from rejoinder.core.sealing import ReasoningSealer, SealError
from rejoinder.core.validation import ValidatedRequest
from rejoinder.errors import clip, invalid
from rejoinder.responses.v1.content_pb2 import Content, MessageContent, ReasoningText
from rejoinder.responses.v1.items_pb2 import InputItem, Message, OutputItem
from rejoinder.store.base import UNFINISHED, ChainLink, ResponseStore
from rejoinder.store.items import item_id

ID_PREFIX = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "reasoning": "rs",
    "mcp_approval_response": "mcpa",
}


@dataclass(frozen=True)
class Context:
    """What the model sees: earlier items, then the new ones (with IDs), under `instructions`; and the
    tenant whose request it is (its chain is that tenant's, and so is the response it makes)."""

    history: tuple[InputItem, ...]
    new_items: tuple[InputItem, ...]
    instructions: str | None
    tenant: str = ""

    @property
    def items(self) -> tuple[InputItem, ...]:
        """History and new items, in order."""
        return self.history + self.new_items


def output_as_input(item: OutputItem) -> InputItem:
    """An output item as it is fed back to the model on a later turn."""
    kind = item.WhichOneof("item")
    if kind == "function_call":
        return InputItem(function_call=item.function_call)
    if kind == "reasoning":
        return InputItem(reasoning=item.reasoning)
    if kind == "mcp_list_tools":
        return InputItem(mcp_list_tools=item.mcp_list_tools)
    if kind == "mcp_call":
        return InputItem(mcp_call=item.mcp_call)
    if kind == "mcp_approval_request":
        return InputItem(mcp_approval_request=item.mcp_approval_request)
    out = item.message
    parts = MessageContent()
    for part in out.content:
        if part.WhichOneof("part") == "refusal":
            parts.parts.items.append(Content(refusal=part.refusal))
        else:
            parts.parts.items.append(Content(output_text=part.output_text))
    return InputItem(message=Message(id=out.id, role="assistant", content=parts, status=out.status))


def with_id(item: InputItem, ids: IdGenerator) -> InputItem:
    """The item with a new ID (and a `completed` status where it has one) when it has none."""
    kind = item.WhichOneof("item")
    if kind is None or item_id(item) or kind not in ID_PREFIX:
        return item
    copy = InputItem()
    copy.CopyFrom(item)
    new = ids.new(ID_PREFIX[kind])
    if kind == "message":
        copy.message.id = new
        copy.message.status = copy.message.status or "completed"
    elif kind == "function_call":
        copy.function_call.id = new
        copy.function_call.status = copy.function_call.status or "completed"
    elif kind == "function_call_output":
        copy.function_call_output.id = new
        copy.function_call_output.status = copy.function_call_output.status or "completed"
    elif kind == "reasoning":
        copy.reasoning.id = new
    else:
        copy.mcp_approval_response.id = new
    return copy


def _history(chain: Sequence[ChainLink]) -> list[InputItem]:
    items: list[InputItem] = []
    for link in chain:
        items.extend(link.input_items)
        items.extend(output_as_input(o) for o in link.response.output)
    return items


def _resolve(items: Sequence[InputItem], known: dict[str, InputItem]) -> list[InputItem]:
    resolved: list[InputItem] = []
    for i, item in enumerate(items):
        if item.WhichOneof("item") != "item_reference":
            resolved.append(item)
            continue
        target = known.get(item.item_reference.id)
        if target is None:
            raise invalid(
                f"Item with id '{clip(item.item_reference.id)}' not found.",
                param=f"input[{i}].id",
                code="item_not_found",
            )
        resolved.append(target)
    return resolved


def _check_call_outputs(items: Sequence[InputItem]) -> None:
    calls = {i.function_call.call_id for i in items if i.WhichOneof("item") == "function_call"}
    for item in items:
        if item.WhichOneof("item") != "function_call_output":
            continue
        call_id = item.function_call_output.call_id
        if call_id not in calls:
            raise invalid(
                f"No tool call found for function call output with call_id {call_id}.",
                param="input",
                code="function_call_output_without_call",
            )


def _check_approvals(history: Sequence[InputItem], new_items: Sequence[InputItem]) -> None:
    everything = [*history, *new_items]
    requests = {
        i.mcp_approval_request.id for i in everything if i.WhichOneof("item") == "mcp_approval_request"
    }
    answered = {
        i.mcp_approval_response.approval_request_id
        for i in history
        if i.WhichOneof("item") == "mcp_approval_response"
    }
    for n, item in enumerate(new_items):
        if item.WhichOneof("item") != "mcp_approval_response":
            continue
        request_id = item.mcp_approval_response.approval_request_id
        if request_id not in requests or request_id in answered:
            raise invalid(
                f"No pending MCP approval request with id '{clip(request_id)}'.",
                param=f"input[{n}].approval_request_id",
                code="approval_request_not_found",
            )
        answered.add(request_id)


def _unseal(items: Sequence[InputItem], sealer: ReasoningSealer | None) -> list[InputItem]:
    """Reasoning sent back encrypted gets its text again (for the model; the token stays)."""
    out: list[InputItem] = []
    for i, item in enumerate(items):
        if item.WhichOneof("item") != "reasoning" or not item.reasoning.HasField("encrypted_content"):
            out.append(item)
            continue
        param = f"input[{i}].encrypted_content"
        if sealer is None:
            raise invalid("Encrypted reasoning is not configured on this server.", param=param)
        try:
            parts = sealer.open(item.reasoning.encrypted_content)
        except SealError as exc:
            raise invalid(
                f"The encrypted content could not be verified: {exc}.",
                param=param,
                code="invalid_encrypted_content",
            ) from exc
        copy = InputItem()
        copy.CopyFrom(item)
        del copy.reasoning.content[:]
        copy.reasoning.content.extend(ReasoningText(text=t) for t in parts)
        out.append(copy)
    return out


async def assemble(
    vreq: ValidatedRequest,
    store: ResponseStore,
    ids: IdGenerator,
    sealer: ReasoningSealer | None = None,
    tenant: str = "",
    conversation: Sequence[InputItem] = (),
) -> Context:
    """Load the chain (or take the conversation's items), resolve item references, give new items IDs
    and check call outputs."""
    history: list[InputItem] = list(conversation)
    prev = vreq.params.previous_response_id if vreq.params.HasField("previous_response_id") else None
    if prev:
        chain = await store.load_chain(prev, tenant=tenant)
        if chain is None:
            raise invalid(
                f"Previous response with id '{clip(prev)}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        if chain[-1].response.status in UNFINISHED:
            raise invalid(
                f"Previous response with id '{clip(prev)}' is still {chain[-1].response.status}: wait "
                "until it finishes (or cancel it) before continuing from it.",
                param="previous_response_id",
                code="previous_response_not_finished",
            )
        history = _history(chain)
    known = {item_id(i): i for i in history if item_id(i)}
    new_items = tuple(with_id(i, ids) for i in _unseal(_resolve(vreq.input_items, known), sealer))
    _check_call_outputs([*history, *new_items])
    _check_approvals(history, new_items)
    instructions = vreq.params.instructions if vreq.params.HasField("instructions") else None
    return Context(history=tuple(history), new_items=new_items, instructions=instructions, tenant=tenant)
