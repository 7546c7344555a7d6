"""The seam between the agentic loop and server-side tools: one protocol every tool kind implements.

The loop (`core/run/loop.py`) never names a kind. It asks each registered kind for a `ToolSet` from the
request's `tools`, and per response that toolset

(a) offers its tools for the turns: `prepare` emits whatever must come before the first turn (MCP's
    `mcp_list_tools` items), `offer` gives the function schemas the model sees;
(b) runs one call: `start` returns a `CallRun`, whose `run` does the bounded, cancellable work and whose
    `events` tell it as output items and stream events, in output order;
(c) tells the model what came back: `transcript` turns the kind's items (in this response or earlier in
    the conversation) into a call and the text the model gets back; `annotations` may add annotations
    (file citations) to the final answer's text.

Approvals (the kind only says whether a call needs one and makes the request item; the client's answers
come back as calls to run, `approved`), `max_tool_calls`, `parallel_tool_calls`, `tool_choice`,
concurrency (every call of a turn runs at once) and ordering (items in call order) stay in the loop.

How a new kind plugs in:
1. Write `tools/<kind>/` with a class implementing `ToolKind` (`tool_type` is the `Tool` oneof case it
   serves, e.g. "file_search") and a `ToolSet` per response; import its third-party SDK there only.
2. Register an instance in the `ToolKinds` registry (`tools/registry.py`) that `app.py` builds and injects
   as `Deps.tools`, wrapped in `observe.tools.ObservedKind`: every call is then measured
   (`gen_ai_execute_tool_duration_seconds`, `rejoinder_tool_calls_total`) and traced (`execute_tool {name}`)
   from its `CallRun.operation`, without metrics code of its own. No global state: tests build their own
   registry. The kind validates its own tool definitions (`check`, `check_choice`) when the request is
   validated; a request naming a kind nobody registered is refused there with 400
   `unsupported_parameter`.
3. Items of a new kind need their cases in `OutputItem` and `InputItem` (same case name, same message):
   the loop feeds output back as input by case name. What the model must read on a later turn must be
   recoverable by `transcript` from the items (or from the toolset, within one response): e.g. search
   results left out of an item because `include` did not ask for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Protocol

from google.protobuf.message import Message

from rejoinder.core.ids import IdGenerator
from rejoinder.providers import base as p
from rejoinder.responses.v1.content_pb2 import Annotation
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import InputItem, OutputItem
from rejoinder.responses.v1.tools_pb2 import Tool, ToolChoice

Events = AsyncIterator[ResponseStreamEvent]


@dataclass(frozen=True)
class ToolScope:
    """What a kind may use for one response: `stack` owns what it opens (closed when the response ends),
    `ids` makes item ids, `include` is the request's `include` (e.g. "file_search_call.results"), and
    `tenant` is whose request it is (what it may read)."""

    stack: AsyncExitStack
    ids: IdGenerator
    include: frozenset[str] = frozenset()
    tenant: str = ""


class ItemWriter(Protocol):
    """How a kind puts its items and events into the response (the loop's `OutputBuilder`)."""

    def open_item(self, item: OutputItem) -> tuple[int, list[ResponseStreamEvent]]:
        """Start `item` (its `output_item.added` event); returns its output index and the events."""
        ...

    def emit(self, case: str, event: Message) -> ResponseStreamEvent:
        """One event (`case`: its `ResponseStreamEvent` oneof case), numbered in the response's stream."""
        ...

    def done_item(self, index: int, item: OutputItem) -> ResponseStreamEvent:
        """Finish the item started at `index` as `item` (its `output_item.done` event)."""
        ...


@dataclass
class ToolCall:
    """A call of a served tool: made by the model in a turn (`name` as the model knows it, the arguments'
    text gathered from its fragments), or approved by the client (`approval_request_id`)."""

    name: str
    pieces: list[str] = field(default_factory=list)
    approval_request_id: str | None = None

    @property
    def arguments(self) -> str:
        """The arguments' JSON text, as the model wrote it."""
        return "".join(self.pieces)


@dataclass(frozen=True)
class ToolOperation:
    """How one call is observed: the span `execute_tool {name}` with `gen_ai.tool.name`/`.type` and
    `attributes`; the metrics' `tool` label (e.g. "mcp_call") and `source` label (an MCP server label,
    or "")."""

    name: str
    tool_type: str
    tool: str
    source: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)


class CallRun(Protocol):
    """One call, started. The loop runs `run` concurrently with the turn's other calls and reads `events`
    in output order; leaving the response cancels `run`."""

    @property
    def operation(self) -> ToolOperation:
        """What to call this work in metrics and traces."""
        ...

    async def run(self) -> str:
        """Do the call, within the kind's own time limits. Returns its outcome: "ok", "tool_error" (the
        tool reported a failure) or the failure's kind ("timeout", "connect", ...). A failed call is an
        outcome, not an exception; only cancellation propagates."""
        ...

    def events(self, out: ItemWriter, finished: Awaitable[str]) -> Events:
        """The call's output item and events, written through `out`; awaits `finished` (the outcome of
        `run`) before the events that need the result."""
        ...


@dataclass(frozen=True)
class ServedCall:
    """A served call as the model sees it on a later turn: its call, and the text it got back."""

    call_id: str
    name: str
    arguments: str
    output: str


Transcript = Callable[[InputItem], ServedCall | None]
"""A kind's reading of conversation items: the served call an item stands for, or None (not its item)."""


class ToolSet(Protocol):
    """The tools of one kind in one response (made by `ToolKind.toolset`)."""

    def prepare(self, history: Sequence[InputItem], out: ItemWriter) -> Events:
        """Before the first turn: what the kind must find out and tell first (MCP lists each server's
        tools, or adopts a listing from `history`, emitting `mcp_list_tools` items). May emit nothing."""
        ...

    def offer(self, reserved: frozenset[str]) -> tuple[p.FunctionTool, ...]:
        """Name the tools for the model, avoiding `reserved` (the client's functions and other kinds'
        tools), and return their function schemas. Called once, after `prepare`."""
        ...

    def names(self) -> frozenset[str]:
        """The names of the tools offered (a call of one of them is this toolset's)."""
        ...

    def forced_by(self, choice: ToolChoice) -> frozenset[str] | None:
        """When `tool_choice` is of this kind's type: the offered names of which one must be called.
        None when the choice is not this kind's."""
        ...

    def start(self, call: ToolCall) -> CallRun:
        """Start a call of one of `names()` (the model's, or one the client approved)."""
        ...

    def needs_approval(self, call: ToolCall) -> bool:
        """Whether the call must wait for the client's approval (never for one already approved, with
        `approval_request_id`)."""
        ...

    def approval_request(self, call: ToolCall) -> OutputItem:
        """The item that asks the client to approve the call (made when the loop emits it)."""
        ...

    def approved(self, history: Sequence[InputItem], new: Sequence[InputItem]) -> list[ToolCall]:
        """The calls the client approved in `new` (answers to requests in `history` or `new`), to run
        before the first turn."""
        ...

    def transcript(self, items: Sequence[InputItem]) -> Transcript:
        """`ToolKind.transcript`, with the names this response gives its tools."""
        ...

    def annotations(self, text: str) -> list[Annotation]:
        """Annotations for one finished `output_text` of the answer (e.g. `file_citation`s of what the
        calls found); most kinds add none."""
        ...


class ToolKind(Protocol):
    """A kind of server-side tool, registered once per process (see the module's note)."""

    @property
    def tool_type(self) -> str:
        """The `Tool` oneof case it serves ("mcp", "file_search")."""
        ...

    def toolset(self, tools: Sequence[Tool], scope: ToolScope) -> ToolSet | None:
        """The toolset of a response whose request gives `tools`; None when none of them is this kind's."""
        ...

    def transcript(self, items: Sequence[InputItem]) -> Transcript:
        """How this kind's items among `items` read to the model, tools named as they were listed (for a
        response that does not offer the kind, yet has its items in the conversation)."""
        ...

    def public(self, tool: Tool) -> Tool:
        """`tool` (one of this kind) as echoed in the response and stored: credentials removed."""
        ...

    def check(self, tool: Tool, param: str, earlier: Sequence[Tool]) -> None:
        """Validate `tool` (one of this kind, at `param`, e.g. "tools[2]") given the request's `earlier`
        tools; raises `ApiError` (400 naming the parameter). Runs with the request's validation."""
        ...

    def check_choice(self, choice: ToolChoice, tools: Sequence[Tool]) -> None:
        """Validate a `tool_choice` of this kind's type against the request's `tools` (a choice of
        another type is not this kind's to check); raises `ApiError`."""
        ...

    async def admit(self, tools: Sequence[Tool], tenant: str) -> None:
        """What validation cannot check without the tenant's data, before the first byte: e.g. that the
        vector stores a file_search tool names are the tenant's (404 otherwise). Raises `ApiError`."""
        ...
