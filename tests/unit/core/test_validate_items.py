"""Input items and tools: what each 400 names, and shorthand expansion."""

from __future__ import annotations

import pytest

from rejoinder.core.checks.items import check_input_items, expand_input
from rejoinder.core.checks.tools import check_tools
from rejoinder.core.checks.validation import validate
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.responses.v1.content_pb2 import MessageContent
from rejoinder.responses.v1.items_pb2 import Input, InputItem, Message
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.responses.v1.tools_pb2 import FunctionTool, Tool
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import FakeMcpConnector, mcp_kinds

CODEC = OpenAIJson()
SERVED = mcp_kinds(FakeMcpConnector({}))  # the server runs MCP tools (which check their own definitions)

WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}


def reject(**body: object) -> ApiError:
    req = CODEC.decode({"model": "m", "input": "hi", **body}, CreateRequest)
    with pytest.raises(ApiError) as info:
        validate(req, stream=False, tools=SERVED)
    assert info.value.kind is ErrorKind.INVALID_REQUEST
    return info.value


def reject_input(*items: object) -> ApiError:
    return reject(input=list(items))


def accept(**body: object) -> None:
    validate(CODEC.decode({"model": "m", "input": "hi", **body}, CreateRequest), stream=False, tools=SERVED)


# ---- tools ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "web_search"},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {"type": "custom", "name": "grammar"},
    ],
)
def test_tools_of_unsupported_type(tool: dict[str, object]) -> None:
    err = reject(tools=[WEATHER, tool])

    assert err.param == "tools[1].type"
    assert err.code == "unsupported_parameter"


@pytest.mark.parametrize(
    ("tool", "param", "code"),
    [
        (
            {"type": "mcp", "server_url": "https://mcp.test"},
            "tools[1].server_label",
            "missing_required_parameter",
        ),
        (
            {"type": "mcp", "server_label": "a b", "server_url": "https://x.test"},
            "tools[1].server_label",
            "invalid_value",
        ),
        ({"type": "mcp", "server_label": "docs"}, "tools[1].server_url", "invalid_value"),
        (
            {"type": "mcp", "server_label": "docs", "server_url": "ftp://x.test"},
            "tools[1].server_url",
            "invalid_value",
        ),
        (
            {"type": "mcp", "server_label": "docs", "connector_id": "connector_gmail"},
            "tools[1].connector_id",
            "unsupported_parameter",
        ),
        (
            {
                "type": "mcp",
                "server_label": "docs",
                "server_url": "https://x.test",
                "require_approval": "sometimes",
            },
            "tools[1].require_approval",
            "invalid_value",
        ),
    ],
)
def test_bad_mcp_tools(tool: dict[str, object], param: str, code: str) -> None:
    err = reject(tools=[WEATHER, tool])

    assert (err.param, err.code) == (param, code)


def test_duplicate_mcp_labels_and_unknown_mcp_tool_choice() -> None:
    docs = {"type": "mcp", "server_label": "docs", "server_url": "https://x.test"}
    assert reject(tools=[docs, docs]).param == "tools[1].server_label"
    err = reject(tools=[docs], tool_choice={"type": "mcp", "server_label": "other"})
    assert err.param == "tool_choice.server_label"


@pytest.mark.parametrize("name", ["has space", "dots.not.allowed", "x" * 65, "emoji😀"])
def test_bad_function_names(name: str) -> None:
    err = reject(tools=[{"type": "function", "name": name}])

    assert err.param == "tools[0].name"
    assert err.code == "invalid_value"


@pytest.mark.parametrize("name", ["a", "get_weather", "Get-Weather-2", "x" * 64])
def test_good_function_names(name: str) -> None:
    accept(tools=[{"type": "function", "name": name}])


def test_missing_function_name() -> None:
    err = reject(tools=[{"type": "function"}])

    assert err.param == "tools[0].name"
    assert err.code == "missing_required_parameter"


def test_duplicate_function_names() -> None:
    err = reject(tools=[WEATHER, {"type": "function", "name": "other"}, WEATHER])

    assert err.param == "tools[2].name"
    assert err.code == "invalid_value"
    assert "get_weather" in err.message


def test_tool_choice_naming_an_unknown_function() -> None:
    err = reject(tools=[WEATHER], tool_choice={"type": "function", "name": "get_time"})

    assert err.param == "tool_choice"
    assert err.code == "invalid_value"
    assert "get_time" in err.message


def test_tool_choice_naming_a_function_without_tools() -> None:
    err = reject(tool_choice={"type": "function", "name": "get_weather"})

    assert err.param == "tool_choice"


def test_tool_choice_naming_a_known_function() -> None:
    accept(tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"})


def test_tool_choice_unknown_mode() -> None:
    err = reject(tools=[WEATHER], tool_choice="sometimes")

    assert err.param == "tool_choice"
    assert err.code == "invalid_value"


def test_tool_choice_kinds_not_supported() -> None:
    err = reject(tools=[WEATHER], tool_choice={"type": "custom", "name": "grammar"})

    assert err.param == "tool_choice"
    assert err.code == "unsupported_parameter"


@pytest.mark.parametrize("mode", ["auto", "required"])
def test_allowed_tools_naming_known_functions(mode: str) -> None:
    accept(
        tools=[WEATHER, {"type": "function", "name": "now"}],
        tool_choice={"type": "allowed_tools", "mode": mode, "tools": [{"type": "function", "name": "now"}]},
    )


def test_allowed_tools_with_a_bad_mode() -> None:
    err = reject(
        tools=[WEATHER],
        tool_choice={
            "type": "allowed_tools",
            "mode": "none",
            "tools": [{"type": "function", "name": "get_weather"}],
        },
    )

    assert err.param == "tool_choice.mode"
    assert err.code == "invalid_value"


def test_allowed_tools_naming_an_unknown_function() -> None:
    err = reject(
        tools=[WEATHER],
        tool_choice={
            "type": "allowed_tools",
            "mode": "auto",
            "tools": [{"type": "function", "name": "get_weather"}, {"type": "function", "name": "ghost"}],
        },
    )

    assert err.param == "tool_choice.tools[1].name"
    assert err.code == "invalid_value"


def test_allowed_tools_of_another_type() -> None:
    err = reject(
        tools=[WEATHER],
        tool_choice={
            "type": "allowed_tools",
            "mode": "auto",
            "tools": [{"type": "mcp", "server_label": "docs"}],
        },
    )

    assert err.param == "tool_choice.tools[0].type"
    assert err.code == "unsupported_parameter"


@pytest.mark.parametrize("text", ["[1, 2]", "not json", '"a string"'])
def test_function_parameters_sent_over_grpc_must_be_a_json_object(text: str) -> None:
    req = CreateRequest(model="m", tools=[Tool(function=FunctionTool(name="f", parameters=text))])

    with pytest.raises(ApiError) as info:
        check_tools(req, SERVED)

    assert info.value.param == "tools[0].parameters"
    assert info.value.code == "invalid_value"


def test_function_parameters_json_object_over_grpc() -> None:
    check_tools(
        CreateRequest(
            model="m", tools=[Tool(function=FunctionTool(name="f", parameters='{"type":"object"}'))]
        ),
        SERVED,
    )


def test_check_tools_accepts_no_tools_and_no_choice() -> None:
    check_tools(CreateRequest(model="m"), SERVED)


def test_a_server_without_mcp_refuses_mcp_tools() -> None:
    req = CODEC.decode(
        {
            "model": "m",
            "input": "hi",
            "tools": [{"type": "mcp", "server_label": "d", "server_url": "https://x.test"}],
        },
        CreateRequest,
    )
    with pytest.raises(ApiError) as info:
        validate(req, stream=False)  # no tool kinds registered

    assert (info.value.param, info.value.code) == ("tools[0].type", "unsupported_parameter")


# ---- input items ------------------------------------------------------------------------------


def test_bad_role() -> None:
    err = reject_input({"role": "user", "content": "ok"}, {"role": "robot", "content": "beep"})

    assert err.param == "input[1].role"
    assert err.code == "invalid_value"


@pytest.mark.parametrize("role", ["user", "assistant", "system", "developer"])
def test_good_roles(role: str) -> None:
    accept(input=[{"role": role, "content": "text"}])


@pytest.mark.parametrize(
    "part",
    [
        {"type": "output_text", "text": "I said this", "annotations": []},
        {"type": "refusal", "refusal": "no"},
    ],
)
def test_assistant_parts_in_a_user_message(part: dict[str, object]) -> None:
    err = reject_input({"role": "user", "content": [{"type": "input_text", "text": "a"}, part]})

    assert err.param == "input[0].content[1].type"
    assert err.code == "invalid_value"


def test_output_text_in_an_assistant_message_is_fine() -> None:
    accept(
        input=[
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "output_text", "text": "hello", "annotations": []}]},
        ]
    )


def test_message_without_content() -> None:
    err = reject_input({"role": "user"})

    assert err.param == "input[0].content"
    assert err.code == "missing_required_parameter"


def test_image_without_url_or_file() -> None:
    err = reject_input({"role": "user", "content": [{"type": "input_image", "detail": "auto"}]})

    assert err.param == "input[0].content[0].image_url"
    assert err.code == "missing_required_parameter"


def test_image_with_bad_detail() -> None:
    err = reject_input(
        {
            "role": "user",
            "content": [{"type": "input_image", "image_url": "https://x.test/a.png", "detail": "ultra"}],
        }
    )

    assert err.param == "input[0].content[0].detail"
    assert err.code == "invalid_value"


def test_file_without_data_url_or_id() -> None:
    err = reject_input({"role": "user", "content": [{"type": "input_file", "filename": "a.pdf"}]})

    assert err.param == "input[0].content[0].file_data"
    assert err.code == "missing_required_parameter"


def test_function_call_output_without_call_id() -> None:
    err = reject_input({"type": "function_call_output", "output": "42"})

    assert err.param == "input[0].call_id"
    assert err.code == "missing_required_parameter"


def test_function_call_output_without_output() -> None:
    err = reject_input({"type": "function_call_output", "call_id": "call_1"})

    assert err.param == "input[0].output"
    assert err.code == "missing_required_parameter"


@pytest.mark.parametrize("missing", ["call_id", "name"])
def test_function_call_without_required_field(missing: str) -> None:
    call = {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}
    del call[missing]

    err = reject_input(call)

    assert err.param == f"input[0].{missing}"
    assert err.code == "missing_required_parameter"


def test_item_reference_without_id() -> None:
    err = reject_input({"type": "item_reference"})

    assert err.param == "input[0].id"
    assert err.code == "missing_required_parameter"


def test_an_empty_item_is_missing_its_type() -> None:
    with pytest.raises(ApiError) as info:
        check_input_items([InputItem()])

    assert info.value.param == "input[0].type"
    assert info.value.code == "missing_required_parameter"


# ---- expansion --------------------------------------------------------------------------------


def test_expand_string_input() -> None:
    (item,) = expand_input(Input(text="hello"))

    assert item.message.role == "user"
    assert [p.input_text.text for p in item.message.content.parts.items] == ["hello"]


def test_expand_string_content_without_touching_the_original() -> None:
    original = Input()
    original.items.items.add(message=Message(role="user", content=MessageContent(text="earlier")))

    (item,) = expand_input(original)

    assert item.message.content.parts.items[0].input_text.text == "earlier"
    assert original.items.items[0].message.content.text == "earlier"


def test_expand_assistant_string_content_as_output_text() -> None:
    """An earlier assistant turn given as a string is stored as OpenAI lists it: one `output_text`
    part (the SDK's item types have no assistant message with `input_text`)."""
    original = Input()
    original.items.items.add(message=Message(role="assistant", content=MessageContent(text="Earlier.")))

    (item,) = expand_input(original)

    parts = item.message.content.parts.items
    assert [p.WhichOneof("part") for p in parts] == ["output_text"]
    assert parts[0].output_text.text == "Earlier."
    assert list(parts[0].output_text.annotations) == []


def test_expand_nothing() -> None:
    assert expand_input(Input()) == ()
