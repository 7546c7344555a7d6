"""Building a provider adapter from configuration: its type, where it is, and capability overrides.

Selecting an adapter is configuration (`type = "vllm"` on an upstream), never code in core. Each type
has its capabilities declared as a constant in its module; `capability_overrides` (a mapping from
`Capabilities` field names to values) is merged over them, for a server whose version or flags differ
from the defaults (an older vLLM, a text-only model, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import Literal, get_args

import aiohttp

from rejoinder.providers import llamacpp, ollama, openai, vllm
from rejoinder.providers.base import Capabilities, Provider
from rejoinder.providers.openai_compat import OpenAICompatProvider, UpstreamConfig
from rejoinder.providers.timeouts import UpstreamTimeouts

ProviderType = Literal["openai-compatible", "vllm", "ollama", "llamacpp", "openai"]
PROVIDER_TYPES: tuple[ProviderType, ...] = get_args(ProviderType)

GENERIC_CAPABILITIES = Capabilities()
"""An unknown OpenAI-compatible server: reasoning is read from either usual field, nothing is sent back."""


def _adapter(provider_type: str) -> tuple[type[OpenAICompatProvider], Capabilities]:
    match provider_type:
        case "openai-compatible":
            return OpenAICompatProvider, GENERIC_CAPABILITIES
        case "vllm":
            return vllm.VLLMProvider, vllm.CAPABILITIES
        case "ollama":
            return ollama.OllamaProvider, ollama.CAPABILITIES
        case "llamacpp":
            return llamacpp.LlamaCppProvider, llamacpp.CAPABILITIES
        case "openai":
            return openai.OpenAIProvider, openai.CAPABILITIES
    raise ValueError(f"unknown provider type {provider_type!r}; expected one of: {', '.join(PROVIDER_TYPES)}")


def default_capabilities(provider_type: str) -> Capabilities:
    """The capabilities an adapter type declares. Raises `ValueError` for an unknown type."""
    return _adapter(provider_type)[1]


def merge_capabilities(defaults: Capabilities, overrides: Mapping[str, object]) -> Capabilities:
    """`defaults` with `overrides` applied. Raises `ValueError` naming a bad key or value.

    Flags take booleans; `reasoning_field` takes a field name, or "" (or None) for none.
    """
    kinds = {f.name: str(f.type) for f in fields(Capabilities)}
    unknown = sorted(set(overrides) - set(kinds))
    if unknown:
        raise ValueError(
            f"unknown capability {', '.join(map(repr, unknown))}; expected one of: {', '.join(sorted(kinds))}"
        )
    flags: dict[str, bool] = {}
    field_name = defaults.reasoning_field
    for name, value in overrides.items():
        if kinds[name] == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"capability {name!r} must be true or false, not {value!r}")
            flags[name] = value
        elif name == "reasoning_field":
            field_name = _reasoning_field(value)
        else:  # a Capabilities field this factory does not know how to read yet
            raise ValueError(f"capability {name!r} cannot be overridden from configuration")
    return replace(defaults, reasoning_field=field_name, **flags)


def _reasoning_field(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isidentifier():
        return value
    raise ValueError(f"capability 'reasoning_field' must be a field name or \"\", not {value!r}")


def build_provider(
    provider_type: str,
    base_url: str,
    api_key: str | None,
    timeouts: UpstreamTimeouts | float,
    capability_overrides: Mapping[str, object],
    trace_configs: Sequence[aiohttp.TraceConfig] = (),
) -> Provider:
    """The adapter for one configured upstream. Raises `ValueError` for an unknown type or a bad override.

    `timeouts` as one number bounds the connect, the first token and each silence alike; `trace_configs`
    are the request hooks of its HTTP pool (tracing).
    """
    cls, defaults = _adapter(provider_type)
    capabilities = merge_capabilities(defaults, capability_overrides)
    if not isinstance(timeouts, UpstreamTimeouts):
        timeouts = UpstreamTimeouts.uniform(timeouts)
    return cls(UpstreamConfig(base_url, api_key, timeouts, capabilities), trace_configs=trace_configs)
