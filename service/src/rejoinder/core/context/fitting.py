"""A response's context fitted to its model's window: the chat request each candidate set of items
would be (instructions, function tools, the items as chat messages), counted, and truncated as the
request's `truncation` says (core/context/truncation.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from rejoinder.core.checks.validation import ValidatedRequest
from rejoinder.core.context.assemble import Context
from rejoinder.core.context.tokens import fits_by_bytes, window_of
from rejoinder.core.context.truncation import fit
from rejoinder.core.run.chat_mapping import TurnInput, paced_chat_request
from rejoinder.providers import base as p
from rejoinder.providers.registry import Route
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.tools.registry import ToolKinds


async def fit_context(
    vreq: ValidatedRequest,
    ctx: Context,
    route: Route,
    files: Mapping[str, str],
    tools: ToolKinds,
    *,
    exact: bool = False,
) -> tuple[Context, p.TokenCount | None]:
    """`ctx` with what is sent (`Context.sent`) fitted to the window, and the count of what is sent
    (None when nothing was counted: no window is known, or the bytes show it fits, and `exact` was
    not asked for). `exact`:
    count with the model's tokenizer, and return an overflowing context as it is, counted, instead
    of raising (the input_tokens count). Raises `ApiError` 400 `context_length_exceeded`.

    Served tools' definitions (MCP servers' tools, file_search) are added later, in the run: they
    are not part of the count."""
    params = vreq.params
    most = params.max_output_tokens if params.HasField("max_output_tokens") else None
    window = window_of(route.context_window, most)
    if not exact and (window is None or _fits_by_bytes(vreq, ctx, files, window.budget)):
        return ctx, None
    truncation = params.truncation if params.HasField("truncation") else "disabled"

    async def chat_of(items: Sequence[InputItem]) -> p.ChatRequest:
        turn = TurnInput(
            items,
            ctx.instructions,
            route.upstream_model,
            transcripts=tools.transcripts(items),
            files=files,
            prompt=ctx.prompt_items,
        )
        return await paced_chat_request(vreq, turn)

    fitted = await fit(
        ctx.model_items, window, truncation, chat_of, route.provider, exact=exact, strict=not exact
    )  # a compacted context (`ctx.sent`) is fitted as it is sent
    return replace(ctx, sent=fitted.items if fitted.dropped else ctx.sent), fitted.count


def _fits_by_bytes(vreq: ValidatedRequest, ctx: Context, files: Mapping[str, str], budget: int) -> bool:
    """Whether the context's bytes alone show it fits (`tokens.fits_by_bytes`)."""
    items = (*ctx.prompt_items, *ctx.model_items)  # a prompt template's messages are sent too
    size = sum(item.ByteSize() for item in items) + sum(tool.ByteSize() for tool in vreq.params.tools)
    size += len((ctx.instructions or "").encode()) + sum(len(text.encode()) for text in files.values())
    return fits_by_bytes(size, len(items), budget)
