"""The `rejoinder` command line: every `serve` flag is documented (README, --help with its environment
variable and default) and means the same as that variable; gRPC's fork support is off before gRPC loads."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rejoinder import config
from rejoinder.__main__ import GRPC_FORK_SUPPORT, add_serve_arguments, build_parser, no_grpc_fork_handlers

README = Path(__file__).resolve().parents[2] / "README.md"
URL = "http://127.0.0.1:8000/v1"
NO_ENV = {"-h", "--help"}


def _serve_actions() -> list[argparse.Action]:
    serve = argparse.ArgumentParser()
    add_serve_arguments(serve)
    return [a for a in serve._actions if a.option_strings]


def _flags() -> set[str]:
    return {flag for action in _serve_actions() for flag in action.option_strings}


def _configuration_section() -> str:
    text = README.read_text()
    start = text.index("\n## Configuration\n")
    return text[start : text.index("\n## ", start + 1)]


def _samples(tmp_path: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Flag -> (the flag with a value, the same through the environment)."""
    toml = tmp_path / "c.toml"
    toml.write_text("[server]\ndrain_s = 7\n")
    one = {
        "--config": str(toml),
        "--http-host": "127.0.0.2",
        "--http-port": "9000",
        "--grpc-host": "127.0.0.3",
        "--grpc-port": "9001",
        "--data-dir": str(tmp_path / "d"),
        "--store": "postgresql://u@db:5432/r",
        "--background-lease-s": "2.5",
        "--drain-s": "3",
        "--upstream": URL,
        "--local-model": str(tmp_path / "m.gguf"),
        "--local-threads": "3",
        "--log-level": "debug",
        "--log-format": "json",
        "--metrics-host": "127.0.0.9",
        "--metrics-port": "0",
        "--workers": "3",
    }
    dests = {"--local-model": "local_model_path", "--local-threads": "local_n_threads"}
    samples = {
        flag: ([flag, value], {f"REJOINDER_{dests.get(flag, flag[2:]).replace('-', '_').upper()}": value})
        for flag, value in one.items()
    }
    with_upstream = {"REJOINDER_UPSTREAM": URL}
    samples |= {
        "--no-envoy": (["--no-envoy"], {"REJOINDER_ENVOY": "false"}),
        "--no-metrics": (["--no-metrics"], {"REJOINDER_METRICS": "false"}),
        "--strict-json": (["--strict-json"], {"REJOINDER_STRICT_JSON": "true"}),
        "--no-strict-json": (["--no-strict-json"], {"REJOINDER_STRICT_JSON": "false"}),
        "--local": (["--local"], {"REJOINDER_LOCAL_ENABLED": "true"}),
        "--no-local": (["--no-local"], {"REJOINDER_LOCAL_ENABLED": "false"}),
        "--upstream-api-key": (
            ["--upstream", URL, "--upstream-api-key", "sk-1"],
            {**with_upstream, "REJOINDER_UPSTREAM_API_KEY": "sk-1"},
        ),
        "--upstream-type": (
            ["--upstream", URL, "--upstream-type", "vllm"],
            {**with_upstream, "REJOINDER_UPSTREAM_TYPE": "vllm"},
        ),
    }
    return samples


def _load(argv: list[str]) -> config.Settings:
    args = build_parser().parse_args(["serve", *argv])
    return config.load({k: v for k, v in vars(args).items() if k != "command"}, env={})


def test_every_serve_flag_is_in_the_readme_flag_list() -> None:
    section = _configuration_section()

    missing = sorted(f for f in _flags() - {"-h", "--help"} if not re.search(f"`{f}[` ]", section))

    assert not missing, f"README's Configuration section does not list {missing}"
    assert "rejoinder.example.toml" in section and "rejoinder envoy-config" in section


def test_every_serve_flag_names_its_environment_variable_and_default() -> None:
    for action in _serve_actions():
        text = " ".join((action.help or "").split())
        if action.option_strings[0] in NO_ENV:
            continue
        assert re.search(r"\(default [^;]+; env REJOINDER_[A-Z_]+(=false)?\)$", text), action.option_strings


def test_each_environment_variable_named_means_what_its_flag_means(tmp_path: Path) -> None:
    samples = _samples(tmp_path)
    assert set(samples) == _flags() - NO_ENV
    helps = {flag: " ".join((a.help or "").split()) for a in _serve_actions() for flag in a.option_strings}

    for flag, (argv, env) in samples.items():
        by_flag, by_env = _load(argv), config.load({}, env=env)

        assert by_flag == by_env, flag
        named = re.findall(r"REJOINDER_[A-Z_]+", helps[flag])
        assert named and set(named) <= set(env), f"{flag}: its help names {named}, config reads {sorted(env)}"
        if flag != "--strict-json":  # on by default
            assert by_flag != config.Settings(), f"{flag} changed nothing"


def test_log_level_lists_its_choices_and_takes_any_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["serve", "--log-level", "debug"]).log_level == "DEBUG"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--log-level", "chatty"])
    assert "DEBUG, INFO, WARNING, ERROR" in capsys.readouterr().err.replace("'", "")


def test_the_new_flags_reach_the_settings() -> None:
    settings = _load(["--log-format", "json", "--metrics-host", "127.0.0.5", "--metrics-port", "0"])

    assert (settings.log_format, settings.metrics_host, settings.metrics_port) == ("json", "127.0.0.5", 0)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--log-format", "xml"])


def test_grpc_fork_support_is_turned_off_unless_the_operator_set_it() -> None:
    env: dict[str, str] = {}
    no_grpc_fork_handlers(env)
    assert env == {GRPC_FORK_SUPPORT: "false"}

    mine = {GRPC_FORK_SUPPORT: "1"}
    no_grpc_fork_handlers(mine)
    assert mine == {GRPC_FORK_SUPPORT: "1"}


def test_importing_the_command_does_not_import_grpc() -> None:
    """gRPC reads GRPC_ENABLE_FORK_SUPPORT as it loads: `main` must be able to set it first."""
    code = "import sys, rejoinder.__main__; sys.exit('grpc' in sys.modules)"

    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0
