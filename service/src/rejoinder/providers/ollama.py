"""Ollama's OpenAI-compatible endpoint (`http://host:11434/v1`).

What differs from the generic adapter (Ollama `openai/openai.go` and `docs/api/openai-compatibility.mdx`):

- Reasoning ("thinking") arrives in `reasoning`, on deltas and on the message, and is accepted back on
  assistant messages in the same field (`Message.Reasoning` becomes the message's `Thinking`).
- `reasoning_effort` becomes Ollama's `think` value. Older servers accept only "high", "medium", "low"
  and "none" ("none" turns thinking off) and answer anything else with a 400, so the effort is mapped
  onto those four: "minimal" -> "low", "xhigh" and "max" -> "high". When the request sets no effort
  the field is left out and the model's default applies: thinking is on by default for the models
  that support it (`docs/capabilities/thinking.mdx`), and gpt-oss cannot turn it off at all.
- The docs list `tool_choice` and logprobs as unsupported and the request type has no
  `parallel_tool_calls`, so those capabilities are off (and the generic adapter leaves those fields
  out of the body).
- Images: base64 `data:` URLs only ("Image URL" is unsupported); `response_format` json_object and
  json_schema are honored.
- Tokens: Ollama has no tokenize route, so counts are the estimate of `token_estimate` (labelled so).
  Its context window is the model's `num_ctx` option, which the OpenAI endpoint does not list:
  configure it (`context_window` on the model).
- Prompt caching: Ollama keeps the last prompt's KV cache of a loaded model and reuses the shared
  prefix by itself; there is no `prompt_cache_key`, which is left out.
- Tool calls arrive whole, one complete call per `tool_calls` entry, never in argument fragments; the
  normalized stream is the same as for chunked calls, one `ToolCallDelta` carrying everything.
"""

from __future__ import annotations

from dataclasses import replace

from rejoinder.providers.base import Capabilities, ChatRequest
from rejoinder.providers.chat_wire import JsonObject
from rejoinder.providers.openai_compat import OpenAICompatProvider

CAPABILITIES = Capabilities(
    reasoning_field="reasoning",
    accepts_reasoning_input=True,
    reasoning_effort=True,
    tool_choice_forcing=False,
    parallel_tool_calls=False,
    logprobs=False,
    response_format=True,
    images=True,
)


def ollama_effort(effort: str) -> str:
    """The `reasoning_effort` every Ollama version accepts for one of ours."""
    match effort:
        case "minimal":
            return "low"
        case "xhigh" | "max":
            return "high"
        case _:
            return effort


class OllamaProvider(OpenAICompatProvider):
    """An Ollama server."""

    def _body(self, req: ChatRequest) -> JsonObject:
        effort = req.reasoning_effort
        req = replace(req, reasoning_effort=ollama_effort(effort) if effort else None, prompt_cache_key=None)
        return super()._body(replace(req, prompt_cache_retention=None))
