"""The spans of one response, caught by OpenTelemetry's in-memory exporter: a real gRPC server, a real
channel with the caller's `traceparent`, the scripted upstream and a real MCP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from rejoinder.app import GrpcApp, Parts, start_grpc
from rejoinder.config import Settings, UpstreamSettings
from rejoinder.observe.tracing import Tracing
from rejoinder.responses.v1 import items_pb2, responses_service_pb2, tools_pb2
from rejoinder.responses.v1 import responses_service_pb2_grpc as responses_grpc
from tests.mcp_servers import McpTestServer, toolbox_server
from tests.scripted_upstream import Script, ScriptedToolCall, ScriptedUpstream

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{CALLER}-01"


@pytest.fixture(scope="module")
def upstream() -> Iterator[ScriptedUpstream]:
    with ScriptedUpstream() as scripted:
        yield scripted


@pytest.fixture(scope="module")
def toolbox() -> Iterator[McpTestServer]:
    with McpTestServer(toolbox_server(), "streamable_http") as server:
        yield server


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def app(
    tmp_path: Path, upstream: ScriptedUpstream, exporter: InMemorySpanExporter
) -> AsyncIterator[GrpcApp]:
    upstream.reset()
    settings = Settings(
        grpc_port=0,
        data_dir=tmp_path,
        providers={"scripted": UpstreamSettings(base_url=upstream.base_url)},
        default_provider="scripted",
        metrics=False,
    )
    started = await start_grpc(settings, Parts(tracing=Tracing.to(exporter)))
    yield started
    await started.stop(0.5)


def _request(toolbox: McpTestServer) -> responses_service_pb2.CreateRequest:
    mcp = tools_pb2.McpTool(
        server_label="toolbox",
        server_url=toolbox.url,
        require_approval=tools_pb2.McpRequireApproval(mode="never"),
    )
    return responses_service_pb2.CreateRequest(
        model="scripted-model", input=items_pb2.Input(text="2+3?"), tools=[tools_pb2.Tool(mcp=mcp)]
    )


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def _parent_of(span: ReadableSpan) -> int:
    assert span.parent is not None, span.name
    return span.parent.span_id


async def test_one_response_is_one_trace_with_a_span_per_stage(
    app: GrpcApp, upstream: ScriptedUpstream, toolbox: McpTestServer, exporter: InMemorySpanExporter
) -> None:
    upstream.enqueue(
        Script(tool_calls=[ScriptedToolCall("call_1", "add", '{"a": 2, "b": 3}')], usage=(11, 7, 0, 0)),
        Script(text="2 + 3 = 5", usage=(20, 5, 0, 0)),
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        stub = responses_grpc.ResponsesServiceStub(channel)
        reply = await stub.Create(_request(toolbox), metadata=(("traceparent", TRACEPARENT),))
    created = reply.response
    assert created.status == "completed"
    await app.close()  # the store's last writes are done, every span ended

    spans = list(exporter.get_finished_spans())
    assert {format(s.context.trace_id, "032x") for s in spans} == {TRACE}  # all in the caller's trace
    root = _one(spans, "/rejoinder.responses.v1.ResponsesService/Create")
    assert root.kind is SpanKind.SERVER and format(_parent_of(root), "016x") == CALLER
    assert root.attributes is not None
    assert root.attributes["gen_ai.request.model"] == "scripted-model"
    assert root.attributes["gen_ai.response.id"] == created.id

    below_root = {s.name for s in spans if s.parent is not None and s.parent.span_id == root.context.span_id}
    assert {
        "validate",
        "assemble_context",
        "tools/list toolbox",
        "execute_tool add",
        "store save",
    } <= below_root
    chats = sorted((s for s in spans if s.name == "chat scripted-model"), key=lambda s: s.start_time or 0)
    assert len(chats) == 2 and all(_parent_of(c) == root.context.span_id for c in chats)
    first, second = chats
    assert first.kind is SpanKind.CLIENT and first.attributes is not None
    assert first.attributes["gen_ai.operation.name"] == "chat"
    assert first.attributes["gen_ai.provider.name"] == "scripted"
    assert first.attributes["server.address"] == "127.0.0.1"
    assert first.attributes["server.port"] == int(upstream.base_url.split(":")[2].split("/")[0])
    assert (
        first.attributes["gen_ai.usage.input_tokens"],
        first.attributes["gen_ai.usage.output_tokens"],
    ) == (
        11,
        7,
    )
    assert first.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert second.attributes is not None and second.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert [e.name for e in first.events] == ["gen_ai.first_token"]
    ttft = first.attributes["gen_ai.response.time_to_first_chunk"]
    assert isinstance(ttft, float) and 0 < ttft < 5

    # each upstream request is an HTTP client span inside its chat span, and its traceparent names it
    posts = [s for s in spans if s.kind is SpanKind.CLIENT and s.name == "POST"]
    assert sorted(_parent_of(p) for p in posts) == sorted(c.context.span_id for c in chats)
    sent = [
        r.headers.get("traceparent", "") for r in upstream.received if r.path.endswith("/chat/completions")
    ]
    assert sorted(sent) == sorted(f"00-{TRACE}-{p.context.span_id:016x}-01" for p in posts)

    call = _one(spans, "execute_tool add")
    assert call.attributes is not None
    assert (call.attributes["gen_ai.tool.name"], call.attributes["mcp.server.label"]) == ("add", "toolbox")
    assert call.status.status_code is StatusCode.UNSET
    save = _one(spans, "store save")
    assert save.attributes is not None and save.attributes["db.system.name"] == "sqlite"
    # no prompt or output text on any span
    assert not any(
        "2+3?" in str(v) or "2 + 3 = 5" in str(v) for s in spans for v in (s.attributes or {}).values()
    )


async def test_a_failing_upstream_marks_its_span(
    app: GrpcApp, upstream: ScriptedUpstream, exporter: InMemorySpanExporter
) -> None:
    upstream.enqueue(Script(status=503))
    request = responses_service_pb2.CreateRequest(model="scripted-model", input=items_pb2.Input(text="hi"))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        stub = responses_grpc.ResponsesServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Create(request)
    await app.close()
    chat = _one(list(exporter.get_finished_spans()), "chat scripted-model")
    assert chat.status.status_code is StatusCode.ERROR
    assert chat.attributes is not None and chat.attributes["error.type"] == "status"
    root = _one(list(exporter.get_finished_spans()), "/rejoinder.responses.v1.ResponsesService/Create")
    assert root.parent is None  # no traceparent sent: the call starts a trace of its own
