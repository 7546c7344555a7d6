"""`rejoinder envoy-config`: the launcher's own config for N replicas, as YAML that reads back to the
same data, and clear errors for unusable flags."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from rejoinder.__main__ import main
from rejoinder.config import Settings
from rejoinder.edge.envoy_config import EnvoySettings, render_envoy_config
from rejoinder.edge.standalone import (
    EdgeOptions,
    EnvoyConfigError,
    envoy_settings,
    packaged_descriptor,
    parse_admin,
    parse_replica,
    render,
    to_yaml,
)
from rejoinder.launcher import descriptor_path
from rejoinder.launcher import envoy_settings as launcher_settings

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "envoy" / "envoy.example.yaml"
# The flags of the Makefile's `gen` line for envoy/envoy.example.yaml.
EXAMPLE_OPTIONS = EdgeOptions(
    replicas=("127.0.0.1:50051", "127.0.0.1:50052"),
    admin_port="9901",
    descriptor=Path("service/src/rejoinder/edge/rejoinder.binpb"),
)


# --- a reader for the YAML subset `to_yaml` writes (block style; JSON-quoted or plain scalars) ---


def read_yaml(text: str) -> Any:
    lines = [(len(line) - len(line.lstrip(" ")), line.strip(" ")) for line in text.split("\n")]
    lines = [(n, s) for n, s in lines if not s.startswith("#")]
    while lines and not lines[-1][1]:
        lines.pop()
    if len(lines) == 1 and lines[0][1] in ("{}", "[]"):
        return _scalar(lines[0][1])
    value, end = _node(lines, 0, lines[0][0])
    assert end == len(lines), f"unread line {end}: {lines[end]}"
    return value


def _node(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    if lines[i][1] == "-" or lines[i][1].startswith("- "):
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent)


def _sequence(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    while i < len(lines) and lines[i][0] == indent and (lines[i][1] == "-" or lines[i][1].startswith("- ")):
        rest = lines[i][1][2:]
        if rest and (rest.startswith("- ") or _key(rest) is not None):  # a collection starts on this line
            lines[i] = (indent + 2, rest)
            value, i = _node(lines, i, indent + 2)
        else:
            value, i = _value(lines, i + 1, indent, rest)
        out.append(value)
    return out, i


def _mapping(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent and not lines[i][1].startswith("- "):
        found = _key(lines[i][1])
        assert found is not None, f"line {i}: {lines[i][1]!r} is not KEY: VALUE"
        key, rest = found
        assert key not in out, f"key {key!r} twice"
        out[key], i = _value(lines, i + 1, indent, rest)
    return out, i


def _key(text: str) -> tuple[str, str] | None:
    if text.startswith('"'):
        key, end = json.JSONDecoder().raw_decode(text)
    else:
        match = re.match(r"[A-Za-z_][A-Za-z0-9_./-]*", text)
        if match is None:
            return None
        key, end = match.group(), match.end()
    if text[end : end + 1] != ":" or text[end + 1 : end + 2] not in ("", " "):
        return None
    return str(key), text[end + 1 :].strip()


def _value(lines: list[tuple[int, str]], i: int, indent: int, rest: str) -> tuple[Any, int]:
    """What follows "KEY:" or "-" at `indent`: `rest` on the same line, or the lines below."""
    if rest in ("|", "|-"):
        block: list[str] = []
        inner = next(n for n, s in lines[i:] if s)
        assert inner > indent
        while i < len(lines) and (not lines[i][1] or lines[i][0] >= inner):
            block.append(" " * (lines[i][0] - inner) + lines[i][1] if lines[i][1] else "")
            i += 1
        return "\n".join(block) + ("\n" if rest == "|" else ""), i
    if rest:
        return _scalar(rest), i
    assert i < len(lines) and lines[i][0] > indent, "a key without a value"
    return _node(lines, i, lines[i][0])


def _scalar(text: str) -> Any:
    if text.startswith('"'):
        return json.loads(text)
    known: dict[str, Any] = {"null": None, "true": True, "false": False, "{}": {}, "[]": []}
    if text in known:
        return known[text]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*(e[-+]?\d+)?", text):
        return float(text)
    return text


# --- the emitter ---


TRICKY: dict[str, Any] = {
    "plain": "envoy.filters.http.router",
    "words": ["on", "off", "yes", "No", "y", "n", "TRUE", "null", "~", "NaN", ".inf", "Infinity"],
    "numbers as text": ["0s", "1", "-1", "1.5", "1e3", "0x1f", "86400", "010"],
    "indicators": ["@type", "*", "&a", "!tag", "%x", "`x", "|", ">", "- x", "? x", "#c", "a: b", "a #b"],
    "blanks": ["", " ", " lead", "trail ", "tab\there", "\t"],
    "multi": ["one\ntwo\n", "no end\nline", "\nleading empty\n", "ends\n\n", "  indented\nfirst\n"],
    "odd": ["é ü", "😀", "\x7f", "\u2028", "\u0085", "back\\slash", 'quote"s', "\r\n"],
    "scalars": [0, -7, 12345678901234, 0.5, -2.25, 1e-9, 1e16, True, False, None],
    "empty": {"d": {}, "l": [], "s": ""},
    "nesting": [[1, [2, []]], {"a": [{"b": {"c": "d\ne\n"}}, "x"]}, [{"k": "multi\nline"}]],
    '"@type"': "key quoted",
}


def test_tricky_data_reads_back_the_same() -> None:
    text = to_yaml(TRICKY)

    assert read_yaml(text) == TRICKY


def test_strings_a_reader_could_mistake_are_quoted_and_plain_ones_are_not() -> None:
    text = to_yaml({"a": "on", "b": "0s", "c": "@type", "d": "x.y/z_w-1", "e": "86400", "@type": 1})

    assert text == 'a: "on"\nb: "0s"\nc: "@type"\nd: x.y/z_w-1\ne: "86400"\n"@type": 1\n'


def test_multi_line_strings_are_literal_blocks() -> None:
    text = to_yaml({"lua": "function f()\n  return 1\nend\n", "tail": "a\nb", "list": ["x\ny\n"]})

    assert (
        text
        == "lua: |\n  function f()\n    return 1\n  end\ntail: |-\n  a\n  b\nlist:\n  - |\n    x\n    y\n"
    )


def test_a_list_of_mappings_starts_each_on_its_dash() -> None:
    assert to_yaml({"l": [{"a": 1, "b": [2]}, {}]}) == "l:\n  - a: 1\n    b:\n      - 2\n  - {}\n"


def test_what_yaml_cannot_hold_is_refused() -> None:
    with pytest.raises(TypeError):
        to_yaml({"a": object()})
    with pytest.raises(TypeError):
        to_yaml({1: "a"})
    with pytest.raises(ValueError):
        to_yaml({"a": float("nan")})
    with pytest.raises(TypeError):
        to_yaml("top-level scalar")  # type: ignore[arg-type]


def test_the_rendered_bootstrap_reads_back_to_the_renderers_data() -> None:
    options = EdgeOptions(replicas=("10.0.0.5:50051", "rejoinder-2.svc:50051"), admin_port="9901")

    assert read_yaml(render(options)) == render_envoy_config(envoy_settings(options))


# --- the same config as the launcher ---


def test_one_replica_renders_exactly_what_the_launcher_gives_its_own_envoy() -> None:
    settings = Settings(http_port=18080, envoy_admin_port=19901)
    launcher = render_envoy_config(launcher_settings(settings, (15051,)))
    access_log = str(Settings().data_dir.resolve() / "envoy" / "access.log")  # the launcher's, by default
    options = EdgeOptions(
        replicas=("127.0.0.1:15051",), http_port=18080, admin_port="19901", access_log=access_log
    )

    assert read_yaml(render(options)) == launcher
    assert packaged_descriptor().resolve() == descriptor_path().resolve()


def test_workers_render_the_cluster_envoy_config_renders_for_as_many_replicas() -> None:
    settings = Settings(http_port=18080, envoy_admin_port=19901, workers=2)
    launcher = render_envoy_config(launcher_settings(settings, (15051, 15052)))
    access_log = str(Settings().data_dir.resolve() / "envoy" / "access.log")
    options = EdgeOptions(
        replicas=("127.0.0.1:15051", "127.0.0.1:15052"),
        http_port=18080,
        admin_port="19901",
        access_log=access_log,
    )

    assert read_yaml(render(options)) == launcher
    cluster = launcher["static_resources"]["clusters"][0]
    endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert [e["endpoint"]["address"]["socket_address"]["port_value"] for e in endpoints] == [15051, 15052]
    assert cluster["lb_policy"] == "LEAST_REQUEST"


def test_replicas_become_the_clusters_endpoints_in_order_names_by_dns() -> None:
    options = EdgeOptions(replicas=("127.0.0.1:50051", "[::1]:50052", "replica-3:50053"))
    settings = envoy_settings(options)
    expected = EnvoySettings(
        "127.0.0.1",
        8080,
        (("127.0.0.1", 50051), ("::1", 50052), ("replica-3", 50053)),
        packaged_descriptor().resolve(),
        access_log="/dev/stdout",  # a container's log, by default
    )

    assert settings == expected
    cluster = render_envoy_config(settings)["static_resources"]["clusters"][0]
    assert cluster["type"] == "STRICT_DNS"


def test_the_committed_example_is_what_the_command_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # its descriptor path is relative to the repository root

    assert render(EXAMPLE_OPTIONS) == EXAMPLE.read_text(), "envoy/envoy.example.yaml is stale: make gen"
    assert "--replica 127.0.0.1:50052" in EXAMPLE.read_text()


# --- the command ---


def test_the_command_writes_the_file_and_a_copy_of_the_descriptor(tmp_path: Path) -> None:
    out, descriptor = tmp_path / "edge" / "envoy.yaml", tmp_path / "edge" / "rejoinder.binpb"
    argv = ["envoy-config", "--replica", "127.0.0.1:50051", "--output", str(out)]

    assert main([*argv, "--descriptor-out", str(descriptor)]) == 0

    assert descriptor.read_bytes() == packaged_descriptor().read_bytes()
    config = read_yaml(out.read_text())
    transcoder = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    filters = transcoder["typed_config"]["http_filters"]
    transcoder = next(f for f in filters if f["name"] == "envoy.filters.http.grpc_json_transcoder")
    assert transcoder["typed_config"]["proto_descriptor"] == str(descriptor)
    assert out.read_text().startswith("# Envoy bootstrap for Rejoinder")
    assert f"--descriptor-out {descriptor}" in out.read_text()


def test_without_output_it_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["envoy-config", "--replica", "127.0.0.1:50051", "--http-port", "9000"]) == 0

    config = read_yaml(capsys.readouterr().out)
    assert config["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] == 9000
    assert "admin" not in config


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "--replica: give at least one HOST:PORT"),
        (["--replica", "127.0.0.1"], "'127.0.0.1' is not HOST:PORT"),
        (["--replica", "host:http"], "'http' is not a port"),
        (["--replica", "host:0"], "'0' is not a port (a whole number from 1 to 65535)"),
        (["--replica", "host:70000"], "is not a port"),
        (["--replica", "::1:50051"], "put an IPv6 address in brackets"),
        (["--replica", ":50051"], "is not HOST:PORT"),
        (["--replica", "a b:50051"], "is not HOST:PORT"),
        (["--replica", "h:1", "--replica", "h:1"], "'h:1' is listed twice"),
        (["--replica", "h:1", "--admin-port", "0.0.0.0:9901"], "listens on loopback only (127.0.0.1)"),
        (["--replica", "h:1", "--admin-port", "10.1.2.3:9901"], "not on '10.1.2.3'"),
        (["--replica", "h:1", "--admin-port", "x"], "--admin-port: 'x' is not a port"),
        (["--replica", "h:1", "--http-host", "localhost"], "--http-host: 'localhost' is not an IP address"),
        (["--replica", "h:1", "--http-port", "0"], "--http-port: '0' is not a port"),
        (["--replica", "h:1", "--max-request-body-bytes", "0"], "--max-request-body-bytes: must be"),
        (["--replica", "h:1", "--descriptor", "/nonexistent.binpb"], "--descriptor: cannot read"),
    ],
)
def test_unusable_flags_are_refused_naming_the_flag(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["envoy-config", *argv]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("rejoinder envoy-config: --")
    assert message in captured.err


def test_a_file_that_is_not_our_descriptor_set_is_refused(tmp_path: Path) -> None:
    garbage, empty = tmp_path / "garbage.binpb", tmp_path / "empty.binpb"
    garbage.write_bytes(b"\xff\xff\xff not protobuf")
    empty.write_bytes(b"")

    with pytest.raises(EnvoyConfigError, match="is not a protobuf descriptor set"):
        envoy_settings(EdgeOptions(replicas=("h:1",), descriptor=garbage))
    with pytest.raises(
        EnvoyConfigError, match=r"does not describe rejoinder\.responses\.v1\.OpenAIHttpService"
    ):
        envoy_settings(EdgeOptions(replicas=("h:1",), descriptor=empty))


def test_addresses_parse() -> None:
    assert parse_replica("rejoinder-1.svc.cluster.local:50051") == ("rejoinder-1.svc.cluster.local", 50051)
    assert parse_replica("[2001:db8::1]:443") == ("2001:db8::1", 443)
    assert parse_admin("9901") == parse_admin("127.0.0.1:9901") == parse_admin("localhost:9901") == 9901
