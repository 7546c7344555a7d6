"""Logging: every line a call causes carries that call's request id.

The request id is Envoy's `x-request-id` (kept from the client or made by Envoy), read once per call by
`api.calls`; a direct gRPC call without one gets a short id of its own. It lives in a context variable,
so each call's task (and a background run started from it) logs its own id. Lines logged outside any
call show "-".
"""

from __future__ import annotations

import logging
import secrets
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("rejoinder_request_id", default="-")
REQUEST_ID_HEADER = "x-request-id"
MAX_ID_CHARS = 128
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Puts the current call's request id on each record, as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record."""
        record.request_id = REQUEST_ID.get()
        return True


def bind_request_id(sent: str | bytes | None) -> str:
    """Make `sent` (or a new id when none came) the current call's request id; returns it."""
    text = sent.decode(errors="replace") if isinstance(sent, bytes) else sent
    request_id = (text or "")[:MAX_ID_CHARS] or f"grpc-{secrets.token_hex(8)}"
    REQUEST_ID.set(request_id)
    return request_id


def configure(level: str) -> None:
    """Log to stderr at `level`, each line with its request id."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdFilter())
