"""The text a response wrote, without walking its items by hand."""

from __future__ import annotations

from ..rejoinder.responses.v1 import Response


def output_text(response: Response) -> str:
    """Every `output_text` part of the response's output messages, joined in order (OpenAI's
    `response.output_text`); refusals, reasoning and tool calls are not text."""
    return "".join(
        part.output_text.text
        for item in response.output
        if item.message is not None
        for part in item.message.content
        if part.output_text is not None
    )
