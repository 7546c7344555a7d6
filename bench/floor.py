"""`floor` (issue 13, point 3): what the machinery under the service costs, in the same run.

The service's replies to the non-stream c=1 request and to the 64- and 512-token streams are captured
from it once (`bench.canned`), then `bench.floor_server` (a do-nothing grpc.aio server on uvloop with the
service's options, behind an Envoy started from the service's own bootstrap) replays them, pinned to the
service core. Each cell is measured on REST and gRPC against the service and against the floor, back to
back (in `plan.floor_rounds` rounds, the order swapped each round, windows of half `duration_s`; the
means are kept; the non-stream cell, whose CPU ratio is judged, in `plan.floor_ratio_rounds`), plus the
direct path for the latency baselines. The CPU ratios are the medians of each round's pair. Results:

    results["floor_<cell>"] = {"direct": ..., "rest": service, "grpc": service,
                               "floor_rest": floor, "floor_grpc": floor}

with the comparisons (`derive`) added to the service's cells: CPU per request in µs, service+Envoy over
floor servicer+Envoy, service over floor servicer, and per delta the service's and Envoy's CPU minus
the floor's.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass, replace

from bench.canned import CaptureError, capture, save
from bench.observability import combine
from bench.procs import CpuProbe, Floor, start_floor_server
from bench.scenarios import Bench, Metrics, PreflightError, Results
from bench.targets import Endpoints, Shape

SERVICE_PATHS = ("rest", "grpc")
FLOOR_PATHS = {"rest": "floor_rest", "grpc": "floor_grpc"}


@dataclass(frozen=True)
class FloorCell:
    """One measured request shape (the scenario names of the main bench, prefixed)."""

    name: str
    shape: Shape
    duration_s: float


def cells(bench: Bench) -> tuple[FloorCell, ...]:
    plan = bench.plan
    nonstream = FloorCell("floor_nonstream_c1", Shape(plan.nonstream_tokens, stream=False), plan.duration_s)
    streams = tuple(
        FloorCell(f"floor_stream_{t}", Shape(t, stream=True), plan.stream_duration_s)
        for t in plan.stream_tokens
    )
    return (nonstream, *streams)


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _us(metrics: Metrics, key: str) -> float | None:
    value = _num(metrics.get(key))
    return None if value is None else value * 1000


def _over(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _minus(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def with_us(metrics: Metrics) -> Metrics:
    """`metrics` plus CPU per request in µs: the server's, Envoy's, and both (`edge_`)."""
    svc, envoy = _us(metrics, "svc_cpu_ms_per_req"), _us(metrics, "envoy_cpu_ms_per_req")
    edge = svc + (envoy or 0.0) if svc is not None else None
    return {**metrics, "svc_cpu_us_per_req": svc, "envoy_cpu_us_per_req": envoy, "edge_cpu_us_per_req": edge}


def derive(service: Metrics, floor: Metrics) -> Metrics:
    """The service's cell compared with the floor's (same path, same request)."""
    svc, flo = with_us(service), with_us(floor)
    return {
        **svc,
        "edge_over_floor_x": _over(_num(svc["edge_cpu_us_per_req"]), _num(flo["edge_cpu_us_per_req"])),
        "svc_over_floor_x": _over(_num(svc["svc_cpu_us_per_req"]), _num(flo["svc_cpu_us_per_req"])),
        "svc_us_per_delta_over_floor": _minus(
            _num(svc.get("svc_cpu_us_per_delta")), _num(flo.get("svc_cpu_us_per_delta"))
        ),
        "envoy_us_per_delta_over_floor": _minus(
            _num(svc.get("envoy_cpu_us_per_delta")), _num(flo.get("envoy_cpu_us_per_delta"))
        ),
        "ttft_over_floor_ms": _minus(_num(svc.get("ttft_p50_ms")), _num(flo.get("ttft_p50_ms"))),
    }


def _floor_bench(bench: Bench, floor: Floor) -> Bench:
    """`bench` aimed at the floor server and its Envoy (the same upstream, cores and plan)."""
    pids = {**bench.probe.pids, "svc": floor.child.pid, "envoy": floor.envoy_pid}
    probe = CpuProbe(pids, dict(bench.probe.cores))
    endpoints = Endpoints(bench.endpoints.upstream, floor.ports.http, floor.ports.grpc)
    pid = floor.child.pid
    return replace(bench, endpoints=endpoints, probe=probe, svc_pid=pid, envoy_pid=floor.envoy_pid)


async def _check(floor: Bench, cell: FloorCell) -> None:
    """One request of the cell on each path of the floor must come back whole."""
    for path in SERVICE_PATHS:
        target = floor.endpoints.target(path, cell.shape)
        session = target.session()
        try:
            sample = await asyncio.wait_for(session.call(), 30)
        finally:
            session.close()
            await target.aclose()
        if not sample.ok:
            raise PreflightError(f"the floor server, {cell.name} on {path}: {sample.error}")


async def _round(bench: Bench, floor: Bench, n: int, count: int) -> Results:
    """Round `n` of `count`, every cell (past `plan.floor_rounds`, the non-stream cell alone): direct,
    then per path the service and the floor back to back (floor first in odd rounds)."""
    out: Results = {}
    for cell in cells(bench)[: None if n < bench.plan.floor_rounds else 1]:
        window = cell.duration_s / 2
        bench.log(f"floor, round {n + 1}/{count}: {cell.name}")
        out[cell.name] = {"direct": await bench.loop("direct", cell.shape, 1, window)}
        for path in SERVICE_PATHS:
            pair = ((path, bench), (FLOOR_PATHS[path], floor))
            for key, which in pair if n % 2 == 0 else pair[::-1]:
                out[cell.name][key] = await which.loop(path, cell.shape, 1, window)
    return out


def paired(rounds: list[Results], name: str, path: str) -> Metrics:
    """The CPU ratios of one cell and path as the medians of each round's (the service's windows over the
    floor's measured right beside them: the VM's drift over a run cancels in a pair, not in a mean over
    the run), with each round's figure and the lowest and highest."""
    out: Metrics = {}
    for metric in ("edge_over_floor_x", "svc_over_floor_x"):
        values = [
            v
            for r in rounds
            if name in r
            for v in [_num(derive(r[name][path], r[name][FLOOR_PATHS[path]])[metric])]
            if v is not None
        ]
        if values:
            out |= {
                metric: statistics.median(values),
                f"{metric}_rounds": " ".join(f"{v:.3f}" for v in values),
                f"{metric}_min": min(values),
                f"{metric}_max": max(values),
            }
    return out


async def floor(bench: Bench, results: Results) -> None:
    """Capture the service's replies, start the floor server on the service core, measure both."""
    assert bench.workdir is not None, "the floor scenario needs a work directory"
    workdir = bench.workdir / "floor"
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        canned = await capture(bench.endpoints.grpc, [cell.shape for cell in cells(bench)])
    except CaptureError as exc:
        raise PreflightError(f"capturing the service's replies for the floor: {exc}") from exc
    save(canned, workdir / "canned.json")
    for name, what in canned.summary().items():
        bench.log(f"  captured {name}: {what}")
    cpus = frozenset({int(bench.probe.cores["service_core"])})
    server = await asyncio.to_thread(start_floor_server, workdir / "canned.json", workdir, cpus)
    try:
        floor_bench = _floor_bench(bench, server)
        for cell in cells(bench):
            await _check(floor_bench, cell)
        count = max(bench.plan.floor_rounds, bench.plan.floor_ratio_rounds)
        rounds = [await _round(bench, floor_bench, n, count) for n in range(count)]
    finally:
        await asyncio.to_thread(server.child.stop)
    for name, paths in combine(rounds).items():
        for path in SERVICE_PATHS:
            of_means = derive(paths[path], paths[FLOOR_PATHS[path]])
            paths[path] = {
                **of_means,
                "edge_over_floor_x_of_means": of_means["edge_over_floor_x"],
                **paired(rounds, name, path),
            }
        for path in FLOOR_PATHS.values():
            paths[path] = with_us(paths[path])
        results[name] = paths
    results["floor_canned"] = canned.summary()
