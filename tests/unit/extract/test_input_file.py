"""`input_file` parts go through the same extraction: the Open Responses fixture reaches the model."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from rejoinder.core.context.files import file_key, file_texts
from rejoinder.core.responses import ResponsesCore
from rejoinder.core.run.deps import Deps
from rejoinder.errors import ApiError
from rejoinder.fetch import UrlFetcher
from rejoinder.providers import base as p
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.responses.v1.content_pb2 import InputFile
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import FakeClock, InMemoryStore, ScriptedProvider, SequentialIds
from tests.unit.extract.conftest import docx

FIXTURE = Path(__file__).resolve().parents[2] / "data" / "openresponses-file-input.pdf"


def _core(provider: ScriptedProvider) -> ResponsesCore:
    deps = Deps(
        store=InMemoryStore(),
        providers=ProviderRegistry({"s": provider}, {}, "s"),
        clock=FakeClock(),
        ids=SequentialIds(),
        fetch=UrlFetcher(max_bytes=1024, timeout_s=2),
    )
    return ResponsesCore(deps)


def _file(name: str, mime: str, raw: bytes) -> CreateRequest:
    data = f"data:{mime};base64,{base64.b64encode(raw).decode()}"
    part = {"type": "input_file", "filename": name, "file_data": data}
    body = {"model": "m", "input": [{"role": "user", "content": [part]}]}
    return OpenAIJson().decode(body, CreateRequest)


@pytest.mark.parametrize(
    ("name", "mime", "raw", "seen"),
    [
        (
            "openresponses-fixture.pdf",
            "application/pdf",
            FIXTURE.read_bytes(),
            "Title: OpenResponses File Input Fixture",
        ),
        ("minutes.docx", "application/octet-stream", docx("Budget approved"), "Budget approved"),
    ],
)
async def test_the_file_reaches_the_model_as_text(name: str, mime: str, raw: bytes, seen: str) -> None:
    provider = ScriptedProvider([p.TextDelta("ok"), p.FinishDelta("stop")])
    run = await _core(provider).start(_file(name, mime, raw))
    [e async for e in run.events()]
    assert provider.requests[0].messages[-1].content == f"[file: {name}]\n{seen}"


@pytest.mark.parametrize(
    ("name", "raw", "code"),
    [("x.pdf", b"%PDF-nope", "invalid_file"), ("a.png", b"\x89PNG\r\n\x1a\n\x00", "unsupported_file_type")],
)
async def test_unreadable_files_are_400s_before_the_model_is_asked(name: str, raw: bytes, code: str) -> None:
    provider = ScriptedProvider()
    with pytest.raises(ApiError) as err:
        await _core(provider).start(_file(name, "application/octet-stream", raw))
    assert (err.value.code, err.value.param) == (code, "input[0].content[0]")
    assert provider.requests == []


async def _no_fetch(url: str) -> tuple[bytes, str]:
    raise AssertionError(f"nothing is fetched here: {url}")


async def test_file_texts_reads_the_fixture_sent_inline() -> None:
    data = f"data:application/pdf;base64,{base64.b64encode(FIXTURE.read_bytes()).decode()}"
    item = InputItem()
    item.message.role = "user"
    part = item.message.content.parts.items.add()
    part.input_file.CopyFrom(InputFile(filename="openresponses-fixture.pdf", file_data=data))

    texts = await file_texts([item], _no_fetch)

    assert texts == {
        file_key(
            part.input_file
        ): "[file: openresponses-fixture.pdf]\nTitle: OpenResponses File Input Fixture"
    }
