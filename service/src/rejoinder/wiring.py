"""How the collaborators that depend on configuration are built from `Settings`: the reasoning sealer,
the local model, the MCP connector, the server-side tool kinds and the provider registry. `app.py`
puts them together."""

from __future__ import annotations

import base64
import binascii
import os
from urllib.parse import urlsplit

from rejoinder.config import ConfigError, Settings
from rejoinder.core.context.sealing import ReasoningSealer, new_key
from rejoinder.core.vector_stores.assemble import VectorStoresApp
from rejoinder.observe.observer import SILENT, Observer
from rejoinder.observe.provider import ObservedProvider
from rejoinder.observe.tools import ObservedConnector, ObservedKind
from rejoinder.observe.tracing import Tracing
from rejoinder.providers.base import Provider
from rejoinder.providers.factory import build_provider
from rejoinder.providers.local import (
    MODEL_NAME,
    LocalModelConfig,
    LocalProvider,
    default_model_path,
    unavailable_reason,
)
from rejoinder.providers.registry import ModelEntry, ProviderRegistry
from rejoinder.providers.timeouts import UpstreamTimeouts
from rejoinder.tools.file_search.kind import FileSearchKind
from rejoinder.tools.mcp.client import McpSettings, SdkMcpConnector
from rejoinder.tools.mcp.kind import McpKind
from rejoinder.tools.registry import ToolKinds

LOCAL_PROVIDER = "local"


def reasoning_sealer(settings: Settings) -> ReasoningSealer:
    """Configured keys (first seals), or a key kept in the data directory, made on first start."""
    if settings.reasoning_keys:
        try:
            return ReasoningSealer([base64.b64decode(k, validate=True) for k in settings.reasoning_keys])
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(f"reasoning keys must be base64 of 32 bytes: {exc}") from exc
    path = settings.data_dir / "reasoning.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(new_key())
    return ReasoningSealer([path.read_bytes()])


def local_provider(settings: Settings) -> LocalProvider | None:
    """The built-in local model, when it is on (by default: when no upstream is configured)."""
    local = settings.local
    wanted = local.enabled if local.enabled is not None else not settings.providers
    if not wanted:
        return None
    path = local.model_path or default_model_path()
    reason = unavailable_reason(path)
    if reason is not None:
        if local.enabled:
            raise ConfigError(f"the local model cannot run: {reason}")
        print(f"rejoinder: no local model ({reason})", flush=True)
        return None
    assert path is not None
    config = LocalModelConfig(
        path, n_threads=local.n_threads, n_ctx=local.n_ctx, max_waiting=local.max_waiting
    )
    return LocalProvider(config)


async def load_local(settings: Settings) -> LocalProvider | None:
    """The local model as `settings` say, loaded (None when it is off or cannot run)."""
    local = local_provider(settings)
    if local is not None:
        await local.load()
    return local


def mcp_connector(settings: Settings) -> SdkMcpConnector:
    """MCP servers reached with the configured timeouts and host rules."""
    return SdkMcpConnector(
        McpSettings(
            connect_timeout_s=settings.mcp_connect_timeout_s,
            call_timeout_s=settings.mcp_call_timeout_s,
            list_timeout_s=settings.mcp_list_timeout_s,
            allow_hosts=settings.mcp_allow_hosts,
            deny_hosts=settings.mcp_deny_hosts,
        )
    )


def tool_kinds(settings: Settings, observer: Observer, vector_stores: VectorStoresApp) -> ToolKinds:
    """The server-side tool kinds this server runs (tools/base.py), each observed at the tool seam."""
    mcp = McpKind(ObservedConnector(mcp_connector(settings), observer))
    file_search = FileSearchKind(vector_stores.search, vector_stores.stores)
    return ToolKinds([ObservedKind(mcp, observer), ObservedKind(file_search, observer)])


def _address(base_url: str) -> tuple[str, int] | None:
    """An upstream's host and port (its URL's, or the scheme's default port)."""
    parts = urlsplit(base_url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return (parts.hostname, port) if parts.hostname else None


def build_registry(
    settings: Settings,
    local: Provider | None,
    observer: Observer = SILENT,
    tracing: Tracing | None = None,
) -> ProviderRegistry:
    """One adapter per configured upstream, the local model if on, and the model routes; each provider's
    calls observed under its configured name (and traced, with `tracing`)."""
    providers: dict[str, Provider] = {}
    addresses: dict[str, tuple[str, int] | None] = {}
    hooks = tracing.client_trace_configs() if tracing is not None else []
    for name, u in settings.providers.items():
        try:
            timeouts = UpstreamTimeouts(u.connect_timeout_s, u.first_token_timeout_s, u.idle_timeout_s)
            providers[name] = build_provider(u.type, u.base_url, u.api_key, timeouts, u.capabilities, hooks)
        except ValueError as exc:
            raise ConfigError(f"provider {name!r}: {exc}") from exc
        addresses[name] = _address(u.base_url)
    models = {
        name: ModelEntry(m.provider, m.upstream_model, m.max_output_tokens, m.context_window)
        for name, m in settings.models.items()
    }
    default = settings.default_provider
    windows: dict[str, int] = {}
    if local is not None:  # in this process, or another worker's (it answers any model name)
        providers[LOCAL_PROVIDER] = local
        models[MODEL_NAME] = ModelEntry(LOCAL_PROVIDER, MODEL_NAME.partition("/")[2])
        default = default or LOCAL_PROVIDER
        windows[LOCAL_PROVIDER] = settings.local.n_ctx
    observed: dict[str, Provider] = {
        n: ObservedProvider(p, n, observer, addresses.get(n)) for n, p in providers.items()
    }
    return ProviderRegistry(observed, models, default, refresh_s=settings.models_refresh_s, windows=windows)
