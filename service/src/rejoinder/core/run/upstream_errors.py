"""How an upstream failure is reported to the client (before the first byte, or in-band).

The client is told what it can act on, in OpenAI's words; what the upstream or the HTTP library said
(addresses, raw bodies, library errors) goes to the log, with the call's request id, for the operator.
"""

from __future__ import annotations

import logging

from rejoinder.errors import ApiError, ErrorKind, clip
from rejoinder.providers.base import UpstreamError

log = logging.getLogger(__name__)

CLIENT_FAULT = (400, 413, 422)
UPSTREAM_MESSAGE_CHARS = 500


def _status_error(exc: UpstreamError) -> ApiError:
    if exc.status == 429:
        return ApiError(
            ErrorKind.RATE_LIMIT,
            "The model's upstream is rate limiting requests; retry later.",
            code="rate_limit_exceeded",
            retry_after=exc.retry_after,
        )
    if exc.status == 503:
        return ApiError(
            ErrorKind.UNAVAILABLE,
            "The model's upstream is overloaded; retry later.",
            code="server_overloaded",
            retry_after=exc.retry_after,
        )
    if exc.status in CLIENT_FAULT:  # about the request (a context too long, ...): the client can act on it
        return ApiError(
            ErrorKind.INVALID_REQUEST,
            f"The model's upstream rejected the request: {clip(exc.message, UPSTREAM_MESSAGE_CHARS)}",
            code="upstream_rejected_request",
        )
    return ApiError(
        ErrorKind.UPSTREAM, f"The model's upstream failed (HTTP {exc.status}).", code="upstream_error"
    )


def as_api_error(exc: UpstreamError) -> ApiError:
    """504 for a slow upstream, 429 and 503 passed on, 502 for any other failure; a 400 the upstream
    gave the request (e.g. a context that is too long) stays a 400 with the upstream's message."""
    log.warning("upstream failed (%s, HTTP %s): %s", exc.kind, exc.status, exc.message)
    if exc.kind == "timeout":  # the adapter's own words: which timeout, how long
        return ApiError(
            ErrorKind.UPSTREAM_TIMEOUT,
            f"The model did not answer in time: {exc.message}.",
            code="upstream_timeout",
        )
    if exc.kind == "status":
        return _status_error(exc)
    if exc.kind == "connect":
        return ApiError(
            ErrorKind.UPSTREAM,
            "The model is unavailable: its upstream cannot be reached.",
            code="upstream_error",
        )
    return ApiError(
        ErrorKind.UPSTREAM,
        "The model's upstream failed while answering.",
        code="upstream_error",
    )
