"""The service's Prometheus metrics (shared/OBSERVABILITY.md: OpenTelemetry GenAI names in Prometheus form,
and `rejoinder_*` for what is ours), in a registry of their own, served on a port of their own.

Label sets stay bounded: surface, route (an RPC name), status (an HTTP status or gRPC code), provider (as
configured), outcome and error kinds are fixed sets; a model name or an MCP server label comes from the
client, so each keeps only the first `DISTINCT` values it sees and calls the rest "other". No ids, prompts,
keys or tenants.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, start_http_server
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from rejoinder.observe.batches import FLUSH_S, Batches
from rejoinder.observe.record import CallRecord

DISTINCT = 100
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TOKENS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144)
M = TypeVar("M", bound=MetricWrapperBase)


class Bounded:
    """The first `most` distinct values of a label as they are; any later one as "other"."""

    def __init__(self, most: int = DISTINCT) -> None:
        self._seen: set[str] = set()
        self._most = most

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._most:
            return "other"
        self._seen.add(value)
        return value


Told = tuple[Callable[..., None], tuple[Any, ...]]
"""An update that waits: the method that makes it, and its arguments."""


class _Ended(NamedTuple):
    """A call that ended, as its metrics label and time it."""

    surface: str
    route: str
    status: str
    model: str  # as the client named it (`Metrics.model` bounds it)
    seconds: float


def _tell_each(batch: list[Told]) -> None:
    for tell, values in batch:
        tell(*values)


class _FlushFirst(Collector):
    """Registered before the metrics: what waits is counted before a scrape reads them."""

    def __init__(self, later: Batches[Told]) -> None:
        self._later = later

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> list[Metric]:
        self._later.flush()
        return []


class Metrics:
    """Every metric of the service; `registry` is what `serve` exposes.

    What a call reports as it ends (its count and time, its tokens, its upstream calls) is counted in
    batches, at most `FLUSH_S` later (`observe.batches`: about 10 us less of a request's CPU), and at
    once when a scrape comes: a scrape of this process sees every call that ended before it. With
    `serve --workers N` the supervisor's scrape reads the workers' files: it sees their calls up to
    `FLUSH_S` late."""

    def __init__(self, registry: CollectorRegistry | None = None, flush_s: float = FLUSH_S) -> None:
        """`flush_s`: the longest what a call reports waits to be counted (see `observe.batches`)."""
        r = self.registry = registry or CollectorRegistry()
        self._later: Batches[Told] = Batches(_tell_each, flush_s)
        r.register(_FlushFirst(self._later))  # first: a scrape counts what waits, then reads
        self._model, self._server = Bounded(), Bounded()
        self._children: dict[tuple[int, tuple[str, ...]], MetricWrapperBase] = {}
        # The children of a call's and a response's metrics, looked up once per label set (bounded
        # like the label values): one dict lookup per call instead of one per metric.
        self._calls: dict[tuple[str, str, str, str], tuple[Counter, Histogram]] = {}
        self._first_tokens: dict[tuple[str, str], tuple[Histogram, Histogram]] = {}
        self._token_rows: dict[tuple[str, str], tuple[Counter, Counter, Counter, Histogram, Histogram]] = {}
        call = ("surface", "route", "status", "model")
        self.requests = Counter(
            "rejoinder_requests", "Calls that ended, by surface, route, status, model", call, registry=r
        )
        self.duration = Histogram(
            "gen_ai_server_request_duration_seconds", "Time of a call", call, buckets=SECONDS, registry=r
        )
        self.first_token = Histogram(
            "gen_ai_server_time_to_first_token_seconds",
            "Time from a create call to its first token",
            ("surface", "model"),
            buckets=SECONDS,
            registry=r,
        )
        self.per_token = Histogram(
            "gen_ai_server_time_per_output_token_seconds",
            "Time per output token after the first, of a create call",
            ("surface", "model"),
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28),
            registry=r,
        )
        self.token_count = Counter(
            "rejoinder_tokens", "Tokens the upstreams reported", ("type", "provider", "model"), registry=r
        )
        self.token_usage = Histogram(
            "gen_ai_client_token_usage",
            "Tokens per upstream-answered response",
            ("gen_ai_token_type", "gen_ai_provider_name"),
            buckets=TOKENS,
            registry=r,
        )
        self._upstream_and_tools(r)
        self._state(r)
        self._vector_stores(r)

    def _upstream_and_tools(self, r: CollectorRegistry) -> None:
        self.upstream_calls = Counter(
            "rejoinder_upstream_requests",
            "Upstream calls by provider and outcome",
            ("provider", "outcome"),
            registry=r,
        )
        self.upstream_duration = Histogram(
            "gen_ai_client_operation_duration_seconds",
            "Time of an upstream call",
            ("gen_ai_provider_name", "error_type"),
            buckets=SECONDS,
            registry=r,
        )
        self.tool_calls = Counter(
            "rejoinder_tool_calls",
            "Tool runs by tool type, server label and outcome",
            ("tool", "server_label", "outcome"),
            registry=r,
        )
        self.tool_duration = Histogram(
            "gen_ai_execute_tool_duration_seconds",
            "Time of a tool run",
            ("tool", "server_label", "outcome"),
            buckets=SECONDS,
            registry=r,
        )

    def _state(self, r: CollectorRegistry) -> None:
        self.active_streams = Gauge(
            "rejoinder_active_streams",
            "Streams being sent",
            ("surface",),
            registry=r,
            multiprocess_mode="livesum",
        )
        self.background_running = Gauge(
            "rejoinder_background_runs_running",
            "Background runs this replica runs now",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.background_ended = Counter(
            "rejoinder_background_runs", "Background runs that ended, by status", ("status",), registry=r
        )
        self.store_duration = Histogram(
            "rejoinder_store_operation_duration_seconds",
            "Time of a store operation",
            ("operation",),
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
            registry=r,
        )
        self.rate_limited = Counter(
            "rejoinder_rate_limit_rejections", "Create calls refused by a rate limit", ("limit",), registry=r
        )

    def _vector_stores(self, r: CollectorRegistry) -> None:
        self.files_ingested = Counter(
            "rejoinder_vector_store_files_ingested",
            "Vector store files whose ingestion ended, by outcome (completed, or the last_error code)",
            ("outcome",),
            registry=r,
        )
        self.chunks_ingested = Counter(
            "rejoinder_vector_store_chunks_ingested", "Chunks indexed by completed ingestions", registry=r
        )
        self.ingestion_duration = Histogram(
            "rejoinder_vector_store_ingestion_duration_seconds",
            "Time to ingest one file (read, extract, chunk, embed, index), by outcome",
            ("outcome",),
            buckets=SECONDS,
            registry=r,
        )
        self.search_duration = Histogram(
            "rejoinder_vector_store_search_duration_seconds",
            "Time of a vector store search (embedding the query included)",
            buckets=SECONDS,
            registry=r,
        )

    def ingested(self, outcome: str, chunks: int, seconds: float) -> None:
        """A file's ingestion ended: `outcome` "completed" or its error code."""
        self.files_ingested.labels(outcome).inc()
        self.chunks_ingested.inc(chunks)
        self.ingestion_duration.labels(outcome).observe(seconds)

    def vector_search(self, seconds: float) -> None:
        """A search of vector stores took `seconds`."""
        self.search_duration.observe(seconds)

    def child(self, metric: M, *values: str) -> M:
        """`metric.labels(*values)`, looked up once: prometheus_client checks the values and takes a lock
        on every `labels()` call, a few microseconds that each call of the service paid several times.
        Bounded like the label values (children are never removed)."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found  # type: ignore[return-value]  # the child of `metric` is of its type

    def model(self, name: str) -> str:
        """`name` as a label value (bounded)."""
        return self._model(name) if name else ""

    def server_label(self, label: str) -> str:
        """An MCP server label as a label value (bounded)."""
        return self._server(label)

    def flush(self) -> None:
        """Count now what the calls that ended reported (a scrape does first)."""
        self._later.flush()

    def call_ended(self, record: CallRecord, seconds: float) -> None:
        """One call ended: its count and time; for a response, its first token (counted with the next
        batch, as the record stands now)."""
        ended = _Ended(record.surface, record.route, record.status, record.model, seconds)
        self._later.add((self._call_ended, (ended, record.first_token_s, record.output_tokens)))

    def _call_ended(self, ended: _Ended, first_token_s: float | None, output_tokens: int) -> None:
        model = self.model(ended.model)
        key = (ended.surface, ended.route, ended.status, model)
        call = self._calls.get(key)
        if call is None:
            call = self._calls[key] = (self.requests.labels(*key), self.duration.labels(*key))
        call[0].inc()
        call[1].observe(ended.seconds)
        if first_token_s is not None:
            labels = (ended.surface, model)
            first = self._first_tokens.get(labels)
            if first is None:
                first = self._first_tokens[labels] = (
                    self.first_token.labels(*labels),
                    self.per_token.labels(*labels),
                )
            first[0].observe(first_token_s)
            if output_tokens > 1:
                first[1].observe((ended.seconds - first_token_s) / (output_tokens - 1))

    def tokens(self, record: CallRecord) -> None:
        """A response's run ended (in its call, or later in the background): the tokens it used (counted
        with the next batch)."""
        if record.provider:
            counts = (record.input_tokens, record.output_tokens, record.reasoning_tokens)
            self._later.add((self._tokens, (record.provider, record.model, *counts)))

    def _tokens(self, provider: str, model_name: str, input_tokens: int, output: int, reasoning: int) -> None:
        model = self.model(model_name)
        row = self._token_rows.get((provider, model))
        if row is None:
            row = self._token_rows[(provider, model)] = self._token_row(provider, model)
        counted_input, counted_output, counted_reasoning, usage_input, usage_output = row
        counted_input.inc(input_tokens)
        counted_output.inc(output)
        counted_reasoning.inc(reasoning)
        if input_tokens or output:
            usage_input.observe(input_tokens)
            usage_output.observe(output)

    def upstream_call(self, provider: str, outcome: str, seconds: float) -> None:
        """An upstream call ended: `outcome` "ok" or the failure's kind (counted with the next batch)."""
        self._later.add((self._upstream_call, (provider, outcome, seconds)))

    def _upstream_call(self, provider: str, outcome: str, seconds: float) -> None:
        self.child(self.upstream_calls, provider, outcome).inc()
        error_type = "" if outcome == "ok" else outcome
        self.child(self.upstream_duration, provider, error_type).observe(seconds)

    def _token_row(self, provider: str, model: str) -> tuple[Counter, Counter, Counter, Histogram, Histogram]:
        """The children a response's tokens go to, for one provider and model."""
        return (
            self.token_count.labels("input", provider, model),
            self.token_count.labels("output", provider, model),
            self.token_count.labels("reasoning", provider, model),
            self.token_usage.labels("input", provider),
            self.token_usage.labels("output", provider),
        )


def serve(metrics: Metrics, host: str, port: int) -> tuple[int, threading.Thread]:
    """Expose the metrics over HTTP (`GET /metrics`) from a thread of prometheus_client's; the port it
    listens on (0: a free one)."""
    server, thread = start_http_server(port, host, registry=metrics.registry)
    return int(server.server_port), thread


MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class SharedMetrics:
    """The metrics of `serve --workers N`: each worker counts into files of its own in `path`
    (prometheus_client's multiprocess mode, chosen by `PROMETHEUS_MULTIPROC_DIR` in the workers'
    environment), and the supervisor serves their sum. Gauges count live workers only."""

    def __init__(self, path: Path) -> None:
        """Start empty: the files of an earlier run would add to this one's counts."""
        self.path = path
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True, mode=0o700)

    def environment(self) -> dict[str, str]:
        """What the workers' environment needs (set before they start: read as prometheus_client loads)."""
        return {MULTIPROCESS_ENV: str(self.path)}

    def worker_ended(self, pid: int) -> None:
        """A worker is gone: its gauges stop counting (its counters keep what they counted)."""
        multiprocess.mark_process_dead(pid, str(self.path))  # type: ignore[no-untyped-call]

    def serve(self, host: str, port: int) -> int:
        """`GET /metrics` with every worker's metrics summed; the port (0: a free one)."""
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(self.path))  # type: ignore[no-untyped-call]
        server, _ = start_http_server(port, host, registry=registry)
        return int(server.server_port)
