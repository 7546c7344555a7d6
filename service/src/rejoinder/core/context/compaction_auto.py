"""`context_management: [{"type": "compaction", "compact_threshold": N}]` on a create: when the context
the model would be sent counts more than N tokens, the service compacts it before calling the model.

The oldest part is summarised: every item before the newest turn (the newest user message and what
follows it), as the model would be sent them. The model is then sent the summary (a developer message,
see `compaction.py`) and the newest turn; the response's output starts with the compaction item, whose
token keeps the summary and the newest turn, so a later request along `previous_response_id`, a
conversation or a client's own list of items is sent the same. The stored history keeps every item.

A `compaction_trigger` as the last input item compacts at once, whatever the count: every item before
it is summarised (nothing is kept verbatim), the compaction item is the response's whole output and the
model is not called to answer (as OpenAI's Codex uses it: send the trigger, collect the one compaction
item). The trigger is a request marker: never sent to the model, and not stored among the response's
input items nor added to a conversation (OpenAI's item listings have no `compaction_trigger` type).

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
from rejoinder.core.context.compaction_summary import Summary, SummaryInput, summarise
from rejoinder.core.context.sealing import ReasoningSealer
from rejoinder.core.context.tokens import count_prompt, window_of
from rejoinder.core.ids import IdGenerator
from rejoinder.core.run.chat_mapping import TurnInput, paced_chat_request
from rejoinder.errors import invalid
from rejoinder.providers.registry import Route
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.tools.registry import ToolKinds

KIND = "compaction"
TRIGGER = "compaction_trigger"
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
        if ctx.new_items and ctx.new_items[-1].WhichOneof("item") == TRIGGER:
            return await self._triggered(vreq, ctx, route, files)
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
        summary = await self._summarise(vreq, ctx, route, files, head)
        token = seal(sealer, Compaction(summary.text, kept))
        item = compaction_output(self.ids.new(ID_PREFIX), token)
        sent = (summary_item(summary.text), *kept)
        return replace(ctx, sent=sent, compacted=Compacted(item, summary.usage))

    async def _triggered(
        self, vreq: ValidatedRequest, ctx: Context, route: Route, files: Mapping[str, str]
    ) -> Context:
        """`ctx` with every item before its trailing `compaction_trigger` compacted into the response's
        whole output. Raises 400 naming the trigger when nothing comes before it or the server has no
        keys, `ApiError` when the summarising call fails."""
        param = f"input[{max(len(vreq.input_items) - 1, 0)}]"
        head = tuple(ctx.model_items[:-1])  # the trigger is last, as sent too
        if not head:
            raise invalid("There is nothing before the 'compaction_trigger' item to compact.", param=param)
        sealer = compaction_sealer(self.sealer, param)
        summary = await self._summarise(vreq, ctx, route, files, head)
        item = compaction_output(self.ids.new(ID_PREFIX), seal(sealer, Compaction(summary.text)))
        compacted = Compacted(item, summary.usage, final=True)
        return replace(
            ctx, new_items=ctx.new_items[:-1], sent=(summary_item(summary.text),), compacted=compacted
        )

    async def _summarise(
        self,
        vreq: ValidatedRequest,
        ctx: Context,
        route: Route,
        files: Mapping[str, str],
        head: Sequence[InputItem],
    ) -> Summary:
        params = vreq.params
        return await summarise(
            route,
            SummaryInput(
                head,
                ctx.instructions,
                self.tools.transcripts(head),
                files,
                params.prompt_cache_key if params.HasField("prompt_cache_key") else None,
            ),
        )
