"""The one error type the service raises for a request it cannot serve.

`api/errors.py` maps it to a `google.rpc.Status` on gRPC and to OpenAI's error body and HTTP status
on REST; nothing else knows about either mapping.
"""

from __future__ import annotations

from enum import Enum

ECHO_CHARS = 64
MAX_MESSAGE_CHARS = 1_000
MAX_PARAM_CHARS = 256


def clip(value: object, limit: int = ECHO_CHARS) -> str:
    """A value from the request as an error message echoes it: whole when short, else its first
    `limit` characters and "..." (a 5 MB model name must not become a 5 MB error)."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


class ErrorKind(Enum):
    """What went wrong, as OpenAI classifies it."""

    INVALID_REQUEST = "invalid_request_error"
    AUTHENTICATION = "authentication_error"
    PERMISSION = "permission_error"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    TOO_LARGE = "request_too_large"
    RATE_LIMIT = "rate_limit_exceeded"
    UNAVAILABLE = "service_unavailable"
    UPSTREAM = "upstream_error"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    INTERNAL = "server_error"


class ApiError(Exception):
    """A request failed in a way the caller should be told about.

    `reason` is the stable UPPER_SNAKE `ErrorInfo.reason` on gRPC; `code` and `param` are OpenAI's.
    `retry_after` is in seconds (the `Retry-After` header; gRPC `RetryInfo`).
    """

    def __init__(  # noqa: PLR0913 - a value: every field past `message` is optional and named
        self,
        kind: ErrorKind,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        reason: str | None = None,
        retry_after: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        error_type: str | None = None,
    ) -> None:
        message = clip(message, MAX_MESSAGE_CHARS)  # a safety net: echoed values are clipped where made
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.param = None if param is None else clip(param, MAX_PARAM_CHARS)
        self.code = code
        self.reason = reason or (code or kind.name).upper()
        self.retry_after = retry_after
        self.headers = headers  # more response headers (REST) / ErrorInfo metadata (gRPC)
        self.error_type = error_type  # OpenAI's `type` when it is not the kind's usual one


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    """A 400: the request is malformed or asks for something unsupported."""
    return ApiError(ErrorKind.INVALID_REQUEST, message, param=param, code=code)


def not_found(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    """A 404: the named object does not exist (or is not the caller's)."""
    return ApiError(ErrorKind.NOT_FOUND, message, param=param, code=code)


def too_many(count: int, most: int, param: str) -> ApiError:
    """OpenAI's 400 for an array of more than `most` elements."""
    return invalid(
        f"Invalid '{param}': array too long. Expected an array with maximum length {most}, "
        f"but got an array with length {count} instead.",
        param=param,
        code="array_above_max_length",
    )


def too_long(length: int, most: int, param: str) -> ApiError:
    """OpenAI's 400 for a string of more than `most` characters."""
    return invalid(
        f"Invalid '{param}': string too long. Expected a string with maximum length {most}, "
        f"but got a string with length {length} instead.",
        param=param,
        code="string_above_max_length",
    )
