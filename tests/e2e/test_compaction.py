"""Compaction end to end: `POST /v1/responses/compact` with the `openai` SDK through real Envoy and over
typed gRPC (directly and through Envoy), and `context_management` compaction along
`previous_response_id` and a conversation. The scripted upstream writes the summaries and shows what
the model was sent: after a compaction, the summary instead of the items it replaced. The stored
history keeps the originals. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from typing import Any

import grpc
import openai
import pytest
from openai import OpenAI
from openai.types.responses import (
    ResponseCompactionCompactingEvent,
    ResponseCompactionItem,
    ResponseCompletedEvent,
    ResponseInputParam,
    ResponseOutputItemDoneEvent,
)

from rejoinder_client.rejoinder.responses.v1 import (
    CompactionTrigger,
    CompactRequest,
    CreateRequest,
    Input,
    InputItem,
    InputItemList,
    Message,
    MessageContent,
    ResponsesServiceStub,
    StreamCreateRequest,
)
from tests.e2e.prometheus import Moved, scrape
from tests.e2e.service_process import ServiceProcess
from tests.postgres_server import create_database, drop_database
from tests.scripted_upstream import Script, ScriptedUpstream

SUMMARY_PREFIX = "Summary of the earlier conversation, which it replaces:\n\n"
ASKS_FOR_A_SUMMARY = "Write a summary of the conversation so far"
LONG = "The lighthouse keeper counted ships. " * 60  # ~360 words: far over a 200-token threshold
MANAGED: Any = [{"type": "compaction", "compact_threshold": 200}]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    e2e_upstream: ScriptedUpstream,
    postgres_admin_dsn: str,
) -> Iterator[ServiceProcess]:
    """`rejoinder serve` on each store, its model "m" routed to the scripted upstream (the conftest's
    `client` and `channel` use it)."""
    data = tmp_path_factory.mktemp(f"compaction-{request.param}")
    config = data / "rejoinder.toml"
    config.write_text(
        f'[providers.scripted]\nbase_url = "{e2e_upstream.base_url}"\ntimeout_s = 10\n\n'
        '[models."m"]\nprovider = "scripted"\nmodel = "scripted-model"\n'
    )
    args = ["--config", str(config)]
    dsn = asyncio.run(create_database(postgres_admin_dsn)) if request.param == "postgres" else ""
    if dsn:
        args += ["--store", dsn]
    proc = ServiceProcess(data_dir=data, extra_args=args).start()
    yield proc
    assert proc.stop() == 0, proc.log()
    if dsn:
        asyncio.run(drop_database(postgres_admin_dsn, dsn))


def _chats(upstream: ScriptedUpstream) -> list[dict[str, Any]]:
    return [r.body for r in upstream.received if r.path == "/v1/chat/completions" and r.body is not None]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [])


def _said(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], _text(m.get("content"))) for m in body["messages"]]


def _is_summarising(body: dict[str, Any]) -> bool:
    role, text = _said(body)[-1]
    return role == "user" and text.startswith(ASKS_FOR_A_SUMMARY)


def test_compact_through_envoy_and_the_model_is_sent_the_summary(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(
        Script(text="Hello Ada."),
        Script(text="SUMMARY: Ada lives in Lima and likes green tea."),
        Script(text="Green tea."),
    )
    first = client.responses.create(model="m", input="I am Ada and I live in Lima.")

    raw = client.responses.with_raw_response.compact(
        model="m", previous_response_id=first.id, input="I like green tea."
    )

    compacted = raw.parse()
    body = raw.http_response.json()
    assert compacted.object == "response.compaction"
    assert [(o["type"], o.get("role")) for o in body["output"]] == [
        ("message", "user"),
        ("message", "user"),
        ("compaction", None),
    ]
    token = body["output"][2]["encrypted_content"]
    assert body["output"][2]["id"].startswith("cmp_") and "Lima" not in token
    summarising = _chats(upstream)[1]
    assert _is_summarising(summarising) and ("assistant", "Hello Ada.") in _said(summarising)
    assert compacted.usage.input_tokens > 0 and compacted.usage.output_tokens > 0

    # A client that stores nothing sends the compacted window back (the SDK's own objects, as the
    # README shows) with its next message.
    window: Any = [*compacted.output, {"role": "user", "content": "What do I like?"}]
    with warnings.catch_warnings():  # the SDK types the user messages as output messages: it warns
        warnings.simplefilter("ignore", UserWarning)
        answer = client.responses.create(model="m", store=False, input=window)

    assert answer.output_text == "Green tea."
    assert _said(_chats(upstream)[2]) == [
        ("developer", SUMMARY_PREFIX + "SUMMARY: Ada lives in Lima and likes green tea."),
        ("user", "I am Ada and I live in Lima."),
        ("user", "I like green tea."),
        ("user", "What do I like?"),
    ]

    # Stored as given: the input items list the compaction item (with its id) among the messages.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        stored = client.responses.create(model="m", input=window)
    listed = client.responses.input_items.list(stored.id, order="asc").data
    assert [i.type for i in listed] == ["message", "message", "compaction", "message"]
    assert listed[2].id == body["output"][2]["id"]


def test_a_tampered_or_foreign_compaction_item_is_a_400(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="SUMMARY: nothing much."))
    compacted = client.responses.with_raw_response.compact(model="m", input="hello").http_response.json()
    token = compacted["output"][-1]["encrypted_content"]
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")

    for bad in (forged, "rj1.bm90IG91cnM"):
        with pytest.raises(openai.BadRequestError) as info:
            client.responses.create(
                model="m",
                input=[
                    {"role": "user", "content": "hello"},
                    {"type": "compaction", "encrypted_content": bad},
                ],
            )
        error = info.value
        assert (error.code, error.param) == ("invalid_encrypted_content", "input[1].encrypted_content")
        assert "compaction" in error.message
    assert len(_chats(upstream)) == 1  # the summary only: no create reached the model


def test_context_management_compacts_along_previous_response_id(
    client: OpenAI, upstream: ScriptedUpstream, service: ServiceProcess
) -> None:
    upstream.enqueue(Script(text="Noted."))
    first = client.responses.create(model="m", input=f"Remember this: {LONG}")
    upstream.enqueue(Script(text="SUMMARY: a keeper counted ships."), Script(text="Ships."))
    before = scrape(service.metrics_url)

    events = list(
        client.responses.create(
            model="m",
            previous_response_id=first.id,
            input="What did he count?",
            context_management=MANAGED,
            stream=True,
        )
    )

    added = [e for e in events if e.type == "response.output_item.added"]
    assert added[0].item.type == "compaction" and added[0].output_index == 0
    done = events[-1]
    assert done.type == "response.completed"
    assert [o.type for o in done.response.output] == ["compaction", "message"]
    summarising, answering = _chats(upstream)[1:3]
    assert _is_summarising(summarising) and LONG.strip() in _said(summarising)[0][1]
    assert _said(answering) == [
        ("developer", SUMMARY_PREFIX + "SUMMARY: a keeper counted ships."),
        ("user", "What did he count?"),
    ]
    usage = done.response.usage  # the summarising call's (5 words) and the answer's (1)
    assert usage is not None and usage.output_tokens == 5 + 1
    moved = Moved(before, scrape(service.metrics_url))  # the summary is an upstream call, measured so
    assert moved("rejoinder_upstream_requests_total", provider="scripted", outcome="ok") == 2

    # The stored history keeps the originals; the next turn is sent the summary, not the long message.
    for response_id, text in ((first.id, f"Remember this: {LONG}"), (done.response.id, "What did he count?")):
        stored = client.responses.input_items.with_raw_response.list(response_id).http_response.json()
        assert [_text(i["content"]) for i in stored["data"]] == [text]
    upstream.enqueue(Script(text="Yes."))
    client.responses.create(model="m", previous_response_id=done.response.id, input="Sure?")
    assert _said(_chats(upstream)[3]) == [
        ("developer", SUMMARY_PREFIX + "SUMMARY: a keeper counted ships."),
        ("user", "What did he count?"),
        ("assistant", "Ships."),
        ("user", "Sure?"),
    ]


def test_context_management_compacts_a_conversation(client: OpenAI, upstream: ScriptedUpstream) -> None:
    conversation = client.conversations.create(
        items=[
            {"type": "message", "role": "user", "content": f"Remember this: {LONG}"},
            {"type": "message", "role": "assistant", "content": "Noted."},
        ]
    )
    upstream.enqueue(Script(text="SUMMARY: ships were counted."), Script(text="Ships."))

    response = client.responses.create(
        model="m", conversation=conversation.id, input="What was counted?", context_management=MANAGED
    )

    assert [o.type for o in response.output] == ["compaction", "message"]
    kinds = [i.type for i in client.conversations.items.list(conversation.id, order="asc").data]
    assert kinds == ["message", "message", "message", "compaction", "message"]  # the originals stay
    upstream.enqueue(Script(text="Yes."))
    client.responses.create(model="m", conversation=conversation.id, input="Sure?")
    sent = _said(_chats(upstream)[2])
    assert sent[0] == ("developer", SUMMARY_PREFIX + "SUMMARY: ships were counted.")
    assert sent[1:] == [("user", "What was counted?"), ("assistant", "Ships."), ("user", "Sure?")]
    assert all(LONG.strip() not in text for _, text in sent)


def test_context_management_errors_are_openai_errors(client: OpenAI, upstream: ScriptedUpstream) -> None:
    with pytest.raises(openai.BadRequestError) as kind:
        client.responses.create(model="m", input="hi", context_management=[{"type": "trim"}])
    assert (kind.value.code, kind.value.param) == ("invalid_value", "context_management[0].type")
    with pytest.raises(openai.BadRequestError) as threshold:
        client.responses.create(
            model="m", input="hi", context_management=[{"type": "compaction", "compact_threshold": 0}]
        )
    assert threshold.value.param == "context_management[0].compact_threshold"
    with pytest.raises(openai.BadRequestError) as missing:
        client.responses.compact(model="m", previous_response_id="resp_missing")
    assert (missing.value.code, missing.value.param) == (
        "previous_response_not_found",
        "previous_response_id",
    )
    assert _chats(upstream) == []


def _user(text: str) -> InputItem:
    return InputItem(message=Message(role="user", content=MessageContent(text=text)))


def test_typed_grpc_compacts_and_the_model_is_sent_the_summary(
    channel: grpc.Channel, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text="SUMMARY: Bo plays chess."), Script(text="Chess."))
    stub = ResponsesServiceStub(channel)

    reply = stub.compact(
        CompactRequest(
            model="m", input=Input(items=InputItemList(items=[_user("I am Bo."), _user("I play chess.")]))
        )
    )

    assert reply.object == "response.compaction"
    assert [item.compaction is not None for item in reply.output] == [False, False, True]
    items = [*reply.output, _user("What do I play?")]
    stub.create(CreateRequest(model="m", store=False, input=Input(items=InputItemList(items=items))))
    assert _said(_chats(upstream)[1]) == [
        ("developer", SUMMARY_PREFIX + "SUMMARY: Bo plays chess."),
        ("user", "I am Bo."),
        ("user", "I play chess."),
        ("user", "What do I play?"),
    ]

    forged = InputItem.from_dict(
        {"compaction": {"encrypted_content": reply.output[-1].compaction.encrypted_content[:-4] + "AAAA"}}  # type: ignore[union-attr]
    )
    with pytest.raises(grpc.RpcError) as info:
        stub.create(CreateRequest(model="m", input=Input(items=InputItemList(items=[_user("x"), forged]))))
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT


# -- compaction_trigger ----------------------------------------------------------------------------

TRIGGER: Any = {"type": "compaction_trigger"}


def test_a_trigger_streams_the_compaction_item_and_ends_the_response(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text="Hello Cy."), Script(text="SUMMARY: Cy keeps bees in Oslo."))
    first = client.responses.create(model="m", input="I am Cy, I keep bees in Oslo.")

    trigger: ResponseInputParam = [
        {"role": "user", "content": "And I sing."},
        {"type": "compaction_trigger", "id": "ct_e2e"},
    ]

    events = list(
        client.responses.create(model="m", previous_response_id=first.id, input=trigger, stream=True)
    )

    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.compaction.compacting",
        "response.output_item.done",
        "response.completed",
    ]
    compacting, done, completed = events[3], events[4], events[5]
    assert isinstance(compacting, ResponseCompactionCompactingEvent)
    assert isinstance(done, ResponseOutputItemDoneEvent) and isinstance(completed, ResponseCompletedEvent)
    assert isinstance(done.item, ResponseCompactionItem) and done.item.id.startswith("cmp_")
    assert events[2].model_dump()["item"] == done.item.model_dump()
    assert (compacting.item_id, compacting.output_index) == (done.item.id, 0)
    assert [o.type for o in completed.response.output] == ["compaction"]
    assert completed.response.usage is not None and completed.response.usage.input_tokens > 0
    chats = _chats(upstream)
    assert len(chats) == 2 and _is_summarising(chats[1])  # no answering call after the summary
    assert _said(chats[1])[1:3] == [("assistant", "Hello Cy."), ("user", "And I sing.")]
    assert not any("compaction" in text for _, text in _said(chats[1]))

    listed = client.responses.input_items.list(completed.response.id).data
    assert [i.type for i in listed] == ["message"]  # the trigger is a request marker, not an item

    upstream.enqueue(Script(text="Bees."))
    client.responses.create(model="m", previous_response_id=completed.response.id, input="What do I keep?")
    assert _said(_chats(upstream)[2]) == [
        ("developer", SUMMARY_PREFIX + "SUMMARY: Cy keeps bees in Oslo."),
        ("user", "What do I keep?"),
    ]


def test_a_trigger_compacts_a_conversation(client: OpenAI, upstream: ScriptedUpstream) -> None:
    conversation = client.conversations.create(
        items=[
            {"type": "message", "role": "user", "content": f"Remember this: {LONG}"},
            {"type": "message", "role": "assistant", "content": "Noted."},
        ]
    )
    upstream.enqueue(Script(text="SUMMARY: ships were counted."))

    response = client.responses.create(model="m", conversation=conversation.id, input=[TRIGGER])

    assert [o.type for o in response.output] == ["compaction"] and response.status == "completed"
    assert response.output_text == ""
    kinds = [i.type for i in client.conversations.items.list(conversation.id, order="asc").data]
    assert kinds == ["message", "message", "compaction"]  # the originals stay; the trigger is no item
    upstream.enqueue(Script(text="Ships."))
    client.responses.create(model="m", conversation=conversation.id, input="What was counted?")
    assert _said(_chats(upstream)[1]) == [
        ("developer", SUMMARY_PREFIX + "SUMMARY: ships were counted."),
        ("user", "What was counted?"),
    ]


def test_a_trigger_not_last_or_alone_is_a_400(client: OpenAI, upstream: ScriptedUpstream) -> None:
    with pytest.raises(openai.BadRequestError) as not_last:
        client.responses.create(model="m", input=[TRIGGER, {"role": "user", "content": "hi"}])
    assert (not_last.value.code, not_last.value.param) == ("invalid_value", "input[0]")
    assert "final input item" in not_last.value.message
    with pytest.raises(openai.BadRequestError) as alone:
        client.responses.create(model="m", input=[TRIGGER])
    assert alone.value.param == "input[0]"
    with pytest.raises(openai.BadRequestError) as compact:
        client.responses.compact(model="m", input=[{"role": "user", "content": "hi"}, TRIGGER])
    assert compact.value.param == "input[1]"
    with pytest.raises(openai.BadRequestError) as joined:
        client.conversations.create(items=[TRIGGER])
    assert joined.value.param == "items[0]"
    assert _chats(upstream) == []


def test_typed_grpc_trigger_streams_the_compacting_event(
    channel: grpc.Channel, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text="SUMMARY: Di flies kites."))
    stub = ResponsesServiceStub(channel)
    items = [_user("I am Di."), _user("I fly kites."), InputItem(compaction_trigger=CompactionTrigger())]

    request = CreateRequest(model="m", input=Input(items=InputItemList(items=items)))

    events = [r.event for r in stub.stream_create(StreamCreateRequest(params=request)) if r.event]

    compacting = [e.compaction_compacting for e in events if e.compaction_compacting is not None]
    done = [e.output_item_done for e in events if e.output_item_done is not None]
    assert len(compacting) == 1 and len(done) == 1
    item = done[0].item
    assert item is not None and item.compaction is not None
    assert compacting[0].item_id == item.compaction.id
    assert compacting[0].output_index == 0
    assert len(_chats(upstream)) == 1 and _is_summarising(_chats(upstream)[0])


def test_a_background_trigger_replays_its_compacting_event(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text="SUMMARY: Ed rows boats."))
    trigger: ResponseInputParam = [
        {"role": "user", "content": "I am Ed and I row boats."},
        {"type": "compaction_trigger"},
    ]

    created = client.responses.create(model="m", input=trigger, background=True)

    replayed = list(client.responses.retrieve(created.id, stream=True))
    assert [e.type for e in replayed][-4:] == [
        "response.output_item.added",
        "response.compaction.compacting",
        "response.output_item.done",
        "response.completed",
    ]
    final = client.responses.retrieve(created.id)
    assert (final.status, [o.type for o in final.output]) == ("completed", ["compaction"])
