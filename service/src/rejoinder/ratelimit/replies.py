"""What a limiter tells the caller: OpenAI's `x-ratelimit-*` headers, and the 429 in OpenAI's words.

Both limiters describe a tenant's state at one instant as a `Snapshot` and leave the wording to this
module, so the in-process and shared limiters answer alike.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

from rejoinder.errors import ApiError, ErrorKind
from rejoinder.ratelimit.window import Usage

Reason = Literal["requests", "tokens", "concurrent"]
"""Which limit refused a request: requests per minute, tokens per minute, or requests in flight."""

REASONS: dict[str, Reason] = {"requests": "requests", "tokens": "tokens", "concurrent": "concurrent"}
CODE = "rate_limit_exceeded"
CONCURRENT_RETRY_S = 1.0
"""Nobody knows when a request in flight ends; a client refused for concurrency tries again after this."""

Headers = tuple[tuple[str, str], ...]


def duration(seconds: float) -> str:
    """A duration as OpenAI writes it in `x-ratelimit-reset-*` (Go's style, to the millisecond, rounded
    up): `0s`, `20ms`, `1s`, `8.64s`, `6m0s`, `1h2m3.5s`."""
    millis = math.ceil(round(seconds * 1000, 3))  # the rounding drops float noise from epoch arithmetic
    if millis <= 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, fraction = divmod(rest, 1000)
    text = f"{whole}.{fraction:03d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    if minutes:
        return f"{minutes}m{text}"
    return text


def whole_seconds(seconds: float) -> int:
    """`seconds` rounded up to whole seconds, at least 1 (`Retry-After`)."""
    return max(1, math.ceil(round(seconds, 3)))


def concurrent_usage(limit: int, in_flight: int) -> Usage:
    """The concurrency limit as a `Usage`: nothing resets it by time."""
    return Usage(limit, in_flight, 0.0, CONCURRENT_RETRY_S if in_flight >= limit else 0.0)


class Snapshot(NamedTuple):
    """A tenant's limits and what it has used of each, at one instant; None where it has no limit."""

    requests: Usage | None = None
    tokens: Usage | None = None
    concurrent: Usage | None = None

    def headers(self) -> Headers:
        """OpenAI's `x-ratelimit-*` headers for the per-minute limits the tenant has."""
        found: Headers = ()
        if self.requests is not None:
            found += _headers("requests", self.requests)
        if self.tokens is not None:
            found += _headers("tokens", self.tokens)
        return found

    def refusal(self, reason: Reason) -> ApiError:
        """The 429 for a request that `reason` refused; `Retry-After` waits for every exhausted limit."""
        waits = [u.wait_s for u in (self.requests, self.tokens, self.concurrent) if u and u.exhausted]
        retry = whole_seconds(max(waits, default=CONCURRENT_RETRY_S))
        later = f"Please try again in {duration(retry)}."
        limit = self.requests if reason == "requests" else self.tokens
        if reason == "concurrent" or limit is None:
            held = self.concurrent or concurrent_usage(0, 0)
            message = f"Too many concurrent requests: limit {held.limit}, in flight {held.used}. {later}"
        else:
            per_min = "requests per min (RPM)" if reason == "requests" else "tokens per min (TPM)"
            # Tokens are charged when a response ends, so a request asks for none up front.
            asked = 1 if reason == "requests" else 0
            message = (
                f"Rate limit reached for {per_min}: Limit {limit.limit}, Used {limit.used}, "
                f"Requested {asked}. {later}"
            )
        return ApiError(
            ErrorKind.RATE_LIMIT,
            message,
            code=CODE,
            retry_after=str(retry),
            headers=self.headers(),
            error_type="tokens" if reason == "tokens" else "requests",
        )


def _headers(kind: str, used: Usage) -> Headers:
    return (
        (f"x-ratelimit-limit-{kind}", str(used.limit)),
        (f"x-ratelimit-remaining-{kind}", str(used.remaining)),
        (f"x-ratelimit-reset-{kind}", duration(used.reset_s)),
    )
