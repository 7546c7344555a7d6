"""`rejoinder envoy-config`: the Envoy bootstrap for teams that run Envoy themselves.

Envoy as your own edge or sidecar, in front of N `rejoinder serve --no-envoy` replicas: this renders the
very bootstrap `rejoinder serve` gives its own Envoy (`render_envoy_config`, the same function), for the
replica addresses, listener and limits given as flags, and writes it as YAML.

The YAML comes from `to_yaml`, a small emitter for the plain data the renderer returns (dicts, lists,
str, int, float, bool, None): block style, two-space indents, multi-line strings (the Lua filter) as
literal blocks, and every string that a YAML reader could take for something else (a number, a boolean,
null, an indicator such as `@` or `*`) double-quoted in JSON's escapes, which YAML shares.

The transcoder reads the proto descriptor set from the path written into the config: by default the one
shipped in this package (an absolute path on this machine); `--descriptor PATH` writes PATH as given (a
relative path is resolved from Envoy's working directory); `--descriptor-out PATH` copies the descriptor
there and writes that path, for a config deployed to another machine.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.message import DecodeError

from rejoinder.config_limits import RequestLimits
from rejoinder.edge.envoy_config import TRANSCODED_SERVICE, EnvoySettings, render_envoy_config

DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8080
DEFAULT_ACCESS_LOG = "/dev/stdout"  # a container's log, as Envoy images do
NO_ACCESS_LOG = "off"
ADMIN_HOST = "127.0.0.1"  # where render_envoy_config puts the admin interface
DESCRIPTOR_NAME = "rejoinder.binpb"  # the descriptor set shipped in `rejoinder.edge` (`make gen`)

# A string written without quotes only when no YAML reader could take it for anything but a string.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_NOT_PLAIN = frozenset(
    {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf", "infinity"}
)


class EnvoyConfigError(ValueError):
    """A flag of `rejoinder envoy-config` is unusable; the message names the flag and says why."""


def packaged_descriptor() -> Path:
    """The descriptor set shipped inside the package (the one `rejoinder serve` gives its Envoy)."""
    return Path(str(resources.files("rejoinder.edge") / DESCRIPTOR_NAME))


def _port(flag: str, text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise EnvoyConfigError(f"{flag}: {text!r} is not a port (a whole number from 1 to 65535)")
    return int(text)


def parse_replica(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `[IPV6]:PORT`: one `rejoinder serve --no-envoy` gRPC address."""
    usage = f"--replica: {text!r} is not HOST:PORT (e.g. 10.0.0.5:50051, rejoinder-1:50051, [::1]:50051)"
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port:
        raise EnvoyConfigError(usage)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not _is_ip(host):
            raise EnvoyConfigError(usage)
    elif ":" in host:
        raise EnvoyConfigError(f"{usage}; put an IPv6 address in brackets")
    if not re.fullmatch(r"[A-Za-z0-9_.:-]+", host):
        raise EnvoyConfigError(usage)
    return host, _port("--replica", port)


def parse_admin(text: str) -> int:
    """`PORT` or `127.0.0.1:PORT`: Envoy's admin interface, which only ever listens on loopback."""
    host, sep, port = text.rpartition(":")
    if sep and host.strip("[]") not in (ADMIN_HOST, "localhost"):
        raise EnvoyConfigError(
            f"--admin-port: Envoy's admin interface listens on loopback only ({ADMIN_HOST}), not on "
            f"{host!r}: anyone who reaches it can read the config and stop Envoy. Give a port."
        )
    return _port("--admin-port", port)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_descriptor(path: Path) -> None:
    """The file must be a descriptor set that holds the service the transcoder maps."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EnvoyConfigError(f"--descriptor: cannot read {path}: {exc.strerror or exc}") from exc
    found = descriptor_pb2.FileDescriptorSet()
    try:
        found.ParseFromString(data)
    except DecodeError as exc:
        raise EnvoyConfigError(f"--descriptor: {path} is not a protobuf descriptor set") from exc
    services = {f"{f.package}.{s.name}" for f in found.file for s in f.service}
    if TRANSCODED_SERVICE not in services:
        raise EnvoyConfigError(
            f"--descriptor: {path} does not describe {TRANSCODED_SERVICE} (build it with `make gen`)"
        )


@dataclass(frozen=True)
class EdgeOptions:
    """The flags of `rejoinder envoy-config`, as given (strings are parsed by `envoy_settings`)."""

    replicas: tuple[str, ...]
    http_host: str = DEFAULT_HTTP_HOST
    http_port: int = DEFAULT_HTTP_PORT
    admin_port: str | None = None
    max_request_body_bytes: int = RequestLimits().max_request_body_bytes
    descriptor: Path | None = None
    descriptor_out: Path | None = None
    access_log: str = DEFAULT_ACCESS_LOG


def _replicas(given: Sequence[str]) -> tuple[tuple[str, int], ...]:
    if not given:
        raise EnvoyConfigError("--replica: give at least one HOST:PORT of a `rejoinder serve --no-envoy`")
    replicas = tuple(parse_replica(text) for text in given)
    for i, replica in enumerate(replicas):
        if replica in replicas[:i]:
            raise EnvoyConfigError(f"--replica: {given[i]!r} is listed twice")
    return replicas


def envoy_settings(options: EdgeOptions) -> EnvoySettings:
    """The renderer's settings for `options`; raises `EnvoyConfigError` naming the flag at fault."""
    replicas = _replicas(options.replicas)
    if not _is_ip(options.http_host):
        raise EnvoyConfigError(
            f"--http-host: {options.http_host!r} is not an IP address (Envoy listens on addresses: "
            "127.0.0.1, 0.0.0.0, ::)"
        )
    http_port = _port("--http-port", str(options.http_port))
    if options.max_request_body_bytes < 1:
        raise EnvoyConfigError("--max-request-body-bytes: must be a whole number of at least 1")
    source = options.descriptor or packaged_descriptor()
    _check_descriptor(source)
    return EnvoySettings(
        http_host=options.http_host,
        http_port=http_port,
        grpc_upstreams=replicas,
        descriptor_path=options.descriptor_out or options.descriptor or source.resolve(),
        admin_port=None if options.admin_port is None else parse_admin(options.admin_port),
        max_request_body_bytes=options.max_request_body_bytes,
        access_log=None if options.access_log == NO_ACCESS_LOG else options.access_log,
    )


def command_line(options: EdgeOptions) -> list[str]:
    """The command that renders `options`, one flag to an element (for the file's header; no --output)."""
    flags = [f"--replica {shlex.quote(replica)}" for replica in options.replicas]
    flags += [f"--http-host {shlex.quote(options.http_host)}", f"--http-port {options.http_port}"]
    if options.admin_port is not None:
        flags.append(f"--admin-port {shlex.quote(options.admin_port)}")
    flags.append(f"--max-request-body-bytes {options.max_request_body_bytes}")
    if options.access_log != DEFAULT_ACCESS_LOG:
        flags.append(f"--access-log {shlex.quote(options.access_log)}")
    for flag, path in (("--descriptor", options.descriptor), ("--descriptor-out", options.descriptor_out)):
        if path is not None:
            flags.append(f"{flag} {shlex.quote(str(path))}")
    return ["rejoinder envoy-config", *flags]


def _header(options: EdgeOptions, settings: EnvoySettings) -> list[str]:
    return [
        "Envoy bootstrap for Rejoinder: the OpenAI REST/SSE edge (and native gRPC) in front of",
        "`rejoinder serve --no-envoy` replicas. The same config `rejoinder serve` gives its own Envoy.",
        "Generated by:",
        *_continued(command_line(options)),
        "Change the flags and run it again rather than editing this file. Run: envoy -c THIS_FILE",
        "proto_descriptor (the transcoder's descriptor set) must be readable by Envoy at",
        f"  {settings.descriptor_path}",
        "(a relative path is resolved from Envoy's working directory). Replicas named by host name are",
        "resolved by DNS (STRICT_DNS); a replica whose gRPC health check fails leaves the rotation.",
    ]


def _continued(argv: list[str]) -> list[str]:
    return [
        ("  " if i == 0 else "    ") + arg + (" \\" if i < len(argv) - 1 else "")
        for i, arg in enumerate(argv)
    ]


def render(options: EdgeOptions) -> str:
    """The YAML file `rejoinder envoy-config` writes for `options` (header comment included)."""
    settings = envoy_settings(options)
    header = "".join(f"# {line}".rstrip() + "\n" for line in _header(options, settings))
    return header + to_yaml(render_envoy_config(settings))


def write(options: EdgeOptions, output: Path | None) -> None:
    """Render, copy the descriptor when `--descriptor-out` asks, and write to `output` (stdout: None)."""
    text = render(options)
    if options.descriptor_out is not None:
        options.descriptor_out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(options.descriptor or packaged_descriptor(), options.descriptor_out)
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `rejoinder envoy-config`."""
    add = parser.add_argument
    add(
        "--replica",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="gRPC address of a `rejoinder serve --no-envoy` replica; repeat it for each (at least one). "
        "Host names are resolved by DNS",
    )
    add(
        "--http-host",
        default=DEFAULT_HTTP_HOST,
        help=f"IP address Envoy listens on (default {DEFAULT_HTTP_HOST})",
    )
    add(
        "--http-port", type=int, default=DEFAULT_HTTP_PORT, help=f"Envoy's port (default {DEFAULT_HTTP_PORT})"
    )
    add(
        "--admin-port",
        metavar="PORT",
        help=f"Envoy's admin interface on {ADMIN_HOST}:PORT (loopback only; default none)",
    )
    add(
        "--max-request-body-bytes",
        type=int,
        default=RequestLimits().max_request_body_bytes,
        help=f"largest REST body, 413 beyond it (default {RequestLimits().max_request_body_bytes}); at most "
        "the replicas' [limits] max_request_body_bytes",
    )
    add(
        "--access-log",
        default=DEFAULT_ACCESS_LOG,
        metavar="FILE",
        help=f"where Envoy writes one JSON line per request (default {DEFAULT_ACCESS_LOG}; "
        f"{NO_ACCESS_LOG!r}: none)",
    )
    _add_descriptor_arguments(parser)


def _add_descriptor_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--descriptor",
        type=Path,
        metavar="PATH",
        help="the proto descriptor set, written into the config as given (default: the one shipped in "
        "this package, by absolute path)",
    )
    add(
        "--descriptor-out",
        type=Path,
        metavar="PATH",
        help="copy the descriptor set to PATH and point the config at PATH (for a config deployed elsewhere)",
    )
    add("--output", "-o", type=Path, metavar="FILE", help="write the YAML here (default: stdout)")


def run(args: argparse.Namespace) -> int:
    """`rejoinder envoy-config`; returns the exit status (2 with a message when a flag is unusable)."""
    options = EdgeOptions(
        replicas=tuple(args.replica),
        http_host=args.http_host,
        http_port=args.http_port,
        admin_port=args.admin_port,
        max_request_body_bytes=args.max_request_body_bytes,
        descriptor=args.descriptor,
        descriptor_out=args.descriptor_out,
        access_log=args.access_log,
    )
    try:
        write(options, args.output)
    except EnvoyConfigError as exc:
        print(f"rejoinder envoy-config: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"rejoinder envoy-config: {exc}", file=sys.stderr)
        return 1
    return 0


# --- YAML for plain data -------------------------------------------------------------------------


def to_yaml(value: object) -> str:
    """Block-style YAML for plain data: a dict or list of dicts, lists, str, int, float, bool, None."""
    if not isinstance(value, dict | list):
        raise TypeError("to_yaml writes a dict or a list at the top")
    if not value:
        return _scalar(value) + "\n"
    return "".join(line + "\n" for line in _node("", value, 0))


def _node(head: str, value: object, indent: int) -> list[str]:
    """`value` after `head` ("KEY:" or "-" with its indent; "" at the top); its own lines at `indent`."""
    pad = " " * indent
    if isinstance(value, dict) and value:
        body = [line for k, v in value.items() for line in _node(f"{pad}{_key(k)}:", v, indent + 2)]
    elif isinstance(value, list) and value:
        body = [line for item in value for line in _node(f"{pad}-", item, indent + 2)]
    elif isinstance(value, str) and (literal := _literal(value)) is not None:
        indicator, lines = literal
        return [f"{head} {indicator}", *(pad + line if line else "" for line in lines)]
    else:
        return [f"{head} {_scalar(value)}"]
    if not head:
        return body
    if head.endswith("-"):  # a collection in a list: its first line joins the dash
        return [f"{head} {body[0].lstrip(' ')}", *body[1:]]
    return [head, *body]


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"to_yaml: a key must be a string, not {key!r}")
    return _string(key)


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"to_yaml: {value} has no portable YAML form")
        text = repr(value)  # "1e-09" has no dot, which YAML 1.1 readers need for a float: "1.0e-09"
        return text if "." in text or "e" not in text else text.replace("e", ".0e", 1)
    if isinstance(value, str):
        return _string(value)
    if value == {} or value == []:
        return "{}" if isinstance(value, dict) else "[]"
    raise TypeError(f"to_yaml: cannot write {type(value).__name__}")


def _string(text: str) -> str:
    if _PLAIN.fullmatch(text) and text.lower() not in _NOT_PLAIN:
        return text
    quoted = json.dumps(text, ensure_ascii=False)  # JSON's escapes are YAML's; non-printables below
    return "".join(c if c.isprintable() else _escape(c) for c in quoted)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _literal(text: str) -> tuple[str, list[str]] | None:
    """A multi-line string as a literal block ("|" keeps one final newline, "|-" none), or None when it
    needs quoting: characters a block cannot hold, blank lines of spaces, a first line that starts with
    a space (its indent would be taken for the block's), or several final newlines."""
    if "\n" not in text or text.endswith("\n\n"):
        return None
    if not all(c == "\n" or c == "\t" or c.isprintable() for c in text):
        return None
    body = text.removesuffix("\n")
    lines = body.split("\n")
    if any(line and not line.strip() for line in lines):
        return None
    first = next((line for line in lines if line), "")
    if first.startswith((" ", "\t")) or not first:
        return None
    return ("|" if text.endswith("\n") else "|-"), lines
