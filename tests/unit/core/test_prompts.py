"""Prompt templates (core/prompts/): CRUD with versions per tenant over a real SQLite store, and the
resolution of a create request's `prompt` into the developer message that leads the context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.struct_pb2 import Struct

from rejoinder.core.checks.items import expand_item
from rejoinder.core.prompts.resolve import resolve_prompt
from rejoinder.core.prompts.templates import PromptsCore
from rejoinder.core.run.chat_mapping import chat_messages
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.responses.v1 import prompts_service_pb2 as pb
from rejoinder.responses.v1.content_pb2 import Content, MessageContent
from rejoinder.responses.v1.items_pb2 import InputItem, Message
from rejoinder.responses.v1.response_pb2 import Prompt
from rejoinder.store.prompts.sqlite import SqlitePromptStore
from rejoinder.store.sqlite import SqliteStore
from tests.fakes import FakeClock, SequentialIds


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[PromptsCore]:
    store = await SqliteStore.open(tmp_path / "rejoinder.db")
    yield PromptsCore(SqlitePromptStore(store), SequentialIds(), FakeClock())
    await store.close()


def variables(**values: Any) -> Struct:
    s = Struct()
    s.update(values)
    return s


async def made(core: PromptsCore, text: str, *names: str, tenant: str = "") -> str:
    created = await core.create(pb.CreatePromptRequest(prompt=text, variables=names), tenant=tenant)
    return created.prompt_id


def text_of(parts: list[Content]) -> list[tuple[str, str]]:
    out = []
    for part in parts:
        kind = part.WhichOneof("part")
        if kind == "input_text":
            out.append((kind, part.input_text.text))
        elif kind == "input_image":
            out.append((kind, part.input_image.image_url))
        else:
            out.append((str(kind), part.input_file.file_id))
    return out


async def resolved_parts(core: PromptsCore, prompt: Prompt, tenant: str = "") -> list[tuple[str, str]]:
    resolved = await resolve_prompt(core, prompt, tenant=tenant)
    (item,) = resolved.items
    assert item.message.role == "developer"
    return text_of(list(item.message.content.parts.items))


async def refused(core: PromptsCore, prompt: Prompt) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await resolve_prompt(core, prompt)
    return caught.value


async def test_create_get_update_and_versions(core: PromptsCore) -> None:
    created = await core.create(pb.CreatePromptRequest(prompt="Hi {{name}}", variables=["name"]))
    assert created.prompt_id == "pmpt_0001"
    assert (created.object, created.version, created.is_default) == ("prompt", 1, True)
    assert created.created_at == 1_700_000_000
    second = await core.update(
        pb.UpdatePromptRequest(prompt_id="pmpt_0001", prompt="Hello {{name}}", version=1, variables=["name"])
    )
    assert (second.version, second.is_default) == (2, True)
    assert (await core.get(pb.GetPromptRequest(prompt_id="pmpt_0001"))).prompt == "Hello {{name}}"
    assert (await core.get(pb.GetPromptRequest(prompt_id="pmpt_0001", version=1))).prompt == "Hi {{name}}"
    listed = await core.versions("pmpt_0001")
    assert [(v.version, v.is_default) for v in listed.data] == [(1, False), (2, True)]
    back = await core.set_default(pb.SetDefaultVersionRequest(prompt_id="pmpt_0001", version=1))
    assert (back.version, back.is_default) == (1, True)


async def test_a_stale_update_is_a_409_naming_the_latest(core: PromptsCore) -> None:
    prompt_id = await made(core, "v1")
    await core.update(pb.UpdatePromptRequest(prompt_id=prompt_id, prompt="v2", version=1))
    with pytest.raises(ApiError) as caught:
        await core.update(pb.UpdatePromptRequest(prompt_id=prompt_id, prompt="v2 again", version=1))
    assert caught.value.kind is ErrorKind.CONFLICT
    assert (caught.value.param, caught.value.code) == ("version", "stale_prompt_version")
    assert "version 2" in caught.value.message


@pytest.mark.parametrize(
    ("text", "names", "param", "code"),
    [
        ("", [], "prompt", "missing_required_parameter"),
        ("Hi {{name}} from {{ city }}", ["name"], "prompt", "undeclared_variable"),
        ("Hi", ["bad name"], "variables[0]", "invalid_value"),
    ],
)
async def test_a_template_must_declare_what_it_uses(
    core: PromptsCore, text: str, names: list[str], param: str, code: str
) -> None:
    with pytest.raises(ApiError) as caught:
        await core.create(pb.CreatePromptRequest(prompt=text, variables=names))
    assert (caught.value.param, caught.value.code) == (param, code)


async def test_missing_templates_and_versions_are_404s(core: PromptsCore) -> None:
    prompt_id = await made(core, "text")
    with pytest.raises(ApiError) as caught:
        await core.get(pb.GetPromptRequest(prompt_id=prompt_id, version=3))
    assert (caught.value.kind, caught.value.param) == (ErrorKind.NOT_FOUND, "version")
    with pytest.raises(ApiError) as caught:
        await core.get(pb.GetPromptRequest(prompt_id="pmpt_nope"))
    assert (caught.value.kind, caught.value.param) == (ErrorKind.NOT_FOUND, "prompt_id")
    with pytest.raises(ApiError) as caught:
        await core.get(pb.GetPromptRequest(prompt_id=prompt_id), tenant="other")
    assert caught.value.kind is ErrorKind.NOT_FOUND
    gone = await core.delete(prompt_id)
    assert (gone.id, gone.object, gone.deleted) == (prompt_id, "prompt.deleted", True)
    with pytest.raises(ApiError):
        await core.delete(prompt_id)


async def test_strings_are_substituted_and_parts_stand_where_their_placeholder_is(core: PromptsCore) -> None:
    prompt_id = await made(core, "Describe {{photo}} for {{ who }}, see {{doc}}.", "photo", "who", "doc")
    values = variables(
        photo={"type": "input_image", "image_url": "https://example.com/a.png"},
        who={"type": "input_text", "text": "a {{child}}"},
        doc={"type": "input_file", "file_id": "file-1"},
    )
    parts = await resolved_parts(core, Prompt(id=prompt_id, variables=values))
    assert parts == [
        ("input_text", "Describe "),
        ("input_image", "https://example.com/a.png"),
        ("input_text", " for a {{child}}, see "),  # values are not searched for placeholders
        ("input_file", "file-1"),
        ("input_text", "."),
    ]


async def test_the_default_version_is_used_and_echoed(core: PromptsCore) -> None:
    prompt_id = await made(core, "One {{x}}", "x")
    await core.update(
        pb.UpdatePromptRequest(prompt_id=prompt_id, prompt="Two {{x}}", version=1, variables=["x"])
    )
    resolved = await resolve_prompt(core, Prompt(id=prompt_id, variables=variables(x="!")))
    assert resolved.items[0].message.content.parts.items[0].input_text.text == "Two !"
    assert (resolved.echo.id, resolved.echo.version) == (prompt_id, "2")
    assert dict(resolved.echo.variables) == {"x": "!"}
    older = await resolved_parts(core, Prompt(id=prompt_id, version="1", variables=variables(x="?")))
    assert older == [("input_text", "One ?")]


@pytest.mark.parametrize(
    ("prompt", "param", "code"),
    [
        (Prompt(id="pmpt_0001"), "prompt.variables.city", "missing_prompt_variable"),
        (
            Prompt(id="pmpt_0001", variables=variables(city="Oslo", mood="sunny")),
            "prompt.variables.mood",
            "unknown_prompt_variable",
        ),
        (Prompt(id="pmpt_0001", variables=variables(city=3)), "prompt.variables.city", "invalid_type"),
        (
            Prompt(id="pmpt_0001", variables=variables(city={"type": "input_audio"})),
            "prompt.variables.city",
            "invalid_type",
        ),
        (
            Prompt(id="pmpt_0001", variables=variables(city={"type": "input_image"})),
            "prompt.variables.city.image_url",
            "missing_required_parameter",
        ),
        (Prompt(id="pmpt_9999", variables=variables(city="Oslo")), "prompt.id", "prompt_not_found"),
        (
            Prompt(id="pmpt_0001", version="7", variables=variables(city="Oslo")),
            "prompt.version",
            "prompt_version_not_found",
        ),
        (Prompt(id="pmpt_0001", version="v1"), "prompt.version", "invalid_value"),
        (Prompt(id=""), "prompt.id", "missing_required_parameter"),
    ],
)
async def test_bad_prompts_are_400s_naming_the_field(
    core: PromptsCore, prompt: Prompt, param: str, code: str
) -> None:
    await made(core, "Weather in {{city}}", "city")
    err = await refused(core, prompt)
    assert (err.kind, err.param, err.code) == (ErrorKind.INVALID_REQUEST, param, code)


async def test_another_tenants_template_is_not_found(core: PromptsCore) -> None:
    prompt_id = await made(core, "Secret", tenant="acme")
    with pytest.raises(ApiError) as caught:
        await resolve_prompt(core, Prompt(id=prompt_id), tenant="other")
    assert caught.value.param == "prompt.id"


async def test_the_prompt_leads_the_context_before_the_instructions(core: PromptsCore) -> None:
    prompt_id = await made(core, "You answer about {{topic}}.", "topic")
    resolved = await resolve_prompt(core, Prompt(id=prompt_id, variables=variables(topic="tides")))
    user = expand_item(InputItem(message=Message(role="user", content=MessageContent(text="Why?"))))
    messages = chat_messages([user], "Be brief.", prompt=resolved.items)
    assert [(m.role, m.content) for m in messages] == [
        ("developer", "You answer about tides."),
        ("system", "Be brief."),
        ("user", "Why?"),
    ]
