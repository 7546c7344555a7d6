"""Keep a quiet stream open: a marker whenever the source says nothing for `interval_s` seconds.

The source is driven by ONE task of its own from start to end (async context managers it holds,
such as MCP sessions with anyio cancel scopes, must be entered and exited in the same task), and
its items are handed over through a small queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


class Tick:
    """Nothing happened for a while."""


TICK = Tick()
_END = object()


class _Failure:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc


async def with_keepalive(source: AsyncIterator[T], interval_s: float) -> AsyncIterator[T | Tick]:
    """The source's items in order, with `TICK` after every `interval_s` of silence."""
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=64)

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put(item)
        except Exception as exc:
            await queue.put(_Failure(exc))
            return
        await queue.put(_END)

    task = asyncio.ensure_future(pump())
    try:
        while True:
            try:
                async with asyncio.timeout(interval_s):
                    item = await queue.get()
            except TimeoutError:
                yield TICK
                continue
            if item is _END:
                break
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
