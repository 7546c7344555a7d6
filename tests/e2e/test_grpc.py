"""The typed gRPC surface through the generated betterproto2 client, direct and through Envoy."""

from __future__ import annotations

import itertools
import time

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from rejoinder_client.rejoinder.responses.v1 import (
    ContentList,
    CreateRequest,
    DeleteRequest,
    GetRequest,
    Input,
    InputItem,
    InputItemList,
    ListInputItemsRequest,
    Message,
    MessageContent,
    ResponsesServiceStub,
    StreamCreateBatchedRequest,
    StreamCreateRequest,
)
from tests.scripted_upstream import Script, ScriptedUpstream


def _details(err: grpc.RpcError) -> tuple[error_details_pb2.ErrorInfo, list[error_details_pb2.BadRequest]]:
    trailers = dict(err.trailing_metadata() or ())  # type: ignore[attr-defined]
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    info = error_details_pb2.ErrorInfo()
    bad: list[error_details_pb2.BadRequest] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            detail.Unpack(br)
            bad.append(br)
    return info, bad


def test_create_get_list_delete(channel: grpc.Channel, upstream: ScriptedUpstream) -> None:
    stub = ResponsesServiceStub(channel)
    upstream.enqueue(Script(text=["typed ", "hello"]))
    created = stub.create(CreateRequest(model="m", input=Input(text="hi"), instructions="brief")).response
    assert created is not None
    assert created.status == "completed"
    message = created.output[0].message
    assert message is not None and message.content[0].output_text is not None
    assert message.content[0].output_text.text == "typed hello"
    got = stub.get(GetRequest(response_id=created.id)).response
    assert got == created
    items = stub.list_input_items(ListInputItemsRequest(response_id=created.id))
    assert items.object == "list" and len(items.data) == 1
    assert items.data[0].message is not None and items.data[0].message.role == "user"
    deleted = stub.delete(DeleteRequest(response_id=created.id))
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "response.deleted", True)
    with pytest.raises(grpc.RpcError) as err:
        stub.get(GetRequest(response_id=created.id))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def test_stream_create_sends_the_same_events_create_folds(
    channel: grpc.Channel, upstream: ScriptedUpstream
) -> None:
    stub = ResponsesServiceStub(channel)
    upstream.enqueue(Script(text=["a", "b"]))
    items = InputItemList(items=[InputItem(message=Message(role="user", content=MessageContent(text="hi")))])
    events = [
        r.event
        for r in stub.stream_create(
            StreamCreateRequest(params=CreateRequest(model="m", input=Input(items=items)))
        )
    ]
    assert [e.sequence_number for e in events if e is not None] == list(range(len(events)))
    first, last = events[0], events[-1]
    assert first is not None and first.response_created is not None
    assert last is not None and last.response_completed is not None
    final = last.response_completed.response
    assert final is not None and final.status == "completed"
    deltas = [e.output_text_delta.delta for e in events if e is not None and e.output_text_delta is not None]
    assert deltas == ["a", "b"]
    stored = stub.get(GetRequest(response_id=final.id)).response
    assert stored == final


def test_stream_create_batched_sends_the_same_events_in_fewer_messages(
    channel: grpc.Channel, upstream: ScriptedUpstream
) -> None:
    stub = ResponsesServiceStub(channel)
    tokens = [f"t{i} " for i in range(40)]
    upstream.enqueue(Script(text=tokens), Script(text=tokens))
    params = CreateRequest(model="m", input=Input(text="hi"), store=False)
    single = [r.event for r in stub.stream_create(StreamCreateRequest(params=params))]
    batches = [r.events for r in stub.stream_create_batched(StreamCreateBatchedRequest(params=params))]
    batched = [event for batch in batches for event in batch]

    assert all(batches), "no empty message"
    assert len(batches) < len(batched), "a burst of ready events shares messages"
    assert [e.sequence_number for e in batched] == list(range(len(batched)))
    assert [e.to_dict().keys() - {"sequenceNumber"} for e in batched] == [
        e.to_dict().keys() - {"sequenceNumber"} for e in single if e is not None
    ], "the same events, in the same order"
    first_types = [next(iter(e.to_dict().keys() - {"sequenceNumber"})) for e in batches[0]]
    assert first_types[:2] == ["responseCreated", "responseInProgress"]
    assert "outputTextDelta" in first_types, "the first delta is not held behind a second message"
    deltas = [e.output_text_delta.delta for e in batched if e.output_text_delta is not None]
    assert deltas == tokens
    final = batched[-1].response_completed
    assert final is not None and final.response is not None and final.response.status == "completed"


def test_stream_create_batched_sends_a_slow_models_deltas_as_they_come(
    channel: grpc.Channel, upstream: ScriptedUpstream
) -> None:
    stub = ResponsesServiceStub(channel)
    upstream.enqueue(Script(text=["slow ", "and ", "steady"], delay_s=0.15))
    params = CreateRequest(model="m", input=Input(text="hi"), store=False)
    with_deltas = [
        [e.output_text_delta.delta for e in r.events if e.output_text_delta is not None]
        for r in stub.stream_create_batched(StreamCreateBatchedRequest(params=params))
    ]
    assert [d for d in with_deltas if d] == [["slow "], ["and "], ["steady"]]


def test_stream_create_sends_a_slow_models_deltas_as_they_come(
    channel: grpc.Channel, upstream: ScriptedUpstream
) -> None:
    """Each delta is written when it is made, not when the next one is."""
    stub = ResponsesServiceStub(channel)
    upstream.enqueue(Script(text=["slow ", "and ", "steady"], delay_s=0.3))
    params = CreateRequest(model="m", input=Input(text="hi"), store=False)
    arrivals: list[tuple[str, float]] = []
    for reply in stub.stream_create(StreamCreateRequest(params=params)):
        event = reply.event
        if event is not None and event.output_text_delta is not None:
            arrivals.append((event.output_text_delta.delta, time.monotonic()))
    assert [text for text, _ in arrivals] == ["slow ", "and ", "steady"]
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(arrivals)]
    assert all(gap > 0.15 for gap in gaps), gaps


def test_a_grpc_client_that_cancels_its_stream_stops_the_upstream_and_keeps_the_response(
    channel: grpc.Channel, upstream: ScriptedUpstream
) -> None:
    stub = ResponsesServiceStub(channel)
    upstream.enqueue(Script(text=["tick "] * 40, delay_s=0.1))
    params = CreateRequest(model="m", input=Input(text="hi"))
    response_id = ""
    replies = stub.stream_create(StreamCreateRequest(params=params))
    for reply in replies:
        event = reply.event
        assert event is not None
        if event.response_created is not None and event.response_created.response is not None:
            response_id = event.response_created.response.id
        if event.output_text_delta is not None:
            break
    replies.close()  # the generator's close cancels the call
    assert response_id
    assert upstream.received[-1].wait_ended(5.0) == "client_gone"
    deadline = time.monotonic() + 5
    status = ""
    while time.monotonic() < deadline and status != "cancelled":
        stored = stub.get(GetRequest(response_id=response_id)).response
        status = stored.status if stored is not None else ""
        time.sleep(0.05)
    assert status == "cancelled"


def test_stream_create_batched_rejects_a_bad_request_with_a_status(channel: grpc.Channel) -> None:
    stub = ResponsesServiceStub(channel)
    params = CreateRequest(model="m", input=Input(text="hi"), temperature=9.0)
    with pytest.raises(grpc.RpcError) as err:
        list(stub.stream_create_batched(StreamCreateBatchedRequest(params=params)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    info, _ = _details(err.value)
    assert info.metadata["param"] == "temperature"


def test_errors_are_rich_statuses(channel: grpc.Channel) -> None:
    stub = ResponsesServiceStub(channel)
    with pytest.raises(grpc.RpcError) as err:
        stub.create(CreateRequest(model="m", input=Input(text="hi"), temperature=9.0))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    info, bad = _details(err.value)
    assert info.domain == "responses.rejoinder.dev"
    assert info.reason == "DECIMAL_ABOVE_MAX_VALUE"
    assert info.metadata["param"] == "temperature"
    assert bad and bad[0].field_violations[0].field == "temperature"


def test_unknown_previous_response_is_invalid_argument(channel: grpc.Channel) -> None:
    stub = ResponsesServiceStub(channel)
    with pytest.raises(grpc.RpcError) as err:
        stub.create(CreateRequest(model="m", input=Input(text="hi"), previous_response_id="resp_gone"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    info, _ = _details(err.value)
    assert info.reason == "PREVIOUS_RESPONSE_NOT_FOUND"
    assert info.metadata["code"] == "previous_response_not_found"


def test_create_refuses_stream_true(channel: grpc.Channel) -> None:
    stub = ResponsesServiceStub(channel)
    with pytest.raises(grpc.RpcError) as err:
        stub.create(CreateRequest(model="m", input=Input(text="hi"), stream=True))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]


def test_parts_content_reaches_the_upstream(channel: grpc.Channel, upstream: ScriptedUpstream) -> None:
    from rejoinder_client.rejoinder.responses.v1 import Content, InputText

    stub = ResponsesServiceStub(channel)
    upstream.enqueue(Script(text="ok"))
    parts = ContentList(
        items=[Content(input_text=InputText(text="part one")), Content(input_text=InputText(text=" two"))]
    )
    msg = Message(role="developer", content=MessageContent(parts=parts))
    stub.create(CreateRequest(model="m", input=Input(items=InputItemList(items=[InputItem(message=msg)]))))
    assert upstream.requests[-1]["messages"] == [{"role": "developer", "content": "part one two"}]


def test_function_tools_round_trip_over_grpc(channel: grpc.Channel, upstream: ScriptedUpstream) -> None:
    from rejoinder_client.rejoinder.responses.v1 import (
        FunctionCallOutput,
        FunctionOutput,
        FunctionTool,
        Tool,
        ToolChoice,
        ToolChoiceFunction,
    )
    from tests.scripted_upstream import ScriptedToolCall

    stub = ResponsesServiceStub(channel)
    tool = Tool(
        function=FunctionTool(
            name="lookup", parameters='{"type":"object","properties":{"q":{"type":"string"}}}'
        )
    )
    upstream.enqueue(
        Script(tool_calls=[ScriptedToolCall("call_9", "lookup", '{"q":"x"}')]), Script(text="found")
    )
    first = stub.create(
        CreateRequest(
            model="m",
            input=Input(text="find x"),
            tools=[tool],
            tool_choice=ToolChoice(function=ToolChoiceFunction(name="lookup")),
        )
    ).response
    assert first is not None
    call = first.output[0].function_call
    assert call is not None and (call.name, call.arguments, call.call_id) == ("lookup", '{"q":"x"}', "call_9")
    output = InputItem(
        function_call_output=FunctionCallOutput(call_id="call_9", output=FunctionOutput(text="42"))
    )
    second = stub.create(
        CreateRequest(
            model="m",
            previous_response_id=first.id,
            input=Input(items=InputItemList(items=[output])),
            tools=[tool],
        )
    ).response
    assert second is not None and second.status == "completed"
    assert upstream.requests[-1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_9",
        "content": "42",
    }


def test_incomplete_and_ignored_choice_over_grpc(channel: grpc.Channel, upstream: ScriptedUpstream) -> None:
    from rejoinder_client.rejoinder.responses.v1 import FunctionTool, Tool, ToolChoice

    stub = ResponsesServiceStub(channel)
    upstream.enqueue(Script(text="cut", finish_reason="length"))
    r = stub.create(CreateRequest(model="m", input=Input(text="hi"), max_output_tokens=16)).response
    assert r is not None and r.status == "incomplete"
    assert r.incomplete_details is not None and r.incomplete_details.reason == "max_output_tokens"
    upstream.enqueue(Script(text="no"), Script(text="no again"))
    with pytest.raises(grpc.RpcError) as err:
        stub.create(
            CreateRequest(
                model="m",
                input=Input(text="hi"),
                tools=[Tool(function=FunctionTool(name="f"))],
                tool_choice=ToolChoice(mode="required"),
            )
        )
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    info, _ = _details(err.value)
    assert info.metadata["code"] == "tool_choice_not_followed"


def test_bad_schema_text_is_invalid_argument(channel: grpc.Channel) -> None:
    from rejoinder_client.rejoinder.responses.v1 import FunctionTool, Tool

    stub = ResponsesServiceStub(channel)
    with pytest.raises(grpc.RpcError) as err:
        stub.create(
            CreateRequest(
                model="m",
                input=Input(text="hi"),
                tools=[Tool(function=FunctionTool(name="f", parameters="{oops"))],
            )
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    info, _ = _details(err.value)
    assert info.metadata["param"] == "tools[0].parameters"


def test_health_and_reflection_are_served(channel: grpc.Channel) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = list(
        reflect.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    )
    names = {s.name for s in replies[0].list_services_response.service}
    assert {"rejoinder.responses.v1.ResponsesService", "rejoinder.responses.v1.OpenAIHttpService"} <= names
    described = list(
        reflect.ServerReflectionInfo(
            iter(
                [
                    reflection_pb2.ServerReflectionRequest(
                        file_containing_symbol="rejoinder.responses.v1.CreateRequest"
                    )
                ]
            )
        )
    )
    assert described[0].file_descriptor_response.file_descriptor_proto
