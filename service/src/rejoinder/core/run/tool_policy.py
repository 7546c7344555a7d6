"""What `tool_choice`, `parallel_tool_calls` and `max_tool_calls` mean for one response, enforced
on what the upstream sends back rather than merely forwarded to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from rejoinder.providers import base as p
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.responses.v1.tools_pb2 import ToolChoice


class ServedNames(Protocol):
    """The server-side tools offered to the model, by the names it knows them by."""

    def names(self) -> frozenset[str]:
        """Every served tool's name."""
        ...

    def forced_by(self, choice: ToolChoice) -> frozenset[str] | None:
        """The served tools a `tool_choice` of a served kind forces (None: the choice is not one)."""
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


def tool_policy(req: CreateRequest, served: ServedNames | None = None) -> ToolPolicy:
    """The policy of a validated request; `served` names the server-side tools offered beside the
    functions."""
    functions = frozenset(t.function.name for t in req.tools if t.WhichOneof("tool") == "function")
    served_names = served.names() if served is not None else frozenset()
    names = functions | served_names
    parallel = req.parallel_tool_calls if req.HasField("parallel_tool_calls") else True
    max_calls = req.max_tool_calls if req.HasField("max_tool_calls") else None

    def make(
        offered: frozenset[str],
        choice: p.ToolChoice | None,
        forced: frozenset[str] | None,
        allow: bool = True,
    ) -> ToolPolicy:
        return ToolPolicy(
            offered, choice, forced, allow and bool(offered), parallel, max_calls, served is not None
        )

    choice = req.tool_choice
    kind = choice.WhichOneof("tool_choice")
    if not names:
        return make(names, None, None)
    if kind == "function":
        return make(names, p.NamedToolChoice(choice.function.name), frozenset({choice.function.name}))
    forced = served.forced_by(choice) if served is not None else None
    if forced is not None:
        only = next(iter(forced)) if len(forced) == 1 else None
        return make(names, p.NamedToolChoice(only) if only else "required", forced)
    if kind == "allowed_tools":
        allowed = (_allowed_names(req) & functions) | served_names
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
