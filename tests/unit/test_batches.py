"""What calls report as they end (access lines, metrics) is told in batches, in order, never lost."""

from __future__ import annotations

import asyncio
import threading

from rejoinder.observe.batches import SLICE, STALE_S, Batches
from rejoinder.observe.metrics import Metrics
from rejoinder.observe.observer import Observer
from rejoinder.observe.record import CallRecord


class Told:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __call__(self, batch: list[int]) -> None:
        self.batches.append(batch)


async def test_items_wait_at_most_the_interval_and_are_told_together_in_order() -> None:
    told = Told()
    batches = Batches(told, wait_s=0.1)
    for i in range(3):
        batches.add(i)
    assert told.batches == []
    await asyncio.sleep(0.2)
    assert told.batches == [[0, 1, 2]]
    batches.add(3)  # a new batch, a new wait
    await asyncio.sleep(0.2)
    assert told.batches == [[0, 1, 2], [3]]


def test_without_an_event_loop_an_item_is_told_at_once() -> None:
    told = Told()
    Batches(told, wait_s=60).add(7)
    assert told.batches == [[7]]


async def test_flush_tells_what_waits_from_another_thread_and_nothing_twice() -> None:
    told = Told()
    batches = Batches(told, wait_s=0.1)
    batches.add(1)
    batches.add(2)
    flusher = threading.Thread(target=batches.flush)
    flusher.start()
    flusher.join()
    assert told.batches == [[1, 2]]
    await asyncio.sleep(0.2)  # the flush that was set finds nothing
    assert told.batches == [[1, 2]]


def test_a_flush_set_on_a_loop_that_closed_is_set_again_on_the_next() -> None:
    told = Told()
    batches = Batches(told, wait_s=0.05)

    async def add(i: int, after_s: float) -> None:
        await asyncio.sleep(after_s)
        batches.add(i)
        await asyncio.sleep(0.15)

    asyncio.run(add(1, 0))
    assert told.batches == [[1]]  # told on its loop
    batches.add(2)  # no loop runs: told at once
    assert told.batches == [[1], [2]]

    async def add_and_close(i: int) -> None:
        batches.add(i)

    asyncio.run(add_and_close(3))  # its loop closes before its flush
    assert told.batches == [[1], [2]]
    asyncio.run(add(4, 0.05 + STALE_S))  # that flush is lost: set again on this loop
    assert told.batches == [[1], [2], [3, 4]]


async def test_a_scrape_counts_every_call_that_ended_before_it_as_its_record_stood_then() -> None:
    metrics = Metrics()
    observer = Observer(metrics)
    record = CallRecord(
        surface="rest", route="CreateResponse", status="200", model="m", provider="p", output_tokens=1
    )
    record.first_token_s = 0.002
    observer.tokens(record)
    observer.call_ended(record, 0.01)
    observer.upstream_call("p", "ok", 0.005)
    record.output_tokens = 40  # later (a background run's tokens): not what the call ended with

    def sample(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    calls = {"surface": "rest", "route": "CreateResponse", "status": "200", "model": "m"}
    assert sample("rejoinder_requests_total", **calls) == 1.0  # counted as the scrape came
    assert sample("gen_ai_server_time_to_first_token_seconds_count", surface="rest", model="m") == 1.0
    assert sample("gen_ai_server_time_per_output_token_seconds_count", surface="rest", model="m") == 0.0
    assert sample("rejoinder_tokens_total", type="output", provider="p", model="m") == 1.0
    assert sample("rejoinder_upstream_requests_total", provider="p", outcome="ok") == 1.0


async def test_a_batch_is_told_in_slices_with_turns_for_the_loop_between() -> None:
    turns = 0
    seen: list[int] = []  # the other work's turns when each slice was told
    told = Told()

    def tell(batch: list[int]) -> None:
        seen.append(turns)
        told(batch)

    batches = Batches(tell, wait_s=0.05)
    for i in range(2 * SLICE + 3):
        batches.add(i)

    async def other_work() -> None:  # requests that come while the batch is told
        nonlocal turns
        while len(told.batches) < 3:
            turns += 1
            await asyncio.sleep(0)

    await asyncio.wait_for(other_work(), 1)
    assert [len(b) for b in told.batches] == [SLICE, SLICE, 3]
    assert [i for b in told.batches for i in b] == list(range(2 * SLICE + 3))
    assert seen[0] < seen[1] < seen[2]  # the other work ran between two slices
