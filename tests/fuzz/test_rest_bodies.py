"""Bodies that are not a JSON object, and wrong content types, on every REST route that takes a body."""

from __future__ import annotations

import gzip
import json

import httpx
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.checks import check_rest
from tests.fuzz.harness import ServiceWatch, fuzz, rest_call
from tests.fuzz.jsontext import Shown
from tests.fuzz.shapes import Env
from tests.fuzz.values import MAX_BODY_BYTES, json_value, odd_text

CONTENT_TYPES = (
    None, "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16",
    "text/plain", "text/event-stream", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/octet-stream", "application/xml", "", "json", "application/json, text/plain", "*/*",
    "application/grpc-web+proto", "application/grpc-web-text", "application/json\x7f",
)  # fmt: skip
_VALID = b'{"model": "m", "input": "hi"}'
_MALFORMED = (
    b"", b" ", b"\n", b"{", b"}", b'{"model": "m",}', b'{"model": "m" "input": "hi"}', b"{'model': 'm'}",
    b'{"model": "m", "input": "hi"} trailing', b'{"model": "m"}{"model": "m"}', b"\xef\xbb\xbf" + _VALID,
    b'{"model": "m", "model": 1, "input": "hi"}',
    b'{"model": "m", "input": "hi", "input": [], "stream": true}',
    b'{"model": "m", "input": "\\ud800"}', b'{"model": "m", "input": "\\u0000"}',
    b'{"model": "m", "input": "hi\x00"}', b'{"model": "m", "temperature": NaN}',
    b'{"model": "m", "temperature": 1e999999}', b'{"model": "m", "max_output_tokens": -0}',
    b'{"model": "m", "max_output_tokens": 1' + b"0" * 5000 + b"}", b"null", b"true", b"0", b"-", b'"m"',
    b"[]", b'[{"model": "m"}]', b"\xff\xfe{\x00}\x00", b"\x00" * 64, _VALID.decode().encode("utf-16"),
    b"model=m&input=hi", b"--x\r\nContent-Disposition: form-data; name=model\r\n\r\nm\r\n--x--",
)  # fmt: skip
_NOT_OBJECTS = json_value().filter(lambda v: not isinstance(v, dict))
ROUTES = (
    "/v1/responses",
    "/v1/conversations",
    "/v1/conversations/{conv}",
    "/v1/conversations/{conv}/items",
    "/v1/prompts",
)


@st.composite
def odd_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(("malformed", "not_object", "bytes", "deep", "gzip", "slice")))
    if kind == "malformed":
        return draw(st.sampled_from(_MALFORMED))
    if kind == "not_object":
        return json.dumps(draw(_NOT_OBJECTS)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "deep":
        levels = draw(st.sampled_from((100, 1000, 1024, 1025, 10_000, 33_000, 100_000)))
        opening, closing = draw(
            st.sampled_from((("[", "]"), ('{"model":', "}"), ('{"model":"m","input":[', "]}")))
        )
        levels = min(levels, MAX_BODY_BYTES // (len(opening) + len(closing)))
        return (opening * levels + "1" + closing * levels).encode()
    if kind == "gzip":
        return gzip.compress(_VALID)
    cut = draw(st.integers(0, len(_VALID)))
    return _VALID[:cut] + draw(odd_text(5)).encode("utf-8", "surrogatepass")


@fuzz()
@given(data=st.data())
def test_odd_bodies(data: st.DataObject, rest: httpx.Client, env: Env, watch: ServiceWatch) -> None:
    """Whatever the body and content type, the answer is a 4xx in OpenAI's shape (or a success)."""
    route = data.draw(st.sampled_from(ROUTES), label="route")
    url = route.replace("{conv}", data.draw(st.sampled_from([i for i in env.ids if i.startswith("conv_")])))
    body = data.draw(odd_bodies().map(Shown), label="body").value
    headers = {}
    content_type = data.draw(st.sampled_from(CONTENT_TYPES), label="content_type")
    if content_type is not None:
        headers["content-type"] = content_type
    if data.draw(st.booleans(), label="gzip header"):
        headers["content-encoding"] = data.draw(st.sampled_from(("gzip", "br", "identity", "x")))
    reply = rest_call(rest, "POST", url, body, headers)
    case = {
        "request": f"POST {url} {headers} ({len(body)} bytes)",
        "body": body[:2000],
        "elapsed_s": round(reply.elapsed_s, 3),
    }
    watch.check(case)
    check_rest(reply, case, route)
