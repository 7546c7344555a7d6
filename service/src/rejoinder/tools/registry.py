"""`ToolKinds`: the server-side tool kinds a server runs, by the `Tool` case each serves.

Built in `app.py` and injected as `Deps.tools`; an empty registry serves none (client functions only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rejoinder.errors import invalid
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.tools_pb2 import Tool, ToolChoice
from rejoinder.tools.base import ToolKind, ToolScope, ToolSet, Transcript

CLIENT_SIDE = frozenset({"function"})
"""`Tool` cases the client runs itself: never a kind's."""


class ToolKinds:
    """The registered kinds, in registration order (the order their items and tools take)."""

    def __init__(self, kinds: Sequence[ToolKind] = ()) -> None:
        self._kinds = {kind.tool_type: kind for kind in kinds}

    def check_tool(self, tool: Tool, param: str, earlier: Sequence[Tool]) -> None:
        """Validate a server-side `tool` at `param` (its kind's checks); a type no kind serves is a 400
        `unsupported_parameter`."""
        case = tool.WhichOneof("tool") or ""
        kind = self._kinds.get(case)
        if kind is None:
            raise invalid(
                f"Tools of type '{case}' are not supported by this server yet.",
                param=f"{param}.type",
                code="unsupported_parameter",
            )
        kind.check(tool, param, earlier)

    def check_choice(self, choice: ToolChoice, tools: Sequence[Tool]) -> None:
        """Validate `tool_choice` with every kind's checks (each checks the choices of its type)."""
        for kind in self._kinds.values():
            kind.check_choice(choice, tools)

    async def admit(self, tools: Sequence[Tool], tenant: str) -> None:
        """Every kind's checks of the request's `tools` against the tenant's data (`ToolKind.admit`)."""
        for kind in self._kinds.values():
            await kind.admit(tools, tenant)

    def used_by(self, tools: Sequence[Tool]) -> bool:
        """Whether `tools` holds a tool of a registered kind (then the loop runs server-side calls)."""
        return any(tool.WhichOneof("tool") in self._kinds for tool in tools)

    def toolsets(self, tools: Sequence[Tool], scope: ToolScope) -> dict[str, ToolSet]:
        """The toolsets of one response by tool type, one per kind that `tools` uses."""
        sets = {case: kind.toolset(tools, scope) for case, kind in self._kinds.items()}
        return {case: s for case, s in sets.items() if s is not None}

    def transcripts(
        self, items: Sequence[InputItem], active: Mapping[str, ToolSet] | None = None
    ) -> tuple[Transcript, ...]:
        """How every kind's items among `items` read to the model: through the response's toolset of
        the kind when `active` has one (its names), else as the kind reads them."""
        active = active or {}
        return tuple(
            active[case].transcript(items) if case in active else kind.transcript(items)
            for case, kind in self._kinds.items()
        )

    def public(self, tool: Tool) -> Tool:
        """`tool` as echoed and stored: a kind's tool without its credentials; others as they are."""
        kind = self._kinds.get(tool.WhichOneof("tool") or "")
        return kind.public(tool) if kind is not None else tool
