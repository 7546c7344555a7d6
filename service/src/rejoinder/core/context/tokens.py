"""How many tokens a context is, and how many the model's window leaves it.

Two cheap checks come before any count. First the bytes: a token of a byte-level BPE or byte-fallback
tokenizer covers at least one byte of the text, so a context whose bytes (items, instructions, file
text, tool definitions) plus `TEMPLATE_TOKENS_PER_ITEM` for each item's template markup are within the
budget fits, whatever the model; nothing is built or estimated then. Then the estimate.
Counting a prompt with the upstream's tokenizer is an HTTP call (vLLM's and llama.cpp's tokenize
routes), so a create does not make it when the estimate (`providers/token_estimate.py`) shows a wide
margin: `QUICK_FIT_FACTOR` times the estimate still within the budget. The estimate follows cl100k;
models with a smaller vocabulary spend up to about 1.5x its tokens on English, so twice the estimate
within the budget fits whatever the tokenizer. Only a context past half its budget is counted by the
upstream, and `POST /v1/responses/input_tokens` always is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rejoinder.providers import base as p
from rejoinder.providers.token_estimate import estimate_chat_tokens

QUICK_FIT_FACTOR = 2
TEMPLATE_TOKENS_PER_ITEM = 16
"""Room for a chat template's markup around each item (role headers, separators, special tokens)."""
DEFAULT_RESERVED_OUTPUT = 1024
"""Tokens kept free for the answer when the request sets no `max_output_tokens` (a quarter of the
window instead, when that is less)."""


class TokenCounter(Protocol):
    """What counts a chat request's prompt (a `Provider`)."""

    async def count_tokens(self, req: p.ChatRequest) -> p.TokenCount:
        """The prompt's tokens, exact or estimated."""
        ...


@dataclass(frozen=True)
class Window:
    """A model's context window and the part of it kept for the output."""

    tokens: int
    reserved_output: int

    @property
    def budget(self) -> int:
        """The most tokens the input may take."""
        return max(self.tokens - self.reserved_output, 0)


def window_of(context_window: int | None, max_output_tokens: int | None) -> Window | None:
    """The window a request works in: None when the model's context window is unknown (nothing is
    checked then). The output's share is `max_output_tokens` when the request sets it, else
    `DEFAULT_RESERVED_OUTPUT` or a quarter of the window, whichever is less."""
    if context_window is None:
        return None
    reserved = max_output_tokens
    if reserved is None:
        reserved = min(DEFAULT_RESERVED_OUTPUT, context_window // 4)
    return Window(context_window, reserved)


def fits_by_bytes(text_bytes: int, items: int, budget: int) -> bool:
    """Whether a context of `text_bytes` bytes in `items` items fits `budget` tokens on any tokenizer
    (see the module docstring)."""
    return text_bytes + TEMPLATE_TOKENS_PER_ITEM * (items + 1) <= budget


async def count_prompt(
    counter: TokenCounter, chat: p.ChatRequest, budget: int | None, *, exact: bool = False
) -> p.TokenCount:
    """`chat`'s prompt tokens: the estimate when it fits `budget` by a wide margin (or there is no
    budget) and `exact` is not asked for, else the counter's count (see the module docstring)."""
    estimate = estimate_chat_tokens(chat)
    if not exact and (budget is None or estimate * QUICK_FIT_FACTOR <= budget):
        return p.TokenCount(estimate, exact=False)
    return await counter.count_tokens(chat)
