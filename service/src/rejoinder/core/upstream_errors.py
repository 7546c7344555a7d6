"""How an upstream failure is reported to the client (before the first byte, or in-band)."""

from __future__ import annotations

from rejoinder.errors import ApiError, ErrorKind
from rejoinder.providers.base import UpstreamError

CLIENT_FAULT = (400, 413, 422)


def as_api_error(exc: UpstreamError) -> ApiError:
    """502 for a failing upstream, 504 for a slow one, 429 passed on; a 400 the upstream gave the
    request (e.g. a context that is too long) stays a 400 with the upstream's message."""
    if exc.kind == "timeout":
        return ApiError(
            ErrorKind.UPSTREAM_TIMEOUT,
            f"The model did not answer in time: {exc.message}",
            code="upstream_timeout",
        )
    if exc.kind == "status" and exc.status == 429:
        return ApiError(
            ErrorKind.RATE_LIMIT,
            f"The model is rate limited: {exc.message}",
            code="rate_limit_exceeded",
            retry_after=exc.retry_after,
        )
    if exc.kind == "status" and exc.status == 503:
        return ApiError(
            ErrorKind.UNAVAILABLE,
            f"The model is busy: {exc.message}",
            code="server_overloaded",
            retry_after=exc.retry_after,
        )
    if exc.kind == "status" and exc.status in CLIENT_FAULT:
        return ApiError(ErrorKind.INVALID_REQUEST, exc.message, code="upstream_rejected_request")
    return ApiError(ErrorKind.UPSTREAM, f"The model failed: {exc.message}", code="upstream_error")
