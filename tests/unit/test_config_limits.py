"""`[limits]` and `[rate_limits]`."""

from __future__ import annotations

import pytest

from rejoinder.config_limits import (
    RateLimitSettings,
    RequestLimits,
    TenantLimits,
    rate_limits,
    request_limits,
)


def test_limits_default_to_openais() -> None:
    assert request_limits({}) == RequestLimits(10_000, 128, 10_485_760, 32 * 1024 * 1024)
    assert request_limits({"max_tools": 8}).max_tools == 8


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"max_tools": 0}, "[limits] max_tools must be a whole number of at least 1"),
        ({"max_tools": "8"}, "must be a whole number"),
        ({"max_tool": 8}, "[limits] has no key 'max_tool'"),
    ],
)
def test_bad_limits_are_refused(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=None) as refused:
        request_limits(doc)
    assert message in str(refused.value)


def test_a_tenants_rate_limits_override_the_defaults_key_by_key() -> None:
    settings = rate_limits(
        {
            "requests_per_minute": 60,
            "tokens_per_minute": 1000,
            "tenants": {"acme": {"requests_per_minute": 5}},
        }
    )
    assert settings.for_tenant("acme") == TenantLimits(5, 1000, None)
    assert settings.for_tenant("globex") == TenantLimits(60, 1000, None)
    assert not settings.unlimited and RateLimitSettings().unlimited
    with pytest.raises(ValueError, match="has no key 'rpm'"):
        rate_limits({"rpm": 5})
