"""How long the HTTP adapters wait on an upstream, and the watchdog that enforces it on a response.

Three bounds, chosen per upstream in configuration (`connect_timeout_s`, `first_token_timeout_s`,
`idle_timeout_s`). The connect bound is the transport's own; the other two are kept by one `Watchdog`
per response, because the streaming read path is hot: a timeout around each read (`asyncio.timeout`,
`wait_for`) would cost a timer per chunk. Instead the reader stores the loop time before each read of
the body and clears it after (two attribute stores per chunk). The watchdog's single timer re-arms
itself when it fires and finds the deadline moved; when a deadline has passed it fails the pending read
with the `UpstreamError` and closes the response.

A slow consumer is not a silent upstream: while the stream waits for its consumer (between reads), no
read is pending and the idle clock does not run; it restarts when the next read begins, and data the
upstream sent meanwhile is already buffered. Before the first delta there is no consumer time at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from rejoinder.providers.base import UpstreamError


@dataclass(frozen=True)
class UpstreamTimeouts:
    """Seconds to wait on an upstream.

    `connect`: to open the TCP (and TLS) connection. `first_token`: from sending the request to the
    first delta of the answer, the response head and chunks that carry no delta included (the clock
    starts when the request is handed to the connection pool); for an answer that is one JSON body,
    the whole body. `idle`: after the first delta, the longest silence while a read of the body waits.
    """

    connect: float = 5.0
    first_token: float = 600.0
    idle: float = 600.0

    @classmethod
    def uniform(cls, seconds: float) -> UpstreamTimeouts:
        """The same bound for all three."""
        return cls(seconds, seconds, seconds)


def connect_timeout(timeouts: UpstreamTimeouts) -> UpstreamError:
    """The error for a connection that did not open in time."""
    return UpstreamError(
        "timeout", f"cannot connect to the upstream within {_s(timeouts.connect)} (connect_timeout_s)"
    )


def first_token_timeout(timeouts: UpstreamTimeouts) -> UpstreamError:
    """The error for an answer whose first delta did not come in time."""
    return UpstreamError(
        "timeout",
        f"no first token from the upstream within {_s(timeouts.first_token)} (first_token_timeout_s)",
    )


def idle_timeout(timeouts: UpstreamTimeouts) -> UpstreamError:
    """The error for an upstream that went silent after its first delta."""
    return UpstreamError(
        "timeout",
        f"the upstream sent nothing for {_s(timeouts.idle)} after its first token (idle_timeout_s)",
    )


def _s(seconds: float) -> str:
    return f"{seconds:.15g} s"


class Watchdog:
    """The first-token and idle deadlines of one response, on one timer (see the module docstring).

    Made when the request is sent (that starts the first-token clock); `watch` arms it once the head
    has arrived; the reader brackets each read of the body with `reading_since = clock()` and
    `reading_since = None`; `first_delta` switches to the idle bound; `cancel` must run when the
    response ends, however it ends.
    """

    __slots__ = (
        "_abort",
        "_handle",
        "_loop",
        "_timeouts",
        "clock",
        "first_token_deadline",
        "reading_since",
        "waiting_first",
    )

    def __init__(self, timeouts: UpstreamTimeouts) -> None:
        self._loop = asyncio.get_running_loop()
        self._timeouts = timeouts
        self.clock = self._loop.time
        self.first_token_deadline = self.clock() + timeouts.first_token
        self.waiting_first = True
        self.reading_since: float | None = None
        self._abort: Callable[[UpstreamError], None] | None = None
        self._handle: asyncio.TimerHandle | None = None

    def watch(self, abort: Callable[[UpstreamError], None]) -> None:
        """Arm the timer; at a deadline, `abort(error)` must fail the pending read with `error`."""
        self._abort = abort
        self._handle = self._loop.call_at(self.first_token_deadline, self._check)

    def first_delta(self) -> None:
        """The first delta is out: from now on only a silence longer than `idle` ends the response."""
        self.waiting_first = False
        self.cancel()
        self._handle = self._loop.call_at(self.clock() + self._timeouts.idle, self._check)

    def cancel(self) -> None:
        """Stop the timer (idempotent)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _check(self) -> None:
        now = self.clock()
        if self.waiting_first:
            due = self.first_token_deadline
        else:  # no read pending: the consumer has the turn, and that is not the upstream's silence
            since = self.reading_since
            due = (now if since is None else since) + self._timeouts.idle
        if now < due:
            self._handle = self._loop.call_at(due, self._check)
            return
        self._handle = None
        error = first_token_timeout(self._timeouts) if self.waiting_first else idle_timeout(self._timeouts)
        if self._abort is not None:
            self._abort(error)
