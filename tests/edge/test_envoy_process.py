"""EnvoyProcess and the port helpers: start, readiness, stop, unexpected exits, no orphans."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from importlib import resources
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health, health_pb2_grpc

from rejoinder.edge.envoy_config import EnvoySettings
from rejoinder.edge.envoy_process import (
    EnvoyError,
    EnvoyExitedError,
    EnvoyProcess,
    EnvoyProcessOptions,
    envoy_binary,
)
from rejoinder.edge.ports import free_port, port_is_free

DESCRIPTOR = Path(str(resources.files("rejoinder.edge") / "rejoinder.binpb"))
HOST = "127.0.0.1"

# Starts Envoy, prints its pid, then waits to be killed.
LAUNCHER = """\
import asyncio, sys
from pathlib import Path
from rejoinder.edge.envoy_config import EnvoySettings
from rejoinder.edge.envoy_process import EnvoyProcess

async def main() -> None:
    port, upstream, descriptor, run_dir = sys.argv[1:5]
    settings = EnvoySettings("127.0.0.1", int(port), (("127.0.0.1", int(upstream)),), Path(descriptor))
    envoy = EnvoyProcess(settings, Path(run_dir))
    await envoy.start()
    print(envoy.pid, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def _settings(upstream_port: int, descriptor: Path = DESCRIPTOR) -> EnvoySettings:
    """No admin endpoint: readiness is then a TCP connect to the listener."""
    return EnvoySettings(HOST, free_port(HOST), ((HOST, upstream_port),), descriptor)


def _alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def _gone(pid: int, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if not _alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


def test_envoy_binary_comes_from_the_wheel() -> None:
    binary = envoy_binary()
    assert binary.name == "envoy" and binary.parent.name == "_bin"
    assert os.access(binary, os.X_OK)


async def test_port_is_free_sees_a_reuseport_grpc_server() -> None:
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = free_port(HOST)
    assert port_is_free(HOST, port)
    server.add_insecure_port(f"{HOST}:{port}")
    await server.start()
    try:
        assert not port_is_free(HOST, port)
    finally:
        await server.stop(None)
    assert port_is_free(HOST, port)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
async def test_stop_terminates_the_child(tmp_path: Path) -> None:
    envoy = EnvoyProcess(_settings(free_port(HOST)), tmp_path)
    await envoy.start()
    pid = envoy.pid
    assert pid is not None and _alive(pid) and envoy.running
    assert (tmp_path / "envoy.json").is_file()
    await envoy.stop()
    assert not _alive(pid) and not envoy.running
    assert await envoy.wait() == 0  # a requested stop is no error


async def test_unexpected_exit_is_reported(tmp_path: Path) -> None:
    exits: list[int] = []
    envoy = EnvoyProcess(_settings(free_port(HOST)), tmp_path, on_exit=exits.append)
    async with envoy:
        assert envoy.pid is not None
        os.kill(envoy.pid, signal.SIGKILL)
        with pytest.raises(EnvoyExitedError) as raised:
            await asyncio.wait_for(envoy.wait(), 5.0)
    assert raised.value.returncode == -signal.SIGKILL
    assert exits == [-signal.SIGKILL]


async def test_start_failure_carries_the_envoy_log(tmp_path: Path) -> None:
    envoy = EnvoyProcess(_settings(free_port(HOST), tmp_path / "missing.binpb"), tmp_path)
    with pytest.raises(EnvoyError, match="during start-up") as raised:
        await envoy.start()
    assert "missing.binpb" in raised.value.log_tail
    assert not envoy.running


async def test_start_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        squatter.bind((HOST, 0))
        squatter.listen()
        settings = EnvoySettings(HOST, squatter.getsockname()[1], ((HOST, free_port(HOST)),), DESCRIPTOR)
        with pytest.raises(EnvoyError, match="already in use"):
            await EnvoyProcess(settings, tmp_path).start()


async def test_dead_upstream_is_an_openai_503(tmp_path: Path) -> None:
    settings = _settings(free_port(HOST))
    options = EnvoyProcessOptions(ready_timeout_s=10.0, stop_grace_s=2.0)
    async with (
        EnvoyProcess(settings, tmp_path, options),
        httpx.AsyncClient(trust_env=False, timeout=10) as http,
    ):
        response = await http.post(f"http://{HOST}:{settings.http_port}/v1/responses", json={"model": "m"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "server_error" and error["param"] is None and error["code"] is None
    assert response.headers["x-request-id"]


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux-only")
async def test_a_killed_launcher_leaves_no_orphan(tmp_path: Path) -> None:
    argv = [str(free_port(HOST)), str(free_port(HOST)), str(DESCRIPTOR), str(tmp_path)]
    launcher = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LAUNCHER, *argv, stdout=asyncio.subprocess.PIPE
    )
    try:
        line = await asyncio.wait_for(launcher.stdout.readline(), 20.0)  # type: ignore[union-attr]
        envoy_pid = int(line)
        assert _alive(envoy_pid)
    finally:
        launcher.kill()
        await launcher.wait()
    assert await _gone(envoy_pid)
