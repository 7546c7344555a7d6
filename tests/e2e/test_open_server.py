"""No open server beyond loopback, ever; the announcement says how callers are let in; a 401 never
tells the length of the key it got (REST through Envoy with the `openai` SDK, and typed gRPC)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import openai
import pytest

from rejoinder.api.auth import hash_key
from rejoinder.edge.ports import free_port
from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1 import responses_service_pb2_grpc as pb_grpc
from rejoinder.responses.v1.items_pb2 import Input as Input_pb
from rejoinder_client.rejoinder.responses.v1 import CreateRequest, Input, ResponsesServiceStub
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import ScriptedUpstream

KEY = "sk-only-key-of-acme-0001"
BLANK_KEY_HASH = hash_key("")


def _serve(config: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`rejoinder serve` that is expected to refuse to start (killed after 20 s if it does start)."""
    args = [sys.executable, "-m", "rejoinder", "serve", "--config", str(config), *flags]
    args += ["--http-port", str(free_port()), "--grpc-port", str(free_port())]
    args += ["--data-dir", str(config.parent / "data")]
    return subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)


def _nothing_listens(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize(
    "tenants",
    [
        "acme = []",  # the hole this test was written for: an empty list passed the guard
        'acme = [""]',
        'acme = ["   "]',
        'acme = ["sha256:abc"]',
        f'acme = [" {hash_key(KEY)}"]',  # blanks around a hash
        f'acme = ["{hash_key(KEY).upper()}"]',
        f'acme = ["{BLANK_KEY_HASH}"]',  # the hash of an empty key: no caller can present it
        f'acme = ["{hash_key(KEY)}"]\nglobex = ["{hash_key(KEY)}"]',  # one key, two tenants
        "acme = 3",
    ],
)
@pytest.mark.parametrize("exposed", ["--http-host", "--grpc-host"])
def test_an_exposed_server_without_a_usable_key_refuses_to_start(
    tmp_path: Path, tenants: str, exposed: str
) -> None:
    config = tmp_path / "rejoinder.toml"
    config.write_text(f"[auth.tenants]\n{tenants}\n")
    http_port = free_port()
    done = _serve(config, exposed, "0.0.0.0", "--http-port", str(http_port))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "auth tenant" in done.stderr or "needs API keys" in done.stderr, done.stderr
    assert "rejoinder: ready" not in done.stdout
    assert _nothing_listens(http_port)


def test_an_exposed_server_with_no_auth_section_refuses_to_start(tmp_path: Path) -> None:
    config = tmp_path / "rejoinder.toml"
    config.write_text('[server]\nhttp_host = "0.0.0.0"\n')
    done = _serve(config)
    assert done.returncode == 2
    assert "listening on 0.0.0.0 needs API keys" in done.stderr


@pytest.fixture(scope="module")
def keyed(
    tmp_path_factory: pytest.TempPathFactory, e2e_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    data = tmp_path_factory.mktemp("keyed")
    config = data / "rejoinder.toml"
    config.write_text(
        f'[providers.scripted]\nbase_url = "{e2e_upstream.base_url}"\n\n'
        f'[auth.tenants]\nacme = ["{hash_key(KEY)}", "{hash_key(KEY + "-next")}"]\n'
        f'globex = ["{hash_key("sk-globex-0002")}"]\n'
    )
    proc = ServiceProcess(data_dir=data, extra_args=["--config", str(config)], api_key=KEY).start()
    yield proc
    assert proc.stop() == 0, proc.log()


def test_the_announcement_says_keys_are_required(keyed: ServiceProcess, service: ServiceProcess) -> None:
    assert "rejoinder: API keys required: 2 tenants, 3 keys" in keyed.log()
    assert "rejoinder: no API keys: open to any caller, so listening on loopback only" in service.log()


WRONG_KEYS = ["x", "sk-12345", "sk-1234567890", "sk-" + "a" * 60 + "wxyz", "sk-" + "a" * 20 + "wxyz"]


def _rest_401(keyed: ServiceProcess, key: str) -> str:
    sdk = openai.OpenAI(base_url=keyed.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        sdk.responses.create(model="scripted/m", input="hi")
    assert refused.value.code == "invalid_api_key"
    body = refused.value.body
    assert isinstance(body, dict)
    return str(body["message"])


def _grpc_401(keyed: ServiceProcess, key: str) -> str:
    with grpc.insecure_channel(keyed.grpc_target) as channel:
        stub = pb_grpc.ResponsesServiceStub(channel)  # protoc's stub takes per-call metadata
        with pytest.raises(grpc.RpcError) as refused:
            stub.Create(
                pb.CreateRequest(model="scripted/m", input=Input_pb(text="hi")),
                metadata=[("authorization", f"Bearer {key}")],
            )
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    return str(refused.value.details())


@pytest.mark.parametrize("refusal", [_rest_401, _grpc_401], ids=["rest", "grpc"])
def test_a_401_never_tells_the_length_of_the_key(
    keyed: ServiceProcess, refusal: Callable[[ServiceProcess, str], str]
) -> None:
    messages = {key: refusal(keyed, key) for key in WRONG_KEYS}
    short = {messages[k] for k in ("x", "sk-12345", "sk-1234567890")}
    assert short == {"Incorrect API key provided: ****."}  # short keys: nothing of them, whatever the length
    long_ones = {messages["sk-" + "a" * 60 + "wxyz"], messages["sk-" + "a" * 20 + "wxyz"]}
    assert long_ones == {"Incorrect API key provided: sk-****wxyz."}  # 64 and 24 characters read the same
    for message in messages.values():
        assert "a" * 8 not in message


def test_no_call_gets_in_without_a_key(keyed: ServiceProcess) -> None:
    assert (
        httpx.post(f"{keyed.base_url}/responses", json={"model": "scripted/m", "input": "hi"}).status_code
        == 401
    )
    assert httpx.get(f"{keyed.base_url}/models").status_code == 401
    with grpc.insecure_channel(keyed.grpc_target) as channel, pytest.raises(grpc.RpcError) as refused:
        ResponsesServiceStub(channel).create(CreateRequest(model="scripted/m", input=Input(text="hi")))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
