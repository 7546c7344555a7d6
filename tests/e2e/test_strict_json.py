"""Unknown parameters are errors, as on OpenAI (`400 Unknown parameter: 'max_tokens'.`); a documented
opt-out (`--no-strict-json`) lets clients that send extras through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI

from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import ScriptedUpstream


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"max_tokens": 5}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"reasoning": {"effort": "low", "budget": 3}}, "reasoning.budget"),
        ({"text": {"format": {"type": "text", "strict": True}}}, "text.format.strict"),
    ],
)
def test_an_unknown_parameter_is_a_400_naming_it(
    client: OpenAI, extra: dict[str, object], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model="m", input="hi", extra_body=extra)
    assert (refused.value.code, refused.value.param) == ("unknown_parameter", param)
    body = refused.value.body
    assert isinstance(body, dict) and body["message"] == f"Unknown parameter: '{param}'."


def test_an_unknown_key_inside_an_item_is_named_with_its_path(http: httpx.Client) -> None:
    reply = http.post(
        "/responses", json={"model": "m", "input": [{"role": "user", "content": "hi", "colour": 1}]}
    )
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error == {
        "message": "Unknown parameter: 'input[0].colour'.",
        "type": "invalid_request_error",
        "param": "input[0].colour",
        "code": "unknown_parameter",
    }


def test_an_unknown_conversation_parameter_is_a_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.conversations.create(extra_body={"title": "x"})
    assert (refused.value.code, refused.value.param) == ("unknown_parameter", "title")


@pytest.fixture(scope="module")
def lenient(
    tmp_path_factory: pytest.TempPathFactory, e2e_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("lenient")
    config = data / "rejoinder.toml"
    config.write_text(f'[providers.scripted]\nbase_url = "{e2e_upstream.base_url}"\n')
    proc = ServiceProcess(data_dir=data, extra_args=["--config", str(config), "--no-strict-json"]).start()
    yield proc
    assert proc.stop() == 0, proc.log()


def test_the_opt_out_ignores_unknown_parameters(lenient: ServiceProcess, upstream: ScriptedUpstream) -> None:
    sdk = OpenAI(base_url=lenient.base_url, api_key="x", max_retries=0)
    made = sdk.responses.create(
        model="scripted/m", input="hi", extra_body={"max_tokens": 5, "x_custom": {"a": 1}}
    )
    assert made.status == "completed"
    assert "max_tokens" not in upstream.requests[-1]  # ignored, not passed on
