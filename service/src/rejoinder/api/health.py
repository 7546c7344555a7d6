"""`grpc.health.v1` as readiness: SERVING while the store answers, NOT_SERVING while it does not, and
NOT_SERVING for good once the server drains.

The statuses are the server's as a whole ("") and each of its services'. Envoy's active health check asks
for "" every 2 s, so its `/readyz` follows within a few seconds; Kubernetes or any load balancer can ask
the gRPC port itself the same question.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from grpc_health.v1 import health_pb2

from rejoinder.store.base import Store

log = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Readiness:
    """Keeps the health servicer's statuses true to the store (pinged every `interval_s`)."""

    def __init__(
        self,
        servicer: Any,  # grpc_health's aio HealthServicer (untyped)
        services: tuple[str, ...],
        store: Store,
        *,
        interval_s: float = 2.0,
        timeout_s: float = 1.5,
    ) -> None:
        self._servicer = servicer
        self._names = ("", *services)
        self._store = store
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._serving = False
        self._draining = False
        self._task: asyncio.Task[None] | None = None

    @property
    def serving(self) -> bool:
        """Whether the server says SERVING now."""
        return self._serving

    async def start(self) -> None:
        """Check the store once now, then every `interval_s` until `drain`."""
        await self.check()
        self._task = asyncio.create_task(self._watch(), name="readiness")

    async def check(self) -> bool:
        """Ping the store and say what it found; returns whether the server is ready."""
        if self._draining:
            return False
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._store.ping()
        except Exception as exc:
            if self._serving or self._task is None:
                log.warning("the store does not answer (%s): health NOT_SERVING until it does", _short(exc))
            await self._set(False)
            return False
        if not self._serving and self._task is not None:
            log.warning("the store answers again: health SERVING")
        await self._set(True)
        return True

    async def _watch(self) -> None:
        while not self._draining:
            await asyncio.sleep(self._interval_s)
            await self.check()

    async def _set(self, serving: bool) -> None:
        if serving == self._serving and self._task is not None:
            return
        self._serving = serving
        for name in self._names:
            await self._servicer.set(name, SERVING if serving else NOT_SERVING)

    async def drain(self) -> None:
        """NOT_SERVING for good: Envoy and load balancers stop sending new calls here."""
        self._draining = True
        self._serving = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._servicer.enter_graceful_shutdown()


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."
