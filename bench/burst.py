"""`burst` (issue 13, point 4): a burst of upstream chunks on the service's own core.

The bench upstream answers a stream without delay in one write: the whole answer is there at once.
Here the upstream is moved onto the service core for the scenario (and back after it), so it shares
that core with the service and Envoy as an upstream on the same machine would: a 64- and a 512-token
stream at c=1 on the direct, REST and gRPC paths. The question is whether the first
`response.output_text.delta` leaves before the rest of the already-queued burst is encoded: the time to
the first delta against the time to the end of the stream, and their ratio (`first_over_total`,
p50 over p50). Results: `results["burst_<tokens>"][path]`.
"""

from __future__ import annotations

from dataclasses import replace

from bench.procs import pin, thread_affinity
from bench.scenarios import SERVICE_CORE, Bench, Metrics, Results
from bench.targets import PATHS, Shape


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def with_ratio(metrics: Metrics) -> Metrics:
    """`metrics` plus `first_over_total`: p50 time to the first text delta over p50 total time."""
    first, total = _num(metrics.get("ttft_p50_ms")), _num(metrics.get("p50_ms"))
    return {**metrics, "first_over_total": first / total if first is not None and total else None}


async def burst(bench: Bench, results: Results) -> None:
    """The streams of `plan.stream_tokens` with the upstream pinned to the service core."""
    upstream = bench.probe.pids["upstream"]
    service_core = frozenset({int(bench.probe.cores["service_core"])})
    load_core = frozenset({int(bench.probe.cores["load_core"])})
    colocated = replace(bench, on_service_core=(*SERVICE_CORE, "upstream"))
    pin(upstream, service_core)
    bench.log(f"burst: the upstream (pid {upstream}) now runs on cores {thread_affinity(upstream)}")
    try:
        for tokens in bench.plan.stream_tokens:
            bench.log(f"burst: stream, {tokens} tokens, c=1, the upstream on the service core")
            shape = Shape(tokens=tokens, stream=True)
            cell: dict[str, Metrics] = {}
            for path in PATHS:
                metrics = await colocated.loop(path, shape, 1, bench.plan.stream_duration_s)
                cell[path] = with_ratio(metrics)
            results[f"burst_{tokens}"] = cell
    finally:
        pin(upstream, load_core)
