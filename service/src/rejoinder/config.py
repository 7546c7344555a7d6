"""Settings: command-line flags over `REJOINDER_*` environment variables over a TOML file over
defaults. The only module that reads the environment."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rejoinder.config_auth import auth_tenants, key_count
from rejoinder.config_embeddings import LOCAL, EmbeddingSettings, embedding_settings
from rejoinder.config_limits import RateLimitSettings, RequestLimits, rate_limits, request_limits
from rejoinder.config_tracing import TracingSettings, tracing_settings

DEFAULT_PROVIDER = "default"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

MAX_WORKERS = 64
DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_FIRST_TOKEN_TIMEOUT_S = 600.0
DEFAULT_IDLE_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class UpstreamSettings:
    """One OpenAI-compatible upstream.

    Timeouts (seconds): `connect_timeout_s` to open a connection; `first_token_timeout_s` from sending
    the request to the first delta of the answer; `idle_timeout_s` between two chunks after that. The
    defaults follow the `openai` SDK's (5 s to connect, 600 s to read). `timeout_s`, the older key, sets
    the last two when they are not given.
    """

    base_url: str
    api_key: str | None = None
    timeout_s: float = DEFAULT_IDLE_TIMEOUT_S
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    type: str = "openai-compatible"
    capabilities: Mapping[str, object] = field(default_factory=dict)
    first_token_timeout_s: float = DEFAULT_FIRST_TOKEN_TIMEOUT_S
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S


@dataclass(frozen=True)
class ModelSettings:
    """A routable model name; `max_output_tokens` is the most the model can produce and
    `context_window` the most tokens its prompt and output may take together (when known)."""

    provider: str
    upstream_model: str
    max_output_tokens: int | None = None
    context_window: int | None = None


@dataclass(frozen=True)
class LocalSettings:
    """The in-process local model. `enabled` None means: on when no upstream is configured."""

    enabled: bool | None = None
    model_path: Path | None = None
    n_threads: int = 1
    n_ctx: int = 4096
    max_waiting: int = 8


@dataclass(frozen=True)
class Settings:
    """Everything the server is configured with."""

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    data_dir: Path = Path("data")
    store: str | None = None  # "postgresql://..."; None: SQLite in the data directory
    background_lease_s: float = 15.0  # a background run not heard of for this long is failed
    ingest_concurrency: int = 2  # vector store files one process ingests at once
    auth_tenants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # tenant -> key hashes
    envoy: bool = True
    # Service processes behind the one Envoy (`workers/`); 1: this process serves. By default the cores this
    # process may use (measured: bench/README.md, --scaling).
    workers: int = field(default_factory=lambda: available_cores())
    envoy_admin_port: int | None = None
    strict_json: bool = True  # unknown JSON fields are a 400, as on OpenAI
    sse_keepalive_s: float = 15.0
    providers: Mapping[str, UpstreamSettings] = field(default_factory=dict)
    models: Mapping[str, ModelSettings] = field(default_factory=dict)
    default_provider: str | None = None
    reasoning_keys: tuple[str, ...] = ()
    local: LocalSettings = field(default_factory=LocalSettings)
    mcp_connect_timeout_s: float = 10.0
    mcp_call_timeout_s: float = 60.0
    mcp_list_timeout_s: float = 30.0
    mcp_allow_hosts: tuple[str, ...] = ()
    mcp_deny_hosts: tuple[str, ...] = ("169.254.169.254", "metadata.google.internal")
    request_limits: RequestLimits = field(default_factory=RequestLimits)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    drain_s: float = 20.0  # on SIGTERM: how long running calls may finish before they are ended
    log_level: str = "INFO"  # one of LOG_LEVELS
    log_format: str = "text"  # "text" or "json" (one JSON object per line)
    metrics_host: str = "127.0.0.1"
    metrics: bool = True  # the Prometheus metrics of the service: counted and served
    metrics_port: int = 9464  # where they are served (0 picks a free port)
    models_refresh_s: float = 60.0  # how often the upstreams' own model lists are fetched again
    tracing: TracingSettings = field(default_factory=TracingSettings)  # from OTEL_*: off by default
    embeddings: EmbeddingSettings = field(default_factory=EmbeddingSettings)  # file search's vectors


def available_cores(cgroup: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The cores this process may run on (its CPU affinity), fewer when a cgroup CPU quota allows fewer
    (a container given 2 CPUs of a 64-core host), at least 1 and at most `MAX_WORKERS`."""
    cores = len(os.sched_getaffinity(0))
    try:
        quota, period = cgroup.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, -(-int(quota) // int(period))))  # rounded up
    except (OSError, ValueError):
        pass
    return max(1, min(cores, MAX_WORKERS))


MAX_INGEST_CONCURRENCY = 64


class ConfigError(Exception):
    """The configuration is unusable; the message says why."""


def _parse(doc: Mapping[str, Any]) -> Settings:
    server = doc.get("server", {})
    providers = {name: _upstream(name, p) for name, p in doc.get("providers", {}).items()}
    models = {name: _model(name, m) for name, m in doc.get("models", {}).items()}
    keys = tuple(str(k) for k in doc.get("reasoning", {}).get("keys", ()))
    tenants = auth_tenants(doc.get("auth", {}).get("tenants", {}))
    settings = Settings(
        providers=providers,
        models=models,
        default_provider=doc.get("default_provider"),
        reasoning_keys=keys,
        auth_tenants=tenants,
        request_limits=request_limits(doc.get("limits", {})),
        rate_limits=rate_limits(doc.get("rate_limits", {})),
        embeddings=embedding_settings(doc.get("embeddings", {})),
    )
    mcp = {f"mcp_{k}": v for k, v in doc.get("mcp", {}).items()}
    local = {f"local_{k}": v for k, v in doc.get("local", {}).items()}
    return _apply(settings, {**server, **mcp, **local})


def _model(name: str, m: Mapping[str, Any]) -> ModelSettings:
    most, window = m.get("max_output_tokens"), m.get("context_window")
    for key, value in (("max_output_tokens", most), ("context_window", window)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"model {name!r}: {key} must be a whole number of at least 1")
    return ModelSettings(
        provider=str(m["provider"]),
        upstream_model=str(m.get("model", name)),
        max_output_tokens=most,
        context_window=window,
    )


def _seconds(owner: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{owner}: {key} must be a number of seconds above 0, not {value!r}")
    return float(value)


def _upstream(name: str, p: Mapping[str, Any]) -> UpstreamSettings:
    owner = f"provider {name!r}"
    read = _seconds(owner, "timeout_s", p.get("timeout_s", DEFAULT_IDLE_TIMEOUT_S))
    return UpstreamSettings(
        base_url=str(p["base_url"]),
        api_key=p.get("api_key"),
        timeout_s=read,
        connect_timeout_s=_seconds(
            owner, "connect_timeout_s", p.get("connect_timeout_s", DEFAULT_CONNECT_TIMEOUT_S)
        ),
        first_token_timeout_s=_seconds(owner, "first_token_timeout_s", p.get("first_token_timeout_s", read)),
        idle_timeout_s=_seconds(owner, "idle_timeout_s", p.get("idle_timeout_s", read)),
        type=str(p.get("type", "openai-compatible")),
        capabilities=dict(p.get("capabilities", {})),
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _load_file(path: Path) -> Settings:
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    try:
        return _parse(doc)
    except KeyError as exc:
        raise ConfigError(f"config file {path}: missing key {exc}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc


_FIELDS = {
    "http_host": str,
    "http_port": int,
    "grpc_host": str,
    "grpc_port": int,
    "data_dir": Path,
    "store": str,
    "background_lease_s": float,
    "ingest_concurrency": int,
    "envoy_admin_port": int,
    "workers": int,
    "drain_s": float,
    "log_level": str,
    "log_format": str,
    "metrics_host": str,
    "metrics_port": int,
    "models_refresh_s": float,
    "sse_keepalive_s": float,
    "mcp_connect_timeout_s": float,
    "mcp_call_timeout_s": float,
    "mcp_list_timeout_s": float,
}
_LISTS = ("mcp_allow_hosts", "mcp_deny_hosts")


def _apply(settings: Settings, values: Mapping[str, object]) -> Settings:
    changes: dict[str, object] = {}
    for key, convert in _FIELDS.items():
        value = values.get(key)
        if value is not None:
            try:
                changes[key] = convert(value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{key}: {value!r} is not a valid {convert.__name__}") from exc
    for key in _LISTS:
        value = values.get(key)
        if value is not None:
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple):
                raise ConfigError(f"{key}: expected a list of hosts")
            changes[key] = tuple(str(x).strip() for x in items if str(x).strip())
    for key in ("envoy", "strict_json", "metrics"):
        value = values.get(key)
        if value is not None:
            changes[key] = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    return replace(settings, local=_apply_local(settings.local, values), **changes)  # type: ignore[arg-type]


def _truthy(value: object) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")


def _apply_local(local: LocalSettings, values: Mapping[str, object]) -> LocalSettings:
    changes: dict[str, Any] = {}
    if values.get("local_enabled") is not None:
        changes["enabled"] = _truthy(values["local_enabled"])
    if values.get("local_model_path"):
        changes["model_path"] = Path(str(values["local_model_path"]))
    for key in ("n_threads", "n_ctx", "max_waiting"):
        value = values.get(f"local_{key}")
        if value is not None:
            try:
                changes[key] = int(str(value))
            except ValueError as exc:
                raise ConfigError(f"local {key}: {value!r} is not a whole number") from exc
    return replace(local, **changes)


def _from_env(env: Mapping[str, str]) -> dict[str, object]:
    keys = [
        *_FIELDS,
        *_LISTS,
        "envoy",
        "strict_json",
        "metrics",
        "upstream",
        "upstream_api_key",
        "upstream_type",
        "config",
        "reasoning_keys",
        "local_enabled",
        "local_model_path",
        "local_n_threads",
    ]
    return {k: env[f"REJOINDER_{k.upper()}"] for k in keys if f"REJOINDER_{k.upper()}" in env}


def _with_upstream(settings: Settings, url: str, api_key: str | None, kind: str) -> Settings:
    providers = dict(settings.providers)
    providers[DEFAULT_PROVIDER] = UpstreamSettings(base_url=url.rstrip("/"), api_key=api_key, type=kind)
    return replace(settings, providers=providers, default_provider=DEFAULT_PROVIDER)


def load(flags: Mapping[str, object], env: Mapping[str, str] | None = None) -> Settings:
    """Merge the sources; `flags` holds only what was given on the command line."""
    environ = os.environ if env is None else env
    merged: dict[str, object] = _from_env(environ)
    merged.update({k: v for k, v in flags.items() if v is not None})
    config = merged.get("config")
    settings = _load_file(Path(str(config))) if config else Settings()
    settings = _apply(settings, merged)
    try:
        settings = replace(settings, tracing=tracing_settings(environ))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    env_keys = merged.get("reasoning_keys")
    if env_keys:
        settings = replace(
            settings, reasoning_keys=tuple(k.strip() for k in str(env_keys).split(",") if k.strip())
        )
    upstream = merged.get("upstream")
    if upstream:
        key = merged.get("upstream_api_key")
        kind = str(merged.get("upstream_type") or "openai-compatible")
        settings = _with_upstream(settings, str(upstream), str(key) if key else None, kind)
    settings = replace(settings, log_level=settings.log_level.upper())
    _check(settings)
    return settings


def _check(settings: Settings) -> None:
    """Raise `ConfigError` for settings that cannot work together."""
    exposed = [h for h in (settings.http_host, settings.grpc_host) if not _is_loopback(h)]
    if exposed and key_count(settings.auth_tenants) == 0:
        raise ConfigError(
            f"listening on {exposed[0]} needs API keys: with none configured the server runs open, so only "
            "on loopback. Add [auth.tenants] to the config file (keys made with `rejoinder hash-key`)."
        )
    unknown = sorted(set(settings.rate_limits.tenants) - set(settings.auth_tenants))
    if unknown:
        raise ConfigError(
            f"[rate_limits.tenants.{unknown[0]}] names a tenant that [auth.tenants] does not have"
        )
    if settings.log_level not in LOG_LEVELS:
        raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}, not {settings.log_level!r}")
    if settings.log_format not in LOG_FORMATS:
        raise ConfigError(f"log_format must be one of {', '.join(LOG_FORMATS)}, not {settings.log_format!r}")
    if not 1 <= settings.workers <= MAX_WORKERS:
        raise ConfigError(f"workers must be between 1 and {MAX_WORKERS}, not {settings.workers}")
    if settings.background_lease_s <= 0:
        raise ConfigError(f"background_lease_s must be above 0, got {settings.background_lease_s}")
    if not 1 <= settings.ingest_concurrency <= MAX_INGEST_CONCURRENCY:
        most, given = MAX_INGEST_CONCURRENCY, settings.ingest_concurrency
        raise ConfigError(f"ingest_concurrency must be between 1 and {most}, not {given}")
    _check_providers(settings)


def _check_providers(settings: Settings) -> None:
    """Every name that points at a provider names one that is configured (or the local model)."""
    if "local" in settings.providers:
        raise ConfigError("the provider name 'local' is reserved for the built-in local model")
    for name, model in settings.models.items():
        if model.provider not in settings.providers and model.provider != "local":
            raise ConfigError(f"model {name!r} names unknown provider {model.provider!r}")
    embedder = settings.embeddings.provider
    if embedder != LOCAL and embedder not in settings.providers:
        raise ConfigError(f"[embeddings] provider {embedder!r} is neither 'local' nor a configured provider")
