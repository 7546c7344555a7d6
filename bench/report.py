"""The one table (per scenario: direct, REST through Envoy, typed gRPC, ratios, targets) and the verdicts.

Targets (issue 6, point 3) are judged on the REST path ("through Envoy"); the gRPC verdict is
shown beside it for information (`batched` rows: gRPC `StreamCreateBatched`). Added latency is
`rejoinder - direct`; throughput ratios are `rejoinder / direct`; CPU and RSS targets are absolute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bench.scenarios import CONTENDED_PCT, Metrics, Plan, Results

Ratio = Literal["x", "pct", ""]
Check = Literal["added_max", "abs_max", "ratio_min"]


@dataclass(frozen=True)
class Goal:
    """A target on one row."""

    check: Check
    limit: float
    text: str
    grpc_limit: float | None = None  # a different limit in the gRPC column
    both: bool = False  # the target names both surfaces: the gRPC verdict counts too


@dataclass(frozen=True)
class Row:
    """One line of the table: one metric of one scenario on the three paths."""

    scenario: str
    label: str
    metric: str
    unit: str
    ratio: Ratio = ""
    goal: Goal | None = None
    direct_from: str | None = None  # scenario whose direct figure is the baseline
    has_direct: bool = True
    grpc_path: str = "grpc"  # the path shown in the gRPC column
    has_rest: bool = True
    rest_path: str = "rest"  # the path shown in the REST column


P50_ADDED = Goal("added_max", 2.0, "+<=2 ms over direct")
CPU_REQ = Goal("abs_max", 1.0, "<=1 ms svc CPU/req")
CPU_DELTA = Goal("abs_max", 25.0, "<=25 us svc CPU/delta")
# Rows of gRPC StreamCreateBatched: figures in the gRPC column, nothing in the REST one.
BATCHED_ROW: dict[str, Any] = {"grpc_path": "grpc_batched", "has_rest": False}
NO_DIRECT: dict[str, Any] = {**BATCHED_ROW, "has_direct": False}


def rows(plan: Plan) -> list[Row]:
    """Every row, in table order."""
    out = [
        Row("nonstream_c1", "non-stream c=1", "p50_ms", "p50 ms", "x", P50_ADDED),
        Row("nonstream_c1", "non-stream c=1", "p95_ms", "p95 ms", "x"),
        Row("nonstream_c1", "non-stream c=1", "p99_ms", "p99 ms", "x"),
        Row(
            "nonstream_c1", "non-stream c=1", "svc_cpu_ms_per_req", "svc CPU ms/req", "", CPU_REQ, None, False
        ),
        Row(
            "nonstream_c1",
            "non-stream c=1",
            "envoy_cpu_ms_per_req",
            "Envoy CPU ms/req",
            "",
            None,
            None,
            False,
        ),
    ]
    for c in plan.concurrencies:
        name, label = f"nonstream_c{c}", f"non-stream c={c}"
        goal = Goal("ratio_min", 0.20, ">=20% of direct rps") if c == 64 else None
        out += [
            Row(name, label, "throughput_rps", "throughput rps", "pct", goal),
            Row(name, label, "p50_ms", "p50 ms", "x"),
            Row(name, label, "p99_ms", "p99 ms", "x"),
        ]
    for tokens in plan.stream_tokens:
        name, label = f"stream_{tokens}", f"stream {tokens} tok c=1"
        out += [
            Row(name, label, "ttft_p50_ms", "first delta p50 ms", "x", P50_ADDED),
            Row(name, label, "p50_ms", "total p50 ms", "x"),
            Row(name, label, "svc_cpu_us_per_delta", "svc CPU us/delta", "", CPU_DELTA, None, False),
            Row(name, label, "envoy_cpu_us_per_delta", "Envoy CPU us/delta", "", None, None, False),
            Row(name, label, "ttft_p50_ms", "first delta p50, batched", "x", P50_ADDED, **BATCHED_ROW),
            Row(name, label, "svc_cpu_us_per_delta", "svc CPU us/delta, batched", "", CPU_DELTA, **NO_DIRECT),
        ]
    idle = f"{plan.idle_streams} open streams"
    out += [
        Row("idle_streams", idle, "held", "streams held", "pct"),
        Row("idle_streams", idle, "errors", "errors", "", Goal("abs_max", 0, "no errors")),
        Row(
            "idle_streams",
            idle,
            "rss_mb",
            "svc+Envoy RSS MB",
            "",
            Goal("abs_max", 400, "<=400 MB"),
            None,
            False,
        ),
        Row("idle_streams", idle, "svc_rss_mb", "svc RSS MB", "", None, None, False),
        Row("idle_streams", idle, "upstream_open_held", "upstream conns open", "pct"),
        Row("idle_streams", idle, "upstream_open_after_close", "upstream conns 2s after", ""),
        Row("idle_streams", idle, "capacity_after", "then: new streams of 100", "", None, None, False),
        Row("store_c1", "store:true c=1", "p50_ms", "p50 ms", "x", None, "nonstream_c1"),
        Row("store_c1", "store:true c=1", "svc_cpu_ms_per_req", "svc CPU ms/req", "", None, None, False),
        Row("store_c64", "store:true c=64", "throughput_rps", "throughput rps", "pct", None, "nonstream_c64"),
    ]
    alone: dict[str, Any] = {"has_direct": False}
    for name, label in (("beside_big", "beside max request"), ("beside_many", "beside 10k short")):
        out += [
            Row(name, label, "alone_p99_ms", "small p99 ms alone", "", None, **alone),
            Row(name, label, "beside_p99_ms", "small p99 ms beside", "", None, **alone),
            Row(
                name, label, "added_p99_ms", "added p99 ms", "", Goal("abs_max", 5.0, "+<=5 ms p99"), **alone
            ),
            Row(name, label, "added_p50_ms", "added p50 ms", "", None, **alone),
            Row(name, label, "big_s", "one big request s", "", None, **alone),
        ]
    harness = "harness c=64"
    out += [
        Row("nonstream_c64", harness, "core0_busy_pct", "core0 busy % (svc+Envoy)", "", None, None, False),
        Row("nonstream_c64", harness, "core1_busy_pct", "core1 busy % (load+upstr)", ""),
        Row("nonstream_c64", harness, "loadgen_cpu_us_per_req", "load-gen CPU us/req", ""),
        Row("nonstream_c64", harness, "upstream_cpu_us_per_req", "upstream CPU us/req", ""),
        Row("nonstream_c64", harness, "upstream_conns_per_100_req", "upstream new conns/100 req", ""),
        Row("nonstream_c64", harness, "other_core0_pct", "other procs on core0 %", ""),
        Row("nonstream_c64", harness, "other_core1_pct", "other procs on core1 %", ""),
    ]
    return out + floor_rows(plan) + burst_rows(plan)


# Issue 13: the service against the floor (`bench.floor`), and a burst on one core (`bench.burst`).
FLOOR: dict[str, Any] = {"rest_path": "floor_rest", "grpc_path": "floor_grpc"}
FLOOR_NO_DIRECT: dict[str, Any] = {**FLOOR, "has_direct": False}
FLOOR_CPU = Goal("abs_max", 2.0, "<=2x floor CPU/req")
FIRST_ADDED = Goal("added_max", 1.5, "+<=1.5 ms over direct", both=True)
DELTA_CPU = Goal("abs_max", 15.0, "<=15/25 us over floor", grpc_limit=25.0, both=True)  # REST/gRPC
FIRST_EARLY = Goal("abs_max", 0.5, "first/total <=0.5", both=True)
SAME_RUN: dict[str, Any] = {"has_direct": False}


def floor_rows(plan: Plan) -> list[Row]:
    """The floor's figures (REST: the floor's Envoy and servicer; gRPC: the floor servicer), the
    service's measured beside them, and the comparisons with their targets."""
    name, label = "floor_nonstream_c1", "floor non-stream"
    out = [
        Row(name, label, "p50_ms", "floor: p50 ms", "x", **FLOOR),
        Row(name, label, "svc_cpu_us_per_req", "floor: svc CPU us/req", "", **FLOOR_NO_DIRECT),
        Row(name, label, "envoy_cpu_us_per_req", "floor: Envoy CPU us/req", "", **FLOOR_NO_DIRECT),
        Row(name, label, "p50_ms", "service: p50 ms", "x"),
        Row(name, label, "svc_cpu_us_per_req", "service: svc CPU us/req", "", **SAME_RUN),
        Row(name, label, "envoy_cpu_us_per_req", "service: Envoy CPU us/req", "", **SAME_RUN),
        Row(name, label, "edge_over_floor_x", "svc+Envoy / floor+Envoy", "", FLOOR_CPU, **SAME_RUN),
        Row(name, label, "edge_over_floor_x_min", "  lowest round", "", **SAME_RUN),
        Row(name, label, "edge_over_floor_x_max", "  highest round", "", **SAME_RUN),
        Row(name, label, "edge_over_floor_x_of_means", "  of the means", "", **SAME_RUN),
        Row(name, label, "svc_over_floor_x", "svc / floor servicer", "", **SAME_RUN),
    ]
    for tokens in plan.stream_tokens:
        name, label = f"floor_stream_{tokens}", f"floor stream {tokens}"
        long = tokens == max(plan.stream_tokens)
        out += [
            Row(name, label, "ttft_p50_ms", "floor: first delta p50 ms", "x", **FLOOR),
            Row(name, label, "p50_ms", "floor: total p50 ms", "x", **FLOOR),
            Row(name, label, "svc_cpu_us_per_delta", "floor: svc CPU us/delta", "", **FLOOR_NO_DIRECT),
            Row(name, label, "envoy_cpu_us_per_delta", "floor: Envoy CPU us/delta", "", **FLOOR_NO_DIRECT),
            Row(name, label, "ttft_p50_ms", "service: first delta p50", "x", FIRST_ADDED if long else None),
            Row(name, label, "ttft_over_floor_ms", "  first delta over floor's", "", **SAME_RUN),
            Row(name, label, "p50_ms", "service: total p50 ms", "x"),
            Row(name, label, "svc_cpu_us_per_delta", "service: svc CPU us/delta", "", **SAME_RUN),
            Row(
                name,
                label,
                "svc_us_per_delta_over_floor",
                "svc us/delta over floor",
                "",
                DELTA_CPU if long else None,
                **SAME_RUN,
            ),
            Row(name, label, "envoy_us_per_delta_over_floor", "Envoy us/delta over floor", "", **SAME_RUN),
        ]
    return out


def burst_rows(plan: Plan) -> list[Row]:
    """The streams with the upstream on the service core: first delta against the whole stream."""
    out: list[Row] = []
    for tokens in plan.stream_tokens:
        name, label = f"burst_{tokens}", f"burst {tokens} tok c=1"
        out += [
            Row(name, label, "ttft_p50_ms", "first delta p50 ms", "x", FIRST_ADDED),
            Row(name, label, "p50_ms", "total p50 ms", "x"),
            Row(name, label, "first_over_total", "first delta / total p50", "", FIRST_EARLY),
            Row(name, label, "svc_cpu_us_per_delta", "svc CPU us/delta", "", **SAME_RUN),
        ]
    return out


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def fmt(value: float | None) -> str:
    """Three significant-ish digits."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(kind: Ratio, value: float | None, base: float | None) -> str:
    if not kind or value is None or not base:
        return ""
    if kind == "pct":
        return f"{100 * value / base:.1f}%"
    return f"x{value / base:.2f}"


@dataclass(frozen=True)
class Verdict:
    """One target judged on one path."""

    row: Row
    path: str
    value: float | None
    baseline: float | None
    passed: bool
    shown: str


def judge(row: Row, path: str, value: float | None, base: float | None) -> Verdict | None:
    """The verdict of `row`'s goal on `path`, or None when the row has no goal."""
    goal = row.goal
    if goal is None:
        return None
    if value is None or (goal.check != "abs_max" and base is None):
        return Verdict(row, path, value, base, False, "FAIL (no data)")
    if goal.check == "added_max":
        assert base is not None
        added = value - base
        return Verdict(row, path, value, base, added <= goal.limit, f"{added:+.2f} ms")
    if goal.check == "ratio_min":
        assert base is not None
        share = value / base if base else 0.0
        return Verdict(row, path, value, base, share >= goal.limit, f"{100 * share:.1f}%")
    limit = goal.grpc_limit if goal.grpc_limit is not None and path != "rest" else goal.limit
    return Verdict(row, path, value, base, value <= limit, fmt(value))


def _metric(results: Results, scenario: str, path: str, metric: str) -> float | None:
    cell: Metrics = results.get(scenario, {}).get(path, {})
    return _num(cell.get(metric))


def render(results: Results, plan: Plan) -> tuple[str, list[Verdict]]:
    """The table as text, and every verdict."""
    header = (
        f"{'scenario':<19} {'metric':<26} {'direct':>8} {'REST':>8} {'gRPC':>8} "
        f"{'REST/dir':>9} {'gRPC/dir':>9}  {'target':<22} {'REST':<15} {'gRPC':<15}"
    )
    lines = [header, "-" * len(header)]
    verdicts: list[Verdict] = []
    for row in rows(plan):
        if row.scenario not in results:
            continue
        base = _metric(results, row.direct_from or row.scenario, "direct", row.metric)
        base = base if row.has_direct else None
        rest = _metric(results, row.scenario, row.rest_path, row.metric) if row.has_rest else None
        grpc = _metric(results, row.scenario, row.grpc_path, row.metric)
        judged = [
            judge(row, path, v, base) if shown else None
            for path, v, shown in ((row.rest_path, rest, row.has_rest), (row.grpc_path, grpc, True))
        ]
        verdicts += [v for v in judged if v is not None]
        cells = [_verdict_text(v) for v in judged]
        lines.append(
            f"{row.label:<19} {row.unit:<26} {fmt(base) if row.has_direct else '-':>8} {fmt(rest):>8} "
            f"{fmt(grpc):>8} {_ratio(row.ratio, rest, base):>9} {_ratio(row.ratio, grpc, base):>9}  "
            f"{row.goal.text if row.goal else '':<22} {cells[0]:<15} {cells[1]:<15}"
        )
    return "\n".join(lines), verdicts


def contention(results: Results) -> str | None:
    """A warning when other processes took a core a measured cell needed (see `contended`)."""
    worst: tuple[float, str] = (0.0, "")
    for scenario, paths in results.items():
        for path, cell in paths.items():
            value = _num(cell.get("contended_pct"))
            if value is not None and value > worst[0]:
                worst = (value, f"{scenario}/{path}")
    if worst[0] < CONTENDED_PCT:
        return None
    return (
        f"WARNING: other processes took up to {worst[0]:.0f}% of a core the bench needed ({worst[1]}), "
        "even after retries: those figures are unreliable; rerun on a quiet machine (or with --nice -10)"
    )


def counted(verdicts: list[Verdict]) -> list[Verdict]:
    """The verdicts the summary line counts: every REST one, and the gRPC ones of targets that name
    both surfaces (the other gRPC verdicts are for information)."""
    return [v for v in verdicts if v.path == "rest" or (v.row.goal is not None and v.row.goal.both)]


def _verdict_text(verdict: Verdict | None) -> str:
    if verdict is None:
        return ""
    return f"{'PASS' if verdict.passed else 'FAIL'} {verdict.shown}"


def verdicts_json(verdicts: list[Verdict]) -> list[Mapping[str, object]]:
    """The verdicts as JSON-ready dicts (`counted`: in the summary line's count)."""
    judged = counted(verdicts)
    return [
        {
            "scenario": v.row.scenario,
            "metric": v.row.metric,
            "target": v.row.goal.text if v.row.goal else "",
            "path": v.path,
            "value": v.value,
            "direct": v.baseline,
            "passed": v.passed,
            "shown": v.shown,
            "counted": v in judged,
        }
        for v in verdicts
    ]
