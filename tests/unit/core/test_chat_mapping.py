"""OpenAI-shaped items and parameters as the chat completions request a provider receives."""

from __future__ import annotations

from rejoinder.core.checks.validation import ValidatedRequest, validate
from rejoinder.core.context.assemble import Context
from rejoinder.core.run.chat_mapping import TurnInput, chat_messages, chat_request
from rejoinder.core.run.tool_policy import tool_policy
from rejoinder.providers import base as p
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.wire.openai_json import OpenAIJson

CODEC = OpenAIJson()

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather by city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}


def vreq(*, stream: bool = False, **body: object) -> ValidatedRequest:
    return validate(CODEC.decode({"model": "m", **body}, CreateRequest), stream=stream)


def context(items: list[object], instructions: str | None = None) -> Context:
    """A context of these (JSON) input items, as validation expands them."""
    expanded = vreq(input=items).input_items
    return Context(history=(), new_items=expanded, instructions=instructions)


def messages(items: list[object], instructions: str | None = None) -> tuple[p.ChatMessage, ...]:
    ctx = context(items, instructions)
    return chat_messages(ctx.items, ctx.instructions)


def call(call_id: str, name: str = "get_weather", arguments: str = '{"city":"Paris"}') -> dict[str, object]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def output(call_id: str, text: str) -> dict[str, object]:
    return {"type": "function_call_output", "call_id": call_id, "output": text}


def assistant(text: str) -> dict[str, object]:
    return {"role": "assistant", "content": [{"type": "output_text", "text": text, "annotations": []}]}


def reasoning(text: str) -> dict[str, object]:
    return {"type": "reasoning", "id": "rs_1", "summary": [], "content": [{"text": text}]}


# ---- messages ---------------------------------------------------------------------------------


def test_instructions_come_first_as_a_system_message() -> None:
    out = messages([{"role": "user", "content": "hi"}], instructions="Be terse.")

    assert out == (
        p.ChatMessage(role="system", content="Be terse."),
        p.ChatMessage(role="user", content="hi"),
    )


def test_no_instructions_no_system_message() -> None:
    assert messages([{"role": "user", "content": "hi"}]) == (p.ChatMessage(role="user", content="hi"),)


def test_roles_are_kept() -> None:
    out = messages(
        [
            {"role": "system", "content": "S"},
            {"role": "developer", "content": "D"},
            {"role": "user", "content": "U"},
        ]
    )

    assert [(m.role, m.content) for m in out] == [("system", "S"), ("developer", "D"), ("user", "U")]


def test_text_parts_are_joined_into_plain_content() -> None:
    out = messages(
        [
            {
                "role": "user",
                "content": [{"type": "input_text", "text": "one "}, {"type": "input_text", "text": "two"}],
            }
        ]
    )

    assert out == (p.ChatMessage(role="user", content="one two"),)


def test_images_become_image_parts() -> None:
    out = messages(
        [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": "https://x.test/cat.png", "detail": "high"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                ],
            }
        ]
    )

    assert out == (
        p.ChatMessage(
            role="user",
            content=(
                p.TextPart("What is this?"),
                p.ImagePart("https://x.test/cat.png", "high"),
                p.ImagePart("data:image/png;base64,AAAA", "auto"),
            ),
        ),
    )


def test_assistant_text_and_its_function_calls_are_one_message() -> None:
    out = messages(
        [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            assistant("Checking both."),
            call("call_1"),
            call("call_2", arguments='{"city":"Rome"}'),
            output("call_1", "18C"),
            output("call_2", "25C"),
        ]
    )

    assert out == (
        p.ChatMessage(role="user", content="Weather in Paris and Rome?"),
        p.ChatMessage(
            role="assistant",
            content="Checking both.",
            tool_calls=(
                p.ToolCall(id="call_1", name="get_weather", arguments='{"city":"Paris"}'),
                p.ToolCall(id="call_2", name="get_weather", arguments='{"city":"Rome"}'),
            ),
        ),
        p.ChatMessage(role="tool", content="18C", tool_call_id="call_1"),
        p.ChatMessage(role="tool", content="25C", tool_call_id="call_2"),
    )


def test_function_calls_without_text_are_an_assistant_message_without_content() -> None:
    out = messages([{"role": "user", "content": "go"}, call("call_1"), output("call_1", "ok")])

    assert out[1] == p.ChatMessage(
        role="assistant",
        content=None,
        tool_calls=(p.ToolCall(id="call_1", name="get_weather", arguments='{"city":"Paris"}'),),
    )
    assert out[2] == p.ChatMessage(role="tool", content="ok", tool_call_id="call_1")


def test_function_output_parts_are_joined_as_text() -> None:
    out = messages(
        [
            {"role": "user", "content": "go"},
            call("call_1"),
            {
                "type": "function_call_output",
                "call_id": "call_1",
                "output": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}],
            },
        ]
    )

    assert out[-1] == p.ChatMessage(role="tool", content="ab", tool_call_id="call_1")


def test_two_assistant_messages_in_a_row_stay_two() -> None:
    out = messages([{"role": "user", "content": "hi"}, assistant("one"), assistant("two")])

    assert [(m.role, m.content) for m in out] == [("user", "hi"), ("assistant", "one"), ("assistant", "two")]


def test_assistant_text_after_function_calls_starts_a_new_message() -> None:
    out = messages(
        [{"role": "user", "content": "go"}, call("call_1"), output("call_1", "ok"), assistant("Done.")]
    )

    assert [m.role for m in out] == ["user", "assistant", "tool", "assistant"]
    assert out[-1] == p.ChatMessage(role="assistant", content="Done.")


def test_assistant_refusal_is_carried_as_text() -> None:
    out = messages(
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
        ]
    )

    assert out[-1] == p.ChatMessage(role="assistant", content="No.")


def test_reasoning_is_attached_to_the_next_assistant_message() -> None:
    out = messages([{"role": "user", "content": "2+2?"}, reasoning("Add them."), assistant("4")])

    assert out == (
        p.ChatMessage(role="user", content="2+2?"),
        p.ChatMessage(role="assistant", content="4", reasoning="Add them."),
    )


def test_reasoning_is_attached_to_a_function_call_turn() -> None:
    out = messages(
        [{"role": "user", "content": "go"}, reasoning("Need data."), call("call_1"), output("call_1", "x")]
    )

    assert out[1].reasoning == "Need data."
    assert out[1].tool_calls[0].id == "call_1"
    assert out[1].content is None


def test_reasoning_after_an_assistant_turn_belongs_to_the_next_one() -> None:
    out = messages(
        [{"role": "user", "content": "a"}, assistant("first"), reasoning("think"), assistant("second")]
    )

    assert out[1] == p.ChatMessage(role="assistant", content="first")
    assert out[2] == p.ChatMessage(role="assistant", content="second", reasoning="think")


def test_history_comes_before_new_items() -> None:
    history = vreq(input=[{"role": "user", "content": "old"}, assistant("reply")]).input_items
    new = vreq(input="new").input_items
    ctx = Context(history=history, new_items=new, instructions="I")

    assert [(m.role, m.content) for m in chat_messages(ctx.items, ctx.instructions)] == [
        ("system", "I"),
        ("user", "old"),
        ("assistant", "reply"),
        ("user", "new"),
    ]


# ---- parameters -------------------------------------------------------------------------------


def request(**body: object) -> p.ChatRequest:
    v = vreq(input="hi", **body)
    return chat_request(v, TurnInput(v.input_items, None, "upstream-model"))


def test_plain_request() -> None:
    req = request()

    assert req.model == "upstream-model"
    assert req.messages == (p.ChatMessage(role="user", content="hi"),)
    assert req.stream is False
    assert req.temperature is None
    assert req.top_p is None
    assert req.max_output_tokens is None
    assert req.tools == ()
    assert req.tool_choice is None
    assert req.response_format is None
    assert req.logprobs is False
    assert req.top_logprobs is None


def test_stream_follows_the_request() -> None:
    v = vreq(stream=True, input="hi")

    assert chat_request(v, TurnInput(v.input_items, None, "x")).stream is True


def test_sampling_parameters() -> None:
    req = request(
        temperature=0.2,
        top_p=0.9,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        max_output_tokens=256,
        parallel_tool_calls=False,
        user="u-1",
        safety_identifier="s-1",
        prompt_cache_key="k",
        service_tier="flex",
        metadata={"a": "b"},
        reasoning={"effort": "low"},
    )

    assert req.temperature == 0.2
    assert req.top_p == 0.9
    assert req.presence_penalty == 0.5
    assert req.frequency_penalty == -0.5
    assert req.max_output_tokens == 256
    assert req.parallel_tool_calls is False
    assert req.user == "u-1"
    assert req.safety_identifier == "s-1"
    assert req.prompt_cache_key == "k"
    assert req.service_tier == "flex"
    assert dict(req.metadata) == {"a": "b"}
    assert req.reasoning_effort == "low"


def test_zero_temperature_is_sent_not_dropped() -> None:
    assert request(temperature=0).temperature == 0.0


def test_function_tools() -> None:
    req = request(tools=[WEATHER, {"type": "function", "name": "now"}])

    assert req.tools == (
        p.FunctionTool(
            name="get_weather",
            description="Weather by city.",
            parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            strict=True,
        ),
        p.FunctionTool(name="now", description=None, parameters=None, strict=None),
    )


def test_schemas_reach_the_model_in_their_given_order() -> None:
    schema = {
        "type": "object",
        "properties": {"zeta": {"type": "string"}, "alpha": {"type": "string"}, "mid": {"type": "integer"}},
    }
    req = request(
        tools=[{"type": "function", "name": "f", "parameters": schema}],
        text={"format": {"type": "json_schema", "name": "n", "schema": schema}},
    )

    tool_schema = req.tools[0].parameters
    assert tool_schema is not None
    assert list(tool_schema["properties"]) == ["zeta", "alpha", "mid"]  # type: ignore[call-overload]
    assert req.response_format is not None
    format_schema = req.response_format["json_schema"]["schema"]  # type: ignore[index]
    assert list(format_schema["properties"]) == ["zeta", "alpha", "mid"]


def choice(**body: object) -> p.ToolChoice | None:
    """The tool choice sent upstream: set by the tool policy, not by the chat mapping."""
    return tool_policy(vreq(input="hi", **body).params).choice


def test_tool_choice_defaults_to_auto_with_tools() -> None:
    assert request(tools=[WEATHER]).tool_choice is None
    assert choice(tools=[WEATHER]) == "auto"


def test_without_tools_no_tool_choice_is_sent() -> None:
    assert choice(tool_choice="required") is None


def test_tool_choice_modes() -> None:
    assert choice(tools=[WEATHER], tool_choice="none") == "none"
    assert choice(tools=[WEATHER], tool_choice="required") == "required"
    assert choice(tools=[WEATHER], tool_choice="auto") == "auto"


def test_tool_choice_named_function() -> None:
    assert choice(
        tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"}
    ) == p.NamedToolChoice("get_weather")


def test_json_schema_response_format() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    req = request(
        text={
            "format": {
                "type": "json_schema",
                "name": "count",
                "schema": schema,
                "description": "A count.",
                "strict": True,
            }
        }
    )

    assert req.response_format == {
        "type": "json_schema",
        "json_schema": {"name": "count", "schema": schema, "description": "A count.", "strict": True},
    }


def test_json_schema_without_optional_fields() -> None:
    req = request(text={"format": {"type": "json_schema", "name": "count", "schema": {"type": "object"}}})

    assert req.response_format == {
        "type": "json_schema",
        "json_schema": {"name": "count", "schema": {"type": "object"}},
    }


def test_json_object_response_format() -> None:
    assert request(text={"format": {"type": "json_object"}}).response_format == {"type": "json_object"}


def test_text_format_sends_no_response_format() -> None:
    assert request(text={"format": {"type": "text"}}).response_format is None


def test_logprobs_when_included() -> None:
    req = request(include=["message.output_text.logprobs"])

    assert req.logprobs is True
    assert req.top_logprobs is None


def test_logprobs_when_top_logprobs_is_set() -> None:
    req = request(top_logprobs=5)

    assert req.logprobs is True
    assert req.top_logprobs == 5


def test_other_includes_do_not_ask_for_logprobs() -> None:
    assert request(include=["reasoning.encrypted_content"]).logprobs is False


def test_messages_follow_the_context() -> None:
    v = vreq(input="hi")
    history: tuple[InputItem, ...] = vreq(input=[{"role": "user", "content": "earlier"}]).input_items

    req = chat_request(v, TurnInput([*history, *v.input_items], "Sys", "x"))

    assert [(m.role, m.content) for m in req.messages] == [
        ("system", "Sys"),
        ("user", "earlier"),
        ("user", "hi"),
    ]
