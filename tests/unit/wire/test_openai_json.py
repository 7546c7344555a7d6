"""The OpenAI JSON codec: requests as OpenAI clients send them, objects as OpenAI prints them."""

from __future__ import annotations

import copy

import pytest
from google.protobuf.struct_pb2 import Struct

from rejoinder.errors import ApiError, ErrorKind
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.content_pb2 import (
    Content,
    ContentList,
    InputText,
    MessageContent,
    OutputContent,
    OutputText,
    ReasoningText,
    SummaryText,
)
from rejoinder.responses.v1.items_pb2 import (
    FunctionToolCall,
    Input,
    OutputItem,
    OutputMessage,
    ReasoningItem,
)
from rejoinder.responses.v1.response_pb2 import ConversationParam, ConversationRef, Prompt, Response
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.responses.v1.tools_pb2 import (
    McpAllowedTools,
    McpToolFilter,
    Tool,
    ToolChoice,
    ToolNameList,
)
from rejoinder.wire.openai_json import OpenAIJson

CODEC = OpenAIJson()
STRICT = OpenAIJson(strict=True)


def decode(body: object, *, codec: OpenAIJson = CODEC) -> CreateRequest:
    return codec.decode(body, CreateRequest)


def decode_error(body: object, *, codec: OpenAIJson = CODEC) -> ApiError:
    with pytest.raises(ApiError) as info:
        codec.decode(body, CreateRequest)
    assert info.value.kind is ErrorKind.INVALID_REQUEST
    return info.value


# ---- decoding: the two forms of `input` and `content` ------------------------------------------


def test_string_input_decodes_to_the_text_case() -> None:
    req = decode({"model": "gpt-4.1", "input": "Tell me a joke"})

    assert req.model == "gpt-4.1"
    assert req.input.WhichOneof("input") == "text"
    assert req.input.text == "Tell me a joke"


def test_array_input_decodes_to_items_in_order() -> None:
    req = decode(
        {
            "model": "m",
            "input": [
                {"type": "message", "role": "user", "content": "first"},
                {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_1", "output": '{"ok": true}'},
                {"type": "item_reference", "id": "msg_9"},
            ],
        }
    )

    items = req.input.items.items
    assert [i.WhichOneof("item") for i in items] == [
        "message",
        "function_call",
        "function_call_output",
        "item_reference",
    ]
    assert items[1].function_call.call_id == "call_1"
    assert items[2].function_call_output.output.text == '{"ok": true}'
    assert items[3].item_reference.id == "msg_9"


def test_input_item_without_type_is_a_message() -> None:
    req = decode({"model": "m", "input": [{"role": "developer", "content": "Be brief."}]})

    item = req.input.items.items[0]
    assert item.WhichOneof("item") == "message"
    assert item.message.role == "developer"


def test_string_content_decodes_to_the_text_case() -> None:
    req = decode({"model": "m", "input": [{"role": "user", "content": "hello"}]})

    content = req.input.items.items[0].message.content
    assert content.WhichOneof("content") == "text"
    assert content.text == "hello"


def test_parts_content_decodes_each_part_by_type() -> None:
    req = decode(
        {
            "model": "m",
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What is in this image?"},
                        {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "low"},
                    ],
                }
            ],
        }
    )

    parts = req.input.items.items[0].message.content.parts.items
    assert [p.WhichOneof("part") for p in parts] == ["input_text", "input_image"]
    assert parts[0].input_text.text == "What is in this image?"
    assert parts[1].input_image.image_url == "https://example.com/cat.png"
    assert parts[1].input_image.detail == "low"


def test_function_call_output_accepts_string_or_parts() -> None:
    req = decode(
        {
            "model": "m",
            "input": [
                {"type": "function_call_output", "call_id": "a", "output": "42"},
                {
                    "type": "function_call_output",
                    "call_id": "b",
                    "output": [{"type": "input_text", "text": "x"}],
                },
            ],
        }
    )

    first, second = (i.function_call_output.output for i in req.input.items.items)
    assert first.text == "42"
    assert second.parts.items[0].input_text.text == "x"


# ---- decoding: tool_choice, null, unknown keys ------------------------------------------------


@pytest.mark.parametrize("mode", ["none", "auto", "required"])
def test_tool_choice_string_is_a_mode(mode: str) -> None:
    req = decode({"model": "m", "tool_choice": mode})

    assert req.tool_choice.WhichOneof("tool_choice") == "mode"
    assert req.tool_choice.mode == mode


def test_tool_choice_object_names_a_function() -> None:
    req = decode({"model": "m", "tool_choice": {"type": "function", "name": "get_weather"}})

    assert req.tool_choice.WhichOneof("tool_choice") == "function"
    assert req.tool_choice.function.name == "get_weather"


def test_null_leaves_a_parameter_unset() -> None:
    req = decode(
        {
            "model": "m",
            "temperature": None,
            "instructions": None,
            "tool_choice": None,
            "text": None,
            "store": None,
            "metadata": {"kept": "yes", "dropped": None},
        }
    )

    for name in ("temperature", "instructions", "tool_choice", "text", "store"):
        assert not req.HasField(name), name
    assert dict(req.metadata) == {"kept": "yes"}


def test_unknown_keys_are_ignored_by_default() -> None:
    req = decode(
        {
            "model": "m",
            "brand_new_option": {"x": 1},
            "input": [{"role": "user", "content": "hi", "future_field": True}],
        }
    )

    assert req.model == "m"
    assert req.input.items.items[0].message.role == "user"


def test_strict_mode_rejects_an_unknown_top_level_key() -> None:
    err = decode_error({"model": "m", "brand_new_option": 1}, codec=STRICT)

    assert err.code == "unknown_parameter"
    assert err.param == "brand_new_option"
    assert err.message == "Unknown parameter: 'brand_new_option'."


def test_strict_mode_names_a_nested_unknown_key_by_its_path() -> None:
    err = decode_error(
        {
            "model": "m",
            "input": [{"role": "user", "content": "hi"}, {"role": "user", "content": "x", "extra": 1}],
        },
        codec=STRICT,
    )

    assert err.code == "unknown_parameter"
    assert err.param == "input[1].extra"


def test_strict_mode_accepts_a_fully_known_request() -> None:
    req = decode(
        {"model": "m", "input": [{"type": "message", "role": "user", "content": "hi"}], "temperature": 0.5},
        codec=STRICT,
    )

    assert req.temperature == 0.5


def test_strict_mode_accepts_a_reasoning_item_as_openai_returned_it() -> None:
    """Clients feed output items back as input; OpenAI's reasoning parts carry their own `type`."""
    req = decode(
        {
            "model": "m",
            "input": [
                {
                    "type": "reasoning",
                    "id": "rs_1",
                    "summary": [{"type": "summary_text", "text": "Thought about it."}],
                    "content": [{"type": "reasoning_text", "text": "Step one."}],
                }
            ],
        },
        codec=STRICT,
    )

    reasoning = req.input.items.items[0].reasoning
    assert reasoning.summary[0].text == "Thought about it."
    assert reasoning.content[0].text == "Step one."


# ---- decoding: wrong types and values ---------------------------------------------------------


def test_wrong_type_is_reported_with_openais_message() -> None:
    err = decode_error({"model": "m", "temperature": "hot"})

    assert err.message == "Invalid type for 'temperature': expected a decimal, but got a string instead."
    assert err.param == "temperature"
    assert err.code == "invalid_type"


def test_wrong_type_deep_in_the_input_names_the_full_path() -> None:
    err = decode_error(
        {
            "model": "m",
            "input": [
                {"role": "user", "content": "ok"},
                {"role": "user", "content": [{"type": "input_text", "text": 5}]},
            ],
        }
    )

    assert err.param == "input[1].content[0].text"
    assert err.code == "invalid_type"
    assert err.message == (
        "Invalid type for 'input[1].content[0].text': expected a string, but got an integer instead."
    )


@pytest.mark.parametrize(
    ("body", "param", "expected", "got"),
    [
        ({"stream": 1}, "stream", "a boolean", "an integer"),
        ({"temperature": True}, "temperature", "a decimal", "a boolean"),
        ({"max_output_tokens": "100"}, "max_output_tokens", "an integer", "a string"),
        ({"max_output_tokens": False}, "max_output_tokens", "an integer", "a boolean"),
        ({"tools": {}}, "tools", "an array", "an object"),
        ({"include": "reasoning.encrypted_content"}, "include", "an array", "a string"),
        ({"metadata": []}, "metadata", "an object", "an array"),
        ({"metadata": {"k": 1}}, "metadata.k", "a string", "an integer"),
        ({"input": 5}, "input", "a string or an array", "an integer"),
        ({"instructions": ["a"]}, "instructions", "a string", "an array"),
        ({"reasoning": "high"}, "reasoning", "an object", "a string"),
        (
            {"tools": [{"type": "function", "name": "f", "parameters": "{}"}]},
            "tools[0].parameters",
            "an object",
            "a string",
        ),
    ],
)
def test_wrong_types(body: dict[str, object], param: str, expected: str, got: str) -> None:
    err = decode_error({"model": "m", **body})

    assert err.param == param
    assert err.code == "invalid_type"
    assert err.message == f"Invalid type for '{param}': expected {expected}, but got {got} instead."


def test_a_body_that_is_not_an_object_is_a_type_error() -> None:
    err = decode_error(["model", "m"])

    assert err.code == "invalid_type"


def test_unknown_item_type_is_an_invalid_value() -> None:
    err = decode_error({"model": "m", "input": [{"type": "computer_call_output", "call_id": "c"}]})

    assert err.code == "invalid_value"
    assert err.param == "input[0].type"
    assert "'computer_call_output'" in err.message


def test_unknown_content_part_type_is_an_invalid_value() -> None:
    err = decode_error({"model": "m", "input": [{"role": "user", "content": [{"type": "input_video"}]}]})

    assert err.code == "invalid_value"
    assert err.param == "input[0].content[0].type"


def test_unknown_tool_type_is_an_invalid_value() -> None:
    err = decode_error({"model": "m", "tools": [{"type": "teleport"}]})

    assert err.code == "invalid_value"
    assert err.param == "tools[0].type"


def test_a_part_without_type_is_missing_its_type() -> None:
    err = decode_error({"model": "m", "input": [{"role": "user", "content": [{"text": "hi"}]}]})

    assert err.code == "missing_required_parameter"
    assert err.param == "input[0].content[0].type"


def test_non_string_type_is_a_type_error() -> None:
    err = decode_error({"model": "m", "input": [{"type": 7}]})

    assert err.code == "invalid_type"
    assert err.param == "input[0].type"


def test_int32_out_of_range() -> None:
    err = decode_error({"model": "m", "top_logprobs": 2**31})

    assert err.param == "top_logprobs"
    assert err.code == "integer_out_of_range"


def test_int64_out_of_range() -> None:
    err = decode_error({"model": "m", "max_output_tokens": 2**63})

    assert err.param == "max_output_tokens"
    assert err.code == "integer_out_of_range"


def test_int64_at_its_limit_is_accepted() -> None:
    assert decode({"model": "m", "max_output_tokens": 2**63 - 1}).max_output_tokens == 2**63 - 1


def test_whole_float_is_accepted_for_an_integer() -> None:
    req = decode({"model": "m", "max_output_tokens": 1024.0, "top_logprobs": 2.0})

    assert req.max_output_tokens == 1024
    assert req.top_logprobs == 2


def test_fractional_float_is_rejected_for_an_integer() -> None:
    err = decode_error({"model": "m", "max_output_tokens": 10.5})

    assert err.param == "max_output_tokens"
    assert err.code == "invalid_type"
    assert (
        err.message == "Invalid type for 'max_output_tokens': expected an integer, but got a decimal instead."
    )


def test_integer_is_accepted_for_a_decimal() -> None:
    req = decode({"model": "m", "temperature": 1, "top_p": 0})

    assert req.temperature == 1.0
    assert req.HasField("top_p")
    assert req.top_p == 0.0


def test_struct_parameters_keep_their_json() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}, "required": ["n"]}
    req = decode({"model": "m", "tools": [{"type": "function", "name": "f", "parameters": schema}]})

    assert CODEC.encode(req.tools[0])["parameters"] == schema  # type: ignore[index]


def test_mcp_allowed_tools_accepts_a_list_or_an_untyped_filter() -> None:
    as_list = CODEC.decode({"type": "mcp", "server_label": "s", "allowed_tools": ["a", "b"]}, Tool)
    as_filter = CODEC.decode(
        {"type": "mcp", "server_label": "s", "allowed_tools": {"tool_names": ["a"], "read_only": True}}, Tool
    )

    assert list(as_list.mcp.allowed_tools.names.items) == ["a", "b"]
    assert list(as_filter.mcp.allowed_tools.filter.tool_names) == ["a"]
    assert as_filter.mcp.allowed_tools.filter.read_only is True


def test_conversation_accepts_an_id_or_an_object() -> None:
    as_id = decode({"model": "m", "conversation": "conv_1"})
    as_object = decode({"model": "m", "conversation": {"id": "conv_2"}})

    assert as_id.conversation.id == "conv_1"
    assert as_object.conversation.ref.id == "conv_2"


# ---- encoding ---------------------------------------------------------------------------------


def test_every_key_is_printed() -> None:
    body = CODEC.encode(Response(id="resp_1", object="response"))

    assert isinstance(body, dict)
    # unset optional scalars and messages are null
    for key in (
        "completed_at",
        "error",
        "incomplete_details",
        "instructions",
        "previous_response_id",
        "usage",
    ):
        assert key in body and body[key] is None, key
    # repeated fields are [], maps are {}
    assert body["output"] == []
    assert body["tools"] == []
    assert body["metadata"] == {}
    # plain scalars print their value, zero included
    assert body["temperature"] == 0.0
    assert body["top_logprobs"] == 0
    assert body["parallel_tool_calls"] is False
    assert body["id"] == "resp_1"


def test_omit_unset_keys_are_absent_until_set() -> None:
    unset = CODEC.encode(Response())
    set_ = CODEC.encode(Response(conversation=ConversationRef(id="conv_1")))

    assert isinstance(unset, dict) and isinstance(set_, dict)
    assert "conversation" not in unset
    assert set_["conversation"] == {"id": "conv_1"}


def test_omit_unset_on_an_event_field() -> None:
    bare = ev.FunctionCallArgumentsDeltaEvent(output_index=0, item_id="fc_1", delta="{")
    padded = ev.FunctionCallArgumentsDeltaEvent(output_index=0, item_id="fc_1", delta="{", obfuscation="xyz")

    assert "obfuscation" not in CODEC.encode(bare)  # type: ignore[operator]
    assert CODEC.encode(padded)["obfuscation"] == "xyz"  # type: ignore[index]


def test_integers_are_json_numbers() -> None:
    body = CODEC.encode(Response(created_at=1_700_000_000, max_output_tokens=2**40))

    assert isinstance(body, dict)
    assert body["created_at"] == 1_700_000_000
    assert body["max_output_tokens"] == 2**40
    assert isinstance(body["max_output_tokens"], int)


def test_a_union_renders_flat_with_its_type() -> None:
    item = OutputItem(
        message=OutputMessage(
            id="msg_1",
            role="assistant",
            status="completed",
            content=[OutputContent(output_text=OutputText(text="Hi"))],
        )
    )

    assert CODEC.encode(item) == {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "annotations": [], "text": "Hi", "logprobs": []}],
    }


def test_function_call_item_renders_flat() -> None:
    item = OutputItem(
        function_call=FunctionToolCall(
            id="fc_1", call_id="call_1", name="f", arguments="{}", status="completed"
        )
    )

    assert CODEC.encode(item) == {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "f",
        "arguments": "{}",
        "status": "completed",
    }


def test_string_and_list_unions_render_bare() -> None:
    assert CODEC.encode(Input(text="hi")) == "hi"
    assert CODEC.encode(ToolChoice(mode="required")) == "required"
    assert CODEC.encode(ConversationParam(id="conv_1")) == "conv_1"
    parts = MessageContent(parts=ContentList(items=[Content(input_text=InputText(text="a"))]))
    assert CODEC.encode(parts) == [{"type": "input_text", "text": "a"}]
    names = McpAllowedTools(names=ToolNameList(items=["x", "y"]))
    assert CODEC.encode(names) == ["x", "y"]


def test_untyped_union_case_renders_without_type() -> None:
    assert CODEC.encode(ConversationParam(ref=ConversationRef(id="conv_1"))) == {"id": "conv_1"}
    flt = McpAllowedTools(filter=McpToolFilter(tool_names=["a"], read_only=True))
    assert CODEC.encode(flt) == {"tool_names": ["a"], "read_only": True}


def test_an_unset_union_renders_null() -> None:
    assert CODEC.encode(ToolChoice()) is None
    body = CODEC.encode(Response())
    assert isinstance(body, dict)
    assert body["tool_choice"] is None


def test_reasoning_item_parts_carry_their_type() -> None:
    item = OutputItem(
        reasoning=ReasoningItem(
            id="rs_1",
            summary=[SummaryText(text="Short.")],
            content=[ReasoningText(text="Long.")],
            status="completed",
        )
    )

    body = CODEC.encode(item)

    assert isinstance(body, dict)
    assert body["summary"] == [{"type": "summary_text", "text": "Short."}]
    assert body["content"] == [{"type": "reasoning_text", "text": "Long."}]


def test_event_carries_type_and_sequence_number_beside_its_fields() -> None:
    event = ev.ResponseStreamEvent(
        sequence_number=7,
        output_text_delta=ev.OutputTextDeltaEvent(
            output_index=1, item_id="msg_1", content_index=0, delta="Hel"
        ),
    )

    assert CODEC.encode(event) == {
        "type": "response.output_text.delta",
        "sequence_number": 7,
        "output_index": 1,
        "item_id": "msg_1",
        "content_index": 0,
        "delta": "Hel",
        "logprobs": [],
    }


def test_event_sequence_number_zero_is_printed() -> None:
    event = ev.ResponseStreamEvent(
        response_created=ev.ResponseCreatedEvent(response=Response(id="resp_1", object="response"))
    )

    body = CODEC.encode(event)

    assert isinstance(body, dict)
    assert body["type"] == "response.created"
    assert body["sequence_number"] == 0
    assert body["response"]["id"] == "resp_1"


def test_error_event_type_is_the_case_name() -> None:
    event = ev.ResponseStreamEvent(
        sequence_number=3, error=ev.ErrorEvent(code="server_error", message="boom")
    )

    body = CODEC.encode(event)

    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["code"] == "server_error"
    assert body["param"] is None


def test_struct_numbers_that_are_whole_print_as_ints() -> None:
    variables = Struct()
    variables.update({"count": 3, "offset": -2, "ratio": 0.5, "nested": [{"n": 10}], "name": "x"})
    body = CODEC.encode(Prompt(id="pmpt_1", variables=variables))

    assert isinstance(body, dict)
    printed = body["variables"]
    assert printed == {"count": 3, "offset": -2, "ratio": 0.5, "nested": [{"n": 10}], "name": "x"}
    assert isinstance(printed["count"], int)
    assert isinstance(printed["offset"], int)
    assert isinstance(printed["nested"][0]["n"], int)
    assert isinstance(printed["ratio"], float)


def test_json_schemas_keep_their_property_order_and_numbers() -> None:
    schema = {
        "type": "object",
        "properties": {
            "zeta": {"type": "integer", "maximum": 10},
            "alpha": {"type": "number", "minimum": 0.5},
        },
        "required": ["zeta", "alpha"],
    }
    req = decode(
        {
            "model": "m",
            "tools": [{"type": "function", "name": "f", "parameters": schema}],
            "text": {"format": {"type": "json_schema", "name": "n", "schema": schema}},
        }
    )

    tool = CODEC.encode(req.tools[0])
    text = CODEC.encode(req.text)
    assert isinstance(tool, dict) and isinstance(text, dict)
    for printed in (tool["parameters"], text["format"]["schema"]):
        assert printed == schema
        assert list(printed["properties"]) == ["zeta", "alpha"]
        assert isinstance(printed["properties"]["zeta"]["maximum"], int)


def test_json_schema_must_be_an_object() -> None:
    err = decode_error(
        {"model": "m", "text": {"format": {"type": "json_schema", "name": "n", "schema": [1]}}}
    )

    assert err.param == "text.format.schema"
    assert err.code == "invalid_type"


def test_encoding_does_not_change_the_message() -> None:
    msg = Response(id="resp_1")
    before = msg.SerializeToString()

    CODEC.encode(msg)

    assert msg.SerializeToString() == before
    assert not msg.HasField("usage")


# ---- round trip -------------------------------------------------------------------------------

FULL_REQUEST: dict[str, object] = {
    "model": "openai/gpt-4.1",
    "input": [
        {
            "type": "message",
            "id": None,
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is the weather in Paris?"},
                {
                    "type": "input_image",
                    "detail": "low",
                    "file_id": None,
                    "image_url": "https://x.test/p.png",
                },
            ],
            "status": None,
        },
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "content": [{"type": "output_text", "annotations": [], "text": "Checking.", "logprobs": []}],
            "status": "completed",
            "phase": "commentary",
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
            "status": "completed",
        },
        {"type": "function_call_output", "id": None, "call_id": "call_1", "output": "18C", "status": None},
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [],
            "content": [],
            "encrypted_content": "gAAAA",
            "status": None,
        },
        {"type": "item_reference", "id": "msg_0"},
    ],
    "instructions": "Answer briefly.",
    "previous_response_id": "resp_0",
    "conversation": {"id": "conv_1"},
    "store": False,
    "stream": True,
    "stream_options": {"include_obfuscation": False},
    "background": False,
    "tools": [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather by city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "maxLength": 64}},
                "required": ["city"],
                "additionalProperties": False,
            },
            "strict": True,
        },
        {
            "type": "mcp",
            "server_label": "docs",
            "server_url": "https://mcp.test/sse",
            "connector_id": None,
            "authorization": None,
            "headers": {},
            "allowed_tools": ["search"],
            "require_approval": "never",
            "server_description": None,
        },
    ],
    "tool_choice": {"type": "function", "name": "get_weather"},
    "parallel_tool_calls": True,
    "max_tool_calls": 4,
    "max_output_tokens": 1024,
    "temperature": 0.7,
    "top_p": 0.9,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.5,
    "top_logprobs": 3,
    "reasoning": {"effort": "low", "summary": "auto"},
    "text": {
        "format": {
            "type": "json_schema",
            "name": "weather",
            "schema": {"type": "object", "properties": {"c": {"type": "number", "minimum": -90}}},
            "description": None,
            "strict": True,
        },
        "verbosity": "low",
    },
    "include": ["message.output_text.logprobs"],
    "truncation": "auto",
    "metadata": {"user": "42"},
    "prompt": {"id": "pmpt_1", "version": "2", "variables": {"city": "Paris"}},
    "prompt_cache_key": "weather",
    "prompt_cache_retention": "24h",
    "prompt_cache_options": {"mode": "implicit", "ttl": "30m"},
    "safety_identifier": "user-1",
    "service_tier": "flex",
    "user": "u",
    "context_management": [{"type": "compaction", "compact_threshold": 1000}],
    "moderation": {
        "model": "omni-moderation-latest",
        "policy": {"input": {"mode": "score"}, "output": {"mode": "block"}},
    },
}


def assert_printed(printed: object, given: object, path: str = "$") -> None:
    """`printed` says everything `given` said; any key it adds is one the request left unset.

    (Keys the contract gains later print as null, [] or {}, so this stays true as the API grows.)
    """
    if isinstance(given, dict):
        assert isinstance(printed, dict), path
        for key, value in given.items():
            assert key in printed, f"{path}.{key} missing"
            assert_printed(printed[key], value, f"{path}.{key}")
        for key in printed.keys() - given.keys():
            assert printed[key] in (None, [], {}), f"{path}.{key} = {printed[key]!r} was not given"
    elif isinstance(given, list):
        assert isinstance(printed, list) and len(printed) == len(given), path
        for i, (p, g) in enumerate(zip(printed, given, strict=True)):
            assert_printed(p, g, f"{path}[{i}]")
    else:
        assert printed == given and type(printed) is type(given), f"{path}: {printed!r} != {given!r}"


def test_a_full_request_round_trips() -> None:
    original = copy.deepcopy(FULL_REQUEST)

    decoded = decode(FULL_REQUEST)
    printed = CODEC.encode(decoded)

    assert_printed(printed, FULL_REQUEST)
    assert decode(printed) == decoded
    assert original == FULL_REQUEST


def test_a_full_request_is_known_to_strict_mode() -> None:
    assert_printed(STRICT.encode(decode(FULL_REQUEST, codec=STRICT)), FULL_REQUEST)


def test_a_minimal_request_round_trips_through_proto() -> None:
    req = decode({"model": "m", "input": "hi"})

    again = decode(CODEC.encode(req))

    assert again == req
