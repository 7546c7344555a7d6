"""The API reference as one Markdown file: services and their RPCs (with REST routes), then each file's
messages, enums and extensions, every type linked to its anchor. The output depends only on the
descriptors: files sorted by name, elements in declaration order."""

from __future__ import annotations

import re

from tools.protodoc.schema import Api, Enum, Field, File, Message, Method, Node, Service, TypeRef

TITLE = "Rejoinder API reference"
COMMAND = "python -m tools.protodoc --out docs/api.md"

INTRO = """\
<!-- Generated from the comments of proto/rejoinder by `{command}`. Do not edit:
change the comments and regenerate. -->

The gRPC API of Rejoinder, rendered from the comments of its proto files. `ResponsesService`,
`ConversationsService` and `ModelsService` are the typed API. `OpenAIHttpService` is the OpenAI REST
surface: Envoy transcodes each route listed beside its RPCs, and the body is OpenAI's JSON as is.

## How to read this

**Where each message and RPC comes from.** Its comment starts with the OpenAI thing it stands for:

- `OpenAI: Type`: the type of that name in the openai-python SDK (`openai.types.responses`,
  `openai.types.conversations`, `openai.types`). `Type.member` names a member of that type: a nested
  type (`Response.IncompleteDetails`) or a field (`ResponseCreateParams.input`).
- `OpenAI: METHOD /path`: the OpenAI REST route it stands for, where the SDK has no type to name.
- `Not in OpenAI: ...`: there is no OpenAI counterpart, for example a gRPC envelope around an OpenAI
  object, the list wrapper that a `oneof` needs, or something this service adds. The rest of the
  comment says what it is.

**Fields** carry OpenAI's JSON keys as their names, letter for letter. A field is the key of the same
name in its message's OpenAI type, with the same meaning, unless its comment says otherwise. A comment
that starts with `Not in OpenAI:` marks a field that OpenAI's type does not have.

**Unions.** A `oneof` stands for an OpenAI union. When the members are objects told apart by `type`,
each case is one member and the case name is its `type` value; `(openai_type)` gives the value where
it is not a valid field name (`response.output_text.delta`). A union of a string and an array is a
`oneof` of the string shorthand and a list wrapper message, because a `oneof` cannot hold a `repeated`
field. `(openai_default_type)` names the case that a JSON object without `type` decodes to, and
`(openai_untyped)` marks a case written without `type`.{extensions}

**Strings, not enums.** A string field whose comment lists values ("auto" or "disabled") holds one of
OpenAI's string enums; the service checks it. Proto enums are kept for values that never reach the
OpenAI wire.

**Columns.** *Label*: `optional` means explicit presence (unset differs from zero), then `repeated`,
or the `oneof` the field belongs to. *Behavior* is `google.api.field_behavior`: `REQUIRED`,
`OPTIONAL`, `OUTPUT_ONLY` (set by the service, ignored in requests) or `INPUT_ONLY` (never stored or
returned). Any other option follows the description as written in the proto.
"""


def render(api: Api) -> str:
    """The whole reference, ending with one newline."""
    used_by = _used_by(api)
    with_extensions = next((f for f in api.files if f.extensions), None)
    extensions = (
        f" [Extensions](#{_extensions_anchor(with_extensions)}) describes them." if with_extensions else ""
    )
    intro = INTRO.format(command=COMMAND, extensions=extensions).rstrip("\n")
    parts: list[str] = [f"# {TITLE}", intro, _contents(api), '<a id="services"></a>\n\n## Services']
    parts.extend(_service(api, s) for s in api.services)
    for f in api.files:
        parts.append(_file(api, f, used_by))
    return "\n\n".join(p for p in parts if p) + "\n"


def anchor(full_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", full_name)


def _file_anchor(f: File) -> str:
    return "file-" + anchor(f.name)


def _extensions_anchor(f: File) -> str:
    return _file_anchor(f) + "-extensions"


def _contents(api: Api) -> str:
    lines = ["## Contents", "", "- [Services](#services)"]
    lines.extend(f"  - [{s.name}](#{anchor(s.full_name)})" for s in api.services)
    for f in api.files:
        lines.append(f"- [`{f.name}`](#{_file_anchor(f)})")
        names = [*(m for m in f.messages), *(e for e in f.enums)]
        if names:
            lines.append("  - " + ", ".join(_link(api, n.full_name) for n in names))
    return "\n".join(lines)


def _service(api: Api, service: Service) -> str:
    http = any(m.http for m in service.methods)
    header = ["RPC", "Request", "Response", *(["REST route"] if http else []), "Description"]
    rows = [_method_row(api, m, http) for m in service.methods]
    return "\n\n".join(
        p
        for p in (
            f'<a id="{anchor(service.full_name)}"></a>\n\n### {service.name}',
            f"Defined in `{service.file}`.",
            _paragraphs(service.comment),
            _options_line(service),
            _table(header, rows),
        )
        if p
    )


def _method_row(api: Api, method: Method, http: bool) -> list[str]:
    request = ("stream " if method.client_streaming else "") + _link(api, method.input_type)
    response = ("stream " if method.server_streaming else "") + _link(api, method.output_type)
    routes = "<br>".join(
        f"`{r.method} {r.path}`" + (f" (body `{r.body}`)" if r.body else "") for r in method.http
    )
    name = f'<a id="{anchor(method.full_name)}"></a>`{method.name}`'
    return [name, request, response, *([routes] if http else []), _cell(method.comment, method)]


def _file(api: Api, f: File, used_by: dict[str, list[str]]) -> str:
    parts = [f'<a id="{_file_anchor(f)}"></a>\n\n## `{f.name}`']
    if f.services:
        parts.append(
            "Services: " + ", ".join(f"[{s.name}](#{anchor(s.full_name)})" for s in f.services) + "."
        )
    parts.extend(_message(api, m, used_by.get(m.full_name, [])) for m in f.messages)
    parts.extend(_enum(api, e, used_by.get(e.full_name, [])) for e in f.enums)
    if f.extensions:
        parts.append(_extensions(api, f))
    return "\n\n".join(parts)


def _message(api: Api, message: Message, used_by: list[str]) -> str:
    rows = [_field_row(api, field) for field in message.fields]
    table = (
        _table(["#", "Field", "Type", "Label", "Behavior", "Description"], rows, right={0})
        if rows
        else "No fields."
    )
    oneofs = "\n".join(
        f"- `oneof {o.name}` ({', '.join(f'`{n}`' for n in o.fields)}): {_inline(o.comment)}"
        + "".join(f" `{opt.name} = {opt.value}`" for opt in o.options)
        for o in message.oneofs
    )
    return "\n\n".join(
        p
        for p in (
            f'<a id="{anchor(message.full_name)}"></a>\n\n### {_short(api, message.full_name)}',
            _paragraphs(message.comment),
            _options_line(message),
            table,
            oneofs,
            ("Used by: " + ", ".join(used_by) + ".") if used_by else "",
        )
        if p
    )


def _field_row(api: Api, field: Field) -> list[str]:
    label = f"oneof `{field.oneof}`" if field.oneof else field.label
    return [
        str(field.number),
        f"`{field.name}`",
        _type(api, field.type),
        label,
        ", ".join(field.behavior),
        _cell(field.comment, field),
    ]


def _enum(api: Api, enum: Enum, used_by: list[str]) -> str:
    rows = [[str(v.number), f"`{v.name}`", _cell(v.comment, v)] for v in enum.values]
    return "\n\n".join(
        p
        for p in (
            f'<a id="{anchor(enum.full_name)}"></a>\n\n### {_short(api, enum.full_name)}',
            _paragraphs(enum.comment),
            _options_line(enum),
            _table(["Number", "Value", "Description"], rows, right={0}),
            ("Used by: " + ", ".join(used_by) + ".") if used_by else "",
        )
        if p
    )


def _extensions(api: Api, f: File) -> str:
    rows = [
        [
            f'<a id="{anchor(x.full_name)}"></a>`({x.name})`',
            f"`{x.extendee}`",
            str(x.number),
            (f"{x.label} " if x.label else "") + _type(api, x.type),
            _cell(x.comment, x),
        ]
        for x in f.extensions
    ]
    return "\n\n".join(
        (
            f'<a id="{_extensions_anchor(f)}"></a>\n\n### Extensions',
            _table(["Option", "Extends", "Number", "Type", "Description"], rows, right={2}),
        )
    )


def _used_by(api: Api) -> dict[str, list[str]]:
    """For each of our types: links to the messages whose fields hold it, the RPCs that take or return it."""
    found: dict[str, list[str]] = {}

    def add(type_name: str, link: str) -> None:
        if api.defines(type_name) and link not in found.setdefault(type_name, []):
            found[type_name].append(link)

    for message in api.messages:
        for field in message.fields:
            for ref in (field.type, field.type.value):
                if ref is not None and ref.kind in ("message", "enum"):
                    add(ref.name, _link(api, message.full_name))
    for service in api.services:
        for method in service.methods:
            link = f"[{service.name}.{method.name}](#{anchor(method.full_name)})"
            add(method.input_type, link)
            add(method.output_type, link)
    return found


def _short(api: Api, full_name: str) -> str:
    for f in api.files:
        if f.package and full_name.startswith(f.package + "."):
            return full_name[len(f.package) + 1 :]
    return full_name


def _link(api: Api, full_name: str) -> str:
    if api.defines(full_name):
        return f"[{_short(api, full_name)}](#{anchor(full_name)})"
    return f"`{full_name}`"


def _type(api: Api, ref: TypeRef) -> str:
    if ref.kind == "map" and ref.key is not None and ref.value is not None:
        return f"map&lt;{_type(api, ref.key)}, {_type(api, ref.value)}&gt;"
    if ref.kind == "scalar":
        return f"`{ref.name}`"
    return _link(api, ref.name)


def _paragraphs(comment: str) -> str:
    """A comment as Markdown paragraphs: its lines joined, its blank lines kept as paragraph breaks."""
    paragraphs = re.split(r"\n\s*\n", comment.strip())
    return "\n\n".join(" ".join(line.strip() for line in p.split("\n")) for p in paragraphs if p.strip())


def _inline(comment: str) -> str:
    """A comment on one line, for a table cell or a list item."""
    return _paragraphs(comment).replace("\n\n", "<br><br>")


def _options_line(node: Node) -> str:
    if not node.options:
        return ""
    return "Options: " + ", ".join(f"`{o.name} = {o.value}`" for o in node.options) + "."


def _cell(comment: str, node: Node) -> str:
    text = _inline(comment)
    options = " ".join(f"`{o.name} = {o.value}`" for o in node.options)
    return " ".join(p for p in (text, options) if p)


def _table(header: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    aligned = right or set()
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if i in aligned else "---" for i in range(len(header))) + "|",
    ]
    lines.extend("| " + " | ".join(_escape(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")
