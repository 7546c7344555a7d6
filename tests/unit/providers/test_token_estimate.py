"""The token estimate of a chat request (for upstreams without a tokenizer), its parts and its rule."""

from __future__ import annotations

from rejoinder.providers.base import ChatMessage, ChatRequest, FunctionTool, ImagePart, TextPart, ToolCall
from rejoinder.providers.token_estimate import (
    PER_IMAGE,
    PER_MESSAGE,
    REPLY_PRIMING,
    estimate_chat_tokens,
    estimate_message_tokens,
)
from rejoinder.vectors.chunking import estimate_tokens


def test_a_message_is_its_text_and_its_markup() -> None:
    text = "The quick brown fox jumps over the lazy dog."
    assert estimate_message_tokens(ChatMessage("user", text)) == PER_MESSAGE + estimate_tokens(text)
    assert estimate_message_tokens(ChatMessage("user", None)) == PER_MESSAGE


def test_parts_calls_and_reasoning_count_images_flat() -> None:
    parts = (TextPart("Describe this."), ImagePart("data:image/png;base64,AAAA"))
    assert estimate_message_tokens(ChatMessage("user", parts)) == (
        PER_MESSAGE + estimate_tokens("Describe this.") + PER_IMAGE
    )
    call = ChatMessage("assistant", None, (ToolCall("c1", "lookup", '{"q": "tides"}'),), reasoning="Check.")
    assert estimate_message_tokens(call) > PER_MESSAGE + estimate_tokens('{"q": "tides"}')


def test_a_request_adds_the_reply_priming_and_its_tools() -> None:
    bare = ChatRequest(model="m", messages=(ChatMessage("user", "hi"),))
    tooled = ChatRequest(
        model="m",
        messages=bare.messages,
        tools=(FunctionTool("lookup", "Looks things up", {"type": "object", "properties": {"q": {}}}),),
    )
    assert estimate_chat_tokens(bare) == REPLY_PRIMING + estimate_message_tokens(bare.messages[0])
    assert estimate_chat_tokens(tooled) > estimate_chat_tokens(bare)
