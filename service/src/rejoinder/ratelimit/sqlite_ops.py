"""The SQLite side of `SqliteRateLimiter`: every statement it runs, on the limiter's one worker thread.

Each function takes that thread's connection. Those of more than one statement are one `BEGIN IMMEDIATE`
transaction: it takes the database's write lock before it reads, so whatever it reads is still true when
it writes, in this process and in every other one on the same file. The tables are migration 3 of
`store/sqlite_schema.py`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import NamedTuple

from rejoinder.config_limits import TenantLimits
from rejoinder.ratelimit.finishes import Charge, Release
from rejoinder.ratelimit.replies import Reason, Snapshot, concurrent_usage
from rejoinder.ratelimit.window import WINDOW_S, Window, bucket
from rejoinder.store.sqlite_ops import transaction

REQUESTS = "requests"
TOKENS = "tokens"

_TRIM = "DELETE FROM ratelimit_buckets WHERE tenant = ?1 AND kind IN ('requests', 'tokens') AND bucket <= ?2"
_BUCKETS = "SELECT kind, bucket, amount FROM ratelimit_buckets WHERE tenant = ?1 ORDER BY kind, bucket"
_ADD = """
INSERT INTO ratelimit_buckets (tenant, kind, bucket, amount) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT DO UPDATE SET amount = amount + excluded.amount
"""
_IN_FLIGHT = (
    "SELECT coalesce(sum(in_flight), 0) FROM ratelimit_in_flight WHERE tenant = ?1 AND expires_at > ?2"
)
_TAKE_SLOT = """
INSERT INTO ratelimit_in_flight (tenant, replica, in_flight, expires_at) VALUES (?1, ?2, 1, ?3)
ON CONFLICT DO UPDATE SET in_flight = in_flight + 1, expires_at = max(expires_at, excluded.expires_at)
"""
_RELEASE = (
    "UPDATE ratelimit_in_flight SET in_flight = max(in_flight - ?3, 0) WHERE tenant = ?1 AND replica = ?2"
)
_DROP_GONE = "DELETE FROM ratelimit_in_flight WHERE replica <> ?1 AND expires_at <= ?2"
_RENEW = "UPDATE ratelimit_in_flight SET expires_at = ?2 WHERE replica = ?1"
_DROP_EXPIRED = "DELETE FROM ratelimit_buckets WHERE bucket <= ?1"
_RELEASE_ALL = "DELETE FROM ratelimit_in_flight WHERE replica = ?1"


class Verdict(NamedTuple):
    """What one admission decided: the limit that refused it (None: admitted), and the tenant's usage
    after it (before it, when refused)."""

    refused: Reason | None
    snapshot: Snapshot


def admit(
    conn: sqlite3.Connection, tenant: str, replica: str, now: float, lease_s: float, limits: TenantLimits
) -> Verdict:
    """Admit one request of `tenant` at `now`, or refuse it and write nothing but the trim."""
    rpm, tpm, concurrent = limits.requests_per_minute, limits.tokens_per_minute, limits.concurrent_requests
    with transaction(conn, "IMMEDIATE"):
        requests, tokens = _windows(conn, tenant, rpm, tpm, now)
        in_flight = 0 if concurrent is None else int(conn.execute(_IN_FLIGHT, (tenant, now)).fetchone()[0])
        refused = _refusal(requests, tokens, concurrent, in_flight, now)
        if refused is None:
            if requests is not None:
                conn.execute(_ADD, (tenant, REQUESTS, bucket(now), 1))
                requests.add(now, 1)
            if concurrent is not None:
                conn.execute(_TAKE_SLOT, (tenant, replica, now + lease_s))
                in_flight += 1
    return Verdict(
        refused,
        Snapshot(
            None if requests is None else requests.usage(now),
            None if tokens is None else tokens.usage(now),
            None if concurrent is None else concurrent_usage(concurrent, in_flight),
        ),
    )


def _windows(
    conn: sqlite3.Connection, tenant: str, rpm: int | None, tpm: int | None, now: float
) -> tuple[Window | None, Window | None]:
    """The tenant's request and token windows at `now`, their expired buckets deleted; None for a limit
    it does not have."""
    requests = None if rpm is None else Window(rpm)
    tokens = None if tpm is None else Window(tpm)
    if requests is None and tokens is None:
        return None, None
    conn.execute(_TRIM, (tenant, now - WINDOW_S))
    for kind, key, amount in conn.execute(_BUCKETS, (tenant,)):
        window = requests if kind == REQUESTS else tokens
        if window is not None:
            window.add(key, amount)  # oldest first: each is appended
    return requests, tokens


def _refusal(
    requests: Window | None, tokens: Window | None, concurrent: int | None, in_flight: int, now: float
) -> Reason | None:
    """The first limit that refuses one more request (in the order of `memory.py`)."""
    if requests is not None and requests.exhausted(now):
        return "requests"
    if tokens is not None and tokens.exhausted(now):
        return "tokens"
    if concurrent is not None and in_flight >= concurrent:
        return "concurrent"
    return None


def finish(
    conn: sqlite3.Connection, replica: str, now: float, charges: Sequence[Charge], releases: Sequence[Release]
) -> None:
    """What this replica's finished responses did, in one transaction: tokens charged in the bucket of
    the moment each finished (unless that has left the window already), slots released."""
    horizon = now - WINDOW_S
    with transaction(conn, "IMMEDIATE"):
        conn.executemany(_ADD, [(t, TOKENS, key, n) for t, key, n in charges if key > horizon])
        conn.executemany(_RELEASE, [(t, replica, n) for t, n in releases])


def renew(conn: sqlite3.Connection, replica: str, now: float, lease_s: float) -> None:
    """Renew this replica's slots; drop the slots of replicas gone for a whole lease and the buckets no
    window counts any more (of tenants that have stopped asking)."""
    with transaction(conn, "IMMEDIATE"):
        conn.execute(_DROP_GONE, (replica, now - lease_s))
        conn.execute(_RENEW, (replica, now + lease_s))
        conn.execute(_DROP_EXPIRED, (now - WINDOW_S,))


def release_all(conn: sqlite3.Connection, replica: str) -> None:
    """Drop every slot of `replica` (a closing process's, or a previous process's with the same id)."""
    conn.execute(_RELEASE_ALL, (replica,))
