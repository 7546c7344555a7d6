"""Conversation bodies derived from `conversations_service.proto`'s request messages, then broken."""

from __future__ import annotations

import httpx
from hypothesis import given
from hypothesis import strategies as st

from rejoinder.responses.v1 import conversations_service_pb2 as cv
from tests.fuzz.checks import check_rest
from tests.fuzz.harness import ServiceWatch, fuzz, rest_call
from tests.fuzz.jsontext import Shown, dumps
from tests.fuzz.mutate import mutated
from tests.fuzz.shapes import Env, Shapes

# REST route -> the request message whose JSON its body is (the path carries the conversation id).
ROUTES = {
    "/v1/conversations": cv.CreateConversationRequest,
    "/v1/conversations/{conv}": cv.UpdateConversationRequest,
    "/v1/conversations/{conv}/items": cv.CreateConversationItemsRequest,
}


@fuzz()
@given(data=st.data())
def test_conversation_bodies(
    data: st.DataObject, rest: httpx.Client, shapes: Shapes, env: Env, watch: ServiceWatch
) -> None:
    """Create a conversation, update its metadata, add items: valid-ish and mutated bodies."""
    route = data.draw(st.sampled_from(sorted(ROUTES)), label="route")
    conv = data.draw(
        st.one_of(st.sampled_from([i for i in env.ids if i.startswith("conv_")]), st.just("conv_nope"))
    )
    body = data.draw(mutated(shapes.body(ROUTES[route].DESCRIPTOR)).map(Shown), label="body").value
    raw = dumps(env.safe(body), ensure_ascii=data.draw(st.booleans(), label="ensure_ascii"))
    url = route.replace("{conv}", conv)
    reply = rest_call(rest, "POST", url, raw, {"content-type": "application/json"})
    case = {
        "request": f"POST {url} ({len(raw)} bytes)",
        "body": raw[:4000],
        "elapsed_s": round(reply.elapsed_s, 3),
    }
    watch.check(case)
    check_rest(reply, case, route)
