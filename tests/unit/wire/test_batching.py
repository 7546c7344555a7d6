"""Batched hand-over with keep-alive ticks: order kept, the source runs in one task."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from rejoinder.wire.batching import MAX_BATCH, TICK, batches


def _flat(out: list[object]) -> list[object]:
    return [x for batch in out if batch is not TICK for x in batch]  # type: ignore[union-attr]


async def test_ticks_fill_silences_and_items_keep_their_order() -> None:
    tasks: set[asyncio.Task[object] | None] = set()

    async def slow() -> AsyncIterator[int]:
        for i in range(3):
            tasks.add(asyncio.current_task())
            await asyncio.sleep(0.12 if i == 1 else 0)
            yield i

    out = [x async for x in batches(slow(), 0.05)]
    assert _flat(out) == [0, 1, 2]
    assert out.count(TICK) >= 2
    assert len(tasks) == 1, "the source must be driven by one task"


async def test_the_opening_run_goes_out_at_once_and_alone() -> None:
    async def burst() -> AsyncIterator[int]:
        for i in range(100):
            yield i

    stream = batches(burst(), 5.0, opens=lambda i: i == 4)
    first = await asyncio.wait_for(anext(stream), 1.0)
    assert first == list(range(5)), "the opening run (up to the first text delta), no more"
    rest = [batch async for batch in stream]
    assert _flat([first, *rest]) == list(range(100))
    assert all(len(b) <= MAX_BATCH for b in rest)  # type: ignore[arg-type]


async def test_the_rest_of_a_burst_waits_until_the_opening_run_is_written() -> None:
    made: list[int] = []

    async def burst() -> AsyncIterator[int]:
        for i in range(100):
            made.append(i)
            yield i

    stream = batches(burst(), 5.0, opens=lambda i: i == 2)
    assert await anext(stream) == [0, 1, 2]
    await asyncio.sleep(0.01)  # the opening run being written: the loop is free all that time
    assert made == [0, 1, 2], "nothing after the opening run is made before it was written"
    assert _flat([batch async for batch in stream]) == list(range(3, 100))


async def test_what_is_ready_goes_out_while_the_source_waits() -> None:
    async def slow_after_two() -> AsyncIterator[int]:
        yield 0
        yield 1
        await asyncio.sleep(0.5)
        yield 2

    stream = batches(slow_after_two(), 5.0)
    assert await asyncio.wait_for(anext(stream), 0.2) == [0, 1], "ready items never wait for the next"
    assert _flat([batch async for batch in stream]) == [2]


async def test_a_burst_goes_out_in_batches_and_the_source_waits_while_they_are_full() -> None:
    held: list[int] = []
    taken = 0

    async def burst() -> AsyncIterator[int]:
        for i in range(200):
            held.append(i - taken)  # made but not yet taken
            yield i

    sizes: list[int] = []
    async for batch in batches(burst(), 5.0):
        sizes.append(len(batch))  # type: ignore[arg-type]
        taken += len(batch)  # type: ignore[arg-type]
        await asyncio.sleep(0.001)
    assert sum(sizes) == 200
    assert max(sizes) == MAX_BATCH, "ready items share a batch"
    assert max(held) < MAX_BATCH, "the source waits while a full batch is not taken"


async def test_a_failing_source_raises_in_the_consumer() -> None:
    async def broken() -> AsyncIterator[int]:
        yield 1
        await asyncio.sleep(0)
        raise RuntimeError("boom")

    seen: list[object] = []
    with pytest.raises(RuntimeError, match="boom"):
        async for x in batches(broken(), 1.0):
            seen.append(x)
    assert _flat(seen) == [1]


async def test_items_made_before_a_failure_are_handed_over_before_it() -> None:
    async def broken() -> AsyncIterator[int]:
        yield 1
        yield 2
        raise RuntimeError("boom")

    seen: list[object] = []
    with pytest.raises(RuntimeError, match="boom"):
        async for x in batches(broken(), 1.0):
            seen.append(x)
    assert _flat(seen) == [1, 2]


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

    stream = batches(endless(), 1.0)
    assert (await anext(stream))[0] == 0  # type: ignore[index]
    await stream.aclose()  # type: ignore[attr-defined]
    await asyncio.wait_for(closed.wait(), 1.0)
