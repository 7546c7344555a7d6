"""Bad input and failing upstreams: OpenAI's error shape and status, never a 500, nothing lost."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import OpenAI

from tests.e2e.exactness import check_sse
from tests.scripted_upstream import Script, ScriptedUpstream


def _error(reply: httpx.Response, status: int) -> dict[str, object]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert not any(h.startswith("grpc-") for h in reply.headers), reply.headers
    error = reply.json()["error"]
    assert isinstance(error, dict)
    return error


def test_malformed_json_is_a_400(http: httpx.Client) -> None:
    error = _error(
        http.post("/responses", content=b"{not json", headers={"content-type": "application/json"}), 400
    )
    assert error["type"] == "invalid_request_error"
    assert "JSON" in str(error["message"])


def test_a_body_that_is_not_an_object_is_a_400(http: httpx.Client) -> None:
    _error(http.post("/responses", json=["model", "m"]), 400)


def test_missing_model_is_a_400_naming_it(http: httpx.Client) -> None:
    error = _error(http.post("/responses", json={"input": "hi"}), 400)
    assert (error["param"], error["code"]) == ("model", "missing_required_parameter")


def test_unknown_model_is_a_404_model_not_found(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client.responses.create(model="no-such-model", input="hi")
    assert err.value.code == "model_not_found"
    assert err.value.param == "model"


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"temperature": "hot"}, "temperature", "invalid_type"),
        ({"temperature": 3}, "temperature", "decimal_above_max_value"),
        ({"top_p": -0.1}, "top_p", "decimal_below_min_value"),
        ({"max_output_tokens": 4}, "max_output_tokens", "integer_below_min_value"),
        ({"max_output_tokens": "many"}, "max_output_tokens", "invalid_type"),
        ({"top_logprobs": 21}, "top_logprobs", "integer_above_max_value"),
        ({"input": 42}, "input", "invalid_type"),
        ({"input": [{"type": "bogus"}]}, "input[0].type", "invalid_value"),
        ({"input": [{"role": "wizard", "content": "x"}]}, "input[0].role", "invalid_value"),
        ({"truncation": "sometimes"}, "truncation", "invalid_value"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "object_above_max_properties"),
        ({"metadata": {"k" * 65: "v"}}, "metadata", "string_above_max_length"),
        ({"metadata": {"k": "v" * 513}}, "metadata.k", "string_above_max_length"),
        ({"tool_choice": {"type": "function", "name": "nope"}}, "tool_choice", "invalid_value"),
        ({"stream": "yes"}, "stream", "invalid_type"),
    ],
)
def test_invalid_values_are_400s_naming_the_param(
    http: httpx.Client, body: dict[str, object], param: str, code: str
) -> None:
    error = _error(http.post("/responses", json={"model": "m", "input": "hi", **body}), 400)
    assert (error["param"], error["code"]) == (param, code)
    assert error["type"] == "invalid_request_error"


def test_unknown_previous_response_id_is_a_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="m", input="hi", previous_response_id="resp_missing")
    assert err.value.param == "previous_response_id"
    assert err.value.code == "previous_response_not_found"


def test_unknown_response_ids_are_404s(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_missing")
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list("resp_missing")
    with pytest.raises(openai.NotFoundError):
        client.responses.delete("resp_missing")


def test_cancel_of_a_foreground_response_is_a_409(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="done"))
    r = client.responses.create(model="m", input="hi")
    with pytest.raises(openai.ConflictError):
        client.responses.cancel(r.id)
    assert client.responses.retrieve(r.id).status == "completed"


def test_a_body_over_the_limit_is_a_413(http: httpx.Client) -> None:
    big = "x" * (33 * 1024 * 1024)
    _error(http.post("/responses", json={"model": "m", "input": big}), 413)


def test_an_unknown_route_is_a_404_in_openai_shape(http: httpx.Client) -> None:
    _error(http.post("/chat/nowhere", json={}), 404)


def test_upstream_500_before_the_first_byte_is_a_502(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(status=500))
    with pytest.raises(openai.InternalServerError) as err:
        client.responses.create(model="m", input="hi")
    assert err.value.status_code == 502
    upstream.enqueue(Script(status=500))
    with pytest.raises(openai.InternalServerError) as err:
        client.responses.create(model="m", input="hi", stream=True)
    assert err.value.status_code == 502


def test_upstream_429_is_a_429_with_retry_after(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(status=429, retry_after="7"))
    with pytest.raises(openai.RateLimitError) as err:
        client.responses.create(model="m", input="hi")
    assert err.value.response.headers["retry-after"] == "7"


def test_upstream_dropping_mid_stream_fails_in_band_and_is_stored(
    client: OpenAI, http: httpx.Client, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text=["one ", "two ", "three ", "four"], drop_after_chunks=3))
    seen: list[str] = []
    with pytest.raises(openai.APIError) as err:
        for event in client.responses.create(model="m", input="hi", stream=True):
            seen.append(event.type)
    assert "response.output_text.delta" in seen
    assert err.value.message == "The model's upstream failed while answering."  # nothing of the upstream's

    upstream.enqueue(Script(text=["one ", "two ", "three ", "four"], drop_after_chunks=3))
    raw = http.post("/responses", json={"model": "m", "input": "hi", "stream": True})
    events = check_sse(raw.content)
    assert [e["type"] for e in events][-2:] == ["error", "response.failed"]
    error = events[-2]
    assert error["code"] == "server_error" and error["error"]["type"] == "server_error"  # type: ignore[index]
    failed = events[-1]["response"]
    assert isinstance(failed, dict) and failed["status"] == "failed"
    assert failed["error"]["code"] == "server_error"
    stored = client.responses.retrieve(str(failed["id"]))
    assert stored.status == "failed"
    assert stored.output[0].status == "incomplete"


def test_upstream_dropping_during_a_unary_create_is_a_502_and_stored_failed(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text=["one ", "two ", "three"], drop_after_chunks=2))
    with pytest.raises(openai.APIStatusError) as err:
        client.responses.create(model="m", input="hi")
    assert err.value.status_code == 502
