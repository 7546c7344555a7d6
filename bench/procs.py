"""The processes under test: the bench upstream and `rejoinder serve` (which runs Envoy), pinned to cores.

Children are started in their own session (so Ctrl-C reaches only the bench, which then stops them in
order) with PR_SET_PDEATHSIG, so even a bench killed with SIGKILL leaves nothing behind. CPU time and
RSS are read from /proc: `utime + stime` of the whole process (every thread, also exited ones).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class BenchError(RuntimeError):
    """Something the bench needs did not start or broke."""


def free_port() -> int:
    """A port nobody listens on right now (the service re-checks that it owns it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _child_setup(cpus: frozenset[int]) -> Callable[[], None]:
    def setup() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return setup


@dataclass
class Child:
    """A started child process and its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_for_line(self, needle: str, timeout_s: float) -> str:
        """Block until the log holds a line containing `needle`; returns it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                for line in self.log_path.read_text(errors="replace").splitlines():
                    if needle in line:
                        return line
            time.sleep(0.05)
        raise BenchError(f"{self.name} did not print {needle!r} within {timeout_s} s:\n{self.log_tail()}")

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `grace_s`; the process group goes too."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def start_child(
    name: str, argv: list[str], log_path: Path, cpus: frozenset[int], env: Mapping[str, str] | None = None
) -> Child:
    """Start `argv` pinned to `cpus`, stdout and stderr into `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_child_setup(cpus),
            env=dict(env) if env is not None else None,
        )
    return Child(name=name, proc=proc, log_path=log_path)


def start_upstream(workdir: Path, cpus: frozenset[int], loop: str) -> tuple[Child, int]:
    """The bench upstream on a free loopback port."""
    argv = [sys.executable, "-m", "bench.upstream", "--port", "0", "--loop", loop]
    child = start_child("bench upstream", argv, workdir / "upstream.log", cpus)
    line = child.wait_for_line("ready ", 15)
    return child, int(line.split()[1])


@dataclass(frozen=True)
class ServicePorts:
    """Where the service listens."""

    http: int
    grpc: int


@dataclass(frozen=True)
class Floor:
    """The running floor server (`bench.floor_server`): where it and its Envoy listen, Envoy's pid."""

    child: Child
    ports: ServicePorts
    envoy_pid: int


def start_floor_server(canned: Path, workdir: Path, cpus: frozenset[int]) -> Floor:
    """The do-nothing server with its Envoy (its child, so pinned alike), replaying `canned`."""
    argv = [sys.executable, "-m", "bench.floor_server", "--canned", str(canned), "--workdir", str(workdir)]
    env = {**os.environ, "GRPC_ENABLE_FORK_SUPPORT": "false"}  # as `rejoinder serve` sets it
    child = start_child("floor server", argv, workdir / "floor.log", cpus, env)
    _, grpc_port, http_port, envoy_pid = child.wait_for_line("ready ", 30).split()
    return Floor(child, ServicePorts(http=int(http_port), grpc=int(grpc_port)), int(envoy_pid))


def start_service(
    upstream_url: str,
    workdir: Path,
    cpus: frozenset[int],
    python_prefix: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> tuple[Child, ServicePorts]:
    """`python -m rejoinder serve` exactly as a user runs it (plus free ports and a fresh data dir)."""
    ports = ServicePorts(http=free_port(), grpc=free_port())
    argv = [sys.executable, *(python_prefix or ["-m", "rejoinder"]), "serve", "--upstream", upstream_url]
    argv += ["--http-port", str(ports.http), "--grpc-port", str(ports.grpc)]
    argv += ["--data-dir", str(workdir / "data"), "--workers", "1"]  # one process on the service core
    child = start_child("rejoinder serve", [*argv, *extra_args], workdir / "service.log", cpus, env)
    child.wait_for_line("OpenAI REST on", 60)
    return child, ports


def service_env(rev: str | None, workdir: Path) -> dict[str, str] | None:
    """The environment that runs the service of `rev` (an export of its `service/src` in `workdir`);
    None for the working tree (the editable install)."""
    if rev is None:
        return None
    src = workdir / "src"
    src.mkdir()
    root = Path(__file__).resolve().parent.parent
    command = ["git", "archive", rev, "service/src"]
    archive = subprocess.run(command, capture_output=True, check=False, cwd=root)
    if archive.returncode != 0:
        raise BenchError(f"git archive {rev}: {archive.stderr.decode(errors='replace')}")
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    return {**os.environ, "PYTHONPATH": str(src / "service" / "src")}


def envoy_pid(service: Child) -> int:
    """The pid of the service's Envoy child (waits up to 5 s for it to start)."""
    for _ in range(50):
        for pid in children_of(service.pid):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "envoy":
                return pid
        time.sleep(0.1)
    raise BenchError("no Envoy child of the service was found")


def children_of(pid: int) -> list[int]:
    """Direct children of `pid` (scans /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                    found.append(int(entry))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the whole process so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size now."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE


def thread_affinity(pid: int) -> list[int]:
    """The union of the CPUs every thread of `pid` may run on."""
    cpus: set[int] = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            cpus |= os.sched_getaffinity(int(tid))
    return sorted(cpus)


def pin(pid: int, cpus: frozenset[int]) -> None:
    """Move every thread of `pid` to `cpus` (threads it starts later inherit their creator's)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(tid), cpus)


def core_seconds() -> dict[int, float]:
    """Per core: user + nice + system seconds of everything that ran there (from /proc/stat)."""
    found = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            found[int(name[3:])] = sum(int(v) for v in values[:3]) / _TICKS
    return found


def machine_busy_pct(seconds: float = 1.0) -> dict[int, float]:
    """Per core: how busy it is right now (everything, ours included), sampled over `seconds`."""
    before = core_seconds()
    time.sleep(seconds)
    after = core_seconds()
    return {n: 100 * (after[n] - before.get(n, 0.0)) / seconds for n in after}


@dataclass
class CpuProbe:
    """CPU seconds of named processes between `start()` and `stop()`, with the wall time, and of
    named cores: what ran there, ours or not (compared with our pinned processes, it shows whether
    something else on the machine was competing)."""

    pids: dict[str, int]
    cores: dict[str, int] = field(default_factory=dict)
    before: dict[str, float] = field(default_factory=dict)
    cores_before: dict[int, float] = field(default_factory=dict)
    wall: float = 0.0

    def start(self) -> None:
        self.before = {name: self._read(pid) for name, pid in self.pids.items()}
        self.cores_before = core_seconds()
        self.wall = time.perf_counter()

    def stop(self) -> dict[str, float]:
        """CPU seconds used per process and per core name since `start()`, plus `wall` seconds."""
        wall = time.perf_counter() - self.wall
        used = {name: self._read(pid) - self.before[name] for name, pid in self.pids.items()}
        now = core_seconds()
        cores = {name: now.get(n, 0.0) - self.cores_before.get(n, 0.0) for name, n in self.cores.items()}
        return {**used, **cores, "wall": wall}

    @staticmethod
    def _read(pid: int) -> float:
        try:
            return cpu_seconds(pid)
        except OSError:
            return 0.0
