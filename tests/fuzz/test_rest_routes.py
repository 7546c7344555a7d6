"""Odd path ids, query strings and methods on every REST route of `OpenAIHttpService`.

The routes are read from the `google.api.http` options of `openai_http.proto`'s methods, path
variables (`{response_id}`, `{model=**}`) are filled with ids that exist, made-up ones and odd text,
and every query parameter the route's request message declares gets plausible and odd values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from google.api import annotations_pb2, http_pb2
from hypothesis import given
from hypothesis import strategies as st

from rejoinder.responses.v1 import openai_http_pb2
from tests.fuzz.checks import check_rest
from tests.fuzz.harness import ServiceWatch, fresh_ids, fuzz, rest_call
from tests.fuzz.shapes import Env
from tests.fuzz.values import EDGE_INTS, NAN_LIKE_STRINGS, odd_text

METHODS = ("GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # e.g. /v1/responses/{response_id}/input_items
    query: tuple[str, ...]  # request fields that are neither path variables nor the body


def _routes() -> tuple[Route, ...]:
    out = []
    for method in openai_http_pb2.DESCRIPTOR.services_by_name["OpenAIHttpService"].methods:
        rule: http_pb2.HttpRule = method.GetOptions().Extensions[annotations_pb2.http]
        verb = rule.WhichOneof("pattern")
        template = getattr(rule, verb)
        in_path = set(re.findall(r"{(\w+)", template))
        fields = [f.name for f in method.input_type.fields if f.name not in in_path and f.name != rule.body]
        if method.input_type.full_name == "google.api.HttpBody":
            fields = []
        out.append(Route(verb.upper(), template, tuple(fields)))
    return tuple(out)


ROUTES = _routes()


def _segment(env: Env) -> st.SearchStrategy[str]:
    known = st.sampled_from(env.ids)
    made_up = st.tuples(st.sampled_from(("resp_", "conv_", "msg_", "")), odd_text(30)).map("".join)
    odd = st.sampled_from(
        ("", ".", "..", "%", "%00", "%2F", "%2e%2e", "a/b", "a?b", "a#b", "a;b", " ", "*", "x" * 5000)
    )
    raw = st.one_of(
        known, known, made_up, odd, st.sampled_from(("m", "gpt-test", "scripted/scripted-model", "local/x"))
    )
    return st.tuples(raw, st.sampled_from(("", "/:@", "/", "%"))).map(
        lambda p: quote(p[0].encode("utf-8", "surrogatepass"), safe=p[1])
    )


def _query_value() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            ("1", "20", "100", "101", "0", "-1", "asc", "desc", "true", "false", "", "1.5", "0x10")
        ),
        st.sampled_from(EDGE_INTS).map(str),
        st.sampled_from(NAN_LIKE_STRINGS),
        odd_text(20),
    )


@st.composite
def _query(draw: st.DrawFn, route: Route, env: Env) -> str:
    names = [*route.query, "include[]", "include", "unknown", "stream", "starting_after"]
    pairs = []
    for name in draw(st.lists(st.sampled_from(names), max_size=5)):
        value = draw(st.one_of(_query_value(), st.sampled_from(env.ids)))
        safe = draw(st.sampled_from(("", "/")))
        pairs.append(f"{quote(name, safe='[]')}={quote(value.encode('utf-8', 'surrogatepass'), safe=safe)}")
    if draw(st.integers(0, 9)) == 0:
        pairs.append(
            draw(st.sampled_from(("&&", "=", "a", "limit", "limit=1&limit=2", "%zz", "a=%", "order=%00")))
        )
    return "?" + "&".join(pairs) if pairs else ""


@fuzz()
@given(data=st.data())
def test_routes(data: st.DataObject, rest: httpx.Client, env: Env, watch: ServiceWatch) -> None:
    """Every route, with odd ids and queries, and now and then the wrong method."""
    route = data.draw(st.sampled_from(ROUTES), label="route")
    method = route.method if data.draw(st.integers(0, 5)) else data.draw(st.sampled_from(METHODS))
    ids = [data.draw(_segment(env)) for _ in re.findall(r"{[^}]+}", route.template)]
    if method == "DELETE" and ids:
        ids = fresh_ids(rest, env.ids, ids)
    fill = iter(ids)
    url = re.sub(r"{[^}]+}", lambda _m: next(fill), route.template) + data.draw(
        _query(route, env), label="query"
    )
    body = b'{"metadata": {"a": "b"}}' if method == "POST" else None
    reply = rest_call(rest, method, url, body, {"content-type": "application/json"} if body else None)
    case = {"request": f"{method} {url}", "elapsed_s": round(reply.elapsed_s, 3)}
    watch.check(case)
    check_rest(reply, case, route.template, method)
