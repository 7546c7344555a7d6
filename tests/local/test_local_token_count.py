"""The local model counts a request's prompt with its own chat template and tokenizer: the count is the
`input_tokens` its generation then reports; its context window is its `n_ctx`."""

from __future__ import annotations

from rejoinder.providers import base as p
from rejoinder.providers.local import LocalModelConfig, LocalProvider
from rejoinder.providers.token_estimate import estimate_chat_tokens
from tests.local.test_local_provider import WEATHER, collect, model_path

REQUEST = p.ChatRequest(
    model="smollm2-135m",
    messages=(
        p.ChatMessage("system", "You are terse."),
        p.ChatMessage("user", "What is the capital of France? Answer in a word."),
    ),
    tools=(WEATHER,),
    max_output_tokens=4,
)


async def test_the_count_is_the_prompt_the_model_then_reads() -> None:
    provider = LocalProvider(
        LocalModelConfig(model_path=model_path(), n_threads=1, n_ctx=2048), lambda _: None
    )
    try:
        before = await provider.count_tokens(REQUEST)  # not loaded yet: the estimate, said so
        await provider.load()
        counted = await provider.count_tokens(REQUEST)
        usage = [d for d in await collect(provider, REQUEST) if isinstance(d, p.UsageDelta)]
        listed = await provider.models()
    finally:
        await provider.aclose()

    assert before == p.TokenCount(estimate_chat_tokens(REQUEST), exact=False)
    assert counted.exact and counted.tokens == usage[0].input_tokens > 0
    assert [m.context_window for m in listed] == [2048]
