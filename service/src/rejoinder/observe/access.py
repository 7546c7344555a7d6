"""One access line per call (shared/OBSERVABILITY.md "Logs"), on the logger `rejoinder.access`.

The line's fields: request_id (Envoy's `x-request-id`, which Envoy's own access log carries too, so the
two join), trace_id, tenant, surface, route, model, provider, status, error_code, duration_ms,
first_token_ms, input/output/reasoning tokens. Never a prompt, an output or a key. With
`--log-format json` every log line is one JSON object and these are its keys; as text they follow the
message as `key=value`.

Where `rejoinder serve` configured the logs (`logs.AccessLine`), the lines of calls that succeeded are
written in batches (`observe.batches`), at most `FLUSH_S` after their call ended, several in one write;
each keeps the time its call ended. A call that did not succeed is written at once, after the lines
still waiting; so are the waiting lines when the server stops (`flush`) or the process exits. A crash
loses at most the last `FLUSH_S` of lines of calls that succeeded (Envoy's own file access log waits up
to 1 s).
"""

from __future__ import annotations

import logging
import time
import weakref

from rejoinder.logs import AccessLine, InfoLine
from rejoinder.observe.batches import FLUSH_S, Batches
from rejoinder.observe.record import CallRecord

log = logging.getLogger("rejoinder.access")

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
        self._lines: Batches[InfoLine] | None = None
        if direct is not None:
            lines = self._lines = Batches(direct.write, flush_s)
            weakref.finalize(self, lines.flush)  # the lines still waiting when the process exits

    @classmethod
    def configured(cls) -> AccessLog:
        """The writer for logging as it is configured now (direct when `logs.configure` set it up)."""
        return cls(AccessLine.found(log))

    def call_ended(self, record: CallRecord, seconds: float) -> None:
        """Log the call's access line."""
        if not log.isEnabledFor(logging.INFO):
            return
        lines = self._lines
        if lines is None:
            log.info(
                "%s %s %s",
                record.surface,
                record.route,
                record.status,
                extra={"access": fields(record, seconds)},
            )
            return
        message = f"{record.surface} {record.route} {record.status}"
        lines.add(InfoLine(time.time(), record.request_id, log.name, message, fields(record, seconds)))
        if record.status not in SUCCEEDED:
            lines.flush()

    def flush(self) -> None:
        """Write the lines waiting, now."""
        if self._lines is not None:
            self._lines.flush()
