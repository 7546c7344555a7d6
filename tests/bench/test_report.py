"""The bench's table and verdicts: what it prints as PASS/FAIL is what the issue's targets say."""

from __future__ import annotations

from bench.report import CPU_DELTA, P50_ADDED, Row, judge, render
from bench.scenarios import QUICK, Results

STREAM_512: Results = {
    "stream_512": {
        "direct": {"ttft_p50_ms": 0.05, "p50_ms": 1.5},
        "rest": {
            "ttft_p50_ms": 1.90,
            "p50_ms": 12.0,
            "svc_cpu_us_per_delta": 21.0,
            "envoy_cpu_us_per_delta": 3.0,
        },
        "grpc": {
            "ttft_p50_ms": 2.40,
            "p50_ms": 23.0,
            "svc_cpu_us_per_delta": 44.0,
            "envoy_cpu_us_per_delta": 0.0,
        },
        "grpc_batched": {"ttft_p50_ms": 1.50, "p50_ms": 9.0, "svc_cpu_us_per_delta": 15.0},
    }
}


def test_added_latency_is_judged_over_the_direct_figure() -> None:
    row = Row("s", "s", "ttft_p50_ms", "first delta", "x", P50_ADDED)
    passed = judge(row, "rest", 2.05, 0.05)
    failed = judge(row, "rest", 2.06, 0.05)
    assert passed is not None and passed.passed and passed.shown == "+2.00 ms"
    assert failed is not None and not failed.passed


def test_a_missing_figure_fails() -> None:
    row = Row("s", "s", "svc_cpu_us_per_delta", "cpu", "", CPU_DELTA, has_direct=False)
    verdict = judge(row, "rest", None, None)
    assert verdict is not None and not verdict.passed and "no data" in verdict.shown


def test_batched_rows_show_and_judge_grpc_batched_only() -> None:
    table, verdicts = render(STREAM_512, QUICK)

    batched = [line for line in table.splitlines() if "batched" in line]
    assert len(batched) == 2
    first_delta = batched[0].split()
    assert "1.50" in first_delta and "1.90" not in first_delta, "the gRPC column holds StreamCreateBatched"
    judged = {(v.row.unit, v.path): v for v in verdicts}
    assert judged[("first delta p50, batched", "grpc_batched")].passed
    assert judged[("svc CPU us/delta, batched", "grpc_batched")].passed
    assert not any(v.path == "rest" and "batched" in v.row.unit for v in verdicts)
    assert not judged[("first delta p50 ms", "grpc")].passed  # +2.35 ms
    assert judged[("first delta p50 ms", "rest")].passed  # +1.85 ms
    assert not judged[("svc CPU us/delta", "grpc")].passed and judged[("svc CPU us/delta", "rest")].passed
