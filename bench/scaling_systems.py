"""The systems `--scaling` compares, started and described alike: Rejoinder with N workers (its own
Envoy balancing the workers' own ports, the default), Rejoinder's workers behind an Envoy of ours on
the one shared `SO_REUSEPORT` port, and LiteLLM's proxy with N workers.

Each is *launched* first (all of them at once, so their start-ups overlap) and *awaited* after; a
`System` says where it listens and which processes are its own: its tree roots (everything under them
is its CPU), its workers and its Envoy (for the per-worker split and Envoy's share).
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import litellm_proxy
from bench.procs import LOOPBACK, BenchError, Child, free_port, start_child
from bench.proctree import comm, parents, tree
from rejoinder.edge.envoy_process import ACCESS_LOG_FLUSH_MS, envoy_binary
from rejoinder.launcher import READY_LINE

START_TIMEOUT_S = 120.0
WORKERS_LINE = re.compile(r"(\d+) workers \(pids ([\d, ]+); own gRPC ports ([\d, ]+)\)")


@dataclass
class System:
    """One system under test, running."""

    key: str
    label: str
    kind: str  # "rejoinder" or "litellm"
    workers: int
    http_port: int
    grpc_port: int | None
    roots: tuple[int, ...]
    worker_pids: tuple[int, ...] = ()
    envoy_pids: tuple[int, ...] = ()
    listen_ports: tuple[int, ...] = ()  # where its HTTP front (Envoy, uvicorn) connects to / accepts
    external_store: bool = False  # a PostgreSQL server of the bench holds its responses
    auth_header: str = ""
    children: list[Child] = field(default_factory=list)
    notes: dict[str, object] = field(default_factory=dict)

    def processes(self) -> dict[int, str]:
        """Every process of the system now, pid -> role."""
        found = tree(self.roots, parents())
        roles = {pid: f"worker {n}" for n, pid in enumerate(self.worker_pids)}
        roles |= dict.fromkeys(self.envoy_pids, "envoy")
        return {pid: roles.get(pid, "supervisor" if pid in self.roots else comm(pid)) for pid in found}

    def stop(self) -> None:
        for child in self.children:
            child.stop()


@dataclass(frozen=True)
class RejoinderSpec:
    """`rejoinder serve --workers N` (on `store` when given), or its workers with `--no-envoy` behind
    an Envoy of ours pointed at the shared port (`shared_port_envoy`)."""

    key: str
    label: str
    workers: int
    store: str | None = None
    shared_port_envoy: bool = False


@dataclass(frozen=True)
class Launched:
    """A Rejoinder launched, not yet known to be ready."""

    spec: RejoinderSpec
    child: Child
    http_port: int
    grpc_port: int


def launch_rejoinder(spec: RejoinderSpec, upstream_url: str, workdir: Path, cpus: frozenset[int]) -> Launched:
    """Start `python -m rejoinder serve` as a user runs it (metrics on, on a free port)."""
    http_port, grpc_port = free_port(), free_port()
    argv = [sys.executable, "-m", "rejoinder", "serve", "--upstream", upstream_url]
    argv += [
        "--http-port",
        str(http_port),
        "--grpc-port",
        str(grpc_port),
        "--data-dir",
        str(workdir / "data"),
    ]
    argv += ["--metrics-port", "0", "--workers", str(spec.workers)]
    argv += ["--store", spec.store] if spec.store else []
    argv += ["--no-envoy"] if spec.shared_port_envoy else []
    child = start_child(f"rejoinder serve ({spec.label})", argv, workdir / "service.log", cpus)
    return Launched(spec, child, http_port, grpc_port)


def _envoy_children(pid: int) -> tuple[int, ...]:
    parent_of = parents()
    return tuple(p for p, parent in parent_of.items() if parent == pid and comm(p) == "envoy")


def await_rejoinder(launched: Launched, workdir: Path, cpus: frozenset[int]) -> System:
    """Wait for the ready line; read the workers' pids and ports; start our Envoy when asked."""
    spec, child = launched.spec, launched.child
    child.wait_for_line(READY_LINE, START_TIMEOUT_S)
    text = child.log_path.read_text(errors="replace")
    found = WORKERS_LINE.search(text)
    workers = tuple(int(p) for p in found.group(2).split(", ")) if found else (child.pid,)
    own_ports = tuple(int(p) for p in found.group(3).split(", ")) if found else (launched.grpc_port,)
    system = System(
        key=spec.key,
        label=spec.label,
        kind="rejoinder",
        workers=spec.workers,
        http_port=launched.http_port,
        grpc_port=launched.grpc_port,
        roots=(child.pid,),
        worker_pids=workers,
        listen_ports=(launched.grpc_port,) if spec.shared_port_envoy else own_ports,
        external_store=spec.store is not None,
        children=[child],
        notes={"worker_grpc_ports": list(own_ports), "shared_grpc_port": launched.grpc_port},
    )
    if spec.shared_port_envoy:
        envoy = start_shared_envoy(launched.grpc_port, launched.http_port, spec.workers, workdir, cpus)
        system.children.insert(0, envoy)
        system.roots += (envoy.pid,)
        system.envoy_pids = (envoy.pid,)
        system.notes["envoy_replicas"] = [f"{LOOPBACK}:{launched.grpc_port}"]
        system.notes["envoy_workdir"] = str(workdir)
    else:
        system.envoy_pids = _envoy_children(child.pid)
        system.notes["envoy_replicas"] = [f"{LOOPBACK}:{p}" for p in own_ports]
    return system


def start_shared_envoy(
    grpc_port: int, http_port: int, concurrency: int, workdir: Path, cpus: frozenset[int]
) -> Child:
    """`rejoinder envoy-config --replica 127.0.0.1:<shared port>`, then Envoy with the flags
    `rejoinder serve` gives its own (`--concurrency` = the workers)."""
    config = workdir / "envoy-shared.yaml"
    command = [sys.executable, "-m", "rejoinder", "envoy-config", "--replica", f"{LOOPBACK}:{grpc_port}"]
    command += ["--http-port", str(http_port), "--access-log", str(workdir / "envoy-access.log")]
    command += ["--output", str(config)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"rejoinder envoy-config failed: {done.stderr}")
    argv = [
        str(envoy_binary()),
        "-c",
        str(config),
        "--disable-hot-restart",
        "--concurrency",
        str(concurrency),
    ]
    argv += ["--log-level", "warn", "--file-flush-interval-msec", str(ACCESS_LOG_FLUSH_MS)]
    envoy = start_child("envoy (shared port)", argv, workdir / "envoy-shared.log", cpus)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if envoy.proc.poll() is not None:
            raise BenchError(f"our Envoy exited:\n{envoy.log_tail()}")
        try:
            socket.create_connection((LOOPBACK, http_port), timeout=1).close()
        except OSError:
            time.sleep(0.1)
            continue
        return envoy
    raise BenchError(f"our Envoy did not listen within 30 s:\n{envoy.log_tail()}")


@dataclass(frozen=True)
class LiteLLMSpec:
    """LiteLLM's proxy with `--num_workers N`."""

    key: str
    label: str
    workers: int


def launch_litellm(
    spec: LiteLLMSpec,
    executable: Path,
    models: tuple[str, ...],
    upstream_port: int,
    workdir: Path,
    cpus: frozenset[int],
) -> tuple[LiteLLMSpec, litellm_proxy.LiteLLM]:
    """Start the proxy (returns at once)."""
    return spec, litellm_proxy.start(executable, workdir, spec.workers, models, upstream_port, cpus)


def await_litellm(launched: tuple[LiteLLMSpec, litellm_proxy.LiteLLM]) -> System:
    """Wait until every worker has started."""
    spec, proxy = launched
    litellm_proxy.wait_ready(proxy, spec.workers)
    workers = litellm_proxy.worker_pids(proxy)
    return System(
        key=spec.key,
        label=spec.label,
        kind="litellm",
        workers=spec.workers,
        http_port=proxy.port,
        grpc_port=None,
        roots=(proxy.child.pid,),
        worker_pids=workers,
        listen_ports=(proxy.port,),
        auth_header=proxy.auth_header,
        children=[proxy.child],
        notes={"litellm_version": litellm_proxy.LITELLM_VERSION, "argv": proxy.child.proc.args},
    )


def restart_shared_envoy(system: System, cpus: frozenset[int]) -> None:
    """Stop our Envoy in front of the shared port and start a new one (new connections to the workers)."""
    old = system.children.pop(0)
    old.stop()
    assert system.grpc_port is not None
    workdir = Path(str(system.notes["envoy_workdir"]))
    envoy = start_shared_envoy(system.grpc_port, system.http_port, system.workers, workdir, cpus)
    system.children.insert(0, envoy)
    system.roots = (*(pid for pid in system.roots if pid != old.pid), envoy.pid)
    system.envoy_pids = (envoy.pid,)
