"""One turn of the model: the upstream call, filtered by the tool policy, retried once when a
forced tool choice was ignored.

With a forced choice the deltas are held back until a matching call arrives, so nothing the
client would have to unsee is ever streamed; a turn that still ignores the choice after the
retry fails before the first byte.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import replace

from rejoinder.core.run.tool_policy import CallFilter, ToolPolicy
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.providers import base as p

ATTEMPTS = 2


def _offer(req: p.ChatRequest, offered: frozenset[str], choice: p.ToolChoice | None) -> p.ChatRequest:
    tools = tuple(t for t in req.tools if t.name in offered)
    choice = choice if tools else None
    if tools == req.tools and choice == req.tool_choice:
        return req  # (`replace` makes a 20-field dataclass anew: ~8 us)
    return replace(req, tools=tools, tool_choice=choice)


def _ignored(policy: ToolPolicy) -> ApiError:
    names = ", ".join(sorted(policy.forced or ()))
    return ApiError(
        ErrorKind.UPSTREAM,
        f"The model did not call a required tool ({names}) after a retry with forced tool_choice.",
        param="tool_choice",
        code="tool_choice_not_followed",
    )


async def _filtered(
    provider: p.Provider, req: p.ChatRequest, calls: CallFilter
) -> AsyncGenerator[p.ChatDelta, None]:
    upstream = provider.stream(req)
    try:
        async for delta in upstream:
            if isinstance(delta, p.ToolCallDelta) and not calls.admit(delta):
                continue
            yield delta
    finally:
        if isinstance(upstream, AsyncGenerator):
            await upstream.aclose()


def run_turn(
    provider: p.Provider, req: p.ChatRequest, policy: ToolPolicy, used_calls: int = 0
) -> AsyncGenerator[p.ChatDelta, None]:
    """The turn's deltas. Raises `UpstreamError`, or `ApiError` (before yielding anything) when a
    forced choice is ignored twice."""
    if policy.forced is None:  # the upstream's deltas, filtered: no layer in between
        calls = CallFilter(policy=policy, offered=policy.offered, used=used_calls)
        return _filtered(provider, _offer(req, policy.offered, policy.choice), calls)
    return _forced(provider, req, policy, used_calls)


async def _forced(
    provider: p.Provider, req: p.ChatRequest, policy: ToolPolicy, used_calls: int
) -> AsyncGenerator[p.ChatDelta, None]:
    """The deltas of a turn that must call a tool: held back until a matching call arrives."""
    offered, choice = policy.offered, policy.choice
    carried: list[p.ChatDelta] = []  # usage of ignored attempts, still counted
    for attempt in range(ATTEMPTS):
        calls = CallFilter(policy=policy, offered=offered, used=used_calls)
        held: list[p.ChatDelta] = list(carried)
        async for delta in _filtered(provider, _offer(req, offered, choice), calls):
            held.append(delta)
            if calls.matched:
                for earlier in held:
                    yield earlier
                held = []
        if calls.matched:
            for earlier in held:
                yield earlier
            return
        carried = [d for d in held if isinstance(d, p.UsageDelta)]
        if attempt + 1 < ATTEMPTS:
            offered, choice = policy.retry_choice()
    raise _ignored(policy)
