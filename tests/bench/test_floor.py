"""The floor (`bench.floor`, `bench.floor_server`, `bench.canned`) and the burst (`bench.burst`): what they
replay, what they compare, and how the table judges the issue's targets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from google.api.httpbody_pb2 import HttpBody

from bench.burst import with_ratio
from bench.canned import Canned, GrpcReply, RestReply, load, save
from bench.floor import derive, paired
from bench.http1 import Http1Connection, build_request
from bench.procs import Floor, start_floor_server
from bench.report import counted, render
from bench.scenarios import QUICK, Metrics, Results, busy
from bench.targets import Endpoints, Shape, rest_body
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1.response_pb2 import Response

NONSTREAM, STREAM = Shape(tokens=3, stream=False), Shape(tokens=3, stream=True)
DELTA_FRAME = b'event: response.output_text.delta\ndata: {"delta":" tok"}\n\n'


def _delta() -> pb.StreamCreateResponse:
    event = ev.ResponseStreamEvent(output_text_delta=ev.OutputTextDeltaEvent(delta=" tok"))
    return pb.StreamCreateResponse(event=event)


def _canned() -> Canned:
    json_body = HttpBody(content_type="application/json", data=b'{"id":"resp_1","status":"completed"}')
    frames = [HttpBody(content_type="text/event-stream", data=DELTA_FRAME * n) for n in (1, 2)]
    done = HttpBody(content_type="text/event-stream", data=b"data: [DONE]\n\n")
    completed = pb.CreateResponse(response=Response(id="resp_1", status="completed"))
    return Canned(
        rest=(
            RestReply(rest_body(NONSTREAM), (("x-ratelimit-limit-requests", "60"),), (json_body,)),
            RestReply(rest_body(STREAM), (), (*frames, done)),
        ),
        grpc=(
            GrpcReply(NONSTREAM.model, completed, ()),
            GrpcReply(STREAM.model, None, (_delta(), _delta(), _delta())),
        ),
    )


def test_canned_replies_survive_the_file(tmp_path: Path) -> None:
    canned = _canned()
    save(canned, tmp_path / "canned.json")
    assert load(tmp_path / "canned.json") == canned
    summary = canned.summary()
    stream_bytes = 3 * len(DELTA_FRAME) + len(b"data: [DONE]\n\n")
    assert summary["rest bench-3-0 stream"] == {"messages": 3, "bytes": stream_bytes, "metadata": "none"}
    assert summary["rest bench-3-0"]["metadata"] == "x-ratelimit-limit-requests: 60"
    assert summary["grpc bench-3-0"]["messages"] == 1
    assert summary["grpc bench-3-0 stream"]["messages"] == 3


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Floor]:
    workdir = tmp_path_factory.mktemp("floor")
    save(_canned(), workdir / "canned.json")
    server = start_floor_server(workdir / "canned.json", workdir, frozenset())
    try:
        yield server
    finally:
        server.child.stop()


@pytest.mark.e2e
async def test_the_floor_replays_the_bytes_through_envoy(floor: Floor) -> None:
    conn = await Http1Connection.open("127.0.0.1", floor.ports.http)
    body = bytearray()
    try:
        payload = build_request(f"127.0.0.1:{floor.ports.http}", "/v1/responses", rest_body(STREAM))
        status = await conn.request(payload, body.extend)
    finally:
        conn.close()
    assert status == 200
    assert bytes(body) == DELTA_FRAME * 3 + b"data: [DONE]\n\n"


@pytest.mark.e2e
@pytest.mark.parametrize("path", ["rest", "grpc"])
@pytest.mark.parametrize("shape", [NONSTREAM, STREAM], ids=["non-stream", "stream"])
async def test_the_floor_answers_the_bench_targets(floor: Floor, path: str, shape: Shape) -> None:
    target = Endpoints(upstream=0, http=floor.ports.http, grpc=floor.ports.grpc).target(path, shape)
    session = target.session()
    try:
        sample = await session.call()
    finally:
        session.close()
        await target.aclose()
    assert sample.ok, sample.error
    assert sample.deltas == (3 if shape.stream else 0 if path == "grpc" else 1)


def test_the_service_is_compared_with_the_floor() -> None:
    service: Metrics = {
        "svc_cpu_ms_per_req": 1.2,
        "envoy_cpu_ms_per_req": 0.4,
        "svc_cpu_us_per_delta": 20.0,
        "ttft_p50_ms": 1.5,
    }
    floor: Metrics = {
        "svc_cpu_ms_per_req": 0.4,
        "envoy_cpu_ms_per_req": 0.4,
        "svc_cpu_us_per_delta": 3.0,
        "ttft_p50_ms": 0.75,
    }
    out = derive(service, floor)
    assert out["edge_cpu_us_per_req"] == pytest.approx(1600)
    assert out["edge_over_floor_x"] == pytest.approx(2.0)
    assert out["svc_over_floor_x"] == pytest.approx(3.0)
    assert out["svc_us_per_delta_over_floor"] == pytest.approx(17.0)
    assert out["envoy_us_per_delta_over_floor"] is None
    assert out["ttft_over_floor_ms"] == pytest.approx(0.75)  # what the service adds to the first delta


def test_the_ratio_is_the_median_of_the_pairs_measured_side_by_side() -> None:
    """A round where the whole VM ran slow moves its service and floor windows alike: each round's
    ratio is taken from its own pair, and the verdict from their median, not from a ratio of means."""

    def pair(service_ms: float, floor_ms: float) -> dict[str, Metrics]:
        return {
            "rest": {"svc_cpu_ms_per_req": service_ms, "envoy_cpu_ms_per_req": 0.0},
            "floor_rest": {"svc_cpu_ms_per_req": floor_ms, "envoy_cpu_ms_per_req": 0.0},
        }

    rounds: list[Results] = [
        {"floor_nonstream_c1": pair(1.9, 1.0)},
        {"floor_nonstream_c1": pair(4.2, 2.0)},  # everything twice as slow: the same ratio, near enough
        {"floor_nonstream_c1": pair(3.0, 1.0)},  # one bad pair
        {"other": pair(1.0, 1.0)},  # a round without the cell
    ]
    out = paired(rounds, "floor_nonstream_c1", "rest")
    assert out["edge_over_floor_x"] == pytest.approx(2.1)
    assert out["edge_over_floor_x_min"] == pytest.approx(1.9)
    assert out["edge_over_floor_x_max"] == pytest.approx(3.0)
    assert out["edge_over_floor_x_rounds"] == "1.900 2.100 3.000"
    # the ratio of the means would read 9.1 / 4 = 2.275
    assert out["svc_over_floor_x"] == pytest.approx(2.1)


def test_the_upstream_counts_on_the_service_core_in_the_burst() -> None:
    cpu = {"svc": 0.5, "envoy": 0.1, "upstream": 0.2, "loadgen": 0.3, "service_core": 0.8, "load_core": 0.3}
    apart = busy({**cpu, "wall": 1.0})
    together = busy({**cpu, "wall": 1.0}, ("svc", "envoy", "upstream"))
    assert apart["other_core0_pct"] == pytest.approx(20.0)
    assert together["other_core0_pct"] == pytest.approx(0.0)
    assert together["core1_busy_pct"] == pytest.approx(30.0)
    assert with_ratio({"ttft_p50_ms": 1.0, "p50_ms": 4.0})["first_over_total"] == 0.25


FLOOR_512: Results = {
    "floor_stream_512": {
        "direct": {"ttft_p50_ms": 0.05},
        "rest": {"ttft_p50_ms": 1.5, "svc_cpu_us_per_delta": 14.0, "svc_us_per_delta_over_floor": 4.0},
        "grpc": {"ttft_p50_ms": 1.6, "svc_cpu_us_per_delta": 26.0, "svc_us_per_delta_over_floor": 12.0},
        "floor_rest": {"ttft_p50_ms": 0.6, "svc_cpu_us_per_delta": 10.0},
        "floor_grpc": {"ttft_p50_ms": 0.9, "svc_cpu_us_per_delta": 14.0},
    },
    "floor_nonstream_c1": {"rest": {"edge_over_floor_x": 2.1}, "grpc": {"edge_over_floor_x": 3.0}},
}


def test_the_floor_targets_and_which_verdicts_count() -> None:
    table, verdicts = render(FLOOR_512, QUICK)
    judged = {(v.row.metric, v.path): v for v in verdicts}
    assert judged[("svc_us_per_delta_over_floor", "rest")].passed  # 4 <= 15 over the floor
    assert judged[("svc_us_per_delta_over_floor", "grpc")].passed  # 12 <= 25 over the floor
    assert ("svc_cpu_us_per_delta", "grpc") not in judged  # 26 in all: shown, not judged
    assert judged[("ttft_p50_ms", "rest")].passed  # +1.45 ms
    assert not judged[("ttft_p50_ms", "grpc")].passed  # +1.55 ms
    assert not judged[("edge_over_floor_x", "rest")].passed
    in_count = {(v.row.metric, v.path) for v in counted(verdicts)}
    assert ("ttft_p50_ms", "grpc") in in_count and ("svc_us_per_delta_over_floor", "grpc") in in_count
    assert ("edge_over_floor_x", "grpc") not in in_count  # the CPU/request target is on REST only
    floor_line = next(line for line in table.splitlines() if "floor: first delta" in line)
    assert "0.60" in floor_line.split() and "0.90" in floor_line.split()
