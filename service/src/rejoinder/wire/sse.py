"""Server-sent event frames as OpenAI sends them: `event: <type>\\ndata: <one-line json>\\n\\n`."""

from __future__ import annotations

import orjson

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


def frame(payload: dict[str, object]) -> bytes:
    """One SSE frame for an encoded event (which carries its own `type`)."""
    event_type = str(payload["type"]).encode()
    return b"event: " + event_type + b"\ndata: " + orjson.dumps(payload) + b"\n\n"
