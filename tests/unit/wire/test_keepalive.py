"""Keep-alive ticks between slow events; order kept; the source runs in one task."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from rejoinder.wire.keepalive import TICK, with_keepalive


async def _slow(tasks: set[asyncio.Task[object] | None]) -> AsyncIterator[int]:
    for i in range(3):
        tasks.add(asyncio.current_task())
        await asyncio.sleep(0.12 if i == 1 else 0)
        yield i


async def test_ticks_fill_silences_and_items_keep_their_order() -> None:
    tasks: set[asyncio.Task[object] | None] = set()
    out = [x async for x in with_keepalive(_slow(tasks), 0.05)]
    assert [x for x in out if x is not TICK] == [0, 1, 2]
    assert out.count(TICK) >= 2
    assert len(tasks) == 1, "the source must be driven by one task"


async def test_a_failing_source_raises_in_the_consumer() -> None:
    async def broken() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("boom")

    seen = []
    with pytest.raises(RuntimeError, match="boom"):
        async for x in with_keepalive(broken(), 1.0):
            seen.append(x)
    assert seen == [1]


async def test_leaving_early_stops_the_source() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
                await asyncio.sleep(0)
        finally:
            closed.set()

    stream = with_keepalive(endless(), 1.0)
    assert await anext(stream) == 0
    await stream.aclose()  # type: ignore[attr-defined]
    await asyncio.wait_for(closed.wait(), 1.0)
