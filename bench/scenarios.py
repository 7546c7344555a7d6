"""The scenarios of issue 6, each run on the three paths, reduced to flat metrics per (scenario, path).

Metric names end in their unit (`_ms`, `_us`, `_mb`, `_rps`, `_pct`). CPU figures come from
/proc (`utime + stime`) of the service process (`svc`), its Envoy child (`envoy`), the bench
upstream (`upstream`), the load generator itself (`loadgen`) and, with `--observability`, the OTLP span
sink (`sink`) over the measured window.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.http1 import get_json
from bench.load import GrpcSession, HttpSession, LoopResult, LoopSpec, Sample, Target, clock, closed_loop
from bench.procs import LOOPBACK, CpuProbe, rss_bytes
from bench.targets import BATCHED, PATHS, Endpoints, Shape

Metrics = dict[str, float | int | str | None]
MB = 1024 * 1024
SETTLE_S = 2.0
CONTENDED_PCT = 10.0  # another process using this much of a pinned core spoils a measurement
SATURATED_PCT = 90.0


@dataclass(frozen=True)
class Plan:
    """How long each part runs; `FULL` and `QUICK` below."""

    warmup_s: float
    duration_s: float
    max_requests: int
    stream_duration_s: float
    concurrencies: tuple[int, ...]
    stream_tokens: tuple[int, ...]
    nonstream_tokens: int
    idle_streams: int
    idle_open_timeout_s: float
    idle_hold_s: float
    idle_delay_ms: int
    floor_rounds: int  # `floor`: rounds of (service, floor) windows, each half as long as `duration_s`
    floor_ratio_rounds: int  # ... of the non-stream cell, whose CPU ratio is judged (at least `floor_rounds`)


FULL = Plan(
    warmup_s=1.0,
    duration_s=5.0,
    max_requests=100_000,
    stream_duration_s=5.0,
    concurrencies=(8, 64, 256),
    stream_tokens=(64, 512),
    nonstream_tokens=16,
    idle_streams=1000,
    idle_open_timeout_s=10.0,
    idle_hold_s=5.0,
    idle_delay_ms=10_000,
    floor_rounds=2,
    floor_ratio_rounds=6,
)
QUICK = Plan(
    warmup_s=0.3,
    duration_s=1.0,
    max_requests=30_000,
    stream_duration_s=1.0,
    concurrencies=(8, 64, 256),
    stream_tokens=(64, 512),
    nonstream_tokens=16,
    idle_streams=1000,
    idle_open_timeout_s=4.0,
    idle_hold_s=1.5,
    idle_delay_ms=10_000,
    floor_rounds=1,
    floor_ratio_rounds=1,
)
# Who runs on the service core (the rest run on the load core); `burst` moves the upstream there.
SERVICE_CORE = ("svc", "envoy")
PROCESSES = ("svc", "envoy", "upstream", "loadgen", "sink")


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of unsorted values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else float("nan")


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000


def _per(cpu_s: float, count: int, scale: float) -> float | None:
    return cpu_s / count * scale if count else None


def loop_metrics(result: LoopResult, on_service_core: Sequence[str] = SERVICE_CORE) -> Metrics:
    """Latency, throughput and CPU figures of one closed-loop run."""
    ok = [s for s in result.samples if s.ok]
    latencies = [s.latency for s in ok]
    ttfts = [s.ttft for s in ok if s.ttft is not None]
    deltas = sum(s.deltas for s in ok)
    cpu, n = result.cpu, len(ok)
    sink = {"sink_cpu_us_per_req": _per(cpu["sink"], n, 1e6)} if "sink" in cpu else {}
    return {
        "count": n,
        "errors": result.errors,
        "first_error": result.first_error,
        "window_s": result.window_s,
        "throughput_rps": n / result.window_s,
        "p50_ms": _ms(percentile(latencies, 50)),
        "p95_ms": _ms(percentile(latencies, 95)),
        "p99_ms": _ms(percentile(latencies, 99)),
        "ttft_p50_ms": _ms(percentile(ttfts, 50)),
        "ttft_p99_ms": _ms(percentile(ttfts, 99)),
        "deltas": deltas,
        "svc_cpu_ms_per_req": _per(cpu.get("svc", 0.0), n, 1e3),
        "envoy_cpu_ms_per_req": _per(cpu.get("envoy", 0.0), n, 1e3),
        "upstream_cpu_us_per_req": _per(cpu["upstream"], n, 1e6),
        "loadgen_cpu_us_per_req": _per(cpu["loadgen"], n, 1e6),
        "svc_cpu_us_per_delta": _per(cpu.get("svc", 0.0), deltas, 1e6),
        "envoy_cpu_us_per_delta": _per(cpu.get("envoy", 0.0), deltas, 1e6),
        **sink,
        **busy(cpu, on_service_core),
    }


def contended(path: str, metrics: Metrics, upstream_on_service_core: bool = False) -> float:
    """How much of a core this cell needed other processes took (0 when none needed was touched).

    The direct path needs the load core (and the service core when the upstream runs there); the
    service paths need the service core (their bottleneck), and the load core only when it was full
    (ours + others near 100%)."""
    other0, other1 = _num(metrics["other_core0_pct"]), _num(metrics["other_core1_pct"])
    load_core_full = _num(metrics["core1_busy_pct"]) + other1 > SATURATED_PCT
    if path == "direct":
        return max(other1, other0) if upstream_on_service_core else other1
    return max(other0, other1 if load_core_full else 0.0)


def busy(cpu: dict[str, float], on_service_core: Sequence[str] = SERVICE_CORE) -> dict[str, float]:
    """How busy the two cores were with our processes, and with anything else (`other_*`);
    `on_service_core` names our processes pinned to the service core (the others are on the load core)."""
    wall = cpu["wall"]
    ours0 = sum(cpu.get(name, 0.0) for name in on_service_core)
    ours1 = sum(cpu.get(name, 0.0) for name in PROCESSES if name not in on_service_core)
    return {
        "core0_busy_pct": 100 * ours0 / wall,
        "core1_busy_pct": 100 * ours1 / wall,
        "other_core0_pct": max(0.0, 100 * (cpu.get("service_core", ours0) - ours0) / wall),
        "other_core1_pct": max(0.0, 100 * (cpu.get("load_core", ours1) - ours1) / wall),
    }


@dataclass
class Bench:
    """What every scenario needs: where to send, what to read, how long."""

    endpoints: Endpoints
    probe: CpuProbe
    plan: Plan
    svc_pid: int
    envoy_pid: int
    log: Callable[[str], None]
    retries: int = 2
    workdir: Path | None = None  # where scenarios that start processes of their own keep their files
    on_service_core: tuple[str, ...] = SERVICE_CORE

    async def upstream_stats(self) -> tuple[int, int, int]:
        """(requests, connections) the upstream has seen so far, and connections open now
        (not counting the one asking)."""
        stats = await get_json(LOOPBACK, self.endpoints.upstream, "/stats")
        assert isinstance(stats, dict)
        return int(stats["requests"]), int(stats["connections"]), int(stats["open"]) - 1

    async def loop(self, path: str, shape: Shape, concurrency: int, duration_s: float) -> Metrics:
        """One closed-loop cell, run again (up to `retries` times) when another process competed."""
        for attempt in range(1 + self.retries):
            metrics = await self._loop_once(path, shape, concurrency, duration_s)
            metrics["attempts"] = attempt + 1
            other = contended(path, metrics, "upstream" in self.on_service_core)
            metrics["contended_pct"] = other
            if other < CONTENDED_PCT:
                break
            self.log(f"  {path:6} c={concurrency:<4} another process took {other:.0f}% of a core we needed")
        return metrics

    async def _loop_once(self, path: str, shape: Shape, concurrency: int, duration_s: float) -> Metrics:
        target = self.endpoints.target(path, shape)
        spec = LoopSpec(concurrency, self.plan.warmup_s, duration_s, self.plan.max_requests)
        requests, connections, _ = await self.upstream_stats()
        try:
            metrics = loop_metrics(await closed_loop(target, spec, self.probe), self.on_service_core)
        finally:
            await target.aclose()
        requests_after, connections_after, _ = await self.upstream_stats()
        # Counted over warm-up and window alike; the bench's own /stats requests are excluded.
        served = requests_after - requests
        metrics["upstream_conns_per_100_req"] = 100 * (connections_after - connections - 1) / max(served, 1)
        self.log(
            f"  {path:6} c={concurrency:<4} {metrics['count']:>6} ok, {metrics['errors']} errors, "
            f"{metrics['throughput_rps']:.0f} rps, p50 {_num(metrics['p50_ms']):.2f} ms"
        )
        return metrics


Results = dict[str, dict[str, Metrics]]


async def preflight(bench: Bench, paths: Sequence[str] = PATHS) -> None:
    """One request of each kind on each path must succeed before anything is measured."""
    for shape in (Shape(tokens=4, stream=False), Shape(tokens=4, stream=True)):
        for path in paths:
            target = bench.endpoints.target(path, shape)
            session = target.session()
            try:
                sample = await asyncio.wait_for(session.call(), 30)
            finally:
                session.close()
                await target.aclose()
            if not sample.ok:
                kind = "stream" if shape.stream else "non-stream"
                raise PreflightError(f"{kind} request on {path} failed: {sample.error}")


class PreflightError(Exception):
    """The service does not answer correctly; nothing would be worth measuring."""


@dataclass(frozen=True)
class Cell:
    """One scenario: a request shape at a concurrency, for a while."""

    name: str
    shape: Shape
    concurrency: int
    duration_s: float


async def _each_path(bench: Bench, results: Results, cell: Cell, paths: Sequence[str] = PATHS) -> None:
    results[cell.name] = {}
    for path in paths:
        results[cell.name][path] = await bench.loop(path, cell.shape, cell.concurrency, cell.duration_s)


async def nonstream(bench: Bench, results: Results) -> None:
    """Latency at c=1, then throughput and latency at each concurrency (store: false)."""
    shape = Shape(tokens=bench.plan.nonstream_tokens, stream=False)
    for c in (1, *bench.plan.concurrencies):
        bench.log(f"non-stream, {shape.tokens} tokens, c={c}")
        await _each_path(bench, results, Cell(f"nonstream_c{c}", shape, c, bench.plan.duration_s))


async def streaming(bench: Bench, results: Results) -> None:
    """Time to first text delta, total time and CPU per delta at c=1 (store: false), on the three paths
    and on gRPC `StreamCreateBatched`."""
    for tokens in bench.plan.stream_tokens:
        bench.log(f"stream, {tokens} tokens, c=1")
        shape = Shape(tokens=tokens, stream=True)
        cell = Cell(f"stream_{tokens}", shape, 1, bench.plan.stream_duration_s)
        await _each_path(bench, results, cell, paths=(*PATHS, BATCHED))


async def store(bench: Bench, results: Results) -> None:
    """`store: true` at c=1 and c=64 (the `store: false` figures are the non-stream rows)."""
    shape = Shape(tokens=bench.plan.nonstream_tokens, stream=False, store=True)
    for c in (1, 64):
        bench.log(f"non-stream, store: true, c={c}")
        cell = Cell(f"store_c{c}", shape, c, bench.plan.duration_s)
        await _each_path(bench, results, cell, paths=("rest", "grpc"))


# ---- idle open streams --------------------------------------------------------------------------


class _Streams:
    """Streams being opened and held; every one is closed by `close_all()`."""

    def __init__(self, gate: int, deadline: float) -> None:
        self._gate = asyncio.Semaphore(gate)
        self._deadline = deadline
        self.held: list[tuple[HttpSession | GrpcSession, asyncio.Task[Sample]]] = []

    async def open_one(self, session: HttpSession | GrpcSession) -> bool:
        """Start a stream and wait (bounded) for its first text delta; the call keeps running."""
        first = asyncio.Event()
        session.on_first = first.set
        async with self._gate:
            if clock() >= self._deadline:
                return False  # never start a stream after the opening deadline
            task = asyncio.create_task(session.call())
            self.held.append((session, task))
            waiter = asyncio.create_task(first.wait())
            timeout = max(0.0, self._deadline - clock())
            await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        return first.is_set() and not task.done()

    def alive(self) -> int:
        return sum(1 for _, task in self.held if not task.done())

    async def close_all(self) -> None:
        for session, _ in self.held:
            session.close()
        tasks = [task for _, task in self.held]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)
        self.held.clear()


def _rss_mb(pid: int) -> float:
    try:
        return rss_bytes(pid) / MB
    except OSError:
        return 0.0


def _session(target: Target) -> HttpSession | GrpcSession:
    session = target.session()
    assert isinstance(session, HttpSession | GrpcSession)
    return session


async def hold_streams(bench: Bench, path: str) -> Metrics:
    """Open `plan.idle_streams` slow streams, hold them, read RSS and CPU, then close them all."""
    plan = bench.plan
    target = bench.endpoints.target(path, Shape(tokens=1000, stream=True, delay_ms=plan.idle_delay_ms))
    svc_before, envoy_before = _rss_mb(bench.svc_pid), _rss_mb(bench.envoy_pid)
    upstream_before = (await bench.upstream_stats())[2]
    streams = _Streams(gate=plan.idle_streams, deadline=clock() + plan.idle_open_timeout_s)
    started = clock()
    try:
        opened = await asyncio.gather(*(streams.open_one(_session(target)) for _ in range(plan.idle_streams)))
        open_s = clock() - started
        bench.probe.start()
        await asyncio.sleep(plan.idle_hold_s)
        cpu = bench.probe.stop()
        svc_rss, envoy_rss = _rss_mb(bench.svc_pid), _rss_mb(bench.envoy_pid)
        held = min(sum(opened), streams.alive())
        upstream_held = (await bench.upstream_stats())[2]
    finally:
        await streams.close_all()
        await target.aclose()
    await asyncio.sleep(SETTLE_S)  # the service should drop the upstream calls of vanished clients
    upstream_after = (await bench.upstream_stats())[2]
    return {
        "upstream_open_before": upstream_before,
        "upstream_open_held": upstream_held,
        "upstream_open_after_close": upstream_after,
        "streams": plan.idle_streams,
        "opened": sum(opened),
        "held": held,
        "errors": plan.idle_streams - held,
        "open_s": open_s,
        "svc_rss_mb": svc_rss,
        "envoy_rss_mb": envoy_rss,
        "rss_mb": svc_rss + envoy_rss,
        "svc_rss_before_mb": svc_before,
        "envoy_rss_before_mb": envoy_before,
        "svc_kb_per_stream": (svc_rss - svc_before) * 1024 / held if held else None,
        **busy(cpu),
        "idle_svc_busy_pct": 100 * cpu.get("svc", 0.0) / cpu["wall"],
        "idle_envoy_busy_pct": 100 * cpu.get("envoy", 0.0) / cpu["wall"],
    }


async def capacity(bench: Bench, streams: int = 100, within_s: float = 3.0) -> int:
    """How many slow gRPC streams the service opens within `within_s`: its upstream capacity now."""
    target = bench.endpoints.target(
        "grpc", Shape(tokens=1000, stream=True, delay_ms=bench.plan.idle_delay_ms)
    )
    held = _Streams(gate=streams, deadline=clock() + within_s)
    try:
        opened = await asyncio.gather(*(held.open_one(_session(target)) for _ in range(streams)))
    finally:
        await held.close_all()
        await target.aclose()
    await asyncio.sleep(SETTLE_S)
    return sum(opened)


async def idle(bench: Bench, results: Results) -> None:
    """RSS with many concurrent open (slow, mostly idle) streams, on every path; then how many
    concurrent streams the service can still open (abandoned queued requests must not cost any)."""
    bench.log(f"{bench.plan.idle_streams} open idle streams")
    results["idle_streams"] = {}
    for path in ("direct", "grpc", "rest"):
        metrics = await hold_streams(bench, path)
        if path != "direct":
            metrics["capacity_after"] = await capacity(bench)
        bench.log(
            f"  {path:6} held {metrics['held']}/{metrics['streams']} in {_num(metrics['open_s']):.1f} s "
            f"(upstream connections: {metrics['upstream_open_held']} held, "
            f"{metrics['upstream_open_after_close']} {SETTLE_S:.0f} s after closing), "
            f"service RSS {_num(metrics['svc_rss_mb']):.0f} MB, "
            f"Envoy RSS {_num(metrics['envoy_rss_mb']):.0f} MB; "
            f"then {metrics.get('capacity_after', '-')} of 100 new streams open"
        )
        results["idle_streams"][path] = metrics
