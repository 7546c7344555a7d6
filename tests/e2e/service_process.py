"""Runs `rejoinder serve` as a user would: a child process with real Envoy, on free ports (or, with
`envoy=False`, a `--no-envoy` replica that serves gRPC only, for an Envoy of the test's own)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rejoinder.edge.ports import free_port
from rejoinder.launcher import READY_LINE

READY_TIMEOUT_S = 30.0
BIND_ATTEMPTS = 3
PORT_TAKEN = ("Address already in use", "is already in use")
"""How the service (or its Envoy) says a port it was given is taken."""


class PortTaken(RuntimeError):
    """The service exited because a port it was given was taken in the meantime."""


@dataclass
class ServiceProcess:
    """One `rejoinder serve` child; `start()` returns once REST answers through its Envoy, or, with
    `envoy=False` (`--no-envoy`), once its gRPC health check says SERVING."""

    data_dir: Path
    extra_args: list[str] = field(default_factory=list)
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    api_key: str | None = None  # for the readiness probe, when the service has API keys
    drain_s: float = 3.0  # SIGTERM lets running calls finish this long (`stop` waits 15 s in all)
    proc: subprocess.Popen[bytes] | None = None
    envoy: bool = True  # False: `--no-envoy`, gRPC only (`http_port` is then unused)
    metrics_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)  # over the test's own environment
    workers: int = 1  # `--workers N` (the tests run one process unless they ask for more)

    @property
    def base_url(self) -> str:
        """The OpenAI base URL through Envoy."""
        return f"http://127.0.0.1:{self.http_port}/v1"

    @property
    def grpc_target(self) -> str:
        """The gRPC server, direct."""
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        """The service's Prometheus metrics."""
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def envoy_target(self) -> str:
        """The gRPC server through Envoy's listener."""
        return f"127.0.0.1:{self.http_port}"

    def start(self) -> ServiceProcess:
        """Start and wait until the service says it is ready and `GET /v1/models` answers through Envoy.

        The ports are the kernel's picks, made before the start: another socket (any process's outgoing
        connection, which takes an ephemeral port too) may hold one by the time the service binds it.
        Then the service exits saying so, and it is started again on fresh ports (up to
        `BIND_ATTEMPTS` times); any other exit is the test's failure."""
        for attempt in range(1, BIND_ATTEMPTS + 1):
            try:
                return self._start_once()
            except PortTaken:
                if attempt == BIND_ATTEMPTS:
                    raise
                (self.data_dir / "service.log").rename(self.data_dir / f"service.log.{attempt}")
                self.http_port, self.grpc_port, self.metrics_port = free_port(), free_port(), free_port()
        raise AssertionError("unreachable")

    def _start_once(self) -> ServiceProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "service.log", "wb")  # noqa: SIM115 - kept open for the child's life
        args = [
            sys.executable, "-m", "rejoinder", "serve",
            "--http-port", str(self.http_port),
            "--grpc-port", str(self.grpc_port),
            "--data-dir", str(self.data_dir),
            "--drain-s", str(self.drain_s),
            "--metrics-port", str(self.metrics_port),
            *([] if self.envoy else ["--no-envoy"]),
            "--workers", str(self.workers),
            *self.extra_args,
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if any(taken in self.log() for taken in PORT_TAKEN):
                    raise PortTaken(self.log())
                raise RuntimeError(f"rejoinder serve exited: {self.log()}")
            if READY_LINE in self.log() and self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"rejoinder serve did not become ready: {self.log()}")

    def _answers(self) -> bool:
        """REST through Envoy answers `GET /v1/models`; without Envoy, gRPC health says SERVING."""
        if not self.envoy:
            return self.grpc_serving()
        try:
            return httpx.get(f"{self.base_url}/models", headers=self._auth(), timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def grpc_serving(self) -> bool:
        """The gRPC health check (`grpc.health.v1`, the server as a whole) answers SERVING."""
        with grpc.insecure_channel(self.grpc_target) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.RpcError:
                return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def _auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def workers_announced(self) -> tuple[list[int], list[str]]:
        """`--workers N`: each worker's pid and own gRPC address, in worker order, as announced at start
        and after each restart."""
        found = re.search(r"workers \(pids ([\d, ]+); own gRPC ports ([\d, ]+)\)", self.log())
        assert found is not None, self.log()
        pids = [int(p) for p in found.group(1).split(", ")]
        targets = [f"127.0.0.1:{p}" for p in found.group(2).split(", ")]
        for index, pid in re.findall(r"worker (\d+) serves again \(pid (\d+)\)", self.log()):
            pids[int(index)] = int(pid)
        return pids, targets

    def log(self) -> str:
        """What the service printed."""
        return (self.data_dir / "service.log").read_text(errors="replace")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
