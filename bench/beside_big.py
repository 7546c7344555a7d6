"""Issue 11, point 2: one maximal request in flight, and the small requests beside it.

A sender thread keeps one *maximal* request in flight at all times, back to back: 10,000 input items
(the `max_input_items` default) whose text fills the request to just under the 32 MiB body limit. It
uses blocking sockets (plain `http.client`, a sync gRPC channel with the request serialized once), so it
waits with the GIL released and barely touches the load generator's event loop. Meanwhile the closed
loop sends small non-stream requests at c=1 on the same path. The small requests' latency alone and
beside the big ones, and what one maximal request takes, are the figures.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable

import grpc
import orjson

from bench.procs import LOOPBACK
from bench.scenarios import Bench, Metrics, Results, percentile
from bench.targets import Shape
from rejoinder.responses.v1.content_pb2 import MessageContent
from rejoinder.responses.v1.items_pb2 import Input, InputItem, InputItemList, Message
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest

ITEMS = 10_000
BODY_BYTES = 32 * 1024 * 1024 - 64 * 1024  # just under the default limit
CREATE = "/rejoinder.responses.v1.ResponsesService/Create"
BIG_MODEL = "bench-16-0"


SHORT_TEXT = 40  # the "many items" request: 10,000 short messages, about 0.6 MiB


def _text_per_item(body_bytes: int) -> int:
    overhead = len(orjson.dumps({"role": "user", "content": ""})) + 1
    return (body_bytes - 200) // ITEMS - overhead


def big_rest_body(body_bytes: int = BODY_BYTES) -> bytes:
    """The maximal REST body: `ITEMS` messages filling `body_bytes` (by default just under the limit)."""
    text = "x" * _text_per_item(body_bytes)
    body = orjson.dumps(
        {"model": BIG_MODEL, "store": False, "input": [{"role": "user", "content": text}] * ITEMS}
    )
    assert len(body) <= BODY_BYTES, len(body)
    return body


def big_grpc_request(body_bytes: int = BODY_BYTES) -> bytes:
    """The same request as a serialized `CreateRequest`."""
    text = "x" * _text_per_item(body_bytes)
    item = InputItem(message=Message(role="user", content=MessageContent(text=text)))
    req = CreateRequest(model=BIG_MODEL, store=False, input=Input(items=InputItemList(items=[item] * ITEMS)))
    return req.SerializeToString()


class BigSender:
    """Sends one maximal request after another from a thread, until `stop()`."""

    def __init__(self, send: Callable[[], bool]) -> None:
        self._send = send
        self._stopping = threading.Event()
        self.ok = 0
        self.failed = 0
        self.seconds: list[float] = []
        self._thread = threading.Thread(target=self._run, name="bench-big-sender", daemon=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            start = time.perf_counter()
            if self._send():
                self.ok += 1
                self.seconds.append(time.perf_counter() - start)
            else:
                self.failed += 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=120)


def rest_sender(port: int, body_bytes: int) -> Callable[[], bool]:
    body = big_rest_body(body_bytes)

    def send() -> bool:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=120)
        try:
            conn.request("POST", "/v1/responses", body, {"content-type": "application/json"})
            reply = conn.getresponse()
            reply.read()
            return reply.status == 200
        except OSError:
            return False
        finally:
            conn.close()

    return send


def grpc_sender(port: int, body_bytes: int) -> Callable[[], bool]:
    raw = big_grpc_request(body_bytes)
    channel = grpc.insecure_channel(
        f"{LOOPBACK}:{port}", options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
    )
    create = channel.unary_unary(CREATE, None, None)  # bytes in, bytes out: nothing to serialize per call

    def send() -> bool:
        try:
            create(raw, timeout=120)
        except grpc.RpcError:
            return False
        return True

    return send


def _latency(metrics: Metrics, prefix: str) -> Metrics:
    return {f"{prefix}_{k}": metrics[k] for k in ("p50_ms", "p99_ms", "count", "errors")}


SIZES = {"beside_big": BODY_BYTES, "beside_many": ITEMS * (SHORT_TEXT + 40)}
"""The maximal request (every limit: 10,000 items in 32 MiB), and 10,000 short items (about 0.8 MiB)."""


async def beside_big(bench: Bench, results: Results) -> None:
    """Small non-stream requests at c=1 alone, then beside a big request kept in flight: the maximal one,
    and one of as many items but short ones."""
    shape = Shape(tokens=bench.plan.nonstream_tokens, stream=False)
    for name, body_bytes in SIZES.items():
        results[name] = {}
        for path in ("rest", "grpc"):
            bench.log(f"beside a request of {ITEMS} items, {body_bytes / 2**20:.1f} MiB, {path}")
            results[name][path] = await _beside(bench, shape, path, body_bytes)


async def _beside(bench: Bench, shape: Shape, path: str, body_bytes: int) -> Metrics:
    alone = await bench.loop(path, shape, 1, bench.plan.duration_s)
    port = bench.endpoints.http if path == "rest" else bench.endpoints.grpc
    sender = BigSender(rest_sender(port, body_bytes) if path == "rest" else grpc_sender(port, body_bytes))
    sender.start()
    try:
        beside = await bench.loop(path, shape, 1, max(bench.plan.duration_s, 5.0))
    finally:
        sender.stop()
    seconds = sender.seconds
    bench.log(
        f"  {path:6} small p99 {alone.get('p99_ms')} ms alone, {beside.get('p99_ms')} ms beside; "
        f"{sender.ok} big requests ({sender.failed} failed), each {percentile(seconds, 50)} s"
    )
    return {
        **_latency(alone, "alone"),
        **_latency(beside, "beside"),
        "added_p99_ms": _minus(beside.get("p99_ms"), alone.get("p99_ms")),
        "added_p50_ms": _minus(beside.get("p50_ms"), alone.get("p50_ms")),
        "big_ok": sender.ok,
        "big_failed": sender.failed,
        "big_s": percentile(seconds, 50),
    }


def _minus(a: object, b: object) -> float | None:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) - float(b)
    return None
