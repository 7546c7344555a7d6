"""rejoinder.example.toml: it loads, it shows every section and key the reader accepts, and each key it
shows is one the reader takes (so a typo, or a key the reader stopped reading, fails here)."""

from __future__ import annotations

import base64
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import pytest

from rejoinder import config
from rejoinder.config import LocalSettings, Settings, UpstreamSettings, load
from rejoinder.config_embeddings import EmbeddingSettings
from rejoinder.config_limits import RequestLimits, TenantLimits
from rejoinder.providers.base import Capabilities
from rejoinder.providers.factory import default_capabilities, merge_capabilities

EXAMPLE = Path(__file__).resolve().parents[2] / "rejoinder.example.toml"
SECTIONS = {
    "default_provider",
    "server",
    "providers",
    "models",
    "auth",
    "limits",
    "rate_limits",
    "mcp",
    "local",
}
SECTIONS |= {"reasoning", "embeddings"}
# "#key = value" and "#[table]" lines are settings the example leaves off ("# " starts prose).
_OFF = re.compile(r'#(\[|"?[A-Za-z_][\w.-]*"? = )')


def _all_on(text: str) -> str:
    return "\n".join(line[1:] if _OFF.match(line) else line for line in text.splitlines()) + "\n"


@pytest.fixture
def all_on(tmp_path: Path) -> Path:
    """The example with every setting it leaves off turned on."""
    path = tmp_path / "all-on.toml"
    path.write_text(_all_on(EXAMPLE.read_text()))
    return path


def _norm(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _norm(v) for k, v in value.items()}
    return value


def _views(settings: Settings, doc: Mapping[str, Any]) -> dict[str, tuple[Any, Any, Any]]:
    """Section -> (what the file says, what was loaded, the defaults), each as plain data."""
    flat, defaults = asdict(settings), asdict(Settings())
    server = {k: flat[k] for k in doc["server"] if k in flat}
    mcp_keys = [k for k in flat if k.startswith("mcp_")]
    rate = {k: v for k, v in doc["rate_limits"].items() if k != "tenants"}
    views = {
        "server": (doc["server"], server, {k: defaults[k] for k in server}),
        "mcp": (doc["mcp"], {k[4:]: flat[k] for k in mcp_keys}, {k[4:]: defaults[k] for k in mcp_keys}),
        "local": (doc["local"], asdict(settings.local), asdict(LocalSettings())),
        "limits": (doc["limits"], asdict(settings.request_limits), asdict(RequestLimits())),
        "rate_limits": (rate, asdict(settings.rate_limits.default), asdict(TenantLimits())),
        "default_provider": (doc["default_provider"], settings.default_provider, None),
        "auth": (doc["auth"]["tenants"], dict(settings.auth_tenants), {}),
        "reasoning": (doc["reasoning"], {"keys": settings.reasoning_keys}, {"keys": ()}),
        "embeddings": (doc["embeddings"], asdict(settings.embeddings), asdict(EmbeddingSettings())),
    }
    for name, limits in doc["rate_limits"].get("tenants", {}).items():
        views[f"rate_limits.tenants.{name}"] = (limits, asdict(settings.rate_limits.for_tenant(name)), rate)
    for name, provider in doc["providers"].items():
        views[f"providers.{name}"] = (provider, asdict(settings.providers[name]), None)
    for name, model in doc["models"].items():
        loaded = settings.models[name]
        views[f"models.{name}"] = (
            model,
            {
                "provider": loaded.provider,
                "model": loaded.upstream_model,
                "max_output_tokens": loaded.max_output_tokens,
                "context_window": loaded.context_window,
            },
            None,
        )
    return {k: (_norm(given), _norm(loaded), _norm(default)) for k, (given, loaded, default) in views.items()}


def test_the_example_loads_as_it_is() -> None:
    settings = load({"config": str(EXAMPLE)}, env={})

    assert settings.default_provider == "vllm"
    assert settings.auth_tenants == {}  # open, on loopback: it starts as it is
    assert settings.reasoning_keys == ()
    assert (settings.embeddings.provider, settings.embeddings.dimensions) == (
        "local",
        128,
    )  # no upstream needed


def test_every_section_is_shown_and_every_key_it_shows_is_taken(all_on: Path) -> None:
    doc = tomllib.loads(all_on.read_text())
    settings = load({"config": str(all_on)}, env={})

    assert set(doc) == SECTIONS
    for section, (given, loaded, _) in _views(settings, doc).items():
        if not isinstance(given, dict):
            assert given == loaded, section
            continue
        for key, value in given.items():
            assert isinstance(loaded, dict) and key in loaded, (
                f"[{section}] {key}: the reader has no such key"
            )
            assert loaded[key] == value, f"[{section}] {key}: the reader did not take {value!r}"


def test_each_section_sets_something_other_than_the_default(all_on: Path) -> None:
    doc = tomllib.loads(all_on.read_text())
    settings = load({"config": str(all_on)}, env={})

    for section, (_, loaded, default) in _views(settings, doc).items():
        if not section.startswith(("providers.", "models.")):  # any of those is more than the default
            assert loaded != default, f"[{section}] sets only defaults: a typo would go unnoticed"


def test_every_key_the_reader_accepts_is_in_the_example(all_on: Path) -> None:
    doc = tomllib.loads(all_on.read_text())
    readable = set(config._FIELDS) | set(config._LISTS) | {"envoy", "strict_json"}

    assert {k for k in readable if not k.startswith("mcp_")} <= set(doc["server"])
    assert {k[4:] for k in readable if k.startswith("mcp_")} <= set(doc["mcp"])
    assert {f.name for f in fields(LocalSettings)} <= set(doc["local"])
    assert {f.name for f in fields(RequestLimits)} <= set(doc["limits"])
    assert {f.name for f in fields(EmbeddingSettings)} <= set(doc["embeddings"])
    assert {f.name for f in fields(TenantLimits)} <= set(doc["rate_limits"])
    assert doc["rate_limits"]["tenants"] and doc["auth"]["tenants"]
    shown = set().union(*(set(p) for p in doc["providers"].values()))
    assert {f.name for f in fields(UpstreamSettings)} <= shown
    assert {"provider", "model", "max_output_tokens"} <= set().union(
        *(set(m) for m in doc["models"].values())
    )


def test_provider_types_and_capabilities_are_ones_the_adapters_take(all_on: Path) -> None:
    doc = tomllib.loads(all_on.read_text())
    shown: set[str] = set()

    for provider in doc["providers"].values():
        overrides = provider.get("capabilities", {})
        merge_capabilities(default_capabilities(provider["type"]), overrides)  # raises on a bad key
        shown |= set(overrides)

    assert shown == {f.name for f in fields(Capabilities)}


def test_the_example_reasoning_key_is_the_right_shape(all_on: Path) -> None:
    keys = tomllib.loads(all_on.read_text())["reasoning"]["keys"]

    assert keys and all(len(base64.b64decode(k, validate=True)) == 32 for k in keys)
