"""The proto API as plain data: every service, RPC, message, field, oneof, enum, value and extension of our
files, with its leading comment and options, read from a descriptor set that carries source info.

`buf build` makes that set (an image: the module's files and their imports, source info included unless
--exclude-source-info). Options are decoded with message classes made from the set itself, so the custom
options (`openai_type`, ...) and google.api's (`field_behavior`, `http`) need no generated Python module.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from shutil import which

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message as ProtoMessage

# Field numbers in descriptor.proto, the steps of a SourceCodeInfo.Location path.
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE, _FILE_EXTENSION = 4, 5, 6, 7
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM, _MESSAGE_EXTENSION, _MESSAGE_ONEOF = 2, 3, 4, 6, 8
_ENUM_VALUE = 2
_SERVICE_METHOD = 2

FIELD_BEHAVIOR = "google.api.field_behavior"
HTTP_RULE = "google.api.http"
_HTTP_VERBS = ("get", "put", "post", "delete", "patch")

_SCALARS: dict[int, str] = {
    descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE: "double",
    descriptor_pb2.FieldDescriptorProto.TYPE_FLOAT: "float",
    descriptor_pb2.FieldDescriptorProto.TYPE_INT64: "int64",
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT64: "uint64",
    descriptor_pb2.FieldDescriptorProto.TYPE_INT32: "int32",
    descriptor_pb2.FieldDescriptorProto.TYPE_FIXED64: "fixed64",
    descriptor_pb2.FieldDescriptorProto.TYPE_FIXED32: "fixed32",
    descriptor_pb2.FieldDescriptorProto.TYPE_BOOL: "bool",
    descriptor_pb2.FieldDescriptorProto.TYPE_STRING: "string",
    descriptor_pb2.FieldDescriptorProto.TYPE_BYTES: "bytes",
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT32: "uint32",
    descriptor_pb2.FieldDescriptorProto.TYPE_SFIXED32: "sfixed32",
    descriptor_pb2.FieldDescriptorProto.TYPE_SFIXED64: "sfixed64",
    descriptor_pb2.FieldDescriptorProto.TYPE_SINT32: "sint32",
    descriptor_pb2.FieldDescriptorProto.TYPE_SINT64: "sint64",
}


@dataclass(frozen=True)
class Option:
    """One option set on an element, as written in the proto: `(openai_type)` = `"response.created"`."""

    name: str
    value: str


@dataclass(frozen=True)
class Node:
    """What every documented element has: where it is, its name and its leading comment ("" when none)."""

    kind: str
    name: str
    full_name: str
    file: str
    line: int
    comment: str
    options: tuple[Option, ...]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class TypeRef:
    """A field's type: a scalar (`name` is its keyword), a message or an enum (`name`: full name), a map."""

    kind: str  # "scalar" | "message" | "enum" | "map"
    name: str
    key: TypeRef | None = None
    value: TypeRef | None = None


@dataclass(frozen=True)
class Field(Node):
    number: int
    type: TypeRef
    label: str  # "" | "optional" | "repeated" | "required" (maps are "" with a map type)
    oneof: str | None
    behavior: tuple[str, ...]


@dataclass(frozen=True)
class Oneof(Node):
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Message(Node):
    fields: tuple[Field, ...]
    oneofs: tuple[Oneof, ...]


@dataclass(frozen=True)
class EnumValue(Node):
    number: int


@dataclass(frozen=True)
class Enum(Node):
    values: tuple[EnumValue, ...]


@dataclass(frozen=True)
class HttpRoute:
    """A `google.api.http` binding: `POST /v1/responses`, body `*`."""

    method: str
    path: str
    body: str


@dataclass(frozen=True)
class Method(Node):
    input_type: str
    output_type: str
    client_streaming: bool
    server_streaming: bool
    http: tuple[HttpRoute, ...]


@dataclass(frozen=True)
class Service(Node):
    methods: tuple[Method, ...]


@dataclass(frozen=True)
class Extension(Node):
    number: int
    extendee: str
    type: TypeRef
    label: str


@dataclass(frozen=True)
class File:
    name: str
    package: str
    services: tuple[Service, ...]
    messages: tuple[Message, ...]
    enums: tuple[Enum, ...]
    extensions: tuple[Extension, ...]


@dataclass(frozen=True)
class Api:
    """Our files (sorted by name) and the full names of every type they define."""

    files: tuple[File, ...]

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(s for f in self.files for s in f.services)

    @property
    def messages(self) -> tuple[Message, ...]:
        return tuple(m for f in self.files for m in f.messages)

    @property
    def enums(self) -> tuple[Enum, ...]:
        return tuple(e for f in self.files for e in f.enums)

    @property
    def extensions(self) -> tuple[Extension, ...]:
        return tuple(x for f in self.files for x in f.extensions)

    def defines(self, full_name: str) -> bool:
        return any(m.full_name == full_name for m in self.messages) or any(
            e.full_name == full_name for e in self.enums
        )

    def nodes(self) -> Iterator[Node]:
        """Every documented element, in file and declaration order."""
        for f in self.files:
            for s in f.services:
                yield s
                yield from s.methods
            for m in f.messages:
                yield m
                yield from m.oneofs
                yield from m.fields
            for e in f.enums:
                yield e
                yield from e.values
            yield from f.extensions


def default_buf() -> str:
    """The venv's buf (the `buf-bin` wheel puts it beside the interpreter), else the one on PATH."""
    beside = Path(sys.executable).with_name("buf")
    if beside.exists():
        return str(beside)
    found = which("buf")
    if found is None:
        raise FileNotFoundError("buf not found beside the interpreter or on PATH (pip install buf-bin)")
    return found


def build_image(root: Path, buf: str | None = None) -> bytes:
    """`buf build` of the module at `root`, with source info: a FileDescriptorSet on the wire."""
    done = subprocess.run(
        [buf or default_buf(), "build", "-o", "-#format=binpb"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"buf build failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def clean_comment(text: str) -> str:
    """A comment as written, without the space after each `//` and without surrounding blank lines."""
    lines = [line[1:] if line.startswith(" ") else line for line in text.split("\n")]
    return "\n".join(line.rstrip() for line in lines).strip("\n")


class _Reader:
    """Reads one FileDescriptorSet: source locations, types and options."""

    def __init__(self, fds: descriptor_pb2.FileDescriptorSet) -> None:
        self._pool = descriptor_pool.DescriptorPool()
        for proto in _dependency_order(fds.file):
            self._pool.Add(proto)
        self._messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        for proto in fds.file:
            prefix = f"{proto.package}." if proto.package else ""
            self._index(prefix, proto.message_type)
        self._options_classes: dict[str, type[ProtoMessage]] = {}
        # The file being read (read_file sets them).
        self._file = ""
        self._own_package = ""
        self._locations: dict[tuple[int, ...], tuple[str, int]] = {}

    def _index(self, prefix: str, messages: Iterable[descriptor_pb2.DescriptorProto]) -> None:
        for message in messages:
            self._messages[prefix + message.name] = message
            self._index(f"{prefix}{message.name}.", message.nested_type)

    def read_file(self, proto: descriptor_pb2.FileDescriptorProto) -> File:
        self._own_package = proto.package
        self._locations = {
            tuple(loc.path): (clean_comment(loc.leading_comments), loc.span[0] + 1 if loc.span else 0)
            for loc in proto.source_code_info.location
        }
        self._file = proto.name
        prefix = f"{proto.package}." if proto.package else ""
        messages: list[Message] = []
        enums: list[Enum] = []
        extensions: list[Extension] = []
        for i, message in enumerate(proto.message_type):
            self._message(prefix, message, (_FILE_MESSAGE, i), messages, enums, extensions)
        for i, enum in enumerate(proto.enum_type):
            enums.append(self._enum(prefix, enum, (_FILE_ENUM, i)))
        for i, ext in enumerate(proto.extension):
            extensions.append(self._extension(prefix, ext, (_FILE_EXTENSION, i)))
        services = tuple(
            self._service(prefix, service, (_FILE_SERVICE, i)) for i, service in enumerate(proto.service)
        )
        return File(proto.name, proto.package, services, tuple(messages), tuple(enums), tuple(extensions))

    def _node(
        self, kind: str, name: str, full_name: str, path: tuple[int, ...], options: ProtoMessage
    ) -> Node:
        comment, line = self._locations.get(path, ("", 0))
        return Node(kind, name, full_name, self._file, line, comment, self._options(options))

    def _message(
        self,
        prefix: str,
        proto: descriptor_pb2.DescriptorProto,
        path: tuple[int, ...],
        messages: list[Message],
        enums: list[Enum],
        extensions: list[Extension],
    ) -> None:
        if proto.options.map_entry:
            return
        full_name = prefix + proto.name
        base = self._node("message", proto.name, full_name, path, proto.options)
        real_oneofs = _real_oneofs(proto)
        fields = tuple(
            self._field(full_name, proto, field, (*path, _MESSAGE_FIELD, i), real_oneofs)
            for i, field in enumerate(proto.field)
        )
        oneofs = tuple(
            Oneof(
                **vars(
                    self._node(
                        "oneof",
                        proto.oneof_decl[i].name,
                        f"{full_name}.{proto.oneof_decl[i].name}",
                        (*path, _MESSAGE_ONEOF, i),
                        proto.oneof_decl[i].options,
                    )
                ),
                fields=tuple(f.name for f in fields if f.oneof == proto.oneof_decl[i].name),
            )
            for i in sorted(real_oneofs)
        )
        messages.append(Message(**vars(base), fields=fields, oneofs=oneofs))
        for i, nested in enumerate(proto.nested_type):
            self._message(f"{full_name}.", nested, (*path, _MESSAGE_NESTED, i), messages, enums, extensions)
        for i, enum in enumerate(proto.enum_type):
            enums.append(self._enum(f"{full_name}.", enum, (*path, _MESSAGE_ENUM, i)))
        for i, ext in enumerate(proto.extension):
            extensions.append(self._extension(f"{full_name}.", ext, (*path, _MESSAGE_EXTENSION, i)))

    def _field(
        self,
        parent: str,
        message: descriptor_pb2.DescriptorProto,
        proto: descriptor_pb2.FieldDescriptorProto,
        path: tuple[int, ...],
        real_oneofs: set[int],
    ) -> Field:
        comment, line = self._locations.get(path, ("", 0))
        behavior: tuple[str, ...] = ()
        options: list[Option] = []
        for option, value in self._set_options(proto.options):
            if option.full_name == FIELD_BEHAVIOR and isinstance(value, Sequence):
                behavior = tuple(_option_value_one(option, v) for v in value)
            else:
                options.append(self._option(option, value))
        type_ref = self._type(proto)
        oneof = (
            message.oneof_decl[proto.oneof_index].name
            if proto.HasField("oneof_index") and proto.oneof_index in real_oneofs
            else None
        )
        return Field(
            "field",
            proto.name,
            f"{parent}.{proto.name}",
            self._file,
            line,
            comment,
            tuple(options),
            number=proto.number,
            type=type_ref,
            label="" if type_ref.kind == "map" else _label(proto),
            oneof=oneof,
            behavior=behavior,
        )

    def _type(self, proto: descriptor_pb2.FieldDescriptorProto) -> TypeRef:
        if proto.type in _SCALARS:
            return TypeRef("scalar", _SCALARS[proto.type])
        name = proto.type_name.lstrip(".")
        if proto.type == descriptor_pb2.FieldDescriptorProto.TYPE_ENUM:
            return TypeRef("enum", name)
        entry = self._messages.get(name)
        if (
            entry is not None
            and entry.options.map_entry
            and proto.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
        ):
            key, value = (self._type(f) for f in entry.field)
            return TypeRef("map", name, key, value)
        return TypeRef("message", name)

    def _enum(self, prefix: str, proto: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...]) -> Enum:
        full_name = prefix + proto.name
        base = self._node("enum", proto.name, full_name, path, proto.options)
        # Enum values are scoped beside their enum, not inside it.
        values = tuple(
            EnumValue(
                **vars(self._node("enum value", v.name, prefix + v.name, (*path, _ENUM_VALUE, i), v.options)),
                number=v.number,
            )
            for i, v in enumerate(proto.value)
        )
        return Enum(**vars(base), values=values)

    def _extension(
        self, prefix: str, proto: descriptor_pb2.FieldDescriptorProto, path: tuple[int, ...]
    ) -> Extension:
        base = self._node("extension", proto.name, prefix + proto.name, path, proto.options)
        return Extension(
            **vars(base),
            number=proto.number,
            extendee=proto.extendee.lstrip("."),
            type=self._type(proto),
            label=_label(proto),
        )

    def _service(
        self, prefix: str, proto: descriptor_pb2.ServiceDescriptorProto, path: tuple[int, ...]
    ) -> Service:
        full_name = prefix + proto.name
        base = self._node("service", proto.name, full_name, path, proto.options)
        methods = tuple(
            self._method(full_name, m, (*path, _SERVICE_METHOD, i)) for i, m in enumerate(proto.method)
        )
        return Service(**vars(base), methods=methods)

    def _method(
        self, service: str, proto: descriptor_pb2.MethodDescriptorProto, path: tuple[int, ...]
    ) -> Method:
        comment, line = self._locations.get(path, ("", 0))
        http: tuple[HttpRoute, ...] = ()
        options: list[Option] = []
        for field, value in self._set_options(proto.options):
            if field.full_name == HTTP_RULE and isinstance(value, ProtoMessage):
                http = tuple(_routes(value))
            else:
                options.append(self._option(field, value))
        return Method(
            "rpc",
            proto.name,
            f"{service}.{proto.name}",
            self._file,
            line,
            comment,
            tuple(options),
            input_type=proto.input_type.lstrip("."),
            output_type=proto.output_type.lstrip("."),
            client_streaming=proto.client_streaming,
            server_streaming=proto.server_streaming,
            http=http,
        )

    def _set_options(self, options: ProtoMessage) -> list[tuple[FieldDescriptor, object]]:
        """The options set on an element, extensions included, parsed with the set's own classes."""
        name = options.DESCRIPTOR.full_name
        cls = self._options_classes.get(name)
        if cls is None:
            cls = message_factory.GetMessageClass(self._pool.FindMessageTypeByName(name))
            self._options_classes[name] = cls
        parsed = cls.FromString(options.SerializeToString())
        return sorted(parsed.ListFields(), key=lambda pair: pair[0].number)

    def _options(self, options: ProtoMessage) -> tuple[Option, ...]:
        return tuple(self._option(field, value) for field, value in self._set_options(options))

    def _option(self, field: FieldDescriptor, value: object) -> Option:
        if field.is_extension:
            package = field.full_name.rsplit(".", 1)[0]
            name = f"({field.name})" if package == self._own_package else f"({field.full_name})"
        else:
            name = field.name
        return Option(name, _option_value(field, value))


def _option_value(field: FieldDescriptor, value: object) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return "[" + ", ".join(_option_value_one(field, v) for v in value) + "]"
    return _option_value_one(field, value)


def _option_value_one(field: FieldDescriptor, value: object) -> str:
    if isinstance(value, ProtoMessage):
        return "{" + text_format.MessageToString(value, as_one_line=True) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if field.enum_type is not None and isinstance(value, int):
        known = field.enum_type.values_by_number.get(value)
        return known.name if known is not None else str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _routes(rule: ProtoMessage) -> Iterator[HttpRoute]:
    """The bindings of one google.api.HttpRule: its own verb and path, then each additional binding."""
    verb, path, body = "", "", ""
    bindings: list[ProtoMessage] = []
    for field, value in rule.ListFields():
        if field.name in _HTTP_VERBS and isinstance(value, str):
            verb, path = field.name.upper(), value
        elif field.name == "custom" and isinstance(value, ProtoMessage):
            custom = {f.name: v for f, v in value.ListFields()}
            verb, path = str(custom.get("kind", "")), str(custom.get("path", ""))
        elif field.name == "body" and isinstance(value, str):
            body = value
        elif field.name == "additional_bindings" and isinstance(value, Sequence):
            bindings.extend(v for v in value if isinstance(v, ProtoMessage))
    if verb:
        yield HttpRoute(verb, path, body)
    for binding in bindings:
        yield from _routes(binding)


def _label(proto: descriptor_pb2.FieldDescriptorProto) -> str:
    if proto.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED:
        return "repeated"
    if proto.label == descriptor_pb2.FieldDescriptorProto.LABEL_REQUIRED:
        return "required"
    if proto.proto3_optional:
        return "optional"
    return ""


def _real_oneofs(proto: descriptor_pb2.DescriptorProto) -> set[int]:
    """The oneofs written in the file; a proto3 `optional` field's synthetic oneof is not one."""
    return {f.oneof_index for f in proto.field if f.HasField("oneof_index") and not f.proto3_optional}


def _dependency_order(
    files: Iterable[descriptor_pb2.FileDescriptorProto],
) -> list[descriptor_pb2.FileDescriptorProto]:
    """The files with each one after its imports, as a descriptor pool wants them added."""
    by_name = {f.name: f for f in files}
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in by_name:
            return
        seen.add(name)
        for dependency in by_name[name].dependency:
            visit(dependency)
        ordered.append(by_name[name])

    for name in by_name:
        visit(name)
    return ordered


def load(image: bytes, prefix: str = "rejoinder/") -> Api:
    """The files of `image` (a serialized FileDescriptorSet with source info) named `prefix`..."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(image)
    reader = _Reader(fds)
    ours = sorted((f for f in fds.file if f.name.startswith(prefix)), key=lambda f: f.name)
    return Api(tuple(reader.read_file(f) for f in ours))
