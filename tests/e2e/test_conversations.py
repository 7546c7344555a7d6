"""Conversations through Envoy with the `openai` SDK, and responses made in them; typed gRPC too."""

from __future__ import annotations

import time

import grpc
import httpx
import openai
import pytest
from openai import OpenAI

from rejoinder_client.rejoinder.responses.v1 import (
    ConversationsServiceStub,
    CreateConversationItemsRequest,
    CreateConversationRequest,
    GetConversationRequest,
    InputItem,
    ListConversationItemsRequest,
    Message,
    MessageContent,
)
from tests.scripted_upstream import Script, ScriptedUpstream


def _texts(messages: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(m["role"], m["content"]) for m in messages]


def test_create_retrieve_update_and_delete_a_conversation(client: OpenAI) -> None:
    conv = client.conversations.create(
        metadata={"topic": "demo"}, items=[{"type": "message", "role": "user", "content": "Hello!"}]
    )
    assert (
        conv.object == "conversation" and conv.id.startswith("conv_") and conv.metadata == {"topic": "demo"}
    )
    assert conv.created_at > 0
    got = client.conversations.retrieve(conv.id)
    assert (got.id, got.metadata, got.created_at) == (conv.id, {"topic": "demo"}, conv.created_at)
    updated = client.conversations.update(conv.id, metadata={"topic": "changed", "k": "v"})
    assert updated.metadata == {"topic": "changed", "k": "v"}
    assert client.conversations.retrieve(conv.id).metadata == {"topic": "changed", "k": "v"}
    deleted = client.conversations.delete(conv.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (conv.id, "conversation.deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conv.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.delete(conv.id)


def test_items_are_added_listed_retrieved_and_deleted(client: OpenAI) -> None:
    conv = client.conversations.create()
    added = client.conversations.items.create(
        conv.id,
        items=[
            {"type": "message", "role": "user", "content": "one"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "two"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "three"}]},
        ],
    )
    assert [item.type for item in added.data] == ["message"] * 3
    ids = [item.id for item in added.data]  # type: ignore[union-attr]
    assert len(set(ids)) == 3 and all(i.startswith("msg_") for i in ids)
    assert (added.first_id, added.last_id, added.has_more) == (ids[0], ids[-1], False)
    newest_first = client.conversations.items.list(conv.id)
    assert [item.id for item in newest_first.data] == ids[::-1]  # type: ignore[union-attr]
    page = client.conversations.items.list(conv.id, order="asc", limit=2)
    assert [item.id for item in page.data] == ids[:2] and page.has_more  # type: ignore[union-attr]
    rest = client.conversations.items.list(conv.id, order="asc", after=ids[1])
    assert [item.id for item in rest.data] == ids[2:] and not rest.has_more  # type: ignore[union-attr]
    one = client.conversations.items.retrieve(ids[1], conversation_id=conv.id)
    assert one.type == "message" and one.role == "assistant"  # type: ignore[union-attr]
    after_delete = client.conversations.items.delete(ids[1], conversation_id=conv.id)
    assert after_delete.id == conv.id and after_delete.object == "conversation"
    left = client.conversations.items.list(conv.id, order="asc")
    assert [item.id for item in left.data] == [ids[0], ids[2]]  # type: ignore[union-attr]
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(ids[1], conversation_id=conv.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list("conv_missing")


def test_bad_conversation_requests_get_openai_errors(client: OpenAI, http: httpx.Client) -> None:
    too_many = [{"type": "message", "role": "user", "content": f"m{i}"} for i in range(21)]
    with pytest.raises(openai.BadRequestError) as long:
        client.conversations.create(items=too_many)  # type: ignore[arg-type]
    assert long.value.body["param"] == "items"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as meta:
        client.conversations.create(metadata={f"k{i}": "v" for i in range(17)})
    assert meta.value.body["param"] == "metadata"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as untyped:
        client.conversations.create(items=[{"type": "function_call_output"}])  # type: ignore[list-item]
    assert str(untyped.value.body["param"]).startswith("items[0]")  # type: ignore[index]
    bad_json = http.post("/conversations", content=b"{not json", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error"]["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as limit:
        client.conversations.items.list(client.conversations.create().id, limit=101)
    assert limit.value.body["param"] == "limit"  # type: ignore[index]


def test_responses_in_a_conversation_read_it_and_add_to_it(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    conv = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "My name is Ada."}]
    )
    upstream.enqueue(Script(text="Hello Ada."), Script(text="Your name is Ada."))
    first = client.responses.create(model="m", input="Hi!", conversation=conv.id)
    assert first.conversation is not None and first.conversation.id == conv.id
    second = client.responses.create(model="m", input="What is my name?", conversation={"id": conv.id})
    assert second.output_text == "Your name is Ada."
    seen = upstream.requests[-1]["messages"]
    assert _texts(seen)[-4:] == [
        ("user", "My name is Ada."),
        ("user", "Hi!"),
        ("assistant", "Hello Ada."),
        ("user", "What is my name?"),
    ]
    items = client.conversations.items.list(conv.id, order="asc")
    roles = [item.role for item in items.data]  # type: ignore[union-attr]
    assert roles == ["user", "user", "assistant", "user", "assistant"]
    assert items.data[-1].id == second.output[0].id  # the output item keeps its ID in the conversation
    with pytest.raises(openai.BadRequestError) as both:
        client.responses.create(model="m", input="x", conversation=conv.id, previous_response_id=first.id)
    assert both.value.body["param"] == "conversation"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="m", input="x", conversation="conv_missing")


def test_typed_grpc_conversations(channel: grpc.Channel) -> None:
    stub = ConversationsServiceStub(channel)
    hello = InputItem(message=Message(role="user", content=MessageContent(text="hello")))
    made = stub.create_conversation(
        CreateConversationRequest(items=[hello], metadata={"a": "b"})
    ).conversation
    assert made is not None and made.metadata == {"a": "b"}
    stub.create_conversation_items(CreateConversationItemsRequest(conversation_id=made.id, items=[hello]))
    listed = stub.list_conversation_items(ListConversationItemsRequest(conversation_id=made.id, order="asc"))
    assert len(listed.data) == 2 and listed.object == "list"
    assert stub.get_conversation(GetConversationRequest(conversation_id=made.id)).conversation == made
    with pytest.raises(grpc.RpcError) as missing:
        stub.get_conversation(GetConversationRequest(conversation_id="conv_missing"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def test_a_background_response_adds_to_its_conversation_when_it_ends(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    conv = client.conversations.create()
    upstream.enqueue(Script(text="later", first_byte_delay_s=0.3))
    queued = client.responses.create(model="m", input="take your time", conversation=conv.id, background=True)
    assert queued.status == "queued" and client.conversations.items.list(conv.id).data == []
    deadline = time.monotonic() + 10
    while client.responses.retrieve(queued.id).status != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    items = client.conversations.items.list(conv.id, order="asc").data
    assert [item.role for item in items] == ["user", "assistant"]  # type: ignore[union-attr]
