"""The cells of `--scaling`, measured on every system in rounds, each reduced to flat metrics.

Everything runs on both cores (there is no third one for the load): the systems, the bench upstream and
the load generator. So every window reads the CPU of each group: the measured system's whole process
tree (`svc`: supervisor, workers, Envoy; LiteLLM's supervisor and workers), the load (`loadgen`: this
process; `upstream`: the bench upstream), the PostgreSQL server (`store`, its backends included), the
other systems standing idle (`idle`), and what the machine spent beyond all of ours (`other`: someone
else's processes; a window where they took over `CONTENDED_PCT` of a core is run again, up to
`retries` times). Busy figures are in cores (seconds per second of wall time, out of 2).

In each round, each cell is measured on every system that has it, one right after the other, the order
rotated from round to round (the machine's speed drifts over tens of seconds: the systems compared
should share the drift); the rounds are averaged (`observability.combine`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bench.conns import accepted_by_pid
from bench.load import LoopResult, LoopSpec, Target, closed_loop
from bench.proctree import TreeProbe
from bench.scaling_systems import System
from bench.scaling_targets import GRPC_CHANNELS, grpc_target, rest_target
from bench.scenarios import CONTENDED_PCT, Metrics, PreflightError, Results, percentile
from bench.targets import Shape

STORE_GROUP = "store"
NONSTREAM = Shape(tokens=16, stream=False)
STREAM = Shape(tokens=64, stream=True)
STORED = Shape(tokens=16, stream=False, store=True)


@dataclass(frozen=True)
class WindowPlan:
    """Warm-up and measured seconds of every window, its request budget, the rounds, the warm-up of
    each system before them, and the Envoy restarts of the port choice."""

    warmup_s: float
    duration_s: float
    max_requests: int
    rounds: int
    settle_s: float  # each system's warm-up, once, before the first round
    envoy_draws: int  # restarts of the shared-port Envoy (`bench.scaling_ports`)
    draw_s: float  # the window after each


FULL = WindowPlan(1.0, 4.0, 100_000, rounds=2, settle_s=3.0, envoy_draws=10, draw_s=1.0)
QUICK = WindowPlan(0.3, 1.0, 30_000, rounds=1, settle_s=1.0, envoy_draws=4, draw_s=0.5)


@dataclass(frozen=True)
class Cell:
    """One request shape at one concurrency on one path."""

    key: str
    label: str
    shape: Shape
    concurrency: int
    path: str  # "rest" (through the system's HTTP port) or "grpc" (the shared public gRPC port)


CELLS = (
    Cell("c1", "non-stream c=1 REST", NONSTREAM, 1, "rest"),
    Cell("c64", "non-stream c=64 REST", NONSTREAM, 64, "rest"),
    Cell("grpc64", f"non-stream c=64 gRPC ({GRPC_CHANNELS} conns)", NONSTREAM, 64, "grpc"),
    Cell("stream64", "stream 64 tok c=1 REST", STREAM, 1, "rest"),
    Cell("store64", "store:true c=64 REST", STORED, 64, "rest"),
)
# Which cells each kind of system runs (by `System.key` prefix, see `scaling.SYSTEMS`).
CELLS_OF = {
    "rejoinder": ("c1", "c64", "grpc64", "stream64", "store64"),
    "shared": ("c64",),
    "postgres": ("store64",),
    "litellm": ("c1", "c64", "stream64"),
}


def cells_of(system: System, role: str) -> list[Cell]:
    """The cells `system` runs, given its role in the comparison (a key of `CELLS_OF`)."""
    return [cell for cell in CELLS if cell.key in CELLS_OF[role]]


def target(system: System, cell: Cell) -> Target:
    return grpc_target(system, cell.shape) if cell.path == "grpc" else rest_target(system, cell.shape)


def _ports(system: System, cell: Cell) -> tuple[int, ...]:
    """Where the cell's connections reach the workers: the shared gRPC port, or the front's ports."""
    if cell.path == "grpc" and system.grpc_port is not None:
        return (system.grpc_port,)
    return system.listen_ports


def _per_req(seconds: float, count: int) -> float | None:
    return seconds / count * 1e6 if count else None


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def window_metrics(
    result: LoopResult, system: System, per_pid: Mapping[int, float], idle: Sequence[str]
) -> Metrics:
    """Latency, throughput, CPU per request of each group, busy cores, and the workers' split."""
    ok = [s for s in result.samples if s.ok]
    n, cpu = len(ok), result.cpu
    wall = cpu["wall"]
    svc = cpu[system.key]
    envoy = sum(per_pid.get(pid, 0.0) for pid in system.envoy_pids)
    workers = [per_pid.get(pid, 0.0) for pid in system.worker_pids]
    load = cpu["loadgen"] + cpu["upstream"]
    store = cpu.get(STORE_GROUP, 0.0)
    idle_s = sum(cpu.get(key, 0.0) for key in idle)
    other = max(0.0, cpu["machine"] - svc - load - store - idle_s)
    ttfts = [s.ttft for s in ok if s.ttft is not None]
    metrics: Metrics = {
        "count": n,
        "errors": result.errors,
        "first_error": result.first_error,
        "window_s": result.window_s,
        "throughput_rps": n / result.window_s,
        "p50_ms": _ms(percentile([s.latency for s in ok], 50)),
        "p99_ms": _ms(percentile([s.latency for s in ok], 99)),
        "ttft_p50_ms": _ms(percentile(ttfts, 50)),
        "svc_cpu_us_per_req": _per_req(svc, n),
        "envoy_cpu_us_per_req": _per_req(envoy, n) if system.envoy_pids else None,
        "workers_cpu_us_per_req": _per_req(sum(workers), n),
        "rest_of_tree_cpu_us_per_req": _per_req(svc - envoy - sum(workers), n),
        "loadgen_cpu_us_per_req": _per_req(cpu["loadgen"], n),
        "upstream_cpu_us_per_req": _per_req(cpu["upstream"], n),
        "load_cpu_us_per_req": _per_req(load, n),
        "store_cpu_us_per_req": _per_req(store, n) if system.external_store else None,
        "svc_cores": svc / wall,
        "load_cores": load / wall,
        "store_cores": store / wall,
        "idle_systems_cores": idle_s / wall,
        "other_cores": other / wall,
        "machine_cores": cpu["machine"] / wall,
        "contended_pct": 100 * other / wall,
    }
    total = sum(workers)
    for index, seconds in enumerate(workers):
        metrics[f"worker{index}_share_pct"] = 100 * seconds / total if total else None
    return metrics


@dataclass
class Measurer:
    """Runs windows: one probe over every group, the plan, the log, the retries."""

    systems: dict[str, System]
    probe: TreeProbe
    plan: WindowPlan
    log: Callable[[str], None]
    retries: int = 2

    async def window(self, system: System, cell: Cell) -> Metrics:
        """One closed-loop window, run again (up to `retries` times) when someone else took a core."""
        idle = [key for key in self.systems if key != system.key]
        metrics: Metrics = {}
        for attempt in range(1 + self.retries):
            tgt = target(system, cell)
            spec = LoopSpec(
                cell.concurrency, self.plan.warmup_s, self.plan.duration_s, self.plan.max_requests
            )
            try:
                result = await closed_loop(tgt, spec, self.probe)
                conns = accepted_by_pid(system.worker_pids, _ports(system, cell))  # still connected
            finally:
                await tgt.aclose()
            metrics = window_metrics(result, system, self.probe.per_pid, idle)
            for index, pid in enumerate(system.worker_pids):
                metrics[f"worker{index}_conns"] = conns[pid]
            metrics["attempts"] = attempt + 1
            self.log(
                f"  {system.label:<28} {cell.label:<30} {metrics['count']:>6} ok, {metrics['errors']} err, "
                f"{_f(metrics['throughput_rps']):.0f} rps, p50 {_f(metrics['p50_ms']):.2f} ms, "
                f"{_f(metrics['svc_cpu_us_per_req']):.0f} us/req, "
                f"others {_f(metrics['other_cores']):.2f} cores"
            )
            if _f(metrics["contended_pct"]) < CONTENDED_PCT:
                break
            self.log(f"  others took {_f(metrics['contended_pct']):.0f}% of a core: again")
        return metrics

    async def warm(self, system: System) -> None:
        """`plan.settle_s` of non-stream requests at c=8, not measured: first requests cost more
        (imports, caches, connection pools), in LiteLLM much more."""
        tgt = rest_target(system, NONSTREAM)
        spec = LoopSpec(8, self.plan.settle_s, 0.0, 0)
        try:
            await closed_loop(tgt, spec, self.probe)
        finally:
            await tgt.aclose()

    async def rounds(self, roles: Mapping[str, str]) -> list[Results]:
        """`plan.rounds` rounds of every cell on every system that runs it, order rotated each round."""
        out: list[Results] = []
        for n in range(self.plan.rounds):
            results: Results = {}
            for cell in CELLS:
                keys = [key for key in self.systems if cell in cells_of(self.systems[key], roles[key])]
                if not keys:
                    continue
                shift = n % len(keys)
                self.log(f"round {n + 1}/{self.plan.rounds}: {cell.label}")
                for key in keys[shift:] + keys[:shift]:
                    metrics = await self.window(self.systems[key], cell)
                    results.setdefault(key, {})[cell.key] = metrics
            out.append(results)
        return out


def _f(value: object) -> float:
    return float(value) if isinstance(value, int | float) else float("nan")


async def preflight(system: System, role: str) -> None:
    """One request of each shape the system will be sent must succeed."""
    for cell in cells_of(system, role):
        tgt = target(system, cell)
        session = tgt.session()
        try:
            sample = await asyncio.wait_for(session.call(), 30)
        finally:
            session.close()
            await tgt.aclose()
        if not sample.ok:
            raise PreflightError(f"{system.label}: {cell.label} failed: {sample.error}")
