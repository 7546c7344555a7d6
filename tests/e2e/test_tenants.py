"""API keys and tenants through Envoy (the `openai` SDK) and typed gRPC: each tenant sees only its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import openai
import pytest
from openai import OpenAI

from rejoinder.api.auth import hash_key
from rejoinder_client.rejoinder.responses.v1 import CreateRequest, GetRequest, Input, ResponsesServiceStub
from tests.e2e.exactness import CapturingTransport, check
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import Script, ScriptedUpstream

ACME = "sk-acme-e2e-0001"
GLOBEX = "sk-globex-e2e-0002"


@pytest.fixture(scope="module")
def keyed_service(
    tmp_path_factory: pytest.TempPathFactory, e2e_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    data = tmp_path_factory.mktemp("tenants")
    config = data / "rejoinder.toml"
    config.write_text(
        f'[providers.scripted]\nbase_url = "{e2e_upstream.base_url}"\n\n'
        f'[auth.tenants]\nacme = ["{hash_key(ACME)}"]\nglobex = ["{hash_key(GLOBEX)}"]\n'
    )
    proc = ServiceProcess(data_dir=data, extra_args=["--config", str(config)], api_key=ACME).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def clients(keyed_service: ServiceProcess, upstream: ScriptedUpstream) -> Iterator[dict[str, OpenAI]]:
    transport = CapturingTransport()
    http = httpx.Client(transport=transport, timeout=30)
    made = {
        key: OpenAI(base_url=keyed_service.base_url, api_key=key, http_client=http, max_retries=0)
        for key in (ACME, GLOBEX, "sk-nobody-at-all")
    }
    yield made
    http.close()
    for capture in transport.captures:
        check(capture)


def test_calls_without_a_valid_key_get_openai_401s(
    keyed_service: ServiceProcess, clients: dict[str, OpenAI]
) -> None:
    with pytest.raises(openai.AuthenticationError) as wrong:
        clients["sk-nobody-at-all"].responses.create(model="scripted/m", input="hi")
    assert wrong.value.status_code == 401 and wrong.value.code == "invalid_api_key"
    assert "sk-nobody-at-all" not in str(wrong.value.body)
    missing = httpx.get(f"{keyed_service.base_url}/models")
    assert missing.status_code == 401
    error = missing.json()["error"]
    assert error["type"] == "invalid_request_error" and "Authorization: Bearer" in error["message"]
    assert [m.id for m in clients[ACME].models.list()] == ["scripted/scripted-model"]  # a good key lists them


def test_a_tenant_never_sees_another_tenants_responses(
    clients: dict[str, OpenAI], upstream: ScriptedUpstream
) -> None:
    acme, globex = clients[ACME], clients[GLOBEX]
    upstream.enqueue(Script(text="for acme"))
    mine = acme.responses.create(model="scripted/m", input="hi")
    assert acme.responses.retrieve(mine.id).output_text == "for acme"
    with pytest.raises(openai.NotFoundError):
        globex.responses.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        globex.responses.input_items.list(mine.id)
    with pytest.raises(openai.NotFoundError):
        globex.responses.cancel(mine.id)
    with pytest.raises(openai.NotFoundError):
        globex.responses.delete(mine.id)
    with pytest.raises(openai.BadRequestError) as chained:
        globex.responses.create(model="scripted/m", input="more", previous_response_id=mine.id)
    assert chained.value.code == "previous_response_not_found"
    assert acme.responses.retrieve(mine.id).id == mine.id  # still there for its tenant
    acme.responses.delete(mine.id)
    upstream.enqueue(Script(text=[f"slow{i} " for i in range(40)], delay_s=0.05))
    running = acme.responses.create(model="scripted/m", input="hi", background=True, stream=False)
    with pytest.raises(openai.NotFoundError):
        list(globex.responses.retrieve(running.id, stream=True))  # not even while it runs
    with pytest.raises(openai.NotFoundError):
        globex.responses.cancel(running.id)
    assert acme.responses.cancel(running.id).status in ("cancelled", "completed")


def test_a_tenant_never_sees_another_tenants_conversations(
    clients: dict[str, OpenAI], upstream: ScriptedUpstream
) -> None:
    acme, globex = clients[ACME], clients[GLOBEX]
    conv = acme.conversations.create(items=[{"type": "message", "role": "user", "content": "secret"}])
    item_id = acme.conversations.items.list(conv.id).data[0].id  # type: ignore[union-attr]
    with pytest.raises(openai.NotFoundError):
        globex.conversations.retrieve(conv.id)
    with pytest.raises(openai.NotFoundError):
        globex.conversations.items.list(conv.id)
    with pytest.raises(openai.NotFoundError):
        globex.conversations.items.retrieve(item_id, conversation_id=conv.id)
    with pytest.raises(openai.NotFoundError):
        globex.conversations.items.create(
            conv.id, items=[{"type": "message", "role": "user", "content": "x"}]
        )
    with pytest.raises(openai.NotFoundError):
        globex.conversations.update(conv.id, metadata={"taken": "yes"})
    with pytest.raises(openai.NotFoundError):
        globex.conversations.delete(conv.id)
    with pytest.raises(openai.NotFoundError):
        globex.responses.create(model="scripted/m", input="what was the secret?", conversation=conv.id)
    assert upstream.requests == []  # no upstream call saw acme's items
    assert [i.id for i in acme.conversations.items.list(conv.id).data] == [item_id]  # type: ignore[union-attr]
    assert acme.conversations.retrieve(conv.id).metadata == {}


class BearerKey(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """How a generated-client user sends an API key: a channel interceptor adding the metadata."""

    def __init__(self, key: str) -> None:
        self._key = key

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        metadata = [*(details.metadata or ()), ("authorization", f"Bearer {self._key}")]
        return continuation(details._replace(metadata=metadata), request)


def test_typed_grpc_takes_the_key_as_metadata(
    keyed_service: ServiceProcess, upstream: ScriptedUpstream
) -> None:
    with grpc.insecure_channel(keyed_service.grpc_target) as channel:
        with pytest.raises(grpc.RpcError) as anonymous:
            ResponsesServiceStub(channel).create(CreateRequest(model="scripted/m", input=Input(text="hi")))
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
        acme = ResponsesServiceStub(grpc.intercept_channel(channel, BearerKey(ACME)))
        globex = ResponsesServiceStub(grpc.intercept_channel(channel, BearerKey(GLOBEX)))
        upstream.enqueue(Script(text="typed"))
        made = acme.create(CreateRequest(model="scripted/m", input=Input(text="hi"))).response
        assert made is not None and made.status == "completed"
        with pytest.raises(grpc.RpcError) as other:
            globex.get(GetRequest(response_id=made.id))
        assert other.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
        assert acme.get(GetRequest(response_id=made.id)).response == made
