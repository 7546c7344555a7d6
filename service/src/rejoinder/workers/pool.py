"""The supervisor's side of `serve --workers N`: start the workers, watch them, restart one that dies,
and stop them all (each drains) at the end.

Workers are `spawn`ed (a fresh interpreter each: nothing of the supervisor's event loop or gRPC is forked).
Worker 0 starts first and alone: it creates or migrates the store, ends the runs its identity left
unfinished, and loads the local model; the others start together once it serves. Each worker keeps its
identity (`replica_id`) and its own port across restarts, so a restarted worker fails at once the
background runs it left (as a restarted replica does), and Envoy's static cluster stays right. A worker
that dies is restarted after a pause that doubles on each quick death (up to `MAX_PAUSE_S`).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess

from rejoinder.config import ConfigError, Settings
from rejoinder.workers import child
from rejoinder.workers.spec import LocalModel, Ready, WorkerSpec

READY_TIMEOUT_S = 120.0  # a worker's start: the store, the local model, the upstreams' model lists
FIRST_PAUSE_S = 0.5
MAX_PAUSE_S = 10.0
STEADY_S = 30.0  # a worker that ran this long died unexpectedly, not in a start-up loop
KILL_MARGIN_S = 10.0  # after the drain and the calls' finish: then SIGKILL


def replica_id(base: str, index: int) -> str:
    """Worker 0 is the server's own identity (so `--workers 1` and `N` share it), the others derive."""
    return base if index == 0 else f"{base}-w{index}"


@dataclass
class _Worker:
    spec: WorkerSpec
    process: SpawnProcess
    started: float
    ready: Ready | None = None


class WorkerPool:
    """N workers of one server; `start`, then `watch` until `stop`."""

    def __init__(
        self,
        settings: Settings,
        base_id: str,
        shared_port: int,
        local_token: str,
        on_exit: Callable[[int, int, int | None], None] | None = None,
    ) -> None:
        """`on_exit(index, pid, exit code)` is told of each worker that ends (for metrics files)."""
        self._settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._specs = [
            WorkerSpec(i, replica_id(base_id, i), 0, shared_port, LocalModel(local_token, serves=i == 0))
            for i in range(settings.workers)
        ]
        self._workers: dict[int, _Worker] = {}
        self._stopping = False
        self._on_exit = on_exit
        self._watchers: list[asyncio.Task[None]] = []
        self.restarts = 0

    @property
    def ports(self) -> tuple[int, ...]:
        """Each worker's own gRPC port, in order (once started)."""
        return tuple(w.spec.port for w in sorted(self._workers.values(), key=lambda w: w.spec.index))

    @property
    def pids(self) -> tuple[int, ...]:
        """The running workers' pids."""
        return tuple(w.process.pid for w in self._workers.values() if w.process.pid is not None)

    async def start(self) -> Ready:
        """Start every worker; returns worker 0's answer. Raises `ConfigError` if one cannot start."""
        first = await self._launch(self._specs[0])
        url = None
        if first.local_port is not None:
            url = f"http://127.0.0.1:{first.local_port}/v1"
            self._specs[0] = replace(
                self._specs[0], local=replace(self._specs[0].local, port=first.local_port)
            )
        for i in range(1, len(self._specs)):
            self._specs[i] = replace(self._specs[i], local=replace(self._specs[i].local, url=url))
        try:
            await asyncio.gather(*(self._launch(spec) for spec in self._specs[1:]))
        except BaseException:
            await self.stop(0.0)
            raise
        self._watchers = [
            asyncio.create_task(self._watch(i), name=f"worker-{i}-watch") for i in range(len(self._specs))
        ]
        return first

    async def _launch(self, spec: WorkerSpec) -> Ready:
        ours, theirs = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=child.main,
            args=(self._settings, spec, theirs),
            name=f"rejoinder-worker-{spec.index}",
        )
        process.start()
        theirs.close()
        worker = _Worker(spec, process, time.monotonic())
        self._workers[spec.index] = worker
        try:
            ready = await asyncio.to_thread(_answer, ours, process, READY_TIMEOUT_S)
        finally:
            ours.close()
        if ready is None:
            process.join(1.0)
            code = process.exitcode
            if code is None:
                process.kill()
            raise ConfigError(f"worker {spec.index} did not start (exit status {code}; its reason is above)")
        worker.ready = ready
        worker.spec = self._specs[spec.index] = replace(spec, port=ready.port)
        return ready

    async def _watch(self, index: int) -> None:
        """Restart worker `index` whenever it dies, until `stop`."""
        pause = FIRST_PAUSE_S
        while not self._stopping:
            worker = self._workers[index]
            await _exited(worker.process)
            code = worker.process.exitcode
            if self._on_exit is not None and worker.process.pid is not None:
                self._on_exit(index, worker.process.pid, code)
            if self._stopping:
                return
            ran = time.monotonic() - worker.started
            pause = FIRST_PAUSE_S if ran > STEADY_S else min(pause * 2, MAX_PAUSE_S)
            print(
                f"rejoinder: worker {index} (pid {worker.process.pid}) exited with status {code}; "
                f"restarting it in {pause:g} s",
                flush=True,
            )
            await asyncio.sleep(pause)
            if self._stopping:
                return
            try:
                ready = await self._launch(self._specs[index])
            except ConfigError as exc:
                print(f"rejoinder: {exc}", flush=True)
                continue
            self.restarts += 1
            print(f"rejoinder: worker {index} serves again (pid {ready.pid})", flush=True)

    async def stop(self, grace_s: float) -> None:
        """SIGTERM every worker (each drains: `grace_s` is its drain and finish time), SIGKILL those that
        have not ended `KILL_MARGIN_S` after it, and wait for all."""
        self._stopping = True
        for task in self._watchers:
            task.cancel()
        alive = [w.process for w in self._workers.values() if w.process.is_alive()]
        for process in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid or 0, signal.SIGTERM)
        deadline = time.monotonic() + grace_s + KILL_MARGIN_S
        for process in alive:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_exited(process), max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                print(f"rejoinder: worker pid {process.pid} did not stop; killing it", flush=True)
                process.kill()
                await _exited(process)
        for worker in self._workers.values():
            if self._on_exit is not None and worker.process.pid is not None:
                self._on_exit(worker.spec.index, worker.process.pid, worker.process.exitcode)


def _answer(conn: Connection, process: SpawnProcess, timeout_s: float) -> Ready | None:
    """The worker's `Ready`, or None if it died or said nothing within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if conn.poll(0.2):
            try:
                message = conn.recv()
            except EOFError:
                return None
            return message if isinstance(message, Ready) else None
        if not process.is_alive():
            return None
    return None


async def _exited(process: SpawnProcess) -> None:
    """Until `process` has ended (its sentinel becomes readable), then reap it."""
    if process.is_alive():
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def _ended() -> None:
            if not done.done():
                done.set_result(None)

        loop.add_reader(process.sentinel, _ended)
        try:
            await done
        finally:
            loop.remove_reader(process.sentinel)
    process.join()
