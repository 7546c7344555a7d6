"""The token estimate of a chat request, for upstreams that cannot count (OpenAI's and Ollama's chat
completions have no tokenize route) and for the quick "does it fit at all" check before a real count.

The rule, labelled an estimate wherever it is reported:

- text (message content, reasoning, a tool call's name and arguments, a tool's JSON definition) costs
  what `vectors.chunking.estimate_tokens` says: cl100k's pre-tokenizer split, 7 letters or 2 marks a
  token, a digit group one; measured at 1.01x cl100k_base on prose and code (see that module);
- each message costs `PER_MESSAGE` more (role and separators, as cl100k chat formats count them), the
  reply priming `REPLY_PRIMING`, each tool call `PER_TOOL_CALL`;
- an image part costs `PER_IMAGE` (OpenAI's flat charge for a low-detail image; a high-detail image
  costs more upstream, and a local model's projector differs again).

Models with a smaller vocabulary than cl100k (Llama 2, SmolLM) spend more tokens on the same text (up to
about 1.5x on English, more on code and other scripts): the estimate is a guide, not a bound.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from rejoinder.providers.base import ChatMessage, ChatRequest, FunctionTool, TextPart
from rejoinder.vectors.chunking import estimate_tokens

PER_MESSAGE = 3
REPLY_PRIMING = 3
PER_TOOL_CALL = 3
PER_IMAGE = 85


def estimate_message_tokens(msg: ChatMessage) -> int:
    """The estimated tokens of one chat message."""
    total = PER_MESSAGE
    content = msg.content
    if isinstance(content, str):
        total += estimate_tokens(content)
    elif content is not None:
        for part in content:
            total += estimate_tokens(part.text) if isinstance(part, TextPart) else PER_IMAGE
    for call in msg.tool_calls:
        total += PER_TOOL_CALL + estimate_tokens(call.name) + estimate_tokens(call.arguments)
    if msg.reasoning:
        total += estimate_tokens(msg.reasoning)
    return total


def _tool_json(tool: FunctionTool) -> bytes:
    definition = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return orjson.dumps(definition, default=_plain)


def estimate_tool_tokens(tool: FunctionTool) -> int:
    """The estimated tokens of one function's definition (its JSON, as templates render it)."""
    return estimate_tokens(_tool_json(tool).decode())


def tool_json_bytes(tool: FunctionTool) -> int:
    """The bytes of one function's definition as JSON."""
    return len(_tool_json(tool))


def estimate_chat_tokens(req: ChatRequest) -> int:
    """The estimated prompt tokens of `req` (see the module docstring)."""
    total = REPLY_PRIMING
    total += sum(estimate_message_tokens(m) for m in req.messages)
    total += sum(estimate_tool_tokens(t) for t in req.tools)
    return total


def _plain(value: object) -> object:
    """What orjson cannot write itself (a read-only mapping of a tool's parameters) as plain JSON."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
