"""`python -m bench.ratelimit`: what one shared rate-limit admission costs, on PostgreSQL and on Redis.

It starts a throwaway PostgreSQL (as the tests do) and a throwaway `redis-server`, both on 127.0.0.1
free ports, pinned to the second core. The bench runs on the first core. Everything is stopped at the
end, also on an error or Ctrl-C. It then makes N admissions for each of these:

- `pg statement`: the PostgreSQL limiter's admission statement (`rejoinder_ratelimit_admit`) over
  the store's asyncpg pool;
- `pg admit()`: `PostgresRateLimiter.admit`, the same statement plus the headers computed from its row;
- `pg pool`: the statement through `pool.fetchrow`, for comparison: asyncpg's acquire/release adds a
  reset query (a second round trip), which is why the limiter keeps its connections;
- `redis evalsha`: the same atomic check-and-increment on Redis (request and token windows of
  one-second buckets trimmed to 60 s, the unexpired slots of the replicas counted, then the request and
  its slot added) as one Lua script called with EVALSHA. The client is the minimal RESP client below, on
  asyncio streams with one connection per worker, just as the pool gives each worker a connection.

Each is run sequentially (c=1) and with 16 concurrent workers, all on one tenant (one hot row or key)
or each on its own. Reported: wall time per admission (elapsed / N), the p50 and p99 latency of one
admission, the bench process's CPU per admission (`time.process_time`), and the server's CPU per
admission: the postmaster and its backends, or redis-server, read from /proc.
Requires `redis-server` (Debian: `apt-get install redis-server`) and the PostgreSQL server programs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.procs import (
    LOOPBACK,
    BenchError,
    Child,
    children_of,
    core_seconds,
    cpu_seconds,
    free_port,
    start_child,
)
from bench.upstream import new_loop_factory
from rejoinder.config_limits import RateLimitSettings, TenantLimits
from rejoinder.core.clock import SystemClock
from rejoinder.ratelimit.postgres import ADMIT, PostgresRateLimiter, admit_args
from rejoinder.ratelimit.window import WINDOW_S
from rejoinder.store.postgres import PostgresStore
from tests.postgres_server import PostgresServer

LEASE_S = 15.0
HUGE = 10**9  # limits that never refuse, so every admission does the whole check-and-increment
LIMITS = TenantLimits(requests_per_minute=HUGE, tokens_per_minute=HUGE, concurrent_requests=HUGE)

# The PostgreSQL function's work on Redis: KEYS = the tenant's request window, token window, slots in
# flight per replica and their expiry; ARGV = now, window, lease, rpm, tpm, concurrent (-1: none), replica.
LUA = """
local now = tonumber(ARGV[1])
local horizon = now - tonumber(ARGV[2])
local function window(key)
  local flat = redis.call('HGETALL', key)
  local total, out = 0, {}
  for i = 1, #flat, 2 do
    if tonumber(flat[i]) <= horizon then
      redis.call('HDEL', key, flat[i])
    else
      total = total + tonumber(flat[i + 1])
      out[#out + 1] = flat[i]
      out[#out + 1] = flat[i + 1]
    end
  end
  return total, out
end
local rpm, tpm, conc = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local used_requests, requests = window(KEYS[1])
local used_tokens, tokens = window(KEYS[2])
local in_flight = 0
if conc >= 0 then
  local counts = redis.call('HGETALL', KEYS[3])
  for i = 1, #counts, 2 do
    local expires = tonumber(redis.call('HGET', KEYS[4], counts[i]))
    if expires and expires > now then in_flight = in_flight + tonumber(counts[i + 1]) end
  end
end
local refused = ''
if rpm >= 0 and used_requests >= rpm then refused = 'requests'
elseif tpm >= 0 and used_tokens >= tpm then refused = 'tokens'
elseif conc >= 0 and in_flight >= conc then refused = 'concurrent' end
if refused == '' then
  if rpm >= 0 then
    redis.call('HINCRBY', KEYS[1], math.ceil(now), 1)
    redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]) + 2)
  end
  if conc >= 0 then
    redis.call('HINCRBY', KEYS[3], ARGV[7], 1)
    redis.call('HSET', KEYS[4], ARGV[7], string.format('%.3f', now + tonumber(ARGV[3])))
    in_flight = in_flight + 1
  end
end
return {refused, requests, tokens, in_flight}
"""

Resp = bytes | int | str | None | list["Resp"]


class RespError(RuntimeError):
    """Redis answered with an error."""


class RespClient:
    """Just enough of RESP2 over one connection: send a command, read its reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, port: int) -> RespClient:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        return cls(reader, writer)

    async def call(self, *args: str | bytes | int | float) -> Resp:
        out = bytearray(b"*%d\r\n" % len(args))
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out += b"$%d\r\n%b\r\n" % (len(data), data)
        self._writer.write(out)
        return await self._read()

    async def _read(self) -> Resp:
        line = await self._reader.readline()
        kind, body = line[:1], line[1:-2]
        if kind == b"+":
            return body.decode()
        if kind == b"-":
            raise RespError(body.decode())
        if kind == b":":
            return int(body)
        if kind == b"$":
            size = int(body)
            return None if size < 0 else (await self._reader.readexactly(size + 2))[:-2]
        if kind == b"*":
            return [await self._read() for _ in range(int(body))]
        raise RespError(f"unexpected reply {line!r}")

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


@dataclass(frozen=True)
class Row:
    """One measured cell."""

    path: str
    workers: int
    tenants: int
    wall_us: float
    p50_us: float
    p99_us: float
    client_cpu_us: float
    server_cpu_us: float
    others_pct: float

    def render(self) -> str:
        return (
            f"{self.path:<15} {self.workers:>3} {self.tenants:>7} {self.wall_us:>9.1f} {self.p50_us:>8.1f} "
            f"{self.p99_us:>8.1f} {self.client_cpu_us:>13.1f} {self.server_cpu_us:>13.1f} "
            f"{1e6 / self.wall_us:>9.0f} {self.others_pct:>8.0f}"
        )


HEADER = (
    f"{'path':<15} {'c':>3} {'tenants':>7} {'wall µs':>9} {'p50 µs':>8} {'p99 µs':>8} "
    f"{'client CPU µs':>13} {'server CPU µs':>13} {'adm/s':>9} {'others%':>8}"
)
Admit = Callable[[int, str], Awaitable[object]]  # (worker, tenant) -> one admission


@dataclass(frozen=True)
class Probe:
    """How to read the server's CPU seconds, and the cores that the bench and the server run on."""

    server: Callable[[], float]
    cores: frozenset[int]

    def others(self, before: dict[int, float], client: float, server: float) -> float:
        """CPU seconds that other processes took on our cores since `before` (from /proc/stat)."""
        now = core_seconds()
        ours = sum(now.get(c, 0.0) - before.get(c, 0.0) for c in self.cores)
        return max(0.0, ours - client - server)


async def measure(path: str, admit: Admit, shape: tuple[int, int], n: int, probe: Probe) -> Row:
    """`n` admissions by `workers` concurrent workers on `tenants` tenants (after a warm-up of n / 10)."""
    workers, tenants = shape

    async def run(count: int, latencies: list[float]) -> None:
        async def worker(w: int) -> None:
            tenant = f"tenant-{w % tenants}"
            for _ in range(count // workers):
                start = time.perf_counter()
                await admit(w, tenant)
                latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(worker(w) for w in range(workers)))

    await run(max(workers, n // 10), [])
    latencies: list[float] = []
    cores_before, server_before = core_seconds(), probe.server()
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    await run(n, latencies)
    wall = time.perf_counter() - wall_before
    cpu, server_cpu = time.process_time() - cpu_before, probe.server() - server_before
    others = probe.others(cores_before, cpu, server_cpu)
    done = len(latencies)
    cuts = statistics.quantiles(latencies, n=100)
    per = 1e6 / done
    return Row(
        path, workers, tenants, wall * per, 1e6 * cuts[49], 1e6 * cuts[98], cpu * per, server_cpu * per,
        100 * others / wall,
    )  # fmt: skip


def postmaster_cpu(pid: int) -> Callable[[], float]:
    """CPU seconds so far of the postmaster and every process it runs (backends, writers)."""
    return lambda: cpu_seconds(pid) + sum(cpu_seconds(child) for child in children_of(pid))


async def postgres_rows(
    dsn: str, n: int, shapes: Sequence[tuple[int, int]], cores: frozenset[int]
) -> list[Row]:
    workers = max(w for w, _ in shapes)
    store = await PostgresStore.open(dsn, pool_size=2 * workers + 2)
    settings = RateLimitSettings(default=LIMITS)
    limiter = await PostgresRateLimiter.open(
        store, settings, SystemClock(), replica="b", lease_s=LEASE_S, connections=workers
    )
    held = [await store.pool.acquire() for _ in range(workers)]
    data_dir = Path(await store.pool.fetchval("SHOW data_directory"))
    probe = Probe(postmaster_cpu(int((data_dir / "postmaster.pid").read_text().split()[0])), cores)
    clock = SystemClock()

    async def statement(worker: int, tenant: str) -> object:
        return await held[worker].fetchrow(ADMIT, *admit_args(tenant, "b", clock.now(), LEASE_S, LIMITS))

    async def pooled(_: int, tenant: str) -> object:
        return await store.pool.fetchrow(ADMIT, *admit_args(tenant, "b", clock.now(), LEASE_S, LIMITS))

    async def full(_: int, tenant: str) -> object:
        return await limiter.admit(tenant)

    paths: list[tuple[str, Admit]] = [("pg statement", statement), ("pg admit()", full), ("pg pool", pooled)]
    try:
        return [await measure(name, admit, shape, n, probe) for shape in shapes for name, admit in paths]
    finally:
        for conn in held:
            await store.pool.release(conn)
        await limiter.close()
        await store.close()


async def redis_rows(
    port: int, pid: int, n: int, shapes: Sequence[tuple[int, int]], cores: frozenset[int]
) -> list[Row]:
    clients = [await RespClient.connect(port) for _ in range(max(w for w, _ in shapes))]
    sha = await clients[0].call("SCRIPT", "LOAD", LUA)
    if not isinstance(sha, bytes):
        raise BenchError(f"SCRIPT LOAD answered {sha!r}")
    clock = SystemClock()

    async def evalsha(worker: int, tenant: str) -> object:
        keys = [f"rl:{{{tenant}}}:{part}" for part in ("req", "tok", "fly", "exp")]
        limits = (HUGE, HUGE, HUGE)
        return await clients[worker].call(
            "EVALSHA", sha, 4, *keys, clock.now(), WINDOW_S, LEASE_S, *limits, "b"
        )

    try:
        probe = Probe(lambda: cpu_seconds(pid), cores)
        return [await measure("redis evalsha", evalsha, shape, n, probe) for shape in shapes]
    finally:
        for client in clients:
            await client.close()


def start_redis(workdir: Path, cpus: frozenset[int]) -> tuple[Child, int]:
    """A throwaway redis-server on a free loopback port, keeping nothing on disk."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchError("no redis-server: apt-get install redis-server")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(workdir)]
    child = start_child("redis-server", argv, workdir / "redis.log", cpus)
    child.wait_for_line("Ready to accept connections", 15)
    return child, port


async def run(
    args: argparse.Namespace, workdir: Path, bench_cpu: int, server_cpus: frozenset[int]
) -> list[Row]:
    """Every cell, grouped by shape (PostgreSQL's paths first)."""
    shapes = [(1, 1), (args.concurrency, 1), (args.concurrency, args.concurrency)]
    cores = server_cpus | {bench_cpu}
    postgres = PostgresServer()
    redis: Child | None = None
    try:
        dsn = postgres.start()
        if server_cpus:
            postgres.pin(server_cpus)
        redis, port = start_redis(workdir, server_cpus)
        rows = await postgres_rows(dsn, args.n, shapes, cores)
        rows += await redis_rows(port, redis.pid, args.n, shapes, cores)
        return sorted(rows, key=lambda row: (row.workers, row.tenants))
    finally:
        if redis is not None:
            redis.stop()
        postgres.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m bench.ratelimit`."""
    parser = argparse.ArgumentParser(prog="python -m bench.ratelimit", description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=5000, help="admissions per cell (default 5000)")
    parser.add_argument("--concurrency", type=int, default=16, help="workers of the concurrent cells")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args(argv)
    cores = sorted(os.sched_getaffinity(0))
    server_cpus = frozenset(cores[1:2])
    if server_cpus:
        os.sched_setaffinity(0, {cores[0]})
    workdir = Path(tempfile.mkdtemp(prefix="rejoinder-bench-ratelimit-"))
    try:
        with asyncio.Runner(loop_factory=new_loop_factory(args.loop)) as runner:
            rows = runner.run(run(args, workdir, cores[0], server_cpus))
    except BenchError as err:
        print(f"bench: {err}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    where = f"bench on core {cores[0]}, servers on {sorted(server_cpus) or 'any'}"
    print(f"rate-limit admissions, {args.n} per cell, loop {args.loop}, {where}; per admission:")
    print("(others% = CPU that other processes took on those cores, in % of one core: high = contended)")
    print(HEADER)
    print("-" * len(HEADER))
    print("\n".join(row.render() for row in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
