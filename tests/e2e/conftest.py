"""End-to-end fixtures: a scripted upstream, `rejoinder serve` with real Envoy, and clients.

Every response any test receives through the `openai` client passes the exactness gate.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from openai import OpenAI

from tests.e2e.exactness import CapturingTransport, check
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import ScriptedUpstream

MODELS = ("m", "gpt-test")


@pytest.fixture(scope="session")
def e2e_upstream() -> Iterator[ScriptedUpstream]:
    """The scripted chat-completions upstream shared by the e2e session."""
    upstream = ScriptedUpstream().start()
    yield upstream
    upstream.stop()


def _config(path: Path, upstream: ScriptedUpstream) -> Path:
    models = "\n".join(f'[models."{m}"]\nprovider = "scripted"\nmodel = "scripted-model"\n' for m in MODELS)
    mcp = "[mcp]\ncall_timeout_s = 1.5\nlist_timeout_s = 5\nconnect_timeout_s = 3\n"
    mcp += 'deny_hosts = ["blocked.test"]\n'
    models += '[providers.reasoner]\ntype = "vllm"\nbase_url = "' + upstream.base_url + '"\n'
    models += '[models."reasoner"]\nprovider = "reasoner"\nmodel = "scripted-model"\n'
    models += '[models."capped"]\nprovider = "scripted"\nmodel = "scripted-model"\nmax_output_tokens = 4096\n'
    models += '[providers.dead]\nbase_url = "http://127.0.0.1:1/v1"\n'  # nothing listens on port 1
    path.write_text(
        f'[providers.scripted]\nbase_url = "{upstream.base_url}"\ntimeout_s = 10\n\n{models}\n{mcp}'
    )
    return path


@pytest.fixture(scope="session")
def service(
    tmp_path_factory: pytest.TempPathFactory, e2e_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    """`rejoinder serve` configured with two model names routed to the scripted upstream."""
    data = tmp_path_factory.mktemp("service")
    config = _config(data / "rejoinder.toml", e2e_upstream)
    proc = ServiceProcess(data_dir=data, extra_args=["--config", str(config)]).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def upstream(e2e_upstream: ScriptedUpstream) -> Iterator[ScriptedUpstream]:
    """The shared upstream, with its script queue and request log cleared for this test."""
    e2e_upstream.reset()
    yield e2e_upstream
    e2e_upstream.reset()


@pytest.fixture
def transport() -> Iterator[CapturingTransport]:
    """Records every response; after the test, each one must pass the exactness gate."""
    capturing = CapturingTransport()
    yield capturing
    for capture in capturing.captures:
        check(capture)


@pytest.fixture
def client(service: ServiceProcess, transport: CapturingTransport) -> Iterator[OpenAI]:
    """The official SDK pointed at Envoy."""
    http = httpx.Client(transport=transport, timeout=30)
    sdk = OpenAI(base_url=service.base_url, api_key="test-key", http_client=http, max_retries=0)
    yield sdk
    http.close()


@pytest.fixture
def http(service: ServiceProcess, transport: CapturingTransport) -> Iterator[httpx.Client]:
    """Raw HTTP through Envoy, for what the SDK cannot send (bad JSON, wrong types)."""
    with httpx.Client(base_url=service.base_url, transport=transport, timeout=30) as c:
        yield c


@pytest.fixture(params=["direct", "via-envoy"])
def channel(request: pytest.FixtureRequest, service: ServiceProcess) -> Iterator[grpc.Channel]:
    """A gRPC channel to the service, directly and through Envoy's listener."""
    target = service.grpc_target if request.param == "direct" else service.envoy_target
    with grpc.insecure_channel(target) as ch:
        yield ch
