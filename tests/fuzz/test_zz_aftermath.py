"""After the fuzz run (this module sorts last): the service is healthy, was never restarted, and never
logged a traceback (in any incarnation's log)."""

from __future__ import annotations

import grpc
import httpx

from rejoinder.responses.v1 import items_pb2
from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1 import responses_service_pb2_grpc as pb_grpc
from tests.e2e.service_process import ServiceProcess
from tests.fuzz.harness import ServiceWatch


def test_service_still_answers(
    fuzz_service: ServiceProcess, rest: httpx.Client, channels: dict[str, grpc.Channel], watch: ServiceWatch
) -> None:
    assert watch.restarts == 0, f"the service was killed or died {watch.restarts} times during the run"
    assert fuzz_service.proc is not None and fuzz_service.proc.poll() is None, fuzz_service.log()[-5000:]
    reply = rest.post("/v1/responses", json={"model": "m", "input": "still there?"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["output"][0]["content"][0]["text"] == "You said: still there?"
    streamed = rest.post("/v1/responses", json={"model": "m", "input": "hi", "stream": True})
    assert streamed.status_code == 200 and streamed.text.endswith("data: [DONE]\n\n"), streamed.text[-500:]
    for channel in channels.values():
        request = pb.CreateRequest(model="m", input=items_pb2.Input(text="hi"))
        response = pb_grpc.ResponsesServiceStub(channel).Create(request, timeout=15).response
        assert response.status == "completed"


def test_service_log_has_no_traceback(watch: ServiceWatch) -> None:
    log = watch.logs()
    at = log.find("Traceback")
    assert at < 0, log[max(0, at - 500) : at + 5000]
