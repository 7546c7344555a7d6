"""The fuzz suite's own `rejoinder serve` (real Envoy), scripted upstream, clients and known ids.

Model names route to the scripted upstream, which never fails (an empty script queue answers
"You said: ..."), so any 5xx is the service's bug. MCP servers are allowed only on 127.0.0.1, with
one-second timeouts, and every URL a case carries points at a closed port there: no case waits on
the network.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from rejoinder.edge.ports import free_port
from tests.e2e.service_process import ServiceProcess
from tests.fuzz.checks import CALL_LIMIT_S, EXAMPLES, SEED, SURVEY
from tests.fuzz.harness import ServiceWatch
from tests.fuzz.shapes import Env, Shapes
from tests.scripted_upstream import ScriptedUpstream

MAX_RSS_MB = float(os.environ.get("REJOINDER_FUZZ_MAX_RSS_MB", "2048"))
MODELS = ("m", "gpt-test", "reasoner", "scripted/scripted-model")
DENIED_URL = "http://blocked.test/mcp"


def pytest_report_header(config: pytest.Config) -> str:
    mode = " (survey: findings recorded, not raised)" if SURVEY else ""
    return f"fuzz: {EXAMPLES} examples per test, seed {SEED} (REJOINDER_FUZZ_SEED={SEED} repeats it){mode}"


def _config(path: Path, upstream: ScriptedUpstream) -> Path:
    lines = [
        f'[providers.scripted]\nbase_url = "{upstream.base_url}"\ntimeout_s = 10\n',
        f'[providers.reasoner]\ntype = "vllm"\nbase_url = "{upstream.base_url}"\ntimeout_s = 10\n',
        *(f'[models."{m}"]\nprovider = "scripted"\nmodel = "scripted-model"\n' for m in MODELS[:2]),
        '[models."reasoner"]\nprovider = "reasoner"\nmodel = "scripted-model"\n',
        "[mcp]\nconnect_timeout_s = 1\ncall_timeout_s = 1\nlist_timeout_s = 1\n"
        'allow_hosts = ["127.0.0.1"]\ndeny_hosts = ["blocked.test"]\n',
    ]
    path.write_text("\n".join(lines))
    return path


@pytest.fixture(scope="session")
def fuzz_upstream() -> Iterator[ScriptedUpstream]:
    upstream = ScriptedUpstream().start()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="session")
def fuzz_service(
    tmp_path_factory: pytest.TempPathFactory, fuzz_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    """`rejoinder serve` with Envoy, for the whole fuzz session."""
    data = tmp_path_factory.mktemp("fuzz-service")
    config = _config(data / "rejoinder.toml", fuzz_upstream)
    proc = ServiceProcess(data_dir=data, extra_args=["--config", str(config)]).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def watch(fuzz_service: ServiceProcess) -> Iterator[ServiceWatch]:
    """Checked after every case: the service is alive, within MAX_RSS_MB, and logged no traceback."""
    watcher = ServiceWatch(fuzz_service, MAX_RSS_MB)
    yield watcher
    watcher.close()


@pytest.fixture(scope="session")
def rest(fuzz_service: ServiceProcess) -> Iterator[httpx.Client]:
    """Raw HTTP through Envoy (the base URL ends in /v1)."""
    origin = fuzz_service.base_url.removesuffix("/v1")
    with httpx.Client(base_url=origin, timeout=CALL_LIMIT_S) as client:
        yield client


@pytest.fixture(scope="session")
def channels(fuzz_service: ServiceProcess) -> Iterator[dict[str, grpc.Channel]]:
    """gRPC to the service directly and through Envoy's listener."""
    direct = grpc.insecure_channel(fuzz_service.grpc_target)
    envoy = grpc.insecure_channel(fuzz_service.envoy_target)
    yield {"direct": direct, "envoy": envoy}
    direct.close()
    envoy.close()


def _known_ids(client: httpx.Client) -> tuple[str, ...]:
    """Ids that exist: a stored response and its input item, a background one, a conversation and its item."""
    ids: list[str] = []
    stored = client.post("/v1/responses", json={"model": "m", "input": "hello"}).json()
    ids.append(stored["id"])
    items = client.get(f"/v1/responses/{stored['id']}/input_items").json()
    ids += [item["id"] for item in items["data"]]
    ids += [item["id"] for item in stored["output"]]
    background = client.post("/v1/responses", json={"model": "m", "input": "hi", "background": True}).json()
    ids.append(background["id"])
    conversation = client.post(
        "/v1/conversations", json={"items": [{"role": "user", "content": "hi"}], "metadata": {"a": "b"}}
    ).json()
    ids.append(conversation["id"])
    listed = client.get(f"/v1/conversations/{conversation['id']}/items").json()
    ids += [item["id"] for item in listed["data"]]
    return tuple(ids)


@pytest.fixture(scope="session")
def env(rest: httpx.Client) -> Env:
    closed = f"http://127.0.0.1:{free_port()}/"
    return Env(models=MODELS, closed_url=closed, denied_url=DENIED_URL, ids=_known_ids(rest))


@pytest.fixture(scope="session")
def shapes(env: Env) -> Shapes:
    return Shapes(env)
