"""Before a response runs: its route, and its context as a create sends it (the conversation or the
`previous_response_id` chain, the resolved prompt, files read, compaction, fitted to the model's
window). `input_tokens` counts the same context, and `compact` summarises it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from rejoinder.core.checks.validation import ValidatedRequest, at_most
from rejoinder.core.context.assemble import Context, assemble
from rejoinder.core.context.compaction_auto import Compactor
from rejoinder.core.context.files import file_texts, has_images
from rejoinder.core.context.fitting import fit_context
from rejoinder.core.conversations import missing_conversation
from rejoinder.core.prompts.resolve import ResolvedPrompt, resolve_prompt
from rejoinder.core.run.deps import Deps
from rejoinder.errors import clip, invalid
from rejoinder.providers import base as p
from rejoinder.providers.registry import Route
from rejoinder.responses.v1.items_pb2 import InputItem

ENCRYPTED_REASONING = "reasoning.encrypted_content"


async def _conversation_items(deps: Deps, vreq: ValidatedRequest, tenant: str) -> tuple[InputItem, ...]:
    """The items of the request's conversation (none without one). Raises 400 or 404."""
    if vreq.conversation_id is None:
        return ()
    if deps.conversations is None:
        raise invalid("Conversations are not enabled on this server.", param="conversation")
    items = await deps.conversations.conversation_items(vreq.conversation_id, tenant=tenant)
    if items is None:
        raise missing_conversation(vreq.conversation_id, "conversation")
    return items


@dataclass(frozen=True)
class Prepared:
    """A request's route, its context fitted to the model's window, its input files' text, and the
    count of what is sent (None when nothing was counted: see `fit_context`)."""

    route: Route
    ctx: Context
    files: Mapping[str, str]
    count: p.TokenCount | None


async def prepare(deps: Deps, vreq: ValidatedRequest, tenant: str, *, exact: bool = False) -> Prepared:
    """The route and the context of the tenant's request, as a create sends it. Raises `ApiError`
    (400 `context_length_exceeded` unless `exact`, which counts with the model's tokenizer instead:
    `fit_context`)."""
    route = deps.providers.resolve(vreq.params.model)
    if route.max_output_tokens is not None and vreq.params.HasField("max_output_tokens"):
        at_most(vreq.params.max_output_tokens, route.max_output_tokens, "max_output_tokens")
    if ENCRYPTED_REASONING in vreq.params.include and deps.sealer is None:
        raise invalid("Encrypted reasoning is not configured on this server.", param="include")
    with deps.observer.span("assemble_context"):
        conversation = await _conversation_items(deps, vreq, tenant)
        await deps.tools.admit(vreq.params.tools, tenant)
        prompt = await _prompt(deps, vreq, tenant)
        ctx = await assemble(vreq, deps.store, deps.ids, deps.sealer, tenant, conversation)
        if prompt is not None:  # (`replace` makes the context anew: ~4 us of a request's CPU)
            ctx = replace(ctx, prompt=prompt)
        if not route.provider.capabilities.images and await has_images((*ctx.prompt_items, *ctx.items)):
            raise invalid(
                f"The model '{clip(vreq.params.model)}' does not accept images.",
                param="input",
                code="images_not_supported",
            )
        files = await file_texts((*ctx.prompt_items, *ctx.items), deps.fetch)
        ctx = await Compactor(deps.tools, deps.ids, deps.sealer).when_needed(vreq, ctx, route, files)
        ctx, count = await fit_context(vreq, ctx, route, files, deps.tools, exact=exact)
    return Prepared(route, ctx, files, count)


async def _prompt(deps: Deps, vreq: ValidatedRequest, tenant: str) -> ResolvedPrompt | None:
    """The request's `prompt` resolved (None without one). Raises 400."""
    if not vreq.params.HasField("prompt"):
        return None
    if deps.prompts is None:
        raise invalid("Prompt templates are not enabled on this server.", param="prompt")
    return await resolve_prompt(deps.prompts, vreq.params.prompt, tenant=tenant)
