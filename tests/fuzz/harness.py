"""Sending fuzz cases (REST through Envoy with a hard time limit, gRPC with a deadline) and watching the
service (its memory, its life, its log)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
import httpx
from hypothesis import HealthCheck, seed, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from tests.e2e.service_process import ServiceProcess
from tests.fuzz.checks import CALL_LIMIT_S, EXAMPLES, SEED, RestReply, finding, traceback_category

Test = TypeVar("Test", bound=Callable[..., None])

# Failing examples are kept outside the work tree (no stray .hypothesis/ in the repository) and
# replayed first on the next run.
_DATABASE = DirectoryBasedExampleDatabase(Path.home() / ".cache" / "rejoinder-fuzz" / "hypothesis")


def fuzz(examples: int = EXAMPLES) -> Callable[[Test], Test]:
    """The settings every fuzz test runs with: this run's seed, no deadline, big inputs allowed."""
    configured = settings(
        max_examples=examples,
        deadline=None,
        derandomize=False,
        print_blob=True,
        database=_DATABASE,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )

    def apply(test: Test) -> Test:
        return seed(SEED)(configured(test))

    return apply


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the service and its Envoy), in MiB."""
    total = 0
    for candidate in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class ServiceWatch:
    """After each case: is the service still up and within its memory limit, and did it log a traceback?

    A thread polls the service's memory every 20 ms and kills it at `limit_mb` (a runaway request
    would otherwise take the machine's memory, and other processes with it). A killed or crashed
    service is a finding for the case that was running, and is started again (on the same ports and
    data) so that the run can go on; each incarnation's log is kept as service.log.N.
    """

    def __init__(self, service: ServiceProcess, limit_mb: float) -> None:
        self.service = service
        self.limit_mb = limit_mb
        self.path = service.data_dir / "service.log"
        self.offset = self.path.stat().st_size
        self.tripped: str | None = None
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="fuzz-memory-watch", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            proc = self.service.proc
            if proc is None or proc.poll() is not None or self.tripped:
                continue
            rss = _tree_rss_mb(proc.pid)
            if rss > self.limit_mb:
                self.tripped = f"resident memory reached {rss:.0f} MiB (limit {self.limit_mb:.0f}): killed"
                proc.kill()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def logs(self) -> str:
        """Everything every incarnation of the service printed."""
        older = sorted(self.path.parent.glob("service.log.*"), key=lambda p: int(p.suffix[1:]))
        return "".join(p.read_text(errors="replace") for p in [*older, self.path])

    def _new_log(self) -> str:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        return data.decode("utf-8", "replace")

    def _restart(self) -> str:
        proc = self.service.proc
        assert proc is not None
        proc.wait()
        tail = self.path.read_text(errors="replace")[-3000:]
        self.restarts += 1
        self.path.rename(self.path.with_name(f"service.log.{self.restarts}"))
        self.service.proc = None
        self.service.start()
        self.offset = self.path.stat().st_size
        self.tripped = None
        return tail

    def check(self, case: dict[str, Any]) -> None:
        proc = self.service.proc
        assert proc is not None
        if self.tripped or proc.poll() is not None:
            if self.tripped is None:
                time.sleep(0.1)  # a kill by the kernel's OOM killer shows as -9 too
            reason = self.tripped or f"the service exited with code {proc.returncode}"
            category = "service memory over limit" if self.tripped else "service exited"
            tail = self._restart()
            finding(category, reason, {**case, "log": tail})
        text = self._new_log()
        if "Traceback" in text:
            excerpt = text[max(0, text.find("Traceback") - 300) :][:4000]
            finding(traceback_category(text), "the service logged a traceback", {**case, "log": excerpt})


def fresh_ids(rest: httpx.Client, known: tuple[str, ...], ids: list[str]) -> list[str]:
    """For a delete: if `ids` (path or request ids, outermost first) name a known object, new objects
    of the same kind instead, so that the session's known ids keep existing for the other cases."""
    if not any(i in known for i in ids):
        return ids
    if ids[0].startswith("resp_"):
        return [rest.post("/v1/responses", json={"model": "m", "input": "x"}).json()["id"], *ids[1:]]
    conversation = rest.post("/v1/conversations", json={"items": [{"role": "user", "content": "x"}]}).json()
    item = rest.get(f"/v1/conversations/{conversation['id']}/items").json()["data"][0]["id"]
    return [conversation["id"], item][: len(ids)]


def rest_call(
    client: httpx.Client,
    method: str,
    url: str,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> RestReply:
    """One request, its body read to the end or until the time limit (SSE included)."""
    started = time.monotonic()
    body = bytearray()
    finished = False
    try:
        with client.stream(method, url, content=content, headers=headers) as response:
            for chunk in response.iter_raw():
                body += chunk
                if time.monotonic() - started > CALL_LIMIT_S:
                    break
            else:
                finished = True
            status, content_type = response.status_code, response.headers.get("content-type", "")
            reply_headers = dict(response.headers)
    except httpx.TimeoutException:
        return RestReply(0, "", bytes(body), time.monotonic() - started, False)
    except httpx.TransportError as exc:
        return RestReply(0, "", bytes(body), time.monotonic() - started, False, error=repr(exc))
    return RestReply(status, content_type, bytes(body), time.monotonic() - started, finished, reply_headers)


def grpc_call(
    channel: grpc.Channel,
    method: str,
    request: bytes,
    *,
    server_streaming: bool,
    client_streaming: bool = False,
) -> tuple[grpc.StatusCode, str, float, list[bytes]]:
    """Send raw request bytes to `method`; the status, its message, the time taken and the replies."""
    started = time.monotonic()
    replies: list[bytes] = []
    try:
        if client_streaming:
            call = channel.stream_stream(method, request_serializer=None, response_deserializer=None)
            replies.extend(call(iter([request]), timeout=CALL_LIMIT_S))
        elif server_streaming:
            replies.extend(
                channel.unary_stream(method, request_serializer=None, response_deserializer=None)(
                    request, timeout=CALL_LIMIT_S
                )
            )
        else:
            replies.append(
                channel.unary_unary(method, request_serializer=None, response_deserializer=None)(
                    request, timeout=CALL_LIMIT_S
                )
            )
    except grpc.RpcError as err:
        return err.code(), err.details() or "", time.monotonic() - started, replies
    return grpc.StatusCode.OK, "", time.monotonic() - started, replies
