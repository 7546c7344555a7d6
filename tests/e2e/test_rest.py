"""The REST surface through real Envoy, driven by the official `openai` SDK.

Every body and event these tests receive also passes the exactness gate (conftest `transport`).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI

from rejoinder.launcher import READY_LINE
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import Script, ScriptedUpstream


def test_create_returns_the_upstream_text_with_usage(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text=["Hello", " there"], usage=(11, 2, 3, 0)))
    r = client.responses.create(model="m", input="hi", instructions="be brief")
    assert r.status == "completed"
    assert r.output_text == "Hello there"
    assert r.id.startswith("resp_")
    assert r.output[0].type == "message" and r.output[0].id.startswith("msg_")
    assert r.instructions == "be brief"
    assert r.usage is not None
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (11, 2, 13)
    assert r.usage.input_tokens_details.cached_tokens == 3
    assert (
        isinstance(r.created_at, int | float)
        and r.completed_at is not None
        and r.completed_at >= r.created_at
    )
    sent = upstream.requests[-1]
    assert sent["model"] == "scripted-model"
    assert sent["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]


def test_stream_has_the_full_lifecycle_with_stable_ids(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text=["a", "b", "c"]))
    events = list(client.responses.create(model="m", input="hi", stream=True))
    types = [e.type for e in events]
    assert types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    item_id = final.output[0].id
    assert {e.item_id for e in events if hasattr(e, "item_id")} == {item_id}
    assert events[0].response.id == final.id
    assert events[0].response.status == "in_progress"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "abc"
    assert final.output_text == "abc"


def test_sdk_stream_helper_accumulates_the_final_response(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text=["x", "y"]))
    with client.responses.stream(model="m", input="hi") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert deltas == ["x", "y"]
    assert final.output_text == "xy"


def test_stored_response_can_be_retrieved_listed_and_deleted(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text="stored"))
    r = client.responses.create(model="m", input="remember me", metadata={"k": "v"})
    got = client.responses.retrieve(r.id)
    assert got.model_dump() == r.model_dump()
    items = client.responses.input_items.list(r.id)
    assert [i.type for i in items.data] == ["message"]
    assert items.data[0].content[0].text == "remember me"
    assert items.first_id == items.last_id == items.data[0].id
    client.responses.delete(r.id)
    with pytest.raises(openai.NotFoundError) as err:
        client.responses.retrieve(r.id)
    assert r.id in err.value.message
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(r.id)


def test_store_false_persists_nothing(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="ephemeral"))
    r = client.responses.create(model="m", input="hi", store=False)
    assert r.store is False and r.output_text == "ephemeral"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(r.id)
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="m", input="again", previous_response_id=r.id)
    assert err.value.code == "previous_response_not_found"


def test_previous_response_id_chains_context_but_not_instructions(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text="first answer"), Script(text="second answer"))
    first = client.responses.create(model="m", input="one", instructions="system one")
    second = client.responses.create(model="m", input="two", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert second.instructions is None
    assert upstream.requests[-1]["messages"] == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "two"},
    ]


def test_two_responses_on_one_parent_are_independent_branches(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text="root"), Script(text="left"), Script(text="right"), Script(text="leaf"))
    root = client.responses.create(model="m", input="root?")
    left = client.responses.create(model="m", input="left?", previous_response_id=root.id)
    client.responses.create(model="m", input="right?", previous_response_id=root.id)
    client.responses.create(model="m", input="leaf?", previous_response_id=left.id)
    texts = [m["content"] for m in upstream.requests[-1]["messages"]]
    assert texts == ["root?", "root", "left?", "left", "leaf?"]


def test_input_items_paginate_in_both_orders(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="ok"))
    words = ["one", "two", "three", "four", "five"]
    r = client.responses.create(model="m", input=[{"role": "user", "content": w} for w in words])
    desc = client.responses.input_items.list(r.id, limit=2)
    assert [i.content[0].text for i in desc.data] == ["five", "four"]
    assert desc.has_more is True
    page2 = client.responses.input_items.list(r.id, limit=2, after=desc.last_id)
    assert [i.content[0].text for i in page2.data] == ["three", "two"]
    asc = client.responses.input_items.list(r.id, order="asc", limit=10)
    assert [i.content[0].text for i in asc.data] == words
    assert asc.has_more is False
    walked = [i.content[0].text for i in client.responses.input_items.list(r.id, order="asc", limit=2)]
    assert walked == words


def test_every_setting_is_echoed_like_openai(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="ok"))
    r = client.responses.create(
        model="gpt-test",
        input="hi",
        temperature=0.3,
        top_p=0.9,
        max_output_tokens=64,
        max_tool_calls=3,
        top_logprobs=2,
        metadata={"team": "a"},
        user="u-1",
        safety_identifier="s-1",
        prompt_cache_key="pck",
        service_tier="flex",
        truncation="auto",
        parallel_tool_calls=False,
        text={"format": {"type": "text"}, "verbosity": "low"},
        reasoning={"effort": "low"},
        tools=[{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}],
        tool_choice="none",
    )
    assert (r.temperature, r.top_p, r.max_output_tokens, r.max_tool_calls, r.top_logprobs) == (
        0.3,
        0.9,
        64,
        3,
        2,
    )
    assert r.metadata == {"team": "a"}
    assert (r.user, r.safety_identifier, r.prompt_cache_key, r.service_tier) == ("u-1", "s-1", "pck", "flex")
    assert (r.truncation, r.parallel_tool_calls, r.tool_choice) == ("auto", False, "none")
    assert r.text is not None and r.text.verbosity == "low"
    assert r.reasoning is not None and r.reasoning.effort == "low"
    assert r.tools[0].type == "function" and r.tools[0].name == "f"
    assert r.model == "gpt-test" and r.store is True and r.background is False
    sent = upstream.requests[-1]
    assert sent["temperature"] == 0.3 and sent["top_p"] == 0.9 and sent["max_tokens"] == 64
    assert sent["user"] == "u-1" and sent["safety_identifier"] == "s-1" and sent["prompt_cache_key"] == "pck"


def test_defaults_are_echoed_like_openai(http: httpx.Client, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="ok"))
    body = http.post("/responses", json={"model": "m", "input": "hi"}).json()
    assert body["temperature"] == 1.0 and body["top_p"] == 1.0
    assert body["tool_choice"] == "auto" and body["tools"] == [] and body["parallel_tool_calls"] is True
    assert body["truncation"] == "disabled" and body["store"] is True
    assert body["text"] == {"format": {"type": "text"}, "verbosity": "medium"}
    assert body["object"] == "response" and isinstance(body["created_at"], int)
    assert body["error"] is None and body["incomplete_details"] is None


def test_request_id_is_echoed_or_generated(http: httpx.Client, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="ok"))
    given = http.post("/responses", json={"model": "m", "input": "hi"}, headers={"x-request-id": "req-42"})
    assert given.headers["x-request-id"] == "req-42"
    missing = http.get("/responses/resp_unknown")
    assert missing.status_code == 404 and missing.headers.get("x-request-id")


def test_models_are_listed(client: OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    aliases = ["m", "gpt-test", "reasoner", "capped"]
    assert ids == [*aliases, "scripted/scripted-model", "reasoner/scripted-model"]  # and the upstreams' own
    assert client.models.retrieve("m").id == "m"


def test_a_long_stream_is_not_cut_by_a_route_timeout(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text=["slow "] * 4, delay_s=0.6))
    start = time.monotonic()
    events = list(client.responses.create(model="m", input="hi", stream=True))
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "slow " * 4
    assert time.monotonic() - start >= 1.8


def test_the_upstream_sees_one_call_per_response(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="once"))
    client.responses.create(model="m", input="hi")
    assert len(upstream.requests) == 1


def test_service_stops_cleanly(tmp_path: pytest.TempPathFactory, e2e_upstream: ScriptedUpstream) -> None:
    proc = ServiceProcess(data_dir=tmp_path, extra_args=["--upstream", e2e_upstream.base_url]).start()  # type: ignore[arg-type]
    try:
        announced = proc.log().splitlines()
        ready = announced.index(READY_LINE)
        assert f"rejoinder: OpenAI REST on {proc.base_url}" in announced[:ready]
        assert f"rejoinder: provider 'default' -> {e2e_upstream.base_url}" in announced[:ready]
        models = httpx.get(f"{proc.base_url}/models").json()
        listed = {"id": "scripted-model", "object": "model", "created": 0, "owned_by": "scripted"}
        assert models == {"object": "list", "data": [listed]}  # the upstream's own models
        e2e_upstream.reset()
        reply = OpenAI(base_url=proc.base_url, api_key="x").responses.create(model="any-name", input="ping")
        assert reply.output_text == "You said: ping"
        assert e2e_upstream.requests[-1]["model"] == "any-name"
    finally:
        assert proc.stop() == 0
    assert "stopped" in proc.log()


def test_schemas_keep_their_property_order(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text='{"zeta": 1, "alpha": 2}'))
    schema = {
        "type": "object",
        "properties": {"zeta": {"type": "integer"}, "alpha": {"type": "integer"}, "mid": {"type": "string"}},
        "required": ["zeta", "alpha", "mid"],
    }
    r = client.responses.create(
        model="m",
        input="hi",
        tools=[{"type": "function", "name": "f", "parameters": schema, "strict": True}],
        text={"format": {"type": "json_schema", "name": "out", "schema": schema, "strict": True}},
    )
    sent = upstream.requests[-1]
    assert list(sent["tools"][0]["function"]["parameters"]["properties"]) == ["zeta", "alpha", "mid"]
    assert list(sent["response_format"]["json_schema"]["schema"]["properties"]) == ["zeta", "alpha", "mid"]
    assert r.tools[0].parameters == schema
    assert list(r.tools[0].parameters["properties"]) == ["zeta", "alpha", "mid"]


def test_input_items_page_backwards_with_before(http: httpx.Client, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="ok"))
    words = ["one", "two", "three", "four"]
    r = http.post("/responses", json={"model": "m", "input": [{"role": "user", "content": w} for w in words]})
    rid = r.json()["id"]
    asc = http.get(f"/responses/{rid}/input_items", params={"order": "asc"}).json()
    ids = [i["id"] for i in asc["data"]]
    page = http.get(
        f"/responses/{rid}/input_items", params={"order": "asc", "before": ids[3], "limit": 2}
    ).json()
    assert [i["content"][0]["text"] for i in page["data"]] == ["two", "three"]
    assert page["has_more"] is True


def test_a_client_that_goes_away_stops_the_upstream_and_keeps_the_response(
    service: ServiceProcess, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text=["tick "] * 40, delay_s=0.1))
    with (
        httpx.Client(timeout=10) as raw,
        raw.stream(
            "POST", f"{service.base_url}/responses", json={"model": "m", "input": "hi", "stream": True}
        ) as reply,
    ):
        lines = reply.iter_lines()
        response_id = ""
        for line in lines:
            if line.startswith("data: ") and '"response.created"' in line:
                response_id = line.split('"id":"', 1)[1].split('"', 1)[0]
            if "response.output_text.delta" in line:
                break
    assert upstream.received[-1].wait_ended(5.0) == "client_gone"
    deadline = time.monotonic() + 5
    status = ""
    while time.monotonic() < deadline and status != "cancelled":
        status = httpx.get(f"{service.base_url}/responses/{response_id}").json().get("status", "")
        time.sleep(0.05)
    assert status == "cancelled"


def test_the_curl_smoke_test_passes_against_the_service(
    service: ServiceProcess, upstream: ScriptedUpstream
) -> None:
    """envoy/verify.sh: every route through Envoy, with curl (what an operator runs on a deployment)."""
    script = Path(__file__).resolve().parents[2] / "envoy" / "verify.sh"
    base = service.base_url.removesuffix("/v1")
    done = subprocess.run(
        ["bash", str(script), base],
        env={**os.environ, "VERIFY_MODEL": "m"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    checks = (
        "input_tokens with m",
        "compact with m",
        "a forged compaction item is 400",
        "create (background)",
        "stream of background",
        "delete conversation item",
        "stale prompt update is 409",
        "delete prompt",
        "file content",
        "native gRPC",
    )
    for check in checks:
        assert f"ok   {check}" in done.stdout, done.stdout
    assert "all checks passed" in done.stdout
