"""The Python client's fixtures: one `rejoinder serve` with API keys (real Envoy in front of it) and a
scripted upstream for the session, and a target for each way in: the gRPC port directly, and Envoy's
listener, which passes gRPC through."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rejoinder.api.auth import hash_key
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import ScriptedUpstream

ACME = "sk-acme-client-0001"
GLOBEX = "sk-globex-client-0002"
MODEL = "m"


@pytest.fixture(scope="session")
def client_upstream() -> Iterator[ScriptedUpstream]:
    """The scripted chat-completions upstream behind every service these tests start."""
    upstream = ScriptedUpstream().start()
    yield upstream
    upstream.stop()


@pytest.fixture
def upstream(client_upstream: ScriptedUpstream) -> Iterator[ScriptedUpstream]:
    """The shared upstream, its script queue and request log cleared for this test."""
    client_upstream.reset()
    yield client_upstream
    client_upstream.reset()


def write_config(service: ServiceProcess, upstream: ScriptedUpstream, *, keys: bool) -> None:
    """Model `m` on the scripted upstream; with `keys`, tenants acme and globex, one key each."""
    config = (
        f'[providers.scripted]\nbase_url = "{upstream.base_url}"\ntimeout_s = 10\n\n'
        f'[models."{MODEL}"]\nprovider = "scripted"\nmodel = "scripted-model"\n\n'
    )
    if keys:
        config += f'[auth.tenants]\nacme = ["{hash_key(ACME)}"]\nglobex = ["{hash_key(GLOBEX)}"]\n'
    path = service.data_dir / "rejoinder.toml"
    service.data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(config)
    service.extra_args = ["--config", str(path)]


@pytest.fixture(scope="session")
def keyed_service(
    tmp_path_factory: pytest.TempPathFactory, client_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    """`rejoinder serve` (with Envoy) whose callers need an API key: acme's or globex's."""
    service = ServiceProcess(data_dir=tmp_path_factory.mktemp("client-keyed"), api_key=ACME)
    write_config(service, client_upstream, keys=True)
    service.start()
    yield service
    assert service.stop() == 0, service.log()


@pytest.fixture(params=["direct", "via-envoy"])
def target(request: pytest.FixtureRequest, keyed_service: ServiceProcess) -> str:
    """`host:port` of the keyed service: its gRPC port, or Envoy's listener."""
    return keyed_service.grpc_target if request.param == "direct" else keyed_service.envoy_target
