"""Function tools and generation controls through Envoy with the `openai` SDK (issue 3)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI

from tests.e2e.exactness import check_sse
from tests.pdf_fixture import pdf_with_text
from tests.scripted_upstream import Script, ScriptedToolCall, ScriptedUpstream

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
TIME = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}


def _call(
    call_id: str = "call_1", name: str = "get_weather", args: str = '{"city":"Paris"}'
) -> ScriptedToolCall:
    return ScriptedToolCall(id=call_id, name=name, arguments=args, chunks=3)


def test_function_call_round_trip_by_previous_response_id(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(tool_calls=[_call()]), Script(text="It is sunny in Paris."))
    first = client.responses.create(model="m", input="weather in Paris?", tools=[WEATHER])
    call = first.output[0]
    assert call.type == "function_call"
    assert (call.name, call.arguments, call.call_id, call.status) == (
        "get_weather",
        '{"city":"Paris"}',
        "call_1",
        "completed",
    )
    assert call.id.startswith("fc_") and first.output_text == ""
    assert upstream.requests[-1]["tools"][0]["function"]["name"] == "get_weather"
    second = client.responses.create(
        model="m",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": "call_1", "output": '{"temp": 21}'}],
        tools=[WEATHER],
    )
    assert second.output_text == "It is sunny in Paris."
    messages = upstream.requests[-1]["messages"]
    assert messages[1]["role"] == "assistant"
    assert messages[1]["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        }
    ]
    assert messages[2] == {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'}
    kinds = [i.type for i in client.responses.input_items.list(second.id, order="asc").data]
    assert kinds == ["function_call_output"]


def test_function_call_round_trip_by_resent_history(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(tool_calls=[_call()]), Script(text="done"))
    first = client.responses.create(model="m", input="weather?", tools=[WEATHER], store=False)
    history = [
        {"role": "user", "content": "weather?"},
        first.output[0].model_dump(exclude_none=True),
        {
            "type": "function_call_output",
            "call_id": "call_1",
            "output": [{"type": "input_text", "text": "21C"}],
        },
    ]
    second = client.responses.create(model="m", input=history, tools=[WEATHER], store=False)
    assert second.output_text == "done"
    messages = upstream.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[2]["content"] == "21C"


def test_an_output_for_an_unknown_call_is_a_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(
            model="m", input=[{"type": "function_call_output", "call_id": "call_nope", "output": "x"}]
        )
    assert "call_nope" in err.value.message


def test_streamed_tool_calls_have_their_argument_events_in_order(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(
        Script(text="Let me check.", tool_calls=[_call("c1"), _call("c2", args='{"city":"Oslo"}')])
    )
    events = list(client.responses.create(model="m", input="two cities", tools=[WEATHER], stream=True))
    types = [e.type for e in events]
    calls = [
        e.item for e in events if e.type == "response.output_item.done" and e.item.type == "function_call"
    ]
    assert [c.arguments for c in calls] == ['{"city":"Paris"}', '{"city":"Oslo"}']
    added = [e for e in events if e.type == "response.output_item.added" and e.item.type == "function_call"]
    assert [a.item.arguments for a in added] == ["", ""]
    for call in calls:
        mine = [e for e in events if getattr(e, "item_id", None) == call.id]
        kinds = [e.type for e in mine]
        assert kinds[0] == "response.function_call_arguments.delta"
        assert kinds[-1] == "response.function_call_arguments.done"
        assert "".join(e.delta for e in mine[:-1]) == call.arguments
        assert mine[-1].name == "get_weather" and mine[-1].arguments == call.arguments
    final = events[-1].response
    assert [o.type for o in final.output] == ["message", "function_call", "function_call"]
    assert final.output_text == "Let me check."
    assert '"city"' not in final.output_text
    assert types.index("response.output_item.done") < types.index("response.function_call_arguments.delta")


@pytest.mark.parametrize(
    ("tool_choice", "sent"),
    [
        ("auto", "auto"),
        ("required", "required"),
        ("none", "none"),
        ({"type": "function", "name": "get_time"}, {"type": "function", "function": {"name": "get_time"}}),
    ],
)
def test_tool_choice_is_forwarded(
    client: OpenAI, upstream: ScriptedUpstream, tool_choice: object, sent: object
) -> None:
    name = "get_time" if isinstance(tool_choice, dict) else "get_weather"
    script = (
        Script(text="no tools") if tool_choice in ("auto", "none") else Script(tool_calls=[_call(name=name)])
    )
    upstream.enqueue(script)
    r = client.responses.create(model="m", input="hi", tools=[WEATHER, TIME], tool_choice=tool_choice)  # type: ignore[arg-type]
    assert upstream.requests[-1]["tool_choice"] == sent
    assert r.tool_choice == tool_choice or r.tool_choice.model_dump(exclude_none=True) == tool_choice


def test_allowed_tools_offers_only_the_subset(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(tool_calls=[_call(name="get_time", args="{}")]))
    choice = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": "get_time"}],
    }
    r = client.responses.create(model="m", input="hi", tools=[WEATHER, TIME], tool_choice=choice)  # type: ignore[arg-type]
    sent = upstream.requests[-1]
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_time"]
    assert sent["tool_choice"] == "required"
    assert r.output[0].name == "get_time"
    assert r.tool_choice.type == "allowed_tools"


def test_tool_choice_none_drops_calls_the_upstream_makes_anyway(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text="plain answer", tool_calls=[_call()]))
    r = client.responses.create(model="m", input="hi", tools=[WEATHER], tool_choice="none")
    assert [o.type for o in r.output] == ["message"]
    assert r.output_text == "plain answer"


def test_a_disobeyed_forced_choice_is_retried_with_forcing(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(
        Script(text="I'd rather chat.", usage=(10, 4, 0, 0)),
        Script(tool_calls=[_call(name="get_time", args="{}")], usage=(12, 3, 0, 0)),
    )
    events = list(
        client.responses.create(
            model="m",
            input="hi",
            tools=[WEATHER, TIME],
            tool_choice={"type": "function", "name": "get_time"},
            stream=True,
        )
    )
    final = events[-1].response
    assert [o.type for o in final.output] == ["function_call"]
    assert not [e for e in events if e.type == "response.output_text.delta"], "ignored text must never stream"
    retry = upstream.requests[-1]
    assert [t["function"]["name"] for t in retry["tools"]] == ["get_time"]
    assert retry["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
    assert final.usage is not None and (final.usage.input_tokens, final.usage.output_tokens) == (22, 7)


def test_a_forced_choice_ignored_twice_fails_clearly(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="no"), Script(text="still no"))
    with pytest.raises(openai.InternalServerError) as err:
        client.responses.create(model="m", input="hi", tools=[WEATHER], tool_choice="required")
    assert err.value.status_code == 502
    assert err.value.code == "tool_choice_not_followed"
    assert len(upstream.requests) == 2


def test_parallel_tool_calls_false_keeps_one_call(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(tool_calls=[_call("c1"), _call("c2")]))
    r = client.responses.create(model="m", input="hi", tools=[WEATHER], parallel_tool_calls=False)
    assert upstream.requests[-1]["parallel_tool_calls"] is False
    assert [o.call_id for o in r.output if o.type == "function_call"] == ["c1"]


def test_max_tool_calls_caps_the_calls(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(tool_calls=[_call("c1"), _call("c2"), _call("c3")]))
    r = client.responses.create(model="m", input="hi", tools=[WEATHER], max_tool_calls=2)
    assert [o.call_id for o in r.output] == ["c1", "c2"]
    assert r.max_tool_calls == 2


def test_max_output_tokens_makes_the_response_incomplete(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="cut off mid", finish_reason="length"))
    r = client.responses.create(model="m", input="hi", max_output_tokens=16)
    assert upstream.requests[-1]["max_tokens"] == 16
    assert r.status == "incomplete"
    assert r.incomplete_details is not None and r.incomplete_details.reason == "max_output_tokens"
    assert r.output[-1].status == "incomplete"
    assert client.responses.retrieve(r.id).status == "incomplete"


def test_max_output_tokens_in_a_stream_ends_with_response_incomplete(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text=["cut ", "off"], finish_reason="length"))
    events = list(client.responses.create(model="m", input="hi", max_output_tokens=16, stream=True))
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    done = [e for e in events if e.type == "response.output_item.done"]
    assert done[-1].item.status == "incomplete"


def test_content_filter_is_incomplete_with_its_reason(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="partial", finish_reason="content_filter"))
    r = client.responses.create(model="m", input="hi")
    assert r.status == "incomplete" and r.incomplete_details.reason == "content_filter"


def test_json_schema_output_maps_to_response_format(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text='{"answer": 42}'))
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    r = client.responses.create(
        model="m",
        input="answer?",
        text={
            "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True},
            "verbosity": "high",
        },
    )
    assert upstream.requests[-1]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }
    assert json.loads(r.output_text) == {"answer": 42}
    assert r.text.format.type == "json_schema" and r.text.verbosity == "high"


def test_json_object_output(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text='{"ok": true}'))
    client.responses.create(model="m", input="json please", text={"format": {"type": "json_object"}})
    assert upstream.requests[-1]["response_format"] == {"type": "json_object"}


def test_logprobs_fill_output_text_and_deltas(http: httpx.Client, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text=["Hi", " you"], logprobs=True))
    body = {
        "model": "m",
        "input": "hi",
        "top_logprobs": 2,
        "include": ["message.output_text.logprobs"],
        "stream": True,
    }
    events = check_sse(http.post("/responses", json=body).content)
    sent = upstream.requests[-1]
    assert sent["logprobs"] is True and sent["top_logprobs"] == 2
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    assert [d["logprobs"][0]["token"] for d in deltas] == ["Hi", " you"]  # type: ignore[index]
    assert len(deltas[0]["logprobs"][0]["top_logprobs"]) == 2  # type: ignore[index]
    final = events[-1]["response"]["output"][0]["content"][0]  # type: ignore[index]
    assert [lp["token"] for lp in final["logprobs"]] == ["Hi", " you"]


def test_a_refusal_becomes_a_refusal_part(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(refusal=["I can't ", "help with that."]))
    events = list(client.responses.create(model="m", input="bad", stream=True))
    types = [e.type for e in events]
    assert "response.refusal.delta" in types and "response.refusal.done" in types
    done = next(e for e in events if e.type == "response.refusal.done")
    assert done.refusal == "I can't help with that."
    part = events[-1].response.output[0].content[0]
    assert part.type == "refusal" and part.refusal == "I can't help with that."


def test_passthrough_settings_reach_the_upstream(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="ok"))
    client.responses.create(
        model="m", input="hi", temperature=0.2, top_p=0.5, user="u", safety_identifier="sid",
        prompt_cache_key="k", service_tier="priority", metadata={"a": "b"},
    )  # fmt: skip
    sent = upstream.requests[-1]
    assert (sent["temperature"], sent["top_p"], sent["user"], sent["safety_identifier"]) == (
        0.2,
        0.5,
        "u",
        "sid",
    )
    assert (sent["prompt_cache_key"], sent["service_tier"]) == ("k", "priority")
    assert "metadata" not in sent


def test_invalid_tool_definitions_are_400s(http: httpx.Client) -> None:
    bad_name = http.post(
        "/responses", json={"model": "m", "input": "x", "tools": [{**WEATHER, "name": "has space"}]}
    )
    assert bad_name.status_code == 400 and bad_name.json()["error"]["param"] == "tools[0].name"
    dup = http.post("/responses", json={"model": "m", "input": "x", "tools": [WEATHER, WEATHER]})
    assert dup.status_code == 400
    bad_allowed = http.post(
        "/responses",
        json={
            "model": "m",
            "input": "x",
            "tools": [WEATHER],
            "tool_choice": {
                "type": "allowed_tools",
                "mode": "auto",
                "tools": [{"type": "function", "name": "zzz"}],
            },
        },
    )
    assert (
        bad_allowed.status_code == 400 and bad_allowed.json()["error"]["param"] == "tool_choice.tools[0].name"
    )


def test_reasoning_deltas_become_a_reasoning_item_before_the_answer(
    http: httpx.Client, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(reasoning=["Let me ", "think."], text="42", usage=(5, 9, 0, 7)))
    events = check_sse(http.post("/responses", json={"model": "m", "input": "q", "stream": True}).content)
    final = events[-1]["response"]
    assert isinstance(final, dict)
    reasoning, message = final["output"]
    assert reasoning["type"] == "reasoning"
    assert reasoning["content"] == [{"type": "reasoning_text", "text": "Let me think."}]
    assert message["content"][0]["text"] == "42"
    assert final["usage"]["output_tokens_details"]["reasoning_tokens"] == 7
    types = [e["type"] for e in events]
    assert types.count("response.reasoning_text.delta") == 2
    assert types.index("response.reasoning_text.done") < types.index("response.output_text.delta")


def test_stateless_reasoning_round_trips_through_encrypted_content(
    http: httpx.Client, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(reasoning=["secret ", "plan"], text="step one"), Script(text="step two"))
    body = {"model": "m", "input": "go", "store": False, "include": ["reasoning.encrypted_content"]}
    first = http.post("/responses", json=body).json()
    reasoning = first["output"][0]
    assert reasoning["type"] == "reasoning" and reasoning["encrypted_content"].startswith("rj1.")
    assert "secret" not in reasoning["encrypted_content"]
    assert http.get(f"/responses/{first['id']}").status_code == 404
    history = [{"role": "user", "content": "go"}, {**reasoning, "content": []}, first["output"][1]]
    history.append({"role": "user", "content": "next"})
    second = http.post("/responses", json={**body, "input": history})
    assert second.status_code == 200, second.text
    assert second.json()["output"][-1]["content"][0]["text"] == "step two"


def test_tampered_encrypted_reasoning_is_a_400(http: httpx.Client, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(reasoning=["r"], text="t"))
    first = http.post(
        "/responses",
        json={"model": "m", "input": "go", "store": False, "include": ["reasoning.encrypted_content"]},
    ).json()
    reasoning = first["output"][0]
    token = reasoning["encrypted_content"]
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    reply = http.post(
        "/responses", json={"model": "m", "input": [{**reasoning, "encrypted_content": forged}]}
    )
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["param"] == "input[0].encrypted_content" and error["code"] == "invalid_encrypted_content"
    foreign = http.post(
        "/responses", json={"model": "m", "input": [{**reasoning, "encrypted_content": "gAAAA-other"}]}
    )
    assert foreign.status_code == 400


def test_reasoning_effort_none_hides_reasoning(http: httpx.Client, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(reasoning=["hidden"], text="answer"))
    body = http.post("/responses", json={"model": "m", "input": "q", "reasoning": {"effort": "none"}}).json()
    assert [o["type"] for o in body["output"]] == ["message"]


def _data_url(mime: str, raw: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(raw).decode()}"


def test_a_pdf_file_reaches_the_model_as_text(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="It says hello."))
    pdf = _data_url("application/pdf", pdf_with_text("Quarterly revenue was 42 million"))
    client.responses.create(
        model="m",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_file", "filename": "report.pdf", "file_data": pdf},
                    {"type": "input_text", "text": "What does it say?"},
                ],
            }
        ],
    )
    content = upstream.requests[-1]["messages"][-1]["content"]
    assert "Quarterly revenue was 42 million" in content and "[file: report.pdf]" in content
    assert content.endswith("What does it say?")


def test_the_open_responses_file_input_fixture_reaches_the_model(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    """The compliance suite's own PDF (its cross-reference table cannot be found: pypdf refused it with
    'startxref not found') is read through Envoy like any other."""
    fixture = Path(__file__).parents[1] / "data" / "openresponses-file-input.pdf"
    upstream.enqueue(Script(text="A fixture."))
    pdf = _data_url("application/pdf", fixture.read_bytes())
    client.responses.create(
        model="m",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_file", "filename": "fixture.pdf", "file_data": pdf},
                    {"type": "input_text", "text": "What is its title?"},
                ],
            }
        ],
    )
    content = upstream.requests[-1]["messages"][-1]["content"]
    assert "OpenResponses File Input Fixture" in content and "[file: fixture.pdf]" in content


def test_a_text_file_and_an_image_reach_the_model(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="ok"))
    image = _data_url("image/png", b"\x89PNG\r\n\x1a\nfake")
    client.responses.create(
        model="m",
        input=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "input_file",
                        "filename": "notes.md",
                        "file_data": _data_url("text/markdown", b"# Notes"),
                    },
                    {"type": "input_image", "image_url": image, "detail": "low"},
                ],
            }
        ],
    )
    parts = upstream.requests[-1]["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "[file: notes.md]\n# Notes"}
    assert parts[1] == {"type": "image_url", "image_url": {"url": image, "detail": "low"}}


def test_unreadable_files_are_400s(http: httpx.Client) -> None:
    def post(part: dict[str, object]) -> dict[str, object]:
        reply = http.post("/responses", json={"model": "m", "input": [{"role": "user", "content": [part]}]})
        assert reply.status_code == 400, reply.text
        return reply.json()["error"]  # type: ignore[no-any-return]

    bad_pdf = post(
        {"type": "input_file", "filename": "x.pdf", "file_data": _data_url("application/pdf", b"%PDF-nope")}
    )
    assert bad_pdf["code"] == "invalid_file" and bad_pdf["param"] == "input[0].content[0]"
    assert (
        post({"type": "input_file", "file_data": "data:application/pdf;base64,@@@"})["code"]
        == "invalid_value"
    )
    assert post({"type": "input_file", "file_id": "file_123"})["code"] == "unsupported_parameter"
    zipped = post(
        {"type": "input_file", "filename": "a.zip", "file_data": _data_url("application/zip", b"PK")}
    )
    assert zipped["code"] == "unsupported_file_type"


def test_reasoning_goes_back_to_an_upstream_that_accepts_it(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(
        Script(reasoning=["think ", "first"], tool_calls=[_call()]),
        Script(reasoning=["then answer"], text="Sunny."),
    )
    first = client.responses.create(
        model="reasoner", input="weather?", tools=[WEATHER], reasoning={"effort": "high"}
    )
    assert [o.type for o in first.output] == ["reasoning", "function_call"]
    assert upstream.requests[-1]["reasoning_effort"] == "high"
    second = client.responses.create(
        model="reasoner",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": "call_1", "output": "21C"}],
        tools=[WEATHER],
        reasoning={"effort": "high"},
    )
    assert second.output_text == "Sunny."
    assistant = upstream.requests[-1]["messages"][1]
    assert assistant["role"] == "assistant" and assistant["reasoning"] == "think first"
    assert assistant["tool_calls"][0]["function"]["name"] == "get_weather"


def test_reasoning_is_dropped_for_an_upstream_that_does_not_take_it(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(reasoning=["private"], text="one"), Script(text="two"))
    first = client.responses.create(model="m", input="a")
    client.responses.create(model="m", input="b", previous_response_id=first.id)
    assistant = upstream.requests[-1]["messages"][1]
    assert assistant == {"role": "assistant", "content": "one"}


def test_encrypted_reasoning_reaches_the_upstream_with_nothing_stored(
    http: httpx.Client, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(reasoning=["sealed ", "plan"], text="step one"), Script(text="step two"))
    body = {"model": "reasoner", "store": False, "include": ["reasoning.encrypted_content"]}
    first = http.post("/responses", json={**body, "input": "go"}).json()
    reasoning, message = first["output"]
    history = [
        {"role": "user", "content": "go"},
        {**reasoning, "content": []},
        message,
        {"role": "user", "content": "on"},
    ]
    assert http.post("/responses", json={**body, "input": history}).status_code == 200
    assistant = upstream.requests[-1]["messages"][1]
    assert assistant["reasoning"] == "sealed plan" and assistant["content"] == "step one"
