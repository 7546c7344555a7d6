"""The SQLite schema as ordered migrations, tracked in `PRAGMA user_version`.

Migration N (1-based) brings the database from version N-1 to N. Never edit a released migration;
append a new one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: responses and the input items they were given.
    (
        """
        CREATE TABLE responses (
            id TEXT PRIMARY KEY,
            previous_response_id TEXT,
            created_at INTEGER NOT NULL,
            status TEXT NOT NULL,
            body BLOB NOT NULL
        )
        """,
        """
        CREATE TABLE input_items (
            response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            item_id TEXT NOT NULL,
            body BLOB NOT NULL,
            PRIMARY KEY (response_id, position)
        )
        """,
        "CREATE INDEX responses_previous_response_id ON responses(previous_response_id)",
    ),
    # 2: the tenant of each response; background runs: who runs each (a heartbeat per runner), cancel
    # requests, and their event streams; conversations (each of one tenant) and their items.
    (
        "ALTER TABLE responses ADD COLUMN tenant TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE responses ADD COLUMN owner TEXT",
        "ALTER TABLE responses ADD COLUMN heartbeat_at INTEGER",
        "ALTER TABLE responses ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0",
        """
        CREATE TABLE response_events (
            response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
            sequence_number INTEGER NOT NULL,
            body BLOB NOT NULL,
            PRIMARY KEY (response_id, sequence_number)
        )
        """,
        "CREATE INDEX responses_status ON responses(status)",
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            metadata BLOB NOT NULL
        )
        """,
        """
        CREATE TABLE conversation_items (
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            item_id TEXT NOT NULL,
            body BLOB NOT NULL,
            PRIMARY KEY (conversation_id, position)
        )
        """,
        "CREATE INDEX conversation_items_item_id ON conversation_items(conversation_id, item_id)",
    ),
    # 3: rate limits shared by the processes on this file (rejoinder/ratelimit/sqlite.py). Per tenant, the
    # one-second buckets of its request and token windows (rejoinder/ratelimit/window.py), one row per
    # bucket; per tenant and process (replica), the requests in flight, which stop counting at
    # `expires_at` unless that process renews them. Only a server with rate limits reads or writes them.
    (
        """
        CREATE TABLE ratelimit_buckets (
            tenant TEXT NOT NULL,
            kind TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            amount INTEGER NOT NULL,
            PRIMARY KEY (tenant, kind, bucket)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE ratelimit_in_flight (
            tenant TEXT NOT NULL,
            replica TEXT NOT NULL,
            in_flight INTEGER NOT NULL,
            expires_at REAL NOT NULL,
            PRIMARY KEY (tenant, replica)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX ratelimit_in_flight_replica ON ratelimit_in_flight(replica)",
    ),
    # 4: files (each of one tenant; their bytes in the data directory, by SHA-256: store/files/blob_dir.py)
    # and vector stores, the files in them and the batches that added files. A vector store belongs to
    # one tenant; its files and batches to it. `vector_store_files.owner`/`heartbeat_at` say which
    # replica ingests a file, so a file whose runner died can be taken over (as with background
    # responses).
    (
        """
        CREATE TABLE files (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            filename TEXT NOT NULL,
            purpose TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            sha256 TEXT NOT NULL
        )
        """,
        "CREATE INDEX files_tenant_created_at ON files(tenant, created_at, id)",
        "CREATE INDEX files_sha256 ON files(sha256)",
        "CREATE INDEX files_expires_at ON files(expires_at) WHERE expires_at IS NOT NULL",
        """
        CREATE TABLE vector_stores (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            name TEXT NOT NULL,
            description TEXT,
            metadata BLOB NOT NULL,
            status TEXT NOT NULL,
            usage_bytes INTEGER NOT NULL DEFAULT 0,
            expires_after_days INTEGER,
            expires_at INTEGER,
            last_active_at INTEGER
        )
        """,
        "CREATE INDEX vector_stores_tenant_created_at ON vector_stores(tenant, created_at, id)",
        """
        CREATE TABLE vector_store_file_batches (
            id TEXT PRIMARY KEY,
            vector_store_id TEXT NOT NULL REFERENCES vector_stores(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            status TEXT NOT NULL
        )
        """,
        "CREATE INDEX vector_store_file_batches_store ON vector_store_file_batches(vector_store_id)",
        """
        CREATE TABLE vector_store_files (
            vector_store_id TEXT NOT NULL REFERENCES vector_stores(id) ON DELETE CASCADE,
            file_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            status TEXT NOT NULL,
            usage_bytes INTEGER NOT NULL DEFAULT 0,
            last_error_code TEXT,
            last_error_message TEXT,
            chunking_strategy BLOB NOT NULL,
            attributes BLOB,
            batch_id TEXT,
            owner TEXT,
            heartbeat_at INTEGER,
            PRIMARY KEY (vector_store_id, file_id)
        )
        """,
        "CREATE INDEX vector_store_files_created_at "
        "ON vector_store_files(vector_store_id, created_at, file_id)",
        "CREATE INDEX vector_store_files_status ON vector_store_files(status)",
        "CREATE INDEX vector_store_files_batch ON vector_store_files(batch_id)",
        "CREATE INDEX vector_store_files_file ON vector_store_files(file_id)",
    ),
    # 5: ingestion of vector store files (core/vector_stores/ingestion.py): how many times it started
    # for each file (a file whose replica keeps dying ends `failed`), and the chunk texts it made (the
    # file's `/content`). Rows keep their insertion order by `rowid`.
    (
        "ALTER TABLE vector_store_files ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE vector_store_files ADD COLUMN content BLOB",
        "CREATE INDEX vector_store_files_owner ON vector_store_files(owner)",
    ),
    # 6: prompt templates (core/prompts/), each of one tenant, and their versions. `latest_version` is
    # what an update must name (a stale update changes no row); `default_version` what a create request
    # without `prompt.version` uses. Templates page in the order they were created in: by `rowid`.
    (
        """
        CREATE TABLE prompts (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            latest_version INTEGER NOT NULL,
            default_version INTEGER NOT NULL
        )
        """,
        "CREATE INDEX prompts_tenant ON prompts(tenant)",  # ordered by rowid within a tenant
        """
        CREATE TABLE prompt_versions (
            prompt_id TEXT NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            prompt TEXT NOT NULL,
            variables TEXT NOT NULL,
            PRIMARY KEY (prompt_id, version)
        )
        """,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the pending migrations in one write transaction (the connection must be in autocommit mode)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"database schema {version} is newer than this build ({SCHEMA_VERSION})")
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number:d}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
