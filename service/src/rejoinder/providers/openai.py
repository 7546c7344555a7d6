"""OpenAI's own chat completions (`https://api.openai.com/v1`).

OpenAI never returns reasoning text over chat completions: reasoning models think, count it in
`usage.completion_tokens_details.reasoning_tokens`, and return only the answer. The capabilities say
so plainly (`reasoning_field=None`, nothing accepted back), rather than pretending a field exists; the
reasoning token count still reaches `UsageDelta.reasoning_tokens`.

Requests send `max_completion_tokens`: OpenAI deprecated `max_tokens` for it, and its reasoning models
reject `max_tokens`. `reasoning_effort` is sent as given, except our "max" (a vLLM/DeepSeek value),
which OpenAI knows as "xhigh". Everything else is the generic adapter.

Prompt caching: `prompt_cache_key` and `prompt_cache_retention` ("in_memory", "24h") are chat
completions fields of OpenAI's and go as given; `usage.prompt_tokens_details.cached_tokens` comes
back. Chat completions has no token-counting route, so counts are the estimate of `token_estimate`
(labelled so).
"""

from __future__ import annotations

from dataclasses import replace

from rejoinder.providers.base import Capabilities, ChatRequest
from rejoinder.providers.chat_wire import JsonObject
from rejoinder.providers.openai_compat import OpenAICompatProvider

CAPABILITIES = Capabilities(
    reasoning_field=None,
    accepts_reasoning_input=False,
    reasoning_effort=True,
    tool_choice_forcing=True,
    parallel_tool_calls=True,
    logprobs=True,
    response_format=True,
    images=True,
)


class OpenAIProvider(OpenAICompatProvider):
    """api.openai.com."""

    def _body(self, req: ChatRequest) -> JsonObject:
        if req.reasoning_effort == "max":
            req = replace(req, reasoning_effort="xhigh")
        body = super()._body(req)
        return {("max_completion_tokens" if k == "max_tokens" else k): v for k, v in body.items()}
