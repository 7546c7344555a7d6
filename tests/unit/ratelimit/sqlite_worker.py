"""A worker process for the SQLite limiter's tests: `python -m tests.unit.ratelimit.sqlite_worker`.

admit PATH REPLICA ATTEMPTS   open a limiter on PATH (tenant "t": RPM `LIMIT`), print "ready", wait
                              for a line on stdin, then try ATTEMPTS admissions one after another and
                              print one JSON line: {"remaining": [...each admission's
                              x-ratelimit-remaining-requests...], "refused": N}
hold PATH REPLICA LEASE_S     open a limiter with that lease (tenant "t": CONCURRENT requests in
                              flight), take them all, print "held", and run until killed
"""

from __future__ import annotations

import asyncio
import json
import sys

from rejoinder.config_limits import RateLimitSettings, TenantLimits
from rejoinder.core.clock import SystemClock
from rejoinder.errors import ApiError
from rejoinder.ratelimit.sqlite import SqliteRateLimiter

LIMIT = 400
CONCURRENT = 2


async def admit(path: str, replica: str, attempts: int) -> None:
    settings = RateLimitSettings(tenants={"t": TenantLimits(requests_per_minute=LIMIT)})
    limiter = await SqliteRateLimiter.open(path, settings, SystemClock(), replica=replica)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    remaining: list[int] = []
    refused = 0
    for _ in range(attempts):
        try:
            admission = await limiter.admit("t")
        except ApiError:
            refused += 1
        else:
            remaining.append(int(dict(admission.headers)["x-ratelimit-remaining-requests"]))
    await limiter.close()
    print(json.dumps({"remaining": remaining, "refused": refused}), flush=True)


async def hold(path: str, replica: str, lease_s: float) -> None:
    settings = RateLimitSettings(tenants={"t": TenantLimits(concurrent_requests=CONCURRENT)})
    limiter = await SqliteRateLimiter.open(path, settings, SystemClock(), replica=replica, lease_s=lease_s)
    for _ in range(CONCURRENT):
        await limiter.admit("t")
    print("held", flush=True)
    await asyncio.Event().wait()  # renewing the slots until killed


def main(argv: list[str]) -> None:
    mode, path, replica, number = argv
    if mode == "admit":
        asyncio.run(admit(path, replica, int(number)))
    else:
        asyncio.run(hold(path, replica, float(number)))


if __name__ == "__main__":
    main(sys.argv[1:])
