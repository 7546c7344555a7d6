"""One access line per call (shared/OBSERVABILITY.md "Logs"), on the logger `rejoinder.access`.

The line's fields: request_id (Envoy's `x-request-id`, which Envoy's own access log carries too, so the
two join), trace_id, tenant, surface, route, model, provider, status, error_code, duration_ms,
first_token_ms, input/output/reasoning tokens. Never a prompt, an output or a key. With
`--log-format json` every log line is one JSON object and these are its keys; as text they follow the
message as `key=value`.
"""

from __future__ import annotations

import logging

from rejoinder.logs import AccessLine
from rejoinder.observe.record import CallRecord

log = logging.getLogger("rejoinder.access")


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
    `logs.configure` installed when that is where the lines end (`logs.AccessLine`: the same text)."""

    def __init__(self, direct: AccessLine | None = None) -> None:
        self._direct = direct

    @classmethod
    def configured(cls) -> AccessLog:
        """The writer for logging as it is configured now (direct when `logs.configure` set it up)."""
        return cls(AccessLine.found(log))

    def call_ended(self, record: CallRecord, seconds: float) -> None:
        """Log the call's access line."""
        if not log.isEnabledFor(logging.INFO):
            return
        direct = self._direct
        if direct is None:
            log.info(
                "%s %s %s",
                record.surface,
                record.route,
                record.status,
                extra={"access": fields(record, seconds)},
            )
        else:
            direct.write(
                log.name, f"{record.surface} {record.route} {record.status}", fields(record, seconds)
            )
