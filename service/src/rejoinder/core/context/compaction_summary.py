"""The summarising call of a compaction: the items as the model would be sent them (under the same
instructions), then one user message asking for the summary (`SUMMARY_REQUEST`). It is an upstream
call through the route's provider, so it is traced and measured as any model call is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rejoinder.core.run.chat_mapping import chat_messages_steps
from rejoinder.core.run.upstream_errors import as_api_error
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.pacing import run_paced
from rejoinder.providers import base as p
from rejoinder.providers.registry import Route
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.tools.base import Transcript

SUMMARY_REQUEST = (
    "Write a summary of the conversation so far that will replace it: a later turn sees only this "
    "summary. Keep every fact, name, number, decision, request, tool result and open question that "
    "may matter, and what the user is trying to do. Answer with the summary only."
)


@dataclass(frozen=True)
class SummaryInput:
    """What is summarised: the items (as sent to the model), under the request's instructions."""

    items: Sequence[InputItem]
    instructions: str | None = None
    transcripts: tuple[Transcript, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)
    prompt_cache_key: str | None = None


@dataclass(frozen=True)
class Summary:
    """The summary the model wrote, and the call's usage."""

    text: str
    usage: p.UsageDelta


def _empty() -> ApiError:
    return ApiError(ErrorKind.UPSTREAM, "The model wrote no summary for the compaction.")


async def summarise(route: Route, what: SummaryInput) -> Summary:
    """The model's summary of `what`. Raises `ApiError` (the upstream's failure, or no summary)."""
    steps = chat_messages_steps(what.items, what.instructions, what.transcripts, what.files)
    messages = (*await run_paced(steps), p.ChatMessage(role="user", content=SUMMARY_REQUEST))
    req = p.ChatRequest(
        model=route.upstream_model,
        messages=messages,
        stream=False,
        prompt_cache_key=what.prompt_cache_key,
    )
    pieces: list[str] = []
    usage = p.UsageDelta(0, 0)
    try:
        async for delta in route.provider.stream(req):
            if isinstance(delta, p.TextDelta):
                pieces.append(delta.text)
            elif isinstance(delta, p.UsageDelta):
                usage = p.UsageDelta(
                    usage.input_tokens + delta.input_tokens,
                    usage.output_tokens + delta.output_tokens,
                    usage.cached_tokens + delta.cached_tokens,
                    usage.reasoning_tokens + delta.reasoning_tokens,
                )
    except p.UpstreamError as exc:
        raise as_api_error(exc) from exc
    text = "".join(pieces).strip()
    if not text:
        raise _empty()
    return Summary(text, usage)
