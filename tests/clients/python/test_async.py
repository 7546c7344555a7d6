"""The client's async stubs (grpclib) and helpers against a live `rejoinder serve` with API keys, over
its gRPC port and through Envoy's listener."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import closing

import grpc
import pytest
from grpclib.client import Channel
from grpclib.exceptions import GRPCError

from rejoinder_client.helpers import async_channel, output_text, status_of, stream_create, stream_get
from rejoinder_client.rejoinder.responses.v1 import (
    ConversationParam,
    ConversationsServiceAsyncStub,
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
    ModelsServiceAsyncStub,
    OpenAiHttpServiceAsyncStub,
    ResponsesServiceAsyncStub,
)
from tests.clients.python.conftest import ACME, GLOBEX, MODEL
from tests.scripted_upstream import Script, ScriptedUpstream


@pytest.fixture
async def channel(target: str) -> AsyncIterator[Channel]:
    """acme's channel: its API key goes with every call."""
    with closing(async_channel(target, api_key=ACME)) as made:
        yield made


def ask(text: str, **fields: object) -> CreateRequest:
    return CreateRequest(model=MODEL, input=Input(text=text), **fields)  # type: ignore[arg-type]


async def test_create_stream_get_and_delete(channel: Channel, upstream: ScriptedUpstream) -> None:
    stub = ResponsesServiceAsyncStub(channel)
    upstream.enqueue(Script(text=["typed ", "hello"]), Script(text=["a", "b"]))
    made = (await stub.create(ask("hi"))).response
    assert made is not None and output_text(made) == "typed hello"
    async with stream_create(stub, ask("again")) as stream:
        events = [event async for event in stream]
        final = await stream.final_response()
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert [e.output_text_delta.delta for e in events if e.output_text_delta is not None] == ["a", "b"]
    assert events[-1].response_completed is not None and stream.done
    assert final.status == "completed" and output_text(final) == "ab"
    for response in (made, final):
        assert (await stub.get(GetRequest(response_id=response.id))).response == response
        assert (await stub.delete(DeleteRequest(response_id=response.id))).deleted
    with pytest.raises(GRPCError) as gone:
        await stub.get(GetRequest(response_id=made.id))
    status = status_of(gone.value)
    assert status.code == grpc.StatusCode.NOT_FOUND and made.id in status.message
    assert status.error_info is not None and status.error_info.domain == "responses.rejoinder.dev"


async def test_a_background_response_is_followed_then_replayed_from_a_sequence_number(
    channel: Channel, upstream: ScriptedUpstream
) -> None:
    stub = ResponsesServiceAsyncStub(channel)
    words = [f"w{i} " for i in range(6)]
    upstream.enqueue(Script(text=words, delay_s=0.05))
    queued = (await stub.create(ask("hi", background=True))).response
    assert queued is not None and queued.status == "queued"
    async with stream_get(stub, queued.id) as live:
        followed = [event async for event in live]
        final = await live.final_response()
    assert final.status == "completed" and output_text(final) == "".join(words)
    async with stream_get(stub, queued.id, starting_after=2) as replay:
        tail = [event async for event in replay]
    assert tail == followed[3:]


async def test_a_conversation_and_the_other_services(channel: Channel, upstream: ScriptedUpstream) -> None:
    conversations = ConversationsServiceAsyncStub(channel)
    hello = InputItem(message=Message(role="user", content=MessageContent(text="my name is Ada")))
    made = (await conversations.create_conversation(CreateConversationRequest(items=[hello]))).conversation
    assert made is not None
    upstream.enqueue(Script(text="hello Ada"))
    request = ask("who am I?", conversation=ConversationParam(id=made.id))
    answer = (await ResponsesServiceAsyncStub(channel).create(request)).response
    assert answer is not None and output_text(answer) == "hello Ada"
    listing = ListConversationItemsRequest(conversation_id=made.id, order="asc")
    assert len((await conversations.list_conversation_items(listing)).data) == 3
    models = [m.id for m in (await ModelsServiceAsyncStub(channel).list_models(ListModelsRequest())).data]
    body = await OpenAiHttpServiceAsyncStub(channel).list_models(HttpListModelsRequest())
    assert MODEL in models and [m["id"] for m in json.loads(body.data)["data"]] == models


async def test_errors_carry_their_status_and_error_info(channel: Channel) -> None:
    stub = ResponsesServiceAsyncStub(channel)
    with pytest.raises(GRPCError) as unary:
        await stub.create(ask("hi", temperature=9.0))
    with pytest.raises(GRPCError) as streamed:
        await stream_create(stub, ask("hi", temperature=9.0)).final_response()
    for error in (unary.value, streamed.value):
        status = status_of(error)
        assert status.code == grpc.StatusCode.INVALID_ARGUMENT
        assert status.error_info is not None and status.error_info.reason == "DECIMAL_ABOVE_MAX_VALUE"
        assert status.error_info.metadata["param"] == "temperature"
        assert [v.field for v in status.field_violations] == ["temperature"]


async def test_the_api_key_goes_with_every_call(target: str, upstream: ScriptedUpstream) -> None:
    with (
        closing(async_channel(target)) as anonymous,
        closing(async_channel(target, api_key="sk-nobody")) as stranger,
    ):
        for channel in (anonymous, stranger):
            with pytest.raises(GRPCError) as unary:
                await ModelsServiceAsyncStub(channel).list_models(ListModelsRequest())
            with pytest.raises(GRPCError) as streamed:
                await stream_create(ResponsesServiceAsyncStub(channel), ask("hi")).final_response()
            assert status_of(unary.value).code == grpc.StatusCode.UNAUTHENTICATED
            assert status_of(streamed.value).code == grpc.StatusCode.UNAUTHENTICATED
    with (
        closing(async_channel(target, api_key=ACME)) as acme,
        closing(async_channel(target, api_key=GLOBEX)) as globex,
    ):
        upstream.enqueue(Script(text="for acme"))
        mine = (await ResponsesServiceAsyncStub(acme).create(ask("hi"))).response
        assert mine is not None
        with pytest.raises(GRPCError) as hidden:
            await ResponsesServiceAsyncStub(globex).get(GetRequest(response_id=mine.id))
        assert status_of(hidden.value).code == grpc.StatusCode.NOT_FOUND
