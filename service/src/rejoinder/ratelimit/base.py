"""The rate limiter interface, and the admission a request holds until its response ends.

A tenant's limits come from `RateLimitSettings.for_tenant` (`config_limits.py`); None is no limit:

- requests per minute (RPM): admitted while fewer than the limit were admitted in the last 60 s;
- tokens per minute (TPM): admitted while the tokens charged in the last 60 s are below the limit.
  Tokens are charged when the response ends (what the upstream reported), so a request is never
  refused for tokens it has not used yet;
- concurrent requests: admitted while fewer than the limit are unfinished.

"The last 60 s" is the sliding window of `window.py`, not a calendar minute. A refused request consumes
nothing. A tenant without limits is admitted without any work and gets no headers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rejoinder.ratelimit.replies import Headers


class Admission:
    """An admitted request: the `x-ratelimit-*` headers for its reply, and `finish` for when it ends."""

    __slots__ = ("_on_finish", "headers")

    def __init__(self, headers: Headers = (), on_finish: Callable[[int], None] | None = None) -> None:
        self.headers = headers
        self._on_finish = on_finish

    @property
    def pending(self) -> bool:
        """Whether `finish` still has something to do (an unlimited tenant's never has)."""
        return self._on_finish is not None

    def finish(self, tokens: int) -> None:
        """The response ended: release its concurrency slot and charge `tokens` (what the upstream
        reported) to the tenant's tokens per minute. Only the first call counts."""
        on_finish, self._on_finish = self._on_finish, None
        if on_finish is not None:
            on_finish(max(0, tokens))


class RateLimiter(Protocol):
    """Admits a tenant's requests within its limits."""

    async def admit(self, tenant: str) -> Admission:
        """Admit one request of `tenant`, or raise the 429 `ApiError` (`replies.Snapshot.refusal`)."""
        ...

    async def close(self) -> None:
        """Write what is pending and stop; no admission after this."""
        ...
