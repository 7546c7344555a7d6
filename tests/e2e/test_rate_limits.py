"""Rate limits per tenant ([rate_limits]): requests per minute, tokens per minute and concurrent requests;
over them a 429 `rate_limit_exceeded` with Retry-After and OpenAI's x-ratelimit-* headers (gRPC:
RESOURCE_EXHAUSTED with RetryInfo), shared by the workers of `serve --workers N` on one SQLite file and by
replicas on one PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import openai
import pytest
from google.rpc import error_details_pb2, status_pb2

from rejoinder.api.auth import hash_key
from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1 import responses_service_pb2_grpc as pb_grpc
from rejoinder.responses.v1.items_pb2 import Input
from tests.e2e.prometheus import Moved, scrape
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import Script, ScriptedUpstream

ACME, GLOBEX, INITECH = "sk-acme-rate-0001", "sk-globex-rate-0002", "sk-initech-rate-0003"
LIMITS = """
[rate_limits]
requests_per_minute = 3

[rate_limits.tenants.acme]
requests_per_minute = 100
concurrent_requests = 1

[rate_limits.tenants.initech]
requests_per_minute = 100
tokens_per_minute = 50
"""


def _config(path: Path, upstream: ScriptedUpstream, extra: str = LIMITS) -> list[str]:
    path.write_text(
        f'[providers.scripted]\nbase_url = "{upstream.base_url}"\n\n[auth.tenants]\n'
        f'acme = ["{hash_key(ACME)}"]\nglobex = ["{hash_key(GLOBEX)}"]\ninitech = ["{hash_key(INITECH)}"]\n'
        + extra
    )
    return ["--config", str(path)]


@pytest.fixture(scope="module")
def limited(
    tmp_path_factory: pytest.TempPathFactory, e2e_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    data = tmp_path_factory.mktemp("rate-limits")
    proc = ServiceProcess(
        data_dir=data, extra_args=_config(data / "rejoinder.toml", e2e_upstream), api_key=ACME
    )
    yield proc.start()
    assert proc.stop() == 0, proc.log()


def _post(service: ServiceProcess, key: str, **body: object) -> httpx.Response:
    return httpx.post(
        f"{service.base_url}/responses",
        json={"model": "scripted/m", "input": "hi", **body},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )


def test_requests_per_minute_over_rest(limited: ServiceProcess, upstream: ScriptedUpstream) -> None:
    before = scrape(limited.metrics_url)
    seen = [_post(limited, GLOBEX) for _ in range(3)]
    assert [r.status_code for r in seen] == [200, 200, 200]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in seen] == ["2", "1", "0"]
    assert {r.headers["x-ratelimit-limit-requests"] for r in seen} == {"3"}
    refused = _post(limited, GLOBEX)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-reset-requests"].endswith("s")
    error = refused.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("requests", "rate_limit_exceeded", None)
    assert error["message"].startswith(
        "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1."
    )
    sdk = openai.OpenAI(base_url=limited.base_url, api_key=GLOBEX, max_retries=0)
    with pytest.raises(openai.RateLimitError) as raised:
        sdk.responses.create(model="scripted/m", input="hi")
    assert raised.value.code == "rate_limit_exceeded"
    assert _post(limited, ACME).status_code == 200  # another tenant's quota is its own
    moved = Moved(before, scrape(limited.metrics_url))
    assert moved("rejoinder_rate_limit_rejections_total", limit="requests") == 2
    assert moved.summed("rejoinder_rate_limit_rejections_total") == 2
    refusals = {"surface": "rest", "route": "CreateResponse", "status": "429", "model": ""}
    assert moved("rejoinder_requests_total", **refusals) == 2  # refused before the model was read


def test_requests_per_minute_over_grpc(limited: ServiceProcess, upstream: ScriptedUpstream) -> None:
    with grpc.insecure_channel(limited.grpc_target) as channel:
        stub = pb_grpc.ResponsesServiceStub(channel)
        metadata = [("authorization", f"Bearer {GLOBEX}")]
        req = pb.CreateRequest(model="scripted/m", input=Input(text="hi"))
        with pytest.raises(
            grpc.RpcError
        ) as refused:  # globex spent its 3 in the test above, or spends them now
            for _ in range(4):
                stub.Create(req, metadata=metadata)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    trailers = dict(refused.value.trailing_metadata() or ())  # type: ignore[attr-defined]
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    retry = error_details_pb2.RetryInfo()
    info = error_details_pb2.ErrorInfo()
    for detail in status.details:
        if detail.Is(retry.DESCRIPTOR):
            detail.Unpack(retry)
        elif detail.Is(info.DESCRIPTOR):
            detail.Unpack(info)
    assert retry.retry_delay.seconds >= 1
    assert info.reason == "RATE_LIMIT_EXCEEDED"
    assert info.metadata["x-ratelimit-limit-requests"] == "3"


def test_concurrent_requests(limited: ServiceProcess, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text=["slow ", "answer"], first_byte_delay_s=1.5))
    first: list[int] = []
    runner = threading.Thread(target=lambda: first.append(_post(limited, ACME).status_code))
    runner.start()
    while not upstream.requests:  # the first is at the upstream now
        threading.Event().wait(0.02)
    refused = _post(limited, ACME)
    runner.join()
    assert first == [200]
    assert refused.status_code == 429
    assert refused.json()["error"]["message"].startswith(
        "Too many concurrent requests: limit 1, in flight 1."
    )
    assert _post(limited, ACME).status_code == 200  # the slot came back when the first ended


def test_tokens_per_minute_count_what_the_upstream_reported(
    limited: ServiceProcess, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text="ok", usage=(20, 10, 0, 0)), Script(text="ok", usage=(20, 10, 0, 0)))
    first = _post(limited, INITECH)
    assert first.status_code == 200 and first.headers["x-ratelimit-remaining-tokens"] == "50"
    second = _post(limited, INITECH)  # 30 of 50 used: still under the limit
    assert second.status_code == 200 and second.headers["x-ratelimit-remaining-tokens"] == "20"
    third = _post(limited, INITECH)  # 60 of 50 used
    assert third.status_code == 429
    assert third.json()["error"]["type"] == "tokens"
    assert third.headers["x-ratelimit-remaining-tokens"] == "0"


def test_replicas_sharing_postgresql_share_one_quota(
    tmp_path: Path, postgres_dsn: str, e2e_upstream: ScriptedUpstream
) -> None:
    extra = "[rate_limits]\nrequests_per_minute = 4\n"
    replicas = [
        ServiceProcess(
            data_dir=tmp_path / name,
            extra_args=[*_config(tmp_path / f"{name}.toml", e2e_upstream, extra), "--store", postgres_dsn],
            api_key=ACME,
        )
        for name in ("a", "b")
    ]
    for replica in replicas:
        replica.data_dir.mkdir()
        replica.start()
    try:
        assert "rate limits shared by every replica of this PostgreSQL store" in replicas[0].log()
        statuses = [_post(replicas[n % 2], GLOBEX).status_code for n in range(4)]
        assert statuses == [200, 200, 200, 200]
        assert _post(replicas[0], GLOBEX).status_code == 429  # 2 + 2 of one quota of 4, not 4 each
        assert _post(replicas[1], GLOBEX).status_code == 429
    finally:
        for replica in replicas:
            assert replica.stop() == 0, replica.log()


def test_workers_on_one_sqlite_file_share_one_quota(tmp_path: Path, e2e_upstream: ScriptedUpstream) -> None:
    extra = "[rate_limits]\nrequests_per_minute = 4\n"
    service = ServiceProcess(
        data_dir=tmp_path / "data",
        extra_args=_config(tmp_path / "workers.toml", e2e_upstream, extra),
        api_key=ACME,
        workers=2,
    )
    service.data_dir.mkdir()
    service.start()
    try:
        assert "rate limits shared by every worker on this SQLite database" in service.log()
        req = pb.CreateRequest(model="scripted/m", input=Input(text="hi"))
        metadata = [("authorization", f"Bearer {GLOBEX}")]
        codes: list[grpc.StatusCode] = []
        for n in range(6):  # each worker on its own gRPC port, in turn
            with grpc.insecure_channel(service.workers_announced()[1][n % 2]) as channel:
                try:
                    pb_grpc.ResponsesServiceStub(channel).Create(req, metadata=metadata)
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as err:
                    codes.append(err.code())  # type: ignore[attr-defined]
        # 2 + 2 of one quota of 4, not 4 each
        assert codes == [grpc.StatusCode.OK] * 4 + [grpc.StatusCode.RESOURCE_EXHAUSTED] * 2
        assert _post(service, GLOBEX).status_code == 429  # through Envoy, whichever worker takes it
    finally:
        assert service.stop() == 0, service.log()
