"""The client's sync stubs (grpcio) and helpers against a live `rejoinder serve` with API keys, over its
gRPC port and through Envoy's listener."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest

from rejoinder_client.helpers import (
    IncompleteStreamError,
    output_text,
    status_of,
    stream_create,
    stream_get,
    sync_channel,
)
from rejoinder_client.rejoinder.responses.v1 import (
    CancelRequest,
    ConversationParam,
    ConversationsServiceStub,
    CreateConversationRequest,
    CreateRequest,
    DeleteRequest,
    GetRequest,
    HttpListModelsRequest,
    Input,
    InputItem,
    ListConversationItemsRequest,
    ListModelsRequest,
    Message,
    MessageContent,
    ModelsServiceStub,
    OpenAiHttpServiceStub,
    ResponsesServiceStub,
)
from tests.clients.python.conftest import ACME, GLOBEX, MODEL
from tests.scripted_upstream import Script, ScriptedUpstream


@pytest.fixture
def channel(target: str) -> Iterator[grpc.Channel]:
    """acme's channel: its API key goes with every call."""
    with sync_channel(target, api_key=ACME) as made:
        yield made


def ask(text: str, **fields: object) -> CreateRequest:
    return CreateRequest(model=MODEL, input=Input(text=text), **fields)  # type: ignore[arg-type]


def test_create_get_and_delete(channel: grpc.Channel, upstream: ScriptedUpstream) -> None:
    stub = ResponsesServiceStub(channel)
    upstream.enqueue(Script(text=["typed ", "hello"]))
    made = stub.create(ask("hi", instructions="brief")).response
    assert made is not None and made.status == "completed"
    assert output_text(made) == "typed hello"
    assert stub.get(GetRequest(response_id=made.id)).response == made
    deleted = stub.delete(DeleteRequest(response_id=made.id))
    assert (deleted.id, deleted.deleted) == (made.id, True)
    with pytest.raises(grpc.RpcError) as gone:
        stub.get(GetRequest(response_id=made.id))
    status = status_of(gone.value)
    assert status.code == grpc.StatusCode.NOT_FOUND and made.id in status.message
    assert status.error_info is not None and status.error_info.domain == "responses.rejoinder.dev"


def test_the_stream_helper_yields_the_events_then_the_final_response(
    channel: grpc.Channel, upstream: ScriptedUpstream
) -> None:
    stub = ResponsesServiceStub(channel)
    upstream.enqueue(Script(text=["a", "b", "c"]))
    with stream_create(stub, ask("hi")) as stream:
        events = iter(stream)
        first = next(events)
        assert first.response_created is not None and stream.response is not None
        assert stream.response.status == "in_progress" and not stream.done
        rest = list(events)
        final = stream.final_response()
    assert [e.sequence_number for e in [first, *rest]] == list(range(len(rest) + 1))
    assert [e.output_text_delta.delta for e in rest if e.output_text_delta is not None] == ["a", "b", "c"]
    assert rest[-1].response_completed is not None and stream.done
    assert final.status == "completed" and output_text(final) == "abc"
    assert stub.get(GetRequest(response_id=final.id)).response == final


def test_a_background_response_is_followed_then_replayed_from_a_sequence_number(
    channel: grpc.Channel, upstream: ScriptedUpstream
) -> None:
    stub = ResponsesServiceStub(channel)
    words = [f"w{i} " for i in range(6)]
    upstream.enqueue(Script(text=words, delay_s=0.05))
    queued = stub.create(ask("hi", background=True)).response
    assert queued is not None and queued.status == "queued"
    with stream_get(stub, queued.id) as live:
        followed = list(live)
        final = live.final_response()
    assert final.status == "completed" and output_text(final) == "".join(words)
    with stream_get(stub, queued.id, starting_after=2) as replay:
        tail = list(replay)
        assert replay.final_response() == final
    assert [e.sequence_number for e in tail] == [e.sequence_number for e in followed[3:]]
    assert tail == followed[3:]


def test_a_cancelled_background_stream_has_no_final_response(
    channel: grpc.Channel, upstream: ScriptedUpstream
) -> None:
    stub = ResponsesServiceStub(channel)
    upstream.enqueue(Script(text=[f"slow{i} " for i in range(60)], delay_s=0.05))
    queued = stub.create(ask("hi", background=True)).response
    assert queued is not None
    with stream_get(stub, queued.id) as stream:
        next(e for e in stream if e.output_text_delta is not None)  # it runs
        cancelled = stub.cancel(CancelRequest(response_id=queued.id)).response
        assert cancelled is not None and cancelled.status == "cancelled"
        with pytest.raises(IncompleteStreamError):
            stream.final_response()
    assert stream.response is not None and stream.response.status == "in_progress"


def test_a_conversation_keeps_its_turns(channel: grpc.Channel, upstream: ScriptedUpstream) -> None:
    conversations, responses = ConversationsServiceStub(channel), ResponsesServiceStub(channel)
    hello = InputItem(message=Message(role="user", content=MessageContent(text="my name is Ada")))
    made = conversations.create_conversation(CreateConversationRequest(items=[hello])).conversation
    assert made is not None and made.id.startswith("conv_")
    upstream.enqueue(Script(text="hello Ada"))
    answer = responses.create(ask("who am I?", conversation=ConversationParam(id=made.id))).response
    assert answer is not None and output_text(answer) == "hello Ada"
    sent = [m["content"] for m in upstream.requests[-1]["messages"]]
    assert sent == ["my name is Ada", "who am I?"]
    items = conversations.list_conversation_items(
        ListConversationItemsRequest(conversation_id=made.id, order="asc")
    ).data
    assert len(items) == 3  # the first message, the question and the answer


def test_a_bad_request_fails_with_its_status_and_error_info(channel: grpc.Channel) -> None:
    stub = ResponsesServiceStub(channel)
    with pytest.raises(grpc.RpcError) as unary:
        stub.create(ask("hi", temperature=9.0))
    with pytest.raises(grpc.RpcError) as streamed, stream_create(stub, ask("hi", temperature=9.0)) as stream:
        list(stream)
    for error in (unary.value, streamed.value):
        status = status_of(error)
        assert status.code == grpc.StatusCode.INVALID_ARGUMENT
        assert status.error_info is not None
        assert (status.error_info.reason, status.error_info.domain) == (
            "DECIMAL_ABOVE_MAX_VALUE",
            "responses.rejoinder.dev",
        )
        assert status.error_info.metadata["param"] == "temperature"
        assert [v.field for v in status.field_violations] == ["temperature"]


def test_the_api_key_goes_with_every_call(target: str, upstream: ScriptedUpstream) -> None:
    with sync_channel(target) as anonymous, sync_channel(target, api_key="sk-nobody") as stranger:
        for channel in (anonymous, stranger):
            with pytest.raises(grpc.RpcError) as unary:
                ModelsServiceStub(channel).list_models(ListModelsRequest())
            with pytest.raises(grpc.RpcError) as streamed:
                list(stream_create(ResponsesServiceStub(channel), ask("hi")))
            assert status_of(unary.value).code == grpc.StatusCode.UNAUTHENTICATED
            assert status_of(streamed.value).code == grpc.StatusCode.UNAUTHENTICATED
    with sync_channel(target, api_key=ACME) as acme, sync_channel(target, api_key=GLOBEX) as globex:
        upstream.enqueue(Script(text="for acme", delay_s=0.05))
        mine = ResponsesServiceStub(acme).create(ask("hi", background=True)).response
        assert mine is not None
        for call in (
            lambda: ResponsesServiceStub(globex).get(GetRequest(response_id=mine.id)),
            lambda: list(stream_get(ResponsesServiceStub(globex), mine.id)),
        ):
            with pytest.raises(grpc.RpcError) as hidden:
                call()
            assert status_of(hidden.value).code == grpc.StatusCode.NOT_FOUND
        assert stream_get(ResponsesServiceStub(acme), mine.id).final_response().status == "completed"


def test_the_models_and_http_bridge_services(channel: grpc.Channel) -> None:
    listed = [m.id for m in ModelsServiceStub(channel).list_models(ListModelsRequest()).data]
    assert MODEL in listed
    body = OpenAiHttpServiceStub(channel).list_models(HttpListModelsRequest())
    assert body.content_type == "application/json"
    assert [m["id"] for m in json.loads(body.data)["data"]] == listed  # the same, as OpenAI's JSON
