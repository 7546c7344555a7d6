"""`context_management: [{"type": "compaction", "compact_threshold": N}]` on a create: when the context
the model would be sent counts more than N tokens, the service compacts it before calling the model.

The oldest part is summarised: every item before the newest turn (the newest user message and what
follows it), as the model would be sent them. The model is then sent the summary (a developer message,
see `compaction.py`) and the newest turn; the response's output starts with the compaction item, whose
token keeps the summary and the newest turn, so a later request along `previous_response_id`, a
conversation or a client's own list of items is sent the same. The stored history keeps every item.

Without `compact_threshold` the threshold is `DEFAULT_SHARE` of the model's input budget (its context
window less the output's share: `tokens.window_of`); with no known window, nothing is compacted.
The count is `tokens.count_prompt`'s: the estimate when it is far below the threshold, else the
model's tokenizer where the service can reach one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from rejoinder.core.checks.validation import ValidatedRequest
from rejoinder.core.context.assemble import Context
from rejoinder.core.context.compaction import (
    ID_PREFIX,
    Compacted,
    Compaction,
    compaction_output,
    compaction_sealer,
    seal,
    summary_item,
)
from rejoinder.core.context.compaction_summary import SummaryInput, summarise
from rejoinder.core.context.sealing import ReasoningSealer
from rejoinder.core.context.tokens import count_prompt, window_of
from rejoinder.core.ids import IdGenerator
from rejoinder.core.run.chat_mapping import TurnInput, paced_chat_request
from rejoinder.providers.registry import Route
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.tools.registry import ToolKinds

KIND = "compaction"
DEFAULT_SHARE = 0.8
"""The threshold without `compact_threshold`: this share of the model's input budget."""


def threshold_of(params: CreateRequest, context_window: int | None) -> int | None:
    """The request's compaction threshold; None when it asks for none (or gives no threshold and the
    model's window is unknown)."""
    for entry in params.context_management:
        if entry.type != KIND:
            continue
        if entry.HasField("compact_threshold"):
            return entry.compact_threshold
        most = params.max_output_tokens if params.HasField("max_output_tokens") else None
        window = window_of(context_window, most)
        return None if window is None else int(window.budget * DEFAULT_SHARE)
    return None


def newest_turn(items: Sequence[InputItem]) -> int:
    """Where the newest turn starts: the index of the newest user message (0 without one)."""
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if item.WhichOneof("item") == "message" and item.message.role == "user":
            return i
    return 0


@dataclass(frozen=True)
class Compactor:
    """Compacts a create's context when it is over the request's threshold."""

    tools: ToolKinds
    ids: IdGenerator
    sealer: ReasoningSealer | None

    async def when_needed(
        self, vreq: ValidatedRequest, ctx: Context, route: Route, files: Mapping[str, str]
    ) -> Context:
        """`ctx` compacted (`Context.sent` the summary and the newest turn, `Context.compacted` the
        output item) when it is over the threshold, else `ctx`. Raises `ApiError` (the summarising
        call failed, or the server has no keys to seal with)."""
        threshold = threshold_of(vreq.params, route.context_window)
        if threshold is None:
            return ctx
        items = ctx.model_items
        turn = TurnInput(
            items,
            ctx.instructions,
            route.upstream_model,
            transcripts=self.tools.transcripts(items),
            files=files,
            prompt=ctx.prompt_items,
        )
        count = await count_prompt(route.provider, await paced_chat_request(vreq, turn), threshold)
        start = newest_turn(items)
        if count.tokens <= threshold or start == 0:
            return ctx
        sealer = compaction_sealer(self.sealer, "context_management")
        head, kept = items[:start], tuple(items[start:])
        params = vreq.params
        summary = await summarise(
            route,
            SummaryInput(
                head,
                ctx.instructions,
                self.tools.transcripts(head),
                files,
                params.prompt_cache_key if params.HasField("prompt_cache_key") else None,
            ),
        )
        token = seal(sealer, Compaction(summary.text, kept))
        item = compaction_output(self.ids.new(ID_PREFIX), token)
        sent = (summary_item(summary.text), *kept)
        return replace(ctx, sent=sent, compacted=Compacted(item, summary.usage))
