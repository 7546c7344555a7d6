"""A worker's life: build the service, serve gRPC on its own port and the shared one, tell the supervisor,
and at SIGTERM (or SIGINT) drain as a lone server does. Runs in a process of its own (`spawn`), so nothing
of the supervisor's is shared but the pipe it answers on.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
from dataclasses import asdict, replace
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from rejoinder import logs
from rejoinder.app import GrpcApp, Parts, start_grpc
from rejoinder.collector import freeze_start_up
from rejoinder.config import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_FIRST_TOKEN_TIMEOUT_S,
    DEFAULT_IDLE_TIMEOUT_S,
    ConfigError,
    Settings,
)
from rejoinder.memory import give_back_big_blocks
from rejoinder.providers.base import Provider
from rejoinder.providers.factory import build_provider
from rejoinder.providers.local import CAPABILITIES
from rejoinder.providers.timeouts import UpstreamTimeouts
from rejoinder.ratelimit.factory import describe as describe_limits
from rejoinder.wiring import load_local
from rejoinder.workers.spec import LocalModel, Ready, WorkerSpec

if TYPE_CHECKING:
    from rejoinder.providers.chat_server import ChatServer

LOOPBACK = "127.0.0.1"
PR_SET_PDEATHSIG = 1
CONFIG_EXIT = 2  # the worker cannot start as configured (the message is on stderr)


def main(settings: Settings, spec: WorkerSpec, answer: Connection) -> None:
    """The worker process's entry (multiprocessing `spawn` target)."""
    _die_with_parent()
    give_back_big_blocks()  # as `rejoinder serve` does (rejoinder/memory.py)
    logs.configure(settings.log_level, settings.log_format)
    import uvloop  # after logging: as `rejoinder serve` does

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_serve(settings, spec, answer))
    except ConfigError as exc:
        print(f"rejoinder: worker {spec.index}: {exc}", file=sys.stderr, flush=True)
        sys.exit(CONFIG_EXIT)
    except KeyboardInterrupt:
        pass


def _die_with_parent() -> None:
    """SIGTERM this worker (a drain) when the supervisor dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def remote_local(local: LocalModel) -> Provider | None:
    """The local model as the other workers reach it: chat completions on the owner's loopback port."""
    if local.url is None:
        return None
    capabilities = {k: ("" if v is None else v) for k, v in asdict(CAPABILITIES).items()}
    timeouts = UpstreamTimeouts(
        DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_FIRST_TOKEN_TIMEOUT_S, DEFAULT_IDLE_TIMEOUT_S
    )
    return build_provider("openai-compatible", local.url, local.token, timeouts, capabilities, [])


async def _local(settings: Settings, local: LocalModel) -> tuple[Provider | None, ChatServer | None]:
    if not local.serves:
        return remote_local(local), None
    model = await load_local(settings)
    if model is None:
        return None, None
    from rejoinder.providers.chat_server import start_chat_server  # only where the model is served

    chat = await start_chat_server(model, host=LOOPBACK, port=local.port, token=local.token)
    return model, chat


async def _serve(settings: Settings, spec: WorkerSpec, answer: Connection) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    local, chat = await _local(settings, spec.local)
    try:
        # Its own port is Envoy's alone: on loopback, whatever `grpc_host` the shared port is on.
        own = replace(settings, grpc_host=LOOPBACK, grpc_port=spec.port)
        shared = f"{settings.grpc_host}:{spec.shared_port}"
        app = await start_grpc(own, Parts(local=local), replica_id=spec.replica_id, shared_address=shared)
    except BaseException:
        if chat is not None:
            await chat.close()
        raise
    try:
        models = tuple(app.registry.model_names())
        limits = describe_limits(settings.rate_limits, app.store)
        freeze_start_up()  # as `rejoinder serve` does (rejoinder/collector.py)
        answer.send(Ready(os.getpid(), app.port, models, limits, chat.port if chat is not None else None))
        answer.close()
        await stop.wait()
    finally:
        await _stop(settings, spec, app, chat)


async def _stop(settings: Settings, spec: WorkerSpec, app: GrpcApp, chat: ChatServer | None) -> None:
    ended = await app.drain(settings.drain_s)
    if ended:
        print(f"rejoinder: worker {spec.index} ended {ended} running response(s) as failed", flush=True)
    if chat is not None:
        await chat.close()
    await app.close()
