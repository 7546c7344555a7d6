"""`python -m bench --observability`: what the service's metrics and tracing cost per request.

The same cells (non-stream c=1, stream 64 tokens c=1, on REST through Envoy and on gRPC) are measured
against three services, all started at once (idle, one costs nothing) on the same bench upstream:

- `off`: `rejoinder serve --no-metrics`, tracing off (no `OTEL_*` variable);
- `metrics`: metrics on (the default; `--metrics-port 0`), tracing off;
- `metrics+traces`: metrics on, and tracing on through the standard variables (`OTEL_TRACES_EXPORTER=otlp`,
  `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:<sink>`, protocol `grpc`): the service's batch span
  processor exports over OTLP/gRPC to `bench.otlp_sink`, a real collector endpoint the bench starts on the
  load core, which counts the spans it receives.

The machine's speed drifts by more than metrics cost over tens of seconds, so the windows are short and
interleaved: in each round, each cell and path is measured on the three services back to back (the order
rotated from round to round), and the table shows the means and each cost's lowest and highest value in
one round.

`OTEL_*` and `REJOINDER_METRICS` of the bench's own environment are not passed on, so each service runs
exactly the configuration named. Proof that each really ran: the spans the sink received (per service
request, by span name), and the calls the service's `/metrics` counted (`rejoinder_requests_total`),
both compared with the requests the upstream served for that service.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from bench.procs import LOOPBACK
from bench.scenarios import FULL, QUICK, Bench, Cell, Metrics, Plan, PreflightError, Results, preflight
from bench.targets import Shape

PATHS = ("rest", "grpc")
STREAM_TOKENS = 64
METRICS_LINE = re.compile(r"metrics on (http://\S+/metrics)")
REQUESTS_SAMPLE = "rejoinder_requests_total{"
HEALTH_ROUTE = 'route="Check"'
TRACED_NAME = "rejoinder-bench-traces"  # the only service that may send spans


@dataclass(frozen=True)
class Config:
    """One service configuration."""

    key: str
    label: str
    metrics: bool
    tracing: bool

    def service_args(self) -> tuple[str, ...]:
        """`rejoinder serve` flags: metrics off, or on at a free port (never the default 9464)."""
        return ("--metrics-port", "0") if self.metrics else ("--no-metrics",)

    def env(self, base: Mapping[str, str], sink_port: int) -> dict[str, str]:
        """`base` without any `OTEL_*` or `REJOINDER_METRICS`, plus the tracing variables when on."""
        env = {k: v for k, v in base.items() if not k.startswith("OTEL_") and k != "REJOINDER_METRICS"}
        return env | self.otel_env(sink_port)

    def otel_env(self, sink_port: int) -> dict[str, str]:
        """The `OTEL_*` variables this configuration sets."""
        if not self.tracing:
            return {}
        return {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{LOOPBACK}:{sink_port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
            "OTEL_SERVICE_NAME": TRACED_NAME,
        }


CONFIGS = (
    Config("off", "off", metrics=False, tracing=False),
    Config("metrics", "metrics", metrics=True, tracing=False),
    Config("traces", "metrics+traces", metrics=True, tracing=True),
)


def plan_for(*, quick: bool) -> Plan:
    """Short windows, many of them: 0.5 s of warm-up and 2 s measured (quick: the main bench's 0.3 s
    and 1 s)."""
    return QUICK if quick else replace(FULL, warmup_s=0.5, duration_s=2.0, stream_duration_s=2.0)


def cells(plan: Plan) -> tuple[Cell, ...]:
    """The measured cells (the scenario names of the main bench)."""
    return (
        Cell("nonstream_c1", Shape(tokens=plan.nonstream_tokens, stream=False), 1, plan.duration_s),
        Cell(f"stream_{STREAM_TOKENS}", Shape(tokens=STREAM_TOKENS, stream=True), 1, plan.stream_duration_s),
    )


def scenario_key(cell: str, config: Config) -> str:
    """Where a cell of a configuration goes in `results`: `nonstream_c1@metrics`."""
    return f"{cell}@{config.key}"


def order(round_no: int) -> tuple[Config, ...]:
    """The configurations in round `round_no` (from 0): rotated, so none is always first."""
    shift = round_no % len(CONFIGS)
    return CONFIGS[shift:] + CONFIGS[:shift]


@dataclass
class Measured:
    """Each round's results, and the requests the upstream served for each configuration."""

    rounds: list[Results]
    served: dict[str, int]


async def _served(bench: Bench) -> int:
    return (await bench.upstream_stats())[0]


async def measure(benches: Mapping[str, Bench], rounds: int, log: Callable[[str], None]) -> Measured:
    """`rounds` rounds; in each, every cell on each path against each configuration in turn (so
    that what drifts on the machine over seconds weighs on the three alike)."""
    first = benches[CONFIGS[0].key]
    served = dict.fromkeys(benches, 0)
    for key, bench in benches.items():
        before = await _served(bench)
        try:
            await preflight(bench, PATHS)
        except PreflightError as exc:
            raise PreflightError(f"the {key!r} service: {exc}") from exc
        served[key] += await _served(bench) - before
    out: list[Results] = []
    for n in range(rounds):
        results: Results = {}
        for cell in cells(first.plan):
            log(f"round {n + 1}/{rounds}: {cell.name}, c={cell.concurrency}")
            for path in PATHS:
                for config in order(n):
                    bench = benches[config.key]
                    before = await _served(bench)
                    metrics = await bench.loop(path, cell.shape, cell.concurrency, cell.duration_s)
                    served[config.key] += await _served(bench) - before
                    results.setdefault(scenario_key(cell.name, config), {})[path] = metrics
        out.append(results)
    return Measured(out, served)


def metrics_url(service_log: str) -> str | None:
    """The `/metrics` address the service announced (None: it serves no metrics)."""
    found = METRICS_LINE.search(service_log)
    return found.group(1) if found else None


def counted_calls(text: str) -> float:
    """The sum of `rejoinder_requests_total` in a scrape, health checks (`route="Check"`) left out."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(REQUESTS_SAMPLE) and HEALTH_ROUTE not in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def scrape(url: str) -> str:
    """The text of `/metrics`."""
    with urllib.request.urlopen(url, timeout=5) as reply:
        text: str = reply.read().decode()
    return text


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def combine(rounds: Sequence[Results]) -> Results:
    """Each cell's metrics averaged over the rounds (a figure missing in a round is left out);
    `rounds` says how many rounds had the cell."""
    out: Results = {}
    for results in rounds:
        for key, paths in results.items():
            for path in paths:
                cells = [r[key][path] for r in rounds if path in r.get(key, {})]
                merged: Metrics = dict(cells[0])
                for metric in merged:
                    values = [v for v in (_number(c.get(metric)) for c in cells) if v is not None]
                    if values and _number(merged[metric]) is not None:
                        merged[metric] = sum(values) / len(values)
                merged["rounds"] = len(cells)
                out.setdefault(key, {})[path] = merged
    return out


# ---- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One metric of one cell on one path, across the configurations."""

    cell: str
    label: str
    metric: str
    unit: str
    scale: float
    path: str


def rows() -> list[Row]:
    """Every row, in table order."""
    stream = f"stream_{STREAM_TOKENS}"
    out: list[Row] = []
    for cell, label, latencies in (
        ("nonstream_c1", "non-stream c=1", (("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"))),
        (
            stream,
            f"stream {STREAM_TOKENS} tok c=1",
            (("ttft_p50_ms", "first delta p50 ms"), ("p50_ms", "total p50 ms"), ("p99_ms", "total p99 ms")),
        ),
    ):
        out += [
            Row(cell, label, "svc_cpu_ms_per_req", "svc CPU us/req", 1000, "rest"),
            Row(cell, label, "svc_cpu_ms_per_req", "svc CPU us/req", 1000, "grpc"),
            Row(cell, label, "envoy_cpu_ms_per_req", "Envoy CPU us/req", 1000, "rest"),
        ]
        out += [Row(cell, label, m, unit, 1, path) for m, unit in latencies for path in PATHS]
    return out


def _value(results: Results, row: Row, config: Config) -> float | None:
    cell: Metrics = results.get(scenario_key(row.cell, config), {}).get(row.path, {})
    value = _number(cell.get(row.metric))
    return None if value is None else value * row.scale


def per_round(rounds: Sequence[Results], row: Row, base: Config, config: Config) -> list[float]:
    """`config - base` in each round where both were measured (the pairs measured back to back)."""
    out = []
    for results in rounds:
        a, b = _value(results, row, base), _value(results, row, config)
        if a is not None and b is not None:
            out.append(b - a)
    return out


def _fmt(value: float | None, scale: float) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if scale >= 1000 else f"{value:.3f}"


def _signed(value: float, scale: float) -> str:
    return f"{value:+.0f}" if scale >= 1000 else f"{value:+.3f}"


def _delta(value: float | None, base: float | None, scale: float) -> str:
    if value is None or base is None:
        return "-"
    diff = value - base
    return f"{_signed(diff, scale)} ({100 * diff / base:+.1f}%)" if base else _signed(diff, scale)


def _range(diffs: Sequence[float], scale: float) -> str:
    if len(diffs) < 2:
        return "-"
    return f"{_signed(min(diffs), scale)}..{_signed(max(diffs), scale)}"


def costs(results: Results, rounds: Sequence[Results]) -> list[dict[str, object]]:
    """Per row: the three means, what metrics and tracing added, and those per round (for the JSON)."""
    off, metrics, traces = CONFIGS
    out: list[dict[str, object]] = []
    for row in rows():
        a, b, c = (_value(results, row, config) for config in CONFIGS)
        out.append(
            {
                "cell": row.cell,
                "path": row.path,
                "metric": row.unit,
                "values": {config.key: v for config, v in zip(CONFIGS, (a, b, c), strict=True)},
                "metrics_cost": None if a is None or b is None else b - a,
                "tracing_cost": None if b is None or c is None else c - b,
                "metrics_cost_per_round": per_round(rounds, row, off, metrics),
                "tracing_cost_per_round": per_round(rounds, row, metrics, traces),
            }
        )
    return out


def render(results: Results, rounds: Sequence[Results] = ()) -> str:
    """The table: each configuration (the mean of the rounds); what metrics added (metrics - off) and
    what tracing added (metrics+traces - metrics), each with its lowest and highest value in one round."""
    off, metrics, traces = CONFIGS
    header = (
        f"{'scenario':<18} {'metric':<19} {'path':<4} {off.label:>7} {metrics.label:>7} "
        f"{traces.label:>14}  {'metrics cost':>16} {'(rounds)':>15}  {'tracing cost':>17} {'(rounds)':>15}"
    )
    lines = [header, "-" * len(header)]
    for row in rows():
        a, b, c = (_value(results, row, config) for config in CONFIGS)
        path = "REST" if row.path == "rest" else "gRPC"
        by_metrics = _range(per_round(rounds, row, off, metrics), row.scale)
        by_tracing = _range(per_round(rounds, row, metrics, traces), row.scale)
        lines.append(
            f"{row.label:<18} {row.unit:<19} {path:<4} {_fmt(a, row.scale):>7} {_fmt(b, row.scale):>7} "
            f"{_fmt(c, row.scale):>14}  {_delta(b, a, row.scale):>16} {by_metrics:>15}  "
            f"{_delta(c, b, row.scale):>17} {by_tracing:>15}"
        )
    return "\n".join(lines)


def render_proof(services: Mapping[str, Mapping[str, object]], spans: Mapping[str, object]) -> str:
    """Lines saying that metrics and tracing really ran: calls counted, spans received."""
    lines = []
    for config in CONFIGS:
        doc = services[config.key]
        served, counted = doc.get("upstream_requests"), doc.get("metrics_calls_counted")
        parts = [f"{config.label:>14}: {served} requests served"]
        parts.append("no /metrics" if counted is None else f"/metrics counted {counted:.0f} calls")
        if config.tracing:
            received, names, by_service = spans.get("spans"), spans.get("names"), spans.get("services")
            assert isinstance(received, int) and isinstance(names, dict) and isinstance(by_service, dict)
            per = received / served if isinstance(served, int) and served else 0.0
            top = ", ".join(f"{n} {c}" for n, c in sorted(names.items(), key=lambda kv: -kv[1]))
            parts.append(
                f"the OTLP sink received {received} spans (from {', '.join(by_service) or 'nobody'}) in "
                f"{spans.get('exports')} exports, {per:.2f} per request: {top}"
            )
        lines.append("; ".join(parts))
    return "\n".join(lines)
