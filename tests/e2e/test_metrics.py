"""Prometheus metrics after real traffic: the service's own scrape (REST and gRPC calls, tokens, time to
first token, upstream calls and failures, streams, store writes, background runs) and Envoy's, each moved
by exactly what the test sent."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import openai
import pytest

from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1 import responses_service_pb2_grpc as pb_grpc
from rejoinder.responses.v1.items_pb2 import Input
from tests.e2e.prometheus import Moved, scrape
from tests.e2e.service_process import ServiceProcess
from tests.mcp_servers import McpTestServer, toolbox_server
from tests.scripted_upstream import Script, ScriptedToolCall, ScriptedUpstream


@pytest.fixture(scope="module")
def measured(
    tmp_path_factory: pytest.TempPathFactory, e2e_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    """A service of its own, so that only this module's traffic moves its metrics."""
    data: Path = tmp_path_factory.mktemp("metrics")
    config = data / "rejoinder.toml"
    config.write_text(
        f'default_provider = "scripted"\n[providers.scripted]\nbase_url = "{e2e_upstream.base_url}"\n'
        '[providers.dead]\nbase_url = "http://127.0.0.1:1/v1"\nconnect_timeout_s = 2\n'
        '[models.m]\nprovider = "scripted"\nmodel = "scripted-model"\n'
        '[models.gone]\nprovider = "dead"\nmodel = "x"\n'
    )
    proc = ServiceProcess(data_dir=data, extra_args=["--config", str(config)]).start()
    yield proc
    assert proc.stop() == 0, proc.log()


def _envoy_stats(service: ServiceProcess) -> str:
    found = re.search(r"Envoy stats on (http://\S+/stats/prometheus)", service.log())
    assert found, service.log()
    return found.group(1)


def _wait_done(client: openai.OpenAI, response_id: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = client.responses.retrieve(response_id).status
        if status not in ("queued", "in_progress"):
            return str(status)
        time.sleep(0.05)
    raise AssertionError("the background response did not finish")


def test_the_counts_move_by_exactly_what_was_sent(
    measured: ServiceProcess, upstream: ScriptedUpstream
) -> None:
    client = openai.OpenAI(base_url=measured.base_url, api_key="k", max_retries=0)
    envoy = _envoy_stats(measured)
    before, envoy_before = scrape(measured.metrics_url), scrape(envoy)

    # REST: three answers, one stream, one background run, a 400, a 404, an upstream that cannot be reached
    upstream.enqueue(*(Script(text="fine thanks", usage=(5, 3, 0, 1)) for _ in range(3)))
    upstream.enqueue(Script(text=["a", "b", "c"], usage=(7, 4, 0, 0)))
    upstream.enqueue(Script(text="later", usage=(2, 1, 0, 0)))
    for _ in range(3):
        assert client.responses.create(model="m", input="how are you?").output_text == "fine thanks"
    streamed = list(client.responses.create(model="m", input="abc", stream=True))
    assert streamed[-1].type == "response.completed"
    queued = client.responses.create(model="m", input="later", background=True)
    assert _wait_done(client, queued.id) == "completed"  # its retrievals: GETs that answer 200
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="m", input="x", extra_body={"no_such_field": 1})
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_does_not_exist")
    with pytest.raises(openai.APIStatusError) as dead:
        client.responses.create(model="gone", input="anyone?")
    dead_status = str(dead.value.status_code)

    # gRPC, straight to the service: two answers, one stream
    upstream.enqueue(Script(text="typed", usage=(3, 2, 0, 0)), Script(text="typed", usage=(3, 2, 0, 0)))
    upstream.enqueue(Script(text=["s", "t"], usage=(4, 2, 0, 0)))
    with grpc.insecure_channel(measured.grpc_target) as channel:
        stub = pb_grpc.ResponsesServiceStub(channel)
        for _ in range(2):
            assert (
                stub.Create(pb.CreateRequest(model="m", input=Input(text="hi"))).response.status
                == "completed"
            )
        params = pb.CreateRequest(model="m", input=Input(text="hi"))
        events = list(stub.StreamCreate(pb.StreamCreateRequest(params=params)))
        assert events[-1].event.WhichOneof("event") == "response_completed"

    after = scrape(measured.metrics_url)
    moved = Moved(before, after)
    gets = moved("rejoinder_requests_total", surface="rest", route="GetResponse", status="200", model="")
    calls = {
        ("rest", "CreateResponse", "200", "m"): 5,
        ("rest", "CreateResponse", "400", ""): 1,
        ("rest", "GetResponse", "404", ""): 1,
        ("rest", "CreateResponse", dead_status, "gone"): 1,
        ("grpc", "Create", "OK", "m"): 2,
        ("grpc", "StreamCreate", "OK", "m"): 1,
    }
    for (surface, route, status, model), count in calls.items():
        labels = {"surface": surface, "route": route, "status": status, "model": model}
        assert moved("rejoinder_requests_total", **labels) == count, labels
        assert moved("gen_ai_server_request_duration_seconds_count", **labels) == count, labels
    assert gets >= 1  # polled until done
    assert moved.summed("rejoinder_requests_total") == sum(calls.values()) + gets

    # time to first token: every create call that streamed a token in its call (not the background one)
    assert moved("gen_ai_server_time_to_first_token_seconds_count", surface="rest", model="m") == 4
    assert moved("gen_ai_server_time_to_first_token_seconds_count", surface="grpc", model="m") == 3
    tokens = {"input": 3 * 5 + 7 + 2 + 3 + 3 + 4, "output": 3 * 3 + 4 + 1 + 2 + 2 + 2, "reasoning": 3}
    for kind, count in tokens.items():
        labels = {"type": kind, "provider": "scripted", "model": "m"}
        assert moved("rejoinder_tokens_total", **labels) == count, kind
    assert (
        moved("gen_ai_client_token_usage_count", gen_ai_token_type="input", gen_ai_provider_name="scripted")
        == 8
    )
    assert (
        moved("gen_ai_client_token_usage_sum", gen_ai_token_type="output", gen_ai_provider_name="scripted")
        == 20
    )

    # upstream calls by provider and outcome, and their time
    assert moved("rejoinder_upstream_requests_total", provider="scripted", outcome="ok") == 8
    assert moved("rejoinder_upstream_requests_total", provider="dead", outcome="connect") == 1
    assert (
        moved(
            "gen_ai_client_operation_duration_seconds_count",
            gen_ai_provider_name="dead",
            error_type="connect",
        )
        == 1
    )
    assert moved.summed("rejoinder_upstream_requests_total") == 9

    # state: no stream open any more, the background run ended completed, each response stored once
    assert after[("rejoinder_active_streams", frozenset({("surface", "rest")}))] == 0
    assert after[("rejoinder_active_streams", frozenset({("surface", "grpc")}))] == 0
    assert moved("rejoinder_background_runs_total", status="completed") == 1
    assert after[("rejoinder_background_runs_running", frozenset())] == 0
    assert (
        moved("rejoinder_store_operation_duration_seconds_count", operation="save") == 3 + 1 + 3 + 3
    )  # a background run: queued, in progress, done
    assert moved.summed("rejoinder_rate_limit_rejections_total") == 0

    # Envoy's own stats: each REST request once, downstream and to the gRPC cluster
    envoy_moved = Moved(envoy_before, scrape(envoy))
    rest_requests = sum(n for (surface, *_), n in calls.items() if surface == "rest") + gets
    downstream = envoy_moved(
        "envoy_http_downstream_rq_total", envoy_http_conn_manager_prefix="rejoinder_http"
    )
    assert downstream == rest_requests
    assert (
        envoy_moved("envoy_cluster_upstream_rq_total", envoy_cluster_name="rejoinder_grpc") == rest_requests
    )


def test_mcp_listings_and_calls_are_counted_by_server_and_outcome(
    measured: ServiceProcess, upstream: ScriptedUpstream
) -> None:
    client = openai.OpenAI(base_url=measured.base_url, api_key="k", max_retries=0)
    with McpTestServer(toolbox_server(), "streamable_http") as toolbox:
        tool = {
            "type": "mcp",
            "server_label": "toolbox",
            "server_url": toolbox.url,
            "require_approval": "never",
        }
        upstream.enqueue(
            Script(tool_calls=[ScriptedToolCall("call_1", "add", '{"a": 1, "b": 2}')]),
            Script(tool_calls=[ScriptedToolCall("call_2", "fail", "{}")]),
            Script(text="done"),
        )
        before = scrape(measured.metrics_url)
        answer = client.responses.create(model="m", input="add, then fail", tools=[tool])
        after = scrape(measured.metrics_url)
    assert [o.type for o in answer.output] == ["mcp_list_tools", "mcp_call", "mcp_call", "message"]
    moved = Moved(before, after)
    for tool_kind, outcome in (("mcp_list_tools", "ok"), ("mcp_call", "ok"), ("mcp_call", "tool_error")):
        labels = {"tool": tool_kind, "server_label": "toolbox", "outcome": outcome}
        assert moved("rejoinder_tool_calls_total", **labels) == 1, labels
        assert moved("gen_ai_execute_tool_duration_seconds_count", **labels) == 1, labels
    assert moved.summed("rejoinder_tool_calls_total") == 3
    assert (
        moved("rejoinder_upstream_requests_total", provider="scripted", outcome="ok") == 3
    )  # the loop's turns


def test_label_values_stay_bounded(measured: ServiceProcess, upstream: ScriptedUpstream) -> None:
    """Model names come from the client: the first hundred are labels, any later one is "other"."""
    http = httpx.Client(base_url=measured.base_url, timeout=10)
    for n in range(120):  # each routed to the default upstream, which echoes
        assert http.post("/responses", json={"model": f"model-{n}", "input": "x"}).status_code == 200
    families = {s[0] for s in scrape(measured.metrics_url)}
    models = {
        dict(labels)["model"]
        for (name, labels) in scrape(measured.metrics_url)
        if name == "rejoinder_requests_total"
    }
    assert "rejoinder_requests_total" in families
    assert len(models - {"", "other"}) == 100 and "other" in models  # "": calls that named no model
    assert not any("resp_" in m for m in models)
