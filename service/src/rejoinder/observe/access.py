"""One access line per call (shared/OBSERVABILITY.md "Logs"), on the logger `rejoinder.access`.

The line's fields: request_id (Envoy's `x-request-id`, which Envoy's own access log carries too, so the
two join), trace_id, tenant, surface, route, model, provider, status, error_code, duration_ms,
first_token_ms, input/output/reasoning tokens. Never a prompt, an output or a key. With
`--log-format json` every log line is one JSON object and these are its keys; as text they follow the
message as `key=value`.

Where `rejoinder serve` configured the logs (`logs.AccessLine`), the lines of calls that succeeded are
written in batches, at most `FLUSH_S` after their call ended, several in one write: formatting and writing
a line as each call ends cost a non-stream create about 20 us of CPU, its code cold in the caches between
two requests, against a few us in a batch (bench/README.md). Each line keeps the time its call ended. A
call that did not succeed is written at once, after the lines still waiting; so are the waiting lines
when the server stops (`flush`) or the process exits. A crash loses at most the last `FLUSH_S` of lines
of calls that succeeded (Envoy's own access log, `access_log_flush_interval`, waits up to 1 s).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref

from rejoinder.logs import AccessLine, InfoLine
from rejoinder.observe.record import CallRecord

log = logging.getLogger("rejoinder.access")

FLUSH_S = 0.1
"""The longest the line of a call that succeeded waits to be written."""

SUCCEEDED = frozenset({"200", "OK"})
"""The statuses whose lines may wait (any other is written at once)."""


def fields(record: CallRecord, seconds: float) -> dict[str, object]:
    """The access line's fields for a call that took `seconds`."""
    first = record.first_token_s
    return {
        "request_id": record.request_id,
        "trace_id": record.trace_id or None,
        "tenant": record.tenant,
        "surface": record.surface,
        "route": record.route,
        "model": record.model or None,
        "provider": record.provider or None,
        "status": record.status,
        "error_code": record.error_code or None,
        "duration_ms": round(seconds * 1000, 2),
        "first_token_ms": None if first is None else round(first * 1000, 2),
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "reasoning_tokens": record.reasoning_tokens,
    }


class AccessLog:
    """Writes each call's access line (INFO): through `logging`, or straight to the stream of the handler
    `logs.configure` installed when that is where the lines end (`logs.AccessLine`: the same text, the
    lines of calls that succeeded in batches)."""

    def __init__(self, direct: AccessLine | None = None, flush_s: float = FLUSH_S) -> None:
        self._direct = direct
        self._flush_s = flush_s
        self._waiting: list[InfoLine] = []
        self._due: asyncio.TimerHandle | None = None
        if direct is not None:  # the lines still waiting when the process exits
            weakref.finalize(self, _write, direct, self._waiting)

    @classmethod
    def configured(cls) -> AccessLog:
        """The writer for logging as it is configured now (direct when `logs.configure` set it up)."""
        return cls(AccessLine.found(log))

    def call_ended(self, record: CallRecord, seconds: float) -> None:
        """Log the call's access line."""
        if not log.isEnabledFor(logging.INFO):
            return
        if self._direct is None:
            log.info(
                "%s %s %s",
                record.surface,
                record.route,
                record.status,
                extra={"access": fields(record, seconds)},
            )
            return
        message = f"{record.surface} {record.route} {record.status}"
        self._waiting.append(
            InfoLine(time.time(), record.request_id, log.name, message, fields(record, seconds))
        )
        if record.status not in SUCCEEDED:
            self.flush()
        elif self._due is None:
            try:
                self._due = asyncio.get_running_loop().call_later(self._flush_s, self.flush)
            except RuntimeError:  # no event loop: nothing would write it later
                self.flush()

    def flush(self) -> None:
        """Write the lines waiting, now."""
        if self._due is not None:
            self._due.cancel()
            self._due = None
        if self._direct is not None:
            _write(self._direct, self._waiting)


def _write(direct: AccessLine, waiting: list[InfoLine]) -> None:
    """Write the lines waiting, and forget them."""
    if waiting:
        lines = waiting[:]
        waiting.clear()
        direct.write(lines)
