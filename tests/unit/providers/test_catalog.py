"""The model catalog: each upstream's last known list, refreshed by the clock, kept through failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from rejoinder.providers import base as p
from rejoinder.providers.catalog import ModelCatalog, decode_model_list
from tests.fakes import FakeClock

LLAMA = p.UpstreamModel("llama", 1_700_000_000, "meta")
QWEN = p.UpstreamModel("qwen")
CATALOG_LOG = "rejoinder.providers.catalog"


class ListingProvider:
    """A provider whose model list is whatever `answer` holds: a list, an error to raise, or None to hang."""

    def __init__(self, answer: list[p.UpstreamModel] | Exception | None) -> None:
        self.answer = answer
        self.calls = 0

    @property
    def capabilities(self) -> p.Capabilities:
        return p.Capabilities()

    async def stream(self, req: p.ChatRequest) -> AsyncIterator[p.ChatDelta]:
        yield p.FinishDelta("stop")

    async def models(self) -> list[p.UpstreamModel]:
        self.calls += 1
        if self.answer is None:
            await asyncio.Event().wait()
        if isinstance(self.answer, Exception):
            raise self.answer
        return list(self.answer or [])

    async def aclose(self) -> None:
        return None


def down() -> p.UpstreamError:
    return p.UpstreamError("connect", "cannot reach upstream: refused")


async def test_every_list_is_fetched_at_first_then_again_only_when_due() -> None:
    clock = FakeClock()
    a, b = ListingProvider([LLAMA]), ListingProvider([QWEN])
    catalog = ModelCatalog({"a": a, "b": b}, refresh_s=60, clock=clock.now)

    await catalog.refresh()
    assert (catalog.known("a"), catalog.known("b")) == ([LLAMA], [QWEN])
    assert (a.calls, b.calls) == (1, 1)

    clock.advance(59.9)
    await catalog.refresh()
    assert (a.calls, b.calls) == (1, 1)

    a.answer = [LLAMA, QWEN]
    clock.advance(0.1)
    await catalog.refresh()
    assert (a.calls, b.calls) == (2, 2)
    assert catalog.known("a") == [LLAMA, QWEN]


async def test_a_failing_upstream_keeps_its_last_known_list(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    flaky = ListingProvider([LLAMA])
    catalog = ModelCatalog({"flaky": flaky}, refresh_s=10, clock=clock.now)
    await catalog.refresh()

    flaky.answer = down()
    with caplog.at_level(logging.INFO, logger=CATALOG_LOG):
        for _ in range(3):
            clock.advance(10)
            await catalog.refresh()

    assert flaky.calls == 4
    assert catalog.known("flaky") == [LLAMA]
    assert catalog.lookup("flaky", "llama") == LLAMA
    [warning] = caplog.records  # once per streak, not once per refresh
    assert warning.levelno == logging.WARNING
    assert warning.getMessage() == (
        "provider 'flaky': cannot fetch its model list (cannot reach upstream: refused); keeping the last "
        "known one (1 models), retrying every 10 s (logged again only once it recovers)"
    )


async def test_a_recovery_is_logged_once_and_a_new_streak_again(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    flaky = ListingProvider(down())
    catalog = ModelCatalog({"flaky": flaky}, refresh_s=10, clock=clock.now)
    with caplog.at_level(logging.INFO, logger=CATALOG_LOG):
        await catalog.refresh()
        assert catalog.known("flaky") == []
        flaky.answer = [QWEN]
        for _ in range(2):
            clock.advance(10)
            await catalog.refresh()
        flaky.answer = RuntimeError("a bug")
        clock.advance(10)
        await catalog.refresh()

    assert catalog.known("flaky") == [QWEN]
    tail = "retrying every 10 s (logged again only once it recovers)"
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.WARNING,
            "provider 'flaky': cannot fetch its model list (cannot reach upstream: refused); "
            f"keeping the last known one (0 models), {tail}",
        ),
        (logging.INFO, "provider 'flaky': its model list is back (1 models)"),
        (
            logging.WARNING,
            f"provider 'flaky': cannot fetch its model list (RuntimeError: a bug); "
            f"keeping the last known one (1 models), {tail}",
        ),
    ]


async def test_a_hanging_upstream_is_cut_at_the_fetch_timeout_and_the_others_are_not_held() -> None:
    hanging, quick = ListingProvider(None), ListingProvider([QWEN])
    catalog = ModelCatalog({"hanging": hanging, "quick": quick}, fetch_timeout_s=0.05)

    await asyncio.wait_for(catalog.refresh(), 2.0)

    assert catalog.known("hanging") == []
    assert catalog.known("quick") == [QWEN]


async def test_start_waits_at_most_its_bound_and_the_first_fetch_lands_later() -> None:
    slow = ListingProvider(None)
    catalog = ModelCatalog({"slow": slow}, fetch_timeout_s=5.0)
    loop = asyncio.get_running_loop()
    started = loop.time()

    await catalog.start(wait_s=0.1)
    assert 0.1 <= loop.time() - started < 1.0
    assert catalog.known("slow") == []
    slow.answer = [LLAMA]  # the first fetch still waits; answer the next one
    await catalog.aclose()


async def test_start_returns_as_soon_as_the_first_round_is_in_and_aclose_stops_refreshing() -> None:
    quick = ListingProvider([LLAMA])
    catalog = ModelCatalog({"quick": quick}, refresh_s=60)

    await asyncio.wait_for(catalog.start(wait_s=10), 1.0)
    assert catalog.known("quick") == [LLAMA]
    await catalog.aclose()
    await asyncio.sleep(0)
    assert quick.calls == 1


async def test_an_id_listed_twice_counts_once_as_first_listed() -> None:
    twice = ListingProvider([LLAMA, QWEN, p.UpstreamModel("llama", 1, "other")])
    catalog = ModelCatalog({"twice": twice})

    await catalog.refresh()

    assert catalog.known("twice") == [LLAMA, QWEN]


def test_the_openai_list_shape_is_decoded() -> None:
    body = (
        b'{"object": "list", "data": [{"id": "a", "object": "model", "created": 12, "owned_by": "o"},'
        b'{"id": "b", "created": true, "owned_by": ""}, {"id": "c", "created": 9223372036854775808},'
        b'{"id": ""}, {"id": 5}, "d", {"id": "e", "created": -1}]}'
    )

    assert decode_model_list(body) == [
        p.UpstreamModel("a", 12, "o"),
        p.UpstreamModel("b"),
        p.UpstreamModel("c"),
        p.UpstreamModel("e"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>not json</html>", "upstream sent a model list that is not JSON: "),
        (b'{"object": "list"}', 'upstream sent a model list without a "data" array'),
        (b'{"data": {"id": "m"}}', 'upstream sent a model list without a "data" array'),
        (b'[{"id": "m"}]', 'upstream sent a model list without a "data" array'),
    ],
)
def test_a_body_that_is_not_a_model_list(body: bytes, message: str) -> None:
    with pytest.raises(p.UpstreamError) as info:
        decode_model_list(body)

    assert info.value.kind == "protocol"
    assert info.value.message.startswith(message)
