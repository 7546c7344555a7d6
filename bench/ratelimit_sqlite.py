"""`python -m bench.ratelimit_sqlite`: what one admission of the SQLite rate limiter costs, alone and with
other worker processes admitting on the same file.

For each process count P (default 1 and 2), P processes open `SqliteRateLimiter` on one fresh WAL file
in a temporary directory, wait at a barrier, then each makes N admissions one after another (c=1) on
one tenant whose limits never refuse (so each admission does the whole check and increment: requests
window, tokens window, a slot in flight), finishing each one with 10 tokens (the background writer runs
as it does in service). `--rate R` paces each process at R admissions per second instead of flat out
(a server admits once per response, not back to back). Reported per P: the p50, p99 and max latency of
one `admit()` over all processes' admissions, and admissions per second over the whole file. `--raw`
also times `sqlite_ops.admit` called directly on a connection (no thread hop, no event loop): the SQLite
part alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rejoinder.config_limits import RateLimitSettings, TenantLimits
from rejoinder.core.clock import SystemClock
from rejoinder.ratelimit import sqlite_ops
from rejoinder.ratelimit.sqlite import SqliteRateLimiter
from rejoinder.store import sqlite_ops as store_ops

HUGE = 10**9
LIMITS = TenantLimits(requests_per_minute=HUGE, tokens_per_minute=HUGE, concurrent_requests=HUGE)
SETTINGS = RateLimitSettings(default=LIMITS)


async def child(path: str, replica: str, n: int, rate: float) -> None:
    """One worker: admit `n` times after the barrier line (`rate` a second, 0: flat out); print the
    latencies (seconds) as JSON."""
    limiter = await SqliteRateLimiter.open(path, SETTINGS, SystemClock(), replica=replica)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(n):
        if rate:
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        t = time.perf_counter()
        admission = await limiter.admit("t")
        latencies.append(time.perf_counter() - t)
        admission.finish(10)
    elapsed = time.perf_counter() - started
    await limiter.close()
    print(json.dumps({"latencies": latencies, "elapsed": elapsed}), flush=True)


async def run(processes: int, n: int, rate: float) -> dict[str, float]:
    """P worker processes on one new file; their latencies together."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "rejoinder.db")
        store_ops.connect(path, 5.0).close()  # the schema, as the store makes it
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.ratelimit_sqlite",
                "--child",
                path,
                f"worker-{i}",
                str(n),
                str(rate),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for i in range(processes)
        ]
        for proc in procs:
            assert proc.stdout is not None
            assert (await proc.stdout.readline()).strip() == b"ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        results = [json.loads((await proc.communicate())[0]) for proc in procs]
    latencies = sorted(x for r in results for x in r["latencies"])
    elapsed = max(r["elapsed"] for r in results)
    return summary(latencies) | {"per_s": len(latencies) / elapsed}


def raw(n: int) -> dict[str, float]:
    """`sqlite_ops.admit` on a connection, in this thread: the SQLite work of one admission."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = store_ops.connect(str(Path(tmp) / "rejoinder.db"), 5.0)
        latencies = []
        for _ in range(n):
            t = time.perf_counter()
            sqlite_ops.admit(conn, "t", "r", time.time(), 15.0, LIMITS)
            latencies.append(time.perf_counter() - t)
        conn.close()
    return summary(sorted(latencies))


def summary(latencies: list[float]) -> dict[str, float]:
    def at(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3

    return {"n": len(latencies), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": latencies[-1] * 1e3,
            "mean_ms": statistics.fmean(latencies) * 1e3}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="admissions per process")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rate", type=float, default=0.0, help="admissions per second per process")
    parser.add_argument("--raw", action="store_true", help="also time the SQLite work alone")
    parser.add_argument("--child", nargs=4, metavar=("PATH", "REPLICA", "N", "RATE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, replica, n, rate = args.child
        asyncio.run(child(path, replica, int(n), float(rate)))
        return
    pace = f"{args.rate:g}/s" if args.rate else "flat out"
    print(f"sqlite {sqlite3.sqlite_version}, {args.n} admissions per process ({pace}), one tenant, c=1")
    if args.raw:
        print("raw sqlite_ops.admit:", _line(raw(args.n)))
    for processes in args.processes:
        print(f"{processes} process(es):", _line(asyncio.run(run(processes, args.n, args.rate))), flush=True)


def _line(found: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in found.items())


if __name__ == "__main__":
    main()
