"""POST /v1/responses through Envoy with bodies derived from `CreateRequest`'s descriptors, then broken."""

from __future__ import annotations

import httpx
from hypothesis import given
from hypothesis import strategies as st

from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from tests.fuzz.checks import check_rest
from tests.fuzz.harness import ServiceWatch, fuzz, rest_call
from tests.fuzz.jsontext import Shown, dumps
from tests.fuzz.mutate import mutated
from tests.fuzz.shapes import Env, Shapes
from tests.fuzz.values import MAX_BODY_BYTES

ROUTE = "/v1/responses"


@fuzz()
@given(data=st.data())
def test_create_bodies(
    data: st.DataObject, rest: httpx.Client, shapes: Shapes, env: Env, watch: ServiceWatch
) -> None:
    """Valid-ish and mutated create bodies, streamed and not, in the foreground and in the background."""
    body = env.safe(data.draw(mutated(shapes.body(CreateRequest.DESCRIPTOR)).map(Shown), label="body").value)
    raw = dumps(body, ensure_ascii=data.draw(st.booleans(), label="ensure_ascii"))
    if len(raw) > MAX_BODY_BYTES:
        raw = raw[:MAX_BODY_BYTES]  # still a case: truncated JSON
    reply = rest_call(rest, "POST", ROUTE, raw, {"content-type": "application/json"})
    case = {
        "request": f"POST {ROUTE} ({len(raw)} bytes)",
        "body": raw[:4000],
        "elapsed_s": round(reply.elapsed_s, 3),
    }
    watch.check(case)
    check_rest(reply, case, ROUTE)
