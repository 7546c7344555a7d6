"""Every 400 about the shape of a create request, and the normalized request that passes."""

from __future__ import annotations

import pytest

from rejoinder.core.checks.validation import ValidatedRequest, validate
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.wire.openai_json import OpenAIJson

CODEC = OpenAIJson()


def request(**body: object) -> CreateRequest:
    return CODEC.decode({"model": "gpt-4.1", "input": "hi", **body}, CreateRequest)


def accept(**body: object) -> ValidatedRequest:
    return validate(request(**body), stream=False)


def reject(**body: object) -> ApiError:
    with pytest.raises(ApiError) as info:
        validate(request(**body), stream=False)
    assert info.value.kind is ErrorKind.INVALID_REQUEST
    return info.value


# ---- ranges -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value", "code"),
    [
        ("temperature", -0.1, "decimal_below_min_value"),
        ("temperature", 2.01, "decimal_above_max_value"),
        ("top_p", -0.5, "decimal_below_min_value"),
        ("top_p", 1.5, "decimal_above_max_value"),
        ("presence_penalty", -2.5, "decimal_below_min_value"),
        ("presence_penalty", 2.5, "decimal_above_max_value"),
        ("frequency_penalty", -3, "decimal_below_min_value"),
        ("frequency_penalty", 3, "decimal_above_max_value"),
        ("top_logprobs", -1, "integer_below_min_value"),
        ("top_logprobs", 21, "integer_above_max_value"),
        ("max_output_tokens", 15, "integer_below_min_value"),
        ("max_output_tokens", 0, "integer_below_min_value"),
        ("max_tool_calls", 0, "integer_below_min_value"),
    ],
)
def test_out_of_range(param: str, value: float, code: str) -> None:
    err = reject(**{param: value})

    assert err.param == param
    assert err.code == code


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("temperature", 0),
        ("temperature", 2),
        ("top_p", 0),
        ("top_p", 1),
        ("presence_penalty", -2),
        ("presence_penalty", 2),
        ("frequency_penalty", -2),
        ("frequency_penalty", 2),
        ("top_logprobs", 0),
        ("top_logprobs", 20),
        ("max_output_tokens", 16),
        ("max_tool_calls", 1),
    ],
)
def test_range_limits_are_inclusive(param: str, value: float) -> None:
    vreq = accept(**{param: value})

    assert getattr(vreq.params, param) == value


def test_range_message_is_openais() -> None:
    err = reject(temperature=2.5)

    assert err.message == (
        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead."
    )


def test_max_output_tokens_message_names_the_minimum() -> None:
    err = reject(max_output_tokens=8)

    assert "Expected a value >= 16" in err.message
    assert "got 8" in err.message


# ---- metadata ---------------------------------------------------------------------------------


def test_metadata_with_sixteen_keys_is_accepted() -> None:
    metadata = {f"k{i}": "v" for i in range(16)}

    assert dict(accept(metadata=metadata).params.metadata) == metadata


def test_metadata_over_sixteen_keys() -> None:
    err = reject(metadata={f"k{i}": "v" for i in range(17)})

    assert err.param == "metadata"
    assert err.code == "object_above_max_properties"


def test_metadata_key_of_64_chars_is_accepted_and_65_is_not() -> None:
    accept(metadata={"k" * 64: "v"})
    err = reject(metadata={"k" * 65: "v"})

    assert err.param == "metadata"
    assert err.code == "string_above_max_length"


def test_metadata_value_of_512_chars_is_accepted_and_513_is_not() -> None:
    accept(metadata={"note": "v" * 512})
    err = reject(metadata={"note": "v" * 513})

    assert err.param == "metadata.note"
    assert err.code == "string_above_max_length"


# ---- enumerated options -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"truncation": "sometimes"}, "truncation"),
        ({"service_tier": "gold"}, "service_tier"),
        ({"include": ["reasoning.encrypted_content", "everything"]}, "include[1]"),
        ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"reasoning": {"summary": "verbose"}}, "reasoning.summary"),
        ({"text": {"verbosity": "loud"}}, "text.verbosity"),
    ],
)
def test_invalid_values(body: dict[str, object], param: str) -> None:
    err = reject(**body)

    assert err.param == param
    assert err.code == "invalid_value"


def test_invalid_value_message_lists_the_supported_values() -> None:
    err = reject(truncation="sometimes")

    assert err.message == "Invalid value: 'sometimes'. Supported values are: 'auto', 'disabled'."


@pytest.mark.parametrize(
    "body",
    [
        {"truncation": "auto"},
        {"truncation": "disabled"},
        {"service_tier": "auto"},
        {"service_tier": "priority"},
        {"include": ["message.output_text.logprobs", "reasoning.encrypted_content"]},
        {"reasoning": {"effort": "minimal", "summary": "concise"}},
        {"reasoning": {"effort": "none"}},
        {"text": {"verbosity": "high", "format": {"type": "json_object"}}},
    ],
)
def test_valid_values(body: dict[str, object]) -> None:
    accept(**body)


def test_missing_model() -> None:
    with pytest.raises(ApiError) as info:
        validate(CODEC.decode({"input": "hi"}, CreateRequest), stream=False)

    assert info.value.kind is ErrorKind.INVALID_REQUEST
    assert info.value.param == "model"
    assert info.value.code == "missing_required_parameter"


def test_json_schema_without_name() -> None:
    err = reject(text={"format": {"type": "json_schema", "schema": {"type": "object"}}})

    assert err.param == "text.format.name"
    assert err.code == "missing_required_parameter"


def test_json_schema_without_schema() -> None:
    err = reject(text={"format": {"type": "json_schema", "name": "answer"}})

    assert err.param == "text.format.schema"
    assert err.code == "invalid_value"


def test_json_schema_sent_over_grpc_must_be_a_json_object() -> None:
    req = request(text={"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}}})
    req.text.format.json_schema.schema = "[]"

    with pytest.raises(ApiError) as info:
        validate(req, stream=False)

    assert info.value.param == "text.format.schema"
    assert info.value.code == "invalid_value"


def test_json_schema_with_name_is_accepted() -> None:
    vreq = accept(text={"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}}})

    assert vreq.params.text.format.json_schema.name == "answer"


@pytest.mark.parametrize("param", ["safety_identifier", "prompt_cache_key"])
def test_identifiers_over_64_chars(param: str) -> None:
    accept(**{param: "x" * 64})
    err = reject(**{param: "x" * 65})

    assert err.param == param
    assert err.code == "string_above_max_length"


# ---- unsupported features ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"moderation": {"model": "omni-moderation-latest"}}, "moderation"),
    ],
)
def test_unsupported_features(body: dict[str, object], param: str) -> None:
    err = reject(**body)

    assert err.param == param
    assert err.code == "unsupported_parameter"


def test_context_management_takes_compaction_with_a_positive_threshold() -> None:
    managed = accept(context_management=[{"type": "compaction", "compact_threshold": 5000}])
    assert managed.params.context_management[0].compact_threshold == 5000
    default = accept(context_management=[{"type": "compaction"}])
    assert not default.params.context_management[0].HasField("compact_threshold")

    other = reject(context_management=[{"type": "trim"}])
    assert (other.param, other.code) == ("context_management[0].type", "invalid_value")
    zero = reject(context_management=[{"type": "compaction", "compact_threshold": 0}])
    assert (zero.param, zero.code) == ("context_management[0].compact_threshold", "integer_below_min_value")


def test_background_false_is_fine() -> None:
    assert not accept(background=False).background


def test_a_conversation_by_id_or_object_but_not_with_previous_response_id() -> None:
    assert accept(conversation="conv_1").conversation_id == "conv_1"
    assert accept(conversation={"id": "conv_2"}).conversation_id == "conv_2"
    assert accept().conversation_id is None
    err = reject(conversation="conv_1", previous_response_id="resp_1")
    assert (err.param, err.code) == ("conversation", "mutually_exclusive_parameters")


def test_background_needs_store() -> None:
    assert accept(background=True).background
    assert accept(background=True, store=True).store
    err = reject(background=True, store=False)
    assert (err.param, err.code) == ("background", "invalid_value")
    assert "store" in err.message


# ---- normalization ----------------------------------------------------------------------------


def test_string_input_becomes_one_user_message_with_one_input_text_part() -> None:
    vreq = accept(input="Tell me a joke")

    assert len(vreq.input_items) == 1
    message = vreq.input_items[0].message
    assert message.role == "user"
    assert message.content.WhichOneof("content") == "parts"
    parts = message.content.parts.items
    assert len(parts) == 1
    assert parts[0].input_text.text == "Tell me a joke"


def test_params_hold_the_expanded_items_not_the_shorthand() -> None:
    vreq = accept(input="hi")

    assert vreq.params.input.WhichOneof("input") == "items"
    assert list(vreq.params.input.items.items) == list(vreq.input_items)


def test_string_content_becomes_parts() -> None:
    vreq = accept(
        input=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "input_text", "text": "already parts"}]},
        ]
    )

    first, second = (i.message.content for i in vreq.input_items)
    assert first.WhichOneof("content") == "parts"
    assert first.parts.items[0].input_text.text == "Be brief."
    assert second.parts.items[0].input_text.text == "already parts"


def test_non_message_items_pass_through_unchanged() -> None:
    items = [
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
    ]
    req = request(input=items)

    vreq = validate(req, stream=False)

    assert list(vreq.input_items) == list(req.input.items.items)


def test_no_input_after_a_previous_response_is_no_items() -> None:
    body = {"model": "m", "previous_response_id": "resp_1"}
    vreq = validate(CODEC.decode(body, CreateRequest), stream=False)

    assert vreq.input_items == ()


@pytest.mark.parametrize(
    ("body", "code"),
    [({"model": "m"}, "missing_required_parameter"), ({"model": "m", "input": []}, "empty_array")],
)
def test_a_request_with_nothing_to_answer_is_a_400(body: dict[str, object], code: str) -> None:
    with pytest.raises(ApiError) as refused:
        validate(CODEC.decode(body, CreateRequest), stream=False)

    assert (refused.value.param, refused.value.code) == ("input", code)


def test_max_output_tokens_has_a_ceiling() -> None:
    with pytest.raises(ApiError) as refused:
        validate(request(input="hi", max_output_tokens=10**12), stream=False)

    assert refused.value.code == "integer_above_max_value"
    assert refused.value.message == (
        "Invalid 'max_output_tokens': integer above maximum value. Expected a value <= 1048576, "
        f"but got {10**12} instead."
    )


def test_the_original_request_is_not_mutated() -> None:
    req = request(input=[{"role": "user", "content": "hi"}])
    before = req.SerializeToString(deterministic=True)

    validate(req, stream=True)

    assert req.SerializeToString(deterministic=True) == before
    assert req.input.items.items[0].message.content.WhichOneof("content") == "text"
    assert not req.HasField("tool_choice")


def test_the_original_string_input_is_not_mutated() -> None:
    req = request(input="hi")

    validate(req, stream=False)

    assert req.input.WhichOneof("input") == "text"
    assert req.input.text == "hi"


def test_store_defaults_to_true() -> None:
    assert accept().store is True


def test_store_false_is_kept() -> None:
    assert accept(store=False).store is False


def test_stream_flag_is_carried() -> None:
    assert validate(request(), stream=True).stream is True
    assert validate(request(), stream=False).stream is False


def test_tool_choice_defaults_to_auto() -> None:
    vreq = accept()

    assert vreq.params.tool_choice.WhichOneof("tool_choice") == "mode"
    assert vreq.params.tool_choice.mode == "auto"


def test_a_given_tool_choice_is_kept() -> None:
    assert accept(tool_choice="none").params.tool_choice.mode == "none"
