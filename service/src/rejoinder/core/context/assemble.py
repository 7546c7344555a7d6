"""The context of a response: the `previous_response_id` chain, then this request's input.

Everything here is OpenAI-shaped items; turning them into provider messages is `chat_mapping`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rejoinder.core.checks.validation import ValidatedRequest
from rejoinder.core.context.compaction import Compacted, compaction_sealer, model_view, open_token
from rejoinder.core.context.sealing import ReasoningSealer, SealError
from rejoinder.core.ids import IdGenerator
from rejoinder.core.prompts.resolve import ResolvedPrompt
from rejoinder.errors import clip, invalid
from rejoinder.pacing import Steps, run_paced
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
    "compaction": "cmp",
}


@dataclass(frozen=True)
class Context:
    """What the model sees: earlier items, then the new ones (with IDs), under `instructions`; and the
    tenant whose request it is (its chain is that tenant's, and so is the response it makes).

    `sent`: the items sent to the model when `truncation: "auto"` left some out to fit its window
    (core/context/truncation.py), or a compaction item stands in for earlier ones
    (core/context/compaction.py); None when every item goes. What is stored is always all of them.
    `compacted`: the compaction `context_management` made for this response (its output's first item)."""

    history: tuple[InputItem, ...]
    new_items: tuple[InputItem, ...]
    instructions: str | None
    tenant: str = ""
    sent: tuple[InputItem, ...] | None = None
    prompt: ResolvedPrompt | None = None  # the request's `prompt` resolved (core/prompts/resolve.py)
    compacted: Compacted | None = None

    @property
    def prompt_items(self) -> tuple[InputItem, ...]:
        """The resolved prompt's messages: they lead the context, before `instructions`, and like
        `instructions` are not items of the response (never stored, inherited or left out)."""
        return () if self.prompt is None else self.prompt.items

    @property
    def items(self) -> tuple[InputItem, ...]:
        """History and new items, in order."""
        return self.history + self.new_items

    @property
    def model_items(self) -> tuple[InputItem, ...]:
        """The items the model is given: `sent` when truncation left some out, else `items`."""
        return self.items if self.sent is None else self.sent


def output_as_input(item: OutputItem) -> InputItem:
    """An output item as it is fed back to the model on a later turn: an assistant message, or the same
    item (function calls, reasoning, server-side tools' items: `InputItem` has each `OutputItem` case
    but `message` under the same name)."""
    kind = item.WhichOneof("item")
    if kind is not None and kind != "message":
        return InputItem(**{kind: item.ListFields()[0][1]})
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
    elif kind == "compaction":
        copy.compaction.id = new
    else:
        copy.mcp_approval_response.id = new
    return copy


def _history_steps(chain: Sequence[ChainLink]) -> Steps[list[InputItem]]:
    items: list[InputItem] = []
    for link in chain:
        items.extend(link.input_items)
        items.extend(output_as_input(o) for o in link.response.output)
        yield
    return items


def _known_steps(history: Sequence[InputItem]) -> Steps[dict[str, InputItem]]:
    known: dict[str, InputItem] = {}
    for item in history:
        found = item_id(item)
        if found:
            known[found] = item
        yield
    return known


def _resolved(item: InputItem, i: int, known: dict[str, InputItem]) -> InputItem:
    if item.WhichOneof("item") != "item_reference":
        return item
    target = known.get(item.item_reference.id)
    if target is None:
        raise invalid(
            f"Item with id '{clip(item.item_reference.id)}' not found.",
            param=f"input[{i}].id",
            code="item_not_found",
        )
    return target


def _unsealed(item: InputItem, i: int, sealer: ReasoningSealer | None) -> InputItem:
    """Reasoning sent back encrypted gets its text again (for the model; the token stays)."""
    if item.WhichOneof("item") != "reasoning" or not item.reasoning.HasField("encrypted_content"):
        return item
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
    return copy


def _check_compaction(item: InputItem, i: int, sealer: ReasoningSealer | None) -> InputItem:
    """A compaction item sent back must be one of this server's, unaltered (400 otherwise)."""
    if item.WhichOneof("item") == "compaction":
        param = f"input[{i}].encrypted_content"
        open_token(compaction_sealer(sealer, param), item.compaction.encrypted_content, param)
    return item


def _new_items_steps(
    items: Sequence[InputItem], known: dict[str, InputItem], ids: IdGenerator, sealer: ReasoningSealer | None
) -> Steps[tuple[tuple[InputItem, ...], set[str | None]]]:
    """The request's items: references resolved, reasoning unsealed, compactions checked, each with an
    ID; and the kinds of item among them."""
    out: list[InputItem] = []
    kinds: set[str | None] = set()
    for i, item in enumerate(items):
        resolved = _check_compaction(_resolved(item, i, known), i, sealer)
        out.append(with_id(_unsealed(resolved, i, sealer), ids))
        kinds.add(resolved.WhichOneof("item"))
        yield
    return tuple(out), kinds


def _check_call_outputs_steps(items: Sequence[InputItem]) -> Steps[None]:
    calls: set[str] = set()
    for item in items:
        if item.WhichOneof("item") == "function_call":
            calls.add(item.function_call.call_id)
        yield
    for item in items:
        if (
            item.WhichOneof("item") == "function_call_output"
            and item.function_call_output.call_id not in calls
        ):
            raise invalid(
                "No tool call found for function call output with call_id "
                f"{clip(item.function_call_output.call_id)}.",
                param="input",
                code="function_call_output_without_call",
            )
        yield


def _check_approvals_steps(history: Sequence[InputItem], new_items: Sequence[InputItem]) -> Steps[None]:
    requests: set[str] = set()
    answered: set[str] = set()
    for item in (*history, *new_items):
        kind = item.WhichOneof("item")
        if kind == "mcp_approval_request":
            requests.add(item.mcp_approval_request.id)
        yield
    for item in history:
        if item.WhichOneof("item") == "mcp_approval_response":
            answered.add(item.mcp_approval_response.approval_request_id)
        yield
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
        history = await run_paced(_history_steps(chain))
    known = await run_paced(_known_steps(history)) if history else {}
    new_items, kinds = await run_paced(_new_items_steps(vreq.input_items, known, ids, sealer))
    if history or "function_call_output" in kinds:  # (each check is a pass over the context)
        await run_paced(_check_call_outputs_steps([*history, *new_items]))
    if "mcp_approval_response" in kinds:
        await run_paced(_check_approvals_steps(history, new_items))
    instructions = vreq.params.instructions if vreq.params.HasField("instructions") else None
    # New compaction items were checked above: one that fails here came with the stored history.
    stored = "conversation" if vreq.conversation_id is not None else "previous_response_id"
    sent = model_view((*history, *new_items), sealer, stored)
    return Context(
        history=tuple(history), new_items=new_items, instructions=instructions, tenant=tenant, sent=sent
    )
