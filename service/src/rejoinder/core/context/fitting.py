"""A response's context fitted to its model's window: the chat request each candidate set of items
would be (instructions, function tools, the items as chat messages), counted, and truncated as the
request's `truncation` says (core/context/truncation.py). The context is fitted when the response
starts (`fit_context`), and again before each later turn of its tool loop (`fit_turn`), when the
outputs of tools have joined it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from rejoinder.core.checks.validation import ValidatedRequest
from rejoinder.core.context.assemble import Context
from rejoinder.core.context.tokens import Window, fits_by_bytes, window_of
from rejoinder.core.context.truncation import fit
from rejoinder.core.run.chat_mapping import TurnInput, paced_chat_request
from rejoinder.providers import base as p
from rejoinder.providers.registry import Route
from rejoinder.providers.token_estimate import tool_json_bytes
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
    not asked for). `exact`: count with the model's tokenizer, and return an overflowing context as
    it is, counted, instead of raising (the input_tokens count). Raises `ApiError` 400
    `context_length_exceeded`.

    Served tools' definitions (MCP servers' tools, file_search) are added later, in the run: they
    are counted from the second turn on (`fit_turn`), not here."""
    window = _window(vreq, route)
    if not exact and (window is None or _fits_by_bytes(vreq, ctx, files, window.budget)):
        return ctx, None

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
        ctx.model_items, window, _truncation(vreq), chat_of, route.provider, exact=exact, strict=not exact
    )  # a compacted context (`ctx.sent`) is fitted as it is sent
    return replace(ctx, sent=fitted.items if fitted.dropped else ctx.sent), fitted.count


async def fit_turn(vreq: ValidatedRequest, turn: TurnInput, route: Route) -> p.ChatRequest:
    """The chat request of a later turn of the tool loop, its items fitted to the window as the first
    turn's were: "auto" leaves out more of the oldest turns (never this response's own items: they
    are in the newest turn), "disabled" raises `ApiError` 400 `context_length_exceeded` (which the
    run reports in band: its first byte is long gone)."""
    window = _window(vreq, route)
    size = _bytes(vreq, (*turn.prompt, *turn.items), turn.instructions, turn.files, turn.extra_tools)
    if window is None or fits_by_bytes(size, len(turn.prompt) + len(turn.items), window.budget):
        return await paced_chat_request(vreq, turn)

    async def chat_of(items: Sequence[InputItem]) -> p.ChatRequest:
        return await paced_chat_request(vreq, replace(turn, items=tuple(items)))

    fitted = await fit(turn.items, window, _truncation(vreq), chat_of, route.provider)
    return await chat_of(fitted.items)


def _window(vreq: ValidatedRequest, route: Route) -> Window | None:
    params = vreq.params
    most = params.max_output_tokens if params.HasField("max_output_tokens") else None
    return window_of(route.context_window, most)


def _truncation(vreq: ValidatedRequest) -> str:
    params = vreq.params
    return params.truncation if params.HasField("truncation") else "disabled"


def _fits_by_bytes(vreq: ValidatedRequest, ctx: Context, files: Mapping[str, str], budget: int) -> bool:
    """Whether the context's bytes alone show it fits (`tokens.fits_by_bytes`)."""
    items = (*ctx.prompt_items, *ctx.model_items)  # a prompt template's messages are sent too
    return fits_by_bytes(_bytes(vreq, items, ctx.instructions, files), len(items), budget)


def _bytes(
    vreq: ValidatedRequest,
    items: Sequence[InputItem],
    instructions: str | None,
    files: Mapping[str, str],
    extra_tools: Sequence[p.FunctionTool] = (),
) -> int:
    """The bytes of what a context sends: items, tools (the request's and served ones), instructions
    and the text of input files."""
    size = sum(item.ByteSize() for item in items) + sum(tool.ByteSize() for tool in vreq.params.tools)
    size += sum(tool_json_bytes(tool) for tool in extra_tools)
    return size + len((instructions or "").encode()) + sum(len(text.encode()) for text in files.values())
