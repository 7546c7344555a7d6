"""`GET /v1/models` tells the truth: the aliases and the upstreams' own models, through Envoy with the
`openai` SDK and over the typed `ModelsService` (direct and through Envoy's listener)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc
import httpx
import openai
import pytest
from google.rpc import error_details_pb2, status_pb2
from openai import OpenAI

from rejoinder_client.rejoinder.responses.v1 import (
    GetModelRequest,
    ListModelsRequest,
    Model,
    ModelsServiceStub,
)
from tests.e2e.exactness import CapturingTransport, check
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import ScriptedUpstream

# The e2e service: aliases m, gpt-test, reasoner, capped; providers scripted and reasoner (both on the
# scripted upstream, which lists "scripted-model") and dead (nothing listens); no default provider.
LISTED = [
    ("m", 0, "scripted"),
    ("gpt-test", 0, "scripted"),
    ("reasoner", 0, "scripted"),
    ("capped", 0, "scripted"),
    ("scripted/scripted-model", 0, "scripted"),
    ("reasoner/scripted-model", 0, "scripted"),
]
NOT_FOUND = "The model '{}' does not exist or you do not have access to it."


def test_the_list_is_the_aliases_and_the_upstreams_own_models(client: OpenAI) -> None:
    models = list(client.models.list())

    assert [(m.id, m.created, m.owned_by) for m in models] == LISTED
    assert {m.object for m in models} == {"model"}


@pytest.mark.parametrize("name", ["m", "scripted/scripted-model", "reasoner/scripted-model"])
def test_a_listed_model_is_retrieved(client: OpenAI, name: str) -> None:
    model = client.models.retrieve(name)

    assert (model.id, model.object, model.created, model.owned_by) == (name, "model", 0, "scripted")


def test_a_provider_slash_model_routes_explicitly_so_it_is_found(client: OpenAI) -> None:
    """Even where the upstream cannot be reached: the name says where requests go."""
    model = client.models.retrieve("dead/some-model")

    assert (model.id, model.created, model.owned_by) == ("dead/some-model", 0, "dead")


@pytest.mark.parametrize("name", ["no-such-model", "nobody/model", "x" * 500])
def test_an_unknown_model_is_openais_404(client: OpenAI, name: str) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve(name)

    err = info.value
    assert (err.status_code, err.code, err.param, err.type) == (
        404,
        "model_not_found",
        "model",
        "invalid_request_error",
    )
    assert isinstance(err.body, dict)
    if len(name) < 100:
        assert err.body["message"] == NOT_FOUND.format(name)
    else:
        assert len(err.body["message"]) < 400  # the echoed name is clipped


def _rest(model: Model) -> tuple[str, int, str]:
    assert model.object == "model"
    return (model.id, model.created, model.owned_by)


def _error_info(err: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    trailers = dict(err.trailing_metadata() or ())  # type: ignore[attr-defined]
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    info = error_details_pb2.ErrorInfo()
    [detail] = status.details
    assert detail.Unpack(info)
    return info


def test_the_typed_service_lists_the_same(channel: grpc.Channel) -> None:
    listed = ModelsServiceStub(channel).list_models(ListModelsRequest())

    assert listed.object == "list"
    assert [_rest(m) for m in listed.data] == LISTED


def test_the_typed_service_is_in_reflection(channel: grpc.Channel) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    ask = reflection_pb2.ServerReflectionRequest(list_services="")
    [reply] = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(iter([ask]))

    assert "rejoinder.responses.v1.ModelsService" in {s.name for s in reply.list_services_response.service}


def test_the_typed_service_gets_one_and_says_not_found_richly(channel: grpc.Channel) -> None:
    stub = ModelsServiceStub(channel)

    got = stub.get_model(GetModelRequest(model="scripted/scripted-model")).model
    assert got is not None and _rest(got) == ("scripted/scripted-model", 0, "scripted")
    with pytest.raises(grpc.RpcError) as err:
        stub.get_model(GetModelRequest(model="no-such-model"))

    assert err.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    assert err.value.details() == NOT_FOUND.format("no-such-model")  # type: ignore[attr-defined]
    info = _error_info(err.value)
    assert (info.reason, info.domain) == ("MODEL_NOT_FOUND", "responses.rejoinder.dev")
    assert dict(info.metadata) == {
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


# --- `rejoinder serve --upstream URL`, nothing else: the README's quickstart ---------------------------

REFRESH_S = 1.0


@pytest.fixture(scope="module")
def own_upstream() -> Iterator[ScriptedUpstream]:
    upstream = ScriptedUpstream(
        models=(
            {"id": "llama-3.1-8b", "object": "model", "created": 1_700_000_000, "owned_by": "meta"},
            "qwen3:0.6b",
            {"id": "meta-llama/Llama-3.1-70B", "object": "model"},
        )
    ).start()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def quickstart(
    tmp_path_factory: pytest.TempPathFactory, own_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    args = ["--upstream", own_upstream.base_url, "--upstream-api-key", "sk-upstream"]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("REJOINDER_MODELS_REFRESH_S", str(REFRESH_S))
        proc = ServiceProcess(data_dir=tmp_path_factory.mktemp("quickstart"), extra_args=args).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def sdk(quickstart: ServiceProcess, own_upstream: ScriptedUpstream) -> Iterator[OpenAI]:
    own_upstream.reset()
    transport = CapturingTransport()
    http = httpx.Client(transport=transport, timeout=30)
    yield OpenAI(base_url=quickstart.base_url, api_key="x", http_client=http, max_retries=0)
    http.close()
    own_upstream.reset()
    for capture in transport.captures:
        check(capture)


def _eventually(condition: Callable[[], bool], within_s: float = 5 * REFRESH_S) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_an_upstream_alone_lists_its_own_models_by_their_ids(
    sdk: OpenAI, own_upstream: ScriptedUpstream
) -> None:
    models = [(m.id, m.created, m.owned_by) for m in sdk.models.list()]

    assert models == [
        ("llama-3.1-8b", 1_700_000_000, "meta"),
        ("qwen3:0.6b", 0, "scripted"),
        ("meta-llama/Llama-3.1-70B", 0, "default"),  # no owned_by upstream: the provider's name
    ]
    assert sdk.models.retrieve("meta-llama/Llama-3.1-70B").id == "meta-llama/Llama-3.1-70B"
    assert sdk.models.retrieve("qwen3:0.6b").owned_by == "scripted"
    assert _eventually(lambda: bool(own_upstream.model_requests))
    assert own_upstream.model_requests[-1].headers["authorization"] == "Bearer sk-upstream"


def test_a_name_the_upstream_does_not_list_is_not_found_yet_still_routes_to_it(sdk: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        sdk.models.retrieve("gpt-unlisted")
    assert info.value.code == "model_not_found"

    response = sdk.responses.create(model="gpt-unlisted", input="hi")

    assert (response.model, response.output_text) == ("gpt-unlisted", "You said: hi")


def test_the_list_follows_the_upstream_and_outlives_its_failures(
    sdk: OpenAI, own_upstream: ScriptedUpstream
) -> None:
    before = own_upstream.models
    try:
        own_upstream.models = (*before, "added-later")
        assert _eventually(lambda: "added-later" in [m.id for m in sdk.models.list()])

        own_upstream.models_status = 503
        own_upstream.model_requests.clear()
        assert _eventually(lambda: len(own_upstream.model_requests) >= 2)  # two refreshes that failed
        started = time.monotonic()
        assert [m.id for m in sdk.models.list()][-1] == "added-later"  # the last known list
        assert time.monotonic() - started < 1.0

        own_upstream.models_status, own_upstream.models_delay_s = 200, 30.0  # an upstream that hangs
        time.sleep(2 * REFRESH_S)
        started = time.monotonic()
        assert [m.id for m in sdk.models.list()][-1] == "added-later"
        assert time.monotonic() - started < 1.0  # never waits on the upstream
    finally:
        own_upstream.models = before
        own_upstream.models_status, own_upstream.models_delay_s = 200, 0.0
