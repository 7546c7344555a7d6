"""One limiter as one process sees it: its window, its headers and its 429s, driven by a fake clock.

Each behaviour test runs on the in-process limiter and on the SQLite limiter (alone on its file), which
must answer alike. `flush` writes the SQLite limiter's finishes now (the in-process one has none pending).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from rejoinder.config_limits import RateLimitSettings, TenantLimits
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.ratelimit.base import Admission
from rejoinder.ratelimit.memory import MemoryRateLimiter
from rejoinder.ratelimit.replies import duration
from rejoinder.ratelimit.sqlite import SqliteRateLimiter
from rejoinder.ratelimit.window import Window
from tests.fakes import FakeClock

T0 = 1_700_000_000.0  # FakeClock's start: a whole second

Limiter = MemoryRateLimiter | SqliteRateLimiter
Make = Callable[..., Awaitable[tuple[Limiter, FakeClock]]]


@pytest.fixture(params=["memory", "sqlite"])
async def limiter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Make]:
    """Makes a limiter (and its clock) where tenant "t" has the limits given: rpm, tpm, concurrent."""
    opened: list[Limiter] = []

    async def make(
        rpm: int | None = None, tpm: int | None = None, concurrent: int | None = None
    ) -> tuple[Limiter, FakeClock]:
        clock = FakeClock(T0)
        settings = RateLimitSettings(tenants={"t": TenantLimits(rpm, tpm, concurrent)})
        limits: Limiter
        if request.param == "memory":
            limits = MemoryRateLimiter(settings, clock)
        else:
            limits = await SqliteRateLimiter.open(tmp_path / "rejoinder.db", settings, clock, replica="r")
        opened.append(limits)
        return limits, clock

    yield make
    for limits in opened:
        await limits.close()


async def refused(limits: Limiter, tenant: str = "t") -> ApiError:
    with pytest.raises(ApiError) as caught:
        await limits.admit(tenant)
    return caught.value


def requests_headers(limit: str, remaining: str, reset: str) -> tuple[tuple[str, str], ...]:
    return (
        ("x-ratelimit-limit-requests", limit),
        ("x-ratelimit-remaining-requests", remaining),
        ("x-ratelimit-reset-requests", reset),
    )


def tokens_headers(limit: str, remaining: str, reset: str) -> tuple[tuple[str, str], ...]:
    return (
        ("x-ratelimit-limit-tokens", limit),
        ("x-ratelimit-remaining-tokens", remaining),
        ("x-ratelimit-reset-tokens", reset),
    )


async def test_a_tenant_without_limits_gets_one_shared_admission_and_no_headers(limiter: Make) -> None:
    limits, _ = await limiter(rpm=1)
    first = await limits.admit("other")
    second = await limits.admit("other")
    assert first is second
    assert first.headers == ()
    first.finish(1_000_000)
    assert (await limits.admit("other")).headers == ()


async def test_the_request_past_the_limit_is_refused_in_openai_words(limiter: Make) -> None:
    limits, _ = await limiter(rpm=3)
    remaining = [(await limits.admit("t")).headers for _ in range(3)]
    assert remaining == [requests_headers("3", str(n), "1m0s") for n in (2, 1, 0)]
    err = await refused(limits)
    assert err.kind is ErrorKind.RATE_LIMIT
    assert err.message == (
        "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. "
        "Please try again in 1m0s."
    )
    assert (err.code, err.error_type, err.retry_after) == ("rate_limit_exceeded", "requests", "60")
    assert err.headers == requests_headers("3", "0", "1m0s")


async def test_requests_are_admitted_again_as_the_window_slides(limiter: Make) -> None:
    limits, clock = await limiter(rpm=3)
    await limits.admit("t")
    clock.advance(30)
    await limits.admit("t")
    await limits.admit("t")
    assert (await refused(limits)).retry_after == "30"
    clock.advance(29.999)
    assert (await refused(limits)).retry_after == "1"
    clock.advance(0.001)  # 60 s after the first
    assert (await limits.admit("t")).headers == requests_headers("3", "0", "1m0s")
    err = await refused(limits)
    assert err.retry_after == "30"
    assert err.message.endswith("Please try again in 30s.")


async def test_a_request_between_whole_seconds_counts_until_its_second_ends_plus_60(limiter: Make) -> None:
    limits, clock = await limiter(rpm=1)
    clock.advance(0.3)
    assert (await limits.admit("t")).headers == requests_headers("1", "0", "1m0.7s")
    clock.advance(60.699)
    assert (await refused(limits)).headers == requests_headers("1", "0", "1ms")
    clock.advance(T0 + 61 - clock.now())  # exactly T0 + 61, without the float noise of adding up
    assert (await limits.admit("t")).headers == requests_headers("1", "0", "1m0s")


async def test_no_60_second_span_ever_holds_more_than_the_limit(limiter: Make) -> None:
    limits, clock = await limiter(rpm=5)
    admitted: list[float] = []
    for _ in range(1200):  # a request every 0.25 s for 300 s
        try:
            await limits.admit("t")
            admitted.append(clock.now())
        except ApiError:
            pass
        clock.advance(0.25)
    for start in admitted:
        assert sum(1 for t in admitted if start <= t < start + 60) <= 5
    assert len(admitted) == 25  # five per 60-61 s, never 2x at a minute boundary


async def test_tokens_are_charged_at_finish_and_refuse_once_the_limit_is_used(limiter: Make) -> None:
    limits, clock = await limiter(tpm=100)
    first = await limits.admit("t")
    second = await limits.admit("t")  # nothing used yet: never refused for tokens not yet used
    assert first.headers == tokens_headers("100", "100", "0s")
    first.finish(60)
    await limits.flush()
    clock.advance(20)
    assert (await limits.admit("t")).headers == tokens_headers("100", "40", "40s")
    second.finish(50)
    await limits.flush()
    err = await refused(limits)
    assert err.message == (
        "Rate limit reached for tokens per min (TPM): Limit 100, Used 110, Requested 0. "
        "Please try again in 40s."
    )
    assert (err.code, err.error_type, err.retry_after) == ("rate_limit_exceeded", "tokens", "40")
    assert err.headers == tokens_headers("100", "0", "1m0s")
    clock.advance(40)  # the first 60 tokens expire: 50 used
    assert (await limits.admit("t")).headers == tokens_headers("100", "50", "20s")


async def test_concurrent_requests_hold_a_slot_until_finish(limiter: Make) -> None:
    limits, _ = await limiter(concurrent=2)
    first = await limits.admit("t")
    await limits.admit("t")
    err = await refused(limits)
    assert err.message == "Too many concurrent requests: limit 2, in flight 2. Please try again in 1s."
    assert (err.code, err.error_type, err.retry_after, err.headers) == (
        "rate_limit_exceeded",
        "requests",
        "1",
        (),
    )
    first.finish(10)
    await limits.flush()
    assert (await limits.admit("t")).headers == ()
    await refused(limits)


async def test_finish_counts_once(limiter: Make) -> None:
    limits, _ = await limiter(tpm=100, concurrent=1)
    admission = await limits.admit("t")
    admission.finish(30)
    admission.finish(30)
    await limits.flush()
    second = await limits.admit("t")
    assert second.headers == tokens_headers("100", "70", "1m0s")
    await refused(limits)  # the second finish did not release the second admission's slot


async def test_a_refused_request_consumes_nothing(limiter: Make) -> None:
    limits, _ = await limiter(rpm=3, concurrent=1)
    held = await limits.admit("t")
    for _ in range(5):
        assert "concurrent" in (await refused(limits)).message
    held.finish(0)
    await limits.flush()
    assert (await limits.admit("t")).headers == requests_headers("3", "1", "1m0s")


async def test_retry_after_waits_for_every_exhausted_limit(limiter: Make) -> None:
    limits, clock = await limiter(rpm=2, tpm=10)
    first = await limits.admit("t")
    clock.advance(30)
    second = await limits.admit("t")  # requests at T0 and T0 + 30: one is free again at T0 + 60
    clock.advance(5)
    second.finish(10)  # tokens at T0 + 35: free again at T0 + 95
    first.finish(0)
    await limits.flush()
    clock.advance(5)
    err = await refused(limits)
    assert err.error_type == "requests"
    assert err.retry_after == "55"
    assert err.message.endswith("Used 2, Requested 1. Please try again in 55s.")
    assert err.headers == requests_headers("2", "0", "50s") + tokens_headers("10", "0", "55s")


async def test_tokens_finished_later_expire_later(limiter: Make) -> None:
    limits, clock = await limiter(tpm=10)
    admission = await limits.admit("t")
    clock.advance(30)
    admission.finish(10)
    await limits.flush()
    clock.advance(59)
    assert (await refused(limits)).retry_after == "1"
    clock.advance(1)
    assert (await limits.admit("t")).headers == tokens_headers("10", "10", "0s")


async def test_a_closed_limiter_admits_nothing(limiter: Make) -> None:
    limits, _ = await limiter(rpm=3)
    await limits.close()
    with pytest.raises(RuntimeError):
        await limits.admit("t")


def test_unlimited_admissions_finish_to_nothing() -> None:
    Admission().finish(5)
    seen: list[int] = []
    admission = Admission((), seen.append)
    admission.finish(-3)
    admission.finish(4)
    assert seen == [0]


def test_a_window_keeps_its_buckets_in_order_when_the_clock_goes_back() -> None:
    window = Window(10)
    window.add(T0 + 10, 1)
    window.add(T0 + 5, 2)
    window.add(T0 + 10, 3)
    window.add(T0 + 7.5, 4)
    assert window.total == 10
    used = window.usage(T0 + 10)
    assert (used.used, used.reset_s, used.wait_s) == (10, 60.0, 55.0)
    window.trim(T0 + 65)
    assert window.usage(T0 + 65).used == 8
    window.trim(T0 + 68)
    assert window.usage(T0 + 68).used == 4
    window.trim(T0 + 70)
    assert window.usage(T0 + 70).used == 0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0s"),
        (-1.0, "0s"),
        (0.0001, "1ms"),
        (0.02, "20ms"),
        (0.999, "999ms"),
        (1.0, "1s"),
        (8.64, "8.64s"),
        (59.9999999, "1m0s"),
        (60.0, "1m0s"),
        (61.5, "1m1.5s"),
        (360.0, "6m0s"),
        (3723.5, "1h2m3.5s"),
        (T0 + 61 - (T0 + 0.3), "1m0.7s"),  # epoch arithmetic's float noise does not round up
    ],
)
def test_durations_are_written_as_openai_writes_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


async def test_an_admission_is_pending_until_finished_never_for_an_unlimited_tenant(limiter: Make) -> None:
    limits, _ = await limiter(tpm=100, concurrent=2)
    assert not (await limits.admit("unlimited")).pending  # nothing to finish: runs skip its finalizer
    admission = await limits.admit("t")
    assert admission.pending
    admission.finish(10)
    assert not admission.pending
