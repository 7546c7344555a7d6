"""Health for load balancers and Kubernetes: `GET /healthz` (liveness) and `GET /readyz` (readiness)
through Envoy, consistent with `grpc.health.v1` on the gRPC port; readiness follows the store and goes
away for good while the server drains. Envoy's access log, in the data directory, joins the service's
access lines by `x-request-id`."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import grpc
import httpx
import openai
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.service_process import ServiceProcess
from tests.postgres_server import PostgresServer, create_database
from tests.scripted_upstream import Script, ScriptedUpstream

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
SERVICES = ("", "rejoinder.responses.v1.ResponsesService", "rejoinder.responses.v1.ConversationsService")
T = TypeVar("T")


def _until(probe: Callable[[], T], wanted: T, timeout_s: float = 15) -> T:
    """Probe until it answers `wanted` (returns the last answer either way)."""
    deadline = time.monotonic() + timeout_s
    found = probe()
    while found != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
        found = probe()
    return found


def _route(service: ServiceProcess, path: str) -> tuple[int, str]:
    reply = httpx.get(f"http://127.0.0.1:{service.http_port}{path}", timeout=5)
    return reply.status_code, reply.text


def _grpc_health(service: ServiceProcess) -> tuple[int, ...]:
    with grpc.insecure_channel(service.grpc_target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            return tuple(
                stub.Check(health_pb2.HealthCheckRequest(service=s), timeout=2).status for s in SERVICES
            )
        except grpc.RpcError as err:
            return (-int(err.code().value[0]),)  # the server takes no calls at all any more


def _ready(service: ServiceProcess) -> tuple[tuple[int, str], tuple[int, ...]]:
    return _route(service, "/readyz"), _grpc_health(service)


def test_liveness_and_readiness_while_serving_and_while_draining(
    tmp_path: Path, e2e_upstream: ScriptedUpstream
) -> None:
    e2e_upstream.reset()
    service = ServiceProcess(
        data_dir=tmp_path / "data", extra_args=["--upstream", e2e_upstream.base_url], drain_s=4
    ).start()
    assert _route(service, "/healthz") == (200, "ok\n")
    assert _ready(service) == ((200, "ok\n"), (SERVING,) * len(SERVICES))
    assert _route(service, "/readyz?verbose=1")[0] == 404  # exactly the two paths; the rest is the API's

    e2e_upstream.enqueue(Script(text=[f"w{i} " for i in range(60)], delay_s=0.1))  # 6 s: outlives the drain
    client = openai.OpenAI(base_url=service.base_url, api_key="x", max_retries=0)
    told: list[str] = []

    def read() -> None:
        try:
            with client.responses.create(model="m", input="long", stream=True) as stream:
                list(stream)
        except openai.APIError as err:  # the SDK raises the stream's `error` event
            told.append(err.message)

    reader = threading.Thread(target=read)
    reader.start()
    assert _until(lambda: len(e2e_upstream.requests), 1) == 1
    assert service.proc is not None
    service.proc.send_signal(signal.SIGTERM)
    # draining: not ready (Envoy's check and the gRPC port agree), still alive
    assert _until(lambda: _route(service, "/readyz"), (503, "unavailable\n")) == (503, "unavailable\n")
    assert _grpc_health(service)[0] in (NOT_SERVING, -grpc.StatusCode.UNAVAILABLE.value[0])
    assert _route(service, "/healthz") == (200, "ok\n")
    reader.join(timeout=30)
    assert len(told) == 1 and told[0].startswith("The server shut down")  # in band, when the drain ran out
    assert service.proc.wait(timeout=30) == 0


@pytest.fixture
def own_postgres() -> Iterator[tuple[PostgresServer, str]]:
    """A PostgreSQL server of this test's own, which it stops and starts again."""
    server = PostgresServer()
    admin = server.start()
    try:
        yield server, asyncio.run(create_database(admin))
    finally:
        server.stop()


def test_readiness_follows_the_store(
    tmp_path: Path, e2e_upstream: ScriptedUpstream, own_postgres: tuple[PostgresServer, str]
) -> None:
    server, dsn = own_postgres
    service = ServiceProcess(
        data_dir=tmp_path / "data", extra_args=["--upstream", e2e_upstream.base_url, "--store", dsn]
    ).start()
    try:
        assert _ready(service) == ((200, "ok\n"), (SERVING,) * len(SERVICES))
        server.halt()
        down = ((503, "unavailable\n"), (NOT_SERVING,) * len(SERVICES))
        assert _until(lambda: _ready(service), down) == down
        assert _route(service, "/healthz") == (200, "ok\n")  # alive: a restart would not bring the store back
        assert "the store does not answer" in service.log()
        server.resume()
        up = ((200, "ok\n"), (SERVING,) * len(SERVICES))
        assert _until(lambda: _ready(service), up) == up
        assert "the store answers again: health SERVING" in service.log()
        e2e_upstream.reset()
        client = openai.OpenAI(base_url=service.base_url, api_key="x", max_retries=0)
        assert client.responses.create(model="m", input="back?").status == "completed"  # and it serves
    finally:
        assert service.stop() == 0, service.log()


def test_envoy_access_lines_join_the_service_lines_by_request_id(
    tmp_path: Path, e2e_upstream: ScriptedUpstream
) -> None:
    e2e_upstream.reset()
    data = tmp_path / "data"
    service = ServiceProcess(data_dir=data, extra_args=["--upstream", e2e_upstream.base_url]).start()
    try:
        created = httpx.post(
            f"{service.base_url}/responses", json={"model": "m", "input": "secret words"}, timeout=10
        )
        assert created.status_code == 200
        request_id = created.headers["x-request-id"]  # Envoy made it: the client sent none
        missing = httpx.get(f"{service.base_url}/responses/resp_nope", headers={"x-request-id": "mine-1"})
        assert missing.status_code == 404 and missing.headers["x-request-id"] == "mine-1"
        assert _route(service, "/healthz")[0] == 200  # left out of the access log

        access = data / "envoy" / "access.log"
        wanted = {request_id, "mine-1"}

        def envoy_lines() -> dict[str, dict[str, object]]:
            lines = [json.loads(line) for line in access.read_text().splitlines()]
            return {str(line["request_id"]): line for line in lines if line["request_id"] in wanted}

        assert set(_until(lambda: set(envoy_lines()), wanted)) == wanted  # written within a second
        lines = envoy_lines()
        post, get = lines[request_id], lines["mine-1"]
        assert (post["method"], post["path"], post["status"], post["grpc_status"]) == (
            "POST",
            "/v1/responses",
            200,
            "OK",
        )
        assert (get["method"], get["path"], get["status"]) == ("GET", "/v1/responses/resp_nope", 404)
        assert all(
            line["path"] not in ("/healthz", "/readyz")
            for line in map(json.loads, access.read_text().splitlines())
        )
        assert oct(access.stat().st_mode & 0o777) == "0o600"  # the data directory's files are the owner's
        log = service.log()
        assert re.search(rf"rest CreateResponse 200 request_id={re.escape(request_id)} ", log)
        assert re.search(r"rest GetResponse 404 request_id=mine-1 ", log)
        assert "secret words" not in log and "secret words" not in access.read_text()
    finally:
        assert service.stop() == 0, service.log()
