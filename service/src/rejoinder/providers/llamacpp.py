"""llama.cpp's server (`llama-server --jinja`), per its `tools/server/README.md`.

- Reasoning arrives in `reasoning_content` when the server parses it (`--reasoning-format auto`, the
  default, or `deepseek`). With `--reasoning-format none`, or a template it cannot parse, the thoughts
  stay in `content` as `<think>...</think>`: this adapter splits them out into `ReasoningDelta`s,
  streaming-safe (`think_tags`). With `deepseek-legacy` both come (tags kept in `content` and
  `reasoning_content` filled): once `reasoning_content` has been seen in a response, the tagged copy
  is dropped from the text instead of being reported twice.
- A response that starts inside thinking without an opening tag (a template that opens `<think>` in
  the prompt) is not documented for the OpenAI endpoint, so it is not guessed at: such text is text.
  Run those models with a reasoning format that parses them.
- Reasoning is accepted back on assistant messages as `reasoning_content` (the server reads it from
  each message, and `--reasoning-preserve` keeps it in the history).
- `reasoning_effort`: "none" turns thinking off, other values go to the chat template.
- `tool_choice` is read as a string only ("auto", "none", "required"; a function object is ignored and
  becomes "auto"). A named choice is therefore sent as `required` with only that function in `tools`,
  which forces exactly that call.
- `parallel_tool_calls` is honored on templates that support it (off by default there); `image_url`
  takes remote URLs and data URLs when the server has a multimodal projector.
- The server refuses `logprobs` with `tools` on a streamed request ("logprobs is not supported with
  tools + stream", `tools/server/server-common.cpp`), so such a request is sent unstreamed: the same
  deltas come, all at the end, rather than an error or silently missing logprobs.
- Older servers put usage in the chunk carrying `finish_reason`; newer ones send it, only when asked,
  in a last chunk with `choices: []`. The generic decoder takes both.
- Tokens are counted by the server, in two calls at its root: `POST /apply-template` renders the
  messages (and tools) with the model's chat template into `{"prompt"}`, and `POST /tokenize` with
  `{"content": prompt, "add_special": false, "parse_special": true}` answers `{"tokens": [...]}`
  (the template writes the BOS text itself). The context window is `n_ctx` of `GET /props`
  (`default_generation_settings.n_ctx`), fetched with the model list.
- Prompt caching: the server reuses the KV cache of a slot's previous prompt when `cache_prompt` is
  true (its default, sent explicitly); it has no `prompt_cache_key`, which is left out. Newer servers
  report the reused tokens in `usage.prompt_tokens_details.cached_tokens`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import replace

from rejoinder.providers.base import (
    Capabilities,
    ChatDelta,
    ChatRequest,
    FinishDelta,
    NamedToolChoice,
    ReasoningDelta,
    TextDelta,
    TokenCount,
    UpstreamError,
    UpstreamModel,
    UsageDelta,
)
from rejoinder.providers.chat_wire import JsonObject, messages_json
from rejoinder.providers.openai_compat import DeltaFilter, OpenAICompatProvider
from rejoinder.providers.think_tags import Segment, ThinkTagSplitter

CAPABILITIES = Capabilities(
    reasoning_field="reasoning_content",
    accepts_reasoning_input=True,
    reasoning_effort=True,
    tool_choice_forcing=True,
    parallel_tool_calls=True,
    logprobs=True,
    response_format=True,
    images=True,
)


UNSENT = frozenset({"prompt_cache_key", "prompt_cache_retention"})


def _n_ctx(props: Mapping[str, object]) -> int | None:
    settings = props.get("default_generation_settings")
    found = settings.get("n_ctx") if isinstance(settings, dict) else None
    if found is None:
        found = props.get("n_ctx")
    return found if isinstance(found, int) and not isinstance(found, bool) and found > 0 else None


class ThinkTagFilter:
    """Splits inline think tags out of one response's `TextDelta`s.

    Content is one string whatever else the chunks carry, so other deltas pass through untouched;
    text is held back only while it may be the start of a tag (a few characters), and the end of the
    response (usage or the finish, which come last) releases it. The logprobs of a text delta go with
    the visible text it yields, if any (reasoning tokens are not output text).
    """

    def __init__(self) -> None:
        self._splitter = ThinkTagSplitter()
        self._server_reasoning = False

    def feed(self, delta: ChatDelta) -> list[ChatDelta]:
        """The deltas `delta` releases."""
        if isinstance(delta, TextDelta):
            return self._deltas(self._splitter.feed(delta.text), delta)
        if isinstance(delta, ReasoningDelta):
            self._server_reasoning = True
        if isinstance(delta, UsageDelta | FinishDelta):
            return [*self.close(), delta]
        return [delta]

    def close(self) -> list[ChatDelta]:
        """What the splitter still holds."""
        return self._deltas(self._splitter.finish(), None)

    def _deltas(self, segments: list[Segment], source: TextDelta | None) -> list[ChatDelta]:
        out: list[ChatDelta] = []
        logprobs = source.logprobs if source else ()
        for segment in segments:
            if segment.kind == "text":
                out.append(TextDelta(segment.text, logprobs))
                logprobs = ()
            elif not self._server_reasoning:
                out.append(ReasoningDelta(segment.text))
        return out


class LlamaCppProvider(OpenAICompatProvider):
    """A llama.cpp server."""

    def stream(self, req: ChatRequest) -> AsyncGenerator[ChatDelta, None]:
        """As the generic adapter; logprobs with tools are fetched unstreamed (see the module notes)."""
        if req.stream and req.logprobs and req.tools:
            req = replace(req, stream=False)
        return super().stream(req)

    def _body(self, req: ChatRequest) -> JsonObject:
        choice = req.tool_choice
        if isinstance(choice, NamedToolChoice):
            only = tuple(t for t in req.tools if t.name == choice.name)
            if only:
                req = replace(req, tools=only, tool_choice="required")
        body = {k: v for k, v in super()._body(req).items() if k not in UNSENT}
        return body | {"cache_prompt": True}

    async def models(self) -> list[UpstreamModel]:
        """The listed models, each with the server's `n_ctx` (from `/props`) as its context window
        when the server says it."""
        listed = await super().models()
        try:
            n_ctx = _n_ctx(await self._side_json("/props"))
        except UpstreamError:
            n_ctx = None
        return [replace(m, context_window=n_ctx) for m in listed] if n_ctx else listed

    async def _upstream_count(self, req: ChatRequest) -> TokenCount | None:
        body = self._body(req)
        template: JsonObject = {"messages": messages_json(req.messages, self.capabilities)}
        if "tools" in body:
            template["tools"] = body["tools"]
        prompt = (await self._side_json("/apply-template", template)).get("prompt")
        if not isinstance(prompt, str):
            raise UpstreamError("protocol", "upstream /apply-template answered without a prompt")
        tokenize: JsonObject = {"content": prompt, "add_special": False, "parse_special": True}
        tokens = (await self._side_json("/tokenize", tokenize)).get("tokens")
        if not isinstance(tokens, list):
            raise UpstreamError("protocol", "upstream /tokenize answered without tokens")
        return TokenCount(len(tokens), exact=True)

    def _delta_filter(self) -> DeltaFilter:
        return ThinkTagFilter()
