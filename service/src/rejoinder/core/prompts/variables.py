"""The values of a request's `prompt.variables`: a string, or an input content part (OpenAI's
ResponsePrompt: `input_text`, `input_image`, `input_file`). Parsed once from the Struct, checked as
message content parts are, every 400 naming `prompt.variables.<name>`."""

from __future__ import annotations

import re
from collections.abc import Mapping

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct, Value

from rejoinder.core.checks.items import IMAGE_DETAIL
from rejoinder.errors import clip, invalid
from rejoinder.responses.v1.content_pb2 import Content, InputText

NAME = re.compile(r"\w+", re.ASCII)
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}", re.ASCII)
PART_TYPES = ("input_text", "input_image", "input_file")

VariableValue = str | Content
"""What a variable is given: text substituted into the template, or a part placed where it stands."""


def _param(name: str) -> str:
    return f"prompt.variables.{name}"


def _wrong_type(name: str) -> Exception:
    listed = ", ".join(f"'{t}'" for t in PART_TYPES)
    return invalid(
        f"Invalid type for '{_param(clip(name))}': expected a string or an object whose 'type' is one "
        f"of {listed}.",
        param=_param(name),
        code="invalid_type",
    )


def _missing(name: str, key: str) -> Exception:
    return invalid(
        f"Missing required parameter: '{_param(clip(name))}.{key}'.",
        param=f"{_param(name)}.{key}",
        code="missing_required_parameter",
    )


def _typed(kind: str, fields: dict[str, object]) -> Content:
    """The part of that type with those fields (ParseError for unknown or mistyped ones)."""
    part = Content()
    if kind == "input_text":
        part.input_text.SetInParent()  # the case is set even with no fields, and checked as such
        json_format.ParseDict(fields, part.input_text)
    elif kind == "input_image":
        part.input_image.SetInParent()
        json_format.ParseDict(fields, part.input_image)
    else:
        part.input_file.SetInParent()
        json_format.ParseDict(fields, part.input_file)
    return part


def _check(name: str, part: Content) -> None:
    """What the part's type requires, as in a message's content."""
    kind = part.WhichOneof("part")
    if kind == "input_text" and not part.input_text.text:
        raise _missing(name, "text")
    if kind == "input_image":
        image = part.input_image
        if not image.HasField("image_url") and not image.HasField("file_id"):
            raise _missing(name, "image_url")
        if not image.detail:
            image.detail = "auto"
        if image.detail not in IMAGE_DETAIL:
            raise invalid(
                f"Invalid value: '{clip(image.detail)}'.",
                param=f"{_param(name)}.detail",
                code="invalid_value",
            )
    if kind == "input_file":
        f = part.input_file
        if not (f.HasField("file_data") or f.HasField("file_url") or f.HasField("file_id")):
            raise _missing(name, "file_data")


def _part(name: str, value: Value) -> Content:
    """An object value as a content part."""
    fields = json_format.MessageToDict(value.struct_value)
    kind = fields.pop("type", None)
    if not isinstance(kind, str) or kind not in PART_TYPES:
        raise _wrong_type(name)
    try:
        part = _typed(kind, fields)
    except json_format.ParseError as exc:
        raise invalid(
            f"Invalid value for '{_param(clip(name))}': {clip(str(exc))}",
            param=_param(name),
            code="invalid_value",
        ) from exc
    _check(name, part)
    return part


def parse_variables(variables: Struct) -> dict[str, VariableValue]:
    """Each variable's value by name. Raises 400 for a value of another kind or a malformed part."""
    parsed: dict[str, VariableValue] = {}
    for name, value in variables.fields.items():
        kind = value.WhichOneof("kind")
        if kind == "string_value":
            parsed[name] = value.string_value
        elif kind == "struct_value":
            parsed[name] = _part(name, value)
        else:
            raise _wrong_type(name)
    return parsed


def placeholders(text: str) -> list[str]:
    """The names of the `{{name}}` placeholders of a template text, in order (repeats included)."""
    return PLACEHOLDER.findall(text)


def substitute(text: str, values: Mapping[str, VariableValue]) -> list[Content]:
    """The template's text as content parts: every placeholder replaced by its value, a string (or an
    `input_text` part's text) inline, an image or file part where the placeholder stands. Values are
    not searched for placeholders again."""
    parts: list[Content] = []
    pending: list[str] = []
    at = 0
    for match in PLACEHOLDER.finditer(text):
        pending.append(text[at : match.start()])
        at = match.end()
        value = values[match.group(1)]
        if isinstance(value, str):
            pending.append(value)
        elif value.WhichOneof("part") == "input_text":
            pending.append(value.input_text.text)
        else:
            _flush(pending, parts)
            parts.append(value)
    pending.append(text[at:])
    _flush(pending, parts)
    return parts


def _flush(pending: list[str], parts: list[Content]) -> None:
    joined = "".join(pending)
    pending.clear()
    if joined:
        parts.append(Content(input_text=InputText(text=joined)))
