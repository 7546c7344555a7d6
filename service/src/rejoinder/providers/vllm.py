"""vLLM's OpenAI-compatible server (`vllm serve ... --reasoning-parser X`).

Nothing in vLLM's chat completions needs a body or stream change beyond the generic adapter, so this
adapter is a declaration:

- Reasoning arrives in `reasoning` (vLLM renamed it from `reasoning_content`: the v0.10 docs still say
  `reasoning_content`, the v0.11.2 docs say `reasoning` "used to be called reasoning_content"). The
  decoder reads either field, so every version decodes; `reasoning_field` names the one written back.
- Reasoning is accepted back on assistant messages as `reasoning` ("the reasoning content for
  interleaved thinking": `CustomChatCompletionMessageParam` in `vllm/entrypoints/chat_utils.py`, and the
  docs' `features/interleaved_thinking.md` example appends `"reasoning": message.reasoning`). Servers
  older than the rename ignore it; set `accepts_reasoning_input = false` (or `reasoning_field =
  "reasoning_content"`) for those.
- `reasoning_effort` is a request field of `ChatCompletionRequest`
  (`vllm/entrypoints/openai/chat_completion/protocol.py`; none..high, xhigh and max in current
  versions, low/medium/high in older ones), handed to the chat template.
- `parallel_tool_calls` (default true), named and `required` `tool_choice`, `logprobs`,
  `response_format` and `image_url` parts are all request fields there too.
- Tool calls stream OpenAI-style: a header fragment with id and name, then argument fragments; usage
  comes last with `choices: []` when `stream_options.include_usage` is set.
"""

from __future__ import annotations

from rejoinder.providers.base import Capabilities
from rejoinder.providers.openai_compat import OpenAICompatProvider

CAPABILITIES = Capabilities(
    reasoning_field="reasoning",
    accepts_reasoning_input=True,
    reasoning_effort=True,
    tool_choice_forcing=True,
    parallel_tool_calls=True,
    logprobs=True,
    response_format=True,
    images=True,
)


class VLLMProvider(OpenAICompatProvider):
    """A vLLM server; the generic adapter with vLLM's capabilities."""
