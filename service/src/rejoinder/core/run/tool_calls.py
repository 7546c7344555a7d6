"""Running the server-side calls of one turn: approvals asked for, the others run concurrently, their
items and events emitted in call order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from rejoinder.core.run.output import OutputBuilder
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.tools.base import ToolCall, ToolSet

Events = AsyncIterator[ResponseStreamEvent]


@dataclass(frozen=True)
class PendingCall:
    """A call of a served tool, and the toolset that serves it."""

    toolset: ToolSet
    call: ToolCall


class CallRunner:
    """Emits the served calls' items through the response's `OutputBuilder`."""

    def __init__(self, builder: OutputBuilder) -> None:
        self._builder = builder
        self.approvals_requested = 0

    async def run(self, calls: Sequence[PendingCall]) -> Events:
        """Ask approval for the calls that need it; run the others concurrently, items in order."""
        tasks: dict[int, asyncio.Task[str]] = {}
        steps: list[Events] = []
        for i, pending in enumerate(calls):
            if pending.toolset.needs_approval(pending.call):
                steps.append(self._approval(pending))
                continue
            started = pending.toolset.start(pending.call)
            tasks[i] = asyncio.ensure_future(started.run())
            steps.append(started.events(self._builder, tasks[i]))
        try:
            for step in steps:
                async for event in step:
                    yield event
        finally:
            for task in tasks.values():
                task.cancel()
            for task in tasks.values():
                with contextlib.suppress(BaseException):
                    await task

    async def _approval(self, pending: PendingCall) -> Events:
        self.approvals_requested += 1
        request = pending.toolset.approval_request(pending.call)
        index, events = self._builder.open_item(request)
        for event in events:
            yield event
        yield self._builder.done_item(index, request)
