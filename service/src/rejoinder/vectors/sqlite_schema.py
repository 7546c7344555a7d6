"""The vector index's SQLite tables as ordered migrations, versioned in a table of their own
(`vector_index_schema`), apart from the store's `PRAGMA user_version`: the index may share the store's file.

Migration N (1-based) brings the tables from version N-1 to N. Never edit a released migration; append.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: files in vector stores (attributes as JSON), their chunks (text, position, one embedding as
    # float32 bytes, the model that made it), a full-text index over the chunks' text kept in step by
    # triggers, and per vector store a count of removals (what tells a process its cached vectors of
    # that store are stale; appends it sees from the highest chunk id).
    (
        """
        CREATE TABLE vector_index_files (
            tenant TEXT NOT NULL,
            vector_store_id TEXT NOT NULL,
            file_id TEXT NOT NULL,
            filename TEXT NOT NULL,
            attributes TEXT NOT NULL,
            PRIMARY KEY (tenant, vector_store_id, file_id)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE vector_index_chunks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant TEXT NOT NULL,
            vector_store_id TEXT NOT NULL,
            file_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            model TEXT NOT NULL,
            text TEXT NOT NULL,
            embedding BLOB NOT NULL
        )
        """,
        "CREATE INDEX vector_index_chunks_model ON vector_index_chunks (tenant, vector_store_id, model, id)",
        "CREATE INDEX vector_index_chunks_file ON vector_index_chunks (tenant, vector_store_id, file_id)",
        """
        CREATE VIRTUAL TABLE vector_index_chunks_fts USING fts5(
            text, content='vector_index_chunks', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        )
        """,
        """
        CREATE TRIGGER vector_index_chunks_fts_insert AFTER INSERT ON vector_index_chunks BEGIN
            INSERT INTO vector_index_chunks_fts (rowid, text) VALUES (new.id, new.text);
        END
        """,
        """
        CREATE TRIGGER vector_index_chunks_fts_delete AFTER DELETE ON vector_index_chunks BEGIN
            INSERT INTO vector_index_chunks_fts (vector_index_chunks_fts, rowid, text)
                VALUES ('delete', old.id, old.text);
        END
        """,
        """
        CREATE TABLE vector_index_removals (
            tenant TEXT NOT NULL,
            vector_store_id TEXT NOT NULL,
            removals INTEGER NOT NULL,
            PRIMARY KEY (tenant, vector_store_id)
        ) WITHOUT ROWID
        """,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the pending migrations in one write transaction (the connection in autocommit mode)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS vector_index_schema (version INTEGER NOT NULL)")
        found = conn.execute("SELECT version FROM vector_index_schema").fetchone()
        version: int = 0 if found is None else found[0]
        if found is None:
            conn.execute("INSERT INTO vector_index_schema (version) VALUES (0)")
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"vector index schema {version} is newer than this build ({SCHEMA_VERSION})")
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("UPDATE vector_index_schema SET version = ?", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
