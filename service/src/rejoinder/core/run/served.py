"""The server-side tools of one response, together: the toolsets of the kinds its request uses, the
names the model knows their tools by, and what the model is told about tools it made up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from rejoinder.core.run.tool_calls import PendingCall
from rejoinder.providers import base as p
from rejoinder.responses.v1.content_pb2 import Annotation, FunctionOutput
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import FunctionCallOutput, FunctionToolCall, InputItem
from rejoinder.responses.v1.tools_pb2 import ToolChoice
from rejoinder.tools.base import ItemWriter, ToolCall, ToolSet, Transcript
from rejoinder.tools.registry import ToolKinds


class ServedTools:
    """The response's toolsets (by tool type) beside the client's `functions`."""

    def __init__(self, kinds: ToolKinds, toolsets: dict[str, ToolSet], functions: frozenset[str]) -> None:
        self._kinds = kinds
        self._toolsets = toolsets
        self._functions = functions
        self._owners: dict[str, ToolSet] = {}
        self._schemas: tuple[p.FunctionTool, ...] = ()

    async def prepare(
        self, history: Sequence[InputItem], out: ItemWriter
    ) -> AsyncIterator[ResponseStreamEvent]:
        """Each toolset's preparation (listings), then the tools named for the model."""
        for toolset in self._toolsets.values():
            async for event in toolset.prepare(history, out):
                yield event
        reserved = self._functions
        schemas: list[p.FunctionTool] = []
        for toolset in self._toolsets.values():
            schemas.extend(toolset.offer(reserved))
            names = toolset.names()
            self._owners.update(dict.fromkeys(names, toolset))
            reserved = reserved | names
        self._schemas = tuple(schemas)

    def functions(self) -> tuple[p.FunctionTool, ...]:
        """The served tools as the model sees them (function schemas)."""
        return self._schemas

    def owner(self, name: str) -> ToolSet | None:
        """The toolset serving the tool the model calls `name`."""
        return self._owners.get(name)

    def pending(self, name: str) -> PendingCall | None:
        """A new call of the served tool `name` (None when no toolset serves it)."""
        owner = self._owners.get(name)
        return PendingCall(owner, ToolCall(name=name)) if owner is not None else None

    def names(self) -> frozenset[str]:
        """Every served tool's name."""
        return frozenset(self._owners)

    def forced_by(self, choice: ToolChoice) -> frozenset[str] | None:
        """The served tools a `tool_choice` of a served kind forces (None: not a served kind's)."""
        for toolset in self._toolsets.values():
            forced = toolset.forced_by(choice)
            if forced is not None:
                return forced
        return None

    def approved(self, history: Sequence[InputItem], new: Sequence[InputItem]) -> list[PendingCall]:
        """The calls the client approved in `new`, to run before the first turn."""
        return [
            PendingCall(toolset, call)
            for toolset in self._toolsets.values()
            for call in toolset.approved(history, new)
        ]

    def transcripts(self, items: Sequence[InputItem]) -> tuple[Transcript, ...]:
        """How the kinds' items among `items` read to the model, with this response's names."""
        return self._kinds.transcripts(items, self._toolsets)

    def annotations(self, text: str) -> list[Annotation]:
        """The toolsets' annotations of one finished output text."""
        return [a for toolset in self._toolsets.values() for a in toolset.annotations(text)]

    def unknown(self, calls: Sequence[tuple[str, str]]) -> list[InputItem]:
        """What the model is told, on its next turn, about the tools it called (name, call id) that do
        not exist: each call answered with the tools there are."""
        offered = ", ".join(sorted(self._functions | self.names())) or "none"
        items = []
        for name, call_id in calls:
            message = f"Error: There is no tool named '{name}'. The tools are: {offered}."
            items.append(InputItem(function_call=FunctionToolCall(call_id=call_id, name=name, arguments="")))
            output = FunctionCallOutput(call_id=call_id, output=FunctionOutput(text=message))
            items.append(InputItem(function_call_output=output))
        return items
