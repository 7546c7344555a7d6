"""`python -m bench.otlp_sink`: a minimal OTLP/gRPC trace collector that counts what it receives.

It implements `opentelemetry.proto.collector.trace.v1.TraceService/Export` (the stubs of the
`opentelemetry-proto` package) on a loopback port, answers every export with success, and keeps
counts only: spans, exports (batches), spans per name and per resource `service.name`. The bench reads
them with `sink_counts()` (a raw-bytes method of its own, `/bench.OtlpSink/Counts`, JSON). It prints
`ready <port>` once listening and stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
import orjson
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from bench.procs import LOOPBACK, Child, start_child

COUNTS = "/bench.OtlpSink/Counts"


@dataclass
class SinkCounts:
    """What the sink has received so far."""

    spans: int = 0
    exports: int = 0
    names: dict[str, int] = field(default_factory=dict)
    services: dict[str, int] = field(default_factory=dict)

    def minus(self, before: SinkCounts) -> SinkCounts:
        """What was received since `before`."""
        return SinkCounts(
            self.spans - before.spans,
            self.exports - before.exports,
            _minus(self.names, before.names),
            _minus(self.services, before.services),
        )

    def as_json(self) -> dict[str, object]:
        return {"spans": self.spans, "exports": self.exports, "names": self.names, "services": self.services}


def _minus(now: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in now.items() if n > before.get(k, 0)}


class _Sink(trace_service_pb2_grpc.TraceServiceServicer):
    """Counts spans; everything else is dropped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans = 0
        self._exports = 0
        self._names: Counter[str] = Counter()
        self._services: Counter[str] = Counter()

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        names: Counter[str] = Counter()
        services: Counter[str] = Counter()
        for resource_spans in request.resource_spans:
            service = next(
                (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"),
                "",
            )
            for scope_spans in resource_spans.scope_spans:
                names.update(span.name for span in scope_spans.spans)
                services[service] += len(scope_spans.spans)
        with self._lock:
            self._exports += 1
            self._spans += sum(names.values())
            self._names.update(names)
            self._services.update(services)
        return trace_service_pb2.ExportTraceServiceResponse()

    def snapshot(self) -> SinkCounts:
        with self._lock:
            return SinkCounts(self._spans, self._exports, dict(self._names), dict(self._services))

    def counts(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        return orjson.dumps(self.snapshot().as_json())


def _identity(data: bytes) -> bytes:
    return data


def sink_counts(port: int, timeout_s: float = 5.0) -> SinkCounts:
    """Ask the sink on `port` what it has received."""
    with grpc.insecure_channel(f"{LOOPBACK}:{port}") as channel:
        call = channel.unary_unary(COUNTS, request_serializer=_identity, response_deserializer=_identity)
        raw: Any = call(b"", timeout=timeout_s)
    doc = orjson.loads(raw)
    return SinkCounts(int(doc["spans"]), int(doc["exports"]), dict(doc["names"]), dict(doc["services"]))


def start_sink(workdir: Path, cpus: frozenset[int]) -> tuple[Child, int]:
    """The sink on a free loopback port, pinned to `cpus`."""
    argv = [sys.executable, "-m", "bench.otlp_sink", "--port", "0"]
    child = start_child("OTLP sink", argv, workdir / "otlp-sink.log", cpus)
    line = child.wait_for_line("ready ", 15)
    return child, int(line.split()[1])


def serve(port: int) -> None:
    """Listen on loopback until SIGTERM/SIGINT; print `ready <port>` once listening."""
    sink = _Sink()
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink, server)  # type: ignore[no-untyped-call]
    counts = grpc.unary_unary_rpc_method_handler(sink.counts)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("bench.OtlpSink", {"Counts": counts}),)
    )
    bound = server.add_insecure_port(f"{LOOPBACK}:{port}")
    server.start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    print(f"ready {bound}", flush=True)
    stop.wait()
    server.stop(grace=1).wait()
    print(f"received {orjson.dumps(sink.snapshot().as_json()).decode()}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m bench.otlp_sink`."""
    parser = argparse.ArgumentParser(prog="python -m bench.otlp_sink", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    serve(parser.parse_args(argv).port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
