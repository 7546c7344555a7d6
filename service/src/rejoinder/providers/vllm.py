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
- Tokens are counted by the server: `POST /tokenize` (at the server's root, beside `/v1`) takes the
  chat request's `model`, `messages` and `tools` with `add_generation_prompt` and answers
  `{"count", "max_model_len", "tokens"}` (`TokenizeChatRequest` in vLLM's tokenize protocol): the
  prompt the chat template renders, exactly. `GET /v1/models` lists each model's `max_model_len`,
  which the model catalog keeps as its context window.
- Prompt caching: vLLM's automatic prefix caching reuses any shared prefix with no hint, and the
  server has no `prompt_cache_key` (it would log it as an ignored field), so the key and its retention
  are left out of the body. (`cache_salt` isolates prefix caches between users; nothing maps to it.)
  `usage.prompt_tokens_details.cached_tokens` is reported when the server runs with
  `--enable-prompt-tokens-details`.
"""

from __future__ import annotations

from rejoinder.providers.base import Capabilities, ChatRequest, TokenCount, UpstreamError
from rejoinder.providers.chat_wire import JsonObject, messages_json
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


UNSENT = frozenset({"prompt_cache_key", "prompt_cache_retention"})


class VLLMProvider(OpenAICompatProvider):
    """A vLLM server; the generic adapter with vLLM's capabilities and its tokenizer."""

    def _body(self, req: ChatRequest) -> JsonObject:
        return {k: v for k, v in super()._body(req).items() if k not in UNSENT}

    async def _upstream_count(self, req: ChatRequest) -> TokenCount | None:
        body = self._body(req)
        tokenize: JsonObject = {
            "model": body["model"],
            "messages": messages_json(req.messages, self.capabilities),
            "add_generation_prompt": True,
        }
        if "tools" in body:
            tokenize["tools"] = body["tools"]
        answer = await self._side_json("/tokenize", tokenize)
        count = answer.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise UpstreamError("protocol", "upstream /tokenize answered without a count")
        return TokenCount(count, exact=True)
