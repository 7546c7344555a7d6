"""Prompt templates end to end, on SQLite and PostgreSQL: the /v1/prompts routes (Llama Stack's, OpenAI
has none) with plain HTTP through Envoy, `responses.create(prompt=...)` with the `openai` SDK against
the scripted upstream, and both over typed gRPC. Two tenants (API keys), each seeing only its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import openai
import pytest
from openai import OpenAI

from rejoinder_client.google.protobuf import Struct
from rejoinder_client.rejoinder.responses.v1 import (
    CreatePromptRequest,
    CreateRequest,
    GetPromptRequest,
    Input,
    ListPromptVersionsRequest,
    Prompt,
    PromptsServiceStub,
    ResponsesServiceStub,
    SetDefaultVersionRequest,
    UpdatePromptRequest,
)
from tests.e2e.exactness import CapturingTransport, check
from tests.e2e.service_process import ServiceProcess
from tests.e2e.tenant_service import tenant_service
from tests.scripted_upstream import Script, ScriptedUpstream

ACME = "sk-acme-prompts-0001"
GLOBEX = "sk-globex-prompts-0002"
GUIDE = "You are a guide to {{city}}. Answer in {{style}}."


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def prompts_service(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    e2e_upstream: ScriptedUpstream,
    postgres_admin_dsn: str,
) -> Iterator[ServiceProcess]:
    """A keyed service (two tenants) routing model "m" to the scripted upstream, on each store."""
    data = tmp_path_factory.mktemp(f"prompts-{request.param}")
    keys = {"acme": ACME, "globex": GLOBEX}
    yield from tenant_service(
        request.param,
        data,
        e2e_upstream,
        postgres_admin_dsn,
        keys,
        '\n[models."m"]\nprovider = "scripted"\nmodel = "scripted-model"\n',
    )


@pytest.fixture
def transport() -> Iterator[CapturingTransport]:
    capturing = CapturingTransport()
    yield capturing
    for capture in capturing.captures:
        check(capture)


def _http(service: ServiceProcess, key: str, transport: CapturingTransport) -> httpx.Client:
    headers = {"authorization": f"Bearer {key}"}
    return httpx.Client(base_url=service.base_url, transport=transport, timeout=30, headers=headers)


@pytest.fixture
def acme(prompts_service: ServiceProcess, transport: CapturingTransport) -> Iterator[httpx.Client]:
    with _http(prompts_service, ACME, transport) as c:
        yield c


@pytest.fixture
def globex(prompts_service: ServiceProcess, transport: CapturingTransport) -> Iterator[httpx.Client]:
    with _http(prompts_service, GLOBEX, transport) as c:
        yield c


@pytest.fixture
def sdk(prompts_service: ServiceProcess, transport: CapturingTransport) -> Iterator[OpenAI]:
    with httpx.Client(transport=transport, timeout=30) as http:
        yield OpenAI(base_url=prompts_service.base_url, api_key=ACME, http_client=http, max_retries=0)


def _made(
    client: httpx.Client, text: str = GUIDE, names: tuple[str, ...] = ("city", "style")
) -> dict[str, Any]:
    reply = client.post("/prompts", json={"prompt": text, "variables": list(names)})
    assert reply.status_code == 200, reply.text
    made: dict[str, Any] = reply.json()
    return made


def _error(reply: httpx.Response, status: int, param: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    error: dict[str, Any] = reply.json()["error"]
    assert error["param"] == param, error
    return error


def test_create_version_list_set_default_and_delete(acme: httpx.Client) -> None:
    made = _made(acme)
    prompt_id = made["prompt_id"]
    assert prompt_id.startswith("pmpt_") and len(prompt_id) == 5 + 48
    assert made["created_at"] > 0
    assert made == {
        "prompt_id": prompt_id,
        "object": "prompt",
        "version": 1,
        "prompt": GUIDE,
        "variables": ["city", "style"],
        "is_default": True,
        "created_at": made["created_at"],
    }
    second = acme.put(
        f"/prompts/{prompt_id}", json={"prompt": "Guide to {{city}}.", "version": 1, "variables": ["city"]}
    ).json()
    assert (second["version"], second["is_default"], second["variables"]) == (2, True, ["city"])
    stale = acme.put(f"/prompts/{prompt_id}", json={"prompt": "Lost update", "version": 1})
    assert _error(stale, 409, "version")["code"] == "stale_prompt_version"
    assert acme.get(f"/prompts/{prompt_id}").json()["version"] == 2
    assert acme.get(f"/prompts/{prompt_id}", params={"version": 1}).json()["prompt"] == GUIDE
    versions = acme.get(f"/prompts/{prompt_id}/versions").json()
    assert versions["object"] == "list"
    assert [(v["version"], v["is_default"]) for v in versions["data"]] == [(1, False), (2, True)]
    back = acme.put(f"/prompts/{prompt_id}/set-default-version", json={"version": 1}).json()
    assert (back["version"], back["is_default"]) == (1, True)
    kept = acme.put(f"/prompts/{prompt_id}", json={"prompt": "v3", "version": 2, "set_as_default": False})
    assert (kept.json()["version"], kept.json()["is_default"]) == (3, False)
    listed = acme.get("/prompts", params={"limit": 100}).json()
    mine = [p for p in listed["data"] if p["prompt_id"] == prompt_id]
    assert [(p["version"], p["prompt"]) for p in mine] == [(1, GUIDE)]  # each at its default version
    assert listed["object"] == "list" and listed["first_id"] == listed["data"][0]["prompt_id"]
    gone = acme.delete(f"/prompts/{prompt_id}").json()
    assert gone == {"id": prompt_id, "object": "prompt.deleted", "deleted": True}
    _error(acme.get(f"/prompts/{prompt_id}"), 404, "prompt_id")
    _error(acme.delete(f"/prompts/{prompt_id}"), 404, "prompt_id")


def test_prompt_lists_page_newest_first(acme: httpx.Client) -> None:
    ids = [_made(acme, f"page {n}", ())["prompt_id"] for n in range(3)]
    first = acme.get("/prompts", params={"limit": 2}).json()
    assert [p["prompt_id"] for p in first["data"]] == ids[:0:-1] and first["has_more"]
    rest = acme.get("/prompts", params={"limit": 1, "after": ids[1]}).json()
    assert [p["prompt_id"] for p in rest["data"]] == [ids[0]]
    ascending = acme.get("/prompts", params={"order": "asc", "after": ids[0], "limit": 2}).json()
    assert [p["prompt_id"] for p in ascending["data"]] == ids[1:]


def test_bad_prompt_requests_get_clear_errors(acme: httpx.Client, globex: httpx.Client) -> None:
    _error(acme.post("/prompts", json={"variables": ["x"]}), 400, "prompt")
    undeclared = acme.post("/prompts", json={"prompt": "Hi {{name}} in {{city}}", "variables": ["name"]})
    assert "'city'" in _error(undeclared, 400, "prompt")["message"]
    _error(acme.post("/prompts", json={"prompt": "Hi", "variables": ["no spaces"]}), 400, "variables[0]")
    _error(acme.post("/prompts", json={"prompt": "Hi", "variables": "name"}), 400, "variables")
    bad_json = acme.post("/prompts", content=b"{nope", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error"]["type"] == "invalid_request_error"
    prompt_id = _made(acme)["prompt_id"]
    _error(acme.get(f"/prompts/{prompt_id}", params={"version": 9}), 404, "version")
    _error(acme.get(f"/prompts/{prompt_id}", params={"version": 0}), 400, "version")
    _error(acme.put(f"/prompts/{prompt_id}", json={"prompt": "x"}), 400, "version")
    _error(acme.put(f"/prompts/{prompt_id}/set-default-version", json={"version": 5}), 404, "version")
    _error(acme.get("/prompts", params={"limit": 0}), 400, "limit")
    # Another tenant's template is as if it did not exist.
    _error(globex.get(f"/prompts/{prompt_id}"), 404, "prompt_id")
    _error(globex.put(f"/prompts/{prompt_id}", json={"prompt": "mine", "version": 1}), 404, "prompt_id")
    _error(globex.delete(f"/prompts/{prompt_id}"), 404, "prompt_id")
    assert all(p["prompt_id"] != prompt_id for p in globex.get("/prompts").json()["data"])
    assert acme.get(f"/prompts/{prompt_id}").status_code == 200


def test_a_response_from_a_prompt(sdk: OpenAI, acme: httpx.Client, upstream: ScriptedUpstream) -> None:
    prompt_id = _made(acme)["prompt_id"]
    upstream.enqueue(Script(text="See the fjords."), Script(text="Yes."))
    made = sdk.responses.create(
        model="m",
        prompt={"id": prompt_id, "variables": {"city": "Oslo", "style": "haiku"}},
        instructions="Be brief.",
        input="What should I see?",
    )
    assert made.output_text == "See the fjords."
    assert made.prompt is not None
    assert (made.prompt.id, made.prompt.version, made.prompt.variables) == (
        prompt_id,
        "1",
        {"city": "Oslo", "style": "haiku"},
    )
    sent = upstream.requests[-1]["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("developer", "You are a guide to Oslo. Answer in haiku."),  # the prompt first ...
        ("system", "Be brief."),  # ... then the instructions, then the input
        ("user", "What should I see?"),
    ]
    # The prompt is not an input item, and a later response does not inherit it (as `instructions`).
    items = sdk.responses.input_items.list(made.id).data
    assert [(i.type, i.role) for i in items] == [("message", "user")]  # type: ignore[union-attr]
    retrieved = sdk.responses.retrieve(made.id)
    assert retrieved.prompt is not None and retrieved.prompt.version == "1"
    sdk.responses.create(model="m", previous_response_id=made.id, input="Really?")
    later = upstream.requests[-1]["messages"]
    assert [m["role"] for m in later] == ["user", "assistant", "user"]


def test_a_prompt_version_and_input_part_variables(
    sdk: OpenAI, acme: httpx.Client, upstream: ScriptedUpstream
) -> None:
    prompt_id = _made(acme, "Describe {{photo}} for {{who}}.", ("photo", "who"))["prompt_id"]
    acme.put(
        f"/prompts/{prompt_id}",
        json={"prompt": "Ignore {{photo}} {{who}}", "version": 1, "variables": ["photo", "who"]},
    )
    upstream.enqueue(Script(text="A red square."))
    image = {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}
    made = sdk.responses.create(
        model="m",
        prompt={
            "id": prompt_id,
            "version": "1",
            "variables": {"photo": image, "who": {"type": "input_text", "text": "a child"}},
        },
        input="Go.",
    )
    assert made.prompt is not None and made.prompt.version == "1"
    first = upstream.requests[-1]["messages"][0]
    assert first["role"] == "developer"
    assert first["content"] == [
        {"type": "text", "text": "Describe "},
        {"type": "image_url", "image_url": {"url": image["image_url"], "detail": "low"}},
        {"type": "text", "text": " for a child."},
    ]


def test_a_streamed_response_echoes_the_prompt(
    sdk: OpenAI, acme: httpx.Client, upstream: ScriptedUpstream
) -> None:
    prompt_id = _made(acme, "Talk like {{who}}.", ("who",))["prompt_id"]
    upstream.enqueue(Script(text="Arr."))
    events = list(
        sdk.responses.create(
            model="m", prompt={"id": prompt_id, "variables": {"who": "a pirate"}}, input="Hi", stream=True
        )
    )
    created = events[0]
    assert created.type == "response.created"
    assert created.response.prompt is not None and created.response.prompt.id == prompt_id
    assert events[-1].type == "response.completed" and events[-1].response.output_text == "Arr."
    assert upstream.requests[-1]["messages"][0] == {"role": "developer", "content": "Talk like a pirate."}


@pytest.mark.parametrize(
    ("prompt", "param", "code"),
    [
        ({"variables": {"city": "Oslo"}}, "prompt.variables.style", "missing_prompt_variable"),
        (
            {"variables": {"city": "Oslo", "style": "prose", "mood": "x"}},
            "prompt.variables.mood",
            "unknown_prompt_variable",
        ),
        ({"variables": {"city": 7, "style": "prose"}}, "prompt.variables.city", "invalid_type"),
        (
            {"version": "9", "variables": {"city": "Oslo", "style": "x"}},
            "prompt.version",
            "prompt_version_not_found",
        ),
        ({"version": "latest"}, "prompt.version", "invalid_value"),
    ],
)
def test_bad_prompts_on_create_are_400s_before_the_upstream(
    sdk: OpenAI,
    acme: httpx.Client,
    upstream: ScriptedUpstream,
    prompt: dict[str, Any],
    param: str,
    code: str,
) -> None:
    prompt_id = _made(acme)["prompt_id"]
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.create(model="m", prompt={"id": prompt_id, **prompt}, input="x")  # type: ignore[typeddict-item]
    body: dict[str, Any] = refused.value.body  # type: ignore[assignment]
    assert (body["param"], body["code"]) == (param, code)
    assert upstream.requests == []


def test_an_unknown_or_another_tenants_prompt_is_a_400(
    sdk: OpenAI, globex: httpx.Client, upstream: ScriptedUpstream
) -> None:
    theirs = _made(globex, "Secret", ())["prompt_id"]
    for prompt_id in (theirs, "pmpt_missing"):
        with pytest.raises(openai.BadRequestError) as refused:
            sdk.responses.create(model="m", prompt={"id": prompt_id}, input="x")
        body: dict[str, Any] = refused.value.body  # type: ignore[assignment]
        assert (body["param"], body["code"]) == ("prompt.id", "prompt_not_found")
    assert upstream.requests == []


class _Key(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        metadata = (*tuple(details.metadata or ()), ("authorization", f"Bearer {ACME}"))
        return continuation(details._replace(metadata=metadata), request)


@pytest.fixture(params=["direct", "via-envoy"])
def channel(request: pytest.FixtureRequest, prompts_service: ServiceProcess) -> Iterator[grpc.Channel]:
    target = prompts_service.grpc_target if request.param == "direct" else prompts_service.envoy_target
    with grpc.insecure_channel(target) as raw:
        yield grpc.intercept_channel(raw, _Key())


def test_typed_grpc_prompts_and_a_response_from_one(
    channel: grpc.Channel, upstream: ScriptedUpstream
) -> None:
    prompts = PromptsServiceStub(channel)
    made = prompts.create_prompt(CreatePromptRequest(prompt="Hello {{name}}!", variables=["name"])).prompt
    assert made is not None and (made.version, made.is_default, made.object) == (1, True, "prompt")
    second = prompts.update_prompt(
        UpdatePromptRequest(prompt_id=made.prompt_id, prompt="Hi {{name}}.", version=1, variables=["name"])
    ).prompt
    assert second is not None and second.version == 2
    with pytest.raises(grpc.RpcError) as stale:
        prompts.update_prompt(UpdatePromptRequest(prompt_id=made.prompt_id, prompt="x", version=1))
    assert stale.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[attr-defined]
    versions = prompts.list_prompt_versions(ListPromptVersionsRequest(prompt_id=made.prompt_id))
    assert [v.version for v in versions.data] == [1, 2]
    prompts.set_default_version(SetDefaultVersionRequest(prompt_id=made.prompt_id, version=1))
    got = prompts.get_prompt(GetPromptRequest(prompt_id=made.prompt_id)).prompt
    assert got is not None and got.prompt == "Hello {{name}}!"
    with pytest.raises(grpc.RpcError) as missing:
        prompts.get_prompt(GetPromptRequest(prompt_id="pmpt_missing"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]

    upstream.enqueue(Script(text="Hello."))
    responses = ResponsesServiceStub(channel)
    variables = Struct.from_dict({"name": "Ada"})
    ref = Prompt(id=made.prompt_id, variables=variables)
    reply = responses.create(CreateRequest(model="m", input=Input(text="Hi"), prompt=ref)).response
    assert reply is not None and reply.prompt is not None
    assert (reply.prompt.id, reply.prompt.version) == (made.prompt_id, "1")
    assert upstream.requests[-1]["messages"][0] == {"role": "developer", "content": "Hello Ada!"}
    with pytest.raises(grpc.RpcError) as refused:
        responses.create(CreateRequest(model="m", input=Input(text="Hi"), prompt=Prompt(id=made.prompt_id)))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "name" in str(refused.value.details())  # type: ignore[attr-defined]


def test_the_prompt_is_counted_and_stays_out_of_a_conversation(
    sdk: OpenAI, acme: httpx.Client, upstream: ScriptedUpstream
) -> None:
    text = "You are a patient guide to {{city}}: " + "answer with care, " * 40 + "and briefly."
    prompt: Any = {"id": _made(acme, text, ("city",))["prompt_id"], "variables": {"city": "Bergen"}}
    bare = sdk.responses.input_tokens.count(model="m", input="Hi")
    counted = sdk.responses.input_tokens.count(model="m", input="Hi", extra_body={"prompt": prompt})
    assert counted.input_tokens > bare.input_tokens + 40  # the template's words are in the count
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.input_tokens.count(model="m", input="Hi", extra_body={"prompt": {"id": "pmpt_missing"}})
    assert refused.value.body["param"] == "prompt.id"  # type: ignore[index]
    conv = sdk.conversations.create()
    upstream.enqueue(Script(text="Welcome."))
    sdk.responses.create(model="m", conversation=conv.id, prompt=prompt, input="Hi")
    assert upstream.requests[-1]["messages"][0]["role"] == "developer"
    items = sdk.conversations.items.list(conv.id, order="asc").data
    assert [i.role for i in items] == ["user", "assistant"]  # type: ignore[union-attr]
