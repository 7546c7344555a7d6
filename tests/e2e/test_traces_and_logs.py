"""Traces and access lines of a real `rejoinder serve` (Envoy in front), as an operator sees them.

- Tracing on (`OTEL_EXPORTER_OTLP_ENDPOINT`): spans go over OTLP/gRPC to a collector in this test; the
  caller's `traceparent` (an HTTP header through Envoy, or gRPC metadata) is the parent of the server span
  and reaches the upstream and the MCP server.
- Tracing off (the default): nothing adds a `traceparent` anywhere, and the access line still names the
  caller's trace, so logs join traces either way.
- Access lines (`rejoinder.access`): exactly one per call, as JSON (`--log-format json`) and as text, with
  the request id Envoy keeps, never with a prompt, an output or a key.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import openai
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from rejoinder.api.auth import hash_key
from rejoinder.observe.batches import FLUSH_S
from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1 import responses_service_pb2_grpc as pb_grpc
from rejoinder.responses.v1.items_pb2 import Input
from tests.e2e.service_process import ServiceProcess
from tests.mcp_servers import McpTestServer, toolbox_server
from tests.scripted_upstream import Script, ScriptedToolCall, ScriptedUpstream

TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE}-{CLIENT_SPAN}-01"
GRPC_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
GRPC_CLIENT_SPAN = "00f067aa0ba902b7"
PROMPT = "which headers reached the toolbox, quokka-prompt-5521?"
ANSWER = "the toolbox saw them all, wombat-answer-8813"
KEY = "sk-e2e-logs-secret-7f3c91"
MODEL = "scripted-model"  # what the alias "m" names upstream
REST_CREATE = "/rejoinder.responses.v1.OpenAIHttpService/CreateResponse"
GRPC_CREATE = "/rejoinder.responses.v1.ResponsesService/Create"
FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
WAIT_S = 10.0


# -- an OTLP collector -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Collected:
    """One exported span, ids as lowercase hex."""

    trace_id: str
    span_id: str
    parent_id: str  # "" for a root
    name: str
    kind: int
    attributes: dict[str, object]
    events: tuple[str, ...]
    resource: dict[str, object]
    start: int  # unix ns


def _value(value: AnyValue) -> object:
    which = value.WhichOneof("value")
    if which == "array_value":
        return tuple(_value(v) for v in value.array_value.values)
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return None if which is None else getattr(value, which)


def _attributes(pairs: Any) -> dict[str, object]:
    kvs: list[KeyValue] = list(pairs)
    return {kv.key: _value(kv.value) for kv in kvs}


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """A real OTLP/gRPC trace collector on 127.0.0.1 that keeps every span exported to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[Collected] = []
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        """Keep the request's spans."""
        got: list[Collected] = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                got.extend(_collected(span, resource) for span in scope_spans.spans)
        with self._lock:
            self._spans.extend(got)
        return trace_service_pb2.ExportTraceServiceResponse()

    @property
    def spans(self) -> list[Collected]:
        """Every span received so far."""
        with self._lock:
            return list(self._spans)

    def trace(self, trace_id: str, done: Callable[[list[Collected]], bool]) -> list[Collected]:
        """The spans of `trace_id`, once `done` says they are all in (the exporter sends in batches)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            spans = [s for s in self.spans if s.trace_id == trace_id]
            if done(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.05)

    def __enter__(self) -> Collector:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)


def _collected(span: Span, resource: dict[str, object]) -> Collected:
    return Collected(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=span.parent_span_id.hex(),
        name=span.name,
        kind=span.kind,
        attributes=_attributes(span.attributes),
        events=tuple(e.name for e in span.events),
        resource=resource,
        start=span.start_time_unix_nano,
    )


def _named(spans: list[Collected], name: str) -> list[Collected]:
    return [s for s in spans if s.name == name]


def _one(spans: list[Collected], name: str) -> Collected:
    found = _named(spans, name)
    assert len(found) == 1, (name, sorted(s.name for s in spans))
    return found[0]


def _has(counts: dict[str, int]) -> Callable[[list[Collected]], bool]:
    """`done` for `Collector.trace`: at least `counts[name]` spans of each name."""
    return lambda spans: all(len(_named(spans, name)) >= n for name, n in counts.items())


# -- services ---------------------------------------------------------------------------------------


def _config(data: Path, upstream: ScriptedUpstream, keyed: bool) -> Path:
    config = data / "rejoinder.toml"
    text = f'default_provider = "scripted"\n[providers.scripted]\nbase_url = "{upstream.base_url}"\n'
    text += f'[models.m]\nprovider = "scripted"\nmodel = "{MODEL}"\n'
    if keyed:
        text += f'[auth.tenants]\nacme = ["{hash_key(KEY)}"]\n'
    config.write_text(text)
    return config


def _serve(
    data: Path, upstream: ScriptedUpstream, *, keyed: bool, args: tuple[str, ...] = (), **env: str
) -> ServiceProcess:
    """A service of its own, started without any OTEL_* variable of the test's environment but `env`."""
    extra = ["--config", str(_config(data, upstream, keyed)), *args]
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("OTEL_")]:
            patch.delenv(name)
        return ServiceProcess(
            data_dir=data, extra_args=extra, env=env, api_key=KEY if keyed else None
        ).start()


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


@pytest.fixture(scope="module")
def toolbox() -> Iterator[McpTestServer]:
    with McpTestServer(toolbox_server(), "streamable_http") as server:
        yield server


@pytest.fixture(scope="module")
def traced(
    tmp_path_factory: pytest.TempPathFactory, e2e_upstream: ScriptedUpstream, collector: Collector
) -> Iterator[ServiceProcess]:
    """Tracing on: spans to the collector over OTLP/gRPC, in batches every 50 ms."""
    proc = _serve(
        tmp_path_factory.mktemp("traced"),
        e2e_upstream,
        keyed=False,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector.port}",
        OTEL_EXPORTER_OTLP_INSECURE="true",
        OTEL_BSP_SCHEDULE_DELAY="50",
    )
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture(scope="module")
def plain(
    tmp_path_factory: pytest.TempPathFactory, e2e_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    """The defaults: no tracing, text log lines; one tenant with one key."""
    proc = _serve(tmp_path_factory.mktemp("plain"), e2e_upstream, keyed=True)
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture(scope="module")
def json_logged(
    tmp_path_factory: pytest.TempPathFactory, e2e_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    """`--log-format json`, no tracing; one tenant with one key."""
    proc = _serve(tmp_path_factory.mktemp("json"), e2e_upstream, keyed=True, args=("--log-format", "json"))
    yield proc
    assert proc.stop() == 0, proc.log()


def _mcp(server: McpTestServer) -> Any:
    return {"type": "mcp", "server_label": "toolbox", "server_url": server.url, "require_approval": "never"}


def _echo_then_answer() -> tuple[Script, Script]:
    call = ScriptedToolCall("call_1", "echo_headers", "{}")
    return Script(tool_calls=[call], usage=(11, 7, 0, 0)), Script(text=ANSWER, usage=(20, 5, 0, 0))


def _parts(traceparent: str) -> tuple[str, str]:
    """(trace id, parent span id) of a W3C traceparent, checked for the version-00 shape."""
    found = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-01", traceparent)
    assert found, traceparent
    return found.group(1), found.group(2)


# -- tracing on --------------------------------------------------------------------------------------


def test_one_rest_create_is_one_trace_from_the_caller_through_upstream_and_mcp(
    traced: ServiceProcess, upstream: ScriptedUpstream, toolbox: McpTestServer, collector: Collector
) -> None:
    upstream.enqueue(*_echo_then_answer())
    client = openai.OpenAI(base_url=traced.base_url, api_key="k", max_retries=0)
    r = client.responses.create(
        model="m",
        input=PROMPT,
        tools=[_mcp(toolbox)],
        extra_headers={"traceparent": TRACEPARENT, "x-request-id": "e2e-traced-rest"},
    )
    assert [o.type for o in r.output] == ["mcp_list_tools", "mcp_call", "message"]
    assert r.output_text == ANSWER

    # the caller's trace went on to the upstream (twice) and to the MCP server
    sent = [_parts(req.headers["traceparent"]) for req in upstream.received]
    assert [trace_id for trace_id, _ in sent] == [TRACE, TRACE]
    assert [body.get("stream") for body in upstream.requests] == [None, None]
    seen = json.loads(r.output[1].output)
    assert set(seen) == {"authorization", "x-custom", "traceparent"}
    mcp_trace, mcp_parent = _parts(seen["traceparent"])
    assert mcp_trace == TRACE

    # and the collector got the whole trace
    expected = {REST_CREATE: 1, f"chat {MODEL}": 2, "POST": 2, "execute_tool echo_headers": 1}
    expected |= {"validate": 1, "assemble_context": 1, "tools/list toolbox": 1, "store save": 1}
    spans = collector.trace(TRACE, _has(expected))
    assert {name: len(_named(spans, name)) for name in expected} == expected, sorted(s.name for s in spans)
    root = _one(spans, REST_CREATE)
    assert (root.kind, root.parent_id) == (Span.SPAN_KIND_SERVER, CLIENT_SPAN)
    assert root.attributes["rpc.system"] == "grpc"
    assert root.attributes["gen_ai.response.id"] == r.id
    assert root.resource["service.name"] == "rejoinder"
    assert {s.parent_id for s in spans if s.name != REST_CREATE and s.name != "POST"} == {root.span_id}

    chats = sorted(_named(spans, f"chat {MODEL}"), key=lambda c: c.start)
    port = int(upstream.base_url.split(":")[2].split("/")[0])
    asked = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "scripted",
        "gen_ai.request.model": MODEL,
        "gen_ai.request.stream": False,  # a non-stream create asks the upstream for one body
        "server.address": "127.0.0.1",
        "server.port": port,
    }
    answered = [
        {
            "gen_ai.usage.input_tokens": 11,
            "gen_ai.usage.output_tokens": 7,
            "gen_ai.response.finish_reasons": ("tool_calls",),
        },
        {
            "gen_ai.usage.input_tokens": 20,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.response.finish_reasons": ("stop",),
        },
    ]
    assert [{k: v for k, v in c.attributes.items() if k != FIRST_CHUNK} for c in chats] == [
        asked | answered[0],
        asked | answered[1],
    ]
    assert [c.kind for c in chats] == [Span.SPAN_KIND_CLIENT] * 2
    # each upstream request names its HTTP client span, a child of a chat span
    posts = _named(spans, "POST")
    assert sorted(span_id for _, span_id in sent) == sorted(p.span_id for p in posts)
    assert sorted(p.parent_id for p in posts) == sorted(c.span_id for c in chats)
    assert all(p.kind == Span.SPAN_KIND_CLIENT for p in posts)

    tool = _one(spans, "execute_tool echo_headers")
    assert tool.attributes == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "echo_headers",
        "gen_ai.tool.type": "extension",
        "mcp.method.name": "tools/call",
        "mcp.server.label": "toolbox",
    }
    assert mcp_parent == root.span_id  # the MCP session opened inside the server span

    # no prompt or output text on any span the collector ever received
    for span in collector.spans:
        for value in [*span.attributes.values(), *span.resource.values()]:
            assert PROMPT not in str(value) and ANSWER not in str(value), (span.name, value)

    # the access line names the same trace
    line = f" request_id=e2e-traced-rest trace_id={TRACE} surface=rest route=CreateResponse model=m "
    assert _logged(traced, re.escape(line)) == 1, traced.log()

    # each upstream call is an operation of its own, with its own first token
    assert [c.events for c in chats] == [("gen_ai.first_token",)] * 2
    assert [type(c.attributes.get(FIRST_CHUNK)) for c in chats] == [float, float]


def test_a_typed_grpc_call_carries_its_metadata_traceparent_to_the_upstream(
    traced: ServiceProcess, upstream: ScriptedUpstream, collector: Collector
) -> None:
    upstream.enqueue(Script(text="typed", usage=(3, 2, 0, 0)))
    with grpc.insecure_channel(traced.grpc_target) as channel:
        reply = pb_grpc.ResponsesServiceStub(channel).Create(
            pb.CreateRequest(model="m", input=Input(text=PROMPT)),
            metadata=(("traceparent", f"00-{GRPC_TRACE}-{GRPC_CLIENT_SPAN}-01"),),
        )
    assert reply.response.status == "completed"
    [request] = upstream.received
    trace_id, parent = _parts(request.headers["traceparent"])
    assert trace_id == GRPC_TRACE

    spans = collector.trace(GRPC_TRACE, _has({GRPC_CREATE: 1, f"chat {MODEL}": 1, "POST": 1}))
    root = _one(spans, GRPC_CREATE)
    assert (root.kind, root.parent_id) == (Span.SPAN_KIND_SERVER, GRPC_CLIENT_SPAN)
    assert root.attributes["gen_ai.response.id"] == reply.response.id
    post, chat = _one(spans, "POST"), _one(spans, f"chat {MODEL}")
    assert (post.span_id, post.parent_id, chat.parent_id) == (parent, chat.span_id, root.span_id)
    line = f" request_id=grpc-[0-9a-f]{{16}} trace_id={GRPC_TRACE} surface=grpc route=Create model=m "
    assert _logged(traced, line) == 1, traced.log()


# -- tracing off -------------------------------------------------------------------------------------


def _settled() -> None:
    """Wait until the access lines of the calls that ended so far are written (within `FLUSH_S`)."""
    time.sleep(3 * FLUSH_S)


def _logged(service: ServiceProcess, pattern: str) -> int:
    """How many times the service's log matches `pattern`, once it does (access lines of calls that
    succeeded are written within `FLUSH_S` of their end)."""
    deadline = time.monotonic() + WAIT_S
    while not (found := len(re.findall(pattern, service.log()))) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _access_lines(service: ServiceProcess, count: int) -> list[str]:
    """The text access lines, once there are `count` of them (written within `FLUSH_S` of their call's
    end)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        lines = [line for line in service.log().splitlines() if " INFO rejoinder.access [" in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def _text_line(
    request_id: str, tokens: tuple[int, int, int], *, trace: str, call: str = "rest CreateResponse 200"
) -> str:
    """The pattern of one whole text access line of tenant acme's call of model m (times vary)."""
    surface, route, status = call.split()
    return (
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}} INFO rejoinder\.access \[{request_id}\]: {call} "
        rf"request_id={request_id} trace_id={trace} tenant=acme surface={surface} route={route} model=m "
        rf"provider=scripted status={status} duration_ms=\d+\.\d+ first_token_ms=\d+\.\d+ "
        f"input_tokens={tokens[0]} output_tokens={tokens[1]} reasoning_tokens={tokens[2]}"
    )


def test_with_tracing_off_nothing_sends_a_traceparent_but_access_lines_keep_the_callers_trace(
    plain: ServiceProcess, upstream: ScriptedUpstream, toolbox: McpTestServer
) -> None:
    _settled()
    before = len(_access_lines(plain, 0))
    upstream.enqueue(*_echo_then_answer())
    client = openai.OpenAI(base_url=plain.base_url, api_key=KEY, max_retries=0)
    r = client.responses.create(
        model="m",
        input=PROMPT,
        tools=[_mcp(toolbox)],
        extra_headers={"traceparent": TRACEPARENT, "x-request-id": "e2e-untraced-rest"},
    )
    assert r.output_text == ANSWER
    upstream.enqueue(Script(text="typed", usage=(3, 2, 0, 0)))
    with grpc.insecure_channel(plain.grpc_target) as channel:
        pb_grpc.ResponsesServiceStub(channel).Create(
            pb.CreateRequest(model="m", input=Input(text=PROMPT)),
            metadata=(
                ("authorization", f"Bearer {KEY}"),
                ("traceparent", f"00-{GRPC_TRACE}-{GRPC_CLIENT_SPAN}-01"),
                ("x-request-id", "e2e-untraced-grpc"),
            ),
        )

    # nothing injects: the upstream and the MCP server see no trace context at all
    assert len(upstream.received) == 3
    for request in upstream.received:
        assert "traceparent" not in request.headers and "tracestate" not in request.headers
    assert json.loads(r.output[1].output) == {"authorization": None, "x-custom": None}

    # the access lines still name the caller's trace; a response's tokens are those of all its turns
    assert (r.usage.input_tokens, r.usage.output_tokens) == (31, 12)
    rest, typed = _access_lines(plain, before + 2)[before:]
    assert re.fullmatch(_text_line("e2e-untraced-rest", (31, 12, 0), trace=TRACE), rest), rest
    assert re.fullmatch(
        _text_line("e2e-untraced-grpc", (3, 2, 0), trace=GRPC_TRACE, call="grpc Create OK"), typed
    ), typed


def test_text_access_lines(plain: ServiceProcess, upstream: ScriptedUpstream) -> None:
    _settled()
    before = len(_access_lines(plain, 0))
    upstream.enqueue(Script(text=ANSWER, usage=(5, 3, 0, 1)))
    client = openai.OpenAI(base_url=plain.base_url, api_key=KEY, max_retries=0)
    r = client.responses.create(model="m", input=PROMPT, extra_headers={"x-request-id": "e2e-text-line"})
    assert r.output_text == ANSWER
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(
            model="m",
            input=PROMPT,
            extra_body={"no_such_field": 1},
            extra_headers={"x-request-id": "e2e-text-bad"},
        )
    assert bad.value.code == "unknown_parameter"
    created, refused = _access_lines(plain, before + 2)[before:]
    # empty fields are left out of a text line: here trace_id (no traceparent) and error_code
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO rejoinder\.access \[e2e-text-line\]: "
        r"rest CreateResponse 200 request_id=e2e-text-line tenant=acme surface=rest route=CreateResponse "
        r"model=m provider=scripted status=200 duration_ms=\d+\.\d+ first_token_ms=\d+\.\d+ "
        r"input_tokens=5 output_tokens=3 reasoning_tokens=1",
        created,
    ), created
    # and here model, provider and first_token_ms: the request was refused before any of them
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO rejoinder\.access \[e2e-text-bad\]: "
        r"rest CreateResponse 400 request_id=e2e-text-bad tenant=acme surface=rest route=CreateResponse "
        r"status=400 error_code=unknown_parameter duration_ms=\d+\.\d+ "
        r"input_tokens=0 output_tokens=0 reasoning_tokens=0",
        refused,
    ), refused


# -- JSON access lines -------------------------------------------------------------------------------


def _json_access(service: ServiceProcess) -> list[dict[str, Any]]:
    """Every log line that is a JSON object with a `route`."""
    found = []
    for line in service.log().splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict) and "route" in parsed:
            found.append(parsed)
    return found


def _json_access_after(service: ServiceProcess, before: int, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT_S
    while True:
        lines = _json_access(service)[before:]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


ACCESS_KEYS = {
    "time", "level", "logger", "request_id", "message", "trace_id", "tenant", "surface", "route", "model",
    "provider", "status", "error_code", "duration_ms", "first_token_ms", "input_tokens", "output_tokens",
    "reasoning_tokens",
}  # fmt: skip


def _timed(line: dict[str, Any], *, first_token: bool) -> dict[str, Any]:
    """`line` without its times, once they are checked: a duration, and a first token within it."""
    assert set(line) == ACCESS_KEYS, line
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]), line
    duration, first = line["duration_ms"], line["first_token_ms"]
    assert isinstance(duration, float) and duration > 0, line
    if first_token:
        assert isinstance(first, float) and 0 < first <= duration, line
    else:
        assert first is None, line
    return {k: v for k, v in line.items() if k not in ("time", "duration_ms", "first_token_ms")}


def test_one_json_access_line_per_call_and_never_a_prompt_an_output_or_a_key(
    json_logged: ServiceProcess, upstream: ScriptedUpstream
) -> None:
    _settled()
    before = len(_json_access(json_logged))
    client = openai.OpenAI(base_url=json_logged.base_url, api_key=KEY, max_retries=0)
    upstream.enqueue(Script(text=ANSWER, usage=(5, 3, 0, 1)), Script(text=ANSWER, usage=(3, 2, 0, 0)))
    created = client.responses.with_raw_response.create(
        model="m", input=PROMPT, extra_headers={"x-request-id": "e2e-json-create"}
    )
    assert created.headers["x-request-id"] == "e2e-json-create"  # Envoy kept the client's id
    assert created.parse().output_text == ANSWER
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(
            model="m",
            input=PROMPT,
            extra_body={"no_such_field": 1},
            extra_headers={"x-request-id": "e2e-json-bad"},
        )
    with grpc.insecure_channel(json_logged.grpc_target) as channel:
        typed = pb_grpc.ResponsesServiceStub(channel).Create(
            pb.CreateRequest(model="m", input=Input(text=PROMPT)),
            metadata=(("authorization", f"Bearer {KEY}"),),
        )
    assert typed.response.output[0].message.content[0].output_text.text == ANSWER

    lines = _json_access_after(json_logged, before, 3)
    assert len(lines) == 3, lines
    rest, refused, grpc_line = lines
    assert re.fullmatch(r"grpc-[0-9a-f]{16}", grpc_line["request_id"]), grpc_line  # made for a direct call
    common = {"level": "INFO", "logger": "rejoinder.access", "trace_id": None, "tenant": "acme"}
    assert _timed(rest, first_token=True) == common | {
        "request_id": "e2e-json-create",
        "message": "rest CreateResponse 200",
        "surface": "rest",
        "route": "CreateResponse",
        "model": "m",
        "provider": "scripted",
        "status": "200",
        "error_code": None,
        "input_tokens": 5,
        "output_tokens": 3,
        "reasoning_tokens": 1,
    }
    assert _timed(refused, first_token=False) == common | {
        "request_id": "e2e-json-bad",
        "message": "rest CreateResponse 400",
        "surface": "rest",
        "route": "CreateResponse",
        "model": None,
        "provider": None,
        "status": "400",
        "error_code": bad.value.code,
        "input_tokens": 0,
        "output_tokens": 0,
        "reasoning_tokens": 0,
    }
    assert bad.value.code == "unknown_parameter"
    assert _timed(grpc_line, first_token=True) == common | {
        "request_id": grpc_line["request_id"],
        "message": "grpc Create OK",
        "surface": "grpc",
        "route": "Create",
        "model": "m",
        "provider": "scripted",
        "status": "OK",
        "error_code": None,
        "input_tokens": 3,
        "output_tokens": 2,
        "reasoning_tokens": 0,
    }

    log = json_logged.log()
    for secret in (PROMPT, ANSWER, KEY, "quokka-prompt", "wombat-answer"):
        assert secret not in log, secret
