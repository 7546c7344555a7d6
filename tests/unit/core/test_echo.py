"""The response as it starts: request settings echoed the way OpenAI echoes them."""

from __future__ import annotations

from rejoinder.core.checks.validation import ValidatedRequest, validate
from rejoinder.core.run.echo import initial_response
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.responses.v1.tools_pb2 import FunctionTool, McpTool, Tool, ToolChoice
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import FakeMcpConnector, mcp_kinds

CODEC = OpenAIJson()
CREATED = 1_700_000_000


def start(**body: object) -> Response:
    vreq = validate(CODEC.decode({"model": "gpt-4.1", "input": "hi", **body}, CreateRequest), stream=False)
    return initial_response(vreq, "resp_0001", CREATED)


def wire(response: Response) -> dict[str, object]:
    body = CODEC.encode(response)
    assert isinstance(body, dict)
    return body


def test_identity_and_status() -> None:
    r = start()

    assert (r.id, r.object, r.created_at, r.status, r.model) == (
        "resp_0001",
        "response",
        CREATED,
        "in_progress",
        "gpt-4.1",
    )
    assert not r.HasField("completed_at")
    assert list(r.output) == []
    assert not r.HasField("usage")
    assert not r.HasField("error")


def test_defaults_are_echoed_as_openai_does() -> None:
    body = wire(start())

    assert body["temperature"] == 1.0
    assert body["top_p"] == 1.0
    assert body["presence_penalty"] == 0.0
    assert body["frequency_penalty"] == 0.0
    assert body["top_logprobs"] == 0
    assert body["truncation"] == "disabled"
    assert body["parallel_tool_calls"] is True
    assert body["tool_choice"] == "auto"
    assert body["tools"] == []
    assert body["text"] == {"format": {"type": "text"}, "verbosity": "medium"}
    assert body["reasoning"] == {"effort": None, "summary": None}
    assert body["service_tier"] == "default"
    assert body["store"] is True
    assert body["background"] is False
    assert body["metadata"] == {}
    for key in (
        "instructions",
        "previous_response_id",
        "max_output_tokens",
        "max_tool_calls",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_retention",
        "user",
        "completed_at",
        "error",
        "incomplete_details",
        "usage",
    ):
        assert body[key] is None, key


def test_service_tier_auto_is_echoed_as_default() -> None:
    assert start(service_tier="auto").service_tier == "default"


def test_given_service_tier_is_echoed() -> None:
    assert start(service_tier="flex").service_tier == "flex"


def test_given_values_are_echoed() -> None:
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    body = wire(
        start(
            instructions="Be terse.",
            previous_response_id="resp_prev",
            temperature=0.2,
            top_p=0.5,
            presence_penalty=0.1,
            frequency_penalty=-0.1,
            top_logprobs=3,
            max_output_tokens=512,
            max_tool_calls=2,
            parallel_tool_calls=False,
            truncation="auto",
            store=False,
            metadata={"team": "search"},
            safety_identifier="user-1",
            prompt_cache_key="pk",
            prompt_cache_retention="24h",
            user="u",
            tools=tools,
            tool_choice={"type": "function", "name": "get_weather"},
            reasoning={"effort": "low", "summary": "auto"},
            text={"verbosity": "high", "format": {"type": "json_object"}},
        )
    )

    expected = {
        "instructions": "Be terse.",
        "previous_response_id": "resp_prev",
        "temperature": 0.2,
        "top_p": 0.5,
        "presence_penalty": 0.1,
        "frequency_penalty": -0.1,
        "top_logprobs": 3,
        "max_output_tokens": 512,
        "max_tool_calls": 2,
        "parallel_tool_calls": False,
        "truncation": "auto",
        "store": False,
        "metadata": {"team": "search"},
        "safety_identifier": "user-1",
        "prompt_cache_key": "pk",
        "prompt_cache_retention": "24h",
        "user": "u",
        "tool_choice": {"type": "function", "name": "get_weather"},
        "reasoning": {"effort": "low", "summary": "auto"},
        "text": {"format": {"type": "json_object"}, "verbosity": "high"},
    }
    assert {k: body[k] for k in expected} == expected
    assert body["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": None,
            "parameters": {"type": "object"},
            "strict": None,
        }
    ]


def test_prompt_cache_options_are_echoed() -> None:
    body = wire(start(prompt_cache_options={"mode": "explicit", "ttl": "30m"}))

    assert body.get("prompt_cache_options") == {"mode": "explicit", "ttl": "30m"}


def test_prompt_cache_options_are_left_out_when_not_given() -> None:
    assert "prompt_cache_options" not in wire(start())


def test_json_schema_format_is_echoed_with_default_verbosity() -> None:
    body = wire(
        start(
            text={
                "format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}, "strict": True}
            }
        )
    )

    assert body["text"] == {
        "format": {
            "type": "json_schema",
            "name": "n",
            "schema": {"type": "object"},
            "description": None,
            "strict": True,
        },
        "verbosity": "medium",
    }


def test_json_schema_strict_is_echoed_false_when_not_given() -> None:
    body = wire(start(text={"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}}}))

    assert body["text"]["format"]["strict"] is False  # type: ignore[index]


def test_zero_temperature_is_echoed_as_zero() -> None:
    assert start(temperature=0).temperature == 0.0


def test_mcp_credentials_are_redacted() -> None:
    mcp = McpTool(
        server_label="docs",
        server_url="https://mcp.test/sse",
        authorization="Bearer secret-token",
        headers={"X-Api-Key": "secret-key"},
    )
    params = CreateRequest(
        model="m",
        tools=[Tool(function=FunctionTool(name="f")), Tool(mcp=mcp)],
        tool_choice=ToolChoice(mode="auto"),
    )
    vreq = ValidatedRequest(params=params, input_items=(), store=True, stream=False)

    public = mcp_kinds(FakeMcpConnector({})).public  # as the server's tool registry shows tools
    response = initial_response(vreq, "resp_1", CREATED, public)

    echoed = response.tools[1].mcp
    assert echoed.server_label == "docs"
    assert echoed.server_url == "https://mcp.test/sse"
    assert not echoed.HasField("authorization")
    assert dict(echoed.headers) == {}
    assert response.tools[0].function.name == "f"
    assert b"secret" not in response.SerializeToString()
    # the request itself keeps the credentials for the call
    assert params.tools[1].mcp.authorization == "Bearer secret-token"
    assert dict(params.tools[1].mcp.headers) == {"X-Api-Key": "secret-key"}


def test_the_request_is_not_changed() -> None:
    vreq = validate(CODEC.decode({"model": "m", "input": "hi"}, CreateRequest), stream=False)
    before = vreq.params.SerializeToString(deterministic=True)

    initial_response(vreq, "resp_1", CREATED)

    assert vreq.params.SerializeToString(deterministic=True) == before
