"""Compaction: sealed compaction items (a round trip; tampered or foreign tokens refused), the context a
compaction item makes (the summary in place of what it replaced), `POST /v1/responses/compact` and the
`context_management` threshold, through the core against a scripted provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from rejoinder.config_limits import RateLimitSettings, TenantLimits
from rejoinder.core.context.compaction import (
    SUMMARY_PREFIX,
    Compaction,
    compaction_sealer,
    model_view,
    open_token,
    seal,
)
from rejoinder.core.context.compaction_summary import SUMMARY_REQUEST
from rejoinder.core.context.sealing import ReasoningSealer
from rejoinder.core.responses import ResponsesCore
from rejoinder.core.run.deps import Deps
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.providers import base as p
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.ratelimit.memory import MemoryRateLimiter
from rejoinder.responses.v1.content_pb2 import Content, ContentList, InputText, MessageContent
from rejoinder.responses.v1.items_pb2 import CompactionItem, InputItem, Message
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.responses.v1.responses_service_pb2 import (
    CompactRequest,
    CountInputTokensRequest,
    CreateRequest,
)
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import FakeClock, InMemoryStore, ScriptedProvider, SequentialIds

CODEC = OpenAIJson()
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def message(role: str, text: str) -> InputItem:
    content = MessageContent(parts=ContentList(items=[Content(input_text=InputText(text=text))]))
    return InputItem(message=Message(role=role, content=content))


def compaction(token: str) -> InputItem:
    return InputItem(compaction=CompactionItem(encrypted_content=token))


def sealer(key: bytes = KEY) -> ReasoningSealer:
    return compaction_sealer(ReasoningSealer([key]), "input")


def text_of(item: InputItem) -> str:
    return "".join(part.input_text.text for part in item.message.content.parts.items)


def answer(text: str, prompt_tokens: int = 10) -> list[p.ChatDelta]:
    return [p.TextDelta(text), p.UsageDelta(prompt_tokens, 3), p.FinishDelta("stop")]


def obj(value: object) -> dict[str, Any]:
    assert isinstance(value, dict)
    return value


def said(messages: Sequence[p.ChatMessage]) -> list[tuple[str, str]]:
    return [(m.role, str(m.content)) for m in messages]


# -- sealing ----------------------------------------------------------------------------------------


def test_a_token_opens_to_its_summary_and_kept_items() -> None:
    kept = (message("user", "What is the capital of Peru?"),)

    token = seal(sealer(), Compaction("The user asked about Peru.", kept))
    opened = open_token(sealer(), token, "input[0].encrypted_content")

    assert "Peru" not in token  # opaque to clients
    assert opened.summary == "The user asked about Peru."
    assert list(opened.kept) == list(kept)


def _refusal(token: str, opener: ReasoningSealer) -> ApiError:
    with pytest.raises(ApiError) as info:
        open_token(opener, token, "input[2].encrypted_content")
    return info.value


@pytest.mark.parametrize("case", ["tampered", "other key", "reasoning token", "garbage"])
def test_a_tampered_or_foreign_token_is_a_400_naming_the_item(case: str) -> None:
    token = seal(sealer(), Compaction("summary"))
    if case == "tampered":
        body = token[4:]
        token = token[:4] + body[:20] + ("A" if body[20] != "A" else "B") + body[21:]
    elif case == "other key":
        token = seal(sealer(OTHER_KEY), Compaction("summary"))
    elif case == "reasoning token":  # the same keys, sealed for reasoning: not a compaction
        token = ReasoningSealer([KEY]).seal(["summary"])
    else:
        token = "not-a-token"

    error = _refusal(token, sealer())

    assert error.kind is ErrorKind.INVALID_REQUEST
    assert (error.param, error.code) == ("input[2].encrypted_content", "invalid_encrypted_content")
    assert "compaction" in error.message


# -- the context a compaction item makes ------------------------------------------------------------


def test_the_newest_compaction_stands_in_for_everything_before_it() -> None:
    token = seal(sealer(), Compaction("Ada likes tea.", (message("user", "kept question"),)))
    older = seal(sealer(), Compaction("an older summary"))
    items = [
        message("user", "old 1"),
        compaction(older),
        message("assistant", "old 2"),
        compaction(token),
        message("assistant", "after"),
        message("user", "newest"),
    ]

    view = model_view(items, sealer())

    assert view is not None
    assert [(i.message.role, text_of(i)) for i in view] == [
        ("developer", SUMMARY_PREFIX + "Ada likes tea."),
        ("user", "kept question"),
        ("assistant", "after"),
        ("user", "newest"),
    ]
    assert model_view([message("user", "no compaction")], sealer()) is None


# -- through the core ------------------------------------------------------------------------------


class Harness:
    def __init__(self, *turns: Sequence[p.ChatDelta], window: int | None = None) -> None:
        self.provider = ScriptedProvider(*turns)
        self.store = InMemoryStore()
        self.core = ResponsesCore(
            Deps(
                store=self.store,
                providers=ProviderRegistry({"s": self.provider}, {}, "s"),
                clock=FakeClock(),
                ids=SequentialIds(),
                sealer=ReasoningSealer([KEY]),
            )
        )

    async def create(self, **body: Any) -> dict[str, Any]:
        response = await self.core.create(CODEC.decode({"model": "m", **body}, CreateRequest))
        return obj(CODEC.encode(response))

    async def events(self, **body: Any) -> list[dict[str, Any]]:
        run = await self.core.start(CODEC.decode({"model": "m", "stream": True, **body}, CreateRequest))
        return [obj(CODEC.encode(event)) async for event in run.events()]

    async def compact(self, **body: Any) -> dict[str, Any]:
        reply = await self.core.compact(CODEC.decode({"model": "m", **body}, CompactRequest))
        return obj(CODEC.encode(reply))


async def test_compact_summarises_and_keeps_the_user_messages() -> None:
    h = Harness(answer("Hi Ada."), answer("SUMMARY: Ada, from Lima, likes tea.", 40), answer("Tea."))
    first = await h.create(input="I am Ada from Lima.")

    reply = await h.compact(previous_response_id=first["id"], input="I like tea.")

    summarising = h.provider.requests[1]
    assert said(summarising.messages) == [
        ("user", "I am Ada from Lima."),
        ("assistant", "Hi Ada."),
        ("user", "I like tea."),
        ("user", SUMMARY_REQUEST),
    ]
    assert reply["object"] == "response.compaction"
    assert [(i["type"], i.get("role")) for i in reply["output"]] == [
        ("message", "user"),
        ("message", "user"),
        ("compaction", None),
    ]
    token = reply["output"][2]["encrypted_content"]
    assert reply["output"][2]["id"].startswith("cmp_") and "tea" not in token
    assert reply["usage"]["input_tokens"] == 40 and reply["usage"]["total_tokens"] == 43

    await h.create(input=[*reply["output"], {"role": "user", "content": "What do I like?"}])

    assert said(h.provider.requests[2].messages) == [
        ("developer", SUMMARY_PREFIX + "SUMMARY: Ada, from Lima, likes tea."),
        ("user", "I am Ada from Lima."),
        ("user", "I like tea."),
        ("user", "What do I like?"),
    ]


async def test_a_tampered_compaction_item_is_refused_before_the_upstream_is_called() -> None:
    h = Harness()
    with pytest.raises(ApiError) as info:
        await h.create(
            input=[
                {"type": "message", "role": "user", "content": "hi"},
                {"type": "compaction", "encrypted_content": "rj1.AAAA"},
            ]
        )
    assert (info.value.param, info.value.code) == ("input[1].encrypted_content", "invalid_encrypted_content")
    assert h.provider.requests == []


LONG = "word " * 200


async def test_over_the_threshold_the_context_is_compacted_before_the_model_is_called() -> None:
    h = Harness(answer("Noted."), answer("SUMMARY: a long story."), answer("Done."), answer("Again."))
    first = await h.create(input=f"Remember this: {LONG}")
    managed = [{"type": "compaction", "compact_threshold": 100}]

    events = await h.events(
        previous_response_id=first["id"], input="Now answer briefly.", context_management=managed
    )

    summarising, answering = h.provider.requests[1], h.provider.requests[2]
    assert said(summarising.messages)[-1] == ("user", SUMMARY_REQUEST)
    assert LONG in str(summarising.messages[0].content)
    assert said(answering.messages) == [
        ("developer", SUMMARY_PREFIX + "SUMMARY: a long story."),
        ("user", "Now answer briefly."),
    ]
    added = [e for e in events if e["type"] == "response.output_item.added"]
    assert added[0]["item"]["type"] == "compaction" and added[0]["output_index"] == 0
    final = events[-1]["response"]
    assert [o["type"] for o in final["output"]] == ["compaction", "message"]
    assert final["usage"]["output_tokens"] == 6  # the summary's and the answer's

    # The stored input keeps the original; the next turn is sent the summary, not the long message.
    stored = await h.store.list_input_items(final["id"], after=None, before=None, limit=10, order="asc")
    assert stored is not None
    assert [text_of(i) for i in stored.items] == ["Now answer briefly."]
    await h.create(previous_response_id=final["id"], input="And again?")
    assert said(h.provider.requests[3].messages) == [
        ("developer", SUMMARY_PREFIX + "SUMMARY: a long story."),
        ("user", "Now answer briefly."),
        ("assistant", "Done."),
        ("user", "And again?"),
    ]


async def test_under_the_threshold_nothing_is_compacted() -> None:
    h = Harness(answer("Noted."), answer("Fine."))
    first = await h.create(input="short")

    second = await h.create(
        previous_response_id=first["id"],
        input="still short",
        context_management=[{"type": "compaction", "compact_threshold": 1000}],
    )

    assert len(h.provider.requests) == 2
    assert [o["type"] for o in second["output"]] == ["message"]


async def test_a_failed_summary_fails_the_request_before_the_first_byte() -> None:
    h = Harness(answer("Noted."), [p.FinishDelta("stop")])
    first = await h.create(input=f"Remember this: {LONG}")
    with pytest.raises(ApiError) as info:
        await h.create(
            previous_response_id=first["id"],
            input="next",
            context_management=[{"type": "compaction", "compact_threshold": 10}],
        )
    assert info.value.kind is ErrorKind.UPSTREAM
    assert len(h.provider.requests) == 2  # the summarising call only


async def test_a_compaction_item_needs_its_encrypted_content() -> None:
    h = Harness()
    with pytest.raises(ApiError) as info:
        await h.create(input=[{"role": "user", "content": "hi"}, {"type": "compaction"}])
    assert (info.value.param, info.value.code) == ("input[1].encrypted_content", "missing_required_parameter")


async def test_without_keys_compaction_is_a_clear_400() -> None:
    h = Harness()
    keyless = ResponsesCore(
        Deps(
            store=h.store,
            providers=ProviderRegistry({"s": h.provider}, {}, "s"),
            clock=FakeClock(),
            ids=SequentialIds(),
        )
    )
    with pytest.raises(ApiError) as info:
        await keyless.compact(CODEC.decode({"model": "m", "input": "hi"}, CompactRequest))
    assert info.value.message == "Compaction is not configured on this server."
    assert h.provider.requests == []


async def test_compact_is_charged_to_the_tenants_rate_limits() -> None:
    provider = ScriptedProvider(answer("SUMMARY: one."))
    limits = RateLimitSettings(default=TenantLimits(requests_per_minute=1))
    core = ResponsesCore(
        Deps(
            store=InMemoryStore(),
            providers=ProviderRegistry({"s": provider}, {}, "s"),
            clock=FakeClock(),
            ids=SequentialIds(),
            sealer=ReasoningSealer([KEY]),
            limiter=MemoryRateLimiter(limits, FakeClock()),
        )
    )
    request = CODEC.decode({"model": "m", "input": "hi"}, CompactRequest)

    await core.compact(request)
    with pytest.raises(ApiError) as info:
        await core.compact(request)

    assert info.value.kind is ErrorKind.RATE_LIMIT
    assert len(provider.requests) == 1


async def test_input_tokens_counts_the_compacted_context_as_it_is_sent() -> None:
    h = Harness(answer(f"Once upon a time {LONG}"), answer("SUMMARY: a story was told."))
    first = await h.create(input="Tell me a story.")
    window = (await h.compact(previous_response_id=first["id"]))["output"]

    def count(**body: Any) -> CountInputTokensRequest:
        return CODEC.decode({"model": "m", **body}, CountInputTokensRequest)

    whole = await h.core.count_input_tokens(count(previous_response_id=first["id"], input="And then?"))
    then = {"role": "user", "content": "And then?"}
    compacted = await h.core.count_input_tokens(count(input=[*window, then]))

    assert compacted.input_tokens < 40 < 200 < whole.input_tokens


async def test_a_second_compaction_summarises_the_first_summary_not_the_originals() -> None:
    h = Harness(
        answer("Noted."),
        answer("SUMMARY ONE"),
        answer(f"A long answer: {LONG}"),
        answer("SUMMARY TWO"),
        answer("Fine."),
    )
    managed = [{"type": "compaction", "compact_threshold": 100}]
    first = await h.create(input=f"Remember this: {LONG}")
    second = await h.create(previous_response_id=first["id"], input="Go on.", context_management=managed)

    third = await h.create(previous_response_id=second["id"], input="Finish.", context_management=managed)

    summarising = h.provider.requests[3]
    assert said(summarising.messages) == [
        ("developer", SUMMARY_PREFIX + "SUMMARY ONE"),
        ("user", "Go on."),
        ("assistant", f"A long answer: {LONG}"),
        ("user", SUMMARY_REQUEST),
    ]
    assert said(h.provider.requests[4].messages) == [
        ("developer", SUMMARY_PREFIX + "SUMMARY TWO"),
        ("user", "Finish."),
    ]
    assert [o["type"] for o in third["output"]] == ["compaction", "message"]


async def test_a_stored_compaction_under_a_retired_key_names_the_chain() -> None:
    h = Harness()
    retired = InputItem(
        compaction=CompactionItem(id="cmp_old", encrypted_content=seal(sealer(OTHER_KEY), Compaction("old")))
    )
    await h.store.save(Response(id="resp_old", status="completed", model="m"), [retired])

    with pytest.raises(ApiError) as info:
        await h.create(previous_response_id="resp_old", input="next")

    assert (info.value.param, info.value.code) == ("previous_response_id", "invalid_encrypted_content")
    assert h.provider.requests == []


# -- compaction_trigger ----------------------------------------------------------------------------

TRIGGER = {"type": "compaction_trigger"}


async def test_a_compaction_trigger_not_last_is_a_400_naming_it() -> None:
    h = Harness()
    with pytest.raises(ApiError) as info:
        await h.create(input=[{"role": "user", "content": "hi"}, TRIGGER, {"role": "user", "content": "x"}])
    assert info.value.kind is ErrorKind.INVALID_REQUEST and info.value.param == "input[1]"
    assert "final input item" in info.value.message
    assert h.provider.requests == []


async def test_a_compaction_trigger_alone_has_nothing_to_compact() -> None:
    h = Harness()
    with pytest.raises(ApiError) as info:
        await h.create(input=[TRIGGER])
    assert info.value.param == "input[0]"
    assert h.provider.requests == []


async def test_counting_input_tokens_with_a_trigger_is_a_400_and_calls_no_model() -> None:
    """A count never summarises: it would be a model call the tenant's rate limits never see."""
    h = Harness(answer("SUMMARY: unused."))
    body = {"model": "m", "input": [{"role": "user", "content": "hi"}, TRIGGER]}
    with pytest.raises(ApiError) as info:
        await h.core.count_input_tokens(CODEC.decode(body, CountInputTokensRequest))
    assert info.value.kind is ErrorKind.INVALID_REQUEST and info.value.param == "input[1]"
    assert h.provider.requests == []


async def test_a_trigger_streams_the_compaction_item_and_the_model_does_not_answer() -> None:
    h = Harness(answer("Hi Ada."), answer("SUMMARY: Ada, from Lima.", 30))
    first = await h.create(input="I am Ada from Lima.")

    events = await h.events(previous_response_id=first["id"], input=[{**TRIGGER, "id": "ct_1"}])

    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.compaction.compacting",
        "response.output_item.done",
        "response.completed",
    ]
    item = events[4]["item"]
    assert item["type"] == "compaction" and item["id"].startswith("cmp_")
    assert events[2]["item"] == item and events[2]["output_index"] == 0
    assert {k: v for k, v in events[3].items() if k != "sequence_number"} == {
        "type": "response.compaction.compacting",
        "item_id": item["id"],
        "output_index": 0,
    }
    done = events[-1]["response"]
    assert [o["type"] for o in done["output"]] == ["compaction"]
    assert done["usage"]["input_tokens"] == 30 and done["status"] == "completed"
    assert len(h.provider.requests) == 2  # the first answer and the summary: no answering call
    assert said(h.provider.requests[1].messages) == [
        ("user", "I am Ada from Lima."),
        ("assistant", "Hi Ada."),
        ("user", SUMMARY_REQUEST),
    ]
    chain = await h.store.load_chain(done["id"])
    assert chain is not None
    assert list(chain[-1].input_items) == []  # the trigger is a request marker, not an item


async def test_after_a_trigger_the_chain_is_sent_the_summary() -> None:
    h = Harness(answer("Hi Ada."), answer("SUMMARY: Ada, from Lima.", 30), answer("Lima."))
    first = await h.create(input="I am Ada from Lima.")
    compacted = await h.create(previous_response_id=first["id"], input=[TRIGGER])
    assert [o["type"] for o in compacted["output"]] == ["compaction"]

    await h.create(previous_response_id=compacted["id"], input="Where am I from?")

    assert said(h.provider.requests[2].messages) == [
        ("developer", SUMMARY_PREFIX + "SUMMARY: Ada, from Lima."),
        ("user", "Where am I from?"),
    ]


async def test_compact_refuses_a_trigger_it_does_not_need() -> None:
    h = Harness()
    with pytest.raises(ApiError) as info:
        await h.compact(input=[{"role": "user", "content": "hi"}, TRIGGER])
    assert info.value.param == "input[1]"
    assert h.provider.requests == []
