"""What `tool_choice`, `parallel_tool_calls` and `max_tool_calls` mean for one response, enforced
on what the upstream sends back rather than merely forwarded to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from rejoinder.providers import base as p
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest


class McpNames(Protocol):
    """The MCP tools offered to the model, by the names it knows them by."""

    def names(self) -> frozenset[str]:
        """Every MCP tool's name."""
        ...

    def names_of_server(self, label: str, tool: str | None = None) -> frozenset[str]:
        """The names of one server's tools (or of one of them)."""
        ...


@dataclass(frozen=True)
class ToolPolicy:
    """The tools offered upstream, the choice sent with them, and what the reply must contain.

    `forced` is None when the model may answer without a tool; otherwise the names of which at
    least one must be called (any offered tool for "required"). With `report_unknown` (the agentic
    loop), a call of a tool that was not offered is let through so the loop can tell the model.
    """

    offered: frozenset[str]
    choice: p.ToolChoice | None
    forced: frozenset[str] | None
    allow_calls: bool
    parallel: bool
    max_calls: int | None
    report_unknown: bool = False

    def retry_choice(self) -> tuple[frozenset[str], p.ToolChoice]:
        """The strongest forcing an upstream has: only the forced tools, named when there is one."""
        assert self.forced is not None
        if len(self.forced) == 1:
            (name,) = self.forced
            return self.forced, p.NamedToolChoice(name)
        return self.forced, "required"


def _allowed_names(req: CreateRequest) -> frozenset[str]:
    names = set()
    for tool in req.tool_choice.allowed_tools.tools:
        name = tool.fields.get("name")
        if name is not None:
            names.add(name.string_value)
    return frozenset(names)


def tool_policy(req: CreateRequest, mcp: McpNames | None = None) -> ToolPolicy:
    """The policy of a validated request; `mcp` names the MCP tools offered beside the functions."""
    functions = frozenset(t.function.name for t in req.tools if t.WhichOneof("tool") == "function")
    served = mcp.names() if mcp is not None else frozenset()
    names = functions | served
    parallel = req.parallel_tool_calls if req.HasField("parallel_tool_calls") else True
    max_calls = req.max_tool_calls if req.HasField("max_tool_calls") else None

    def make(
        offered: frozenset[str],
        choice: p.ToolChoice | None,
        forced: frozenset[str] | None,
        allow: bool = True,
    ) -> ToolPolicy:
        return ToolPolicy(
            offered, choice, forced, allow and bool(offered), parallel, max_calls, mcp is not None
        )

    choice = req.tool_choice
    kind = choice.WhichOneof("tool_choice")
    if not names:
        return make(names, None, None)
    if kind == "function":
        return make(names, p.NamedToolChoice(choice.function.name), frozenset({choice.function.name}))
    if kind == "mcp" and mcp is not None:
        label = choice.mcp.server_label
        forced = mcp.names_of_server(label, choice.mcp.name if choice.mcp.HasField("name") else None)
        only = next(iter(forced)) if len(forced) == 1 else None
        return make(names, p.NamedToolChoice(only) if only else "required", forced)
    if kind == "allowed_tools":
        allowed = (_allowed_names(req) & functions) | served
        if choice.allowed_tools.mode == "required":
            return make(allowed, "required", allowed)
        return make(allowed, "auto", None)
    if choice.mode == "none":
        return make(names, "none", None, allow=False)
    if choice.mode == "required":
        return make(names, "required", names)
    return make(names, "auto", None)


@dataclass
class CallFilter:
    """Admits tool-call fragments the policy allows; everything of a refused call is dropped.

    `used` counts the calls already in this response (across upstream calls).
    """

    policy: ToolPolicy
    offered: frozenset[str]
    used: int = 0
    _decided: dict[int, bool] = field(default_factory=dict)
    matched: bool = False

    def admit(self, delta: p.ToolCallDelta) -> bool:
        """Whether this fragment belongs to an admitted call."""
        decided = self._decided.get(delta.index)
        if decided is not None:
            return decided
        ok = self._admissible(delta.name or "")
        self._decided[delta.index] = ok
        if ok:
            self.used += 1
            forced = self.policy.forced
            self.matched = self.matched or forced is None or (delta.name or "") in forced
        return ok

    def _admissible(self, name: str) -> bool:
        policy = self.policy
        if not policy.allow_calls or (name not in self.offered and not policy.report_unknown):
            return False
        if policy.forced is not None and name not in policy.forced:
            return False
        if not policy.parallel and any(self._decided.values()):
            return False
        return policy.max_calls is None or self.used < policy.max_calls
