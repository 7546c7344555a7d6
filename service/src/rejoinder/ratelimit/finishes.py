"""What a shared rate limiter's finished responses did, until one background task writes it.

`PostgresRateLimiter` and `SqliteRateLimiter` keep their counts in a database that other processes
share, and they handle a response's end the same way; this module is that way, given the backend's
`write` and `renew`:

- **`finish` never waits.** It adds the tokens (in the bucket of the moment the response finished) and
  the released slot to what is pending for the tenant, and wakes the one background task.
- **The task writes everything pending in one `write`**, so finishes that come while a write is under
  way are batched into the next one. It renews this replica's slots every `lease_s / 3`.
- **A write that fails is logged, kept and retried** after `RETRY_S`; so is a renewal. `flush` writes
  now, and raises when that fails (what it held is kept as well).
- **One writer at a time**: writes and renewals hold one lock. `close` stops the task, then writes what is
  left and runs the backend's closing steps (release this replica's slots, disconnect); those failures
  are logged. A finish after `close` is logged and not counted.
- **A caller cancelled during a write**: with `shield_writes` (a write that cannot be stopped once
  started, as on SQLite's thread) the write goes on, and what it held is kept only if it fails; without
  it (PostgreSQL's statement) the write is cancelled and what it held is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rejoinder.config_limits import TenantLimits
from rejoinder.core.clock import Clock
from rejoinder.ratelimit.window import bucket

log = logging.getLogger(__name__)

RETRY_S = 1.0

Charge = tuple[str, int, int]
"""Tokens to charge: (tenant, bucket, tokens)."""
Release = tuple[str, int]
"""Slots of this replica to release: (tenant, count)."""
Write = Callable[[list[Charge], list[Release]], Awaitable[None]]
"""Write charges and releases in one go; raises when it fails (nothing written)."""
Step = tuple[Callable[[], Awaitable[object]], str]
"""A step of `close`, and what it does (for the log when it fails)."""


@dataclass
class _Pending:
    """What this replica's finished responses of one tenant did, not yet written."""

    tokens: dict[int, int] = field(default_factory=dict)  # bucket -> tokens
    released: int = 0

    def merge(self, other: _Pending) -> None:
        for key, tokens in other.tokens.items():
            self.tokens[key] = self.tokens.get(key, 0) + tokens
        self.released += other.released


class Finishes:
    """The finishes of one limiter not yet written, and the background task that writes them (and
    renews the slots). Create it on the running event loop; `close` it with its limiter."""

    def __init__(
        self,
        clock: Clock,
        lease_s: float,
        write: Write,
        renew: Callable[[], Awaitable[None]],
        *,
        shield_writes: bool,
    ) -> None:
        self._clock = clock
        self._lease_s = lease_s
        self._write_rows = write
        self._renew = renew
        self._shield_writes = shield_writes
        self._pending: dict[str, _Pending] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one writer at a time: finishes and renewals
        self._closed = False
        self._task = asyncio.get_running_loop().create_task(self._background())

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    def on_finish(self, tenant: str, limits: TenantLimits) -> Callable[[int], None] | None:
        """What an admitted request of `tenant` calls with its tokens at its end (None: nothing to count)."""
        charge = limits.tokens_per_minute is not None
        release = limits.concurrent_requests is not None
        return functools.partial(self._finish, tenant, charge, release) if charge or release else None

    async def flush(self) -> None:
        """Write the finishes so far now (raises when that fails; they are kept for the next try)."""
        async with self._lock:
            await self._write()

    async def renew(self) -> None:
        """Renew this replica's slots now (the background task does it every `lease_s / 3`)."""
        async with self._lock:
            await self._renew()

    async def close(self, *steps: Step) -> None:
        """Stop the task, write what is pending, then run `steps` in order (each failure is logged)."""
        if self._closed:
            return
        self._closed = True
        # Not while the task writes: a write stopped part-way might be applied twice, and the final
        # write goes after the task's own.
        async with self._lock:
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        async with self._lock:
            await _logged(self._write(), "writing finished responses at close (their counts are lost)")
            for step, what in steps:
                await _logged(step(), what)

    def _finish(self, tenant: str, charge: bool, release: bool, tokens: int) -> None:
        if self._closed:
            log.warning("a response of tenant %r ended after the rate limiter closed: not counted", tenant)
            return
        pending = self._pending.get(tenant)
        if pending is None:
            pending = self._pending[tenant] = _Pending()
        if charge and tokens > 0:
            key = bucket(self._clock.now())
            pending.tokens[key] = pending.tokens.get(key, 0) + tokens
        if release:
            pending.released += 1
        self._wake.set()

    async def _write(self) -> None:
        """Write what is pending in one go; on failure keep it for the next try. Hold the lock."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        charges = [(t, key, n) for t, p in pending.items() for key, n in p.tokens.items()]
        releases = [(t, p.released) for t, p in pending.items() if p.released]
        job = asyncio.ensure_future(self._write_rows(charges, releases))
        job.add_done_callback(functools.partial(self._unwritten, pending))
        await (asyncio.shield(job) if self._shield_writes else job)

    def _unwritten(self, pending: dict[str, _Pending], job: asyncio.Future[None]) -> None:
        """Keep what a failed (or stopped) write did not write, for the next try."""
        if job.cancelled() or job.exception() is not None:
            for tenant, undone in pending.items():
                self._pending.setdefault(tenant, _Pending()).merge(undone)

    async def _background(self) -> None:
        """Write finishes as they come (batched while a write is under way) and renew the slots."""
        loop = asyncio.get_running_loop()
        renew_at = loop.time() + self._lease_s / 3
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, renew_at - loop.time())):
                    await self._wake.wait()
            self._wake.clear()
            async with self._lock:
                written = await _logged(self._write(), "writing finished responses (will retry)")
                if loop.time() >= renew_at:
                    renewed = await _logged(self._renew(), "renewing this replica's slots (will retry)")
                    renew_at = loop.time() + (self._lease_s / 3 if renewed else RETRY_S)
            if not written:
                await asyncio.sleep(RETRY_S)
                self._wake.set()


async def _logged(work: Awaitable[object], what: str) -> bool:
    """Await `work`; log a failure (with `what` failed) and return whether it succeeded."""
    try:
        await work
    except Exception:
        log.exception("rate limiter: %s failed", what)
        return False
    return True
