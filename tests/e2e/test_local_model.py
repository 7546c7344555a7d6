"""The built-in local model (SmolLM2-135M in-process) through Envoy with the `openai` SDK (issue 7).

These run the real model: small prompts, small `max_output_tokens`. They assert shape and validity,
never wording.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from openai import OpenAI

from tests.e2e.exactness import CapturingTransport, check
from tests.e2e.service_process import ServiceProcess

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


@pytest.fixture(scope="module")
def local_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """`rejoinder serve` with nothing configured: the local model is the default."""
    proc = ServiceProcess(
        data_dir=tmp_path_factory.mktemp("local"), extra_args=["--local-threads", "1"]
    ).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def local(local_service: ServiceProcess) -> Iterator[OpenAI]:
    transport = CapturingTransport()
    http = httpx.Client(transport=transport, timeout=120)
    yield OpenAI(base_url=local_service.base_url, api_key="x", http_client=http, max_retries=0)
    http.close()
    for capture in transport.captures:
        check(capture)


def test_the_local_model_is_listed_and_is_the_default(local: OpenAI, local_service: ServiceProcess) -> None:
    assert [m.id for m in local.models.list()] == ["local/smollm2-135m"]
    assert "default model 'local/smollm2-135m'" in local_service.log()


def test_a_text_response(local: OpenAI) -> None:
    r = local.responses.create(model="local/smollm2-135m", input="Say hello.", max_output_tokens=16)
    assert r.status in ("completed", "incomplete")
    assert r.output[0].type == "message" and r.output_text.strip()
    assert r.usage is not None and r.usage.input_tokens > 0 and 0 < r.usage.output_tokens <= 16


def test_a_stream(local: OpenAI) -> None:
    events = list(
        local.responses.create(model="any-name", input="Count to five.", max_output_tokens=24, stream=True)
    )
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) >= 2 and "".join(deltas).strip()
    assert events[-1].type in ("response.completed", "response.incomplete")
    assert events[-1].response.output_text == "".join(deltas)


def test_a_forced_tool_call(local: OpenAI) -> None:
    r = local.responses.create(
        model="local/smollm2-135m",
        input="What is the weather in Paris?",
        tools=[WEATHER],
        tool_choice={"type": "function", "name": "get_weather"},
        max_output_tokens=48,
    )
    call = r.output[-1]
    assert call.type == "function_call" and call.name == "get_weather"
    args = json.loads(call.arguments)
    assert set(args) == {"city"} and isinstance(args["city"], str)


def test_an_auto_tool_call_is_a_valid_call_to_the_offered_tool(local: OpenAI) -> None:
    r = local.responses.create(
        model="local/smollm2-135m",
        input="Use the get_weather tool to get the weather in Paris.",
        tools=[WEATHER],
        temperature=0,
        max_output_tokens=48,
    )
    calls = [o for o in r.output if o.type == "function_call"]
    assert calls, f"expected a call, got {r.output_text!r}"
    assert calls[0].name == "get_weather"
    assert isinstance(json.loads(calls[0].arguments)["city"], str)


def test_json_schema_output_parses_and_validates(local: OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    r = local.responses.create(
        model="local/smollm2-135m",
        input="Invent a person.",
        text={"format": {"type": "json_schema", "name": "person", "schema": schema, "strict": True}},
        max_output_tokens=64,
    )
    person = json.loads(r.output_text)
    assert set(person) == {"name", "age"}
    assert isinstance(person["name"], str) and isinstance(person["age"], int)
