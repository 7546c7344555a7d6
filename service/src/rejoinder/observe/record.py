"""What one call did, filled in as it goes and read once when it ends (access log line, metrics).

The api layer opens a record per RPC (`api.calls`) and makes it the current one (a context variable: each
call's task has its own); the code on the call's path adds to it through `current()`: the tenant, the
model and provider, time to first token, tokens, the error. Outside a call `current()` is a record that
nobody reads, so callers never check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from rejoinder.errors import ApiError


@dataclass
class CallRecord:
    """One RPC: who, what, how it ended, how long it took."""

    surface: str = "grpc"  # "rest" (through the HttpBody bridge) or "grpc"
    route: str = ""  # the RPC's method name, e.g. "CreateResponse", "StreamCreate"
    request_id: str = "-"
    tenant: str = ""
    model: str = ""  # as the client named it (clipped), when the call made a response
    provider: str = ""
    status: str = ""  # HTTP status over REST, gRPC code name over gRPC; "" until the call ends
    error_code: str = ""
    stream: bool = False
    started: float = field(default_factory=time.perf_counter)
    first_token_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    trace_id: str = ""
    on_stream: Callable[[int], None] | None = None  # told +1 when the call starts streaming, -1 at its end

    def streaming(self) -> None:
        """The call answers with a stream (counted among the active streams until it ends)."""
        if not self.stream:
            self.stream = True
            if self.on_stream is not None:
                self.on_stream(1)

    def ended(self) -> None:
        """The call is over."""
        if self.stream and self.on_stream is not None:
            self.on_stream(-1)

    def failed(self, err: ApiError, status: str) -> None:
        """The call ends with `err` (its wire status `status`)."""
        self.status = status
        self.error_code = err.code or err.kind.value

    def first_token(self) -> None:
        """The first token of the response went out now (the first one only counts)."""
        if self.first_token_s is None:
            self.first_token_s = time.perf_counter() - self.started

    def tokens(self, input_tokens: int, output_tokens: int, reasoning_tokens: int) -> None:
        """What the upstream reported for the response."""
        self.input_tokens, self.output_tokens = input_tokens, output_tokens
        self.reasoning_tokens = reasoning_tokens


_CURRENT: ContextVar[CallRecord | None] = ContextVar("rejoinder_call_record", default=None)


def begin(record: CallRecord) -> CallRecord:
    """Make `record` the current call's."""
    _CURRENT.set(record)
    return record


def current() -> CallRecord:
    """The current call's record (outside a call: a fresh one that nobody reads)."""
    found = _CURRENT.get()
    return found if found is not None else CallRecord()
