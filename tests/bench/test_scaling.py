"""`python -m bench --scaling`: process trees and their CPU, connections per process, gRPC over several
connections, LiteLLM's config, the window metrics, the tables, the 16-core model and the recommendation."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import AsyncIterator

import grpc
import pytest

from bench import litellm_proxy
from bench.conns import accepted_by_pid
from bench.load import LoopResult, Sample
from bench.proctree import TreeProbe, tree
from bench.scaling_measure import NONSTREAM, window_metrics
from bench.scaling_ports import Draw, summary
from bench.scaling_report import main_table, on_paper, port_table, recommendation
from bench.scaling_systems import System
from bench.scaling_targets import SpreadGrpcTarget
from bench.scenarios import Metrics, Results
from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1 import responses_service_pb2_grpc as rpc
from rejoinder.responses.v1.response_pb2 import Response


def test_a_tree_is_its_roots_and_every_descendant() -> None:
    parent_of = {1: 0, 10: 1, 11: 10, 12: 10, 20: 1, 30: 0}
    assert tree((10,), parent_of) == {10, 11, 12}
    assert tree((10, 30), parent_of) == {10, 11, 12, 30}
    assert tree((99,), parent_of) == set()


def test_the_probe_charges_a_tree_its_cpu() -> None:
    probe = TreeProbe({}, groups={"me": (os.getpid(),)})
    probe.start()
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    used = probe.stop()
    assert used["me"] >= 0.03
    assert probe.per_pid[os.getpid()] == used["me"]
    assert used["machine"] >= used["me"] - 0.02  # /proc/stat and /proc/<pid>/stat tick apart


def test_connections_are_counted_where_they_were_accepted() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        accepted = [server.accept()[0] for _ in clients]
        try:
            me = os.getpid()
            assert accepted_by_pid([me], [port]) == {me: 3}
            assert accepted_by_pid([me], [port - 1]) == {me: 0}  # the clients' ports are not counted
        finally:
            for sock in (*clients, *accepted):
                sock.close()


class _Completed(rpc.ResponsesServiceServicer):
    async def Create(self, request: pb.CreateRequest, context: grpc.aio.ServicerContext) -> pb.CreateResponse:  # type: ignore[type-arg]
        return pb.CreateResponse(response=Response(status="completed"))


@pytest.fixture
async def grpc_port() -> AsyncIterator[int]:
    server = grpc.aio.server()
    rpc.add_ResponsesServiceServicer_to_server(_Completed(), server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield port
    await server.stop(None)


async def test_each_grpc_channel_is_a_connection_of_its_own(grpc_port: int) -> None:
    target = SpreadGrpcTarget(grpc_port, NONSTREAM, channels=3)
    try:
        samples = [await target.session().call() for _ in range(6)]
        assert all(s.ok for s in samples)
        assert accepted_by_pid([os.getpid()], [grpc_port]) == {os.getpid(): 3}
    finally:
        await target.aclose()


def test_litellm_routes_each_model_to_the_upstream_chat_completions() -> None:
    text = litellm_proxy.config_yaml(("bench-16-0", "bench-64-0"), 4242)
    assert text.count("use_chat_completions_api: true") == 2
    assert "  - model_name: bench-64-0\n    litellm_params:\n      model: hosted_vllm/bench-64-0\n" in text
    assert text.count("api_base: http://127.0.0.1:4242/v1") == 2


def _system(key: str = "r2", workers: tuple[int, ...] = (11, 12)) -> System:
    return System(key, key, "rejoinder", len(workers), 1, 2, (10,), worker_pids=workers, envoy_pids=(13,))


def test_window_metrics_split_the_cpu_by_group_and_worker() -> None:
    samples = [Sample(start=float(i), latency=0.002) for i in range(100)]
    cpu = {"r2": 0.2, "loadgen": 0.01, "upstream": 0.01, "r1": 0.005, "machine": 0.3, "wall": 1.0}
    result = LoopResult(samples, window_s=1.0, cpu=cpu)
    metrics = window_metrics(result, _system(), {10: 0.0, 11: 0.12, 12: 0.04, 13: 0.04}, idle=["r1"])
    assert metrics["throughput_rps"] == 100
    assert metrics["svc_cpu_us_per_req"] == pytest.approx(2000)
    assert metrics["envoy_cpu_us_per_req"] == pytest.approx(400)
    assert metrics["workers_cpu_us_per_req"] == pytest.approx(1600)
    assert metrics["load_cpu_us_per_req"] == pytest.approx(200)
    assert metrics["worker0_share_pct"] == pytest.approx(75)
    assert metrics["other_cores"] == pytest.approx(0.075)  # 0.3 - 0.2 - 0.02 - 0.005
    assert metrics["store_cpu_us_per_req"] is None


def _results(r1: Metrics, r2: Metrics) -> Results:
    return {"r1": {"c64": r1, "c1": {"p50_ms": 2.0}}, "r2": {"c64": r2, "c1": {"p50_ms": 2.1}}}


def test_sixteen_cores_on_paper_is_cores_over_cpu_per_request() -> None:
    results = _results({"svc_cpu_us_per_req": 1600, "load_cpu_us_per_req": 400}, {})
    assert on_paper(results, "r1") == (10_000, 8_000)
    assert on_paper(results, "r2") == (None, None)


def test_the_table_shows_ratios_but_not_of_shares() -> None:
    results = _results(
        {"throughput_rps": 1000, "svc_cpu_us_per_req": 1500, "worker0_share_pct": 100},
        {"throughput_rps": 1500, "svc_cpu_us_per_req": 1500, "worker0_share_pct": 50},
    )
    lines = main_table(results, {"r1": "Rejoinder N=1", "r2": "Rejoinder N=2"}).splitlines()
    rps = next(line for line in lines if line.startswith("non-stream c=64 REST rps"))
    assert rps.split()[-3:] == ["1,000", "1,500", "x1.50"]
    share = next(line for line in lines if "worker 0 share" in line)
    assert share.split()[-3:] == ["100", "50", "-"]
    assert any(line.startswith("16 cores on paper rps, load elsewhere") for line in lines)


def test_the_recommendation_weighs_throughput_against_latency() -> None:
    more = recommendation(_results({"throughput_rps": 1000}, {"throughput_rps": 1500}))
    assert more.startswith("recommendation: default N = the cores this process may use")
    same = recommendation(_results({"throughput_rps": 1000}, {"throughput_rps": 1050}))
    assert same.startswith("recommendation: default N = 1")
    assert recommendation({}).startswith("recommendation: not enough figures")
    contended = _results({"throughput_rps": 1000, "contended_pct": 40.0}, {"throughput_rps": 1500})
    assert recommendation(contended).endswith("(WARNING: contended windows, r1/c64: rerun before deciding)")


def test_the_port_table_shows_each_workers_connections() -> None:
    results: Results = {
        "r2": {"c64": {"throughput_rps": 1000, "worker0_conns": 3, "worker1_conns": 3}},
        "r2shared": {"c64": {"throughput_rps": 700, "worker0_conns": 0, "worker1_conns": 3}},
    }
    line = next(ln for ln in port_table(results, {}).splitlines() if ln.startswith("Envoy's connections"))
    assert line.split()[-2:] == ["3/3", "0/3"]


def test_a_draw_is_lopsided_when_one_worker_did_nearly_everything() -> None:
    draws = [Draw((3, 0), (100.0, 0.0), 600.0), Draw((2, 1), (52.0, 48.0), 1000.0)]
    assert [d.lopsided for d in draws] == [True, False]
    line = summary(draws)
    assert "connections per worker 3/0, 2/1" in line
    assert "in 1 of 2" in line and "1,000 rps when spread, 600 when lopsided" in line
