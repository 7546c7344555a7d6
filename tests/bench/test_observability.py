"""`python -m bench --observability`: its service configurations, its table and its /metrics reading."""

from __future__ import annotations

from bench.observability import (
    CONFIGS,
    combine,
    counted_calls,
    metrics_url,
    per_round,
    render,
    rows,
    scenario_key,
)
from bench.scenarios import Results


def test_each_configuration_runs_exactly_what_it_names() -> None:
    off, metrics, traces = CONFIGS
    base = {"PATH": "/bin", "OTEL_TRACES_EXPORTER": "console", "REJOINDER_METRICS": "false"}
    assert off.service_args() == ("--no-metrics",)
    assert metrics.service_args() == traces.service_args() == ("--metrics-port", "0")
    assert off.env(base, 4317) == metrics.env(base, 4317) == {"PATH": "/bin"}
    env = traces.env(base, 4317)
    assert env["OTEL_TRACES_EXPORTER"] == "otlp"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4317"
    assert "REJOINDER_METRICS" not in env


def test_metrics_are_found_and_health_checks_not_counted() -> None:
    log = "rejoinder: metrics on http://127.0.0.1:40001/metrics\nrejoinder: ready\n"
    assert metrics_url(log) == "http://127.0.0.1:40001/metrics"
    assert metrics_url("rejoinder: ready\n") is None
    scrape = (
        "# TYPE rejoinder_requests_total counter\n"
        'rejoinder_requests_total{model="",route="Check",status="OK",surface="grpc"} 7.0\n'
        'rejoinder_requests_total{model="m",route="Create",status="OK",surface="grpc"} 10.0\n'
        'rejoinder_requests_total{model="m",route="CreateResponse",status="OK",surface="rest"} 5.0\n'
        'rejoinder_requests_created{model="m",route="Create",status="OK",surface="grpc"} 1.7e9\n'
    )
    assert counted_calls(scrape) == 15.0


def test_the_table_shows_what_metrics_and_then_tracing_added() -> None:
    off, metrics, traces = CONFIGS
    results: Results = {
        scenario_key("nonstream_c1", config): {
            "rest": {"svc_cpu_ms_per_req": cpu, "p50_ms": 1.5},
            "grpc": {"svc_cpu_ms_per_req": cpu - 0.2, "p50_ms": 1.1},
        }
        for config, cpu in ((off, 1.0), (metrics, 1.05), (traces, 1.4))
    }
    table = render(results)
    rest_cpu = next(line for line in table.splitlines() if "svc CPU us/req" in line and "REST" in line)
    assert rest_cpu.split()[6:9] == ["1000", "1050", "1400"]
    assert "+50 (+5.0%)" in rest_cpu and "+350 (+33.3%)" in rest_cpu


def test_rounds_are_averaged_and_the_cost_in_each_round_shown() -> None:
    key = scenario_key("nonstream_c1", CONFIGS[0])
    first: Results = {key: {"rest": {"svc_cpu_ms_per_req": 1.0, "first_error": None, "count": 10}}}
    second: Results = {key: {"rest": {"svc_cpu_ms_per_req": 1.2, "first_error": None, "count": 20}}}
    merged = combine([first, second])[key]["rest"]
    assert merged["svc_cpu_ms_per_req"] == 1.1 and merged["count"] == 15 and merged["rounds"] == 2
    assert merged["first_error"] is None
    row = next(r for r in rows() if r.metric == "svc_cpu_ms_per_req" and r.path == "rest")
    first[scenario_key("nonstream_c1", CONFIGS[1])] = {"rest": {"svc_cpu_ms_per_req": 1.1}}
    second[scenario_key("nonstream_c1", CONFIGS[1])] = {"rest": {"svc_cpu_ms_per_req": 1.15}}
    assert [round(d) for d in per_round([first, second], row, CONFIGS[0], CONFIGS[1])] == [100, -50]
    line = next(ln for ln in render(combine([first, second]), [first, second]).splitlines() if "REST" in ln)
    assert "+25 (+2.3%)" in line and "-50..+100" in line
