"""What a failed call says: its canonical code, its message and the typed details of the
`google.rpc.Status` the server sends (one `ErrorInfo` with OpenAI's `param` and `code` in its metadata,
`BadRequest` field violations for invalid fields), decoded with the generated messages: no protobuf
runtime needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import betterproto2
import grpc
from grpclib.const import Status as GrpclibStatus
from grpclib.encoding.base import StatusDetailsCodecBase
from grpclib.exceptions import GRPCError

from ..google.protobuf import Any as AnyMessage
from ..google.rpc import BadRequest, BadRequestFieldViolation, ErrorInfo, Status

STATUS_DETAILS_KEY = "grpc-status-details-bin"
"""The trailer that carries the serialized `google.rpc.Status`."""

_CODES = {code.value[0]: code for code in grpc.StatusCode}


@dataclass(frozen=True)
class RichStatus:
    """A failed call's status, whichever stub (sync or async) made the call."""

    code: grpc.StatusCode
    """The canonical code: INVALID_ARGUMENT for a bad request, NOT_FOUND, UNAUTHENTICATED, ..."""
    message: str
    """The error's message, as OpenAI words it."""
    details: tuple[betterproto2.Message, ...]
    """The status's details, each as its own message type (`google.protobuf.Any` when unknown)."""

    @property
    def error_info(self) -> ErrorInfo | None:
        """The `ErrorInfo`: `reason` (e.g. PREVIOUS_RESPONSE_NOT_FOUND), `domain`, and `metadata` with
        OpenAI's `param` and `code` where they apply."""
        return next((d for d in self.details if isinstance(d, ErrorInfo)), None)

    @property
    def field_violations(self) -> list[BadRequestFieldViolation]:
        """The invalid fields (`field`, `description`) of a bad request."""
        return [v for d in self.details if isinstance(d, BadRequest) for v in d.field_violations]


def status_of(error: grpc.RpcError | GRPCError) -> RichStatus:
    """The status of a failed call: a `grpc.RpcError` from a sync stub, or a `GRPCError` from an async
    stub on a channel made by `async_channel`."""
    if isinstance(error, GRPCError):
        details = error.details if isinstance(error.details, tuple) else ()
        return RichStatus(_CODES[error.status.value], error.message or "", details)
    if not isinstance(error, grpc.Call):
        raise TypeError(f"{type(error).__name__} is not the error of a finished call")
    trailers = error.trailing_metadata() or ()
    raw = next((value for key, value in trailers if key == STATUS_DETAILS_KEY), None)
    details = unpack_details(Status.parse(raw).details) if isinstance(raw, bytes) else ()
    return RichStatus(error.code(), error.details() or "", details)


def unpack_details(packed: Iterable[AnyMessage]) -> tuple[betterproto2.Message, ...]:
    """Each `Any` as the message it holds, when its type is known here; otherwise the `Any` itself."""
    return tuple(_unpack(any_message) for any_message in packed)


def _unpack(any_message: AnyMessage) -> betterproto2.Message:
    try:
        return any_message.unpack() or any_message
    except TypeError:  # a type this client was not generated with
        return any_message


class StatusDetailsCodec(StatusDetailsCodecBase):
    """grpclib's reader (and writer) of the status details trailer, with the generated messages: a
    `GRPCError`'s `details` is then the tuple `RichStatus.details` holds."""

    def encode(self, status: GrpclibStatus, message: str | None, details: Any) -> bytes:
        messages: Sequence[betterproto2.Message] = details or ()
        packed = [AnyMessage.pack(m) for m in messages]
        return bytes(Status(code=status.value, message=message or "", details=packed))

    def decode(self, status: GrpclibStatus, message: str | None, data: bytes) -> Any:
        return unpack_details(Status.parse(data).details)
