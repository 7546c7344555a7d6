"""Token counting, truncation and prompt caching end to end: the `openai` SDK through real Envoy (and
typed gRPC), against the scripted upstream playing vLLM (its `/tokenize`, `max_model_len`) or a plain
OpenAI-compatible server (no tokenizer: estimates).

The scripted tokenizer counts one token per word of `rendered_prompt`, so a test can count what the
upstream received the way the service's count was made.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import openai
import pytest
from openai import OpenAI

from rejoinder_client.rejoinder.responses.v1 import (
    CountInputTokensRequest,
    Input,
    ResponsesServiceStub,
)
from tests.e2e.exactness import CapturingTransport
from tests.e2e.service_process import ServiceProcess
from tests.mcp_servers import TRANSPORTS, McpTestServer, toolbox_server
from tests.postgres_server import create_database, drop_database
from tests.scripted_upstream import Script, ScriptedToolCall, ScriptedUpstream, rendered_prompt

LISTED_WINDOW = 2000
SMALL_WINDOW = 600  # 150 kept for the output (a quarter), so the input's budget is 450
SMALL_BUDGET = SMALL_WINDOW - SMALL_WINDOW // 4
TOO_LONG = "Your input exceeds the context window of this model. Please adjust your input and try again."


def _config(path: Path, upstream: ScriptedUpstream) -> Path:
    url = upstream.base_url
    path.write_text(
        f'[providers.plain]\nbase_url = "{url}"\ntimeout_s = 10\n\n'
        f'[providers.vllm]\ntype = "vllm"\nbase_url = "{url}"\ntimeout_s = 10\n\n'
        '[models."plain"]\nprovider = "plain"\nmodel = "scripted-model"\ncontext_window = 100000\n\n'
        '[models."small"]\nprovider = "plain"\nmodel = "scripted-model"\ncontext_window = 400\n\n'
        '[models."vllm"]\nprovider = "vllm"\nmodel = "scripted-model"\n\n'  # the window its list says
        f'[models."vllm-small"]\nprovider = "vllm"\nmodel = "scripted-model"\n'
        f"context_window = {SMALL_WINDOW}\n"
    )
    return path


@pytest.fixture(scope="module")
def context_upstream() -> Iterator[ScriptedUpstream]:
    listed = {"id": "scripted-model", "object": "model", "created": 0, "owned_by": "vllm"}
    upstream = ScriptedUpstream(models=(listed | {"max_model_len": LISTED_WINDOW},)).start()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def context_service(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    context_upstream: ScriptedUpstream,
    postgres_admin_dsn: str,
) -> Iterator[ServiceProcess]:
    """The service on each store (chains and conversations are read from it)."""
    data = tmp_path_factory.mktemp(f"context-{request.param}")
    args = ["--config", str(_config(data / "rejoinder.toml", context_upstream))]
    dsn = asyncio.run(create_database(postgres_admin_dsn)) if request.param == "postgres" else ""
    if dsn:
        args += ["--store", dsn]
    proc = ServiceProcess(data_dir=data, extra_args=args).start()
    yield proc
    assert proc.stop() == 0, proc.log()
    if dsn:
        asyncio.run(drop_database(postgres_admin_dsn, dsn))


@pytest.fixture
def upstream(context_upstream: ScriptedUpstream) -> Iterator[ScriptedUpstream]:
    """The module's upstream, cleared, serving vLLM's tokenizer route."""
    context_upstream.reset()
    context_upstream.tokenizer = "vllm"
    yield context_upstream
    context_upstream.reset()


@pytest.fixture
def sdk(
    context_service: ServiceProcess, upstream: ScriptedUpstream, transport: CapturingTransport
) -> Iterator[OpenAI]:
    """The SDK through Envoy; every reply passes the exactness gate (tests/e2e/exactness.py)."""
    with httpx.Client(transport=transport, timeout=30) as http:
        yield OpenAI(base_url=context_service.base_url, api_key="k", max_retries=0, http_client=http)


def _chat_requests(upstream: ScriptedUpstream) -> list[dict[str, Any]]:
    return [r.body for r in upstream.received if r.path == "/v1/chat/completions" and r.body is not None]


def _words(body: dict[str, Any]) -> int:
    """What the scripted tokenizer counts for a chat body."""
    return len(rendered_prompt(body["messages"], body.get("tools")).split())


def _user_texts(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "user"]


# -- input_tokens ------------------------------------------------------------------------------------


def test_input_tokens_is_the_upstream_count_of_what_a_create_sends(
    sdk: OpenAI, upstream: ScriptedUpstream
) -> None:
    tools: Any = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}, "strict": False}]
    body: dict[str, Any] = {"model": "vllm", "instructions": "Be brief.", "input": "How tall is Mont Blanc?"}

    counted = sdk.responses.input_tokens.count(**body, tools=tools)
    assert _chat_requests(upstream) == []  # counting makes no completion
    sdk.responses.create(**body, tools=tools)

    [sent] = _chat_requests(upstream)
    assert counted.object == "response.input_tokens"
    assert counted.input_tokens == _words(sent)
    raw = sdk.responses.input_tokens.with_raw_response.count(**body, tools=tools).http_response.json()
    assert raw == {"object": "response.input_tokens", "input_tokens": _words(sent), "estimated": False}


def test_input_tokens_follows_previous_response_id_and_conversations(
    sdk: OpenAI, upstream: ScriptedUpstream
) -> None:
    first = sdk.responses.create(model="vllm", input="My name is Ada.")
    counted = sdk.responses.input_tokens.count(
        model="vllm", previous_response_id=first.id, input="What is my name?"
    )
    sdk.responses.create(model="vllm", previous_response_id=first.id, input="What is my name?")
    assert counted.input_tokens == _words(_chat_requests(upstream)[-1])

    conv = sdk.conversations.create(items=[{"type": "message", "role": "user", "content": "I like tea."}])
    counted = sdk.responses.input_tokens.count(model="vllm", conversation=conv.id, input="And you?")
    sdk.responses.create(model="vllm", conversation=conv.id, input="And you?")
    assert counted.input_tokens == _words(_chat_requests(upstream)[-1])


def test_an_upstream_without_a_tokenizer_gives_an_estimate_labelled_so(
    sdk: OpenAI, upstream: ScriptedUpstream
) -> None:
    raw = sdk.responses.input_tokens.with_raw_response.count(model="plain", input="How tall is Mont Blanc?")

    body = raw.http_response.json()
    assert body["object"] == "response.input_tokens" and body["estimated"] is True
    assert 5 <= body["input_tokens"] <= 30
    assert upstream.tokenize_requests == []


def test_input_tokens_counts_what_auto_truncation_would_send(sdk: OpenAI, upstream: ScriptedUpstream) -> None:
    long_input: Any = [
        {"type": "message", "role": "user", "content": f"fact {n}: " + "word " * 40} for n in range(30)
    ]

    auto = sdk.responses.input_tokens.count(model="vllm-small", input=long_input, truncation="auto")
    whole = sdk.responses.input_tokens.count(model="vllm-small", input=long_input)

    assert auto.input_tokens <= SMALL_BUDGET < whole.input_tokens  # disabled counts it whole, no 400


def test_input_tokens_errors_are_openai_errors(sdk: OpenAI, upstream: ScriptedUpstream) -> None:
    with pytest.raises(openai.BadRequestError) as missing:
        sdk.responses.input_tokens.count(model="vllm", previous_response_id="resp_missing", input="hi")
    assert (missing.value.code, missing.value.param) == (
        "previous_response_not_found",
        "previous_response_id",
    )

    with pytest.raises(openai.BadRequestError) as bad:
        sdk.responses.input_tokens.count(model="vllm", input="hi", truncation="sometimes")  # type: ignore[arg-type]
    assert bad.value.param == "truncation"

    with pytest.raises(openai.NotFoundError) as unknown:
        sdk.responses.input_tokens.count(model="nobody/knows", input="hi")
    assert unknown.value.code == "model_not_found"


@pytest.mark.parametrize("route", ["direct", "via-envoy"])
def test_typed_grpc_counts_the_same(route: str, context_service: ServiceProcess, sdk: OpenAI) -> None:
    target = context_service.grpc_target if route == "direct" else context_service.envoy_target
    over_rest = sdk.responses.input_tokens.count(model="vllm", input="Count me, please.")
    with grpc.insecure_channel(target) as channel:
        reply = ResponsesServiceStub(channel).count_input_tokens(
            CountInputTokensRequest(model="vllm", input=Input(text="Count me, please."))
        )
    assert (reply.object, reply.input_tokens, reply.estimated) == (
        "response.input_tokens",
        over_rest.input_tokens,
        False,
    )


def test_typed_grpc_errors_carry_the_openai_code(context_service: ServiceProcess, sdk: OpenAI) -> None:
    with grpc.insecure_channel(context_service.grpc_target) as channel:
        stub = ResponsesServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.count_input_tokens(
                CountInputTokensRequest(
                    model="vllm", previous_response_id="resp_gone", input=Input(text="hi")
                )
            )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "resp_gone" in (info.value.details() or "")


# -- truncation --------------------------------------------------------------------------------------


def test_disabled_refuses_an_overflow_before_the_upstream_is_called(
    sdk: OpenAI, upstream: ScriptedUpstream
) -> None:
    for model in ("small", "vllm-small"):
        with pytest.raises(openai.BadRequestError) as info:
            sdk.responses.create(model=model, input="word " * 700)
        error = info.value
        assert (error.status_code, error.code, error.param) == (400, "context_length_exceeded", "input")
        assert error.body is not None and error.body["message"] == TOO_LONG  # type: ignore[index]
    assert _chat_requests(upstream) == []  # the upstream never saw a completion request
    assert upstream.tokenize_requests  # vLLM's count was asked for (the estimate was too close)


def test_a_50_turn_conversation_stays_in_a_small_window_with_auto(
    sdk: OpenAI, upstream: ScriptedUpstream
) -> None:
    conv = sdk.conversations.create()
    fruits = ["apple", "pear", "plum", "fig", "kiwi", "lime", "date"]
    for n in range(50):
        fruit = fruits[n % len(fruits)]
        reply = sdk.responses.create(
            model="vllm-small",
            conversation=conv.id,
            instructions="You keep a numbered list of fruit.",
            input=f"Item {n} is {fruit}, please keep it in mind.",
            truncation="auto",
        )
        assert reply.status == "completed" and reply.truncation == "auto"

    asked = sdk.responses.create(
        model="vllm-small",
        conversation=conv.id,
        instructions="You keep a numbered list of fruit.",
        input="Which fruit was item 49?",
        truncation="auto",
    )
    assert asked.output_text == "You said: Which fruit was item 49?"
    last = _chat_requests(upstream)[-1]
    assert _words(last) <= SMALL_BUDGET
    users = _user_texts(last)
    assert users[-1] == "Which fruit was item 49?"
    assert users[-2] == f"Item 49 is {fruits[49 % len(fruits)]}, please keep it in mind."  # the newest turns
    kept = [int(u.split()[1]) for u in users[:-1]]
    assert kept == list(range(kept[0], 50)) and kept[0] > 0  # the oldest turns went, in whole turns
    roles = [m["role"] for m in last["messages"]]
    assert last["messages"][0] == {"role": "system", "content": "You keep a numbered list of fruit."}
    assert roles[1:] == ["user", "assistant"] * len(kept) + ["user"]  # each kept question with its answer
    # every turn sent fitted the window, and the conversation still holds all of them
    assert all(_words(body) <= SMALL_BUDGET for body in _chat_requests(upstream))
    items = list(sdk.conversations.items.list(conv.id, limit=100, order="asc"))  # every page
    assert len(items) == 2 * 51  # nothing was deleted


def test_auto_along_previous_response_id_keeps_the_stored_chain_whole(
    sdk: OpenAI, upstream: ScriptedUpstream
) -> None:
    previous: str | None = None
    for n in range(25):
        reply = sdk.responses.create(
            model="vllm-small",
            input=f"Note {n}: " + "detail " * 12,
            truncation="auto",
            **({"previous_response_id": previous} if previous else {}),
        )
        previous = reply.id
    last = _chat_requests(upstream)[-1]
    users = _user_texts(last)
    assert users[-1].startswith("Note 24:") and not users[0].startswith("Note 0:")
    assert _words(last) <= SMALL_BUDGET
    # without truncation the same chain is refused, not silently cut
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.create(model="vllm-small", previous_response_id=previous, input="And now?")
    assert info.value.code == "context_length_exceeded"


# -- prompt caching ----------------------------------------------------------------------------------


def test_cached_tokens_report_what_the_upstream_reported(sdk: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="Hi.", usage=(120, 2, 96, 0)))

    reply = sdk.responses.create(
        model="plain", input="hello", prompt_cache_key="tenant-a/chat-1", prompt_cache_retention="24h"
    )

    assert reply.usage is not None and reply.usage.input_tokens_details.cached_tokens == 96
    assert reply.usage.input_tokens == 120
    [sent] = _chat_requests(upstream)
    assert (sent["prompt_cache_key"], sent["prompt_cache_retention"]) == ("tenant-a/chat-1", "24h")
    assert sdk.responses.retrieve(reply.id).usage.input_tokens_details.cached_tokens == 96  # type: ignore[union-attr]


def _messages_bytes(raw: bytes) -> bytes:
    """The bytes of a chat body's `messages` array, as sent."""
    start = raw.index(b'"messages":[') + len(b'"messages":')
    _, end = json.JSONDecoder().raw_decode(raw.decode(), start)
    return raw[start:end]


def _assert_prefix_stable(upstream: ScriptedUpstream) -> None:
    sent = [_messages_bytes(r.raw) for r in upstream.received if r.path == "/v1/chat/completions"]
    assert len(sent) >= 3
    for before, after in itertools.pairwise(sent):
        assert after.startswith(before[:-1] + b","), (before, after)  # turn N's messages, byte for byte


def test_the_context_is_byte_stable_across_a_chain(sdk: OpenAI, upstream: ScriptedUpstream) -> None:
    tools: Any = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}, "strict": False}]
    upstream.enqueue(Script(tool_calls=[ScriptedToolCall("call_7", "lookup", '{"q": "tides"}')]))
    first = sdk.responses.create(model="plain", instructions="Be brief.", input="Tides today?", tools=tools)
    call = first.output[0]
    assert call.type == "function_call"
    second = sdk.responses.create(
        model="plain",
        instructions="Be brief.",
        previous_response_id=first.id,
        tools=tools,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "High at 10:02."}],
    )
    sdk.responses.create(
        model="plain", instructions="Be brief.", previous_response_id=second.id, tools=tools, input="Thanks!"
    )

    _assert_prefix_stable(upstream)


def test_the_context_is_byte_stable_across_a_conversation(sdk: OpenAI, upstream: ScriptedUpstream) -> None:
    conv = sdk.conversations.create()
    for text in ("One.", "Two.", "Three.", "Four."):
        sdk.responses.create(model="plain", instructions="Count.", conversation=conv.id, input=text)

    _assert_prefix_stable(upstream)


def test_input_tokens_counts_a_prompt_template_as_a_create_resolves_it(
    context_service: ServiceProcess, sdk: OpenAI, upstream: ScriptedUpstream
) -> None:
    with httpx.Client(base_url=context_service.base_url, timeout=30) as rest:
        made = rest.post("/prompts", json={"prompt": "Guide me around {{city}}.", "variables": ["city"]})
    assert made.status_code == 200, made.text
    prompt: Any = {"id": made.json()["prompt_id"], "variables": {"city": "Lyon"}}

    # OpenAI's input_tokens has no `prompt`: the SDK sends it as an extra field, which this service takes
    counted = sdk.responses.input_tokens.count(
        model="vllm", input="Start at the river.", extra_body={"prompt": prompt}
    )
    sdk.responses.create(model="vllm", prompt=prompt, input="Start at the river.")

    [sent] = _chat_requests(upstream)
    assert "Guide me around Lyon." in json.dumps(sent["messages"])
    assert counted.input_tokens == _words(sent)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ('{"model": 5, "input": "hi"}', "model"),
        ('{"input": "hi"}', "model"),
        ('{"model": "vllm", "input": [{"type": "bogus"}]}', "input[0].type"),
        ('{"model": "vllm", "input": "hi", "tools": "lookup"}', "tools"),
        ('{"model": "vllm", "input": "hi", "stream": true}', "stream"),  # not a count parameter
        ("[1, 2]", None),
        ("{not json", None),
    ],
)
def test_a_bad_count_body_is_a_400_naming_the_field(
    context_service: ServiceProcess, upstream: ScriptedUpstream, body: str, param: str | None
) -> None:
    with httpx.Client(base_url=context_service.base_url, timeout=30) as rest:
        reply = rest.post(
            "/responses/input_tokens", content=body, headers={"content-type": "application/json"}
        )

    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    if param is not None:
        assert error["param"] == param, error
    assert _chat_requests(upstream) == [] and upstream.tokenize_requests == []


# -- the tool loop -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toolbox() -> Iterator[McpTestServer]:
    with McpTestServer(toolbox_server(), TRANSPORTS[0]) as server:
        yield server


def _search(server: McpTestServer) -> Any:
    return {
        "type": "mcp",
        "server_label": "toolbox",
        "server_url": server.url,
        "require_approval": "never",
        "allowed_tools": ["search"],
    }


def _big_search(words: int) -> Script:
    arguments = json.dumps({"query": "docs", "filters": ["finding"] * words})
    return Script(tool_calls=[ScriptedToolCall("call_s", "search", arguments)])


def test_auto_fits_the_turn_after_a_big_tool_output(
    sdk: OpenAI, upstream: ScriptedUpstream, toolbox: McpTestServer
) -> None:
    previous: str | None = None
    for n in range(8):
        reply = sdk.responses.create(
            model="vllm-small",
            input=f"Note {n}: " + "detail " * 12,
            truncation="auto",
            **({"previous_response_id": previous} if previous else {}),
        )
        previous = reply.id
    upstream.enqueue(_big_search(100), Script(text="Found it."))

    final = sdk.responses.create(
        model="vllm-small",
        previous_response_id=previous,
        input="Search the docs.",
        tools=[_search(toolbox)],
        truncation="auto",
    )

    assert final.status == "completed" and final.output_text == "Found it."
    after_tool = _chat_requests(upstream)[-1]
    assert after_tool["messages"][-1]["role"] == "tool" and "finding" in after_tool["messages"][-1]["content"]
    assert _words(after_tool) <= SMALL_BUDGET  # tool output and tool definitions counted, and fitted
    assert not _user_texts(after_tool)[0].startswith("Note 0:")  # the oldest turns went to make room
    assert _user_texts(after_tool)[-1] == "Search the docs."


def test_disabled_fails_when_a_tool_output_overflows(
    context_service: ServiceProcess, sdk: OpenAI, upstream: ScriptedUpstream, toolbox: McpTestServer
) -> None:
    upstream.enqueue(_big_search(600), Script(text="never sent"))
    body = {"model": "vllm-small", "input": "Search the docs.", "tools": [_search(toolbox)], "stream": True}
    with httpx.Client(base_url=context_service.base_url, timeout=30) as rest:  # read to the end
        frames = rest.post("/responses", json=body).text
    events = [json.loads(line[6:]) for line in frames.splitlines() if line.startswith("data: {")]
    kinds = [e["type"] for e in events]
    assert "response.mcp_call.completed" in kinds and kinds[-2:] == ["error", "response.failed"]
    error = events[-1]["response"]["error"]  # in band: the stream had begun
    assert (error["code"], error["message"]) == ("server_error", TOO_LONG)
    stored = sdk.responses.retrieve(events[-1]["response"]["id"])
    assert stored.status == "failed"
    assert len(_chat_requests(upstream)) == 1  # the overflowing turn was never sent

    upstream.reset()
    upstream.tokenizer = "vllm"
    upstream.enqueue(_big_search(600), Script(text="never sent"))
    with pytest.raises(openai.BadRequestError) as info:  # unstreamed, the failure is the reply
        sdk.responses.create(model="vllm-small", input="Search the docs.", tools=[_search(toolbox)])
    assert (info.value.code, info.value.param) == ("context_length_exceeded", "input")
    assert len(_chat_requests(upstream)) == 1
