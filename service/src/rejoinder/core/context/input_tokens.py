"""`POST /v1/responses/input_tokens` (`CountInputTokens`): the tokens of exactly the context a create
with the same body would send: the `previous_response_id` chain or the conversation, the input,
the instructions and the function tools, after `truncation` (an "auto" context is counted as it is
sent, without the turns it leaves out; a "disabled" one that does not fit is counted whole, not
refused). The model's tokenizer counts it where the service can reach one (vLLM, llama.cpp, the local
model); otherwise the count is the estimate of `providers/token_estimate.py`, and `estimated` says so.
Nothing is stored and no upstream completion is made."""

from __future__ import annotations

from google.protobuf import json_format

from rejoinder.core.checks.validation import ValidatedRequest
from rejoinder.core.context.compaction_auto import TRIGGER
from rejoinder.core.run.deps import Deps
from rejoinder.core.run.prepare import prepare
from rejoinder.errors import invalid
from rejoinder.responses.v1.responses_service_pb2 import (
    CountInputTokensRequest,
    CountInputTokensResponse,
    CreateRequest,
)

OBJECT = "response.input_tokens"


def as_create(req: CountInputTokensRequest) -> CreateRequest:
    """The create request whose context `req` asks to count (unstored, unstreamed): every field of
    `req` is a create field of the same name, so it is copied by name, presence included."""
    out = CreateRequest(store=False, stream=False)
    json_format.ParseDict(json_format.MessageToDict(req, preserving_proto_field_name=True), out)
    return out


async def count_input_tokens(deps: Deps, vreq: ValidatedRequest, tenant: str) -> CountInputTokensResponse:
    """The count of what a create of `vreq` would send (see the module docstring). Raises `ApiError`.

    A trailing `compaction_trigger` is refused: a create with one calls the model to summarise, and a
    count never calls the model (nor is it charged to the tenant's rate limits as a summary is)."""
    items = vreq.input_items
    if items and items[-1].WhichOneof("item") == TRIGGER:
        raise invalid(
            "A 'compaction_trigger' item asks for a summary, which counting does not make: count the "
            "input without it.",
            param=f"input[{len(items) - 1}]",
        )
    prepared = await prepare(deps, vreq, tenant, exact=True)
    count = prepared.count
    assert count is not None  # an exact fit always counts
    return CountInputTokensResponse(object=OBJECT, input_tokens=count.tokens, estimated=not count.exact)
