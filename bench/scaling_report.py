"""The tables of `--scaling`: per system and N, the 16-core extrapolation, the port choice, the store's
write contention, and the recommended default N.

**The 16-core model.** A worker is one Python process, so a system's capacity is the cores it gets over
the CPU one request costs it: throughput(16) = 16 x 10^6 / (CPU µs per request of *all* its processes
at c=64: workers, supervisor, Envoy), with the load generator and the upstream on other machines. The
second figure keeps the load on the same 16 cores: 16 x 10^6 / (system + load generator + upstream µs
per request). Both hold only while the CPU per request does not grow with N (the N=2/N=1 column shows
whether it did from 1 to 2) and nothing else saturates first: the store (one SQLite writer at a time),
memory bandwidth, the kernel's loopback work charged to no process, SMT siblings counted as cores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.scenarios import CONTENDED_PCT, Metrics, Results

CORES_ON_PAPER = 16
CONNS = "conns"  # a row of the connections each worker held: "a/b"
GAIN_FOR_MORE_WORKERS = 0.10  # N=2 must add this share of c=64 throughput...
LATENCY_SLACK = 0.20  # ...without making c=1 p50 worse than this share


@dataclass(frozen=True)
class Row:
    """One figure of one cell."""

    label: str
    cell: str
    metric: str
    digits: int = 0
    ratio: bool = True  # N=2/N=1 means something


MAIN_ROWS = (
    Row("non-stream c=1 REST p50 ms", "c1", "p50_ms", 2),
    Row("non-stream c=1 REST p99 ms", "c1", "p99_ms", 2),
    Row("non-stream c=1 CPU us/req (all procs)", "c1", "svc_cpu_us_per_req"),
    Row("non-stream c=64 REST rps", "c64", "throughput_rps"),
    Row("non-stream c=64 REST p99 ms", "c64", "p99_ms", 1),
    Row("non-stream c=64 CPU us/req (all procs)", "c64", "svc_cpu_us_per_req"),
    Row("  of which Envoy us/req", "c64", "envoy_cpu_us_per_req"),
    Row("  of which workers us/req", "c64", "workers_cpu_us_per_req"),
    Row("  cores busy: system", "c64", "svc_cores", 2),
    Row("  cores busy: load gen + upstream", "c64", "load_cores", 2),
    Row("  cores busy: others (not ours)", "c64", "other_cores", 2),
    Row("  load gen + upstream us/req", "c64", "load_cpu_us_per_req"),
    Row("  worker 0 share of workers' CPU %", "c64", "worker0_share_pct", ratio=False),
    Row("non-stream c=64 gRPC rps (8 conns)", "grpc64", "throughput_rps"),
    Row("  gRPC CPU us/req (all procs)", "grpc64", "svc_cpu_us_per_req"),
    Row("  cores busy: load gen + upstream", "grpc64", "load_cores", 2),
    Row("  worker 0 share of workers' CPU %", "grpc64", "worker0_share_pct", ratio=False),
    Row("  connections per worker", "grpc64", CONNS, ratio=False),
    Row("stream 64 tok c=1 first delta p50 ms", "stream64", "ttft_p50_ms", 2),
    Row("stream 64 tok c=1 CPU us/req", "stream64", "svc_cpu_us_per_req"),
    Row("store:true c=64 REST rps (SQLite)", "store64", "throughput_rps"),
    Row("store:true c=64 REST p99 ms (SQLite)", "store64", "p99_ms", 1),
)
PORT_ROWS = (
    Row("c=64 REST rps", "c64", "throughput_rps"),
    Row("c=64 REST p99 ms", "c64", "p99_ms", 1),
    Row("CPU us/req (all procs)", "c64", "svc_cpu_us_per_req"),
    Row("  of which Envoy us/req", "c64", "envoy_cpu_us_per_req"),
    Row("worker 0 share of workers' CPU %", "c64", "worker0_share_pct"),
    Row("worker 1 share of workers' CPU %", "c64", "worker1_share_pct"),
    Row("Envoy's connections per worker", "c64", CONNS),
)
STORE_ROWS = (
    Row("store:false c=64 REST rps (reference)", "c64", "throughput_rps"),
    Row("store:true c=64 REST rps", "store64", "throughput_rps"),
    Row("store:true c=64 REST p50 ms", "store64", "p50_ms", 1),
    Row("store:true c=64 REST p99 ms", "store64", "p99_ms", 1),
    Row("errors", "store64", "errors"),
    Row("service CPU us/req (all procs)", "store64", "svc_cpu_us_per_req"),
    Row("PostgreSQL server CPU us/req", "store64", "store_cpu_us_per_req"),
)


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def value(results: Results, system: str, cell: str, metric: str) -> float | None:
    return _num(results.get(system, {}).get(cell, {}).get(metric))


def _fmt(number: float | None, digits: int) -> str:
    return "-" if number is None else f"{number:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or a == 0 else f"x{b / a:.2f}"


def _conns(metrics: Metrics) -> str:
    counts = []
    for index in range(64):
        count = _num(metrics.get(f"worker{index}_conns"))
        if count is None:
            break
        counts.append(f"{count:.0f}")
    return "/".join(counts) or "-"


def on_paper(results: Results, system: str) -> tuple[float | None, float | None]:
    """Requests/s on 16 cores: load elsewhere, and load on the same cores (see the module's model)."""
    svc = value(results, system, "c64", "svc_cpu_us_per_req")
    load = value(results, system, "c64", "load_cpu_us_per_req")
    alone = CORES_ON_PAPER * 1e6 / svc if svc else None
    shared = CORES_ON_PAPER * 1e6 / (svc + load) if svc and load is not None else None
    return alone, shared


def _table(results: Results, rows: Sequence[Row], columns: Sequence[tuple[str, str | None]]) -> list[str]:
    """`columns`: (header, system key), or (header, None) for the ratio of the two columns before it."""
    width = max(len(r.label) for r in rows) + 1
    header = f"{'':<{width}}" + "".join(f"{h:>16}" for h, _ in columns)
    lines = [header, "-" * len(header)]
    for row in rows:
        cells: list[str] = []
        shown: list[float | None] = []
        for _, key in columns:
            if key is None:
                cells.append(_ratio(shown[-2], shown[-1]) if row.ratio else "-")
                continue
            if row.metric == CONNS:
                cells.append(_conns(results.get(key, {}).get(row.cell, {})))
                continue
            number = value(results, key, row.cell, row.metric)
            shown.append(number)
            cells.append(_fmt(number, row.digits))
        if any(c != "-" for c in cells):
            lines.append(f"{row.label:<{width}}" + "".join(f"{c:>16}" for c in cells))
    return lines


def main_table(results: Results, labels: Mapping[str, str]) -> str:
    """Rejoinder and LiteLLM at N=1 and N=2, the N=2/N=1 ratios, and the 16-core figures."""
    columns: list[tuple[str, str | None]] = []
    for pair in (("r1", "r2"), ("l1", "l2")):
        if all(key in labels for key in pair):
            columns += [(labels[pair[0]], pair[0]), (labels[pair[1]], pair[1]), ("N=2/N=1", None)]
    lines = _table(results, MAIN_ROWS, columns)
    width = len(lines[0]) - 16 * len(columns)
    for n, label in (
        (0, "16 cores on paper rps, load elsewhere"),
        (1, "16 cores on paper rps, load alongside"),
    ):
        cells = []
        for _, key in columns:
            cells.append("" if key is None else _fmt(on_paper(results, key)[n], 0))
        lines.append(f"{label:<{width}}" + "".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)


def port_table(results: Results, labels: Mapping[str, str]) -> str:
    if not all(key in results for key in ("r2", "r2shared")):
        return ""
    columns: list[tuple[str, str | None]] = [("own ports (dflt)", "r2"), ("one shared port", "r2shared")]
    return "\n".join(_table(results, PORT_ROWS, columns))


def store_table(results: Results, labels: Mapping[str, str]) -> str:
    columns: list[tuple[str, str | None]] = []
    for pair, names in (
        (("r1", "r2"), ("SQLite N=1", "SQLite N=2")),
        (("pg1", "pg2"), ("Postgres N=1", "Postgres N=2")),
    ):
        if all(key in results for key in pair):
            columns += [(names[0], pair[0]), (names[1], pair[1]), ("N=2/N=1", None)]
    return "\n".join(_table(results, STORE_ROWS, columns))


def recommendation(results: Results) -> str:
    """The default N for this machine, from N=1 and N=2 at c=1 latency and c=64 throughput."""
    t1, t2 = value(results, "r1", "c64", "throughput_rps"), value(results, "r2", "c64", "throughput_rps")
    l1, l2 = value(results, "r1", "c1", "p50_ms"), value(results, "r2", "c1", "p50_ms")
    if None in (t1, t2, l1, l2):
        return "recommendation: not enough figures (N=1 and N=2, c=1 and c=64, are all needed)"
    assert t1 is not None and t2 is not None and l1 is not None and l2 is not None
    gain, slower = t2 / t1 - 1, l2 / l1 - 1
    figures = (
        f"c=64 REST {t1:,.0f} -> {t2:,.0f} rps ({gain:+.0%}), "
        f"c=1 p50 {l1:.2f} -> {l2:.2f} ms ({slower:+.0%}), load generator sharing the 2 cores"
    )
    contended = [
        f"{key}/{cell}"
        for key in ("r1", "r2")
        for cell in ("c1", "c64")
        if (value(results, key, cell, "contended_pct") or 0.0) >= CONTENDED_PCT
    ]
    caveat = (
        f" (WARNING: contended windows, {', '.join(contended)}: rerun before deciding)" if contended else ""
    )
    if gain >= GAIN_FOR_MORE_WORKERS and slower <= LATENCY_SLACK:
        return f"recommendation: default N = the cores this process may use (2 here): {figures}{caveat}"
    return f"recommendation: default N = 1 on this machine: {figures}{caveat}"


def render(
    results: Results, labels: Mapping[str, str], draws: str = "", rss_mb: Mapping[str, float] | None = None
) -> str:
    """Every table, with headings; `draws` is the port choice over Envoy restarts, in a line; `rss_mb`
    each system's resident memory (all its processes) by label."""
    parts = [main_table(results, labels)]
    if rss_mb:
        shown = ", ".join(f"{label} {mb:,.0f}" for label, mb in rss_mb.items())
        parts[0] += f"\nresident memory at the end, MB (all its processes): {shown}"
    ports = port_table(results, labels)
    if ports:
        parts.append("port choice, N=2 behind Envoy (--concurrency 2), c=64 REST\n" + ports + f"\n{draws}")
    stores = store_table(results, labels)
    if stores:
        parts.append("store:true c=64 REST: N processes writing one store\n" + stores)
    parts.append(recommendation(results))
    return "\n\n".join(parts)


def extrapolation(results: Results, labels: Mapping[str, str]) -> dict[str, dict[str, float | None]]:
    """The 16-core figures of every system, for the JSON."""
    out = {}
    for key in labels:
        alone, shared = on_paper(results, key)
        out[key] = {"rps_16_cores_load_elsewhere": alone, "rps_16_cores_load_alongside": shared}
    return out
