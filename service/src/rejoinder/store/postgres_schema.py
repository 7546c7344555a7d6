"""The PostgreSQL schema as ordered migrations, tracked in the one-row table `rejoinder_schema`.

Migration N (1-based) brings the database from version N-1 to N. Never edit a released migration;
append a new one. Replicas may start together: the migrations run under a transaction-scoped advisory
lock, so each is applied once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from asyncpg import Connection, Record
    from asyncpg.pool import PoolConnectionProxy

    Conn: TypeAlias = Connection[Record] | PoolConnectionProxy[Record]
    """A connection, or one lent by a pool."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: responses (each of one tenant), the input items they were given; background runs: who runs
    # each (a heartbeat per runner), cancel requests, and their event streams (one row per event);
    # conversations (each of one tenant, metadata as JSON bytes) and their items.
    (
        """
        CREATE TABLE responses (
            id TEXT PRIMARY KEY,
            previous_response_id TEXT,
            created_at BIGINT NOT NULL,
            status TEXT NOT NULL,
            body BYTEA NOT NULL,
            tenant TEXT NOT NULL DEFAULT '',
            owner TEXT,
            heartbeat_at BIGINT,
            cancel_requested BOOLEAN NOT NULL DEFAULT false
        )
        """,
        """
        CREATE TABLE input_items (
            response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            item_id TEXT NOT NULL,
            body BYTEA NOT NULL,
            PRIMARY KEY (response_id, position)
        )
        """,
        """
        CREATE TABLE response_events (
            response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
            sequence_number INTEGER NOT NULL,
            body BYTEA NOT NULL,
            PRIMARY KEY (response_id, sequence_number)
        )
        """,
        "CREATE INDEX responses_previous_response_id ON responses (previous_response_id)",
        """
        CREATE INDEX responses_unfinished ON responses (created_at)
        WHERE status IN ('queued', 'in_progress')
        """,
        "CREATE INDEX input_items_item_id ON input_items (response_id, item_id)",
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            metadata BYTEA NOT NULL
        )
        """,
        """
        CREATE TABLE conversation_items (
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            item_id TEXT NOT NULL,
            body BYTEA NOT NULL,
            PRIMARY KEY (conversation_id, position)
        )
        """,
        "CREATE INDEX conversation_items_item_id ON conversation_items (conversation_id, item_id)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
_LOCK_KEY = 0x72656A6F  # "rejo": the advisory lock that serializes migrations


async def migrate(conn: Conn) -> None:
    """Apply the pending migrations in one transaction."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute("CREATE TABLE IF NOT EXISTS rejoinder_schema (version INTEGER NOT NULL)")
        version = await conn.fetchval("SELECT version FROM rejoinder_schema")
        if version is None:
            await conn.execute("INSERT INTO rejoinder_schema (version) VALUES (0)")
            version = 0
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"database schema {version} is newer than this build ({SCHEMA_VERSION})")
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                await conn.execute(statement)
        await conn.execute("UPDATE rejoinder_schema SET version = $1", SCHEMA_VERSION)
