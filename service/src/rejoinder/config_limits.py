"""The `[limits]` and `[rate_limits]` sections of the config: what one request may hold, and how much
each tenant may ask for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class RequestLimits:
    """What one request may hold: OpenAI's limits where it documents them (128 tools, strings of
    10,485,760 characters), ours where it does not."""

    max_input_items: int = 10_000
    max_tools: int = 128
    max_string_chars: int = 10_485_760
    max_request_body_bytes: int = 32 * MIB
    max_file_bytes: int = 512 * MIB  # one uploaded file (POST /v1/files); OpenAI's limit


@dataclass(frozen=True)
class TenantLimits:
    """Rate limits of one tenant; None is no limit."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    concurrent_requests: int | None = None

    @property
    def unlimited(self) -> bool:
        """No limit is set."""
        return self == TenantLimits()


@dataclass(frozen=True)
class RateLimitSettings:
    """`default` applies to every tenant; a tenant's own entry overrides it key by key."""

    default: TenantLimits = field(default_factory=TenantLimits)
    tenants: Mapping[str, TenantLimits] = field(default_factory=dict)

    def for_tenant(self, tenant: str) -> TenantLimits:
        """The limits that apply to `tenant`."""
        return self.tenants.get(tenant, self.default)

    @property
    def unlimited(self) -> bool:
        """No tenant has any limit."""
        return self.default.unlimited and all(t.unlimited for t in self.tenants.values())


def _whole(section: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"[{section}] {key} must be a whole number of at least 1, not {value!r}")
    return value


def _known(section: str, doc: Mapping[str, Any], names: set[str]) -> None:
    unknown = sorted(set(doc) - names)
    if unknown:
        expected = ", ".join(sorted(names))
        raise ValueError(f"[{section}] has no key {unknown[0]!r}; expected one of: {expected}")


def request_limits(doc: Mapping[str, Any]) -> RequestLimits:
    """`[limits]`: each key a whole number of at least 1."""
    names = {f.name for f in fields(RequestLimits)}
    _known("limits", doc, names)
    return replace(RequestLimits(), **{k: _whole("limits", k, v) for k, v in doc.items()})


def _tenant_limits(section: str, doc: Mapping[str, Any], base: TenantLimits) -> TenantLimits:
    names = {f.name for f in fields(TenantLimits)}
    _known(section, doc, names)
    return replace(base, **{k: _whole(section, k, v) for k, v in doc.items()})


def rate_limits(doc: Mapping[str, Any]) -> RateLimitSettings:
    """`[rate_limits]` (every tenant's) and `[rate_limits.tenants.NAME]` (one tenant's, over those)."""
    own = doc.get("tenants", {})
    if not isinstance(own, Mapping):
        raise ValueError("[rate_limits] tenants must be a table of tenants")
    default = _tenant_limits("rate_limits", {k: v for k, v in doc.items() if k != "tenants"}, TenantLimits())
    tenants = {
        str(name): _tenant_limits(f"rate_limits.tenants.{name}", limits, default)
        for name, limits in own.items()
    }
    return RateLimitSettings(default=default, tenants=tenants)
