"""The REST bridge's body read in place is the HttpBody gRPC would have parsed."""

from __future__ import annotations

import pytest
from google.api.httpbody_pb2 import HttpBody
from google.protobuf.any_pb2 import Any

from rejoinder.wire.raw_body import read_raw_body


@pytest.mark.parametrize("data", [b"", b"{}", b'{"model": "m"}', b"x" * 300_000])
def test_the_fields_of_an_http_body(data: bytes) -> None:
    body = HttpBody(content_type="application/json", data=data, extensions=[Any(type_url="t", value=b"v")])
    read = read_raw_body(body.SerializeToString())
    assert (read.content_type, bytes(read.data)) == ("application/json", data)


@pytest.mark.parametrize(
    "raw", [b"\x0a\x05ab", b"\x08\x01", b"\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", b"\x0a\x01\xff"]
)
def test_bytes_that_are_not_an_http_body_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        read_raw_body(raw)
