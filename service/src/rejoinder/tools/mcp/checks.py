"""What a request's MCP tools must be (400s naming the parameter), checked with the rest of the request."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rejoinder.core.checks.items import missing
from rejoinder.errors import clip, invalid
from rejoinder.responses.v1.tools_pb2 import McpTool, Tool, ToolChoice

LABEL = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _labels(tools: Sequence[Tool]) -> set[str]:
    return {t.mcp.server_label for t in tools if t.WhichOneof("tool") == "mcp"}


def check_mcp(tool: McpTool, param: str, earlier: Sequence[Tool]) -> None:
    """One MCP tool: a unique, well-formed `server_label`, an http(s) `server_url` (no connectors), a
    known `require_approval` mode."""
    if not tool.server_label:
        raise missing(f"{param}.server_label")
    if not LABEL.match(tool.server_label):
        raise invalid(
            f"Invalid '{param}.server_label': use letters, digits, '_' and '-' (at most 64).",
            param=f"{param}.server_label",
            code="invalid_value",
        )
    if tool.server_label in _labels(earlier):
        raise invalid(
            f"Duplicate MCP server_label: '{clip(tool.server_label)}'.",
            param=f"{param}.server_label",
            code="invalid_value",
        )
    if tool.HasField("connector_id"):
        raise invalid(
            "MCP connectors are not supported by this server; give a server_url.",
            param=f"{param}.connector_id",
            code="unsupported_parameter",
        )
    if not tool.HasField("server_url") or not tool.server_url.startswith(("http://", "https://")):
        raise invalid(
            "An MCP tool needs an http(s) server_url.", param=f"{param}.server_url", code="invalid_value"
        )
    approval = tool.require_approval
    if approval.WhichOneof("require_approval") == "mode" and approval.mode not in ("always", "never"):
        raise invalid(
            f"Invalid value: '{clip(approval.mode)}'. Supported values are: 'always' and 'never'.",
            param=f"{param}.require_approval",
            code="invalid_value",
        )


def check_mcp_choice(choice: ToolChoice, tools: Sequence[Tool]) -> None:
    """A `tool_choice` of type `mcp` names the `server_label` of one of the request's MCP tools."""
    if choice.WhichOneof("tool_choice") == "mcp" and choice.mcp.server_label not in _labels(tools):
        raise invalid(
            f"Tool choice MCP server '{clip(choice.mcp.server_label)}' not found in 'tools' parameter.",
            param="tool_choice.server_label",
            code="invalid_value",
        )
