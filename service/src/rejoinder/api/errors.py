"""The only place that maps `ApiError` to wire errors: gRPC status and OpenAI's HTTP error body."""

from __future__ import annotations

from datetime import timedelta

import grpc
import orjson
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2

from rejoinder.errors import ApiError, ErrorKind
from rejoinder.observe.record import current

DOMAIN = "responses.rejoinder.dev"
STATUS_DETAILS_KEY = "grpc-status-details-bin"

_HTTP: dict[ErrorKind, tuple[int, str]] = {
    ErrorKind.INVALID_REQUEST: (400, "invalid_request_error"),
    ErrorKind.AUTHENTICATION: (401, "invalid_request_error"),
    ErrorKind.PERMISSION: (403, "invalid_request_error"),
    ErrorKind.NOT_FOUND: (404, "invalid_request_error"),
    ErrorKind.CONFLICT: (409, "invalid_request_error"),
    ErrorKind.TOO_LARGE: (413, "invalid_request_error"),
    ErrorKind.RATE_LIMIT: (429, "requests"),
    ErrorKind.INTERNAL: (500, "server_error"),
    ErrorKind.UPSTREAM: (502, "server_error"),
    ErrorKind.UNAVAILABLE: (503, "server_error"),
    ErrorKind.UPSTREAM_TIMEOUT: (504, "server_error"),
}

_GRPC: dict[ErrorKind, grpc.StatusCode] = {
    ErrorKind.INVALID_REQUEST: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.AUTHENTICATION: grpc.StatusCode.UNAUTHENTICATED,
    ErrorKind.PERMISSION: grpc.StatusCode.PERMISSION_DENIED,
    ErrorKind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorKind.CONFLICT: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorKind.TOO_LARGE: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.RATE_LIMIT: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorKind.INTERNAL: grpc.StatusCode.INTERNAL,
    ErrorKind.UPSTREAM: grpc.StatusCode.UNAVAILABLE,
    ErrorKind.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    ErrorKind.UPSTREAM_TIMEOUT: grpc.StatusCode.DEADLINE_EXCEEDED,
}


def http_status(err: ApiError) -> int:
    """The HTTP status OpenAI uses for this error."""
    return _HTTP[err.kind][0]


def error_type(err: ApiError) -> str:
    """OpenAI's `type` of this error."""
    return err.error_type or _HTTP[err.kind][1]


def http_body(err: ApiError) -> bytes:
    """OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`."""
    return orjson.dumps(
        {"error": {"message": err.message, "type": error_type(err), "param": err.param, "code": err.code}}
    )


def http_metadata(err: ApiError) -> tuple[tuple[str, str], ...]:
    """Initial metadata that the Envoy Lua filter turns into the HTTP status and headers."""
    headers: tuple[tuple[str, str], ...] = (("x-http-status", str(http_status(err))),)
    if err.retry_after:
        headers += (("retry-after", err.retry_after),)
    return headers + err.headers


def grpc_code(err: ApiError) -> grpc.StatusCode:
    """The canonical gRPC code of this error."""
    return _GRPC[err.kind]


def rpc_status(err: ApiError) -> status_pb2.Status:
    """A `google.rpc.Status` with one ErrorInfo and, for a bad field, a BadRequest violation."""
    code = grpc_code(err)
    status = status_pb2.Status(code=code.value[0], message=err.message)
    metadata = {"type": error_type(err), **dict(err.headers)}
    if err.param:
        metadata["param"] = err.param
    if err.code:
        metadata["code"] = err.code
    if err.retry_after:
        metadata["retry_after"] = err.retry_after
    status.details.add().Pack(
        error_details_pb2.ErrorInfo(reason=err.reason, domain=DOMAIN, metadata=metadata)
    )
    if err.retry_after:
        delay = duration_pb2.Duration()
        delay.FromTimedelta(timedelta(seconds=float(err.retry_after)))
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    if err.kind is ErrorKind.INVALID_REQUEST and err.param:
        violation = error_details_pb2.BadRequest.FieldViolation(field=err.param, description=err.message)
        status.details.add().Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    return status


async def abort(context: grpc.aio.ServicerContext[object, object], err: ApiError) -> None:
    """Fail the RPC with the rich status (never returns)."""
    current().failed(err, grpc_code(err).name)
    status = rpc_status(err)
    await context.abort(
        grpc_code(err),
        err.message,
        trailing_metadata=((STATUS_DETAILS_KEY, status.SerializeToString()),),
    )


def internal_error() -> ApiError:
    """The error a bug of ours becomes: a 500 that says nothing about internals."""
    return ApiError(ErrorKind.INTERNAL, "The server had an error while processing your request.")
