"""A typed request's strings: none longer than `max_string_chars`, no JSON text nested too deeply.

Most requests are cleared from their serialized bytes at once; these hold both ways of checking to the
same answers."""

from __future__ import annotations

import json

import pytest

from rejoinder.config_limits import RequestLimits
from rejoinder.core.checks.limits import QUICK_BYTES, check_strings
from rejoinder.errors import ApiError
from rejoinder.pacing import run_sync
from rejoinder.responses.v1.items_pb2 import Input
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.responses.v1.tools_pb2 import FunctionTool, Tool
from rejoinder.wire.json_body import MAX_DEPTH


def _nested(depth: int) -> str:
    """JSON text of `depth` nested arrays."""
    return "[" * depth + "]" * depth


def _request(text: str = "hi", parameters: str = "{}", padding: int = 0) -> CreateRequest:
    tool = Tool(function=FunctionTool(name="f", parameters=parameters))
    return CreateRequest(model="m", input=Input(text=text), tools=[tool], instructions="x" * padding)


def _refusal(req: CreateRequest, limits: RequestLimits) -> ApiError | None:
    try:
        run_sync(check_strings(req, limits))
    except ApiError as err:
        return err
    return None


@pytest.mark.parametrize("padding", [0, QUICK_BYTES], ids=["small", "past the quick check"])
def test_json_text_one_level_too_deep_is_refused_and_the_limit_itself_is_not(padding: int) -> None:
    limits = RequestLimits()
    assert _refusal(_request(parameters=_nested(MAX_DEPTH), padding=padding), limits) is None
    refused = _refusal(_request(parameters=_nested(MAX_DEPTH + 1), padding=padding), limits)
    assert refused is not None and refused.param == "tools[0].function.parameters"


@pytest.mark.parametrize("padding", [0, QUICK_BYTES], ids=["small", "past the quick check"])
def test_brackets_in_plain_text_are_not_json(padding: int) -> None:
    assert _refusal(_request(text=_nested(MAX_DEPTH + 50), padding=padding), RequestLimits()) is None


@pytest.mark.parametrize("most", [100, 10_485_760])
def test_a_string_at_the_limit_passes_and_one_past_it_is_refused(most: int) -> None:
    limits = RequestLimits(max_string_chars=most)
    at_limit = min(most, 50_000)
    assert _refusal(_request(text="y" * at_limit), limits) is None
    if most == at_limit:
        refused = _refusal(_request(text="y" * (most + 1)), limits)
        assert refused is not None and refused.code == "string_above_max_length"
        assert refused.param == "input.text"


def test_a_deep_schema_in_a_small_request_names_its_parameter() -> None:
    schema = json.dumps({"type": "object", "properties": {"a": json.loads(_nested(MAX_DEPTH + 1))}})
    refused = _refusal(_request(parameters=schema), RequestLimits())
    assert refused is not None and refused.code == "invalid_value"
