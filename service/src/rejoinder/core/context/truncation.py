"""`truncation`: fitting a context into the model's window.

With "disabled" (OpenAI's default) a context whose count exceeds the budget (the window less the
output's share, `tokens.window_of`) is a 400 `context_length_exceeded`, before the upstream is called.
With "auto" the oldest items are left out until it fits, by whole turns:

- system and developer messages (and compaction items) are never left out, nor are `instructions`
  (they are not items: they always lead the context);
- a turn starts at a user message and runs to the next one; the newest turn (the newest user message
  and all after it) is always sent;
- a turn that answers a call of an earlier turn (a `function_call_output`, an MCP approval) joins
  that turn, so a call and its output go or stay together; reasoning, MCP calls and other tool
  items stay with the turn they belong to.

When even the newest turn does not fit, the request fails as with "disabled". What is left out is
only not sent: the stored response and conversation keep every item.

Dropping is guided by each turn's share of the serialized items' bytes (scaled by the counted tokens
per byte) and checked by counting again, so an upstream tokenizer is called a few times at most.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from rejoinder.core.context.tokens import TokenCounter, Window, count_prompt
from rejoinder.errors import ApiError, invalid
from rejoinder.providers import base as p
from rejoinder.responses.v1.items_pb2 import InputItem

PINNED_ROLES = ("system", "developer")
PINNED_KINDS = ("compaction",)
ESCALATE_AFTER = 2
"""Rounds of dropping by the byte estimate before each round's estimated excess doubles."""

ChatOf = Callable[[Sequence[InputItem]], Awaitable[p.ChatRequest]]
"""The chat request that these items (under the request's instructions and tools) would be sent as."""


@dataclass(frozen=True)
class Fitted:
    """The items to send, their count, and how many items were left out."""

    items: tuple[InputItem, ...]
    count: p.TokenCount
    dropped: int = 0


def context_length_exceeded() -> ApiError:
    """OpenAI's 400 for an input that does not fit the model's context window."""
    return invalid(
        "Your input exceeds the context window of this model. Please adjust your input and try again.",
        param="input",
        code="context_length_exceeded",
    )


async def fit(  # noqa: PLR0913 - each is one named part of the decision
    items: Sequence[InputItem],
    window: Window | None,
    truncation: str,
    chat_of: ChatOf,
    counter: TokenCounter,
    *,
    exact: bool = False,
    strict: bool = True,
) -> Fitted:
    """The items to send (see the module docstring). `exact`: always count with the counter (else a
    wide margin takes the estimate); `strict`: raise `context_length_exceeded` when nothing fits
    (else return what would be sent, counted, as `POST /v1/responses/input_tokens` does)."""
    budget = window.budget if window is not None else None
    count = await count_prompt(counter, await chat_of(items), budget, exact=exact)
    if budget is None or count.tokens <= budget:
        return Fitted(tuple(items), count)
    if truncation == "auto":
        fitted = await _dropping(items, budget, count, chat_of, counter)
        if fitted.count.tokens <= budget:
            return fitted
    else:
        fitted = Fitted(tuple(items), count)
    if strict:
        raise context_length_exceeded()
    return fitted


async def _dropping(
    items: Sequence[InputItem], budget: int, count: p.TokenCount, chat_of: ChatOf, counter: TokenCounter
) -> Fitted:
    """Leave out the oldest droppable turns until the count fits `budget` (or none is left)."""
    turns = droppable_turns(items)
    sizes = [sum(items[i].ByteSize() for i in turn) for turn in turns]
    per_byte = count.tokens / max(sum(item.ByteSize() for item in items), 1)
    dropped: set[int] = set()
    fitted = Fitted(tuple(items), count)
    taken, rounds = 0, 0
    while fitted.count.tokens > budget and taken < len(turns):
        excess = (fitted.count.tokens - budget) * 2 ** max(rounds - ESCALATE_AFTER, 0)
        while True:  # at least one more turn each round
            dropped.update(turns[taken])
            excess -= sizes[taken] * per_byte
            taken += 1
            if excess <= 0 or taken == len(turns):
                break
        kept = tuple(item for i, item in enumerate(items) if i not in dropped)
        fitted = Fitted(kept, await count_prompt(counter, await chat_of(kept), budget), len(dropped))
        rounds += 1
    return fitted


def droppable_turns(items: Sequence[InputItem]) -> list[list[int]]:
    """The indexes of `items` in the turns truncation may leave out, oldest first (see the module
    docstring): pinned items are in none, and the newest turn is not among them."""
    turns: list[list[int]] = []
    opened: dict[str, int] = {}  # a call's id -> the turn that made it
    for i, item in enumerate(items):
        kind = item.WhichOneof("item")
        if kind in PINNED_KINDS or (kind == "message" and item.message.role in PINNED_ROLES):
            continue
        if not turns or (kind == "message" and item.message.role == "user"):
            turns.append([])
        answered = _answers(item)
        start = opened.get(answered, len(turns) - 1) if answered else len(turns) - 1
        if start < len(turns) - 1:  # joins the turn of the call it answers, and every turn between
            turns[start:] = [[i for turn in turns[start:] for i in turn]]
            opened = {call: min(turn, start) for call, turn in opened.items()}
        turns[-1].append(i)
        call = _opens(item)
        if call:
            opened[call] = len(turns) - 1
    return turns[:-1]


def _opens(item: InputItem) -> str | None:
    """The id of the call an item makes that a later item answers."""
    kind = item.WhichOneof("item")
    if kind == "function_call":
        return item.function_call.call_id
    if kind == "mcp_approval_request":
        return item.mcp_approval_request.id
    return None


def _answers(item: InputItem) -> str | None:
    """The id of the call an item answers."""
    kind = item.WhichOneof("item")
    if kind == "function_call_output":
        return item.function_call_output.call_id
    if kind == "mcp_approval_response":
        return item.mcp_approval_response.approval_request_id
    return None
