"""`ApiError` on the wire: OpenAI's HTTP status and body, and the rich gRPC status."""

from __future__ import annotations

import json

import grpc
import pytest
from google.rpc import error_details_pb2

from rejoinder.api.errors import (
    DOMAIN,
    grpc_code,
    http_body,
    http_metadata,
    http_status,
    internal_error,
    rpc_status,
)
from rejoinder.errors import ApiError, ErrorKind, invalid, not_found


@pytest.mark.parametrize(
    ("kind", "status", "error_type", "code"),
    [
        (ErrorKind.INVALID_REQUEST, 400, "invalid_request_error", grpc.StatusCode.INVALID_ARGUMENT),
        (ErrorKind.AUTHENTICATION, 401, "invalid_request_error", grpc.StatusCode.UNAUTHENTICATED),
        (ErrorKind.PERMISSION, 403, "invalid_request_error", grpc.StatusCode.PERMISSION_DENIED),
        (ErrorKind.NOT_FOUND, 404, "invalid_request_error", grpc.StatusCode.NOT_FOUND),
        (ErrorKind.CONFLICT, 409, "invalid_request_error", grpc.StatusCode.FAILED_PRECONDITION),
        (ErrorKind.TOO_LARGE, 413, "invalid_request_error", grpc.StatusCode.INVALID_ARGUMENT),
        (ErrorKind.RATE_LIMIT, 429, "requests", grpc.StatusCode.RESOURCE_EXHAUSTED),
        (ErrorKind.INTERNAL, 500, "server_error", grpc.StatusCode.INTERNAL),
        (ErrorKind.UPSTREAM, 502, "server_error", grpc.StatusCode.UNAVAILABLE),
        (ErrorKind.UNAVAILABLE, 503, "server_error", grpc.StatusCode.UNAVAILABLE),
        (ErrorKind.UPSTREAM_TIMEOUT, 504, "server_error", grpc.StatusCode.DEADLINE_EXCEEDED),
    ],
)
def test_every_kind_has_a_status_and_a_body(
    kind: ErrorKind, status: int, error_type: str, code: grpc.StatusCode
) -> None:
    err = ApiError(kind, "Something happened.", param="p", code="c")

    assert http_status(err) == status
    assert grpc_code(err) is code
    assert json.loads(http_body(err)) == {
        "error": {"message": "Something happened.", "type": error_type, "param": "p", "code": "c"}
    }
    assert ("x-http-status", str(status)) in http_metadata(err)
    assert rpc_status(err).code == code.value[0]


def test_body_prints_null_param_and_code() -> None:
    body = json.loads(http_body(internal_error()))

    assert body == {
        "error": {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }


def test_invalid_request_body() -> None:
    err = invalid(
        "Invalid type for 'temperature': expected a decimal, but got a string instead.",
        param="temperature",
        code="invalid_type",
    )

    assert http_status(err) == 400
    assert json.loads(http_body(err))["error"] == {
        "message": "Invalid type for 'temperature': expected a decimal, but got a string instead.",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "invalid_type",
    }


def test_retry_after_is_in_the_metadata() -> None:
    err = ApiError(ErrorKind.RATE_LIMIT, "Slow down.", code="rate_limit_exceeded", retry_after="12")

    assert http_metadata(err) == (("x-http-status", "429"), ("retry-after", "12"))


def test_no_retry_after_without_one() -> None:
    assert http_metadata(invalid("bad")) == (("x-http-status", "400"),)


def unpack(status_details: object, cls: type) -> list[object]:
    found = []
    for detail in status_details:  # type: ignore[attr-defined]
        if detail.Is(cls.DESCRIPTOR):
            msg = cls()
            detail.Unpack(msg)
            found.append(msg)
    return found


def test_rpc_status_carries_error_info() -> None:
    err = invalid("Bad temperature.", param="temperature", code="invalid_type")

    status = rpc_status(err)

    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert status.message == "Bad temperature."
    (info,) = unpack(status.details, error_details_pb2.ErrorInfo)
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert info.domain == DOMAIN == "responses.rejoinder.dev"
    assert info.reason == "INVALID_TYPE"
    assert dict(info.metadata) == {
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "invalid_type",
    }


def test_rpc_status_carries_a_bad_request_violation_for_an_invalid_param() -> None:
    err = invalid("Bad temperature.", param="temperature", code="invalid_type")

    (bad,) = unpack(rpc_status(err).details, error_details_pb2.BadRequest)

    assert isinstance(bad, error_details_pb2.BadRequest)
    assert [(v.field, v.description) for v in bad.field_violations] == [("temperature", "Bad temperature.")]


def test_no_bad_request_without_a_param() -> None:
    assert unpack(rpc_status(invalid("Bad.")).details, error_details_pb2.BadRequest) == []


def test_no_bad_request_for_a_not_found() -> None:
    err = not_found("No such model.", param="model", code="model_not_found")

    status = rpc_status(err)

    assert status.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert unpack(status.details, error_details_pb2.BadRequest) == []
    (info,) = unpack(status.details, error_details_pb2.ErrorInfo)
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert info.reason == "MODEL_NOT_FOUND"
    assert dict(info.metadata) == {
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


def test_error_info_reason_without_a_code_is_the_kind() -> None:
    (info,) = unpack(rpc_status(internal_error()).details, error_details_pb2.ErrorInfo)

    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert info.reason == "INTERNAL"
    assert dict(info.metadata) == {"type": "server_error"}


def test_error_info_carries_retry_after() -> None:
    err = ApiError(ErrorKind.RATE_LIMIT, "Slow down.", code="rate_limit_exceeded", retry_after="3")

    (info,) = unpack(rpc_status(err).details, error_details_pb2.ErrorInfo)

    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert info.metadata["retry_after"] == "3"
    assert info.metadata["code"] == "rate_limit_exceeded"


def test_internal_error_says_nothing_about_internals() -> None:
    err = internal_error()

    assert err.kind is ErrorKind.INTERNAL
    assert http_status(err) == 500
    assert err.param is None and err.code is None
