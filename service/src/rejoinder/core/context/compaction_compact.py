"""`POST /v1/responses/compact` (`Compact`): the model summarises a context into one compaction item.

The context is the one a create with the same body would send (the `previous_response_id` chain, then
the input, under the instructions; a compaction item in it already stands in for what it replaced).
The reply's `output` is the new context, as OpenAI returns it: every user message of that context,
then the compaction item, whose token keeps the summary and those user messages; a client sends it
(plus its new input) as the next request's input. Nothing is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf import json_format

from rejoinder.core.checks.validation import ValidatedRequest
from rejoinder.core.context.compaction import ID_PREFIX, Compaction, compaction_sealer, seal
from rejoinder.core.context.compaction_auto import TRIGGER
from rejoinder.core.context.compaction_summary import SummaryInput, summarise
from rejoinder.core.run.deps import Deps
from rejoinder.core.run.prepare import prepare
from rejoinder.errors import clip, invalid
from rejoinder.observe.record import current
from rejoinder.providers import base as p
from rejoinder.responses.v1.items_pb2 import CompactionItem, InputItem
from rejoinder.responses.v1.response_pb2 import InputTokensDetails, OutputTokensDetails, Usage
from rejoinder.responses.v1.responses_service_pb2 import CompactRequest, CompactResponse, CreateRequest

OBJECT = "response.compaction"


def as_create(req: CompactRequest) -> CreateRequest:
    """The create request whose context `req` asks to compact (unstored, unstreamed): every field of
    `req` is a create field of the same name, so it is copied by name, presence included."""
    out = CreateRequest(store=False, stream=False)
    json_format.ParseDict(json_format.MessageToDict(req, preserving_proto_field_name=True), out)
    return out


def _user_messages(items: Sequence[InputItem]) -> tuple[InputItem, ...]:
    return tuple(i for i in items if i.WhichOneof("item") == "message" and i.message.role == "user")


def _usage(delta: p.UsageDelta) -> Usage:
    return Usage(
        input_tokens=delta.input_tokens,
        output_tokens=delta.output_tokens,
        total_tokens=delta.input_tokens + delta.output_tokens,
        input_tokens_details=InputTokensDetails(cached_tokens=delta.cached_tokens),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=delta.reasoning_tokens),
    )


async def compact(deps: Deps, vreq: ValidatedRequest, tenant: str) -> CompactResponse:
    """The compacted context of `vreq` (see the module docstring). Raises `ApiError`."""
    sealer = compaction_sealer(deps.sealer, None)  # compacting needs keys, whatever the body
    items_in = vreq.input_items
    if items_in and items_in[-1].WhichOneof("item") == TRIGGER:  # compact compacts already
        raise invalid(
            "A 'compaction_trigger' item belongs in a create's input: compact always compacts.",
            param=f"input[{len(items_in) - 1}]",
        )
    record = current()  # the call's access line: its model and tokens
    record.model = clip(vreq.params.model)
    prepared = await prepare(deps, vreq, tenant)
    ctx, route = prepared.ctx, prepared.route
    items = ctx.model_items
    params = vreq.params
    summary = await summarise(
        route,
        SummaryInput(
            items,
            ctx.instructions,
            deps.tools.transcripts(items),
            prepared.files,
            params.prompt_cache_key if params.HasField("prompt_cache_key") else None,
        ),
    )
    usage = summary.usage
    record.tokens(usage.input_tokens, usage.output_tokens, usage.reasoning_tokens)
    deps.observer.tokens(record)
    kept = _user_messages(items)
    token = seal(sealer, Compaction(summary.text, kept))
    item = CompactionItem(id=deps.ids.new(ID_PREFIX), encrypted_content=token)
    return CompactResponse(
        id=deps.ids.new("resp"),
        object=OBJECT,
        created_at=int(deps.clock.now()),
        output=[*kept, InputItem(compaction=item)],
        usage=_usage(usage),
    )
