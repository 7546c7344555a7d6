"""Inputs the core checks before the first byte: images per model capability, files by URL."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from rejoinder.core.responses import ResponsesCore
from rejoinder.core.run.deps import Deps
from rejoinder.errors import ApiError
from rejoinder.fetch import UrlFetcher
from rejoinder.providers import base as p
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import FakeClock, InMemoryStore, ScriptedProvider, SequentialIds

CODEC = OpenAIJson()


def _core(provider: ScriptedProvider) -> ResponsesCore:
    deps = Deps(
        store=InMemoryStore(),
        providers=ProviderRegistry({"s": provider}, {}, "s"),
        clock=FakeClock(),
        ids=SequentialIds(),
        fetch=UrlFetcher(max_bytes=1024, timeout_s=2),
    )
    return ResponsesCore(deps)


@pytest.fixture
def files(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "notes.txt").write_text("remember the milk")
    (tmp_path / "big.txt").write_text("x" * 2048)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _body(part: dict[str, object]) -> CreateRequest:
    return CODEC.decode({"model": "m", "input": [{"role": "user", "content": [part]}]}, CreateRequest)


async def test_images_are_refused_for_a_model_that_cannot_see() -> None:
    blind = ScriptedProvider([p.TextDelta("x")], capabilities=p.Capabilities(images=False))
    with pytest.raises(ApiError) as err:
        await _core(blind).start(_body({"type": "input_image", "image_url": "https://x.test/a.png"}))
    assert (err.value.code, err.value.param) == ("images_not_supported", "input")
    assert blind.requests == []


async def test_a_file_url_is_fetched_and_read(files: str) -> None:
    provider = ScriptedProvider([p.TextDelta("ok"), p.FinishDelta("stop")])
    run = await _core(provider).start(_body({"type": "input_file", "file_url": f"{files}/notes.txt"}))
    [e async for e in run.events()]
    assert provider.requests[0].messages[-1].content == "remember the milk"


@pytest.mark.parametrize(
    ("name", "code"), [("missing.txt", "file_fetch_failed"), ("big.txt", "file_too_large")]
)
async def test_file_urls_that_fail_are_400s(files: str, name: str, code: str) -> None:
    provider = ScriptedProvider()
    with pytest.raises(ApiError) as err:
        await _core(provider).start(_body({"type": "input_file", "file_url": f"{files}/{name}"}))
    assert err.value.code == code
