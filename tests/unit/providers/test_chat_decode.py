"""Chat completions bodies as other OpenAI clients write them, read into a `ChatRequest`."""

from __future__ import annotations

import pytest

from rejoinder.errors import ApiError
from rejoinder.pacing import run_sync
from rejoinder.providers.base import ChatMessage, ChatRequest
from rejoinder.providers.chat_server.decode import IncomingChat, decode_steps

HELLO = [{"role": "user", "content": "Hello"}]


def decode(**body: object) -> IncomingChat:
    return run_sync(decode_steps({"model": "m", "messages": HELLO} | body))


def test_a_minimal_body_is_a_non_streamed_request_with_defaults() -> None:
    assert decode() == IncomingChat(ChatRequest("m", (ChatMessage("user", "Hello"),), stream=False), False)


def test_null_is_unset() -> None:
    nulls = dict.fromkeys(
        ["temperature", "top_p", "max_tokens", "tools", "tool_choice", "logprobs", "stream"]
    )

    assert decode(**nulls) == decode()


def test_max_completion_tokens_wins_over_the_older_max_tokens() -> None:
    assert decode(max_tokens=10).request.max_output_tokens == 10
    assert decode(max_tokens=10, max_completion_tokens=20).request.max_output_tokens == 20


def test_an_assistant_reasoning_is_read_from_either_usual_key() -> None:
    for key in ("reasoning_content", "reasoning"):
        messages = [{"role": "assistant", "content": "Hi", key: "Greet back."}]
        assert decode(messages=messages).request.messages[0].reasoning == "Greet back."


def test_usage_is_asked_for_only_by_a_stream() -> None:
    options = {"include_usage": True}

    assert decode(stream=True, stream_options=options).include_usage is True
    assert decode(stream=False, stream_options=options).include_usage is False
    assert decode(stream=True).include_usage is False


def test_metadata_and_unknown_keys() -> None:
    decoded = decode(metadata={"team": "a"}, seed=7, n=1)

    assert decoded.request.metadata == {"team": "a"}


def test_metadata_values_must_be_strings() -> None:
    with pytest.raises(ApiError) as caught:
        decode(metadata={"count": 3})

    assert caught.value.param == "metadata.count"
    assert caught.value.code == "invalid_type"
