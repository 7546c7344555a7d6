"""Validation of `tools` and `tool_choice`."""

from __future__ import annotations

import re

from rejoinder.core.checks.items import missing
from rejoinder.core.checks.json_text import check_json_object
from rejoinder.errors import clip, invalid
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.responses.v1.tools_pb2 import FunctionTool
from rejoinder.tools.registry import ToolKinds

TOOL_CHOICE_MODES = ("none", "auto", "required")
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _check_allowed_tools(req: CreateRequest, function_names: set[str]) -> None:
    allowed = req.tool_choice.allowed_tools
    if allowed.mode not in ("auto", "required"):
        raise invalid(
            f"Invalid value: '{clip(allowed.mode)}'. Supported values are: 'auto' and 'required'.",
            param="tool_choice.mode",
            code="invalid_value",
        )
    for i, tool in enumerate(allowed.tools):
        param = f"tool_choice.tools[{i}]"
        kind = tool.fields["type"].string_value if "type" in tool.fields else ""
        name = tool.fields["name"].string_value if "name" in tool.fields else ""
        if kind != "function":
            raise invalid(
                f"Only function tools can be allowed by this server yet, not '{kind}'.",
                param=f"{param}.type",
                code="unsupported_parameter",
            )
        if name not in function_names:
            raise invalid(
                f"Tool '{clip(name)}' in 'tool_choice.tools' not found in 'tools' parameter.",
                param=f"{param}.name",
                code="invalid_value",
            )


def _check_tool_choice(req: CreateRequest, function_names: set[str]) -> None:
    choice = req.tool_choice
    kind = choice.WhichOneof("tool_choice")
    if kind == "mode" and choice.mode not in TOOL_CHOICE_MODES:
        raise invalid(
            f"Invalid value: '{clip(choice.mode)}'. Supported values are: 'none', 'auto', and 'required'.",
            param="tool_choice",
            code="invalid_value",
        )
    if kind == "function" and choice.function.name not in function_names:
        raise invalid(
            f"Tool choice '{clip(choice.function.name)}' not found in 'tools' parameter.",
            param="tool_choice",
            code="invalid_value",
        )
    if kind == "allowed_tools":
        _check_allowed_tools(req, function_names)
    if kind == "custom":
        raise invalid(
            "tool_choice of type 'custom' is not supported by this server yet.",
            param="tool_choice",
            code="unsupported_parameter",
        )


def _check_function(tool: FunctionTool, param: str, names: set[str]) -> None:
    name = tool.name
    if not name:
        raise missing(f"{param}.name")
    if not FUNCTION_NAME.match(name):
        raise invalid(
            f"Invalid '{param}.name': string does not match pattern. Expected a string that matches "
            f"the pattern '{FUNCTION_NAME.pattern}'.",
            param=f"{param}.name",
            code="invalid_value",
        )
    if name in names:
        raise invalid(f"Duplicate tool name: '{clip(name)}'.", param=f"{param}.name", code="invalid_value")
    if tool.HasField("parameters"):
        check_json_object(tool.parameters, f"{param}.parameters")
    names.add(name)


def check_tools(req: CreateRequest, served: ToolKinds) -> None:
    """Tools are well formed, supported (functions, and the kinds `served` runs, which check their
    own), uniquely named, and `tool_choice` names one of them."""
    names: set[str] = set()
    for i, tool in enumerate(req.tools):
        kind = tool.WhichOneof("tool")
        param = f"tools[{i}]"
        if kind is None:
            raise missing(f"{param}.type")
        if kind == "function":
            _check_function(tool.function, param, names)
        else:
            served.check_tool(tool, param, req.tools[:i])
    _check_tool_choice(req, names)
    served.check_choice(req.tool_choice, req.tools)
